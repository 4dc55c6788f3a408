//! Hourly rollups (SPEC 8.2, 8.3): each selected session's clipped spans cut
//! at every local hour start and every change of the zone's offset, then
//! added up per (local date, local hour, user). The cut is exact: each span
//! goes whole to one hour or into parts that add up to it, so an hour's
//! rows summed over a day equal that day's row of `daily_user`.

use super::{SessionParts, UserKey};
use crate::kernel::span::productive;
use crate::kernel::{DayParts, Grouped, SessionStats};
use crate::model::{ts_of, Focus, SessionMeta};
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

    /// The zone's offset at `t`, in microseconds.
    pub(super) fn offset_us(&self, t: Micros) -> Micros {
        i64::from(self.zone.offset_at(t)) * crate::time::US_PER_SEC
    }

    /// The zone's offset at `t`, in seconds.
    pub(crate) fn offset_secs(&self, t: Micros) -> i32 {
        self.zone.offset_at(t)
    }

    pub(crate) fn block(&mut self, t: Micros) -> HourBlock {
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
    /// The parts before the last one.
    hours: Vec<HourPart>,
    /// The last part, inline: nearly every event adds to it, and the
    /// session's running answer is then all in one place.
    last: Option<HourPart>,
    /// The end of the block of the last part: a span that ends by then
    /// (nearly every one) goes whole into that part.
    end: Micros,
}

impl RunningHours {
    /// The parts, in time order; leaves none behind.
    pub fn take(&mut self) -> SessionParts {
        let mut hours = std::mem::take(&mut self.hours);
        hours.extend(self.last.take());
        SessionParts {
            hours,
            ..SessionParts::default()
        }
    }

    /// Adds `[from, to)` from a new block on, with the last part back in
    /// the list while `add_span` merges into it.
    fn add_from_new_block(
        &mut self,
        from: Micros,
        to: Micros,
        productive: bool,
        cuts: &mut HourCuts,
    ) {
        self.hours.extend(self.last.take());
        self.end = add_span(&mut self.hours, from, to, productive, cuts);
        self.last = self.hours.pop();
    }
}

impl DayParts for RunningHours {
    type Starts = HourCuts;

    #[inline]
    fn add_event(
        &mut self,
        prev: Option<i64>,
        key: i64,
        _: Focus,
        idle_after: Option<Micros>,
        cuts: &mut HourCuts,
    ) {
        if let Some(prev) = prev {
            let (from, to) = (ts_of(prev), ts_of(key));
            let productive = productive(prev, to - from, idle_after);
            match self.last.as_mut() {
                // Events arrive in time order: `from` is in the last part's block.
                Some(part) if to <= self.end => {
                    if productive {
                        part.productive += to - from;
                    } else {
                        part.idle += to - from;
                    }
                }
                _ if to == from => {}
                Some(part) if from < self.end => {
                    // Up to its block's end in the last part; the rest
                    // from the next block, which the spans of other
                    // sessions met too (the one `cuts` keeps).
                    let piece = self.end - from;
                    if productive {
                        part.productive += piece;
                    } else {
                        part.idle += piece;
                    }
                    self.add_from_new_block(self.end, to, productive, cuts);
                }
                _ => self.add_from_new_block(from, to, productive, cuts),
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
/// time, since no part is empty. No string is compared per part: parts go
/// to a grid of (hour, user rank) cells, or get one integer key to sort.
pub fn hourly_users<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
) -> Vec<HourRow<'a>> {
    table(metas, selection, parts, false)
}

/// User Productivity's rows straight from the parts, when the hourly table
/// is not needed: the rows of `productivity(&hourly_users(..))` with their
/// productive time (the idle time is not kept: 0), the parts without
/// productive time left out first.
pub fn productivity_rows<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
) -> Vec<HourRow<'a>> {
    table(metas, selection, parts, true)
}

/// At most this many (hour, user) cells per hour part (and a few more) are
/// added up in a grid; a sparser table sorts its parts instead.
const GRID_CELLS_PER_PART: usize = 4;

/// The hour parts added up per (day, hour, user), by day, hour and then
/// user (id, name, key) or, `by_name`, user (name, id) with only
/// productive time.
fn table<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
    by_name: bool,
) -> Vec<HourRow<'a>> {
    table_with(metas, selection, parts, by_name, |parts| {
        GRID_CELLS_PER_PART
            .saturating_mul(parts)
            .saturating_add(1024)
    })
}

/// The users of a table and their two orders.
pub(super) struct Users<'a> {
    /// In (id, name, key) order: a user's index is its rank in it.
    pub(super) by_id: Vec<UserKey<'a>>,
    /// `names[r]`: the user of rank r in (name, id) order.
    names: Vec<u32>,
    /// The inverse of `names`.
    name_rank: Vec<u32>,
}

