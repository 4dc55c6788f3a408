//! The foreground columns (SPEC 13.1), `app` and `url`, as ids: each
//! distinct text met in a run gets one id, once, so that an event carries
//! eight bytes of foreground (`model::Focus`) and memory grows by the
//! dictionary of distinct texts, never by a string per event.
//!
//! A cell is kept as written (case, blanks); an empty cell or a null is
//! "not given". A cell longer than `MAX_CELL_BYTES` is a bad row naming
//! its column. (Text that is not UTF-8 never gets here: each reader
//! refuses it as a bad row first.)

use super::convert::{as_text, BadCell, CellRule};
use crate::model::{focus, Canon, Focus, NOT_GIVEN, NO_FOCUS};
use polars::prelude::PlHashMap as HashMap;
use polars::prelude::*;
use polars_arrow::array::Array;
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// The longest `app` or `url` cell, in bytes of UTF-8.
pub const MAX_CELL_BYTES: usize = 4096;

const CHUNK: usize = 1 << 16;

/// One column's distinct texts and their ids, in order of first meeting
/// (also the ActivityWatch source's apps and urls).
#[derive(Default)]
pub(crate) struct Dict {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Dict {
    /// The texts by id.
    pub(crate) fn into_texts(self) -> Vec<Arc<str>> {
        self.names
    }

    pub(crate) fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.names.len() as u32;
        assert!(id < NOT_GIVEN, "fewer than 2^32 - 1 distinct texts");
        self.ids.insert(text.into(), id);
        self.names.push(text.into());
        id
    }
}

/// The texts of a run's `app` and `url` cells, shared by every pass over
/// its inputs (so that ids mean the same in each).
#[derive(Default)]
pub struct FocusNames {
    dicts: [Mutex<Dict>; 2],
}

impl std::fmt::Debug for FocusNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [apps, urls] = self.texts();
        write!(f, "FocusNames({} apps, {} urls)", apps.len(), urls.len())
    }
}

impl FocusNames {
    /// Whether no cell has been met yet.
    pub fn is_empty(&self) -> bool {
        self.dicts
            .iter()
            .all(|d| d.lock().expect("not poisoned").names.is_empty())
    }

    /// The texts by id, of `app` and of `url`.
    pub fn texts(&self) -> [Vec<Arc<str>>; 2] {
        self.dicts
            .each_ref()
            .map(|d| d.lock().expect("not poisoned").names.clone())
    }
}

/// One column's cells as ids (`NOT_GIVEN` when empty or null), and its bad cells.
fn ids(s: &Series, column: Canon, names: &FocusNames) -> PolarsResult<(Vec<u32>, Vec<BadCell>)> {
    let text = as_text(s)?;
    let ca = text.str()?.rechunk();
    let n = ca.len();
    let Some(arr) = ca.downcast_iter().next() else {
        return Ok((Vec::new(), Vec::new()));
    };
    // Per chunk of rows: its distinct texts, and per row the index of its
    // text among them; then each distinct text gets its run-wide id.
    let chunks: Vec<(Vec<&str>, Vec<u32>, Vec<BadCell>)> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|i| {
            let from = i * CHUNK;
            let to = n.min(from + CHUNK);
            // Keyed by the 16-byte view: equal views are equal texts, and
            // a decoded dictionary repeats its entries' views, so a row
            // costs one hash of 16 bytes. (Equal texts with unequal views
            // get two local ids; the run-wide dictionary makes them one.)
            let views = arr.views();
            let mut seen: HashMap<u128, u32> = HashMap::default();
            let mut distinct: Vec<&str> = Vec::new();
            let mut local = Vec::with_capacity(to - from);
            let mut bad = Vec::new();
            for r in from..to {
                let id = if !arr.is_valid(r) || views[r].length == 0 {
                    NOT_GIVEN
                } else if views[r].length as usize > MAX_CELL_BYTES {
                    bad.push(too_long(r, column, arr.value(r)));
                    NOT_GIVEN
                } else {
                    *seen.entry(views[r].as_u128()).or_insert_with(|| {
                        distinct.push(arr.value(r));
                        distinct.len() as u32 - 1
                    })
                };
                local.push(id);
            }
            (distinct, local, bad)
        })
        .collect();
    // The texts live in `arr`: none is copied but a new one.
    let global: Vec<Vec<u32>> = {
        let mut dict = names.dicts[(column == Canon::Url) as usize]
            .lock()
            .expect("not poisoned");
        chunks
            .iter()
            .map(|(distinct, _, _)| distinct.iter().map(|t| dict.id(t)).collect())
            .collect()
    };
    let mut out = vec![NOT_GIVEN; n];
    out.par_chunks_mut(CHUNK)
        .zip(&chunks)
        .zip(&global)
        .for_each(|((out, (_, local, _)), global)| {
            for (o, &l) in out.iter_mut().zip(local) {
                if l != NOT_GIVEN {
                    *o = global[l as usize];
                }
            }
        });
    let bad = chunks.into_iter().flat_map(|c| c.2).collect();
    Ok((out, bad))
}

