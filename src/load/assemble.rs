//! Turns one batch of converted columns into events, checking that every
//! session keeps one user and one client (SPEC 1.4).
//!
//! The check is the hot path of a load, so it runs in parallel: each chunk of
//! rows maps session ids to chunk-local indexes and compares every row with
//! the first row of its session in the chunk; then, in input order, each
//! chunk's first rows (one per session and chunk) are matched against the
//! sessions seen before. Only the rare chunk whose first row already
//! disagrees is compared row by row again. The result is exactly the
//! sequential rule: the first good row of a session fixes its user and
//! client, and later rows that differ are bad.

use super::columns::Canon;
use super::convert::BadCell;
use crate::events::{Events, SessionMeta};
use polars::prelude::PlHashMap as HashMap;
use polars::prelude::*;
use rayon::prelude::*;

// The arrow array behind a `StringChunked` (polars does not re-export its name).
type Utf8ViewArray = <StringType as PolarsDataType>::Array;

const CHUNK: usize = 1 << 16;
const SKIP: u32 = u32::MAX;

/// A batch's columns, converted: ids, packed keys, the three names.
pub struct Batch<'a> {
    pub sid: &'a [i32],
    pub uid: &'a [i32],
    pub keys: &'a [i64],
    pub names: [&'a StringChunked; 3],
    /// Rows already known to be bad or blank, sorted: not events.
    pub skip: &'a [usize],
}

const NAME_COLUMNS: [Canon; 3] = [Canon::UserName, Canon::ClientGuid, Canon::ClientName];

struct First<'a> {
    sid: i32,
    uid: i32,
    /// The row, for comparing views within the batch.
    row: usize,
    names: [&'a str; 3],
}

struct ChunkScan<'a> {
    /// The chunk's first row in the batch.
    from: usize,
    /// Sessions of the chunk in order of their first row.
    firsts: Vec<First<'a>>,
    /// Per row: chunk-local session index, or SKIP.
    local: Vec<u32>,
    /// Rows with a missing name.
    missing: Vec<BadCell>,
    /// Rows that differ from their session's first row in the chunk.
    suspects: Vec<usize>,
}

/// The first column in which a row differs from a session's values.
fn difference(
    m_uid: i32,
    m_names: [&str; 3],
    uid: i32,
    names: [&str; 3],
) -> Option<(Canon, String, String)> {
    if m_uid != uid {
        return Some((Canon::UserId, uid.to_string(), m_uid.to_string()));
    }
    (0..3).find(|&i| m_names[i] != names[i]).map(|i| {
        (
            NAME_COLUMNS[i],
            names[i].to_string(),
            m_names[i].to_string(),
        )
    })
}

fn meta_names(m: &SessionMeta) -> [&str; 3] {
    [&m.user_name, &m.client_guid, &m.client_name]
}

fn row_names<'a>(arrs: &[&'a Utf8ViewArray; 3], r: usize) -> [Option<&'a str>; 3] {
    [arrs[0].get(r), arrs[1].get(r), arrs[2].get(r)]
}

