//! Each session's answer computed while loading, for logs whose sessions'
//! events arrive in (time, kind) order: an `EventSink` that keeps, per
//! session, a `Running` answer instead of its events.

use super::span::productive;
use super::{SessionStats, Settings};
use crate::load::sink::{EventSink, Flow, Rows};
use crate::model::{follow, ts_of, Focus, Kind, SessionMeta, NO_FOCUS};
use crate::time::Micros;
use rayon::prelude::*;

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
    /// The session's foreground after its last event (SPEC 13.1).
    foreground: Focus,
    pub days: D,
}

/// Day parts as a running answer keeps them (the rollups implement it).
pub trait DayParts: Default + Clone + Send + Sync {
    /// What finding day edges needs, one per thread (for example the zone
    /// and the day starts met so far).
    type Starts: Clone + Send + Sync;
    /// Adds an event inside the window after `prev`, the one before it;
    /// the span between them belongs to `foreground`, the session's
    /// foreground as it stood after `prev` (SPEC 13.1).
    fn add_event(
        &mut self,
        prev: Option<i64>,
        key: i64,
        foreground: Focus,
        idle_after: Option<Micros>,
        starts: &mut Self::Starts,
    );
}

impl DayParts for () {
    type Starts = ();
    #[inline]
    fn add_event(&mut self, _: Option<i64>, _: i64, _: Focus, _: Option<Micros>, _: &mut ()) {}
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
            foreground: NO_FOCUS,
            days: D::default(),
        }
    }
}

impl<D: DayParts> Running<D> {
    /// Adds the next event of the session (`focus`: its foreground cells),
    /// to its day parts too.
    #[inline]
    pub fn add(&mut self, key: i64, focus: Focus, settings: &Settings, starts: &mut D::Starts) {
        let foreground = self.foreground;
        self.foreground = follow(foreground, focus);
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
            self.days
                .add_event(prev, key, foreground, settings.idle_after, starts);
            if self.inside == 0 {
                self.first_in = key;
            } else {
                let gap = t - ts_of(self.last_in);
                if productive(self.last_in, gap, settings.idle_after) {
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
    out.par_sort_unstable_by_key(|st| super::endpoint_order(st, &sessions[st.session as usize]));
    out
}

/// The running answers of every session, fed by the loader. Stops loading
/// at the first batch in which a session meets an event out of order.
pub struct RunningSink<D: DayParts = ()> {
    pub settings: Settings,
    /// What each thread starts a batch with to split day parts.
    pub starts: D::Starts,
    pub running: Vec<Running<D>>,
    /// A session met an event out of order: the answers are incomplete.
    pub unsorted: bool,
}

impl<D: DayParts> RunningSink<D> {
    pub fn new(settings: Settings, starts: D::Starts) -> Self {
        RunningSink {
            settings,
            starts,
            running: Vec::new(),
            unsorted: false,
        }
    }
}

impl<D: DayParts> EventSink for RunningSink<D> {
    fn push(&mut self, rows: &Rows<'_>) -> Flow {
        self.running.resize(rows.sessions, Running::default());
        let settings = &self.settings;
        let starts = &self.starts;
        // Each thread notes whether a session it updated met an event out
        // of order; no pass over all sessions per batch.
        let states = rows.by_session(
            &mut self.running,
            || (starts.clone(), false),
            |(starts, unsorted), r, k, f| {
                r.add(k, f, settings, starts);
                *unsorted |= r.unsorted;
            },
        );
        self.unsorted |= states.iter().any(|s| s.1);
        if self.unsorted {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// Many windows at once (a backfill's periods, SPEC 7.5): each session's
/// answer in each period it has events in, from one read. `windows` are
/// ascending and do not overlap; there may be time between them (a rerun
/// computes only the periods not done).
///
/// A session keeps one `Running` for the period its latest event is in.
/// Its events arrive in time order, so when one lands in a later period,
/// the current answer is done: it is marked as having events after its
/// window and set aside, and a fresh one starts for the new period, with
/// every earlier event counted as before that window. Each answer is then
/// exactly the one a single run over its window computes, but for the
/// `open` flag (whether the session has a logout anywhere), which is only
/// known at the end and is set then (`finish`).
pub struct PeriodsSink<D: DayParts = ()> {
    windows: Vec<Settings>,
    pub starts: D::Starts,
    current: Vec<Slot<D>>,
    /// Answers set aside: (session, period, answer).
    done: Vec<(u32, u32, Running<D>)>,
    pub unsorted: bool,
}

/// A session's current period and its answer there.
#[derive(Clone)]
struct Slot<D> {
    session: u32,
    period: u32,
    /// The session's events so far, in any window or none.
    seen: u32,
    running: Running<D>,
}

impl<D: DayParts> PeriodsSink<D> {
    pub fn new(windows: Vec<Settings>, starts: D::Starts) -> Self {
        assert!(!windows.is_empty(), "at least one window");
        PeriodsSink {
            windows,
            starts,
            current: Vec::new(),
            done: Vec::new(),
            unsorted: false,
        }
    }

    /// Per window, its sessions' answers by session index, with events
    /// inside the window only; `open` from the whole session.
    pub fn finish(self) -> Vec<Vec<(u32, Running<D>)>> {
        let mut out: Vec<Vec<(u32, Running<D>)>> = vec![Vec::new(); self.windows.len()];
        for (s, p, mut r) in self.done {
            r.logout = self.current[s as usize].running.logout;
            out[p as usize].push((s, r));
        }
        for slot in self.current {
            out[slot.period as usize].push((slot.session, slot.running));
        }
        for answers in &mut out {
            answers.retain(|(_, r)| r.inside > 0);
            answers.sort_unstable_by_key(|(s, _)| *s);
        }
        out
    }
}

/// The index of the window that holds `t`: the first one for times before
/// all, the last one for times after all.
fn window_of(windows: &[Settings], t: Micros) -> u32 {
    let after = windows.partition_point(|w| w.start.is_some_and(|s| s <= t));
    after.saturating_sub(1) as u32
}

impl<D: DayParts> EventSink for PeriodsSink<D> {
    fn push(&mut self, rows: &Rows<'_>) -> Flow {
        let known = self.current.len();
        self.current.extend((known..rows.sessions).map(|s| Slot {
            session: s as u32,
            period: 0,
            seen: 0,
            running: Running::default(),
        }));
        let windows = &self.windows;
        let starts = &self.starts;
        let states = rows.by_session(
            &mut self.current,
            || (starts.clone(), false, Vec::new()),
            |(starts, unsorted, done), slot, k, f| {
                let r = &mut slot.running;
                let t = ts_of(k);
                let past = windows[slot.period as usize].end.is_some_and(|e| t > e);
                // (An event out of order never moves on: it makes the
                // answer unsorted, and this pass is given up.)
                if past && k >= r.last {
                    let q = window_of(windows, t);
                    if q > slot.period {
                        // Every event so far is before the next window,
                        // those between the windows too.
                        let next = Running {
                            last: r.last,
                            before: slot.seen,
                            logout: r.logout,
                            foreground: r.foreground,
                            ..Running::default()
                        };
                        let mut finished = std::mem::replace(r, next);
                        finished.after = true;
                        if finished.inside > 0 {
                            done.push((slot.session, slot.period, finished));
                        }
                        slot.period = q;
                    }
                }
                r.add(k, f, &windows[slot.period as usize], starts);
                slot.seen += 1;
                *unsorted |= r.unsorted;
            },
        );
        for (_, unsorted, done) in states {
            self.unsorted |= unsorted;
            self.done.extend(done);
        }
        if self.unsorted {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}
