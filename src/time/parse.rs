//! Timestamp and length texts as the logs, requests and flags write them:
//! a small fixed-position parser (it runs once per event; chrono's
//! format-driven parser dominated a CSV load), chrono still validating the
//! calendar.

use super::*;
use crate::error::BadValue;

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

pub(crate) fn bad(rule: impl Into<String>) -> TimeError {
    TimeError(rule.into())
}

pub(crate) const FORMS: &str = "expected YYYY-MM-DD[(T| )hh:mm[:ss[.fraction]]][Z|+hh:mm|-hh:mm]";

pub(crate) struct Cursor<'a> {
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

    fn utc(text: &str) -> Micros {
        Zone::default().resolve(parse_time(text).unwrap()).unwrap()
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
