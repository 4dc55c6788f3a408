//! The session-id index of a load: each session id's place, found densely
//! (ids in a small range) or by hashing, and each session's user and
//! client as its first good row fixed them.

use super::*;

/// Session id -> session index, and per session the views of its names.
/// Ids that lie close together (the usual case) are found by direct
/// addressing; scattered ids by hashing.
#[derive(Default)]
pub struct SessionIndex {
    /// The smallest id of the direct table.
    pub(crate) lo: i64,
    /// Direct table: entry `id - lo`, u32::MAX where no session.
    pub(crate) dense: Vec<u32>,
    /// Used instead of `dense` while ids are too scattered for it.
    pub(crate) hash: Option<HashMap<i32, u32>>,
    /// How many sessions are registered.
    pub(crate) sessions: usize,
    /// Per session, what its rows read as strings are compared with.
    /// Filled when such a batch comes (`catch_up_records`).
    pub(crate) records: Vec<Record>,
    /// The bytes of the names longer than 12 bytes, session after session.
    pub(crate) long_names: Vec<u8>,
    /// Per session, its user id and the ids of its names in `interner`:
    /// what rows read as dictionary indices are compared with. Filled only
    /// when such a batch comes (`catch_up_ids`). A load reads each file one
    /// way or the other, so a session rarely needs both.
    pub(crate) ids: Vec<[u32; 4]>,
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
pub(crate) struct Record {
    /// Per name: its whole view if it has at most 12 bytes; otherwise its
    /// length and prefix, with buffer and offset both u32::MAX, which no
    /// real view has, so that only the length and prefix can match.
    pub(crate) want: [u128; 3],
    pub(crate) uid: i32,
    pub(crate) long_at: u32,
}

/// The view a name of at most 12 bytes has in any array; see `Record::want`.
pub(crate) fn wanted_view(name: &str) -> u128 {
    let view = View::new_from_bytes(name.as_bytes(), u32::MAX, u32::MAX);
    if view.is_inline() {
        view.as_u128()
    } else {
        view.as_u128() | (u128::MAX << 64)
    }
}

impl SessionIndex {
    /// Gives `records` to the sessions registered without them.
    pub(crate) fn catch_up_records(&mut self, metas: &[SessionMeta]) {
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
    pub(crate) fn catch_up_ids(&mut self, metas: &[SessionMeta]) {
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
    pub(crate) fn prefetch(&self, sid: i32) {
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
    pub(crate) fn get(&self, sid: i32) -> Option<u32> {
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
    pub(crate) fn insert(&mut self, sid: i32) -> u32 {
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
pub(crate) fn dense_fits(span: usize, sessions: usize) -> bool {
    span <= (16 * sessions).max(1 << 20)
}

/// The first column in which a row differs from a session's values; a
/// user id that is a key shows as its key.
pub(crate) fn difference(
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

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
}