impl<'a> Users<'a> {
    /// The distinct users of `keys`. Sorted by user id first, an integer
    /// sort: comparing keys would compare each user's name with itself
    /// once per session. An id nearly always has one name.
    pub(super) fn new(keys: &[UserKey<'a>]) -> Self {
        let mut order: Vec<(i32, u32)> = keys
            .par_iter()
            .enumerate()
            .map(|(i, k)| (k.0, i as u32))
            .collect();
        order.par_sort_unstable();
        let by_id: Vec<UserKey<'a>> = order
            .par_chunk_by(|a, b| a.0 == b.0)
            .flat_map_iter(|run| {
                let first = keys[run[0].1 as usize];
                let mut distinct = vec![first];
                if run.iter().any(|&(_, i)| keys[i as usize] != first) {
                    distinct = run.iter().map(|&(_, i)| keys[i as usize]).collect();
                    distinct.sort_unstable();
                    distinct.dedup();
                }
                distinct
            })
            .collect();
        let mut names: Vec<u32> = (0..by_id.len() as u32).collect();
        names.par_sort_unstable_by_key(|&i| (by_id[i as usize].1, by_id[i as usize].0));
        let mut name_rank = vec![0u32; by_id.len()];
        for (rank, &i) in names.iter().enumerate() {
            name_rank[i as usize] = rank as u32;
        }
        Users {
            by_id,
            names,
            name_rank,
        }
    }

    /// The row of `user`'s column `column` in the table's user order.
    fn row(
        &self,
        column: u32,
        by_name: bool,
        day: i64,
        hour: u8,
        sums: (Micros, Micros),
    ) -> HourRow<'a> {
        let user = if by_name {
            self.names[column as usize] as usize
        } else {
            column as usize
        };
        HourRow {
            day,
            hour,
            user: self.by_id[user],
            productive: sums.0,
            idle: sums.1,
            by_name: self.name_rank[user],
        }
    }
}

