//! Hourly rollups (SPEC 8.2, 8.3): each selected session's clipped spans cut
//! at every local hour start and every change of the zone's offset, then
//! added up per (local date, local hour, user). The cut is exact: each span
//! goes whole to one hour or into parts that add up to it, so an hour's
//! rows summed over a day equal that day's row of `daily_user`.

use super::{SessionParts, UserKey};
use crate::kernel::span::productive;
use crate::kernel::{DayParts, Grouped, SessionStats};
use crate::model::{ts_of, SessionMeta};
use crate::time::{HourBlock, Micros, Zone};
use rayon::prelude::*;

/// One session's productive and idle time in one local (date, hour). A
/// repeated hour (clocks turned back) is one part with both runs in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HourPart {
    /// Local day number.
    pub day: i64,
    /// Local hour, 0-23.
    pub hour: u8,
    pub productive: Micros,
    pub idle: Micros,
}

/// The hour block met last, so that a session's next span, nearly always in
/// the same hour, costs two comparisons; one per thread.
#[derive(Debug, Clone, Copy)]
pub struct HourCuts {
    zone: Zone,
    block: Option<HourBlock>,
}

impl HourCuts {
    pub fn new(zone: Zone) -> Self {
        HourCuts { zone, block: None }
    }

    fn block(&mut self, t: Micros) -> HourBlock {
        match self.block {
            Some(b) if b.holds(t) => b,
            _ => *self.block.insert(HourBlock::at(&self.zone, t)),
        }
    }
}

/// Adds the span `[from, to)` to a session's hour parts (kept in time
/// order), cut at hour blocks.
#[inline]
pub fn add_span(
    parts: &mut Vec<HourPart>,
    from: Micros,
    to: Micros,
    productive: bool,
    cuts: &mut HourCuts,
) {
    let mut at = from;
    while at < to {
        let b = cuts.block(at);
        let cut = to.min(b.end);
        let piece = cut - at;
        let part = match parts.last_mut() {
            Some(p) if p.day == b.day && p.hour == b.hour => p,
            _ => {
                parts.push(HourPart {
                    day: b.day,
                    hour: b.hour,
                    ..HourPart::default()
                });
                parts.last_mut().expect("pushed")
            }
        };
        if productive {
            part.productive += piece;
        } else {
            part.idle += piece;
        }
        at = cut;
    }
}

/// Hour parts alone, as a running answer keeps them (`productivity`, which
/// needs no day parts): the same cut as `RunningDays` makes beside its days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunningHours {
    hours: Vec<HourPart>,
}

impl RunningHours {
    /// The parts, in time order; leaves none behind.
    pub fn take(&mut self) -> SessionParts {
        SessionParts {
            days: Vec::new(),
            hours: std::mem::take(&mut self.hours),
        }
    }
}

impl DayParts for RunningHours {
    type Starts = HourCuts;

    #[inline]
    fn add_event(
        &mut self,
        prev: Option<i64>,
        key: i64,
        idle_after: Option<Micros>,
        cuts: &mut HourCuts,
    ) {
        if let Some(prev) = prev {
            let (from, to) = (ts_of(prev), ts_of(key));
            let productive = productive(prev, to - from, idle_after);
            add_span(&mut self.hours, from, to, productive, cuts);
        }
    }
}

/// Each selected session's hour parts alone, in selection order, from its
/// sorted events in the window.
pub fn hour_parts(
    g: &Grouped,
    selection: &[SessionStats],
    zone: &Zone,
    idle_after: Option<Micros>,
) -> Vec<SessionParts> {
    selection
        .par_iter()
        .map_init(
            || HourCuts::new(*zone),
            |cuts, st| {
                let mut running = RunningHours::default();
                let mut prev = None;
                for &k in g.window(st) {
                    running.add_event(prev, k, idle_after, cuts);
                    prev = Some(k);
                }
                running.take()
            },
        )
        .collect()
}

/// One row of `hourly_user` (and, with productive time, of User Productivity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRow<'a> {
    pub day: i64,
    pub hour: u8,
    pub user: UserKey<'a>,
    pub productive: Micros,
    pub idle: Micros,
}

/// The hourly user table (SPEC 8.3): the hour parts added up per (day,
/// hour, user), ordered by day, hour, user_id, user_name. Every row has
/// time, since no part is empty.
pub fn hourly_users<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
) -> Vec<HourRow<'a>> {
    let mut all: Vec<HourRow<'a>> = selection
        .par_iter()
        .zip(parts)
        .flat_map_iter(|(st, p)| {
            let m = &metas[st.session as usize];
            let user: UserKey<'a> = (m.user_id, m.user_name.as_str(), m.user_key.as_deref());
            p.hours.iter().map(move |h| HourRow {
                day: h.day,
                hour: h.hour,
                user,
                productive: h.productive,
                idle: h.idle,
            })
        })
        .collect();
    all.par_sort_unstable_by(|a, b| (a.day, a.hour, a.user).cmp(&(b.day, b.hour, b.user)));
    let mut rows: Vec<HourRow<'a>> = Vec::new();
    for r in all {
        match rows.last_mut() {
            Some(last) if (last.day, last.hour, last.user) == (r.day, r.hour, r.user) => {
                last.productive += r.productive;
                last.idle += r.idle;
            }
            _ => rows.push(r),
        }
    }
    rows
}

/// User Productivity's rows (SPEC 8.2): the hourly rows with productive
/// time, ordered by date, hour, user name (code points), then user id.
pub fn productivity<'a>(hourly: &[HourRow<'a>]) -> Vec<HourRow<'a>> {
    let mut rows: Vec<HourRow<'a>> = hourly
        .iter()
        .filter(|r| r.productive > 0)
        .copied()
        .collect();
    rows.sort_unstable_by(|a, b| {
        (a.day, a.hour, a.user.1, a.user.0).cmp(&(b.day, b.hour, b.user.1, b.user.0))
    });
    rows
}
