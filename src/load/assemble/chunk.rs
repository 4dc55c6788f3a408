//! One chunk of a batch's rows checked against the sessions' values
//! (steps 1 and 3): names compared as dictionary ids or as string views.

use super::*;

/// One array of each name column, as read.
#[derive(Clone, Copy)]
pub(crate) enum Part<'a> {
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
pub(crate) fn text_parts(cols: [&StringChunked; 3]) -> Vec<(usize, Part<'_>)> {
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
pub(crate) fn dict_parts(names: &DictNames) -> Vec<(usize, Part<'_>)> {
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
pub(crate) struct Chunk<'a> {
    pub(crate) base: usize,
    pub(crate) part: Part<'a>,
    pub(crate) from: usize,
    /// Per row: session index, SKIP or NEW.
    pub(crate) local: Vec<u32>,
    /// Rows with a missing name, and rows that disagree with their session.
    pub(crate) bad: Vec<BadCell>,
    /// The first good row of each session new to the batch, in row order.
    pub(crate) fresh: Vec<usize>,
    /// Rows marked NEW.
    pub(crate) waiting: Vec<usize>,
}

/// A session and the views of its names in one array, already found equal
/// to the session's: a later row of that array with the same views agrees.
#[derive(Clone, Copy)]
#[repr(align(64))]
pub(crate) struct Verified {
    pub(crate) array: u64,
    pub(crate) g: u32,
    pub(crate) uid: i32,
    pub(crate) views: [u128; 3],
}

/// Each array of each batch gets its own number, so a thread's cache never
/// needs clearing.
pub(crate) static ARRAYS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Per thread, slot `g % len`: direct-mapped, grown with the sessions
    /// (up to 64k slots, 4 MiB) so that sessions active together rarely
    /// share a slot.
    static VERIFIED: RefCell<Vec<Verified>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's verified cache, sized for `sessions`.
pub(crate) fn with_verified<R>(sessions: usize, f: impl FnOnce(&mut [Verified]) -> R) -> R {
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
    pub(crate) fn new(base: usize, part: Part<'a>, from: usize, to: usize) -> Chunk<'a> {
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

    pub(crate) fn names(&self, r: usize) -> [&'a str; 3] {
        let v = r - self.base;
        match self.part {
            Part::Text { arrs, .. } => arrs.map(|a| a.value(v)),
            Part::Dict { keys, values, .. } => {
                [0, 1, 2].map(|i| values[i].value(keys[i][v] as usize))
            }
        }
    }

    /// Row `r`'s names, `None` where null.
    pub(crate) fn raw(&self, r: usize) -> [Option<&'a str>; 3] {
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
    pub(crate) fn agrees(
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
    pub(crate) fn settle(
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
                let rule = match (&m.session_key, b.sessionized) {
                    // Sessions are cut later from a user's events on one
                    // client: the group is named, as it has no session yet.
                    (_, true) => {
                        let user = match &m.user_key {
                            Some(k) => format!("{k:?}"),
                            None => m.user_id.to_string(),
                        };
                        format!(
                            "user {user} on client {:?} already has {column} {first:?} from an earlier row; a user's sessions on one client have one user name and one client name",
                            m.client_guid
                        )
                    }
                    (Some(k), false) => format!(
                        "session {k:?} already has {column} {first:?} from an earlier row; a session has one user and one client"
                    ),
                    (None, false) => format!(
                        "session {} already has {column} {first:?} from an earlier row; a session has one user and one client",
                        m.session_id
                    ),
                };
                self.bad.push(BadCell {
                    row: r,
                    column: Some(column),
                    value,
                    rule: rule.into(),
                });
                SKIP
            }
        }
    }

    /// A missing name of row `r` (null, empty or blank), as a bad cell.
    pub(crate) fn missing(&self, r: usize, has_nulls: bool) -> Option<BadCell> {
        let v = r - self.base;
        // A name can only be missing if it is null, empty, or does not start
        // with a printable ASCII character (bytes 33-126): a blank may be any
        // Unicode white space (U+00A0, U+3000, ...), whose first byte is not.
        let maybe = has_nulls
            || match self.part {
                Part::Text { views, .. } => views.iter().any(|views| {
                    let view = views[v];
                    view.length == 0 || !(b'!'..=b'~').contains(&(view.prefix as u8))
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
            rule: CellRule::Missing,
        })
    }
}
