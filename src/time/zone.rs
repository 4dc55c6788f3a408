//! Time zones and local days: the `--tz` zone, wall time to and from
//! instants (DST gaps and overlaps are errors), day numbers, local hours
//! (`HourBlock`), and the range of instants the endpoint can write.

use super::*;
use chrono::{Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// The local day number (days from 1970-01-01, local) of an instant.
pub fn local_day(zone: &Zone, utc: Micros) -> i64 {
    zone.to_wall(utc).div_euclid(US_PER_DAY)
}

/// The first UTC instant whose local day is at least `day`: the local midnight,
/// or the first instant after a transition that skips midnight.
pub fn day_start(zone: &Zone, day: i64) -> Micros {
    // Offsets are within +-26 h: search that range for the first instant of the day.
    let (mut lo, mut hi) = (
        day * US_PER_DAY - 27 * US_PER_HOUR,
        day * US_PER_DAY + 27 * US_PER_HOUR,
    );
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if local_day(zone, mid) >= day {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// 719,163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
pub(crate) const EPOCH_FROM_CE: i64 = 719_163;

/// The day number of a date: days from 1970-01-01 (as `local_day` counts).
pub fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - EPOCH_FROM_CE
}

/// The date of a day number, within chrono's range.
pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + EPOCH_FROM_CE).ok()?)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, or
/// `None` when it is not a date. Timestamps of a log mostly share the date
/// of the one before, so each thread keeps its last date.
pub(crate) fn days_since_epoch(year: u32, month: u32, day: u32) -> Option<i64> {
    thread_local! {
        static LAST: std::cell::Cell<(u32, i64)> = const { std::cell::Cell::new((u32::MAX, 0)) };
    }
    // Years have 4 digits here and months and days 2, so this key is one
    // per text, and never u32::MAX.
    let key = (year * 100 + month) * 100 + day;
    let (last, days) = LAST.get();
    if key == last {
        return Some(days);
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let days = day_number(date);
    LAST.set((key, days));
    Some(days)
}

/// The zone of `--tz`: how offset-less wall-clock times are read, how dates are
/// written, and where local midnight falls for the daily rollups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Fixed(FixedOffset),
    Iana(Tz),
}

impl Default for Zone {
    fn default() -> Self {
        Zone::Fixed(FixedOffset::east_opt(0).unwrap())
    }
}

impl FromStr for Zone {
    type Err = String;

    /// `UTC`, `Z`, a fixed offset (`+02:00`, `-0530`, `UTC+02:00`) or an IANA
    /// name (`Europe/Berlin`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("gmt") {
            return Ok(Zone::default());
        }
        let off = t
            .strip_prefix("UTC")
            .or_else(|| t.strip_prefix("GMT"))
            .unwrap_or(t);
        if off.starts_with('+') || off.starts_with('-') {
            // Reuse the timestamp grammar for the offset part.
            let p = parse_time(&format!("1970-01-01T00:00{off}"))
                .map_err(|_| format!("{s:?} is not a fixed offset like +02:00 or -05:30"))?;
            let secs = p.offset_secs.unwrap_or(0);
            return Ok(Zone::Fixed(FixedOffset::east_opt(secs).unwrap()));
        }
        t.parse::<Tz>()
            .map(Zone::Iana)
            .map_err(|_| format!("{s:?} is neither an IANA time zone (like Europe/Berlin) nor an offset (like +02:00)"))
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::Fixed(o) if o.local_minus_utc() == 0 => f.write_str("UTC"),
            Zone::Fixed(o) => write!(f, "{o}"),
            Zone::Iana(tz) => f.write_str(tz.name()),
        }
    }
}

pub(crate) fn naive(us: Micros) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(us)
        .expect("microseconds within chrono's range")
        .naive_utc()
}

impl Zone {
    /// Offset from UTC, in seconds, at the instant `utc_us`.
    pub fn offset_at(&self, utc_us: Micros) -> i32 {
        match self {
            Zone::Fixed(o) => o.local_minus_utc(),
            Zone::Iana(tz) => tz
                .offset_from_utc_datetime(&naive(utc_us))
                .fix()
                .local_minus_utc(),
        }
    }

    /// The UTC instant of a wall-clock time in this zone. A wall time that the
    /// zone skips (spring forward) or repeats (fall back) is an error: the tool
    /// never guesses.
    pub fn local_to_utc(&self, wall_us: Micros) -> Result<Micros, TimeError> {
        check_wall(wall_us)?;
        match self {
            Zone::Fixed(o) => Ok(wall_us - i64::from(o.local_minus_utc()) * US_PER_SEC),
            Zone::Iana(tz) => {
                let wall = checked_naive(wall_us)?;
                match tz.from_local_datetime(&wall) {
                    LocalResult::Single(dt) => Ok(dt.timestamp_micros()),
                    LocalResult::Ambiguous(..) => Err(bad(format!(
                        "local time {wall} happens twice in {} (clocks turned back); give an offset",
                        tz.name()
                    ))),
                    LocalResult::None => Err(bad(format!(
                        "local time {wall} does not exist in {} (clocks turned forward)",
                        tz.name()
                    ))),
                }
            }
        }
    }

