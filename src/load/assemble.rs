//! Turns one batch of converted columns into events, checking that every
//! session keeps one user and one client (SPEC 1.4).
//!
//! The check is the hot path of a load, so it runs in parallel over chunks of
//! rows, in three steps:
//! 1. each row of a session seen before is compared with that session's
//!    values; rows of sessions new to this batch wait;
//! 2. in input order, each new session takes the values of its first good
//!    row (a short sequential step: one row per new session);
//! 3. the waiting rows are compared like those of step 1.
//!
//! The result is exactly the sequential rule: the first good row of a session
//! fixes its user and client, and later rows that differ are bad. Comparing
//! is cheap either way the names come:
//! - as dictionary indices of a Parquet row group (`super::dict`): each
//!   dictionary entry gets the id of its string once (`super::names::Interner`),
//!   and a row compares its user id and three name ids with its session's;
//! - as strings: a session's user id and the 16-byte string views of its
//!   names sit in one cache line; a name of at most 12 bytes is whole in its
//!   view, and only longer names need their bytes compared.

mod chunk;
mod index;

use super::columns::Canon;
use super::convert::{BadCell, CellRule};
use super::names::{dict_values, DictNames, Interner, MISSING};
use super::sink::{Rows, SKIP};
use crate::ids::KeyDict;
use crate::model::{Focus, SessionMeta};
use chunk::*;
pub(crate) use index::*;
use polars::prelude::PlHashMap as HashMap;
use polars::prelude::*;
use polars_arrow::array::{Array, DictionaryArray, View};
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

// The arrow array behind a `StringChunked` (polars does not re-export its name).
type Utf8ViewArray = <StringType as PolarsDataType>::Array;

const CHUNK: usize = 1 << 16;
/// Per row: its session is new to this batch; resolved in step 3.
const NEW: u32 = u32::MAX - 1;

/// A batch's columns, converted: ids, packed keys, the three names.
pub struct Batch<'a> {
    pub sid: &'a [i32],
    pub uid: &'a [i32],
    pub keys: &'a [i64],
    /// Each row's foreground cells, when the file has `app` or `url`.
    pub focus: Option<&'a [crate::model::Focus]>,
    pub names: NameCols<'a>,
    /// Rows already known to be bad or blank, sorted: not events.
    pub skip: &'a [usize],
    /// The input-order place (`super::seq`) of the batch's first row.
    pub seq: u64,
    /// When ids are keys: the dictionary behind each provisional id.
    pub session_keys: Option<&'a KeyDict>,
    pub user_keys: Option<&'a KeyDict>,
    /// `--sessionize`: a "session" here is a (user, client) group, which
    /// sessions are cut from later (SPEC 9.2).
    pub sessionized: bool,
}

const NAME_COLUMNS: [Canon; 3] = super::names::NAMES;

/// The three name columns of a batch: strings, or per row group indices
/// into that row group's dictionaries (`super::parquet::dict`).
#[derive(Clone, Copy)]
pub enum NameCols<'a> {
    Text([&'a StringChunked; 3]),
    Dict(&'a DictNames),
}

/// What the checks read about known sessions.
struct Sessions<'a> {
    index: &'a SessionIndex,
    metas: &'a [SessionMeta],
}

/// How many rows ahead of the one at hand a random access is asked for.
const AHEAD: usize = 16;

/// Asks the CPU to start loading `x`'s cache line: the sessions of the
/// rows ahead are known, and their slots are random accesses.
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Step 1 for rows `from..to`.
fn first_step<'a>(
    b: &Batch<'_>,
    (base, part): (usize, Part<'a>),
    from: usize,
    to: usize,
    sessions: &Sessions<'_>,
    has_nulls: bool,
) -> Chunk<'a> {
    let mut c = Chunk::new(base, part, from, to);
    with_verified(sessions.metas.len(), |cache| {
        first_rows(b, &mut c, cache, to, sessions, has_nulls)
    });
    c
}

