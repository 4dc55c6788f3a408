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
//!   dictionary entry gets the id of its string once (`super::dict::Interner`),
//!   and a row compares its user id and three name ids with its session's;
//! - as strings: a session's user id and the 16-byte string views of its
//!   names sit in one cache line; a name of at most 12 bytes is whole in its
//!   view, and only longer names need their bytes compared.

use super::columns::Canon;
use super::convert::BadCell;
use super::parquet::dict::{dict_values, DictNames, Interner, MISSING};
use super::sink::{EventSink, Flow, Rows, SKIP};
use crate::ids::KeyDict;
use crate::model::SessionMeta;
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
    pub names: NameCols<'a>,
    /// Rows already known to be bad or blank, sorted: not events.
    pub skip: &'a [usize],
    /// The input-order place (`super::seq`) of the batch's first row.
    pub seq: u64,
    /// When ids are keys: the dictionary behind each provisional id.
    pub session_keys: Option<&'a KeyDict>,
    pub user_keys: Option<&'a KeyDict>,
}

const NAME_COLUMNS: [Canon; 3] = super::parquet::dict::NAMES;

/// The three name columns of a batch: strings, or per row group indices
/// into that row group's dictionaries (`super::parquet::dict`).
#[derive(Clone, Copy)]
pub enum NameCols<'a> {
    Text([&'a StringChunked; 3]),
    Dict(&'a DictNames),
}

/// Session id -> session index, and per session the views of its names.
/// Ids that lie close together (the usual case) are found by direct
/// addressing; scattered ids by hashing.
#[derive(Default)]
pub struct SessionIndex {
    /// The smallest id of the direct table.
    lo: i64,
    /// Direct table: entry `id - lo`, u32::MAX where no session.
    dense: Vec<u32>,
    /// Used instead of `dense` while ids are too scattered for it.
    hash: Option<HashMap<i32, u32>>,
    /// How many sessions are registered.
    sessions: usize,
    /// Per session, what its rows read as strings are compared with.
    /// Filled when such a batch comes (`catch_up_records`).
    records: Vec<Record>,
    /// The bytes of the names longer than 12 bytes, session after session.
    long_names: Vec<u8>,
    /// Per session, its user id and the ids of its names in `interner`:
    /// what rows read as dictionary indices are compared with. Filled only
    /// when such a batch comes (`catch_up_ids`). A load reads each file one
    /// way or the other, so a session rarely needs both.
    ids: Vec<[u32; 4]>,
    /// Each distinct name met in a dictionary or a session, and its id;
    /// shared with the thread that reads the batches.
    pub interner: Arc<Mutex<Interner>>,
    /// Per session, its attributes, from its first good row.
    pub metas: Vec<SessionMeta>,
    /// Per session, the input-order place of its first good row.
    pub firsts: Vec<u64>,
}

/// A session's user id and the views of its names, in one cache line: the
/// check of a row reads this and, for a long name, its bytes in
/// `long_names` from `long_at` on.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Record {
    /// Per name: its whole view if it has at most 12 bytes; otherwise its
    /// length and prefix, with buffer and offset both u32::MAX, which no
    /// real view has, so that only the length and prefix can match.
    want: [u128; 3],
    uid: i32,
    long_at: u32,
}

/// The view a name of at most 12 bytes has in any array; see `Record::want`.
fn wanted_view(name: &str) -> u128 {
    let view = View::new_from_bytes(name.as_bytes(), u32::MAX, u32::MAX);
    if view.is_inline() {
        view.as_u128()
    } else {
        view.as_u128() | (u128::MAX << 64)
    }
}

impl SessionIndex {
    /// Gives `records` to the sessions registered without them.
    fn catch_up_records(&mut self, metas: &[SessionMeta]) {
        for m in &metas[self.records.len()..] {
            let names = m.names();
            self.records.push(Record {
                want: names.map(wanted_view),
                uid: m.user_id,
                long_at: self.long_names.len() as u32,
            });
            for name in names
                .iter()
                .filter(|t| t.len() > View::MAX_INLINE_SIZE as usize)
            {
                self.long_names.extend_from_slice(name.as_bytes());
            }
        }
    }

    /// Gives `ids` to the sessions registered without them.
    fn catch_up_ids(&mut self, metas: &[SessionMeta]) {
        if self.ids.len() == metas.len() {
            return;
        }
        let mut interner = self.interner.lock().expect("no thread panicked");
        for m in &metas[self.ids.len()..] {
            let names = m.names().map(|t| interner.id(t));
            self.ids
                .push([m.user_id as u32, names[0], names[1], names[2]]);
        }
    }

    /// Asks for the direct table's slot of `sid` (nothing when hashed).
    #[inline]
    fn prefetch(&self, sid: i32) {
        if self.hash.is_none() {
            if let Some(slot) = usize::try_from(sid as i64 - self.lo)
                .ok()
                .and_then(|i| self.dense.get(i))
            {
                prefetch(slot);
            }
        }
    }

    #[inline]
    fn get(&self, sid: i32) -> Option<u32> {
        match &self.hash {
            Some(h) => h.get(&sid).copied(),
            None => {
                let g = *self
                    .dense
                    .get(usize::try_from(sid as i64 - self.lo).ok()?)?;
                (g != u32::MAX).then_some(g)
            }
        }
    }

    /// Registers a new session id as the next session.
    fn insert(&mut self, sid: i32) -> u32 {
        let g = self.sessions as u32;
        self.sessions += 1;
        if let Some(h) = &mut self.hash {
            h.insert(sid, g);
            // Ids met early may look scattered while later ones fill the
            // gaps: look again as the sessions double.
            let n = self.sessions;
            if n >= 1 << 10 && n.is_power_of_two() {
                let lo = h.keys().min().map_or(0, |&k| i64::from(k));
                let hi = h.keys().max().map_or(0, |&k| i64::from(k));
                if dense_fits((hi - lo + 1) as usize, n) {
                    self.lo = lo;
                    self.dense = vec![u32::MAX; (hi - lo + 1) as usize];
                    for (&k, &g) in h.iter() {
                        self.dense[(i64::from(k) - lo) as usize] = g;
                    }
                    self.hash = None;
                }
            }
            return g;
        }
        let sid64 = sid as i64;
        if self.dense.is_empty() {
            self.lo = sid64;
        }
        let (lo, hi) = (
            self.lo.min(sid64),
            (self.lo + self.dense.len() as i64 - 1).max(sid64),
        );
        let span = (hi - lo + 1) as usize;
        if !dense_fits(span, self.sessions) {
            let mut h: HashMap<i32, u32> = HashMap::default();
            for (i, &g) in self.dense.iter().enumerate() {
                if g != u32::MAX {
                    h.insert((self.lo + i as i64) as i32, g);
                }
            }
            h.insert(sid, g);
            self.hash = Some(h);
            self.dense = Vec::new();
            return g;
        }
        if lo < self.lo {
            let grow = (self.lo - lo) as usize;
            self.dense.splice(0..0, std::iter::repeat_n(u32::MAX, grow));
            self.lo = lo;
        }
        if span > self.dense.len() {
            self.dense.resize(span, u32::MAX);
        }
        self.dense[(sid64 - self.lo) as usize] = g;
        g
    }
}

/// Whether ids spanning `span` values may be found by direct addressing
/// for `sessions` sessions: up to 16 slots per session, and 1Mi slots
/// (4 MiB) in any case. A hash lookup per row costs several times more.
fn dense_fits(span: usize, sessions: usize) -> bool {
    span <= (16 * sessions).max(1 << 20)
}

/// The first column in which a row differs from a session's values; a
/// user id that is a key shows as its key.
fn difference(
    m: &SessionMeta,
    uid: i32,
    names: [&str; 3],
    user_keys: Option<&KeyDict>,
) -> Option<(Canon, String, String)> {
    if m.user_id != uid {
        let shown = |id: i32| match user_keys {
            Some(d) => d.key(id).unwrap_or_default(),
            None => id.to_string(),
        };
        return Some((Canon::UserId, shown(uid), shown(m.user_id)));
    }
    let first = m.names();
    (0..3)
        .find(|&i| first[i] != names[i])
        .map(|i| (NAME_COLUMNS[i], names[i].to_string(), first[i].to_string()))
}

/// One array of each name column, as read.
#[derive(Clone, Copy)]
enum Part<'a> {
    /// Strings. `array` names the arrays for the verified cache: views
    /// mean something only within their own array.
    Text {
        arrs: [&'a Utf8ViewArray; 3],
        views: [&'a [View]; 3],
        array: u64,
    },
    /// One row group's dictionary indices (`keys`), its dictionaries
    /// (`values`), and per dictionary entry its id in `SessionIndex`.
    Dict {
        arrs: [&'a DictionaryArray<u32>; 3],
        keys: [&'a [u32]; 3],
        values: [&'a Utf8ViewArray; 3],
        ids: [&'a [u32]; 3],
    },
}

/// The parts of string columns, each with the batch row it starts at.
/// Reading a batch gives several chunks (row groups, pages); joining them
/// would copy every string view. `cols` must share chunk boundaries.
fn text_parts(cols: [&StringChunked; 3]) -> Vec<(usize, Part<'_>)> {
    let mut parts = Vec::new();
    let mut base = 0;
    let [a, b, c] = cols.map(|c| c.downcast_iter());
    let chunks = cols[0].chunks().len() as u64;
    let first_array = ARRAYS.fetch_add(chunks, Ordering::Relaxed);
    for (((x, y), z), array) in a.zip(b).zip(c).zip(first_array..) {
        let arrs = [x, y, z];
        let views = arrs.map(|a| a.views().as_slice());
        parts.push((base, Part::Text { arrs, views, array }));
        base += x.len();
    }
    parts
}

/// The parts of a batch read as dictionary indices, one per row group.
fn dict_parts(names: &DictNames) -> Vec<(usize, Part<'_>)> {
    let mut parts = Vec::new();
    let mut base = 0;
    for (arrs, ids) in names.groups.iter().zip(&names.ids) {
        let arrs = arrs.each_ref();
        parts.push((
            base,
            Part::Dict {
                arrs,
                keys: arrs.map(|a| a.keys().values().as_slice()),
                values: arrs.map(dict_values),
                ids: ids.each_ref().map(Vec::as_slice),
            },
        ));
        base += arrs[0].len();
    }
    parts
}

/// Rows `from..to` of a batch, lying in `part` that starts at batch row
/// `base`, with what the steps learn about them.
struct Chunk<'a> {
    base: usize,
    part: Part<'a>,
    from: usize,
    /// Per row: session index, SKIP or NEW.
    local: Vec<u32>,
    /// Rows with a missing name, and rows that disagree with their session.
    bad: Vec<BadCell>,
    /// The first good row of each session new to the batch, in row order.
    fresh: Vec<usize>,
    /// Rows marked NEW.
    waiting: Vec<usize>,
}

/// A session and the views of its names in one array, already found equal
/// to the session's: a later row of that array with the same views agrees.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Verified {
    array: u64,
    g: u32,
    uid: i32,
    views: [u128; 3],
}

/// Each array of each batch gets its own number, so a thread's cache never
/// needs clearing.
static ARRAYS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Per thread, slot `g % len`: direct-mapped, grown with the sessions
    /// (up to 64k slots, 4 MiB) so that sessions active together rarely
    /// share a slot.
    static VERIFIED: RefCell<Vec<Verified>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's verified cache, sized for `sessions`.
fn with_verified<R>(sessions: usize, f: impl FnOnce(&mut [Verified]) -> R) -> R {
    VERIFIED.with(|cell| {
        let mut cache = cell.borrow_mut();
        let want = sessions.next_power_of_two().clamp(1 << 10, 1 << 16);
        if cache.len() < want {
            let empty = Verified {
                array: 0,
                g: 0,
                uid: 0,
                views: [0; 3],
            };
            cache.clear();
            cache.resize(want, empty);
        }
        f(&mut cache)
    })
}

impl<'a> Chunk<'a> {
    fn new(base: usize, part: Part<'a>, from: usize, to: usize) -> Chunk<'a> {
        Chunk {
            base,
            part,
            from,
            local: Vec::with_capacity(to - from),
            bad: Vec::new(),
            fresh: Vec::new(),
            waiting: Vec::new(),
        }
    }

    fn names(&self, r: usize) -> [&'a str; 3] {
        let v = r - self.base;
        match self.part {
            Part::Text { arrs, .. } => arrs.map(|a| a.value(v)),
            Part::Dict { keys, values, .. } => {
                [0, 1, 2].map(|i| values[i].value(keys[i][v] as usize))
            }
        }
    }

    /// Row `r`'s names, `None` where null.
    fn raw(&self, r: usize) -> [Option<&'a str>; 3] {
        let v = r - self.base;
        match self.part {
            Part::Text { arrs, .. } => arrs.map(|a| a.get(v)),
            Part::Dict {
                arrs, keys, values, ..
            } => [0, 1, 2]
                .map(|i| (!arrs[i].is_null(v)).then(|| values[i].value(keys[i][v] as usize))),
        }
    }

    /// The fast check: whether row `r` has exactly session `g`'s user and
    /// client. `false` may still be equal (a short name in a view that is
    /// not zero-padded): `settle` decides.
    ///
    /// Within one array, rows of one dictionary page share the views of
    /// equal strings, so a row whose views equal those of a row of its
    /// session already verified in this array agrees at once; the thread's
    /// direct-mapped `cache` holds them. Otherwise short names compare as
    /// whole views, long ones by length and prefix, then bytes.
    ///
    /// Rows read as dictionary indices compare the ids of their names.
    #[inline]
    fn agrees(
        &self,
        b: &Batch<'_>,
        sessions: &Sessions<'_>,
        cache: &mut [Verified],
        r: usize,
        g: u32,
    ) -> bool {
        let v = r - self.base;
        let (arrs, views, array) = match self.part {
            Part::Text { arrs, views, array } => (arrs, views, array),
            Part::Dict { keys, ids, .. } => {
                let got = [
                    b.uid[r] as u32,
                    ids[0][keys[0][v] as usize],
                    ids[1][keys[1][v] as usize],
                    ids[2][keys[2][v] as usize],
                ];
                // A missing name has no id a session can have.
                return sessions.index.ids[g as usize] == got;
            }
        };
        let got = [views[0][v], views[1][v], views[2][v]].map(View::as_u128);
        let uid = b.uid[r];
        let slot = &mut cache[g as usize & (cache.len() - 1)];
        if slot.array == array
            && slot.g == g
            && slot.uid == uid
            && slot.views[0] == got[0]
            && slot.views[1] == got[1]
            && slot.views[2] == got[2]
        {
            return true;
        }
        let rec = &sessions.index.records[g as usize];
        if uid != rec.uid {
            return false;
        }
        let mut at = rec.long_at as usize;
        let same = (0..3).all(|i| {
            let view = views[i][v];
            if got[i] == rec.want[i] {
                return true; // only a short name can match whole
            }
            if view.is_inline() || got[i] as u64 != rec.want[i] as u64 {
                return false;
            }
            let len = view.length as usize;
            let name = sessions.index.long_names.get(at..at + len);
            at += len;
            let bytes = arrs[i].data_buffers().get(view.buffer_idx as usize);
            let off = view.offset as usize;
            bytes
                .and_then(|b| b.get(off..off + len))
                .is_some_and(|b| Some(b) == name)
        });
        if same {
            *slot = Verified {
                array,
                g,
                uid,
                views: got,
            };
        }
        same
    }

    /// The slow path for a row that `agrees` did not accept: a missing name,
    /// a conflict (both recorded as bad cells; SKIP), or equal after all (`g`).
    fn settle(
        &mut self,
        b: &Batch<'_>,
        sessions: &Sessions<'_>,
        r: usize,
        g: u32,
        has_nulls: bool,
    ) -> u32 {
        if let Some(bad) = self.missing(r, has_nulls) {
            self.bad.push(bad);
            return SKIP;
        }
        let m = &sessions.metas[g as usize];
        match difference(m, b.uid[r], self.names(r), b.user_keys) {
            None => g,
            Some((column, value, first)) => {
                let session = match &m.session_key {
                    Some(k) => format!("{k:?}"),
                    None => m.session_id.to_string(),
                };
                self.bad.push(BadCell {
                    row: r,
                    column: Some(column),
                    value,
                    rule: format!(
                        "session {session} already has {column} {first:?} from an earlier row; a session has one user and one client"
                    ),
                });
                SKIP
            }
        }
    }

    /// A missing name of row `r` (null, empty or blank), as a bad cell.
    fn missing(&self, r: usize, has_nulls: bool) -> Option<BadCell> {
        let v = r - self.base;
        // A name can only be missing if it is null, empty, or starts with a blank.
        let maybe = has_nulls
            || match self.part {
                Part::Text { views, .. } => views.iter().any(|views| {
                    let view = views[v];
                    view.length == 0 || (view.prefix as u8).is_ascii_whitespace()
                }),
                Part::Dict { keys, ids, .. } => {
                    (0..3).any(|i| ids[i][keys[i][v] as usize] == MISSING)
                }
            };
        if !maybe {
            return None;
        }
        let raw = self.raw(r);
        let i = (0..3).find(|&i| raw[i].is_none_or(|t| t.trim().is_empty()))?;
        Some(BadCell {
            row: r,
            column: Some(NAME_COLUMNS[i]),
            value: raw[i].unwrap_or("").to_string(),
            rule: "missing required value".into(),
        })
    }
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

/// Checks a batch and pushes its good rows into `sink`; returns the bad
/// cells found here (missing names and rows whose session already has
/// another user or client) and whether the sink goes on.
pub fn assemble(
    b: &Batch<'_>,
    index: &mut SessionIndex,
    sink: &mut dyn EventSink,
) -> PolarsResult<(Vec<BadCell>, Flow)> {
    let n = b.sid.len();
    if n == 0 {
        return Ok((Vec::new(), Flow::Continue));
    }
    let mut metas = std::mem::take(&mut index.metas);
    let result = check(b, index, &mut metas, sink);
    index.metas = metas;
    result
}

fn check(
    b: &Batch<'_>,
    index: &mut SessionIndex,
    metas: &mut Vec<SessionMeta>,
    sink: &mut dyn EventSink,
) -> PolarsResult<(Vec<BadCell>, Flow)> {
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
    let rows = Rows {
        sessions: metas.len(),
        parts: chunks
            .iter()
            .map(|c| (&c.local[..], &b.keys[c.from..c.from + c.local.len()]))
            .collect(),
        seqs: chunks.iter().map(|c| b.seq + c.from as u64).collect(),
    };
    let flow = sink.push(&rows);
    Ok((chunks.into_iter().flat_map(|c| c.bad).collect(), flow))
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
            if names[r].iter().any(|t| t.trim().is_empty()) {
                bad.push(r);
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

    /// A sink that keeps each session's keys, as the stored path does.
    #[derive(Default)]
    struct Events {
        keys: Vec<Vec<i64>>,
        sessions: Vec<SessionMeta>,
    }

    impl EventSink for Events {
        fn push(&mut self, rows: &Rows<'_>) -> Flow {
            self.keys.resize_with(rows.sessions, Vec::new);
            rows.by_session(&mut self.keys, || (), |_, v, k| v.push(k));
            Flow::Continue
        }
    }

    /// Checks a batch into `events`, as a load does.
    fn assemble(
        b: &Batch<'_>,
        index: &mut SessionIndex,
        events: &mut Events,
    ) -> PolarsResult<Vec<BadCell>> {
        let (bad, _) = super::assemble(b, index, events)?;
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
                sid: &[7],
                uid: &[1],
                keys: &[batch as i64],
                names: NameCols::Text([&names[0], &names[1], &names[2]]),
                skip: &[],
                seq: 0,
                session_keys: None,
                user_keys: None,
            };
            let bad = assemble(&b, &mut index, &mut events).unwrap();
            assert_eq!(bad.len(), batch, "batch {batch}: {bad:?}");
        }
        assert_eq!(events.keys, vec![vec![0]]);
    }

    #[test]
    fn session_index_finds_every_id_dense_or_scattered() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        // Ids close together; scattered over int32; spread over 4Mi values
        // in random order, which look scattered while few (a hash) and fill
        // a direct table once many (SessionIndex::insert looks again).
        for (spread, draws, hashed) in [
            (100i64, 20_000, false),
            (1 << 40, 20_000, true),
            (1 << 21, 300_000, false),
        ] {
            let mut index = SessionIndex::default();
            let mut want: HashMap<i32, u32> = HashMap::default();
            let mut was_hashed = false;
            for _ in 0..draws {
                // ids below and above the first, far apart when spread is large
                let sid = (rng.random_range(-spread..spread) % (1 << 31)) as i32;
                if want.contains_key(&sid) {
                    continue;
                }
                let g = index.insert(sid);
                want.insert(sid, g);
                was_hashed |= index.hash.is_some();
            }
            assert_eq!(index.hash.is_some(), hashed, "spread {spread}");
            assert_eq!(was_hashed, spread > 100, "spread {spread}");
            for (&sid, &g) in &want {
                assert_eq!(index.get(sid), Some(g));
            }
            for probe in [i32::MIN, i32::MAX, 0, -1, 1 << 20] {
                assert_eq!(index.get(probe), want.get(&probe).copied());
            }
        }
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
                    // after its prefix, a missing name (empty or blank).
                    let fault = rng.random_range(0..3000);
                    [
                        match fault {
                            0 => String::new(),
                            1 => "  ".into(),
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
                sid: &sid,
                uid: &uid,
                keys: &keys,
                names: NameCols::Text([&cols[0], &cols[1], &cols[2]]),
                skip: &skip,
                seq: 0,
                session_keys: None,
                user_keys: None,
            };
            let mut index = SessionIndex::default();
            let mut events = Events::default();
            let bad = assemble(&b, &mut index, &mut events).unwrap();
            let (kept, bad_rows) = sequential(&sid, &uid, &names, &skip);
            assert_eq!(kept_in_input_order(&events), kept, "seed {seed}");
            let mut got_bad: Vec<usize> = bad.iter().map(|c| c.row).collect();
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
                    sid: &sid[lo..hi],
                    uid: &uid[lo..hi],
                    keys: &keys[lo..hi],
                    names,
                    skip: &local_skip,
                    seq: 0,
                    session_keys: None,
                    user_keys: None,
                };
                let bad = assemble(&b, &mut index, &mut events).unwrap();
                got_bad.extend(bad.iter().map(|c| c.row + lo));
                for c in &bad {
                    let r = c.row + lo;
                    // A missing name's cell shows the value as read.
                    if c.rule == "missing required value" {
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
