//! The parsers that take user text (request body and fields, `--idle-after`,
//! timestamps, zones, ids, kinds) under arbitrary input: no input makes them
//! panic, and what they accept means what it says. cargo-fuzz needs a nightly
//! toolchain, which this project's machines cannot fetch, so this is proptest
//! with many cases, from random bytes and from near-valid shapes.

use proptest::prelude::*;
use sessionstat::load::convert::parse_int32;
use sessionstat::model::Kind;
use sessionstat::request::RawRequest;
use sessionstat::time::{parse_idle_after, parse_time, Zone};

/// Text built from the characters timestamps are made of, so that many cases
/// get deep into the parser.
fn time_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            '0', '1', '2', '3', '5', '9', '-', ':', 'T', ' ', '.', 'Z', '+', ',', 'z',
        ]),
        0..32,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn timestamps_never_panic(s in any::<String>(), t in time_like()) {
        let zone: Zone = "Europe/Berlin".parse().unwrap();
        for text in [&s, &t] {
            if let Ok(p) = parse_time(text) {
                let _ = zone.resolve(p);
                let _ = Zone::default().resolve(p);
            }
        }
    }

    #[test]
    fn accepted_timestamps_mean_what_they_say(
        secs in -62_000_000_000i64..250_000_000_000, micros in 0i64..1_000_000, off_min in -1439i32..1440,
    ) {
        let off = chrono::FixedOffset::east_opt(off_min * 60).unwrap();
        let t = chrono::DateTime::from_timestamp(secs, (micros * 1000) as u32).unwrap().with_timezone(&off);
        let text = t.format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string();
        let p = parse_time(&text).unwrap();
        prop_assert_eq!(Zone::default().resolve(p).unwrap(), secs * 1_000_000 + micros);
    }

    #[test]
    fn idle_after_never_panics(s in any::<String>(), n in any::<u64>(), unit in "(d|h|m|s|ms|us|x|)") {
        let _ = parse_idle_after(&s);
        let text = format!("{n}{unit}");
        if let Ok(Some(us)) = parse_idle_after(&text) {
            prop_assert!(us >= 0);
        }
    }

    #[test]
    fn requests_never_panic(
        body in any::<String>(),
        start in prop::option::of(time_like()),
        count in prop::option::of("-?[0-9]{0,12}"),
        json_count in any::<i64>(),
        json_float in any::<f64>(),
    ) {
        let zone = Zone::default();
        let _ = RawRequest::from_json(&body).map(|r| r.check(&zone));
        let _ = RawRequest::from_flags(start.as_deref(), None, count.as_deref(), None).check(&zone);
        for v in [serde_json::json!(json_count), serde_json::json!(json_float), serde_json::json!(start)] {
            let body = serde_json::json!({ "sessionCount": v.clone(), "pageIndex": v.clone(), "start": v }).to_string();
            if let Ok(Ok(r)) = RawRequest::from_json(&body).map(|r| r.check(&zone)) {
                prop_assert!(r.session_count <= 1000);
            }
        }
    }

    #[test]
    fn zones_ids_and_kinds_never_panic(s in any::<String>()) {
        let _ = s.parse::<Zone>();
        let _ = parse_int32(&s);
        let _ = Kind::parse(&s);
    }
}

/// Inputs that once looked risky, kept as regression cases.
#[test]
fn regressions() {
    for text in [
        "",
        " ",
        "2",
        "9999-12-31T23:59:59.999999-23:59",
        "0000-01-01T00:00:00+23:59",
        "2021-04-01T",
        "2021-04-01T12:",
        "2021-04-01T12:00:",
        "2021-04-01T12:00:00.",
        "٢٠٢١-04-01",
    ] {
        let _ = parse_time(text);
    }
    assert!(
        parse_time("٢٠٢١-04-01").is_err(),
        "non-ASCII digits are not digits"
    );
    for text in [
        "9223372036854775807us",
        "106751991167d",
        "1h1m1s1ms1us",
        "ms",
        "1ḿ",
    ] {
        let _ = parse_idle_after(text);
    }
    assert!(
        parse_idle_after("106751991167d").is_err(),
        "overflow is an error"
    );
}