fn first_rows(
    b: &Batch<'_>,
    c: &mut Chunk<'_>,
    cache: &mut [Verified],
    to: usize,
    sessions: &Sessions<'_>,
    has_nulls: bool,
) {
    let mut fresh_ids: HashMap<i32, ()> = HashMap::default();
    let mut skip = b.skip[b.skip.partition_point(|&r| r < c.from)..]
        .iter()
        .copied()
        .peekable();
    // With more sessions than slots, slots are mostly far from the CPU:
    // ask for the slot of a row some rows ahead. (With fewer, the extra
    // lookup costs more than it saves: 0.39 -> 0.42 s on 10M events of 20k
    // sessions, while 100M events of 491k sessions go 4.63 -> 4.39 s.)
    let ahead = sessions.metas.len() > cache.len();
    let dict = matches!(c.part, Part::Dict { .. });
    for r in c.from..to {
        if ahead {
            // Two steps: the id's slot for a row further ahead, so that
            // its session is known without a wait when asked for below.
            if let Some(&sid) = b.sid.get(r + 2 * AHEAD) {
                sessions.index.prefetch(sid);
            }
            if let Some(g) = b
                .sid
                .get(r + AHEAD)
                .and_then(|&sid| sessions.index.get(sid))
            {
                if dict {
                    prefetch(&sessions.index.ids[g as usize]);
                } else {
                    prefetch(&cache[g as usize & (cache.len() - 1)]);
                }
            }
        }
        if skip.peek() == Some(&r) {
            skip.next();
            c.local.push(SKIP);
            continue;
        }
        // A row that agrees with its session has no missing name (unless
        // nulls, whose views mean nothing, are about).
        let local = match sessions.index.get(b.sid[r]) {
            Some(g) if !has_nulls && c.agrees(b, sessions, cache, r, g) => g,
            Some(g) => c.settle(b, sessions, r, g, has_nulls),
            // Only the row that will give a new session its values needs
            // checking now; the others are checked against them in step 3.
            None if fresh_ids.contains_key(&b.sid[r]) => {
                c.waiting.push(r);
                NEW
            }
            None => match c.missing(r, has_nulls) {
                Some(bad) => {
                    c.bad.push(bad);
                    SKIP
                }
                None => {
                    fresh_ids.insert(b.sid[r], ());
                    c.fresh.push(r);
                    c.waiting.push(r);
                    NEW
                }
            },
        };
        c.local.push(local);
    }
}

/// A batch checked: each row's session (`< sessions`, or `SKIP`), in runs
/// of rows: what the sink is given, apart from the batch's own columns.
pub struct Checked {
    /// Sessions known after this batch.
    pub sessions: usize,
    /// Per run: its first batch row, and each row's session.
    runs: Vec<(usize, Vec<u32>)>,
}

impl Checked {
    /// The good events of the batch whose `keys`, `focus` and input-order
    /// place `seq` these are.
    pub fn rows<'a>(&'a self, keys: &'a [i64], focus: Option<&'a [Focus]>, seq: u64) -> Rows<'a> {
        let span = |&(from, ref local): &(usize, Vec<u32>)| from..from + local.len();
        Rows {
            sessions: self.sessions,
            parts: self
                .runs
                .iter()
                .map(|run| (&run.1[..], &keys[span(run)]))
                .collect(),
            seqs: self
                .runs
                .iter()
                .map(|&(from, _)| seq + from as u64)
                .collect(),
            focus: focus.map(|focus| self.runs.iter().map(|run| &focus[span(run)]).collect()),
        }
    }
}

/// Checks a batch (SPEC 1.4): the session of each good row, new sessions
/// registered in `index`, and the bad cells found here (missing names and
/// rows whose session already has another user or client).
pub fn check_batch(
    b: &Batch<'_>,
    index: &mut SessionIndex,
) -> PolarsResult<(Checked, Vec<BadCell>)> {
    if b.sid.is_empty() {
        let sessions = index.metas.len();
        return Ok((
            Checked {
                sessions,
                runs: Vec::new(),
            },
            Vec::new(),
        ));
    }
    let mut metas = std::mem::take(&mut index.metas);
    let result = check(b, index, &mut metas);
    index.metas = metas;
    result
}

