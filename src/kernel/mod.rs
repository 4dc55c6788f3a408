//! The per-session kernel (SPEC 2 and 3): clip each session to the window,
//! add up its spans, select and order the sessions, cut pages.
//!
//! Events come from the loader through one of two sinks:
//! - `RunningSink` (running.rs) computes each session's answer as its events
//!   arrive, when they arrive in (time, kind) order, as in a time-ordered
//!   log: 48 bytes per session, no events kept;
//! - `Stored` (stored.rs) keeps each session's packed keys (8 bytes per
//!   event), sorts them, then computes the same answer.
//! Both add up spans by the one rule in span.rs.

pub mod index;
pub mod running;
pub mod sessionize;
pub mod span;
pub mod stored;

pub use running::{select_running, DayParts, PeriodsSink, Running, RunningSink};
pub use stored::{group, select, select_each, session_stats, Grouped, Stored};

use crate::time::Micros;

/// The window and the span rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Inclusive lower bound (UTC microseconds), if any.
    pub start: Option<Micros>,
    /// Inclusive upper bound (UTC microseconds), if any.
    pub end: Option<Micros>,
    /// A span longer than this is idle; `None` means no limit.
    pub idle_after: Option<Micros>,
}

impl Settings {
    /// No window: every session, whole.
    pub fn whole(idle_after: Option<Micros>) -> Settings {
        Settings {
            start: None,
            end: None,
            idle_after,
        }
    }
}

/// Default `--idle-after`: the monitored product's own idle timeout.
pub const DEFAULT_IDLE_AFTER: Micros = 15 * crate::time::US_PER_MIN;

/// One selected session's answer, clipped to the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStats {
    /// Index into `Grouped::sessions`.
    pub session: u32,
    /// First event inside the window (the clipped loginDate).
    pub login: Micros,
    /// Last event inside the window (the clipped logoutDate).
    pub logout: Micros,
    pub productive: Micros,
    /// Events inside the window.
    pub events: u32,
    /// The session has no `logout` event at all in the input.
    pub open: bool,
    /// The session has events before the window's start.
    pub clipped_start: bool,
    /// The session has events after the window's end.
    pub clipped_end: bool,
    /// The clipped events are `Grouped::keys[session][lo..hi]`.
    pub lo: usize,
    pub hi: usize,
}

impl SessionStats {
    pub fn duration(&self) -> Micros {
        self.logout - self.login
    }

    pub fn idle(&self) -> Micros {
        self.duration() - self.productive
    }
}

/// The endpoint's order of sessions (SPEC 2): by clipped login, then by
/// session id. Every selection, page and merge sorts by this key alone.
#[inline]
pub fn endpoint_order(st: &SessionStats, meta: &crate::model::SessionMeta) -> (Micros, i32) {
    (st.login, meta.session_id)
}

