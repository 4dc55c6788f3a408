//! `sessionstat generate`: deterministic, time-ordered, readable back in every format.

use crate::util::{sessionstat, Dir};

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let d = Dir::new();
    let (a, b, c) = (d.path("a.csv"), d.path("b.csv"), d.path("c.csv"));
    for (p, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        sessionstat(&[
            "generate",
            "--out",
            p.to_str().unwrap(),
            "--seed",
            seed,
            "--users",
            "12",
            "--days",
            "3",
            "--quiet",
        ])
        .ok();
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

#[test]
fn exact_event_count_in_time_order() {
    let d = Dir::new();
    let p = d.path("e.csv");
    sessionstat(&[
        "generate",
        "--out",
        p.to_str().unwrap(),
        "--events",
        "5000",
        "--users",
        "15",
        "--tz",
        "America/New_York",
        "--time-style",
        "utc",
        "--quiet",
    ])
    .ok();
    let text = std::fs::read_to_string(&p).unwrap();
    let ts: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap())
        .collect();
    assert_eq!(ts.len(), 5000);
    // UTC text with a fixed width sorts as time does
    assert!(
        ts.windows(2).all(|w| w[0] <= w[1]),
        "events out of time order"
    );
    let kinds: std::collections::HashSet<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    for k in ["login", "activity", "idle", "logout"] {
        assert!(kinds.contains(k), "no {k} events");
    }
}

#[test]
fn every_format_and_time_style_reads_back_to_one_answer() {
    let d = Dir::new();
    let mut answers = Vec::new();
    for (name, style) in [
        ("x.csv", "offset"),
        ("x.parquet", "utc"),
        ("x.ndjson", "offset"),
        ("x.csv.gz", "naive"),
        ("y.parquet", "naive"),
    ] {
        let p = d.path(name);
        let p = p.to_str().unwrap();
        sessionstat(&[
            "generate",
            "--out",
            p,
            "--users",
            "30",
            "--days",
            "4",
            "--tz",
            "Europe/Berlin",
            "--time-style",
            style,
            "--quiet",
        ])
        .ok();
        let out = sessionstat(&[
            "sessions",
            "--input",
            p,
            "--tz",
            "Europe/Berlin",
            "--start",
            "2021-03-26",
            "--end",
            "2021-03-28T12:00",
        ])
        .ok();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v["totalCount"].as_u64().unwrap() > 20, "{name}: {out:.200}");
        answers.push((name, out));
    }
    // The window avoids the October overlap, so naive files lose nothing in it.
    for (name, out) in &answers[1..] {
        assert_eq!(out, &answers[0].1, "{name} differs from {}", answers[0].0);
    }
}