fn check(
    b: &Batch<'_>,
    index: &mut SessionIndex,
    metas: &mut Vec<SessionMeta>,
) -> PolarsResult<(Checked, Vec<BadCell>)> {
    let n = b.sid.len();
    let (text, has_nulls) = match b.names {
        NameCols::Text(cols) => {
            // Columns whose chunks line up are used as they are; others are joined.
            let bounds = |c: &StringChunked| c.chunks().iter().map(|a| a.len()).collect::<Vec<_>>();
            let aligned = (1..3).all(|i| bounds(cols[i]) == bounds(cols[0]));
            let text = if aligned {
                cols.map(|c| c.clone())
            } else {
                cols.map(|c| c.rechunk().into_owned())
            };
            let has_nulls = cols.iter().any(|c| c.null_count() > 0);
            index.catch_up_records(metas);
            (Some(text), has_nulls)
        }
        NameCols::Dict(names) => {
            index.catch_up_ids(metas);
            let has_nulls = names.groups.iter().flatten().any(|a| a.null_count() > 0);
            (None, has_nulls)
        }
    };
    let parts = match (&text, b.names) {
        (Some(text), _) => text_parts(text.each_ref()),
        (None, NameCols::Dict(names)) => dict_parts(names),
        (None, NameCols::Text(_)) => unreachable!("text columns are kept"),
    };
    // Ranges of at most CHUNK rows, each within one part.
    let mut ranges = Vec::new();
    for (i, &(base, part)) in parts.iter().enumerate() {
        let end = parts.get(i + 1).map_or(n, |p| p.0);
        let mut from = base;
        while from < end {
            ranges.push(((base, part), from, (from + CHUNK).min(end)));
            from += CHUNK;
        }
    }

    // Step 1.
    let sessions = Sessions { index, metas };
    let mut chunks: Vec<Chunk> = ranges
        .into_par_iter()
        .map(|(part, from, to)| first_step(b, part, from, to, &sessions, has_nulls))
        .collect();

    // Step 2: sessions new to the batch, in order of their first good row.
    for c in &chunks {
        for &r in &c.fresh {
            let sid = b.sid[r];
            if index.get(sid).is_none() {
                let names = c.names(r);
                index.insert(sid);
                if let Part::Dict { keys, ids, .. } = c.part {
                    // `ids` is caught up: this session's come from its row.
                    let v = r - c.base;
                    let [u, g, n] = [0, 1, 2].map(|i| ids[i][keys[i][v] as usize]);
                    index.ids.push([b.uid[r] as u32, u, g, n]);
                }
                let [user_name, client_guid, client_name] = names.map(str::to_string);
                let key = |d: Option<&KeyDict>, id: i32| {
                    d.and_then(|d| d.key(id)).map(String::into_boxed_str)
                };
                metas.push(SessionMeta {
                    session_id: sid,
                    user_id: b.uid[r],
                    user_name,
                    client_guid,
                    client_name,
                    session_key: key(b.session_keys, sid),
                    user_key: key(b.user_keys, b.uid[r]),
                });
                index.firsts.push(b.seq + r as u64);
            }
        }
    }

    // Step 3, against the new sessions' records too.
    if text.is_some() {
        index.catch_up_records(metas);
    }
    let sessions = Sessions { index, metas };
    chunks.par_iter_mut().for_each(|c| {
        with_verified(sessions.metas.len(), |cache| {
            for r in std::mem::take(&mut c.waiting) {
                let g = sessions.index.get(b.sid[r]).expect("registered in step 2");
                c.local[r - c.from] = if !has_nulls && c.agrees(b, &sessions, cache, r, g) {
                    g
                } else {
                    c.settle(b, &sessions, r, g, has_nulls)
                };
            }
        })
    });

    // Each good row goes to its session, in input order.
    let mut bad = Vec::new();
    let runs = chunks
        .into_iter()
        .map(|c| {
            bad.extend(c.bad);
            (c.from, c.local)
        })
        .collect();
    let checked = Checked {
        sessions: metas.len(),
        runs,
    };
    Ok((checked, bad))
}

