//! The endpoint's output forms: .NET "c" timespans, offset dates in the
//! zone, RFC 3339 UTC, and .NET's shortest doubles; all written from
//! integers, digits pushed straight into the buffer.

use super::*;
use chrono::Datelike;

/// A length of time in the .NET TimeSpan "c" format: `[d.]hh:mm:ss[.fffffff]`,
/// seven fraction digits (100 ns ticks) left out when zero.
pub fn format_timespan(us: Micros) -> String {
    let mut buf = Vec::with_capacity(24);
    push_timespan(&mut buf, us);
    String::from_utf8(buf).expect("ascii")
}

/// Appends `format_timespan(us)`.
pub fn push_timespan(buf: &mut Vec<u8>, us: Micros) {
    if us < 0 {
        buf.push(b'-');
    }
    let us = us.unsigned_abs();
    let (days, rem) = (us / US_PER_DAY as u64, us % US_PER_DAY as u64);
    let two = |buf: &mut Vec<u8>, v: u64| push_digits(buf, v as i64, 2);
    if days > 0 {
        push_digits(buf, days as i64, 1);
        buf.push(b'.');
    }
    two(buf, rem / US_PER_HOUR as u64);
    buf.push(b':');
    two(buf, rem % US_PER_HOUR as u64 / US_PER_MIN as u64);
    buf.push(b':');
    two(buf, rem % US_PER_MIN as u64 / US_PER_SEC as u64);
    let frac = rem % US_PER_SEC as u64;
    if frac > 0 {
        buf.push(b'.');
        push_digits(buf, (frac * 10) as i64, 7);
    }
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
pub(crate) fn printed_offset_minutes(offset_secs: i32) -> i64 {
    let secs = i64::from(offset_secs);
    secs.signum() * ((secs.abs() + 30) / 60)
}

/// "00" to "99", two digits at a time.
const PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// Appends `v` in decimal, zero-padded to at least `width` digits (at
/// most 20). The bulk writers' hot path: no call per number, two digits
/// per division.
#[inline]
pub fn push_digits(buf: &mut Vec<u8>, v: i64, width: usize) {
    let mut n = v.unsigned_abs();
    let digits = n.checked_ilog10().map_or(1, |d| d as usize + 1);
    let len = digits.max(width.min(20)) + usize::from(v < 0);
    // Zeros (the padding) of a fixed length, which copies without a call,
    // then cut to the number's; the digits go in from the right.
    let at = buf.len();
    buf.extend_from_slice(&[b'0'; 21]);
    buf.truncate(at + len);
    let out = &mut buf[at..];
    if v < 0 {
        out[0] = b'-';
    }
    let mut i = len;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        out[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        out[i - 2..i].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else if n > 0 {
        out[i - 1] = b'0' + n as u8;
    }
}

/// Appends `YYYY-MM-DD{sep}hh:mm:ss.ffffff` for a wall-clock time in
/// microseconds: the fast path for bulk output (CSV rollups, generated logs).
/// Years 0-9999 are filled into a text of fixed length, two digits at a
/// time, and copied in one piece.
#[inline]
pub fn push_wall_time(buf: &mut Vec<u8>, wall_us: Micros, sep: u8) {
    let days = wall_us.div_euclid(US_PER_DAY);
    let rem = wall_us.rem_euclid(US_PER_DAY);
    let date = date_of_day(days).expect("date within chrono's range");
    let Ok(year @ 0..=9999) = u32::try_from(date.year()) else {
        return push_wall_time_digits(buf, date, rem, sep);
    };
    let mut text = *b"0000-00-00T00:00:00.000000";
    let mut put = |at: usize, v: u32| {
        let pair = v as usize * 2;
        text[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    };
    put(0, year / 100);
    put(2, year % 100);
    put(5, date.month());
    put(8, date.day());
    let (secs, micros) = ((rem / US_PER_SEC) as u32, (rem % US_PER_SEC) as u32);
    put(11, secs / 3600);
    put(14, secs / 60 % 60);
    put(17, secs % 60);
    put(20, micros / 10_000);
    put(22, micros / 100 % 100);
    put(24, micros % 100);
    text[10] = sep;
    buf.extend_from_slice(&text);
}

/// `push_wall_time` for any year, a field at a time.
fn push_wall_time_digits(buf: &mut Vec<u8>, date: chrono::NaiveDate, rem: Micros, sep: u8) {
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

/// A local day's first instant as User Productivity writes `date` (SPEC
/// 8.2): local time with its offset, no fraction (`2021-09-03T00:00:00+05:00`);
/// where the zone skips midnight, the local time after the jump.
pub fn format_day_start(zone: &Zone, day: i64) -> String {
    let mut s = format_endpoint_date(day_start(zone, day), zone);
    // yyyy-MM-ddTHH:mm:ss.fff+hh:mm: drop the milliseconds
    s.replace_range(19..23, "");
    s
}

/// A local hour as Application and URL Statistics write `timeOfDay` (SPEC
/// 13.3): `YYYY-MM-DDTHH:00:00` and the offset in force (in seconds, printed
/// in whole minutes as every endpoint date is).
pub fn format_hour_label(day: i64, hour: u8, offset_secs: i32) -> String {
    let mut buf = Vec::with_capacity(25);
    push_hour_label(&mut buf, day, hour, offset_secs);
    String::from_utf8(buf).expect("ascii")
}

/// Appends `format_hour_label(day, hour, offset_secs)`.
pub fn push_hour_label(buf: &mut Vec<u8>, day: i64, hour: u8, offset_secs: i32) {
    let at = buf.len();
    push_wall_time(buf, day * US_PER_DAY + i64::from(hour) * US_PER_HOUR, b'T');
    buf.truncate(at + 19);
    let minutes = printed_offset_minutes(offset_secs);
    buf.push(if minutes < 0 { b'-' } else { b'+' });
    push_digits(buf, minutes.abs() / 60, 2);
    buf.push(b':');
    push_digits(buf, minutes.abs() % 60, 2);
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
    // Most values: ryu's plain form inside .NET's plain range is the
    // answer, but for the `.0` ryu gives an integral value.
    if !text.contains(&b'e') {
        let exp = match text.strip_prefix(b"0.") {
            Some(frac) => -(frac.iter().take_while(|&&c| c == b'0').count() as i32) - 1,
            None => text.iter().position(|&c| c == b'.').unwrap_or(text.len()) as i32 - 1,
        };
        if -5 < exp && exp < 15 {
            buf.extend_from_slice(text.strip_suffix(b".0").unwrap_or(text));
            return;
        }
    }
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
    use chrono::{FixedOffset, NaiveDate, TimeZone};

    /// The fixed-length text and the field-at-a-time one agree, and both
    /// equal chrono's, across years, days and fractions.
    #[test]
    fn wall_times_as_chrono_prints_them() {
        let mut at = -62_135_596_800_000_000i64; // 0001-01-01
        let step = 7_777_777_777_777i64 + 123_457;
        while at < 253_402_300_800_000_000 {
            // 10000-01-01
            for t in [at, at + 999_999, at - at.rem_euclid(US_PER_DAY)] {
                let date = date_of_day(t.div_euclid(US_PER_DAY)).unwrap();
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                push_wall_time(&mut fast, t, b'T');
                push_wall_time_digits(&mut slow, date, t.rem_euclid(US_PER_DAY), b'T');
                let chrono = chrono::DateTime::from_timestamp_micros(t)
                    .unwrap()
                    .format("%Y-%m-%dT%H:%M:%S%.6f")
                    .to_string();
                assert_eq!(String::from_utf8(fast).unwrap(), chrono);
                assert_eq!(String::from_utf8(slow).unwrap(), chrono);
            }
            at += step;
        }
    }

    /// Every length and sign, with and without padding, as Rust prints it.
    #[test]
    fn digits_as_rust_prints_them() {
        let mut values = vec![0i64, i64::MIN, i64::MAX, -1, 9, 10, 99, 100, 101];
        let mut p = 1i64;
        for _ in 0..18 {
            p *= 10;
            values.extend([p - 1, p, p + 1, -p, -p + 1, p / 3 * 2]);
        }
        for v in values {
            for width in [0, 1, 2, 4, 6, 20] {
                let mut buf = b"x".to_vec();
                push_digits(&mut buf, v, width);
                let sign = if v < 0 { "-" } else { "" };
                let want = format!("x{sign}{:0width$}", v.unsigned_abs());
                assert_eq!(String::from_utf8(buf).unwrap(), want, "{v} {width}");
            }
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
        // the edges of the plain range, on both sides
        assert_eq!(format_dotnet_double(0.0001), "0.0001");
        assert_eq!(format_dotnet_double(0.00001), "1E-05");
        assert_eq!(format_dotnet_double(-0.00012), "-0.00012");
        assert_eq!(format_dotnet_double(1e14), "100000000000000");
        assert_eq!(format_dotnet_double(999999999999999.0), "999999999999999");
        assert_eq!(
            format_dotnet_double(1234567890123456.0),
            "1.234567890123456E+15"
        );
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
}