    /// Resolves a parsed timestamp: its own offset when it has one, else this zone.
    pub fn resolve(&self, p: ParsedTime) -> Result<Micros, TimeError> {
        match p.offset_secs {
            Some(off) => Ok(p.wall_us - i64::from(off) * US_PER_SEC),
            None => self.local_to_utc(p.wall_us),
        }
    }

    /// Microseconds of local wall-clock time at the instant `utc_us`.
    pub fn to_wall(&self, utc_us: Micros) -> Micros {
        utc_us + i64::from(self.offset_at(utc_us)) * US_PER_SEC
    }
}

/// A wall time far outside years 0001-9999 (a native value of any size)
/// is refused before any arithmetic on it can overflow.
pub(crate) fn check_wall(wall_us: Micros) -> Result<(), TimeError> {
    if (MIN_INSTANT - US_PER_DAY..=MAX_INSTANT + US_PER_DAY).contains(&wall_us) {
        Ok(())
    } else {
        Err(bad(RANGE_RULE))
    }
}

pub(crate) fn checked_naive(us: Micros) -> Result<NaiveDateTime, TimeError> {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .ok_or_else(|| bad("timestamp out of range"))
}

/// Resolves many offset-less wall times in one IANA zone quickly: a wall-clock
/// hour whose both ends map with the same single offset maps every instant in
/// it with that offset (zones change offset at most once an hour), so the
/// costly zone lookup runs about once per hour of data instead of per event.
pub struct LocalResolver {
    zone: Zone,
    hour: i64,
    offset_us: Option<i64>,
}

impl LocalResolver {
    pub fn new(zone: Zone) -> Self {
        LocalResolver {
            zone,
            hour: i64::MIN,
            offset_us: None,
        }
    }

    pub fn resolve(&mut self, p: ParsedTime) -> Result<Micros, TimeError> {
        check_wall(p.wall_us)?;
        if let Some(off) = p.offset_secs {
            return Ok(p.wall_us - i64::from(off) * US_PER_SEC);
        }
        if let Zone::Fixed(_) = self.zone {
            return self.zone.local_to_utc(p.wall_us);
        }
        let hour = p.wall_us.div_euclid(US_PER_HOUR);
        if hour != self.hour {
            self.hour = hour;
            let lo = self.zone.local_to_utc(hour * US_PER_HOUR);
            let hi = self.zone.local_to_utc((hour + 1) * US_PER_HOUR - 1);
            self.offset_us = match (lo, hi) {
                (Ok(a), Ok(b)) if hour * US_PER_HOUR - a == (hour + 1) * US_PER_HOUR - 1 - b => {
                    Some(hour * US_PER_HOUR - a)
                }
                _ => None,
            };
        }
        match self.offset_us {
            Some(off) => Ok(p.wall_us - off),
            None => self.zone.local_to_utc(p.wall_us),
        }
    }
}

/// The first and last instants the tool accepts: years 0001-9999 (SPEC 1.2),
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
pub const MIN_INSTANT: Micros = -62_135_596_800 * US_PER_SEC;
pub const MAX_INSTANT: Micros = 253_402_300_800 * US_PER_SEC - 1;

/// The rule an instant breaks when it, or its wall time in `zone` (how the
/// endpoint's dates print it), falls outside years 0001-9999.
pub fn out_of_range(utc_us: Micros, zone: &Zone) -> Option<&'static str> {
    // Offsets are under a day: inside this band both forms are in range.
    if (MIN_INSTANT + US_PER_DAY..=MAX_INSTANT - US_PER_DAY).contains(&utc_us) {
        return None;
    }
    if !(MIN_INSTANT..=MAX_INSTANT).contains(&utc_us) {
        return Some(RANGE_RULE);
    }
    let local = utc_us + printed_offset_minutes(zone.offset_at(utc_us)) * US_PER_MIN;
    (!(MIN_INSTANT..=MAX_INSTANT).contains(&local)).then_some(RANGE_RULE_LOCAL)
}

pub(crate) const RANGE_RULE: &str = "a timestamp must be within years 0001-9999 (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)";
pub(crate) const RANGE_RULE_LOCAL: &str =
    "a timestamp must be within years 0001-9999 in --tz too, where its dates are written";