/// The three name columns as arrow arrays, one entry per polars chunk with
/// the batch row it starts at. Reading a batch gives several chunks (row
/// groups, pages); joining them would copy every string view.
struct Names<'a> {
    parts: Vec<(usize, [&'a Utf8ViewArray; 3])>,
}

impl<'a> Names<'a> {
    /// `cols` must share chunk boundaries.
    fn new(cols: [&'a StringChunked; 3]) -> Names<'a> {
        let mut parts = Vec::new();
        let mut base = 0;
        let [a, b, c] = cols.map(|c| c.downcast_iter());
        for ((x, y), z) in a.zip(b).zip(c) {
            parts.push((base, [x, y, z]));
            base += x.len();
        }
        Names { parts }
    }

    fn get(&self, r: usize) -> [Option<&'a str>; 3] {
        let (base, arrs) = &self.parts[self.parts.partition_point(|p| p.0 <= r) - 1];
        row_names(arrs, r - base)
    }
}

/// Scans rows `from..to` of the batch, which lie in the arrays `arrs` that
/// start at batch row `base`.
fn scan_chunk<'a>(
    b: &Batch<'_>,
    (base, arrs): (usize, &[&'a Utf8ViewArray; 3]),
    has_nulls: bool,
    from: usize,
    to: usize,
) -> ChunkScan<'a> {
    let views = arrs.map(|a| &a.views().as_slice()[from - base..to - base]);
    let mut map: HashMap<i32, u32> = HashMap::default();
    let mut out = ChunkScan {
        from,
        firsts: Vec::new(),
        local: Vec::with_capacity(to - from),
        missing: Vec::new(),
        suspects: Vec::new(),
    };
    let mut skip = b.skip[b.skip.partition_point(|&r| r < from)..]
        .iter()
        .copied()
        .peekable();
    for r in from..to {
        if skip.peek() == Some(&r) {
            skip.next();
            out.local.push(SKIP);
            continue;
        }
        let v = r - from;
        // A name can only be missing if it is null, empty, or starts with a blank.
        let maybe_missing = has_nulls
            || (0..3).any(|i| {
                views[i][v].length == 0 || (views[i][v].prefix as u8).is_ascii_whitespace()
            });
        if maybe_missing {
            let raw = row_names(arrs, r - base);
            if let Some(i) = (0..3).find(|&i| raw[i].is_none_or(|t| t.trim().is_empty())) {
                out.missing.push(BadCell {
                    row: r,
                    column: Some(NAME_COLUMNS[i]),
                    value: raw[i].unwrap_or("").to_string(),
                    rule: "missing required value".into(),
                });
                out.local.push(SKIP);
                continue;
            }
        }
        let (sid, uid) = (b.sid[r], b.uid[r]);
        let local = match map.get(&sid) {
            Some(&l) => {
                let f = &out.firsts[l as usize];
                // Equal views are equal strings; only unequal ones need the bytes.
                let same = f.uid == uid
                    && (0..3).all(|i| {
                        views[i][v] == views[i][f.row - from]
                            || arrs[i].value(r - base) == f.names[i]
                    });
                if !same {
                    out.suspects.push(r);
                }
                l
            }
            None => {
                let l = out.firsts.len() as u32;
                map.insert(sid, l);
                let names = [0, 1, 2].map(|i| arrs[i].value(r - base));
                out.firsts.push(First {
                    sid,
                    uid,
                    row: r,
                    names,
                });
                l
            }
        };
        out.local.push(local);
    }
    out
}

/// Adds a batch's good rows to `events`; returns the bad cells found here
/// (missing names and rows whose session already has another user or client).
pub fn assemble(
    b: &Batch<'_>,
    index: &mut HashMap<i32, u32>,
    events: &mut Events,
) -> PolarsResult<Vec<BadCell>> {
    let n = b.sid.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    // Columns whose chunks line up are used as they are; others are joined.
    let bounds = |c: &StringChunked| c.chunks().iter().map(|a| a.len()).collect::<Vec<_>>();
    let aligned = (1..3).all(|i| bounds(b.names[i]) == bounds(b.names[0]));
    let joined: Vec<StringChunked> = if aligned {
        Vec::new()
    } else {
        b.names.iter().map(|c| c.rechunk().into_owned()).collect()
    };
    let cols: [&StringChunked; 3] = if aligned {
        b.names
    } else {
        [&joined[0], &joined[1], &joined[2]]
    };
    let names = Names::new(cols);
    let has_nulls = cols.iter().any(|c| c.null_count() > 0);
    // Scan ranges of at most CHUNK rows, each within one array.
    let mut ranges = Vec::new();
    for (p, (base, arrs)) in names.parts.iter().enumerate() {
        let end = base + arrs[0].len();
        let mut from = *base;
        while from < end {
            ranges.push((p, from, (from + CHUNK).min(end)));
            from += CHUNK;
        }
    }
    let scans: Vec<ChunkScan> = ranges
        .into_par_iter()
        .map(|(p, from, to)| {
            let (base, arrs) = &names.parts[p];
            scan_chunk(b, (*base, arrs), has_nulls, from, to)
        })
        .collect();

    let mut bad: Vec<BadCell> = Vec::new();
    let mut to_global: Vec<Vec<u32>> = Vec::with_capacity(scans.len());
    for scan in &scans {
        let mut globals = Vec::with_capacity(scan.firsts.len());
        let mut recheck: Vec<u32> = Vec::new();
        for (l, f) in scan.firsts.iter().enumerate() {
            let g = match index.get(&f.sid).copied() {
                None => {
                    let g = events.sessions.len() as u32;
                    index.insert(f.sid, g);
                    events.sessions.push(SessionMeta {
                        session_id: f.sid,
                        user_id: f.uid,
                        user_name: f.names[0].to_string(),
                        client_guid: f.names[1].to_string(),
                        client_name: f.names[2].to_string(),
                    });
                    g
                }
                Some(g) => {
                    let m = &events.sessions[g as usize];
                    if difference(m.user_id, meta_names(m), f.uid, f.names).is_some() {
                        recheck.push(l as u32);
                    }
                    g
                }
            };
            globals.push(g);
        }
        let from = scan.from;
        let conflict = |r: usize, g: u32| {
            let m = &events.sessions[g as usize];
            let names = names.get(r).map(|v| v.unwrap_or(""));
            difference(m.user_id, meta_names(m), b.uid[r], names).map(|(column, value, first)| BadCell {
                row: r,
                column: Some(column),
                value,
                rule: format!(
                    "session {} already has {column} {first:?} from an earlier row; a session has one user and one client",
                    m.session_id
                ),
            })
        };
        // Rows that differ from a first row that agrees with the session are bad.
        for &r in &scan.suspects {
            let l = scan.local[r - from];
            if !recheck.contains(&l) {
                bad.extend(conflict(r, globals[l as usize]));
            }
        }
        // Where the chunk's first row itself disagrees, compare every row of it.
        for &l in &recheck {
            for (i, &rl) in scan.local.iter().enumerate() {
                if rl == l {
                    bad.extend(conflict(from + i, globals[l as usize]));
                }
            }
        }
        to_global.push(globals);
    }
    // So far `bad` holds exactly the conflicting rows.
    let mut conflict_rows: Vec<usize> = bad.iter().map(|c| c.row).collect();
    conflict_rows.sort_unstable();
    for scan in &scans {
        bad.extend(scan.missing.iter().cloned());
    }

    // Append each good row's key to its session, in input order.
    events.keys.resize_with(events.sessions.len(), Vec::new);
    for (scan, globals) in scans.iter().zip(&to_global) {
        let from = scan.from;
        for (i, &l) in scan.local.iter().enumerate() {
            let r = from + i;
            if l == SKIP || (!conflict_rows.is_empty() && conflict_rows.binary_search(&r).is_ok()) {
                continue;
            }
            events.keys[globals[l as usize] as usize].push(b.keys[r]);
        }
    }
    Ok(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The rule stated sequentially: walk the rows in order; the first good
    /// row of a session fixes it; a later row that differs is bad.
    fn sequential(
        sid: &[i32],
        uid: &[i32],
        names: &[[String; 3]],
        skip: &[usize],
    ) -> (Vec<i32>, Vec<usize>) {
        let mut first: HashMap<i32, (i32, [String; 3])> = HashMap::new();
        let (mut kept, mut bad) = (Vec::new(), Vec::new());
        for r in 0..sid.len() {
            if skip.contains(&r) {
                continue;
            }
            match first.get(&sid[r]) {
                Some((u, n)) if *u != uid[r] || *n != names[r] => bad.push(r),
                Some(_) => kept.push(sid[r]),
                None => {
                    first.insert(sid[r], (uid[r], names[r].clone()));
                    kept.push(sid[r]);
                }
            }
        }
        (kept, bad)
    }

    #[test]
    fn parallel_check_equals_the_sequential_rule() {
        for seed in 0..6u64 {
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let n = 3 * CHUNK + 77;
            let sessions = [3usize, 40, 5000][seed as usize % 3];
            let sid: Vec<i32> = (0..n)
                .map(|_| rng.random_range(0..sessions as i32))
                .collect();
            // mostly consistent, with disagreeing rows; some at chunk starts
            let uid: Vec<i32> = (0..n)
                .map(|r| {
                    if rng.random_bool(0.002) || r % CHUNK == 0 {
                        -1
                    } else {
                        sid[r] % 7
                    }
                })
                .collect();
            let names: Vec<[String; 3]> = (0..n)
                .map(|r| {
                    let odd = rng.random_bool(0.001);
                    [
                        format!("u{}", sid[r] % 7),
                        if odd {
                            "other".into()
                        } else {
                            format!("g{}", sid[r])
                        },
                        format!("client-machine-name-{}", sid[r] % 3),
                    ]
                })
                .collect();
            let skip: Vec<usize> = (0..n).filter(|_| rng.random_bool(0.01)).collect();
            // One chunk; chunks that line up (not at CHUNK boundaries); chunks that do not.
            let layout: [&[usize]; 3] = match seed % 3 {
                0 => [&[], &[], &[]],
                1 => [&[40_000, 150_001], &[40_000, 150_001], &[40_000, 150_001]],
                _ => [&[40_000], &[70_000, 70_001], &[]],
            };
            let cols: Vec<StringChunked> = (0..3)
                .map(|i| {
                    let mut cuts = vec![0];
                    cuts.extend_from_slice(layout[i]);
                    cuts.push(n);
                    let mut col =
                        StringChunked::from_iter_values("n".into(), std::iter::empty::<&str>());
                    for w in cuts.windows(2) {
                        let part = names[w[0]..w[1]].iter().map(|v| v[i].as_str());
                        col.append(&StringChunked::from_iter_values("n".into(), part))
                            .unwrap();
                    }
                    col
                })
                .collect();
            if seed % 3 != 0 {
                assert!(
                    cols[1].chunks().len() > 2,
                    "the layout must give several chunks"
                );
            }
            let keys: Vec<i64> = (0..n as i64).collect();
            let b = Batch {
                sid: &sid,
                uid: &uid,
                keys: &keys,
                names: [&cols[0], &cols[1], &cols[2]],
                skip: &skip,
            };
            let mut index = HashMap::default();
            let mut events = Events::default();
            let bad = assemble(&b, &mut index, &mut events).unwrap();
            let (kept, bad_rows) = sequential(&sid, &uid, &names, &skip);
            // keys are row numbers: put the kept rows back in input order
            let mut got: Vec<(i64, i32)> = events
                .keys
                .iter()
                .enumerate()
                .flat_map(|(g, ks)| ks.iter().map(move |&k| (k, g as i32)))
                .collect();
            got.sort_unstable();
            let got: Vec<i32> = got
                .iter()
                .map(|&(_, g)| events.sessions[g as usize].session_id)
                .collect();
            assert_eq!(got, kept, "seed {seed}");
            let mut got_bad: Vec<usize> = bad.iter().map(|c| c.row).collect();
            got_bad.sort_unstable();
            assert_eq!(got_bad, bad_rows, "seed {seed}");
            assert!(bad_rows.len() > 3, "the case must have conflicts");
            // each session keeps input order: keys are row numbers, increasing
            assert!(events.keys.iter().all(|ks| ks.is_sorted()));
        }
    }
}
