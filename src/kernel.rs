//! The per-session kernel (SPEC 2 and 3): group events by session, sort each
//! session by (time, kind, input order), clip to the window, add up the spans,
//! select and order the sessions. Pure: in-memory events in, stats out.
//!
//! The loader hands over events already grouped by session, one packed `i64`
//! per event (time, then kind), so the per-session sort is a plain integer
//! sort, a no-op check on time-ordered logs. Sessions are processed in
//! parallel. When each session's events arrive in order, `Running` gives the
//! same answer while loading, with no events kept.

use crate::events::{ts_of, Events, Kind, SessionMeta};
use crate::rollup::DayStarts;
use crate::time::Micros;
use rayon::prelude::*;

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

/// Events grouped by session, each session's keys sorted by (timestamp,
/// kind); events equal in both are indistinguishable, so input order among
/// them needs no keeping.
#[derive(Debug, Default)]
pub struct Grouped {
    pub keys: Vec<Vec<i64>>,
    pub sessions: Vec<SessionMeta>,
}

impl Grouped {
    pub fn session_keys(&self, s: usize) -> &[i64] {
        &self.keys[s]
    }

    /// The events of a selected session inside the window.
    pub fn window(&self, st: &SessionStats) -> &[i64] {
        &self.keys[st.session as usize][st.lo..st.hi]
    }
}

/// Sorts each session's events, in parallel; a no-op check on time-ordered logs.
pub fn group(events: Events) -> Grouped {
    let Events {
        mut keys, sessions, ..
    } = events;
    keys.par_iter_mut().for_each(|k| {
        if !k.is_sorted() {
            k.sort_unstable();
        }
    });
    Grouped { keys, sessions }
}

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

/// Calls `f(start, length, productive)` for every span of a sorted run of
/// events (SPEC 2.2): productive when it starts at a `login` or `activity`
/// event and is no longer than `idle_after`.
#[inline]
pub fn for_each_span(
    keys: &[i64],
    idle_after: Option<Micros>,
    mut f: impl FnMut(Micros, Micros, bool),
) {
    let limit = idle_after.unwrap_or(Micros::MAX);
    for w in keys.windows(2) {
        let (t0, t1) = (ts_of(w[0]), ts_of(w[1]));
        let gap = t1 - t0;
        f(t0, gap, Kind::from_bits(w[0]).starts_work() && gap <= limit);
    }
}

/// Sum of the productive spans of a sorted run of events.
pub fn productive_time(keys: &[i64], idle_after: Option<Micros>) -> Micros {
    let mut total = 0;
    for_each_span(keys, idle_after, |_, gap, productive| {
        if productive {
            total += gap;
        }
    });
    total
}

/// Clips one session to the window; `None` when no event is inside it.
pub fn session_stats(g: &Grouped, s: usize, settings: &Settings) -> Option<SessionStats> {
    let keys = g.session_keys(s);
    let lo = settings
        .start
        .map_or(0, |t| keys.partition_point(|&k| ts_of(k) < t));
    let hi = settings
        .end
        .map_or(keys.len(), |t| keys.partition_point(|&k| ts_of(k) <= t));
    if lo >= hi {
        return None;
    }
    let inside = &keys[lo..hi];
    Some(SessionStats {
        session: s as u32,
        login: ts_of(inside[0]),
        logout: ts_of(inside[inside.len() - 1]),
        productive: productive_time(inside, settings.idle_after),
        events: inside.len() as u32,
        open: !keys.iter().any(|&k| Kind::from_bits(k) == Kind::Logout),
        clipped_start: lo > 0,
        clipped_end: hi < keys.len(),
        lo,
        hi,
    })
}

/// One session's answer computed as its events arrive, when they arrive in
/// (time, kind) order, as in a time-ordered log: then the events before the
/// window come first, those inside it next, and each span inside the window
/// joins two events that arrive one after the other. 48 bytes per session
/// instead of 8 per event, and no sorting. An event out of order makes the
/// state `unsorted`; the caller then uses the stored path (`group`).
///
/// `D` is what it keeps of day parts: nothing (`()`, for sessions) or
/// `RunningDays` (report), inline, so that an event touches one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running<D = ()> {
    /// The last key seen (`i64::MIN` before the first).
    last: i64,
    /// The first and last key inside the window.
    first_in: i64,
    last_in: i64,
    productive: Micros,
    /// Events before the window, inside it.
    before: u32,
    inside: u32,
    after: bool,
    logout: bool,
    pub unsorted: bool,
    pub days: D,
}

