//! Periods of local time (SPEC 7.1): days, ISO weeks and months in `--tz`,
//! each with its window, and the dates the command line takes for them.
//!
//! A day starts at the first instant of its local date (a local midnight,
//! or the first instant after a transition that skips it), a week on its
//! Monday's day start, a month on its first day's start. A period's window
//! runs from its start to the next period's start minus one microsecond,
//! both inclusive, so consecutive windows neither overlap nor leave a gap,
//! whatever the zone's clock changes.

use crate::error::BadValue;
use crate::time::{date_of_day, day_number, day_start, local_day, Micros, Zone};
use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use std::fmt;

/// How a backfill cuts time: `--every day|week|month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Every {
    Day,
    Week,
    Month,
}

impl Every {
    /// The hive key of a period folder: `day`, `week` or `month`.
    pub fn key(self) -> &'static str {
        match self {
            Every::Day => "day",
            Every::Week => "week",
            Every::Month => "month",
        }
    }
}

/// One period: its first local date and its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub every: Every,
    /// The first date: the day itself, the week's Monday, the month's 1st.
    pub first: NaiveDate,
    /// The window, inclusive at both ends (UTC microseconds).
    pub start: Micros,
    pub end: Micros,
}

impl Period {
    /// The period of `every` that contains the local date `date`.
    pub fn containing(every: Every, date: NaiveDate, zone: &Zone) -> Period {
        let first = first_of(every, date);
        let next = following(every, first);
        Period {
            every,
            first,
            start: day_start(zone, day_number(first)),
            end: day_start(zone, day_number(next)) - 1,
        }
    }

    /// The period right after this one.
    pub fn next(&self, zone: &Zone) -> Period {
        Period::containing(self.every, following(self.every, self.first), zone)
    }

    /// The rule the period breaks when its window reaches outside years
    /// 0001-9999 (in UTC or in `zone`), where no instant can be written.
    pub fn out_of_range(&self, zone: &Zone) -> Option<String> {
        let side = if crate::time::out_of_range(self.start, zone).is_some() {
            "starts before year 0001"
        } else if crate::time::out_of_range(self.end, zone).is_some() {
            "ends after year 9999"
        } else {
            return None;
        };
        Some(format!(
            "the {} from {} in {zone} {side} (in UTC or in --tz, where its dates are written), and the tool writes only instants of years 0001-9999",
            self.every.key(),
            self.first,
        ))
    }

    /// The folder of this period in a hive dataset: `day=2024-03-31`.
    pub fn folder(&self) -> String {
        format!("{}={}", self.every.key(), self.first.format("%Y-%m-%d"))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.folder())
    }
}

/// Every period from the one containing `from` to the one containing `to`,
/// both included (none when `from` is after `to`).
pub fn periods(every: Every, from: NaiveDate, to: NaiveDate, zone: &Zone) -> Vec<Period> {
    let mut out = Vec::new();
    if from > to {
        return out;
    }
    let mut p = Period::containing(every, from, zone);
    while p.first <= to {
        out.push(p);
        p = p.next(zone);
    }
    out
}

/// How many periods `periods` gives, without making them: a backfill
/// checks it against `--max-periods` before anything else.
pub fn count(every: Every, from: NaiveDate, to: NaiveDate) -> u64 {
    if from > to {
        return 0;
    }
    let (a, b) = (first_of(every, from), first_of(every, to));
    let n = match every {
        Every::Day => (b - a).num_days(),
        Every::Week => (b - a).num_days() / 7,
        Every::Month => {
            i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month())
        }
    };
    n as u64 + 1
}

/// The first date of the period of `every` that holds `date`.
fn first_of(every: Every, date: NaiveDate) -> NaiveDate {
    match every {
        Every::Day => date,
        Every::Week => date.week(Weekday::Mon).first_day(),
        Every::Month => date.with_day(1).expect("every month has a 1st"),
    }
}

/// The first date of the period after the one starting on `first`.
fn following(every: Every, first: NaiveDate) -> NaiveDate {
    let next = match every {
        Every::Day => first.checked_add_days(Days::new(1)),
        Every::Week => first.checked_add_days(Days::new(7)),
        Every::Month => first.checked_add_months(Months::new(1)),
    };
    next.expect("dates of years 1-9999 have a next period")
}

