//! Kept events for logs whose sessions arrive out of order: each session's
//! packed keys in input order (an `EventSink`), then sorted per session in
//! parallel (a no-op check on time-ordered sessions), clipped and added up.

use super::span::productive_time;
use super::{SessionStats, Settings};
use crate::load::sink::{EventSink, Flow, Rows, SKIP};
use crate::model::{ts_of, Focus, Kind, SessionMeta, NO_FOCUS};
use rayon::prelude::*;

/// Each session's keys in input order, as loaded.
#[derive(Debug, Default)]
pub struct Stored {
    pub keys: Vec<Vec<i64>>,
    /// When kept (to cut sessions, SPEC 9.2): per event beside its key,
    /// its row's place in input order.
    pub seqs: Option<Vec<Vec<u64>>>,
    /// When the inputs have an `app` or `url` column: per event beside its
    /// key, its foreground cells (SPEC 13.1).
    pub focus: Option<Vec<Vec<Focus>>>,
}

impl EventSink for Stored {
    fn push(&mut self, rows: &Rows<'_>) -> Flow {
        self.keys.resize_with(rows.sessions, Vec::new);
        if rows.focus.is_some() && self.focus.is_none() {
            // The events before the first file with the columns gave none.
            self.focus = Some(self.keys.iter().map(|k| vec![NO_FOCUS; k.len()]).collect());
        }
        if let Some(focus) = &mut self.focus {
            focus.resize_with(rows.sessions, Vec::new);
            rows.by_session(focus, || (), |_, v, _, f| v.push(f));
        }
        match &mut self.seqs {
            None => {
                rows.by_session(&mut self.keys, || (), |_, v, k, _| v.push(k));
            }
            Some(seqs) => {
                seqs.resize_with(rows.sessions, Vec::new);
                for (&(local, keys), &seq) in rows.parts.iter().zip(&rows.seqs) {
                    for (i, (&g, &k)) in local.iter().zip(keys).enumerate() {
                        if g != SKIP {
                            self.keys[g as usize].push(k);
                            seqs[g as usize].push(seq + i as u64);
                        }
                    }
                }
            }
        }
        Flow::Continue
    }
}

/// Events grouped by session, each session's keys sorted by (timestamp,
/// kind, input order) (SPEC 2.2); with the foreground columns, each
/// event's cells beside its key.
#[derive(Debug, Default)]
pub struct Grouped {
    pub keys: Vec<Vec<i64>>,
    pub focus: Option<Vec<Vec<Focus>>>,
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

impl Grouped {
    /// From events in input order: per event its session index and key.
    pub fn from_rows(session: &[u32], key: &[i64], sessions: Vec<SessionMeta>) -> Grouped {
        let mut keys = vec![Vec::new(); sessions.len()];
        for (&s, &k) in session.iter().zip(key) {
            keys[s as usize].push(k);
        }
        group(
            Stored {
                keys,
                ..Stored::default()
            },
            sessions,
        )
    }
}

/// Sorts each session's events, in parallel; a no-op check on time-ordered logs.
pub fn group(stored: Stored, sessions: Vec<SessionMeta>) -> Grouped {
    let mut keys = stored.keys;
    keys.resize_with(sessions.len(), Vec::new);
    let mut focus = stored.focus;
    match &mut focus {
        // Events equal in time and kind are alike: their order needs no keeping.
        None => keys.par_iter_mut().for_each(|k| {
            if !k.is_sorted() {
                k.sort_unstable();
            }
        }),
        // Their foregrounds are not: a stable sort keeps input order among them.
        Some(focus) => {
            focus.resize_with(sessions.len(), Vec::new);
            keys.par_iter_mut().zip(focus).for_each(|(k, f)| {
                if !k.is_sorted() {
                    let mut both: Vec<(i64, Focus)> =
                        k.iter().copied().zip(f.iter().copied()).collect();
                    both.sort_by_key(|e| e.0);
                    (*k, *f) = both.into_iter().unzip();
                }
            });
        }
    }
    Grouped {
        keys,
        focus,
        sessions,
    }
}

/// The range of a session's sorted keys inside the window; `None` when
/// no event is inside it.
pub fn clip(keys: &[i64], settings: &Settings) -> Option<(usize, usize)> {
    let lo = settings
        .start
        .map_or(0, |t| keys.partition_point(|&k| ts_of(k) < t));
    let hi = settings
        .end
        .map_or(keys.len(), |t| keys.partition_point(|&k| ts_of(k) <= t));
    (lo < hi).then_some((lo, hi))
}

/// Clips one session to the window; `None` when no event is inside it.
pub fn session_stats(g: &Grouped, s: usize, settings: &Settings) -> Option<SessionStats> {
    let keys = g.session_keys(s);
    let (lo, hi) = clip(keys, settings)?;
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

/// Every session with at least one event in the window, ordered by clipped
/// login, then session id (SPEC 3.2-3.3).
pub fn select(g: &Grouped, settings: &Settings) -> Vec<SessionStats> {
    let mut out: Vec<SessionStats> = (0..g.sessions.len())
        .into_par_iter()
        .filter_map(|s| session_stats(g, s, settings))
        .collect();
    out.par_sort_unstable_by_key(|st| super::endpoint_order(st, &g.sessions[st.session as usize]));
    out
}

/// `select` for each of many windows (ascending, not overlapping), each
/// session clipped only to the windows its events reach: a year of days
/// over a million sessions is not 365 passes over every session.
pub fn select_each(g: &Grouped, windows: &[Settings]) -> Vec<Vec<SessionStats>> {
    let touched: Vec<Vec<(u32, SessionStats)>> = (0..g.sessions.len())
        .into_par_iter()
        .fold(Vec::new, |mut found: Vec<(u32, SessionStats)>, s| {
            let keys = g.session_keys(s);
            if let (Some(&first), Some(&last)) = (keys.first(), keys.last()) {
                // The windows from the last one starting at or before the
                // first event (it may still hold it), up to the last event.
                let from = windows
                    .partition_point(|w| w.start.is_some_and(|t| t <= ts_of(first)))
                    .saturating_sub(1);
                let to = windows.partition_point(|w| w.start.is_none_or(|t| t <= ts_of(last)));
                for (w, settings) in windows.iter().enumerate().take(to).skip(from) {
                    if let Some(st) = session_stats(g, s, settings) {
                        found.push((w as u32, st));
                    }
                }
            }
            found
        })
        .collect();
    let mut out: Vec<Vec<SessionStats>> = vec![Vec::new(); windows.len()];
    for (w, st) in touched.into_iter().flatten() {
        out[w as usize].push(st);
    }
    out.par_iter_mut().for_each(|sel| {
        sel.sort_unstable_by_key(|st| super::endpoint_order(st, &g.sessions[st.session as usize]));
    });
    out
}
