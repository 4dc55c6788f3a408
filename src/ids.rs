//! Text ids (SPEC 9.1): logs that name sessions and users by text (a GUID,
//! a Windows SID, `host:pid`) get int32 ids that the endpoint's JSON and the
//! tables carry.
//!
//! While loading, each key gets a provisional id in order of first
//! appearance (`KeyDict`), which only has to tell keys apart and be the
//! same on every pass over the same input. Once every good row is known,
//! `assign` gives each key its final id: the keys' sorted order, or with an
//! id registry (`--ids FILE`) the id the registry knows and, for new keys,
//! the next ids in order of first appearance. A leaf: it imports nothing
//! of the crate.

use crate::error::BadValue;
use polars::prelude::PlHashMap as HashMap;
use std::fmt;
use std::sync::Mutex;

/// Which id columns hold keys (`--id-keys session,user`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct IdKeys {
    pub session: bool,
    pub user: bool,
}

impl IdKeys {
    /// Parses `--id-keys`: `session`, `user`, or both, comma-separated.
    pub fn parse(specs: &[String]) -> Result<IdKeys, BadValue> {
        let mut keys = IdKeys::default();
        for part in specs
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part.to_ascii_lowercase().as_str() {
                "session" | "session_id" => keys.session = true,
                "user" | "user_id" => keys.user = true,
                _ => {
                    return Err(format!(
                        "--id-keys {part:?}: expected session, user or session,user"
                    )
                    .into())
                }
            }
        }
        Ok(keys)
    }

    pub fn any(self) -> bool {
        self.session || self.user
    }

    /// Whether ids of this kind are keys.
    pub fn has(self, kind: IdKind) -> bool {
        match kind {
            IdKind::Session => self.session,
            IdKind::User => self.user,
        }
    }
}

/// The two id spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdKind {
    Session,
    User,
}

impl IdKind {
    pub const ALL: [IdKind; 2] = [IdKind::Session, IdKind::User];

    pub fn name(self) -> &'static str {
        match self {
            IdKind::Session => "session",
            IdKind::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<IdKind> {
        IdKind::ALL.into_iter().find(|k| k.name() == text)
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Keys met while loading, each with a provisional id (0, 1, 2, ...) in
/// order of first appearance over every row read. Shared by the threads
/// that convert a batch's columns.
#[derive(Debug, Default)]
pub struct KeyDict {
    inner: Mutex<Dict>,
}

#[derive(Debug, Default)]
struct Dict {
    ids: HashMap<Box<[u8]>, i32>,
    keys: Vec<Box<[u8]>>,
}

impl KeyDict {
    /// The provisional ids of `keys`, given in order: a key not met before
    /// gets the next id.
    pub fn intern_all<K: AsRef<[u8]>>(&self, keys: &[K]) -> Vec<i32> {
        let mut d = self.inner.lock().expect("no thread panicked");
        keys.iter()
            .map(|k| {
                let k = k.as_ref();
                if let Some(&id) = d.ids.get(k) {
                    return id;
                }
                let id = d.keys.len() as i32;
                d.keys.push(k.into());
                d.ids.insert(k.into(), id);
                id
            })
            .collect()
    }

    /// The key behind a provisional id, as text.
    pub fn key(&self, id: i32) -> Option<String> {
        let d = self.inner.lock().expect("no thread panicked");
        let bytes = d.keys.get(usize::try_from(id).ok()?)?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// One kind's keys and ids as a registry or `ids.csv` holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub ids: HashMap<Box<str>, i32>,
}

impl Table {
    fn next_id(&self) -> i64 {
        self.ids
            .values()
            .copied()
            .max()
            .map_or(1, |m| i64::from(m) + 1)
    }
}

/// Why ids cannot be assigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

/// The final ids of one kind, for its keys in order of first appearance
/// among good rows (each key once): with `known` (a registry), known keys
/// keep their id and new keys get the next ids in that order; without, ids
/// follow the keys' sorted (byte) order from 1. Returns the ids and the
/// whole table after the run (old entries included).
pub fn assign(
    kind: IdKind,
    keys: &[&str],
    known: Option<&Table>,
    registry: &str,
) -> Result<(Vec<i32>, Table), IdError> {
    let mut table = known.cloned().unwrap_or_default();
    let mut out = vec![0; keys.len()];
    match known {
        Some(_) => {
            let mut next = table.next_id();
            for (i, &k) in keys.iter().enumerate() {
                if let Some(&id) = table.ids.get(k) {
                    out[i] = id;
                    continue;
                }
                let id = i32::try_from(next).map_err(|_| {
                    IdError(format!(
                        "the id registry {registry} has no id left for the new {kind} key {k:?}: its next id {next} is beyond int32 (2147483647); nothing was changed"
                    ))
                })?;
                table.ids.insert(k.into(), id);
                out[i] = id;
                next += 1;
            }
        }
        None => {
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_unstable_by(|&a, &b| keys[a].as_bytes().cmp(keys[b].as_bytes()));
            if keys.len() > i32::MAX as usize {
                return Err(IdError(format!(
                    "more than 2147483647 distinct {kind} keys: beyond int32"
                )));
            }
            for (rank, &i) in order.iter().enumerate() {
                out[i] = rank as i32 + 1;
                table.ids.insert(keys[i].into(), rank as i32 + 1);
            }
        }
    }
    Ok((out, table))
}

/// Rows of a table in the order files list them: by kind, then id.
pub fn rows(tables: &[(IdKind, Table)]) -> Vec<(IdKind, Box<str>, i32)> {
    let mut out: Vec<(IdKind, Box<str>, i32)> = tables
        .iter()
        .flat_map(|(kind, t)| t.ids.iter().map(move |(k, &id)| (*kind, k.clone(), id)))
        .collect();
    out.sort_unstable_by(|a, b| (a.0, a.2).cmp(&(b.0, b.2)));
    out
}

/// `ids.csv` and the registry: `kind,key,id`, rows as `rows` orders them.
pub fn frame(
    rows: &[(IdKind, Box<str>, i32)],
) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
    use polars::prelude::*;
    DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "kind".into(),
                rows.iter().map(|r| r.0.name()).collect::<Vec<_>>(),
            ),
            Column::new(
                "key".into(),
                rows.iter().map(|r| &*r.1).collect::<Vec<&str>>(),
            ),
            Column::new("id".into(), rows.iter().map(|r| r.2).collect::<Vec<i32>>()),
        ],
    )
}

