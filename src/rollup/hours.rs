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
/// order), cut at hour blocks; returns the end of the block its last piece
/// went to (`to` for an empty span).
#[inline]
pub fn add_span(
    parts: &mut Vec<HourPart>,
    from: Micros,
    to: Micros,
    productive: bool,
    cuts: &mut HourCuts,
) -> Micros {
    let mut at = from;
    let mut end = to;
    while at < to {
        let b = cuts.block(at);
        end = b.end;
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
    end
}

/// Hour parts alone, as a running answer keeps them (`productivity`, which
/// needs no day parts): the same cut as `RunningDays` makes beside its days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunningHours {
    hours: Vec<HourPart>,
    /// The end of the block of the last part: a span that ends by then
    /// (nearly every one) goes whole into that part.
    end: Micros,
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
            match self.hours.last_mut() {
                // Events arrive in time order: `from` is in the last part's block.
                Some(part) if to <= self.end => {
                    if productive {
                        part.productive += to - from;
                    } else {
                        part.idle += to - from;
                    }
                }
                _ if to == from => {}
                _ => self.end = add_span(&mut self.hours, from, to, productive, cuts),
            }
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
    super::stored_parts(
        g,
        selection,
        HourCuts::new(*zone),
        idle_after,
        RunningHours::take,
    )
}

/// One row of `hourly_user` (and, with productive time, of User Productivity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRow<'a> {
    pub day: i64,
    pub hour: u8,
    pub user: UserKey<'a>,
    pub productive: Micros,
    pub idle: Micros,
    /// The user's rank in (user_name, user_id) order among the table's
    /// users: User Productivity's order within an hour.
    pub by_name: u32,
}

/// The hourly user table (SPEC 8.3): the hour parts added up per (day,
/// hour, user), ordered by day, hour, user_id, user_name. Every row has
/// time, since no part is empty.
///
/// Each part gets one integer key, (day, hour, the user's rank in that
/// order), so that a sort of integers groups and orders them: no string is
/// compared per part.
pub fn hourly_users<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
) -> Vec<HourRow<'a>> {
    table(metas, selection, parts, false)
}

/// User Productivity's rows straight from the parts, when the hourly table
/// is not needed: the same rows as `productivity(&hourly_users(..))`, in
/// one sort, the parts without productive time left out before it.
pub fn productivity_rows<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
) -> Vec<HourRow<'a>> {
    table(metas, selection, parts, true)
}

/// The hour parts added up per (day, hour, user), by day, hour and then
/// user (id, name, key) or, `by_name`, user (name, id) with only
/// productive time.
fn table<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
    by_name: bool,
) -> Vec<HourRow<'a>> {
    let user_of = |st: &SessionStats| -> UserKey<'a> {
        let m = &metas[st.session as usize];
        (m.user_id, m.user_name.as_str(), m.user_key.as_deref())
    };
    let mut users: Vec<UserKey<'a>> = selection.par_iter().map(user_of).collect();
    users.par_sort_unstable();
    users.dedup();
    // names[r]: the user of rank r in (name, id) order; name_rank the inverse.
    let mut names: Vec<u32> = (0..users.len() as u32).collect();
    names.par_sort_unstable_by_key(|&i| (users[i as usize].1, users[i as usize].0));
    let mut name_rank = vec![0u32; users.len()];
    for (rank, &i) in names.iter().enumerate() {
        name_rank[i as usize] = rank as u32;
    }
    let Some(day0) = parts
        .iter()
        .flat_map(|p| p.hours.first())
        .map(|h| h.day)
        .min()
    else {
        return Vec::new();
    };
    // Keys: day (from day0; years 1-9999 fit in 22 bits) << 37 | hour << 32 | rank.
    let mut all: Vec<(u64, Micros, Micros)> = selection
        .par_iter()
        .zip(parts)
        .flat_map_iter(|(st, p)| {
            let user = users.binary_search(&user_of(st)).expect("a user");
            let rank = u64::from(if by_name {
                name_rank[user]
            } else {
                user as u32
            });
            p.hours
                .iter()
                .filter(move |h| !by_name || h.productive > 0)
                .map(move |h| {
                    let key = ((h.day - day0) as u64) << 37 | u64::from(h.hour) << 32 | rank;
                    (key, h.productive, h.idle)
                })
        })
        .collect();
    all.par_sort_unstable_by_key(|r| r.0);
    let mut rows: Vec<HourRow<'a>> = Vec::new();
    let mut last = u64::MAX;
    for (key, productive, idle) in all {
        if key == last {
            let row = rows.last_mut().expect("a row");
            row.productive += productive;
            row.idle += idle;
            continue;
        }
        last = key;
        let rank = (key & u64::from(u32::MAX)) as usize;
        let user = if by_name { names[rank] as usize } else { rank };
        rows.push(HourRow {
            day: day0 + (key >> 37) as i64,
            hour: (key >> 32 & 31) as u8,
            user: users[user],
            productive,
            idle,
            by_name: name_rank[user],
        });
    }
    rows
}

/// User Productivity's rows (SPEC 8.2) from `hourly_users`' table: its rows with productive
/// time, ordered by date, hour, user name (code points), then user id.
pub fn productivity<'a>(hourly: &[HourRow<'a>]) -> Vec<HourRow<'a>> {
    let mut rows: Vec<HourRow<'a>> = hourly
        .iter()
        .filter(|r| r.productive > 0)
        .copied()
        .collect();
    // Already by day and hour: only each hour's rows change places.
    let mut hours: Vec<&mut [HourRow<'a>]> = rows
        .chunk_by_mut(|a, b| (a.day, a.hour) == (b.day, b.hour))
        .collect();
    hours
        .par_iter_mut()
        .for_each(|h| h.sort_unstable_by_key(|r| r.by_name));
    rows
}
