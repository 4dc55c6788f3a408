//! Findings (SPEC 10.2): what a compliance reader acts on, one row per
//! finding over the selected sessions after clipping. `open`, `long`,
//! `idle_share` and `concurrent` come from the sessions' answers;
//! `after_hours` from each session's productive time outside work hours,
//! cut in the same pass as the day and hour parts (`RunningOutside`).

use super::hours::HourCuts;
use crate::error::BadValue;
use crate::kernel::SessionStats;
use crate::model::SessionMeta;
use crate::time::{parse_idle_after, Micros, US_PER_DAY, US_PER_MIN};
use rayon::prelude::*;

/// Work hours: a local time-of-day range on some weekdays (`--work-hours`,
/// `--work-days`). An instant is inside when its local date is a work day
/// and its local time of day is in `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkHours {
    /// Microseconds after the local day's wall-clock midnight.
    pub start: Micros,
    pub end: Micros,
    /// Monday first.
    pub days: [bool; 7],
}

impl Default for WorkHours {
    /// 08:00-18:00, Monday to Friday.
    fn default() -> Self {
        WorkHours {
            start: 8 * 60 * US_PER_MIN,
            end: 18 * 60 * US_PER_MIN,
            days: [true, true, true, true, true, false, false],
        }
    }
}

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WorkHours {
    /// `HH:MM-HH:MM` with 00:00 <= start < end <= 24:00.
    pub fn parse_hours(text: &str) -> Result<(Micros, Micros), BadValue> {
        let clock = |t: &str| -> Option<Micros> {
            let (h, m) = t.split_once(':')?;
            let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
            if !ok(h) || !ok(m) {
                return None;
            }
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some((h * 60 + m) * US_PER_MIN)
        };
        let rule = "must be HH:MM-HH:MM with 00:00 <= start < end <= 24:00";
        let (a, b) = text.split_once('-').ok_or(rule)?;
        match (clock(a), clock(b)) {
            (Some(a), Some(b)) if a < b => Ok((a, b)),
            _ => Err(rule.into()),
        }
    }

    /// A comma list of `mon`..`sun` or ranges of them (`mon-fri,sun`).
    pub fn parse_days(text: &str) -> Result<[bool; 7], BadValue> {
        let rule = "must be a comma list of mon..sun or ranges of them, such as mon-fri";
        let day = |d: &str| {
            WEEKDAYS
                .iter()
                .position(|w| w.eq_ignore_ascii_case(d.trim()))
        };
        let mut days = [false; 7];
        for item in text.split(',') {
            let (a, b) = item.split_once('-').unwrap_or((item, item));
            match (day(a), day(b)) {
                (Some(a), Some(b)) if a <= b => days[a..=b].iter_mut().for_each(|d| *d = true),
                _ => return Err(rule.into()),
            }
        }
        Ok(days)
    }

    /// Whether local day number `day` (1970-01-01 is 0, a Thursday) is a work day.
    fn work_day(&self, day: i64) -> bool {
        self.days[(day + 3).rem_euclid(7) as usize]
    }
}

/// One session's productive time outside work hours on one local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutsidePart {
    pub day: i64,
    /// The start of its first outside piece and the end of its last one.
    pub start: Micros,
    pub end: Micros,
    pub total: Micros,
}

/// Productive spans cut into pieces inside and outside work hours, the
/// outside ones added up per local date; kept as a session's events arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningOutside {
    pub parts: Vec<OutsidePart>,
    /// The end of the stretch the last piece was in (none yet: the
    /// earliest instant), and the part of that stretch's date when it is
    /// outside: a span that ends by then (nearly every one) goes whole
    /// into it.
    end: Micros,
    part: Option<usize>,
}

impl Default for RunningOutside {
    fn default() -> Self {
        RunningOutside {
            parts: Vec::new(),
            end: Micros::MIN,
            part: None,
        }
    }
}

impl RunningOutside {
    /// Adds the productive span `[from, to)`, later than every span before.
    #[inline]
    pub fn add_span(&mut self, from: Micros, to: Micros, cuts: &mut HourCuts, work: &WorkHours) {
        if to <= from {
            // No length, so no part (SPEC 10.2): two events at one instant
            // must not move the end of an outside row past time it lacks.
            return;
        }
        if to <= self.end {
            if let Some(i) = self.part {
                let p = &mut self.parts[i];
                p.end = to;
                p.total += to - from;
            }
            return;
        }
        let mut at = from;
        while at < to {
            let (stretch_end, day, outside) = stretch(at, cuts, work);
            let cut = to.min(stretch_end);
            self.part = outside.then(|| self.add_outside(day, at, cut));
            self.end = stretch_end;
            at = cut;
        }
    }

    /// Adds `[from, to)` to the part of `day`; returns its index.
    fn add_outside(&mut self, day: i64, from: Micros, to: Micros) -> usize {
        // A date met again (a zone turning its clocks back over midnight)
        // adds to its row.
        match self.parts.iter().rposition(|p| p.day == day) {
            Some(i) => {
                let p = &mut self.parts[i];
                p.end = to;
                p.total += to - from;
                i
            }
            None => {
                self.parts.push(OutsidePart {
                    day,
                    start: from,
                    end: to,
                    total: to - from,
                });
                self.parts.len() - 1
            }
        }
    }
}