/// `table`, adding up in a grid of (hour, user) cells when it has at most
/// `max_cells(parts)` cells, else by sorting the parts.
fn table_with<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
    by_name: bool,
    max_cells: fn(usize) -> usize,
) -> Vec<HourRow<'a>> {
    let user_of = |st: &SessionStats| -> UserKey<'a> {
        let m = &metas[st.session as usize];
        (m.user_id, m.user_name.as_str(), m.user_key.as_deref())
    };
    let keys: Vec<UserKey<'a>> = selection.par_iter().map(user_of).collect();
    let users = Users::new(&keys);
    // Each session's column: its user's rank in the table's user order.
    let columns: Vec<u32> = keys
        .par_iter()
        .map(|key| {
            let user = users.by_id.binary_search(key).expect("a user");
            if by_name {
                users.name_rank[user]
            } else {
                user as u32
            }
        })
        .collect();
    // Parts are in time order: a session's first and last are its bounds.
    let bounds = parts
        .iter()
        .filter_map(|p| Some((p.hours.first()?.day, p.hours.last()?.day)))
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
    let Some((day0, day1)) = bounds else {
        return Vec::new();
    };
    let count: usize = parts.iter().map(|p| p.hours.len()).sum();
    let width = users.by_id.len();
    let cells = usize::try_from(day1 - day0 + 1)
        .ok()
        .and_then(|days| days.checked_mul(24 * width))
        .filter(|&c| c <= max_cells(count));
    let kept = |h: &HourPart| !by_name || h.productive > 0;
    crate::trace::stage(&format!(
        "{count} hour parts, grid {cells:?}, {width} users"
    ));
    if let Some(cells) = cells {
        // A grid: no sort, and the cells come out in the table's order.
        // User Productivity needs no idle time, so keeps none.
        let mut productive: Vec<Micros> = vec![0; cells];
        let mut idle: Vec<Micros> = vec![0; if by_name { 0 } else { cells }];
        for (&column, p) in columns.iter().zip(parts) {
            for h in p.hours.iter().filter(|h| kept(h)) {
                let hour = (h.day - day0) as usize * 24 + usize::from(h.hour);
                let cell = hour * width + column as usize;
                productive[cell] += h.productive;
                if !by_name {
                    idle[cell] += h.idle;
                }
            }
        }
        // No part is empty: a cell with no time had no part. The rows are
        // counted first, so that they are written once, in place.
        let idle_at = |cell: usize| if by_name { 0 } else { idle[cell] };
        let used = (0..cells)
            .into_par_iter()
            .filter(|&cell| productive[cell] + idle_at(cell) > 0)
            .count();
        let mut rows = Vec::with_capacity(used);
        for (hour, p) in productive.chunks(width).enumerate() {
            let at = hour * width;
            let (day, hour) = (day0 + (hour / 24) as i64, (hour % 24) as u8);
            for (c, &time) in p.iter().enumerate() {
                let sums = (time, idle_at(at + c));
                if sums.0 + sums.1 > 0 {
                    rows.push(users.row(c as u32, by_name, day, hour, sums));
                }
            }
        }
        return rows;
    }
    // Keys: day (from day0; years 1-9999 fit in 22 bits) << 37 | hour << 32 | column.
    let mut all: Vec<(u64, Micros, Micros)> = columns
        .par_iter()
        .zip(parts)
        .flat_map_iter(|(&column, p)| {
            p.hours.iter().filter(move |h| kept(h)).map(move |h| {
                let key =
                    ((h.day - day0) as u64) << 37 | u64::from(h.hour) << 32 | u64::from(column);
                (key, h.productive, if by_name { 0 } else { h.idle })
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
        let (day, hour) = (day0 + (key >> 37) as i64, (key >> 32 & 31) as u8);
        rows.push(users.row(key as u32, by_name, day, hour, (productive, idle)));
    }
    rows
}

/// User Productivity's rows (SPEC 8.2) from `hourly_users`' table: the
/// indices of its rows with productive time, ordered by date, hour, user
/// name (code points), then user id. Indices, not rows: only each hour's
/// rows change places, and a long window has hundreds of thousands.
pub fn productivity(hourly: &[HourRow<'_>]) -> Vec<u32> {
    // Per hour, (rank by name, row) as one integer: an integer sort.
    let mut order: Vec<u64> = hourly
        .iter()
        .enumerate()
        .filter(|(_, r)| r.productive > 0)
        .map(|(i, r)| u64::from(r.by_name) << 32 | i as u64)
        .collect();
    let hour_of = |k: &u64| {
        let r = &hourly[*k as u32 as usize];
        (r.day, r.hour)
    };
    let mut hours: Vec<&mut [u64]> = order
        .chunk_by_mut(|a, b| hour_of(a) == hour_of(b))
        .collect();
    hours.par_iter_mut().for_each(|h| h.sort_unstable());
    order.into_iter().map(|k| k as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The grid and the sort give the same rows, in both orders, for users
    /// whose names and ids disagree in order and who share names.
    #[test]
    fn the_grid_and_the_sort_add_up_alike() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        let names = ["bo", "al", "Zed", "al", "émile", "bo"];
        let metas: Vec<SessionMeta> = (0..40)
            .map(|s| {
                let u = s % names.len();
                SessionMeta {
                    session_id: s as i32,
                    user_id: (names.len() - u) as i32 * 7,
                    user_name: names[u].into(),
                    ..SessionMeta::default()
                }
            })
            .collect();
        for case in 0..200 {
            let mut selection = Vec::new();
            let mut parts = Vec::new();
            for s in 0..rng.random_range(0..40u32) {
                selection.push(SessionStats {
                    session: s,
                    login: 0,
                    logout: 0,
                    productive: 0,
                    events: 0,
                    open: false,
                    clipped_start: false,
                    clipped_end: false,
                    lo: 0,
                    hi: 0,
                });
                let mut at = rng.random_range(0..24 * 5i64);
                let hours: Vec<HourPart> = (0..rng.random_range(0..6))
                    .map(|_| {
                        at += rng.random_range(1..30);
                        // some parts with no productive time, some with no idle time
                        let productive = rng.random_range(0..3) * rng.random_range(1..1000i64);
                        let idle = if productive == 0 { 1 } else { 0 } + rng.random_range(0..2) * 7;
                        HourPart {
                            day: 18_000 + at / 24,
                            hour: (at % 24) as u8,
                            productive,
                            idle,
                        }
                    })
                    .collect();
                parts.push(SessionParts {
                    hours,
                    ..SessionParts::default()
                });
            }
            for by_name in [false, true] {
                let grid = table_with(&metas, &selection, &parts, by_name, |_| usize::MAX);
                let sort = table_with(&metas, &selection, &parts, by_name, |_| 0);
                assert_eq!(grid, sort, "case {case}, by name {by_name}");
                // every kept part is in its row: the sums agree
                let kept = parts
                    .iter()
                    .flat_map(|p| &p.hours)
                    .filter(|h| !by_name || h.productive > 0);
                let total: Micros = kept
                    .map(|h| h.productive + if by_name { 0 } else { h.idle })
                    .sum();
                assert_eq!(
                    total,
                    grid.iter().map(|r| r.productive + r.idle).sum::<Micros>()
                );
                // one row per (hour, user), in the table's order
                let order = |r: &HourRow<'_>| {
                    let name = if by_name {
                        r.user.1.to_owned()
                    } else {
                        String::new()
                    };
                    (r.day, r.hour, name, r.user.0)
                };
                assert!(
                    grid.windows(2).all(|w| order(&w[0]) < order(&w[1])),
                    "case {case}"
                );
            }
        }
    }
}
