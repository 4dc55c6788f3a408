//! Every session's events kept sorted, with what answers any window without
//! a pass over all events or all sessions (for `serve`, SPEC 12.1).
//!
//! A window [start, end] selects two kinds of session (SPEC 3.2):
//! - those whose first event is inside it: a contiguous run of the sessions
//!   ordered by (first event, session id), already in the answer's order,
//!   since their clipped login is their first event;
//! - those that began before `start` and still have an event in the window
//!   (few: the sessions live at `start`), found through the latest last
//!   event of each block of that order, clipped and sorted per request.
//!
//! A page is then a merge of the two, and each session on it is clipped by
//! binary search in its events, its productive time a difference of
//! running sums: no work grows with the log, only with the page and with
//! the sessions live at `start`.

use super::span::productive;
use super::{Grouped, SessionStats, Settings};
use crate::model::{ts_of, Kind, SessionMeta};
use crate::time::Micros;

/// Sessions per block of the order whose latest last event is kept.
const BLOCK: usize = 64;

/// The index of one loaded snapshot.
#[derive(Debug, Default)]
pub struct Index {
    pub metas: Vec<SessionMeta>,
    /// Every session's keys, session after session, each sorted.
    keys: Vec<i64>,
    /// Session `s` holds `keys[offsets[s]..offsets[s + 1]]`.
    offsets: Vec<usize>,
    /// `sums[i]`: productive time of the spans between `keys[i]` and the
    /// events after it in its session, counted from the session's first:
    /// the spans of `keys[a..b]` add up to `sums[b - 1] - sums[a]`.
    sums: Vec<Micros>,
    /// Beside `keys`, each event's foreground cells, when the log has them.
    pub focus: Option<Vec<crate::model::Focus>>,
    /// Whether the session has a `logout` event.
    logout: Vec<bool>,
    /// Sessions with events, by (first event, session id).
    order: Vec<u32>,
    /// `firsts[i]`: the first event of `order[i]`.
    firsts: Vec<Micros>,
    /// Per block of `order`, the latest last event in it.
    block_last: Vec<Micros>,
    pub idle_after: Option<Micros>,
}

/// A window's selection, in the answer's order: `early` (sessions begun
/// before the window, clipped) merged with `order[from..to]`.
pub struct Selection<'a> {
    index: &'a Index,
    settings: Settings,
    early: Vec<SessionStats>,
    from: usize,
    to: usize,
}

impl Index {
    pub fn new(g: Grouped, idle_after: Option<Micros>) -> Index {
        let Grouped {
            keys: per,
            focus,
            sessions,
        } = g;
        let focus = focus.map(|f| f.concat());
        let total: usize = per.iter().map(Vec::len).sum();
        let mut keys = Vec::with_capacity(total);
        let mut offsets = Vec::with_capacity(per.len() + 1);
        let mut sums = Vec::with_capacity(total);
        let mut logout = Vec::with_capacity(per.len());
        offsets.push(0);
        for k in per {
            let mut sum = 0;
            for (i, &key) in k.iter().enumerate() {
                if i > 0 {
                    let gap = ts_of(key) - ts_of(k[i - 1]);
                    if productive(k[i - 1], gap, idle_after) {
                        sum += gap;
                    }
                }
                sums.push(sum);
            }
            logout.push(k.iter().any(|&key| Kind::from_bits(key) == Kind::Logout));
            keys.extend_from_slice(&k);
            offsets.push(keys.len());
        }
        let mut order: Vec<u32> = (0..sessions.len() as u32)
            .filter(|&s| offsets[s as usize + 1] > offsets[s as usize])
            .collect();
        let first = |s: u32| ts_of(keys[offsets[s as usize]]);
        order.sort_unstable_by_key(|&s| (first(s), sessions[s as usize].session_id));
        let firsts: Vec<Micros> = order.iter().map(|&s| first(s)).collect();
        let block_last = order
            .chunks(BLOCK)
            .map(|c| {
                c.iter()
                    .map(|&s| ts_of(keys[offsets[s as usize + 1] - 1]))
                    .max()
                    .expect("a block has sessions")
            })
            .collect();
        Index {
            metas: sessions,
            keys,
            offsets,
            sums,
            focus,
            logout,
            order,
            firsts,
            block_last,
            idle_after,
        }
    }

    /// Sessions with events.
    pub fn sessions(&self) -> usize {
        self.order.len()
    }

    pub fn events(&self) -> usize {
        self.keys.len()
    }

    /// Session `s` clipped to the window, as `session_stats` gives it.
    pub fn stats(&self, s: u32, settings: &Settings) -> Option<SessionStats> {
        let (a, b) = (self.offsets[s as usize], self.offsets[s as usize + 1]);
        let keys = &self.keys[a..b];
        let (lo, hi) = super::stored::clip(keys, settings)?;
        Some(SessionStats {
            session: s,
            login: ts_of(keys[lo]),
            logout: ts_of(keys[hi - 1]),
            productive: self.sums[a + hi - 1] - self.sums[a + lo],
            events: (hi - lo) as u32,
            open: !self.logout[s as usize],
            clipped_start: lo > 0,
            clipped_end: hi < keys.len(),
            lo,
            hi,
        })
    }

    /// Session `s`'s events in the window of `st` (its stats).
    /// Session `s`'s events, and their foreground cells when kept.
    pub fn session(&self, s: u32) -> (&[i64], Option<&[crate::model::Focus]>) {
        let (a, b) = (self.offsets[s as usize], self.offsets[s as usize + 1]);
        (&self.keys[a..b], self.focus.as_ref().map(|f| &f[a..b]))
    }