/// A date of the command line: `YYYY-MM-DD`, `today` or `yesterday` (local
/// dates in `zone` at `now`); the error is the rule it breaks.
pub fn parse_date(text: &str, zone: &Zone, now: Micros) -> Result<NaiveDate, BadValue> {
    let today = || date_of_day(local_day(zone, now)).expect("now is a date");
    match text.trim() {
        t if t.eq_ignore_ascii_case("today") => Ok(today()),
        t if t.eq_ignore_ascii_case("yesterday") => Ok(today().pred_opt().expect("a day before")),
        t => {
            let b = t.as_bytes();
            let shape = b.len() == 10
                && b.iter().enumerate().all(|(i, c)| match i {
                    4 | 7 => *c == b'-',
                    _ => c.is_ascii_digit(),
                });
            if !shape {
                return Err("must be a date YYYY-MM-DD, today or yesterday".into());
            }
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .filter(|d| d.year() >= 1)
                .ok_or_else(|| format!("{t} is not a calendar date").into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_rfc3339_utc, US_PER_DAY, US_PER_HOUR};

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn zone(s: &str) -> Zone {
        s.parse().unwrap()
    }

    /// The window of a period as `[start, end]` in UTC text.
    fn window(p: &Period) -> (String, String) {
        (format_rfc3339_utc(p.start), format_rfc3339_utc(p.end))
    }

    #[test]
    fn counts_match_the_periods_made() {
        let utc = zone("UTC");
        for (from, to) in [
            ("2024-01-01", "2024-01-01"),
            ("2023-12-31", "2024-03-01"),
            ("2021-01-04", "2021-01-03"),
            ("2020-02-29", "2024-02-28"),
            ("1999-12-27", "2000-01-09"),
        ] {
            for every in [Every::Day, Every::Week, Every::Month] {
                let made = periods(every, date(from), date(to), &utc).len() as u64;
                assert_eq!(
                    count(every, date(from), date(to)),
                    made,
                    "{every:?} {from} {to}"
                );
            }
        }
        assert_eq!(
            count(Every::Day, date("1900-01-01"), date("2000-12-31")),
            36890
        );
    }

    #[test]
    fn windows_outside_years_1_to_9999_are_told() {
        let tokyo = zone("Asia/Tokyo");
        let ny = zone("America/New_York");
        let first = Period::containing(Every::Day, date("0001-01-01"), &tokyo);
        assert!(first.out_of_range(&tokyo).is_some());
        assert!(Period::containing(Every::Day, date("0001-01-01"), &ny)
            .out_of_range(&ny)
            .is_none());
        let last = Period::containing(Every::Day, date("9999-12-31"), &ny);
        assert!(last
            .out_of_range(&ny)
            .unwrap()
            .contains("ends after year 9999"));
        assert!(first
            .out_of_range(&tokyo)
            .unwrap()
            .contains("starts before year 0001"));
        assert!(Period::containing(Every::Day, date("9999-12-31"), &tokyo)
            .out_of_range(&tokyo)
            .is_none());
        let utc = zone("UTC");
        assert!(Period::containing(Every::Month, date("9999-12-31"), &utc)
            .out_of_range(&utc)
            .is_none());
        assert!(Period::containing(Every::Day, date("9999-12-30"), &ny)
            .out_of_range(&ny)
            .is_none());
    }

    #[test]
    fn days_follow_the_zones_clock_changes() {
        let berlin = zone("Europe/Berlin");
        // 2024-03-31: clocks go 02:00 -> 03:00, a 23-hour day.
        let d = Period::containing(Every::Day, date("2024-03-31"), &berlin);
        assert_eq!(
            window(&d),
            (
                "2024-03-30T23:00:00.000000Z".to_string(),
                "2024-03-31T21:59:59.999999Z".to_string()
            )
        );
        assert_eq!(d.end - d.start + 1, 23 * US_PER_HOUR);
        // 2024-10-27: 03:00 -> 02:00, a 25-hour day.
        let d = Period::containing(Every::Day, date("2024-10-27"), &berlin);
        assert_eq!(d.end - d.start + 1, 25 * US_PER_HOUR);
        // New York's spring change, 2024-03-10.
        let ny = zone("America/New_York");
        let d = Period::containing(Every::Day, date("2024-03-10"), &ny);
        assert_eq!(window(&d).0, "2024-03-10T05:00:00.000000Z");
        assert_eq!(d.end - d.start + 1, 23 * US_PER_HOUR);
        assert_eq!(d.folder(), "day=2024-03-10");
    }

    #[test]
    fn a_day_that_skips_midnight_starts_after_the_change() {
        // Havana moved clocks from 00:00 to 01:00 on 2021-03-14.
        let havana = zone("America/Havana");
        let d = Period::containing(Every::Day, date("2021-03-14"), &havana);
        assert_eq!(window(&d).0, "2021-03-14T05:00:00.000000Z");
        let before = Period::containing(Every::Day, date("2021-03-13"), &havana);
        assert_eq!(before.end + 1, d.start);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let utc = Zone::default();
        // 2024-01-01 is a Monday; 2023-12-31 a Sunday of the week before.
        let w = Period::containing(Every::Week, date("2024-01-03"), &utc);
        assert_eq!(w.first, date("2024-01-01"));
        assert_eq!(w.end - w.start + 1, 7 * US_PER_DAY);
        let w = Period::containing(Every::Week, date("2023-12-31"), &utc);
        assert_eq!(w.folder(), "week=2023-12-25");
        let m = Period::containing(Every::Month, date("2024-02-29"), &utc);
        assert_eq!(m.folder(), "month=2024-02-01");
        assert_eq!(m.end - m.start + 1, 29 * US_PER_DAY);
        let berlin = zone("Europe/Berlin");
        let m = Period::containing(Every::Month, date("2024-03-15"), &berlin);
        assert_eq!(m.end - m.start + 1, 31 * US_PER_DAY - US_PER_HOUR);
    }

    #[test]
    fn consecutive_windows_tile_time() {
        for z in [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
            "+13:45",
        ] {
            let zone = zone(z);
            for every in [Every::Day, Every::Week, Every::Month] {
                let all = periods(every, date("2023-12-20"), date("2025-01-10"), &zone);
                assert!(all.first().unwrap().first <= date("2023-12-20"));
                assert!(all.last().unwrap().first <= date("2025-01-10"));
                assert!(all.last().unwrap().next(&zone).first > date("2025-01-10"));
                for w in all.windows(2) {
                    assert_eq!(w[0].end + 1, w[1].start, "{z} {every:?} {}", w[0]);
                    assert!(w[0].start <= w[0].end);
                }
                // Each window's start is the first instant of its first local date.
                for p in &all {
                    assert_eq!(day_number(p.first), local_day(&zone, p.start));
                    assert!(local_day(&zone, p.start - 1) < day_number(p.first));
                }
            }
        }
        assert!(periods(
            Every::Day,
            date("2024-01-02"),
            date("2024-01-01"),
            &Zone::default()
        )
        .is_empty());
        assert_eq!(
            periods(
                Every::Month,
                date("2024-01-31"),
                date("2024-02-01"),
                &Zone::default()
            )
            .len(),
            2
        );
    }

    #[test]
    fn command_line_dates() {
        let utc = Zone::default();
        let berlin = zone("Europe/Berlin");
        // 2024-03-31T22:30Z is already April 1st in Berlin.
        let now = 1_711_924_200 * 1_000_000;
        assert_eq!(parse_date("today", &utc, now), Ok(date("2024-03-31")));
        assert_eq!(parse_date("Today", &berlin, now), Ok(date("2024-04-01")));
        assert_eq!(
            parse_date("yesterday", &berlin, now),
            Ok(date("2024-03-31"))
        );
        assert_eq!(
            parse_date(" 2024-02-29 ", &utc, now),
            Ok(date("2024-02-29"))
        );
        assert!(parse_date("2023-02-29", &utc, now)
            .unwrap_err()
            .contains("not a calendar date"));
        for bad in [
            "",
            "2024-2-01",
            "2024/02/01",
            "20240201",
            "tomorrow",
            "2024-02-01T00:00",
        ] {
            assert!(
                parse_date(bad, &utc, now)
                    .unwrap_err()
                    .contains("YYYY-MM-DD"),
                "{bad}"
            );
        }
    }
}
