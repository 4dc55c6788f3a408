//! The id registry (`--ids FILE`, SPEC 9.1): a Parquet table `kind`, `key`,
//! `id` that keeps every key's id across runs. Read before any event, and
//! locked for the whole run: a second run that uses the same registry fails
//! at once, naming it and the run that holds it. A registry that is not
//! such a table (unreadable, other columns, a null, a kind other than
//! `session`/`user`, an id outside 1..=2147483647, a key or id twice) is an
//! error that changes nothing. A registry that does not exist yet is empty.
//!
//! This is the registry's one home: opened and locked here, the run's final
//! ids given here (`final_ids`, over the good sessions of every pass), and
//! written back here (`save`) once the run's outputs are in place.

use crate::error::BadValue;
use crate::ids::{self, IdKeys, IdKind, Table};
use crate::model::SessionMeta;
use crate::output::atomic::write_atomic;
use crate::stamp::Stamp;
use anyhow::Context;
use polars::prelude::*;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Why a registry cannot be used; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the folder of the id registry {registry} does not exist: create {folder} first")]
    NoFolder { registry: String, folder: String },
    #[error("cannot lock the id registry {registry} with {lock}: {error}")]
    LockFile {
        registry: String,
        lock: String,
        error: io::Error,
    },
    #[error("the id registry {registry} is in use by another sessionstat run (pid {pid}); wait until it ends")]
    InUse { registry: String, pid: String },
    #[error("cannot lock the id registry {registry}: {error}")]
    Lock { registry: String, error: io::Error },
    #[error(
        "cannot lock the id registry {registry}: cannot remove the stale lock {lock}: {error}"
    )]
    StaleLock {
        registry: String,
        lock: String,
        error: io::Error,
    },
    #[error("cannot lock the id registry {registry}: other runs keep taking it")]
    Contended { registry: String },
    #[error("cannot read the id registry {registry}: {error}")]
    Read { registry: String, error: io::Error },
    #[error("the id registry {registry} is not a regular file")]
    NotAFile { registry: String },
    #[error("the id registry {registry} is not usable: {why}; it was left as it is (delete it to start a new one)")]
    NotUsable { registry: String, why: String },
}

/// A registry read and locked; the lock goes when this is dropped.
#[derive(Debug)]
pub struct Registry {
    pub path: PathBuf,
    /// Per `IdKind`, its keys and ids.
    pub tables: [Table; 2],
    /// Its fingerprint as read; `None` when the file did not exist.
    pub stamp: Option<Stamp>,
    _lock: RegistryLock,
}

impl Registry {
    pub fn table(&self, kind: IdKind) -> &Table {
        &self.tables[kind as usize]
    }
}

/// Locks and reads the registry at `path`.
pub fn open(path: &Path) -> Result<Registry, RegistryError> {
    let registry = path.display().to_string();
    let lock = RegistryLock::take(path)?;
    let (tables, stamp) = match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Default::default(), None),
        Err(error) => return Err(RegistryError::Read { registry, error }),
        Ok(m) if !m.is_file() => return Err(RegistryError::NotAFile { registry }),
        Ok(_) => {
            let stamp = Stamp::of(path).map_err(|error| RegistryError::Read {
                registry: registry.clone(),
                error,
            })?;
            let tables =
                read(path).map_err(|BadValue(why)| RegistryError::NotUsable { registry, why })?;
            (tables, Some(stamp))
        }
    };
    Ok(Registry {
        path: path.to_path_buf(),
        tables,
        stamp,
        _lock: lock,
    })
}

/// Reads the table; an error is the rule the file breaks.
fn read(path: &Path) -> Result<[Table; 2], BadValue> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let df = std::panic::catch_unwind(|| ParquetReader::new(file).finish())
        .map_err(|_| "not a Parquet file")?
        .map_err(|e| {
            format!(
                "not a Parquet table ({})",
                crate::error::one_line(&e.to_string())
            )
        })?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    if names != ["kind", "key", "id"] {
        return Err(format!("its columns are {}, not kind, key, id", names.join(", ")).into());
    }
    let text = |c: &str| -> Result<StringChunked, BadValue> {
        let s = df.column(c).map_err(|e| e.to_string())?;
        if s.dtype() != &DataType::String {
            return Err(format!("column {c} is {}, not text", s.dtype()).into());
        }
        Ok(s.str().map_err(|e| e.to_string())?.clone())
    };
    let (kinds, keys) = (text("kind")?, text("key")?);
    let id_col = df.column("id").map_err(|e| e.to_string())?;
    if !id_col.dtype().is_integer() {
        return Err(format!("column id is {}, not an integer", id_col.dtype()).into());
    }
    let ids = id_col.cast(&DataType::Int64).map_err(|e| e.to_string())?;
    let ids = ids.i64().map_err(|e| e.to_string())?;
    let mut tables: [Table; 2] = Default::default();
    let mut seen: [polars::prelude::PlHashMap<i32, ()>; 2] = Default::default();
    for (row, ((kind, key), id)) in kinds.iter().zip(keys.iter()).zip(ids.iter()).enumerate() {
        let (Some(kind), Some(key), Some(id)) = (kind, key, id) else {
            return Err(format!("row {row} has a null").into());
        };
        let kind = IdKind::parse(kind)
            .ok_or_else(|| format!("row {row}: kind {kind:?} is neither session nor user"))?;
        if key.is_empty() {
            return Err(format!("row {row}: the key is empty").into());
        }
        let id = i32::try_from(id)
            .ok()
            .filter(|&i| i >= 1)
            .ok_or_else(|| format!("row {row}: id {id} is not from 1 to 2147483647"))?;
        if tables[kind as usize].ids.insert(key.into(), id).is_some() {
            return Err(format!("row {row}: the {kind} key {key:?} is there twice").into());
        }
        if seen[kind as usize].insert(id, ()).is_some() {
            return Err(format!("row {row}: the {kind} id {id} is there twice").into());
        }
    }
    Ok(tables)
}