    pub fn window(&self, st: &SessionStats) -> &[i64] {
        let a = self.offsets[st.session as usize];
        &self.keys[a + st.lo..a + st.hi]
    }

    /// The selection of a window (SPEC 3.2, 3.3).
    pub fn select(&self, settings: Settings) -> Selection<'_> {
        let from = settings
            .start
            .map_or(0, |t| self.firsts.partition_point(|&f| f < t));
        let to = settings
            .end
            .map_or(self.firsts.len(), |t| {
                self.firsts.partition_point(|&f| f <= t)
            })
            .max(from);
        let mut early = Vec::new();
        if let Some(start) = settings.start {
            // Sessions begun before the window that last into it.
            for (b, &last) in self.block_last.iter().enumerate() {
                if b * BLOCK >= from {
                    break;
                }
                if last < start {
                    continue;
                }
                for &s in &self.order[b * BLOCK..((b + 1) * BLOCK).min(from)] {
                    if let Some(st) = self.stats(s, &settings) {
                        early.push(st);
                    }
                }
            }
            early.sort_unstable_by_key(|st| {
                super::endpoint_order(st, &self.metas[st.session as usize])
            });
        }
        Selection {
            index: self,
            settings,
            early,
            from,
            to,
        }
    }
}

impl Selection<'_> {
    /// Sessions in the whole selection (`totalCount`).
    pub fn total(&self) -> usize {
        self.early.len() + (self.to - self.from)
    }

    /// The sort key of the selection's order.
    fn key_of(&self, st: &SessionStats) -> (Micros, i32) {
        super::endpoint_order(st, &self.index.metas[st.session as usize])
    }

    /// Positions `[at, at + count)` of the selection, clipped, in order.
    pub fn range(&self, at: usize, count: usize) -> Vec<SessionStats> {
        let ix = self.index;
        let run = &ix.order[self.from..self.to];
        let run_key = |i: usize| {
            (
                ix.firsts[self.from + i],
                ix.metas[run[i] as usize].session_id,
            )
        };
        // Where each early session lands among the run: the merged
        // position of early[j] is j + (run sessions before it).
        let place = |j: usize| {
            let k = self.key_of(&self.early[j]);
            j + partition(run.len(), |i| run_key(i) < k)
        };
        // The early sessions before position `at`.
        let mut j = partition(self.early.len(), |j| place(j) < at);
        let mut i = at.saturating_sub(j).min(run.len());
        let mut out = Vec::with_capacity(count.min(self.total().saturating_sub(at)));
        while out.len() < count {
            let take_early = match (self.early.get(j), i < run.len()) {
                (Some(e), true) => self.key_of(e) < run_key(i),
                (Some(_), false) => true,
                (None, true) => false,
                (None, false) => break,
            };
            if take_early {
                out.push(self.early[j]);
                j += 1;
            } else {
                out.push(
                    ix.stats(run[i], &self.settings)
                        .expect("first event inside"),
                );
                i += 1;
            }
        }
        out
    }

    /// The whole selection, in order.
    pub fn all(&self) -> Vec<SessionStats> {
        self.range(0, self.total())
    }
}

/// The first `i` in `0..n` where `pred(i)` is false (`pred` true, then false).
fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{page, select};
    use crate::model::pack;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn every_window_and_page_equals_the_full_selection() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(12);
        for case in 0..300 {
            let n = rng.random_range(1..300u32);
            let mut rows: Vec<(u32, i64)> = Vec::new();
            for s in 0..n {
                // short sessions, and a few long ones that span most windows
                let begin = rng.random_range(0..10_000);
                let len = if rng.random_bool(0.05) { 8_000 } else { 300 };
                for _ in 0..rng.random_range(0..8) {
                    let t = begin + rng.random_range(0..len);
                    rows.push((s, pack(t, Kind::from_bits(rng.random_range(0..4)))));
                }
            }
            let metas: Vec<SessionMeta> = (0..n)
                .map(|i| SessionMeta::example(rng.random_range(0..1000) * 1000 + i as i32))
                .collect();
            let session: Vec<u32> = rows.iter().map(|r| r.0).collect();
            let key: Vec<i64> = rows.iter().map(|r| r.1).collect();
            let idle_after = rng.random_bool(0.8).then(|| rng.random_range(0..200));
            let index = Index::new(
                Grouped::from_rows(&session, &key, metas.clone()),
                idle_after,
            );
            let g = Grouped::from_rows(&session, &key, metas);
            for _ in 0..10 {
                let bound = |rng: &mut rand_pcg::Pcg64Mcg| {
                    rng.random_bool(0.8).then(|| rng.random_range(-10..11_000))
                };
                let (mut start, mut end) = (bound(&mut rng), bound(&mut rng));
                if let (Some(s), Some(e)) = (start, end) {
                    (start, end) = (Some(s.min(e)), Some(s.max(e)));
                }
                let settings = Settings {
                    start,
                    end,
                    idle_after,
                };
                let want = select(&g, &settings);
                let sel = index.select(settings);
                assert_eq!(sel.total(), want.len(), "case {case} {settings:?}");
                assert_eq!(sel.all(), want, "case {case} {settings:?}");
                for count in [1, 3, 10] {
                    for p in 0..=(want.len() / count + 1) as u32 {
                        assert_eq!(
                            sel.range(p as usize * count, count),
                            page(&want, count as u32, p),
                            "case {case} {settings:?} page {p} of {count}"
                        );
                    }
                }
            }
        }
    }
}