/// `focus_column` for cells read as dictionary indices per row group
/// (`parquet::dict::read_focus`): each dictionary entry is checked and
/// given its id once, and a row takes its entry's.
pub fn focus_of_groups(
    groups: &super::parquet::dict::FocusGroups,
    names: &FocusNames,
) -> (Vec<Focus>, Vec<BadCell>) {
    use super::names::dict_values;
    /// An entry over the limit: its rows are bad.
    const TOO_LONG: u32 = NOT_GIVEN - 1;
    let n: usize = groups
        .iter()
        .map(|g| g.iter().flatten().next().map_or(0, |a| a.len()))
        .sum();
    let mut out = Vec::with_capacity(n);
    let mut bad = Vec::new();
    let mut base = 0;
    for group in groups {
        let rows = group.iter().flatten().next().map_or(0, |a| a.len());
        // Per column, each entry's id.
        let entries: Vec<Option<Vec<u32>>> = group
            .iter()
            .zip(Canon::FOCUS)
            .map(|(col, c)| {
                let col = col.as_ref()?;
                let mut dict = names.dicts[(c == Canon::Url) as usize]
                    .lock()
                    .expect("not poisoned");
                Some(
                    dict_values(col)
                        .values_iter()
                        .map(|t| match t.len() {
                            0 => NOT_GIVEN,
                            l if l > MAX_CELL_BYTES => TOO_LONG,
                            _ => dict.id(t),
                        })
                        .collect(),
                )
            })
            .collect();
        let id = |i: usize, r: usize| -> u32 {
            match (&group[i], &entries[i]) {
                (Some(col), Some(ids)) if !col.is_null(r) => ids[col.keys().value(r) as usize],
                _ => NOT_GIVEN,
            }
        };
        // Rows in parallel, a chunk at a time, in order.
        let done: Vec<(Vec<Focus>, Vec<BadCell>)> = (0..rows.div_ceil(CHUNK))
            .into_par_iter()
            .map(|k| {
                let mut part = Vec::with_capacity(CHUNK);
                let mut bad = Vec::new();
                for r in k * CHUNK..rows.min((k + 1) * CHUNK) {
                    let (mut a, mut u) = (id(0, r), id(1, r));
                    for (i, v) in [&mut a, &mut u].into_iter().enumerate() {
                        if *v == TOO_LONG {
                            let col = group[i].as_ref().expect("a column");
                            let text = dict_values(col).value(col.keys().value(r) as usize);
                            bad.push(too_long(base + r, Canon::FOCUS[i], text));
                            *v = NOT_GIVEN;
                        }
                    }
                    part.push(match (a, u) {
                        (NOT_GIVEN, NOT_GIVEN) => NO_FOCUS,
                        (a, u) => focus(a, u),
                    });
                }
                (part, bad)
            })
            .collect();
        for (part, b) in done {
            out.extend(part);
            bad.extend(b);
        }
        base += rows;
    }
    (out, bad)
}