/// An exclusive `flock` on a hidden file beside the registry, holding the
/// PID of its run. The lock dies with its process, so a killed run's lock
/// is taken over; the file is removed when the run ends.
#[derive(Debug)]
struct RegistryLock {
    path: PathBuf,
    /// Held, never read: its descriptor holds the `flock`.
    _file: fs::File,
}

/// The lock file of a registry: `.NAME.lock` in its folder.
pub fn lock_path(registry: &Path) -> PathBuf {
    let name = registry
        .file_name()
        .map_or_else(|| "ids".into(), |n| n.to_string_lossy().into_owned());
    registry.with_file_name(format!(".{name}.lock"))
}

impl RegistryLock {
    fn take(path_of_registry: &Path) -> Result<RegistryLock, RegistryError> {
        let path = lock_path(path_of_registry);
        let registry = path_of_registry.display().to_string();
        let folder = path_of_registry
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(RegistryError::NoFolder {
                registry,
                folder: folder.display().to_string(),
            });
        }
        for _ in 0..8 {
            // Created new, or the one a run left: never through a link,
            // never a file of someone else's that was made to look like it.
            let (file, new) = match open_lock(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                opened => opened,
            }
            .map_err(|error| RegistryError::LockFile {
                registry: registry.clone(),
                lock: path.display().to_string(),
                error,
            })?;
            // SAFETY: flock on a file descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                let error = io::Error::last_os_error();
                if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
                    let pid = fs::read_to_string(&path).unwrap_or_default();
                    let pid = pid.trim().to_string();
                    return Err(RegistryError::InUse { registry, pid });
                }
                return Err(RegistryError::Lock { registry, error });
            }
            // The file may have been removed by the run that held it just
            // before we locked it: then lock the one now at the path.
            let same = match (file.metadata(), fs::symlink_metadata(&path)) {
                (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                _ => false,
            };
            if !same {
                continue;
            }
            if !new {
                // A killed run's lock, now ours: its name is removed (a
                // file linked there keeps its data) and a new one made.
                match fs::remove_file(&path) {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => {
                        return Err(RegistryError::StaleLock {
                            registry,
                            lock: path.display().to_string(),
                            error,
                        })
                    }
                    _ => continue,
                }
            }
            let _ =
                io::Write::write_all(&mut &file, format!("{}\n", std::process::id()).as_bytes());
            return Ok(RegistryLock { path, _file: file });
        }
        Err(RegistryError::Contended { registry })
    }
}

/// Opens the lock file: created exclusively (`true`), or the regular file
/// a killed run left (`false`). Links are never followed, and anything
/// but a regular file there is refused, left as it is.
fn open_lock(path: &Path) -> io::Result<(fs::File, bool)> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = |create: bool| {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
    };
    match open(true) {
        Ok(f) => return Ok((f, true)),
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        Err(_) => {}
    }
    let not_ours = || {
        io::Error::other(
            "it is not a regular file (a link, a folder or a device), so not a lock that sessionstat made; it was left as it is: remove it",
        )
    };
    // Gone in between (its run ended): NotFound, and the caller tries again.
    if !fs::symlink_metadata(path)?.is_file() {
        return Err(not_ours());
    }
    let file = match open(false) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(not_ours()),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(not_ours());
    }
    Ok((file, false))
}

impl Drop for RegistryLock {
    fn drop(&mut self) {
        // Removed while still locked, so that no run locks a file that is gone.
        // (`_file`, and with it the lock, goes after this body.)
        let _ = fs::remove_file(&self.path);
    }
}

/// Writes the registry at `path`: the run's tables (`tables`), and the
/// kinds it did not use as the registry read had them (`kept`).
pub fn write(
    path: &Path,
    tables: &[(IdKind, Table)],
    kept: &[(IdKind, Table)],
) -> anyhow::Result<()> {
    let mut all: Vec<(IdKind, Table)> = tables.to_vec();
    for (kind, t) in kept {
        if !all.iter().any(|(k, _)| k == kind) {
            all.push((*kind, t.clone()));
        }
    }
    let rows = ids::rows(&all);
    write_atomic(path, |w| {
        let mut df = ids::frame(&rows).map_err(io::Error::other)?;
        ParquetWriter::new(w)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map(|_| ())
            .map_err(io::Error::other)
    })
    .with_context(|| format!("cannot write the id registry {}", path.display()))
}

