//! `sessionstat report`: the output folder, hand-computed daily rows, reruns,
//! and the analysts' view through DuckDB.

use crate::util::{sessionstat, Dir};
use polars::prelude::*;

const BASIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/basic.csv");

fn report(input: &str, out: &str, extra: &[&str]) -> String {
    let mut args = vec!["report", "--input", input, "--out", out];
    args.extend_from_slice(extra);
    let run = sessionstat(&args);
    run.ok();
    run.stderr()
}

fn read_parquet(path: &std::path::Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

#[test]
fn writes_every_output_named_in_the_spec() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    let closing = report(BASIC, &out, &["--session-count", "2"]);
    let mut names: Vec<String> = std::fs::read_dir(d.path("r"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "apps.json",
            "daily_app.csv",
            "daily_app.parquet",
            "daily_client.csv",
            "daily_client.parquet",
            "daily_site.csv",
            "daily_site.parquet",
            "daily_user.csv",
            "daily_user.parquet",
            "findings.csv",
            "findings.parquet",
            "hourly_user.csv",
            "hourly_user.parquet",
            "json",
            "productivity.json",
            "rejects.ndjson",
            "report.html",
            "sessions.csv",
            "sessions.parquet",
            "summary.json",
            "urls.json"
        ]
    );
    // 5 sessions in pages of 2: three pages, each with the true count
    for (p, n) in [(0, 2), (1, 2), (2, 1)] {
        let page: serde_json::Value =
            serde_json::from_str(&d.read(&format!("r/json/page-{p:05}.json"))).unwrap();
        assert_eq!(page["totalCount"], 5);
        assert_eq!(page["sessions"].as_array().unwrap().len(), n);
    }
    assert!(!d.path("r/json/page-00003.json").exists());
    // the pages are exactly what `sessions` prints for each page index
    for p in 0..3 {
        let one = sessionstat(&[
            "sessions",
            "--input",
            BASIC,
            "--session-count",
            "2",
            "--page-index",
            &p.to_string(),
        ])
        .ok();
        assert_eq!(d.read(&format!("r/json/page-{p:05}.json")), one);
    }
    let summary: serde_json::Value = serde_json::from_str(&d.read("r/summary.json")).unwrap();
    assert_eq!(summary["counts"]["eventsRead"], 19);
    assert_eq!(summary["counts"]["eventsRejected"], 0);
    assert_eq!(summary["counts"]["sessions"], 5);
    assert_eq!(summary["counts"]["pages"], 3);
    // 65m + 5m + 0 + 310m + 5m of sessions 10, 11, 12, 13, 14
    assert_eq!(summary["totals"]["durationUs"], 385i64 * 60_000_000);
    assert!(
        closing.contains("19 events read")
            && closing.contains("5 sessions")
            && closing.contains("3 pages"),
        "{closing}"
    );
}

#[test]
fn sessions_table_rows() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    report(
        BASIC,
        &out,
        &["--start", "2021-04-01T08:00", "--end", "2021-04-01T12:00"],
    );
    let df = read_parquet(&d.path("r/sessions.parquet"));
    let ids: Vec<i64> = df
        .column("session_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(ids, vec![10, 13, 11, 12]);
    let col_bool = |c: &str| {
        df.column(c)
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(Option::unwrap)
            .collect::<Vec<bool>>()
    };
    // session 13 has events before 08:00 and after 12:00, and a logout (at 12:10)
    assert_eq!(col_bool("clipped_start"), vec![false, true, false, false]);
    assert_eq!(col_bool("clipped_end"), vec![false, true, false, false]);
    // sessions 12 (one activity event) has no logout at all
    assert_eq!(col_bool("open"), vec![false, false, false, true]);
    let events: Vec<i64> = df
        .column("events")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(events, vec![7, 2, 4, 1]);
    let csv = d.read("r/sessions.csv");
    assert_eq!(
        csv.lines().nth(2).unwrap(),
        "13,3,carol,g3,WS-3,2021-04-01T08:00:00.000000Z,2021-04-01T12:00:00.000000Z,14400000000,14400000000,0,2,false,true,true"
    );
}