/// Day parts as a running answer keeps them.
pub trait DayParts: Default + Clone + Send {
    /// Adds an event inside the window after `prev`, the one before it.
    fn add_event(
        &mut self,
        prev: Option<i64>,
        key: i64,
        idle_after: Option<Micros>,
        starts: Option<&mut DayStarts>,
    );
}

impl DayParts for () {
    #[inline]
    fn add_event(&mut self, _: Option<i64>, _: i64, _: Option<Micros>, _: Option<&mut DayStarts>) {}
}

impl<D: DayParts> Default for Running<D> {
    fn default() -> Self {
        Running {
            last: i64::MIN,
            first_in: 0,
            last_in: 0,
            productive: 0,
            before: 0,
            inside: 0,
            after: false,
            logout: false,
            unsorted: false,
            days: D::default(),
        }
    }
}

impl<D: DayParts> Running<D> {
    /// Adds the next event of the session; with `starts`, also to its day
    /// parts.
    #[inline]
    pub fn add(&mut self, key: i64, settings: &Settings, starts: Option<&mut DayStarts>) {
        self.unsorted |= key < self.last;
        self.last = key;
        let t = ts_of(key);
        self.logout |= Kind::from_bits(key) == Kind::Logout;
        if settings.start.is_some_and(|s| t < s) {
            self.before += 1;
        } else if settings.end.is_some_and(|e| t > e) {
            self.after = true;
        } else {
            let prev = (self.inside > 0).then_some(self.last_in);
            self.days.add_event(prev, key, settings.idle_after, starts);
            if self.inside == 0 {
                self.first_in = key;
            } else {
                let gap = t - ts_of(self.last_in);
                let limit = settings.idle_after.unwrap_or(Micros::MAX);
                if Kind::from_bits(self.last_in).starts_work() && gap <= limit {
                    self.productive += gap;
                }
            }
            self.last_in = key;
            self.inside += 1;
        }
    }

    /// The session's answer, as `session_stats` gives it for its sorted keys.
    pub fn stats(&self, s: usize) -> Option<SessionStats> {
        (self.inside > 0).then(|| {
            let lo = self.before as usize;
            SessionStats {
                session: s as u32,
                login: ts_of(self.first_in),
                logout: ts_of(self.last_in),
                productive: self.productive,
                events: self.inside,
                open: !self.logout,
                clipped_start: self.before > 0,
                clipped_end: self.after,
                lo,
                hi: lo + self.inside as usize,
            }
        })
    }
}

/// `select` for sessions computed as they arrived.
pub fn select_running<D: DayParts + Sync>(
    running: &[Running<D>],
    sessions: &[SessionMeta],
) -> Vec<SessionStats> {
    let mut out: Vec<SessionStats> = running
        .par_iter()
        .enumerate()
        .filter_map(|(s, r)| r.stats(s))
        .collect();
    out.par_sort_unstable_by_key(|st| (st.login, sessions[st.session as usize].session_id));
    out
}

/// Every session with at least one event in the window, ordered by clipped
/// login, then session id (SPEC 3.2-3.3).
pub fn select(g: &Grouped, settings: &Settings) -> Vec<SessionStats> {
    let mut out: Vec<SessionStats> = (0..g.sessions.len())
        .into_par_iter()
        .filter_map(|s| session_stats(g, s, settings))
        .collect();
    out.par_sort_unstable_by_key(|st| (st.login, g.sessions[st.session as usize].session_id));
    out
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
    use crate::events::pack;

    fn meta(id: i32) -> SessionMeta {
        SessionMeta::example(id)
    }

    fn events(rows: &[(u32, Micros, Kind)], n_sessions: i32) -> Events {
        let session: Vec<u32> = rows.iter().map(|r| r.0).collect();
        let key: Vec<i64> = rows.iter().map(|r| pack(r.1, r.2)).collect();
        Events::from_rows(
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
                running.add(k, &settings, None);
            }
            assert!(!running.unsorted);
            let g = group(Events::from_rows(
                &vec![0; keys.len()],
                &keys,
                vec![meta(1)],
            ));
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
            running.add(k, &ALL, None);
        }
        assert!(running.unsorted);
    }

    #[test]
    fn grouping_sorts_each_session_by_time_then_kind() {
        use Kind::*;
        let g = group(events(
            &[
                (1, 5, Logout),
                (0, 3, Activity),
                (1, 5, Login),
                (0, 1, Idle),
                (1, 2, Activity),
            ],
            2,
        ));
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
        let g = group(events(&rows, 1));
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
        let g = group(events(&rows, 1));
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
        let g = group(events(
            &[(0, 7, Activity), (1, 7, Activity), (2, 3, Activity)],
            3,
        ));
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