/// Once a run's outputs are in place: the registry takes the run's new
/// keys, replaced whole; unchanged, it is not touched.
pub fn save(registry: Option<&Registry>, ids: Option<&FinalIds>) -> anyhow::Result<()> {
    let (Some(registry), Some(ids)) = (registry, ids) else {
        return Ok(());
    };
    if !ids.changed {
        return Ok(());
    }
    let kept: Vec<_> = IdKind::ALL
        .iter()
        .map(|&k| (k, registry.table(k).clone()))
        .collect();
    write(&registry.path, &ids.tables, &kept)
}

/// The ids of a run's keys: per kind used, the whole table after the run
/// (with a registry, its old entries too), and whether it differs from the
/// registry as read.
#[derive(Debug, Clone, Default)]
pub struct FinalIds {
    pub tables: Vec<(IdKind, Table)>,
    pub changed: bool,
}

/// A good session of a pass, for assigning final ids: the place of its
/// first good row in input order, and its keys.
pub type Good = (u64, Option<Box<str>>, Option<Box<str>>);

/// The good sessions of a load, as `Good`s.
pub fn goods(sessions: &[SessionMeta], firsts: &[u64]) -> Vec<Good> {
    sessions
        .iter()
        .zip(firsts)
        .map(|(m, &seq)| (seq, m.session_key.clone(), m.user_key.clone()))
        .collect()
}

/// Gives every key its final id (SPEC 9.1): over the good sessions of all
/// passes, in input order of their first good rows; then `metas` carry them.
pub fn final_ids<'a>(
    keys: IdKeys,
    registry: Option<&Registry>,
    mut goods: Vec<Good>,
    metas: impl Iterator<Item = &'a mut SessionMeta>,
) -> Result<FinalIds, ids::IdError> {
    goods.sort_by_key(|g| g.0);
    let shown = registry.map_or_else(String::new, |r| r.path.display().to_string());
    let mut out = FinalIds::default();
    let mut maps: [Option<PlHashMap<Box<str>, i32>>; 2] = [None, None];
    for kind in IdKind::ALL {
        if !keys.has(kind) {
            continue;
        }
        let mut seen: PlHashMap<&str, ()> = PlHashMap::default();
        let mut list: Vec<&str> = Vec::new();
        for g in &goods {
            let k = match kind {
                IdKind::Session => g.1.as_deref(),
                IdKind::User => g.2.as_deref(),
            };
            if let Some(k) = k {
                if seen.insert(k, ()).is_none() {
                    list.push(k);
                }
            }
        }
        let known = registry.map(|r| r.table(kind));
        let (ids, table) = ids::assign(kind, &list, known, &shown)?;
        out.changed |= known.is_some_and(|k| *k != table);
        maps[kind as usize] = Some(list.iter().map(|k| Box::from(*k)).zip(ids).collect());
        out.tables.push((kind, table));
    }
    for m in metas {
        if let (Some(map), Some(k)) = (&maps[0], &m.session_key) {
            m.session_id = map[k];
        }
        if let (Some(map), Some(k)) = (&maps[1], &m.user_key) {
            m.user_id = map[k];
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_registry_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let reg = dir.path().join("ids.parquet");
        let first = open(&reg).unwrap();
        assert!(first.stamp.is_none());
        let e = open(&reg).unwrap_err().to_string();
        assert!(e.contains("ids.parquet") && e.contains("in use"), "{e}");
        drop(first);
        assert!(!lock_path(&reg).exists());
        open(&reg).unwrap();
    }

    #[test]
    fn a_registry_that_is_not_a_table_of_ids_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let reg = dir.path().join("ids.parquet");
        fs::write(&reg, b"not parquet").unwrap();
        let e = open(&reg).unwrap_err().to_string();
        assert!(e.contains("not usable"), "{e}");
        let write = |mut df: DataFrame| {
            ParquetWriter::new(fs::File::create(&reg).unwrap())
                .finish(&mut df)
                .unwrap();
        };
        write(
            df!("kind" => ["session", "session"], "key" => ["a", "b"], "id" => [1i32, 1]).unwrap(),
        );
        let e = open(&reg).unwrap_err().to_string();
        assert!(e.contains("id 1 is there twice"), "{e}");
        write(df!("kind" => ["user"], "key" => ["a"], "id" => [0i64]).unwrap());
        assert!(open(&reg).unwrap_err().to_string().contains("not from 1"));
        write(df!("kind" => ["user"], "key" => ["a"], "ids" => [1i64]).unwrap());
        assert!(open(&reg)
            .unwrap_err()
            .to_string()
            .contains("not kind, key, id"));
        write(df!("kind" => ["user", "session"], "key" => ["a", "a"], "id" => [5i32, 5]).unwrap());
        let r = open(&reg).unwrap();
        assert_eq!(r.table(IdKind::User).ids["a"], 5);
        assert_eq!(r.table(IdKind::Session).ids["a"], 5);
    }
}
