//! Exact time: integer microseconds since the Unix epoch (UTC), the ISO 8601 /
//! RFC 3339 text forms the logs and requests use, time zones, and the
//! endpoint's two output formats (.NET "c" timespans and offset dates).
//!
//! No float ever touches a time value. Parsing is a small fixed-position parser
//! because it runs once per event and chrono's format-driven parser dominated a
//! CSV load; chrono still validates the calendar and resolves zones.

use crate::error::BadValue;
use chrono::{Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// Microseconds since 1970-01-01T00:00:00Z, or a length of time in microseconds.
pub type Micros = i64;

pub const US_PER_SEC: i64 = 1_000_000;
pub const US_PER_MIN: i64 = 60 * US_PER_SEC;
pub const US_PER_HOUR: i64 = 60 * US_PER_MIN;
pub const US_PER_DAY: i64 = 24 * US_PER_HOUR;

/// A timestamp as written: wall-clock microseconds (as if it were UTC) and the
/// offset, when the text carried one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTime {
    pub wall_us: Micros,
    pub offset_secs: Option<i32>,
}

/// Why a timestamp text or a local time is not accepted. The message is the
/// rule that was broken, meant to follow the offending value in an error line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(pub String);

fn bad(rule: impl Into<String>) -> TimeError {
    TimeError(rule.into())
}

const FORMS: &str = "expected YYYY-MM-DD[(T| )hh:mm[:ss[.fraction]]][Z|+hh:mm|-hh:mm]";

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize, what: &str) -> Result<u32, TimeError> {
        let end = self.i + n;
        if end > self.b.len() || !self.b[self.i..end].iter().all(u8::is_ascii_digit) {
            return Err(bad(format!("{what} must be {n} digits; {FORMS}")));
        }
        let v = self.b[self.i..end]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        self.i = end;
        Ok(v)
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
}

/// Parses `2021-04-01`, `2021-04-01T12:00`, `2021-04-01 12:00:00.123456`,
/// `2021-04-01T12:00:00Z`, `2021-04-01T12:00:00+02:00` (also `+0200`, `+02`).
/// A date alone is midnight. Fraction digits past the sixth are truncated
/// (microsecond precision, see docs/semantics.md). Leading and trailing
/// blanks are ignored.
pub fn parse_time(text: &str) -> Result<ParsedTime, TimeError> {
    let s = trim_blanks(text);
    if s.is_empty() {
        return Err(bad("empty timestamp"));
    }
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    if !s.as_bytes()[0].is_ascii_digit() {
        return Err(bad(format!("not a timestamp; {FORMS}")));
    }
    let year = c.digits(4, "year")?;
    if !c.eat(b'-') {
        return Err(bad(FORMS));
    }
    let month = c.digits(2, "month")?;
    if !c.eat(b'-') {
        return Err(bad(FORMS));
    }
    let day = c.digits(2, "day")?;
    let days = days_since_epoch(year, month, day).ok_or_else(|| {
        bad(format!(
            "{year:04}-{month:02}-{day:02} is not a calendar date"
        ))
    })?;
    let (mut h, mut m, mut sec, mut frac_us) = (0, 0, 0, 0i64);
    if matches!(c.peek(), Some(b'T' | b't' | b' ')) {
        c.i += 1;
        h = c.digits(2, "hour")?;
        if !c.eat(b':') {
            return Err(bad(FORMS));
        }
        m = c.digits(2, "minute")?;
        if c.eat(b':') {
            sec = c.digits(2, "second")?;
            if c.eat(b'.') || c.eat(b',') {
                let start = c.i;
                let mut scale = 100_000i64;
                while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                    frac_us += i64::from(d - b'0') * scale;
                    scale /= 10;
                    c.i += 1;
                }
                if c.i == start {
                    return Err(bad("a fraction needs at least one digit after the point"));
                }
            }
        }
        if h > 23 || m > 59 || sec > 59 {
            return Err(bad(format!(
                "{h:02}:{m:02}:{sec:02} is not a time of day (hours 00-23, minutes and seconds 00-59)"
            )));
        }
    }
    let offset_secs = match c.peek() {
        None => None,
        Some(b'Z' | b'z') => {
            c.i += 1;
            Some(0)
        }
        Some(sign @ (b'+' | b'-')) => {
            c.i += 1;
            let oh = c.digits(2, "offset hours")?;
            let om = if c.eat(b':') || c.peek().is_some_and(|d| d.is_ascii_digit()) {
                c.digits(2, "offset minutes")?
            } else {
                0
            };
            if oh > 23 || om > 59 {
                return Err(bad(format!("offset {oh:02}:{om:02} is out of range")));
            }
            let secs = (oh * 3600 + om * 60) as i32;
            Some(if sign == b'-' { -secs } else { secs })
        }
        Some(_) => return Err(bad(FORMS)),
    };
    if c.i != c.b.len() {
        return Err(bad(format!("unexpected text after the timestamp; {FORMS}")));
    }
    let wall_us = days * US_PER_DAY
        + i64::from(h) * US_PER_HOUR
        + i64::from(m) * US_PER_MIN
        + i64::from(sec) * US_PER_SEC
        + frac_us;
    Ok(ParsedTime {
        wall_us,
        offset_secs,
    })
}