#[cfg(test)]
mod tests {
    use super::super::sink::{EventSink, Flow};
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The rule stated sequentially: walk the rows in order; the first good
    /// row of a session fixes it; a later row that differs is bad. Bad rows
    /// come with whether a name is missing (else they differ).
    fn sequential(
        sid: &[i32],
        uid: &[i32],
        names: &[[String; 3]],
        skip: &[usize],
    ) -> (Vec<i32>, Vec<(usize, bool)>) {
        let mut first: HashMap<i32, (i32, [String; 3])> = HashMap::new();
        let (mut kept, mut bad) = (Vec::new(), Vec::new());
        for r in 0..sid.len() {
            if skip.contains(&r) {
                continue;
            }
            if names[r].iter().any(|t| t.trim().is_empty()) {
                bad.push((r, true));
                continue;
            }
            match first.get(&sid[r]) {
                Some((u, n)) if *u != uid[r] || *n != names[r] => bad.push((r, false)),
                Some(_) => kept.push(sid[r]),
                None => {
                    first.insert(sid[r], (uid[r], names[r].clone()));
                    kept.push(sid[r]);
                }
            }
        }
        (kept, bad)
    }

    /// A sink that keeps each session's keys, as the stored path does.
    #[derive(Default)]
    struct Events {
        keys: Vec<Vec<i64>>,
        sessions: Vec<SessionMeta>,
    }

    impl EventSink for Events {
        fn push(&mut self, rows: &Rows<'_>) -> Flow {
            self.keys.resize_with(rows.sessions, Vec::new);
            rows.by_session(&mut self.keys, || (), |_, v, k, _| v.push(k));
            Flow::Continue
        }
    }

    /// Checks a batch into `events`, as a load does.
    fn assemble(
        b: &Batch<'_>,
        index: &mut SessionIndex,
        events: &mut Events,
    ) -> PolarsResult<Vec<BadCell>> {
        let (checked, bad) = check_batch(b, index)?;
        events.push(&checked.rows(b.keys, b.focus, b.seq));
        events.sessions = index.metas.clone();
        Ok(bad)
    }

    /// The session id of each kept row, in input order (the tests' keys are
    /// row numbers).
    fn kept_in_input_order(events: &Events) -> Vec<i32> {
        let mut got: Vec<(i64, i32)> = events
            .keys
            .iter()
            .enumerate()
            .flat_map(|(g, ks)| ks.iter().map(move |&k| (k, g as i32)))
            .collect();
        got.sort_unstable();
        got.iter()
            .map(|&(_, g)| events.sessions[g as usize].session_id)
            .collect()
    }

    #[test]
    fn a_long_name_that_differs_after_its_prefix_is_a_conflict() {
        // The second batch's name is the first long string of its array:
        // its view has buffer 0, offset 0, and the same length and prefix.
        let mut index = SessionIndex::default();
        let mut events = Events::default();
        for (batch, guid) in ["machine-guid-0001", "machine-guid-0002"]
            .iter()
            .enumerate()
        {
            let col = |v: &str| StringChunked::from_iter_values("n".into(), [v].into_iter());
            let names = [col("u"), col(guid), col("c")];
            let b = Batch {
                focus: None,
                sid: &[7],
                uid: &[1],
                keys: &[batch as i64],
                names: NameCols::Text([&names[0], &names[1], &names[2]]),
                skip: &[],
                seq: 0,
                session_keys: None,
                user_keys: None,
                sessionized: false,
            };
            let bad = assemble(&b, &mut index, &mut events).unwrap();
            assert_eq!(bad.len(), batch, "batch {batch}: {bad:?}");
        }
        assert_eq!(events.keys, vec![vec![0]]);
    }