/// `\` as `\\` and `|` as `\|` (SPEC 9.2's session keys).
pub fn escape_part(text: &str, out: &mut String) {
    for c in text.chars() {
        if c == '\\' || c == '|' {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse() {
        let k = IdKeys::parse(&["session, user".into()]).unwrap();
        assert!(k.session && k.user);
        assert_eq!(
            IdKeys::parse(&["user".into()]).unwrap(),
            IdKeys {
                session: false,
                user: true
            }
        );
        assert!(IdKeys::parse(&["client".into()]).is_err());
    }

    #[test]
    fn provisional_ids_follow_first_appearance() {
        let d = KeyDict::default();
        assert_eq!(d.intern_all(&["b", "a", "b"]), vec![0, 1, 0]);
        assert_eq!(d.intern_all(&["c", "a"]), vec![2, 1]);
        assert_eq!(d.key(2).as_deref(), Some("c"));
        assert_eq!(d.key(3), None);
    }

    #[test]
    fn without_a_registry_ids_follow_sorted_keys() {
        let (ids, table) = assign(IdKind::User, &["zed", "Al", "bob"], None, "").unwrap();
        assert_eq!(ids, vec![3, 1, 2]);
        assert_eq!(table.ids.len(), 3);
    }

    #[test]
    fn a_registry_keeps_old_ids_and_gives_new_keys_the_next_ones() {
        let mut known = Table::default();
        known.ids.insert("old".into(), 7);
        known.ids.insert("gone".into(), 2);
        let (ids, table) =
            assign(IdKind::Session, &["new2", "old", "new1"], Some(&known), "r").unwrap();
        assert_eq!(ids, vec![8, 7, 9]);
        assert_eq!(table.ids["gone"], 2);
        assert_eq!(
            rows(&[(IdKind::Session, table)])
                .iter()
                .map(|r| r.2)
                .collect::<Vec<_>>(),
            vec![2, 7, 8, 9]
        );
    }

    #[test]
    fn a_registry_at_the_end_of_int32_is_an_error() {
        let mut known = Table::default();
        known.ids.insert("last".into(), i32::MAX);
        assert_eq!(
            assign(IdKind::Session, &["last"], Some(&known), "r")
                .unwrap()
                .0,
            vec![i32::MAX]
        );
        let e = assign(IdKind::Session, &["new"], Some(&known), "reg.parquet").unwrap_err();
        assert!(e.0.contains("reg.parquet") && e.0.contains("int32"), "{e}");
    }

    #[test]
    fn key_parts_escape_bars_and_backslashes() {
        let mut s = String::new();
        escape_part(r"a|b\c", &mut s);
        assert_eq!(s, r"a\|b\\c");
    }
}