/// A run of instants with one local (date, hour) and one UTC offset: where
/// SPEC 8.2 cuts productive time. `from` is an instant inside it (not
/// necessarily its first), `end` the first instant after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourBlock {
    pub from: Micros,
    pub end: Micros,
    /// Local day number and hour (0-23) of every instant in the block.
    pub day: i64,
    pub hour: u8,
}

impl HourBlock {
    /// The block holding `t`: from the last local hour start (an instant
    /// whose local minute, second and fraction are zero) or change of the
    /// zone's offset, whichever is later, up to the next one. A zone changes its
    /// offset at most once within an hour, so one look at the block's last
    /// instant tells whether it changes inside, and a search finds where.
    pub fn at(zone: &Zone, t: Micros) -> HourBlock {
        let off = zone.offset_at(t);
        let wall = t + i64::from(off) * US_PER_SEC;
        let next_wall = wall.div_euclid(US_PER_HOUR) * US_PER_HOUR + US_PER_HOUR;
        let mut end = next_wall - i64::from(off) * US_PER_SEC;
        if zone.offset_at(end - 1) != off {
            // The first instant in (t, end) with another offset.
            let (mut lo, mut hi) = (t + 1, end - 1);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if zone.offset_at(mid) != off {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            end = lo;
        }
        // Where it starts: the local hour's start, or the change of offset
        // after it (a zone changes its offset at most once an hour), so
        // that the block holds every instant of its hour and offset.
        let mut from = wall.div_euclid(US_PER_HOUR) * US_PER_HOUR - i64::from(off) * US_PER_SEC;
        if zone.offset_at(from) != off {
            // The first instant in (from, t] with this offset.
            let (mut lo, mut hi) = (from + 1, t);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if zone.offset_at(mid) == off {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            from = lo;
        }
        HourBlock {
            from,
            end,
            day: wall.div_euclid(US_PER_DAY),
            hour: (wall.rem_euclid(US_PER_DAY) / US_PER_HOUR) as u8,
        }
    }

    pub fn holds(&self, t: Micros) -> bool {
        self.from <= t && t < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_blocks_hold_one_local_hour_and_one_offset() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let utc = |s: &str| Zone::default().resolve(parse_time(s).unwrap()).unwrap();
        for (name, around) in [
            ("Europe/Berlin", "2021-03-28T01:00:00Z"),
            ("Europe/Berlin", "2021-10-31T01:00:00Z"),
            ("Australia/Lord_Howe", "2021-04-03T15:00:00Z"),
            ("Australia/Lord_Howe", "2021-10-02T15:30:00Z"),
            ("Asia/Kathmandu", "1985-12-31T18:30:00Z"),
            ("Asia/Kolkata", "2021-06-01T00:00:00Z"),
            ("America/Havana", "2021-03-14T05:00:00Z"),
            ("Africa/Monrovia", "1972-01-07T00:44:30Z"),
            ("+05:45", "2021-06-01T00:00:00Z"),
        ] {
            let zone: Zone = name.parse().unwrap();
            let mid = utc(around);
            let local = |t: Micros| {
                let w = zone.to_wall(t);
                (
                    w.div_euclid(US_PER_DAY),
                    w.rem_euclid(US_PER_DAY) / US_PER_HOUR,
                    zone.offset_at(t),
                )
            };
            for _ in 0..2000 {
                let t = mid + rng.random_range(-3 * US_PER_HOUR..3 * US_PER_HOUR);
                let b = HourBlock::at(&zone, t);
                assert!(b.end > t && b.end - t <= US_PER_HOUR, "{name} {t}");
                let here = local(t);
                assert_eq!((b.day, i64::from(b.hour)), (here.0, here.1), "{name} {t}");
                assert_eq!(
                    local(b.end - 1),
                    here,
                    "{name} {t}: the block's last instant"
                );
                assert!(b.from <= t, "{name} {t}");
                assert_eq!(local(b.from), here, "{name} {t}: the block's first instant");
                assert_ne!(
                    local(b.from - 1),
                    here,
                    "{name} {t}: the block starts where something changes"
                );
                let inside = rng.random_range(t..b.end);
                assert_eq!(local(inside), here, "{name} {t}: {inside} inside");
                assert_ne!(
                    local(b.end),
                    here,
                    "{name} {t}: the block ends where something changes"
                );
            }
        }
        // Berlin's autumn change: local 02:00-03:00 twice, two blocks with hour 2
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        let a = HourBlock::at(&berlin, utc("2021-10-31T00:30:00Z"));
        let b = HourBlock::at(&berlin, a.end);
        assert_eq!((a.hour, b.hour, a.day), (2, 2, b.day));
        assert_eq!(
            (a.end, b.end),
            (utc("2021-10-31T01:00:00Z"), utc("2021-10-31T02:00:00Z"))
        );
        // Lord Howe's spring change (+10:30 to +11 at 02:00): local 02:00-02:30 skipped
        let lh: Zone = "Australia/Lord_Howe".parse().unwrap();
        let a = HourBlock::at(&lh, utc("2021-10-02T15:00:00Z")); // 01:30 local
        let b = HourBlock::at(&lh, a.end);
        assert_eq!((a.hour, a.end), (1, utc("2021-10-02T15:30:00Z")));
        assert_eq!((b.hour, b.end - b.from), (2, 30 * US_PER_MIN));
    }

    #[test]
    fn days_since_epoch_counts_days_with_its_cache() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut x: u64 = 5;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (y, m, d) = ((x >> 20) % 10_000, (x >> 40) % 14, (x >> 50) % 33);
            let want = NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
                .map(|date| date.signed_duration_since(epoch).num_days());
            // Twice: once computed, once (when a date) from the cache.
            for _ in 0..2 {
                assert_eq!(
                    days_since_epoch(y as u32, m as u32, d as u32),
                    want,
                    "{y}-{m}-{d}"
                );
            }
        }
        assert_eq!(days_since_epoch(0, 0, 0), None);
        assert_eq!(days_since_epoch(1970, 1, 1), Some(0));
    }

