//! Daily rollups (SPEC 5.2): each selected session's clipped spans split at
//! local midnight in the zone, then added up per (day, user) and (day,
//! client). A session's day parts add up to its totals exactly, since each
//! span goes whole to one day or is cut in two (or more) exact parts. The
//! same spans, cut at local hours, give the hourly rollups (hours.rs), in
//! the same pass.

mod days;

pub use days::*;
pub mod findings;
pub mod focus;
pub mod hours;

use crate::kernel::span::productive;
use crate::kernel::{DayParts, Grouped, SessionStats};
use crate::model::{follow, ts_of, Focus, SessionMeta, NO_FOCUS};
pub use crate::time::{day_start, local_day};
use crate::time::{Micros, Zone};
use findings::{OutsidePart, RunningOutside, WorkHours};
use hours::{HourCuts, HourPart};
use rayon::prelude::*;

/// What the rollups keep of one selected session: its day parts, its hour
/// parts and its productive time outside work hours per local date, each
/// in time order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionParts {
    pub days: Vec<DayPart>,
    pub hours: Vec<HourPart>,
    pub outside: Vec<OutsidePart>,
    /// Productive time with a foreground (SPEC 13), per hour block.
    pub focus: Vec<focus::FocusPart>,
}

/// What a run computes per selected session besides its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// Nothing (pages).
    None,
    /// Day and hour parts (report).
    All,
    /// Hour parts alone (User Productivity).
    Hours,
}

/// One row of `daily_user` or `daily_client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyRow<K> {
    pub key: K,
    /// Sessions with an event or a span part in the day.
    pub sessions: i64,
    /// Those sessions' day parts, added up.
    pub part: DayPart,
}

/// User key: (user_id, user_name, the user's text key if ids are keys);
/// client key: (client_guid, client_name).
pub type UserKey<'a> = (i32, &'a str, Option<&'a str>);
pub type ClientKey<'a> = (&'a str, &'a str);

/// One local day's time over every user: a `daily_user` day added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTotal {
    pub day: i64,
    pub duration: Micros,
    pub productive: Micros,
    pub idle: Micros,
}

/// The days of `daily_user`'s rows (ordered by day), each added up.
pub fn day_totals(rows: &[DailyRow<UserKey<'_>>]) -> Vec<DayTotal> {
    rows.chunk_by(|a, b| a.part.day == b.part.day)
        .map(|day| DayTotal {
            day: day[0].part.day,
            duration: day.iter().map(|r| r.part.duration).sum(),
            productive: day.iter().map(|r| r.part.productive).sum(),
            idle: day.iter().map(|r| r.part.idle).sum(),
        })
        .collect()
}

/// One user's selected sessions added up over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserTotal<'a> {
    pub user: UserKey<'a>,
    pub sessions: i64,
    pub duration: Micros,
    pub productive: Micros,
    pub idle: Micros,
}

/// Every user of the selection with its sessions' totals, most productive
/// time first, then by name and id.
pub fn user_totals<'a>(metas: &'a [SessionMeta], selection: &[SessionStats]) -> Vec<UserTotal<'a>> {
    let keys: Vec<UserKey<'a>> = selection
        .iter()
        .map(|st| {
            let m = &metas[st.session as usize];
            (m.user_id, m.user_name.as_str(), m.user_key.as_deref())
        })
        .collect();
    let mut users: Vec<UserTotal<'a>> = hours::Users::new(&keys)
        .by_id
        .into_iter()
        .map(|user| UserTotal {
            user,
            sessions: 0,
            duration: 0,
            productive: 0,
            idle: 0,
        })
        .collect();
    for (key, st) in keys.iter().zip(selection) {
        let i = users.binary_search_by(|u| u.user.cmp(key)).expect("a user");
        let u = &mut users[i];
        u.sessions += 1;
        u.duration += st.duration();
        u.productive += st.productive;
        u.idle += st.idle();
    }
    users.sort_by(|a, b| {
        (b.productive, a.user.1, a.user.0, a.user.2).cmp(&(
            a.productive,
            b.user.1,
            b.user.0,
            b.user.2,
        ))
    });
    users
}

/// One daily table: the day parts added up per (day, key of the session).
fn table<'a, K: Ord + Copy + Send + Sync>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
    key: impl Fn(&'a SessionMeta) -> K,
) -> Vec<DailyRow<K>> {
    // Sorted (day, key, part) triples, added up run by run: a third of the
    // memory a map of rows takes, and faster.
    let mut all: Vec<(i64, K, &DayPart)> =
        Vec::with_capacity(parts.iter().map(|p| p.days.len()).sum());
    for (st, ps) in selection.iter().zip(parts) {
        let k = key(&metas[st.session as usize]);
        all.extend(ps.days.iter().map(|p| (p.day, k, p)));
    }
    all.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    // Rows sized exactly: grown by doubling, they could take twice the memory.
    let runs = all
        .par_windows(2)
        .filter(|w| (w[0].0, w[0].1) != (w[1].0, w[1].1))
        .count();
    let mut rows: Vec<DailyRow<K>> = Vec::with_capacity(runs + 1);
    for (day, key, p) in all {
        match rows.last_mut() {
            Some(row) if row.part.day == day && row.key == key => {}
            _ => rows.push(DailyRow {
                key,
                sessions: 0,
                part: DayPart {
                    day,
                    ..Default::default()
                },
            }),
        }
        let row = rows.last_mut().expect("pushed");
        row.sessions += 1;
        row.part.absorb(p);
    }
    rows
}

/// The daily user table, ordered by day, then key: day parts added up per
/// (day, user); `parts[i]` belongs to `selection[i]`, whose attributes are
/// `metas[selection[i].session]`. Each table is built on its own so that
/// memory holds one at a time.
pub fn daily_users<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
) -> Vec<DailyRow<UserKey<'a>>> {
    table(metas, selection, parts, |m| {
        (m.user_id, m.user_name.as_str(), m.user_key.as_deref())
    })
}

/// The daily client table; see `daily_users`.
pub fn daily_clients<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
) -> Vec<DailyRow<ClientKey<'a>>> {
    table(metas, selection, parts, |m| {
        (m.client_guid.as_str(), m.client_name.as_str())
    })
}
