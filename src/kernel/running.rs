//! Each session's answer computed while loading, for logs whose sessions'
//! events arrive in (time, kind) order: an `EventSink` that keeps, per
//! session, a `Running` answer instead of its events.

use super::span::productive;
use super::{SessionStats, Settings};
use crate::load::sink::{EventSink, Flow, Rows};
use crate::model::{ts_of, Kind, SessionMeta};
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
    pub days: D,
}

/// Day parts as a running answer keeps them (the rollups implement it).
pub trait DayParts: Default + Clone + Send + Sync {
    /// What finding day edges needs, one per thread (for example the zone
    /// and the day starts met so far).
    type Starts: Clone + Send + Sync;
    /// Adds an event inside the window after `prev`, the one before it.
    fn add_event(
        &mut self,
        prev: Option<i64>,
        key: i64,
        idle_after: Option<Micros>,
        starts: &mut Self::Starts,
    );
}

impl DayParts for () {
    type Starts = ();
    #[inline]
    fn add_event(&mut self, _: Option<i64>, _: i64, _: Option<Micros>, _: &mut ()) {}
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
    /// Adds the next event of the session, to its day parts too.
    #[inline]
    pub fn add(&mut self, key: i64, settings: &Settings, starts: &mut D::Starts) {
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
    out.par_sort_unstable_by_key(|st| (st.login, sessions[st.session as usize].session_id));
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
            |(starts, unsorted), r, k| {
                r.add(k, settings, starts);
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