/// Positions `[page * count, (page + 1) * count)` of the selection, empty past the end.
pub fn page<T>(selection: &[T], session_count: u32, page_index: u32) -> &[T] {
    let count = session_count as usize;
    let from = (page_index as usize)
        .saturating_mul(count)
        .min(selection.len());
    let to = from.saturating_add(count).min(selection.len());
    &selection[from..to]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{pack, ts_of, Kind, SessionMeta};

    fn meta(id: i32) -> SessionMeta {
        SessionMeta::example(id)
    }

    fn events(rows: &[(u32, Micros, Kind)], n_sessions: i32) -> Grouped {
        let session: Vec<u32> = rows.iter().map(|r| r.0).collect();
        let key: Vec<i64> = rows.iter().map(|r| pack(r.1, r.2)).collect();
        Grouped::from_rows(
            &session,
            &key,
            (0..n_sessions).map(|i| meta(100 - i)).collect(),
        )
    }

    const ALL: Settings = Settings {
        start: None,
        end: None,
        idle_after: Some(10),
    };

    #[test]
    fn running_stats_equal_the_stored_ones() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        for case in 0..3000 {
            let n = rng.random_range(1..12);
            let mut keys: Vec<i64> = (0..n)
                .map(|_| {
                    pack(
                        rng.random_range(0..40),
                        Kind::from_bits(rng.random_range(0..4)),
                    )
                })
                .collect();
            keys.sort_unstable();
            let bound = |rng: &mut rand_pcg::Pcg64Mcg| {
                rng.random_bool(0.7).then(|| rng.random_range(-2..42))
            };
            let settings = Settings {
                start: bound(&mut rng),
                end: bound(&mut rng),
                idle_after: rng.random_bool(0.8).then(|| rng.random_range(0..15)),
            };
            let mut running = Running::<()>::default();
            for &k in &keys {
                running.add(k, crate::model::NO_FOCUS, &settings, &mut ());
            }
            assert!(!running.unsorted);
            let g = Grouped::from_rows(&vec![0; keys.len()], &keys, vec![meta(1)]);
            assert_eq!(
                running.stats(0),
                session_stats(&g, 0, &settings),
                "case {case}: {keys:?} {settings:?}"
            );
        }
        // one event out of order is noticed
        let mut running = Running::<()>::default();
        for k in [
            pack(5, Kind::Login),
            pack(5, Kind::Activity),
            pack(4, Kind::Idle),
        ] {
            running.add(k, crate::model::NO_FOCUS, &ALL, &mut ());
        }
        assert!(running.unsorted);
    }

    #[test]
    fn periods_sink_gives_each_window_the_answer_of_a_run_over_it() {
        use crate::load::sink::{EventSink, Rows};
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(8);
        for case in 0..500 {
            // Consecutive windows tiling [w0, w0 + k * len), events around them.
            let (w0, len, k) = (
                rng.random_range(0..20),
                rng.random_range(1..15),
                rng.random_range(1..6),
            );
            let idle_after = rng.random_bool(0.8).then(|| rng.random_range(0..15));
            // Some of them, as a rerun asks for the periods not done.
            let mut windows: Vec<Settings> = (0..k)
                .map(|i| Settings {
                    start: Some(w0 + i * len),
                    end: Some(w0 + (i + 1) * len - 1),
                    idle_after,
                })
                .collect();
            if k > 1 && rng.random_bool(0.5) {
                let keep = rng.random_range(0..k) as usize;
                let mut i = 0;
                windows.retain(|_| {
                    i += 1;
                    i - 1 == keep || rng.random_bool(0.5)
                });
            }
            let sessions = rng.random_range(1..6u32);
            let mut rows: Vec<(Micros, u32, i64)> = Vec::new();
            for s in 0..sessions {
                for _ in 0..rng.random_range(0..12) {
                    let t = rng.random_range(0..w0 + k * len + 20);
                    rows.push((t, s, pack(t, Kind::from_bits(rng.random_range(0..4)))));
                }
            }
            // In time order per session, sessions interleaved at random.
            rows.sort_unstable_by_key(|r| (r.2, r.1));
            let local: Vec<u32> = rows.iter().map(|r| r.1).collect();
            let keys: Vec<i64> = rows.iter().map(|r| r.2).collect();
            let mut sink = PeriodsSink::<()>::new(windows.clone(), ());
            // In two batches, the second knowing more sessions.
            let cut = rows.len() / 2;
            let known = local[..cut].iter().max().map_or(0, |&m| m as usize + 1);
            for (range, n) in [(0..cut, known), (cut..rows.len(), sessions as usize)] {
                let batch = Rows {
                    sessions: n,
                    parts: vec![(&local[range.clone()], &keys[range.clone()])],
                    seqs: vec![range.start as u64],
                    focus: None,
                };
                sink.push(&batch);
            }
            assert!(!sink.unsorted);
            let got = sink.finish();
            let g = Grouped::from_rows(&local, &keys, (0..sessions as i32).map(meta).collect());
            for (w, settings) in windows.iter().enumerate() {
                let want: Vec<SessionStats> = (0..g.sessions.len())
                    .filter_map(|s| session_stats(&g, s, settings))
                    .collect();
                let have: Vec<SessionStats> = got[w]
                    .iter()
                    .filter_map(|(s, r)| r.stats(*s as usize))
                    .collect();
                assert_eq!(have, want, "case {case}, window {w}: {rows:?} {windows:?}");
            }
            // The stored path over many windows: `select` of each.
            let each = select_each(&g, &windows);
            for (w, settings) in windows.iter().enumerate() {
                assert_eq!(
                    each[w],
                    select(&g, settings),
                    "case {case}, window {w}: select_each"
                );
            }
        }
    }

    #[test]
    fn grouping_sorts_each_session_by_time_then_kind() {
        use Kind::*;
        let g = events(
            &[
                (1, 5, Logout),
                (0, 3, Activity),
                (1, 5, Login),
                (0, 1, Idle),
                (1, 2, Activity),
            ],
            2,
        );
        assert_eq!((g.keys[0].len(), g.keys[1].len()), (2, 3));
        let kinds: Vec<_> = g
            .session_keys(1)
            .iter()
            .map(|&k| (ts_of(k), Kind::from_bits(k)))
            .collect();
        assert_eq!(kinds, vec![(2, Activity), (5, Login), (5, Logout)]);
    }

    #[test]
    fn spans_follow_the_rules() {
        use Kind::*;
        // activity 0 -> 10 (gap = threshold: productive), activity -> 21 (gap 11: idle),
        // idle 21 -> 22 (idle), logout 22 -> 23 (idle), login 23 -> 23 tie then activity 23 -> 30
        let rows = [
            (0, 0, Activity),
            (0, 10, Activity),
            (0, 21, Idle),
            (0, 22, Logout),
            (0, 23, Login),
            (0, 23, Activity),
            (0, 30, Logout),
        ];
        let g = events(&rows, 1);
        let st = session_stats(&g, 0, &ALL).unwrap();
        assert_eq!(
            (st.login, st.logout, st.productive, st.events),
            (0, 30, 10 + 7, 7)
        );
        assert_eq!(st.duration(), st.idle() + st.productive);
        assert!(!st.open);
    }

    #[test]
    fn clipping_drops_events_outside_the_window() {
        use Kind::*;
        let rows = [
            (0, 0, Login),
            (0, 5, Activity),
            (0, 9, Activity),
            (0, 14, Activity),
            (0, 20, Activity),
        ];
        let g = events(&rows, 1);
        let st = session_stats(
            &g,
            0,
            &Settings {
                start: Some(5),
                end: Some(19),
                idle_after: Some(10),
            },
        )
        .unwrap();
        assert_eq!(
            (st.login, st.logout, st.productive, st.events),
            (5, 14, 9, 3)
        );
        assert!(st.clipped_start && st.clipped_end && st.open);
        let none = session_stats(
            &g,
            0,
            &Settings {
                start: Some(21),
                end: None,
                idle_after: None,
            },
        );
        assert_eq!(none, None);
    }

    #[test]
    fn selection_orders_by_login_then_id_and_pages() {
        use Kind::*;
        // session 0 has id 100, session 1 has id 99: same login, so 99 comes first.
        let g = events(&[(0, 7, Activity), (1, 7, Activity), (2, 3, Activity)], 3);
        let sel = select(&g, &ALL);
        let ids: Vec<i32> = sel
            .iter()
            .map(|s| g.sessions[s.session as usize].session_id)
            .collect();
        assert_eq!(ids, vec![98, 99, 100]);
        assert_eq!(page(&sel, 2, 1).len(), 1);
        assert_eq!(page(&sel, 2, 2).len(), 0);
        assert_eq!(page(&sel, 0, 0).len(), 0);
        assert_eq!(page(&sel, 1000, u32::MAX).len(), 0);
    }
}