    fn utc(text: &str) -> Micros {
        Zone::default().resolve(parse_time(text).unwrap()).unwrap()
    }

    #[test]
    fn instants_outside_years_1_to_9999_are_refused() {
        let z = Zone::default();
        assert_eq!(out_of_range(MIN_INSTANT, &z), None);
        assert_eq!(out_of_range(MAX_INSTANT, &z), None);
        assert!(out_of_range(MIN_INSTANT - 1, &z).is_some());
        assert!(out_of_range(MAX_INSTANT + 1, &z).is_some());
        assert!(out_of_range(i64::MAX, &z).is_some());
        assert!(out_of_range(i64::MIN, &z).is_some());
        assert_eq!(
            format_rfc3339_utc(MIN_INSTANT),
            "0001-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            format_rfc3339_utc(MAX_INSTANT),
            "9999-12-31T23:59:59.999999Z"
        );
        // In range in UTC, but written as year 10000 in +02:00.
        let east: Zone = "+02:00".parse().unwrap();
        assert!(out_of_range(MAX_INSTANT - US_PER_HOUR, &east).is_some());
        assert_eq!(out_of_range(MAX_INSTANT - 3 * US_PER_HOUR, &east), None);
        let west: Zone = "-02:00".parse().unwrap();
        assert!(out_of_range(MIN_INSTANT + US_PER_HOUR, &west).is_some());
    }

    #[test]
    fn dst_gaps_and_overlaps_are_errors() {
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        let gap = parse_time("2021-03-28T02:30:00").unwrap();
        assert!(berlin
            .resolve(gap)
            .unwrap_err()
            .0
            .contains("does not exist"));
        let overlap = parse_time("2021-10-31T02:30:00").unwrap();
        assert!(berlin.resolve(overlap).unwrap_err().0.contains("twice"));
        let after = parse_time("2021-03-28T03:00:00").unwrap();
        assert_eq!(berlin.resolve(after).unwrap(), utc("2021-03-28T01:00:00Z"));
        // an explicit offset settles the overlap
        let explicit = parse_time("2021-10-31T02:30:00+01:00").unwrap();
        assert_eq!(
            berlin.resolve(explicit).unwrap(),
            utc("2021-10-31T01:30:00Z")
        );
    }

    #[test]
    fn cached_resolver_agrees_with_zone_around_transitions() {
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "UTC",
        ] {
            let zone: Zone = name.parse().unwrap();
            let mut r = LocalResolver::new(zone);
            let start = utc("2021-03-27T00:00:00Z");
            let mut wall = start;
            while wall < start + 3 * US_PER_DAY {
                let p = ParsedTime {
                    wall_us: wall,
                    offset_secs: None,
                };
                assert_eq!(r.resolve(p), zone.resolve(p), "{name} at {wall}");
                wall += 7 * US_PER_MIN + 13 * US_PER_SEC;
            }
        }
    }

    #[test]
    fn zones_parse() {
        assert_eq!("UTC".parse::<Zone>().unwrap(), Zone::default());
        assert_eq!("+02:00".parse::<Zone>().unwrap().offset_at(0), 7200);
        assert_eq!("UTC-05:00".parse::<Zone>().unwrap().offset_at(0), -18000);
        assert!("Mars/Olympus".parse::<Zone>().is_err());
        assert!("+2".parse::<Zone>().is_err());
    }
}