    #[test]
    fn parallel_check_equals_the_sequential_rule() {
        for seed in 0..6u64 {
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let n = 3 * CHUNK + 77;
            let sessions = [3usize, 40, 5000][seed as usize % 3];
            // Ids close together, or scattered over all of int32 (seeds 3..6).
            let scatter = if seed >= 3 { 0x3F1B_9A37 } else { 1 };
            let sid: Vec<i32> = (0..n)
                .map(|_| rng.random_range(0..sessions as i32).wrapping_mul(scatter))
                .collect();
            // mostly consistent, with disagreeing rows; some at chunk starts
            let uid: Vec<i32> = (0..n)
                .map(|r| {
                    if rng.random_bool(0.002) || r % CHUNK == 0 {
                        -1
                    } else {
                        sid[r].rem_euclid(7)
                    }
                })
                .collect();
            let names: Vec<[String; 3]> = (0..n)
                .map(|r| {
                    // Rare faults: another guid, a long name that differs only
                    // after its prefix, a missing name (empty, or blank in
                    // ASCII or Unicode white space).
                    let fault = rng.random_range(0..3000);
                    [
                        match fault {
                            0 => String::new(),
                            1 => "  ".into(),
                            4 => "\u{a0}\u{3000}".into(),
                            _ => format!("u{}", sid[r].rem_euclid(7)),
                        },
                        if fault == 2 {
                            "other".into()
                        } else {
                            format!("g{}", sid[r])
                        },
                        format!(
                            "client-machine-name-{}",
                            if fault == 3 { 9 } else { sid[r].rem_euclid(3) }
                        ),
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
                focus: None,
                sid: &sid,
                uid: &uid,
                keys: &keys,
                names: NameCols::Text([&cols[0], &cols[1], &cols[2]]),
                skip: &skip,
                seq: 0,
                session_keys: None,
                user_keys: None,
                sessionized: false,
            };
            let mut index = SessionIndex::default();
            let mut events = Events::default();
            let bad = assemble(&b, &mut index, &mut events).unwrap();
            let (kept, bad_rows) = sequential(&sid, &uid, &names, &skip);
            assert_eq!(kept_in_input_order(&events), kept, "seed {seed}");
            let mut got_bad: Vec<(usize, bool)> = bad
                .iter()
                .map(|c| (c.row, c.rule == CellRule::Missing))
                .collect();
            got_bad.sort_unstable();
            assert_eq!(got_bad, bad_rows, "seed {seed}");
            assert!(bad_rows.len() > 3, "the case must have conflicts");
            // each session keeps input order: keys are row numbers, increasing
            assert!(events.keys.iter().all(|ks| ks.is_sorted()));
        }
    }

    /// A dictionary-encoded column part, as `super::super::dict` reads it:
    /// distinct values in order of first use, nulls as invalid keys.
    fn dict_array(values: &[Option<&str>]) -> DictionaryArray<u32> {
        let mut distinct: Vec<&str> = Vec::new();
        let keys: Vec<Option<u32>> = values
            .iter()
            .map(|v| {
                v.map(|t| match distinct.iter().position(|d| *d == t) {
                    Some(k) => k as u32,
                    None => {
                        distinct.push(t);
                        distinct.len() as u32 - 1
                    }
                })
            })
            .collect();
        let dtype = polars_arrow::datatypes::ArrowDataType::Dictionary(
            polars_arrow::datatypes::IntegerType::UInt32,
            Box::new(polars_arrow::datatypes::ArrowDataType::Utf8View),
            false,
        );
        DictionaryArray::try_new(
            dtype,
            polars_arrow::array::PrimitiveArray::from(keys),
            Utf8ViewArray::from_slice_values(&distinct).boxed(),
        )
        .unwrap()
    }

    #[test]
    fn dictionary_batches_follow_the_sequential_rule_across_batches() {
        // Batches of strings and of dictionary indices, in any order, give
        // the sequential rule over all rows: a session fixed in one kind of
        // batch is checked in the other (SessionIndex::catch_up).
        for seed in 0..8u64 {
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(100 + seed);
            let n = 2 * CHUNK + 999;
            let sessions = [5usize, 300, 9000, 70_000][seed as usize % 4];
            let sid: Vec<i32> = (0..n)
                .map(|_| rng.random_range(0..sessions as i32))
                .collect();
            let uid: Vec<i32> = (0..n)
                .map(|r| {
                    if rng.random_bool(0.001) {
                        -1
                    } else {
                        sid[r] % 11
                    }
                })
                .collect();
            // Rare faults: null, empty or blank names, another guid, a long
            // name that differs after its prefix.
            let names: Vec<[Option<String>; 3]> = (0..n)
                .map(|r| {
                    let fault = rng.random_range(0..4000);
                    [
                        match fault {
                            0 => None,
                            1 => Some(String::new()),
                            2 => Some(" \t".into()),
                            _ => Some(format!("user{}", sid[r] % 11)),
                        },
                        Some(if fault == 3 {
                            "other".into()
                        } else {
                            format!("guid-{:08}-long", sid[r])
                        }),
                        match fault {
                            4 => None,
                            5 => Some("client-machine-name-x".into()),
                            6 => Some("\u{2028}".into()),
                            _ => Some(format!("client-machine-name-{}", sid[r] % 3)),
                        },
                    ]
                })
                .collect();
            let skip: Vec<usize> = (0..n).filter(|_| rng.random_bool(0.01)).collect();
            let text: Vec<[String; 3]> = names
                .iter()
                .map(|v| v.clone().map(Option::unwrap_or_default))
                .collect();
            let (kept, bad_rows) = sequential(&sid, &uid, &text, &skip);

            let mut index = SessionIndex::default();
            let mut events = Events::default();
            let mut got_bad = Vec::new();
            let keys: Vec<i64> = (0..n as i64).collect();
            // Three batches; each one strings or dictionaries (of one or
            // more row groups), by the seed's bits.
            let cuts = [0, 40_000, 40_001, n];
            for (i, w) in cuts.windows(2).enumerate() {
                let (lo, hi) = (w[0], w[1]);
                let local_skip: Vec<usize> = skip
                    .iter()
                    .filter(|&&r| r >= lo && r < hi)
                    .map(|&r| r - lo)
                    .collect();
                let column = |c: usize, from: usize, to: usize| -> Vec<Option<&str>> {
                    names[from..to].iter().map(|v| v[c].as_deref()).collect()
                };
                let text_cols: Vec<StringChunked> = (0..3)
                    .map(|c| {
                        StringChunked::from_iter_options("n".into(), column(c, lo, hi).into_iter())
                    })
                    .collect();
                let groups: Vec<[DictionaryArray<u32>; 3]> = {
                    let mut bounds = vec![lo];
                    if hi - lo > 30_000 {
                        bounds.push(lo + 30_000);
                    }
                    bounds.push(hi);
                    bounds
                        .windows(2)
                        .map(|g| [0, 1, 2].map(|c| dict_array(&column(c, g[0], g[1]))))
                        .collect()
                };
                let dict = index.interner.lock().unwrap().names(groups);
                let names = if (seed >> i) & 1 == 1 {
                    NameCols::Dict(&dict)
                } else {
                    NameCols::Text([&text_cols[0], &text_cols[1], &text_cols[2]])
                };
                let b = Batch {
                    focus: None,
                    sid: &sid[lo..hi],
                    uid: &uid[lo..hi],
                    keys: &keys[lo..hi],
                    names,
                    skip: &local_skip,
                    seq: 0,
                    session_keys: None,
                    user_keys: None,
                    sessionized: false,
                };
                let bad = assemble(&b, &mut index, &mut events).unwrap();
                got_bad.extend(
                    bad.iter()
                        .map(|c| (c.row + lo, c.rule == CellRule::Missing)),
                );
                for c in &bad {
                    let r = c.row + lo;
                    // A missing name's cell shows the value as read.
                    if c.rule == CellRule::Missing {
                        let i = NAME_COLUMNS
                            .iter()
                            .position(|&k| Some(k) == c.column)
                            .unwrap();
                        assert_eq!(c.value, text[r][i], "seed {seed} row {r}");
                    }
                }
            }
            assert_eq!(kept_in_input_order(&events), kept, "seed {seed}");
            got_bad.sort_unstable();
            assert_eq!(got_bad, bad_rows, "seed {seed}");
            assert!(bad_rows.len() > 3, "the case must have conflicts");
        }
    }
}