/// The current instant, from the system clock.
pub fn now() -> Micros {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_micros()).expect("the clock is before year 294,000")
}

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

/// `text` without leading and trailing blanks (Unicode white space, as
/// `str::trim`), at once when it neither starts nor ends with one: every
/// white-space character is a byte up to 0x20 or starts with one above 0x7F.
pub fn trim_blanks(text: &str) -> &str {
    let plain = |b: u8| b > b' ' && b < 0x80;
    match text.as_bytes() {
        [first, .., last] if plain(*first) && plain(*last) => text,
        [one] if plain(*one) => text,
        _ => text.trim(),
    }
}

/// 719,163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_FROM_CE: i64 = 719_163;

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
fn days_since_epoch(year: u32, month: u32, day: u32) -> Option<i64> {
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

fn naive(us: Micros) -> NaiveDateTime {
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
fn check_wall(wall_us: Micros) -> Result<(), TimeError> {
    if (MIN_INSTANT - US_PER_DAY..=MAX_INSTANT + US_PER_DAY).contains(&wall_us) {
        Ok(())
    } else {
        Err(bad(RANGE_RULE))
    }
}

fn checked_naive(us: Micros) -> Result<NaiveDateTime, TimeError> {
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

/// A length of time in the .NET TimeSpan "c" format: `[d.]hh:mm:ss[.fffffff]`,
/// seven fraction digits (100 ns ticks) left out when zero.
pub fn format_timespan(us: Micros) -> String {
    let mut buf = Vec::with_capacity(24);
    if us < 0 {
        buf.push(b'-');
    }
    let us = us.unsigned_abs();
    let (days, rem) = (us / US_PER_DAY as u64, us % US_PER_DAY as u64);
    let two = |buf: &mut Vec<u8>, v: u64| push_digits(buf, v as i64, 2);
    if days > 0 {
        push_digits(&mut buf, days as i64, 1);
        buf.push(b'.');
    }
    two(&mut buf, rem / US_PER_HOUR as u64);
    buf.push(b':');
    two(&mut buf, rem % US_PER_HOUR as u64 / US_PER_MIN as u64);
    buf.push(b':');
    two(&mut buf, rem % US_PER_MIN as u64 / US_PER_SEC as u64);
    let frac = rem % US_PER_SEC as u64;
    if frac > 0 {
        buf.push(b'.');
        push_digits(&mut buf, (frac * 10) as i64, 7);
    }
    String::from_utf8(buf).expect("ascii")
}

/// An instant as the endpoint writes it: `yyyy-MM-ddTHH:mm:ss.fff+hh:mm`, in
/// the zone's offset at that instant, milliseconds truncated. The endpoint's
/// offsets are whole minutes; a historical offset with seconds (Monrovia's
/// -00:44:30 until 1972) is rounded to the nearest minute, half away from
/// zero, and the wall time is written in that printed offset, so the date
/// still names this very instant (docs/semantics.md).
pub fn format_endpoint_date(utc_us: Micros, zone: &Zone) -> String {
    let minutes = printed_offset_minutes(zone.offset_at(utc_us));
    let local = utc_us + minutes * US_PER_MIN;
    let mut buf = Vec::with_capacity(29);
    push_wall_time(&mut buf, local, b'T');
    buf.truncate(buf.len() - 3); // milliseconds, truncated
    buf.push(if minutes < 0 { b'-' } else { b'+' });
    push_digits(&mut buf, minutes.abs() / 60, 2);
    buf.push(b':');
    push_digits(&mut buf, minutes.abs() % 60, 2);
    String::from_utf8(buf).expect("ascii")
}

/// An offset in seconds as the whole minutes a date prints, rounded half
/// away from zero.
fn printed_offset_minutes(offset_secs: i32) -> i64 {
    let secs = i64::from(offset_secs);
    secs.signum() * ((secs.abs() + 30) / 60)
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

const RANGE_RULE: &str = "a timestamp must be within years 0001-9999 (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)";
const RANGE_RULE_LOCAL: &str =
    "a timestamp must be within years 0001-9999 in --tz too, where its dates are written";

/// Appends `v` in decimal, zero-padded to at least `width` digits.
pub fn push_digits(buf: &mut Vec<u8>, v: i64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut n = v.unsigned_abs();
    let mut i = digits.len();
    while n > 0 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let used = (digits.len() - i).max(width);
    if v < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&digits[digits.len() - used..]);
}

/// Appends `YYYY-MM-DD{sep}hh:mm:ss.ffffff` for a wall-clock time in
/// microseconds: the fast path for bulk output (CSV rollups, generated logs).
pub fn push_wall_time(buf: &mut Vec<u8>, wall_us: Micros, sep: u8) {
    let days = wall_us.div_euclid(US_PER_DAY);
    let rem = wall_us.rem_euclid(US_PER_DAY);
    let date = date_of_day(days).expect("date within chrono's range");
    push_digits(buf, i64::from(date.year()), 4);
    buf.push(b'-');
    push_digits(buf, i64::from(date.month()), 2);
    buf.push(b'-');
    push_digits(buf, i64::from(date.day()), 2);
    buf.push(sep);
    push_digits(buf, rem / US_PER_HOUR, 2);
    buf.push(b':');
    push_digits(buf, rem % US_PER_HOUR / US_PER_MIN, 2);
    buf.push(b':');
    push_digits(buf, rem % US_PER_MIN / US_PER_SEC, 2);
    buf.push(b'.');
    push_digits(buf, rem % US_PER_SEC, 6);
}

/// An instant as RFC 3339 in UTC with microseconds, for CSV rollups.
pub fn format_rfc3339_utc(utc_us: Micros) -> String {
    let mut buf = Vec::with_capacity(27);
    push_wall_time(&mut buf, utc_us, b'T');
    buf.push(b'Z');
    String::from_utf8(buf).expect("ascii")
}

/// Parses `--idle-after`: `90s`, `15m`, `1h30m`, `500ms`, `2d`, or `off`
/// (no limit, returned as `None`). Units in any order, each at most once.
pub fn parse_idle_after(text: &str) -> Result<Option<Micros>, BadValue> {
    let s = text.trim();
    if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let rule = "expected a length like 90s, 15m, 1h30m, 250ms, or off";
    if s.is_empty() {
        return Err(rule.to_string().into());
    }
    let mut total: i64 = 0;
    let mut rest = s;
    let mut seen: Vec<&str> = Vec::new();
    while !rest.is_empty() {
        let ndig = rest.bytes().take_while(u8::is_ascii_digit).count();
        if ndig == 0 {
            return Err(rule.to_string().into());
        }
        let n: i64 = rest[..ndig]
            .parse()
            .map_err(|_| "number too large".to_string())?;
        rest = &rest[ndig..];
        let nunit = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..nunit];
        rest = &rest[nunit..];
        let scale = match unit {
            "d" => US_PER_DAY,
            "h" => US_PER_HOUR,
            "m" | "min" => US_PER_MIN,
            "s" => US_PER_SEC,
            "ms" => 1_000,
            "us" => 1,
            "" => return Err(format!("a unit is required after {n}; {rule}").into()),
            other => return Err(format!("unknown unit {other:?}; {rule}").into()),
        };
        if seen.contains(&unit) {
            return Err(format!("unit {unit:?} given twice; {rule}").into());
        }
        seen.push(unit);
        total = n
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "length too large".to_string())?;
    }
    Ok(Some(total))
}

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

/// A local day's first instant as User Productivity writes `date` (SPEC
/// 8.2): local time with its offset, no fraction (`2021-09-03T00:00:00+05:00`);
/// where the zone skips midnight, the local time after the jump.
pub fn format_day_start(zone: &Zone, day: i64) -> String {
    let mut s = format_endpoint_date(day_start(zone, day), zone);
    // yyyy-MM-ddTHH:mm:ss.fff+hh:mm: drop the milliseconds
    s.replace_range(19..23, "");
    s
}

/// A double as .NET (Core 3.0 and later) writes it: the shortest digits
/// that read back as the same double; scientific with an upper-case `E`, a
/// sign and at least two exponent digits when the decimal exponent is below
/// -4 or 15 and over (`1.6683333333333333E-05`, `1E+15`); otherwise plain,
/// an integral value without a decimal point (`6`, `25.816666666666666`).
pub fn format_dotnet_double(v: f64) -> String {
    let mut out = Vec::new();
    push_dotnet_double(&mut out, v);
    String::from_utf8(out).expect("ascii")
}

/// `format_dotnet_double` appended to `buf`. The shortest digits come from
/// ryu (in the tree through serde_json), and are laid out again.
pub fn push_dotnet_double(buf: &mut Vec<u8>, v: f64) {
    assert!(v.is_finite(), "a finite value");
    if v == 0.0 {
        buf.push(b'0');
        return;
    }
    if v < 0.0 {
        buf.push(b'-');
    }
    let mut ryu = ryu::Buffer::new();
    let text = ryu.format_finite(v.abs()).as_bytes();
    // ryu writes d.ddd, 0.000ddd or d.ddde-N: its digits, and the decimal
    // exponent of the first one.
    let (mantissa, e) = match text.iter().position(|&c| c == b'e') {
        Some(at) => (
            &text[..at],
            std::str::from_utf8(&text[at + 1..])
                .expect("ascii")
                .parse::<i32>()
                .expect("an exponent"),
        ),
        None => (text, 0),
    };
    let point = mantissa
        .iter()
        .position(|&c| c == b'.')
        .unwrap_or(mantissa.len());
    let mut digits = [0u8; 32];
    let mut n = 0;
    let mut first = None;
    for (i, &c) in mantissa.iter().filter(|&&c| c != b'.').enumerate() {
        if first.is_none() && c == b'0' {
            continue;
        }
        first.get_or_insert(i);
        digits[n] = c;
        n += 1;
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[..n];
    let exp = point as i32 - 1 - first.expect("a non-zero digit") as i32 + e;
    if !(-5 < exp && exp < 15) {
        buf.push(digits[0]);
        if n > 1 {
            buf.push(b'.');
            buf.extend_from_slice(&digits[1..]);
        }
        buf.extend_from_slice(if exp < 0 { b"E-" } else { b"E+" });
        push_digits(buf, i64::from(exp.abs()), 2);
        return;
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        buf.extend_from_slice(b"0.");
        buf.extend(std::iter::repeat_n(b'0', (-point) as usize));
        buf.extend_from_slice(digits);
    } else if point as usize >= n {
        buf.extend_from_slice(digits);
        buf.extend(std::iter::repeat_n(b'0', point as usize - n));
    } else {
        let (int, frac) = digits.split_at(point as usize);
        buf.extend_from_slice(int);
        buf.push(b'.');
        buf.extend_from_slice(frac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn trim_blanks_is_trim(s in proptest::prelude::any::<String>(), t in "[ a\u{a0}\u{85}\u{2028}\u{3000}\t\n]{0,6}") {
            proptest::prop_assert_eq!(trim_blanks(&s), s.trim());
            proptest::prop_assert_eq!(trim_blanks(&t), t.trim());
        }
    }

    #[test]
    fn doubles_print_as_dotnet_prints_them() {
        let minutes = |us: i64| format_dotnet_double(us as f64 / 60_000_000.0);
        assert_eq!(minutes(6 * US_PER_MIN), "6");
        assert_eq!(minutes(60 * US_PER_MIN), "60");
        assert_eq!(minutes(1_548_999_999 + 1), "25.816666666666666");
        assert_eq!(minutes(1_001), "1.6683333333333333E-05");
        assert_eq!(minutes(1), "1.6666666666666667E-08");
        assert_eq!(minutes(30 * US_PER_SEC), "0.5");
        assert_eq!(minutes(6_000), "0.0001");
        assert_eq!(minutes(5_999), "9.998333333333333E-05");
        assert_eq!(format_dotnet_double(1e15), "1E+15");
        assert_eq!(format_dotnet_double(123456789012345.6), "123456789012345.6");
        assert_eq!(format_dotnet_double(-2.5), "-2.5");
        assert_eq!(format_dotnet_double(0.0), "0");
        // every printed value reads back as the same double
        for us in [1, 7, 999, 59_999_999, 1_234_567_891, 3_599_999_999] {
            let v = us as f64 / 60_000_000.0;
            assert_eq!(minutes(us).parse::<f64>().unwrap(), v, "{us}");
        }
    }

    /// The same layout from Rust's own shortest digits (`{:e}`).
    fn dotnet_by_exp(v: f64) -> String {
        let sci = format!("{:e}", v.abs());
        let (mantissa, exp) = sci.split_once('e').unwrap();
        let exp: i32 = exp.parse().unwrap();
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let sign = if v < 0.0 { "-" } else { "" };
        if !(-5 < exp && exp < 15) {
            let e_sign = if exp < 0 { '-' } else { '+' };
            return format!("{sign}{mantissa}E{e_sign}{:02}", exp.abs());
        }
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}", "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    }

    proptest::proptest! {
        #[test]
        fn dotnet_doubles_agree_with_rusts_shortest_digits(
            us in 1i64..4_000_000_000,
            bits in proptest::prelude::any::<u64>(),
        ) {
            let v = us as f64 / 60_000_000.0;
            proptest::prop_assert_eq!(format_dotnet_double(v), dotnet_by_exp(v));
            // Any double: read back exactly, as short as Rust's shortest. (Where
            // two shortest forms are equally near, ryu and Rust may pick
            // different ones; a minute count, never a dyadic fraction past
            // 8 bits, has no such tie, and must agree digit for digit.)
            let w = f64::from_bits(bits);
            if w.is_finite() && w != 0.0 {
                let (ours, theirs) = (format_dotnet_double(w), dotnet_by_exp(w));
                proptest::prop_assert_eq!(ours.parse::<f64>().unwrap(), w);
                proptest::prop_assert_eq!(ours.len(), theirs.len());
            }
        }
    }

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
    fn a_day_start_prints_without_fraction() {
        let kolkata: Zone = "Asia/Kolkata".parse().unwrap();
        let day = day_number(NaiveDate::from_ymd_opt(2021, 9, 3).unwrap());
        assert_eq!(format_day_start(&kolkata, day), "2021-09-03T00:00:00+05:30");
        let havana: Zone = "America/Havana".parse().unwrap();
        let day = day_number(NaiveDate::from_ymd_opt(2021, 3, 14).unwrap());
        assert_eq!(format_day_start(&havana, day), "2021-03-14T01:00:00-04:00");
        assert_eq!(
            format_day_start(&Zone::default(), 0),
            "1970-01-01T00:00:00+00:00"
        );
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
    fn timespan_formats() {
        assert_eq!(format_timespan(0), "00:00:00");
        assert_eq!(format_timespan(30 * US_PER_MIN), "00:30:00");
        assert_eq!(
            format_timespan(7 * US_PER_HOUR + 22 * US_PER_MIN + 57 * US_PER_SEC + 654_000),
            "07:22:57.6540000"
        );
        assert_eq!(format_timespan(US_PER_DAY - 1), "23:59:59.9999990");
        assert_eq!(format_timespan(US_PER_DAY), "1.00:00:00");
        assert_eq!(
            format_timespan(
                US_PER_DAY + 2 * US_PER_HOUR + 3 * US_PER_MIN + 4 * US_PER_SEC + 500_000
            ),
            "1.02:03:04.5000000"
        );
        assert_eq!(format_timespan(1), "00:00:00.0000010");
        assert_eq!(format_timespan(400 * US_PER_DAY), "400.00:00:00");
    }

    #[test]
    fn fast_rfc3339_equals_chrono() {
        for us in [
            0i64,
            1,
            -1,
            1_617_264_000_000_001,
            253_402_300_799_999_999,
            -62_135_596_800_000_000,
            951_782_400_123_456,
        ] {
            let chrono = naive(us).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
            assert_eq!(format_rfc3339_utc(us), chrono);
        }
    }

    /// The fast formatters against the plain ones they replace: chrono's
    /// strftime and `format!`.
    #[test]
    fn fast_endpoint_formats_equal_chrono_and_format() {
        fn timespan(us: Micros) -> String {
            let sign = if us < 0 { "-" } else { "" };
            let us = us.unsigned_abs();
            let (days, rem) = (us / US_PER_DAY as u64, us % US_PER_DAY as u64);
            let (h, m, s) = (
                rem / US_PER_HOUR as u64,
                rem % US_PER_HOUR as u64 / US_PER_MIN as u64,
                rem % US_PER_MIN as u64 / US_PER_SEC as u64,
            );
            let frac = rem % US_PER_SEC as u64;
            let days = if days > 0 {
                format!("{days}.")
            } else {
                String::new()
            };
            let frac = if frac > 0 {
                format!(".{:07}", frac * 10)
            } else {
                String::new()
            };
            format!("{sign}{days}{h:02}:{m:02}:{s:02}{frac}")
        }
        // chrono's %:z rounds an offset with seconds to minutes but keeps
        // the true wall time, so it names another instant there: for those
        // zones the check is that the date names this instant (ms truncated).
        fn date(utc_us: Micros, zone: &Zone) -> String {
            let off = zone.offset_at(utc_us);
            FixedOffset::east_opt(off)
                .unwrap()
                .from_local_datetime(&naive(utc_us + i64::from(off) * US_PER_SEC))
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                .to_string()
        }
        fn names(text: &str) -> Micros {
            chrono::DateTime::parse_from_rfc3339(text)
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .timestamp_micros()
        }
        let zones: Vec<Zone> = [
            "UTC",
            "+05:45",
            "-09:30",
            "Europe/Dublin",   // -00:25:21 until 1916
            "Africa/Monrovia", // -00:44:30 until 1972
            "America/St_Johns",
            "Asia/Kolkata",
        ]
        .iter()
        .map(|z| z.parse().unwrap())
        .collect();
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
        let edges = [
            0,
            1,
            -1,
            999,
            1_000,
            US_PER_DAY - 1,
            US_PER_DAY,
            MIN_INSTANT + US_PER_DAY,
            MAX_INSTANT - US_PER_DAY,
            -2_208_988_800 * US_PER_SEC, // 1900
            -1_893_456_000 * US_PER_SEC, // 1910: Dublin and Monrovia had offsets with seconds
        ];
        let random = (0..20_000)
            .map(|_| rng.random_range(MIN_INSTANT + US_PER_DAY..MAX_INSTANT - US_PER_DAY));
        for us in edges.into_iter().chain(random) {
            assert_eq!(format_timespan(us), timespan(us), "{us}");
            for z in &zones {
                let got = format_endpoint_date(us, z);
                assert_eq!(
                    names(&got),
                    us - us.rem_euclid(1000),
                    "{got} for {us} in {z}"
                );
                if z.offset_at(us) % 60 == 0 {
                    assert_eq!(got, date(us, z), "{us} in {z}");
                }
            }
        }
    }

    #[test]
    fn offsets_with_seconds_print_the_same_instant() {
        let monrovia: Zone = "Africa/Monrovia".parse().unwrap();
        let t = utc("1970-06-01T12:00:00Z");
        assert_eq!(monrovia.offset_at(t), -(44 * 60 + 30));
        // -00:44:30 prints as -00:45, the wall time with it: 11:15 names 12:00Z.
        assert_eq!(
            format_endpoint_date(t, &monrovia),
            "1970-06-01T11:15:00.000-00:45"
        );
        // Dublin Mean Time, -00:25:21 until 1916: rounds to -00:25.
        let dublin: Zone = "Europe/Dublin".parse().unwrap();
        let t = utc("1910-01-01T00:00:00Z");
        assert_eq!(dublin.offset_at(t), -(25 * 60 + 21));
        assert_eq!(
            format_endpoint_date(t, &dublin),
            "1909-12-31T23:35:00.000-00:25"
        );
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
    fn endpoint_dates() {
        let z = Zone::default();
        assert_eq!(
            format_endpoint_date(utc("2000-01-23T04:56:07Z"), &z),
            "2000-01-23T04:56:07.000+00:00"
        );
        // milliseconds are truncated, not rounded
        assert_eq!(
            format_endpoint_date(utc("2000-01-23T04:56:07.999999Z"), &z),
            "2000-01-23T04:56:07.999+00:00"
        );
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            format_endpoint_date(utc("2021-01-15T12:00:00Z"), &berlin),
            "2021-01-15T13:00:00.000+01:00"
        );
        assert_eq!(
            format_endpoint_date(utc("2021-07-15T12:00:00Z"), &berlin),
            "2021-07-15T14:00:00.000+02:00"
        );
        let ny: Zone = "America/New_York".parse().unwrap();
        assert_eq!(
            format_endpoint_date(utc("2021-01-01T03:00:00.5Z"), &ny),
            "2020-12-31T22:00:00.500-05:00"
        );
        let fixed: Zone = "+05:30".parse().unwrap();
        assert_eq!(
            format_endpoint_date(utc("2021-01-01T00:00:00Z"), &fixed),
            "2021-01-01T05:30:00.000+05:30"
        );
    }

    #[test]
    fn request_date_forms() {
        let base = utc("2021-04-01T00:00:00Z");
        assert_eq!(utc("2021-04-01"), base);
        assert_eq!(utc("2021-04-01T12:00"), base + 12 * US_PER_HOUR);
        assert_eq!(utc("2021-04-01T12:00:00"), base + 12 * US_PER_HOUR);
        assert_eq!(utc("2021-04-01 12:00:00"), base + 12 * US_PER_HOUR);
        assert_eq!(
            utc("2021-04-01T12:00:00.123456Z"),
            base + 12 * US_PER_HOUR + 123_456
        );
        assert_eq!(
            utc("2021-04-01T12:00:00.1"),
            base + 12 * US_PER_HOUR + 100_000
        );
        // digits past microseconds are truncated
        assert_eq!(
            utc("2021-04-01T12:00:00.1234569"),
            base + 12 * US_PER_HOUR + 123_456
        );
        assert_eq!(utc("2021-04-01T12:00:00+02:00"), base + 10 * US_PER_HOUR);
        assert_eq!(
            utc("2021-04-01T12:00:00-0530"),
            base + 17 * US_PER_HOUR + 30 * US_PER_MIN
        );
        assert_eq!(utc("2021-04-01T12:00+02"), base + 10 * US_PER_HOUR);
        assert_eq!(utc("  2021-04-01T12:00:00z "), base + 12 * US_PER_HOUR);
        assert_eq!(utc("1969-12-31T23:59:59.999999Z"), -1);
    }

    #[test]
    fn bad_timestamps_are_named() {
        for text in [
            "",
            "2021-02-30",
            "2021-13-01",
            "2021-04-01T24:00",
            "2021-04-01T12:60",
            "2021-04-01T12:00:61",
            "yesterday",
            "2021-4-1",
            "2021-04-01T12",
            "2021-04-01T12:00:00.",
            "2021-04-01T12:00:00+25:00",
            "2021-04-01T12:00:00 UTC",
            "2021-04-01T12:00:00Zjunk",
            "12:00",
            "2021-04-01T1200",
        ] {
            assert!(parse_time(text).is_err(), "{text:?} should be rejected");
        }
        assert!(parse_time("2021-02-29")
            .unwrap_err()
            .0
            .contains("not a calendar date"));
        assert!(parse_time("2020-02-29").is_ok());
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

    #[test]
    fn idle_after_forms() {
        assert_eq!(parse_idle_after("15m"), Ok(Some(15 * US_PER_MIN)));
        assert_eq!(parse_idle_after("90s"), Ok(Some(90 * US_PER_SEC)));
        assert_eq!(parse_idle_after("1h30m"), Ok(Some(90 * US_PER_MIN)));
        assert_eq!(parse_idle_after("250ms"), Ok(Some(250_000)));
        assert_eq!(parse_idle_after("0s"), Ok(Some(0)));
        assert_eq!(parse_idle_after("off"), Ok(None));
        for bad in [
            "",
            "15",
            "m",
            "1.5m",
            "15 minutes",
            "-5m",
            "1h1h",
            "99999999999999999999h",
        ] {
            assert!(parse_idle_after(bad).is_err(), "{bad:?}");
        }
    }
}