/// The stretch holding `t` in which being inside work hours cannot change:
/// its end, its local date and whether it is outside. It lies in one hour
/// block (one local hour at one offset), and ends there or where the local
/// time of day reaches the work hours' start or end.
///
/// SPEC 10.2 cuts at every local minute start and judges each part by its
/// start; work hours start and end at whole local minutes and an offset is
/// constant within a part, so every instant of a part is judged alike, and
/// judging stretches is the same.
pub(crate) fn stretch(t: Micros, cuts: &mut HourCuts, work: &WorkHours) -> (Micros, i64, bool) {
    let block = cuts.block(t);
    let offset = cuts.offset_us(t);
    let midnight = block.day * US_PER_DAY; // wall clock
    let tod = t + offset - midnight;
    let mut end = block.end;
    if !work.work_day(block.day) {
        return (end, block.day, true);
    }
    let inside = (work.start..work.end).contains(&tod);
    for edge in [work.start, work.end] {
        if edge > tod {
            end = end.min(midnight + edge - offset);
        }
    }
    (end, block.day, !inside)
}

/// Finding kinds, in their order as text.
pub const KINDS: [&str; 5] = ["after_hours", "concurrent", "idle_share", "long", "open"];

/// The thresholds of SPEC 10.2 besides work hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// A session is long when its clipped duration is strictly over this.
    pub long: Micros,
    /// Idle share threshold in parts per million of the duration.
    pub idle_share_ppm: i64,
    pub work: WorkHours,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            long: 12 * 60 * US_PER_MIN,
            idle_share_ppm: 500_000,
            work: WorkHours::default(),
        }
    }
}

impl Rules {
    /// `--long-session`: a length such as `12h` or `90m`, over 0.
    pub fn parse_long(text: &str) -> Result<Micros, BadValue> {
        match parse_idle_after(text) {
            Ok(Some(us)) if us > 0 => Ok(us),
            _ => Err("must be a length over 0 such as 12h, 90m or 1h30m".into()),
        }
    }

    /// `--idle-share`: a percentage from 0% to 100% (`50%`, `37.5%`, at
    /// most 4 decimals), as parts per million.
    pub fn parse_idle_share(text: &str) -> Result<i64, BadValue> {
        let rule = "must be a percentage from 0% to 100% such as 50% or 37.5% (at most 4 decimals)";
        let number = text.strip_suffix('%').ok_or(rule)?;
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 3 || frac.len() > 4 || !digits(whole) || !digits(frac)
        {
            return Err(rule.into());
        }
        let whole: i64 = whole.parse().map_err(|_| rule)?;
        let frac: i64 = format!("{frac:0<4}").parse().map_err(|_| rule)?;
        let ppm = whole * 10_000 + frac;
        if ppm > 1_000_000 {
            return Err(rule.into());
        }
        Ok(ppm)
    }
}

/// One row of `findings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding<'a> {
    pub kind: &'static str,
    pub meta: &'a SessionMeta,
    pub start: Micros,
    pub end: Micros,
    pub value: Micros,
    /// The other session of a `concurrent` pair.
    pub other: Option<i32>,
}

/// Every finding over the selection, in SPEC 10.2's order (kind, start,
/// session_id, end, other_session_id). `outside[i]` is `selection[i]`'s
/// productive time outside work hours, per local date.
pub fn findings<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    outside: &[&[OutsidePart]],
    rules: &Rules,
) -> Vec<Finding<'a>> {
    let meta = |st: &SessionStats| &metas[st.session as usize];
    let mut rows: Vec<Finding<'a>> = selection
        .par_iter()
        .zip(outside)
        .flat_map_iter(|(st, outside)| {
            let m = meta(st);
            let whole = |kind, value| Finding {
                kind,
                meta: m,
                start: st.login,
                end: st.logout,
                value,
                other: None,
            };
            let duration = st.duration();
            let idle_share = duration > 60 * US_PER_MIN
                && i128::from(st.idle()) * 1_000_000
                    > i128::from(rules.idle_share_ppm) * i128::from(duration);
            let mut own = Vec::new();
            own.extend(st.open.then(|| whole("open", duration)));
            own.extend((duration > rules.long).then(|| whole("long", duration)));
            own.extend(idle_share.then(|| whole("idle_share", st.idle())));
            own.extend(outside.iter().map(|p| Finding {
                kind: "after_hours",
                meta: m,
                start: p.start,
                end: p.end,
                value: p.total,
                other: None,
            }));
            own.into_iter()
        })
        .collect();
    rows.extend(concurrent(metas, selection));
    rows.par_sort_unstable_by_key(|f| (f.kind, f.start, f.meta.session_id, f.end, f.other));
    rows
}

/// `concurrent` rows: per user, sessions on different clients whose
/// clipped bounds overlap for a positive length; two rows a pair.
fn concurrent<'a>(metas: &'a [SessionMeta], selection: &[SessionStats]) -> Vec<Finding<'a>> {
    let user = |st: &SessionStats| metas[st.session as usize].user_id;
    let mut by_user: Vec<&SessionStats> = selection.iter().collect();
    by_user.par_sort_unstable_by_key(|st| (user(st), st.login));
    let mut rows = Vec::new();
    for group in by_user.chunk_by(|a, b| user(a) == user(b)) {
        // Sessions by login: each meets the later ones that start before it ends.
        for (i, a) in group.iter().enumerate() {
            for b in group[i + 1..].iter().take_while(|b| b.login < a.logout) {
                let (ma, mb) = (&metas[a.session as usize], &metas[b.session as usize]);
                let (start, end) = (b.login, a.logout.min(b.logout));
                // A session of no length inside another overlaps it for none.
                if ma.client_guid == mb.client_guid || end <= start {
                    continue;
                }
                for (m, other) in [(ma, mb), (mb, ma)] {
                    rows.push(Finding {
                        kind: "concurrent",
                        meta: m,
                        start,
                        end,
                        value: end - start,
                        other: Some(other.session_id),
                    });
                }
            }
        }
    }
    rows
}