/// The bad cell of row `row`'s `text` in `column`, over the limit.
fn too_long(row: usize, column: Canon, text: &str) -> BadCell {
    BadCell {
        row,
        column: Some(column),
        value: shortened(text),
        rule: CellRule::Other(format!(
            "{} bytes; an {column} cell holds at most {MAX_CELL_BYTES} bytes",
            text.len()
        )),
    }
}

/// A long cell as an error line shows it: its first 64 characters.
fn shortened(v: &str) -> String {
    match v.char_indices().nth(64) {
        Some((at, _)) => format!("{}...", &v[..at]),
        None => v.to_string(),
    }
}

/// Each row's `Focus` from a batch's `app` and `url` columns (either may be
/// absent), and the bad cells; `None` when the batch has neither column.
pub fn focus_column(
    app: Option<&Series>,
    url: Option<&Series>,
    names: &FocusNames,
) -> PolarsResult<Option<(Vec<Focus>, Vec<BadCell>)>> {
    let n = match (app, url) {
        (None, None) => return Ok(None),
        (Some(s), _) | (None, Some(s)) => s.len(),
    };
    let (apps, mut bad) = match app {
        Some(s) => ids(s, Canon::App, names)?,
        None => (Vec::new(), Vec::new()),
    };
    let (urls, b) = match url {
        Some(s) => ids(s, Canon::Url, names)?,
        None => (Vec::new(), Vec::new()),
    };
    bad.extend(b);
    let at = |v: &[u32], r: usize| v.get(r).copied().unwrap_or(NOT_GIVEN);
    let out: Vec<Focus> = (0..n)
        .into_par_iter()
        .map(|r| match (at(&apps, r), at(&urls, r)) {
            (NOT_GIVEN, NOT_GIVEN) => NO_FOCUS,
            (a, u) => focus(a, u),
        })
        .collect();
    Ok(Some((out, bad)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{app_of, url_of};

    #[test]
    fn cells_become_ids_and_long_ones_bad_rows() {
        let names = FocusNames::default();
        let long = "x".repeat(MAX_CELL_BYTES + 1);
        let fits = "é".repeat(MAX_CELL_BYTES / 2);
        let app = Series::new(
            "app".into(),
            [
                Some("a.exe"),
                None,
                Some(""),
                Some("A.exe"),
                Some(&long),
                Some(" a.exe"),
                Some("a.exe"),
                Some(&fits),
            ],
        );
        let url = Series::new(
            "url".into(),
            [
                Some("u"),
                Some("v"),
                None,
                None,
                None,
                None,
                Some("u"),
                None,
            ],
        );
        let (f, bad) = focus_column(Some(&app), Some(&url), &names)
            .unwrap()
            .unwrap();
        let apps: Vec<u32> = f.iter().map(|&f| app_of(f)).collect();
        let urls: Vec<u32> = f.iter().map(|&f| url_of(f)).collect();
        assert_eq!(apps, [0, NOT_GIVEN, NOT_GIVEN, 1, NOT_GIVEN, 2, 0, 3]);
        assert_eq!(
            urls,
            [0, 1, NOT_GIVEN, NOT_GIVEN, NOT_GIVEN, NOT_GIVEN, 0, NOT_GIVEN]
        );
        assert_eq!(bad.len(), 1);
        assert_eq!((bad[0].row, bad[0].column), (4, Some(Canon::App)));
        assert!(bad[0].rule.text().contains("4097 bytes"), "{}", bad[0].rule);
        let [a, u] = names.texts();
        assert_eq!(
            a.iter().map(|t| &**t).collect::<Vec<_>>(),
            ["a.exe", "A.exe", " a.exe", &fits]
        );
        assert_eq!(u.len(), 2);
        // A second batch keeps the ids of the first.
        let again = Series::new("app".into(), ["A.exe"]);
        let (f, _) = focus_column(Some(&again), None, &names).unwrap().unwrap();
        assert_eq!((app_of(f[0]), url_of(f[0])), (1, NOT_GIVEN));
        assert!(focus_column(None, None, &names).unwrap().is_none());
    }
}