#[test]
fn daily_rows_by_hand() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    report(BASIC, &out, &[]);
    // alice has sessions 10 (65m: 25m0.000001s idle) and 12 (one event) on April 1st.
    assert_eq!(
        d.read("r/daily_user.csv"),
        "day,user_id,user_name,sessions,first_event,last_event,duration_us,idle_us,productive_us,productivity_ratio\n\
         2021-04-01,1,alice,2,2021-04-01T08:00:00.000000Z,2021-04-01T10:00:00.000000Z,3900000000,1500000001,2399999999,0.6153846151282051\n\
         2021-04-01,2,bob,1,2021-04-01T09:00:00.000000Z,2021-04-01T09:05:00.000000Z,300000000,300000000,0,0\n\
         2021-04-01,3,carol,1,2021-04-01T07:00:00.000000Z,2021-04-01T12:10:00.000000Z,18600000000,18000000000,600000000,0.03225806451612903\n\
         2021-04-02,4,dave,1,2021-04-02T08:00:00.000000Z,2021-04-02T08:05:00.000000Z,300000000,0,300000000,1\n"
    );
}

/// Naive Berlin wall times: one session from Saturday 23:50 over the whole
/// 23-hour DST Sunday to Monday 00:05.
const ACROSS_DST: &str = "session_id,user_id,user_name,client_guid,client_name,timestamp,kind
7,9,=night,g9,WS-9,2021-03-27 23:50:00,activity
7,9,=night,g9,WS-9,2021-03-28 00:10:00,activity
7,9,=night,g9,WS-9,2021-03-28 23:55:00,activity
7,9,=night,g9,WS-9,2021-03-29 00:05:00,logout
";

#[test]
fn spans_split_at_local_midnight_on_a_dst_day() {
    let d = Dir::new();
    let input = d.write("dst.csv", ACROSS_DST);
    let out = d.path("r").display().to_string();
    report(&input, &out, &["--tz", "Europe/Berlin"]);
    // 22:50Z-23:10Z idle 20m, cut at Berlin midnight (23:00Z): 10m + 10m.
    // 23:10Z-21:55Z(+1) idle 22h45m, all on Sunday; 21:55Z-22:05Z productive 10m,
    // cut at 22:00Z: 5m + 5m. Sunday is 23 hours long and covered whole.
    let m = 60_000_000i64;
    let expected = format!(
        "day,client_guid,client_name,sessions,first_event,last_event,duration_us,idle_us,productive_us,productivity_ratio\n\
         2021-03-27,g9,WS-9,1,2021-03-27T22:50:00.000000Z,2021-03-27T22:50:00.000000Z,{},{},0,0\n\
         2021-03-28,g9,WS-9,1,2021-03-27T23:10:00.000000Z,2021-03-28T21:55:00.000000Z,{},{},{},{}\n\
         2021-03-29,g9,WS-9,1,2021-03-28T22:05:00.000000Z,2021-03-28T22:05:00.000000Z,{},0,{},1\n",
        10 * m, 10 * m,
        23 * 60 * m, (23 * 60 - 5) * m, 5 * m, 5.0 / (23.0 * 60.0),
        5 * m, 5 * m
    );
    assert_eq!(d.read("r/daily_client.csv"), expected);
    // the user's name starts with '=': neutralised in CSV, kept in Parquet and JSON
    assert!(d.read("r/daily_user.csv").contains(",'=night,"));
    let df = read_parquet(&d.path("r/daily_user.parquet"));
    assert_eq!(
        df.column("user_name").unwrap().str().unwrap().get(0),
        Some("=night")
    );
    assert!(d
        .read("r/json/page-00000.json")
        .contains(r#""userName":"=night""#));
}

#[test]
fn reruns_are_identical_and_stale_pages_go() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    report(BASIC, &out, &["--session-count", "1"]);
    assert!(d.path("r/json/page-00004.json").exists());
    let snapshot = |d: &Dir| {
        [
            "json/page-00000.json",
            "json/page-00001.json",
            "sessions.csv",
            "daily_user.csv",
            "daily_client.csv",
            "summary.json",
        ]
        .map(|f| d.read(&format!("r/{f}")))
    };
    let first = snapshot(&d);
    let parquet = read_parquet(&d.path("r/sessions.parquet"));
    report(BASIC, &out, &["--session-count", "1"]);
    assert_eq!(snapshot(&d), first);
    assert!(read_parquet(&d.path("r/sessions.parquet")).equals_missing(&parquet));
    // a smaller answer replaces the whole json folder: no page of the old run stays
    report(
        BASIC,
        &out,
        &["--session-count", "1", "--start", "2021-04-02"],
    );
    let pages: Vec<_> = std::fs::read_dir(d.path("r/json")).unwrap().collect();
    assert_eq!(pages.len(), 1);
    // nothing hidden is left behind
    assert!(d.hidden("r").is_empty());
}

#[test]
fn empty_selection_still_writes_page_zero() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    report(BASIC, &out, &["--start", "2030-01-01"]);
    assert_eq!(
        d.read("r/json/page-00000.json"),
        r#"{"sessions":[],"totalCount":0}"#
    );
    assert_eq!(d.read("r/sessions.csv").lines().count(), 1);
    assert_eq!(read_parquet(&d.path("r/daily_user.parquet")).height(), 0);
}

#[test]
fn a_failed_run_leaves_the_previous_outputs() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    report(BASIC, &out, &[]);
    let before = d.read("r/sessions.csv");
    let bad = d.write("bad.csv", "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n1,1,a,g,c,not a time,activity\n");
    sessionstat(&["report", "--input", &bad, "--out", &out]).fails(1);
    assert_eq!(d.read("r/sessions.csv"), before);
}

/// Python with the duckdb package: CI installs it (.ci/run); a developer
/// without it is told how to get it, and CI fails rather than skip.
pub fn python_with_duckdb() -> Option<&'static str> {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some("python3");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have the duckdb Python package (pip install duckdb)"
    );
    eprintln!("SKIPPED: the interop test needs `pip install duckdb`");
    None
}

#[test]
fn duckdb_reads_what_the_csv_and_json_say() {
    let Some(python) = python_with_duckdb() else {
        return;
    };
    let d = Dir::new();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop.py");
    let log = d.path("log.parquet").display().to_string();
    sessionstat(&[
        "generate",
        "--out",
        &log,
        "--users",
        "40",
        "--days",
        "6",
        "--tz",
        "America/New_York",
        "--quiet",
    ])
    .ok();
    for (extra, page) in [
        (vec!["--tz", "America/New_York"], "1000"),
        (
            vec![
                "--tz",
                "Europe/Berlin",
                "--start",
                "2021-03-26T12:00",
                "--end",
                "2021-03-29T06:00",
                "--session-count",
                "7",
            ],
            "7",
        ),
        (vec!["--session-count", "0"], "0"),
    ] {
        let out = d.path("r").display().to_string();
        let mut args = vec!["--quiet"];
        args.extend(extra);
        report(&log, &out, &args);
        let run = std::process::Command::new(python)
            .args([script, &out, page])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "interop check failed:\n{}\n{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

#[test]
fn report_takes_the_request_body_but_not_a_page_index() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    let req = d.write("req.json", r#"{"start":"2021-04-02","sessionCount":3}"#);
    report(BASIC, &out, &["--request", &req]);
    let page: serde_json::Value = serde_json::from_str(&d.read("r/json/page-00000.json")).unwrap();
    assert_eq!(page["totalCount"], 1);
    let req = d.write("req2.json", r#"{"pageIndex":2}"#);
    let err = sessionstat(&["report", "--input", BASIC, "--out", &out, "--request", &req]).fails(2);
    assert!(err.contains("pageIndex"), "{err}");
}

/// Every file of a report folder, by path, with its bytes.
pub fn folder_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn report_day_is_that_local_days_window() {
    let d = Dir::new();
    // Five days around each zone's spring change, sessions over midnight
    // included (the generator's service accounts).
    for (zone, start_date, day, start, end) in [
        (
            "Europe/Berlin",
            "2024-03-29",
            "2024-03-31",
            "2024-03-30T23:00:00.000000Z",
            "2024-03-31T21:59:59.999999Z",
        ),
        (
            "America/New_York",
            "2024-03-08",
            "2024-03-10",
            "2024-03-10T05:00:00.000000Z",
            "2024-03-11T03:59:59.999999Z",
        ),
        (
            "America/New_York",
            "2024-11-01",
            "2024-11-03",
            "2024-11-03T04:00:00.000000Z",
            "2024-11-04T04:59:59.999999Z",
        ),
    ] {
        let log = d.path(&format!("{day}.csv")).display().to_string();
        sessionstat(&[
            "generate",
            "--out",
            &log,
            "--days",
            "5",
            "--users",
            "200",
            "--start-date",
            start_date,
            "--tz",
            zone,
            "-q",
        ])
        .ok();
        let by_day = d.path(&format!("day-{day}"));
        let by_window = d.path(&format!("window-{day}"));
        let common = ["--tz", zone, "--session-count", "7"];
        let mut args = common.to_vec();
        args.extend(["--day", day]);
        report(&log, &by_day.display().to_string(), &args);
        let mut args = common.to_vec();
        args.extend(["--start", start, "--end", end]);
        report(&log, &by_window.display().to_string(), &args);
        let summary: serde_json::Value =
            serde_json::from_str(&d.read(&format!("day-{day}/summary.json"))).unwrap();
        assert_eq!(summary["request"]["start"], start, "{zone} {day}");
        assert_eq!(summary["request"]["end"], end, "{zone} {day}");
        assert!(
            summary["counts"]["sessions"].as_u64().unwrap() > 7,
            "{zone} {day}: a day with several pages"
        );
        let (a, b) = (folder_files(&by_day), folder_files(&by_window));
        assert_eq!(a.len(), b.len());
        for ((name, x), (other, y)) in a.iter().zip(&b) {
            assert_eq!(name, other);
            assert!(
                x == y,
                "{zone} {day}: {name} differs from the --start/--end report's"
            );
        }
    }
}

#[test]
fn report_day_takes_today_and_yesterday_in_the_zone_and_refuses_the_rest() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    let zone: chrono_tz::Tz = "Pacific/Kiritimati".parse().unwrap();
    let local_today = || chrono::Utc::now().with_timezone(&zone).date_naive();
    for (word, back) in [("today", 0), ("yesterday", 1)] {
        let before = local_today();
        report(BASIC, &out, &["--tz", "Pacific/Kiritimati", "--day", word]);
        let after = local_today();
        let summary: serde_json::Value = serde_json::from_str(&d.read("r/summary.json")).unwrap();
        let start = summary["request"]["start"].as_str().unwrap().to_string();
        // Kiritimati is 14 hours ahead: its days start at 10:00 UTC the day before.
        let want = |date: chrono::NaiveDate| {
            let date = date - chrono::Days::new(back + 1);
            format!("{}T10:00:00.000000Z", date.format("%Y-%m-%d"))
        };
        assert!(
            start == want(before) || start == want(after),
            "{word}: {start}"
        );
    }
    // Each refused as a bad request (exit 2), the error naming --day.
    let refused = |extra: &[&str]| {
        let mut args = vec!["report", "--input", BASIC, "--out", &out, "--day"];
        args.extend_from_slice(extra);
        let err = sessionstat(&args).fails(2);
        assert!(err.contains("--day"), "{err}");
        err
    };
    let err = refused(&["2024-02-30"]);
    assert!(err.contains("2024-02-30 is not a calendar date"), "{err}");
    let err = refused(&["31.03.2024"]);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    refused(&["today", "--end", "2024-01-01"]);
    let req = d.write("req.json", r#"{"start":"2021-04-02"}"#);
    let err = refused(&["today", "--request", &req]);
    assert!(err.contains("request body"), "{err}");
}
