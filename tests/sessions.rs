//! `sessionstat sessions` over hand-computed fixtures. Every expected value is
//! worked out from SPEC.md in the comment beside it, not copied from output.

use crate::util::{sessionstat, Dir};

const BASIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/basic.csv");

/// One session as the endpoint writes it, keys in the endpoint's order.
#[allow(clippy::too_many_arguments)]
fn s(
    id: i32,
    user: (i32, &str),
    client: (&str, &str),
    login: &str,
    logout: &str,
    dur: &str,
    idle: &str,
    prod: &str,
) -> String {
    format!(
        r#"{{"duration":"{dur}","idleTime":"{idle}","productivityTime":"{prod}","clientGuid":"{}","clientName":"{}","logoutDate":"{logout}","loginDate":"{login}","sessionId":{id},"userName":"{}","userId":{}}}"#,
        client.0, client.1, user.1, user.0
    )
}

fn body(sessions: &[String], total: usize) -> String {
    format!(
        r#"{{"sessions":[{}],"totalCount":{total}}}"#,
        sessions.join(",")
    )
}

const ALICE: (i32, &str) = (1, "alice");
const WS1: (&str, &str) = ("g1", "WS-1");

/// Session 10, no window, idle_after 15m: spans login->08:10 10m (productive),
/// 08:10->08:25 exactly 15m (productive), 08:25->08:40:00.000001 15m+1us (idle),
/// 08:40:00.000001->08:50 9m59.999999s (productive), idle 08:50->09:00 (idle),
/// 09:00->logout 5m (productive): productive 39m59.999999s, duration 65m.
fn s10() -> String {
    s(
        10,
        ALICE,
        WS1,
        "2021-04-01T08:00:00.000+00:00",
        "2021-04-01T09:05:00.000+00:00",
        "01:05:00",
        "00:25:00.0000010",
        "00:39:59.9999990",
    )
}
/// Session 11: ties. At 09:00 activity sorts before idle, at 09:05 activity before
/// logout, whatever the input order: spans 0 (productive), 5m from idle (idle), 0.
fn s11() -> String {
    s(
        11,
        (2, "bob"),
        ("g2", "WS-2"),
        "2021-04-01T09:00:00.000+00:00",
        "2021-04-01T09:05:00.000+00:00",
        "00:05:00",
        "00:05:00",
        "00:00:00",
    )
}
/// Session 12: one event, all zero.
fn s12() -> String {
    s(
        12,
        ALICE,
        WS1,
        "2021-04-01T10:00:00.000+00:00",
        "2021-04-01T10:00:00.000+00:00",
        "00:00:00",
        "00:00:00",
        "00:00:00",
    )
}
/// Session 13: 07:00 login, 07:30, 08:00, 12:00, 12:10 logout: gaps 30m, 30m, 4h
/// are idle, the last 10m productive.
fn s13() -> String {
    s(
        13,
        (3, "carol"),
        ("g3", "WS-3"),
        "2021-04-01T07:00:00.000+00:00",
        "2021-04-01T12:10:00.000+00:00",
        "05:10:00",
        "05:00:00",
        "00:10:00",
    )
}
/// Session 14: two activity events 5m apart on the next day; the second has an
/// empty kind cell (activity).
fn s14() -> String {
    s(
        14,
        (4, "dave"),
        ("g4", "WS-4"),
        "2021-04-02T08:00:00.000+00:00",
        "2021-04-02T08:05:00.000+00:00",
        "00:05:00",
        "00:00:00",
        "00:05:00",
    )
}

fn sessions(extra: &[&str]) -> String {
    let mut args = vec!["sessions", "--input", BASIC];
    args.extend_from_slice(extra);
    sessionstat(&args).ok()
}

#[test]
fn whole_log_in_login_order() {
    assert_eq!(sessions(&[]), body(&[s13(), s10(), s11(), s12(), s14()], 5));
}

#[test]
fn idle_after_variants() {
    // 90s: every span above is longer than 90 s except the zero-length ones.
    let s10_90 = s(
        10,
        ALICE,
        WS1,
        "2021-04-01T08:00:00.000+00:00",
        "2021-04-01T09:05:00.000+00:00",
        "01:05:00",
        "01:05:00",
        "00:00:00",
    );
    let out = sessions(&[
        "--idle-after",
        "90s",
        "--start",
        "2021-04-01T08:00",
        "--end",
        "2021-04-01T09:30",
        "--session-count",
        "1",
    ]);
    assert_eq!(out, body(&[s10_90], 3));
    // off: every span that starts at login/activity is productive. Session 10:
    // 10m + 15m + 15m0.000001s + 9m59.999999s + 5m = 55m; the idle span is 10m.
    let s10_off = s(
        10,
        ALICE,
        WS1,
        "2021-04-01T08:00:00.000+00:00",
        "2021-04-01T09:05:00.000+00:00",
        "01:05:00",
        "00:10:00",
        "00:55:00",
    );
    let s13_off = s(
        13,
        (3, "carol"),
        ("g3", "WS-3"),
        "2021-04-01T07:00:00.000+00:00",
        "2021-04-01T12:10:00.000+00:00",
        "05:10:00",
        "00:00:00",
        "05:10:00",
    );
    let out = sessions(&["--idle-after", "off", "--session-count", "2"]);
    assert_eq!(out, body(&[s13_off, s10_off], 5));
}

#[test]
fn window_clips_both_ends_and_ties_order_by_session_id() {
    // Session 13 keeps 08:00 and 12:00 (both bounds inclusive): one 4h idle span.
    // Sessions 10 and 13 then both start at 08:00: session id decides.
    let s13_clipped = s(
        13,
        (3, "carol"),
        ("g3", "WS-3"),
        "2021-04-01T08:00:00.000+00:00",
        "2021-04-01T12:00:00.000+00:00",
        "04:00:00",
        "04:00:00",
        "00:00:00",
    );
    let expected = body(&[s10(), s13_clipped, s11(), s12()], 4);
    assert_eq!(
        sessions(&["--start", "2021-04-01T08:00", "--end", "2021-04-01T12:00"]),
        expected
    );
    // the same window with offsets, and as wall time in another zone
    assert_eq!(
        sessions(&[
            "--start",
            "2021-04-01T10:00:00+02:00",
            "--end",
            "2021-04-01T07:00:00-05:00"
        ]),
        expected
    );
}

#[test]
fn a_microsecond_past_the_first_event_moves_the_login() {
    // Session 10 now starts at 08:10: spans 15m (productive), 15m+1us (idle),
    // 9m59.999999s (productive), 10m (idle), 5m (productive); duration 55m.
    let s10_cut = s(
        10,
        ALICE,
        WS1,
        "2021-04-01T08:10:00.000+00:00",
        "2021-04-01T09:05:00.000+00:00",
        "00:55:00",
        "00:25:00.0000010",
        "00:29:59.9999990",
    );
    // Session 13 keeps 12:00 and 12:10: one productive 10m span.
    let s13_cut = s(
        13,
        (3, "carol"),
        ("g3", "WS-3"),
        "2021-04-01T12:00:00.000+00:00",
        "2021-04-01T12:10:00.000+00:00",
        "00:10:00",
        "00:00:00",
        "00:10:00",
    );
    assert_eq!(
        sessions(&["--start", "2021-04-01T08:00:00.000001"]),
        body(&[s10_cut, s11(), s12(), s13_cut, s14()], 5)
    );
}

#[test]
fn sessions_with_no_event_inside_are_not_selected() {
    // 09:01-09:04 lies inside sessions 10, 11 and 13 but holds none of their events.
    assert_eq!(
        sessions(&["--start", "2021-04-01T09:01", "--end", "2021-04-01T09:04"]),
        body(&[], 0)
    );
    // a date alone is midnight: nothing happens before 2021-04-01T00:00
    assert_eq!(sessions(&["--end", "2021-04-01"]), body(&[], 0));
    assert_eq!(sessions(&["--start", "2021-04-02"]), body(&[s14()], 1));
}

#[test]
fn pages() {
    assert_eq!(
        sessions(&["--session-count", "2", "--page-index", "1"]),
        body(&[s11(), s12()], 5)
    );
    assert_eq!(
        sessions(&["--session-count", "2", "--page-index", "2"]),
        body(&[s14()], 5)
    );
    assert_eq!(
        sessions(&["--session-count", "2", "--page-index", "3"]),
        body(&[], 5)
    );
    assert_eq!(sessions(&["--session-count", "0"]), body(&[], 5));
    assert_eq!(
        sessions(&["--session-count", "1000", "--page-index", "2147483647"]),
        body(&[], 5)
    );
}

#[test]
fn request_body_file() {
    let d = Dir::new();
    let req = d.write(
        "req.json",
        r#"{"start":"2021-04-01T08:00","end":"2021-04-01T12:00","sessionCount":1,"pageIndex":2}"#,
    );
    assert_eq!(sessions(&["--request", &req]), body(&[s11()], 4));
}

#[test]
fn dates_carry_the_zone_offset() {
    let out = sessions(&["--tz", "Europe/Berlin", "--start", "2021-04-02"]);
    // the window's midnight is Berlin's (22:00Z the day before); dates in +02:00
    let s14_berlin = s(
        14,
        (4, "dave"),
        ("g4", "WS-4"),
        "2021-04-02T10:00:00.000+02:00",
        "2021-04-02T10:05:00.000+02:00",
        "00:05:00",
        "00:00:00",
        "00:05:00",
    );
    assert_eq!(out, body(&[s14_berlin], 1));
}

#[test]
fn pretty_is_the_same_json_indented() {
    let compact: serde_json::Value = serde_json::from_str(&sessions(&[])).unwrap();
    let pretty = sessions(&["--pretty"]);
    assert!(pretty.contains("\n  \"sessions\": [\n"), "{pretty}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&pretty).unwrap(),
        compact
    );
}

/// Naive local times in Berlin across both DST changes of 2021.
const DST_BERLIN: &str = "session_id,user_id,user_name,client_guid,client_name,timestamp,kind
20,5,erin,g5,WS-5,2021-03-28 01:50:00,activity
20,5,erin,g5,WS-5,2021-03-28 03:05:00,activity
20,5,erin,g5,WS-5,2021-03-28 03:10:00,logout
21,5,erin,g5,WS-5,2021-10-31 01:50:00,activity
21,5,erin,g5,WS-5,2021-10-31 03:00:00,logout
";

#[test]
fn naive_local_time_across_dst() {
    let d = Dir::new();
    let f = d.write("dst.csv", DST_BERLIN);
    let out = sessionstat(&["sessions", "--input", &f, "--tz", "Europe/Berlin"]).ok();
    // 01:50 CET is 00:50Z and 03:05 CEST is 01:05Z: the gap is exactly 15m
    // (productive), then 5m: 20m in all. In October 01:50 CEST (23:50Z) to
    // 03:00 CET (02:00Z) is 2h10m, all idle.
    let erin = (5, "erin");
    let ws5 = ("g5", "WS-5");
    let expected = body(
        &[
            s(
                20,
                erin,
                ws5,
                "2021-03-28T01:50:00.000+01:00",
                "2021-03-28T03:10:00.000+02:00",
                "00:20:00",
                "00:00:00",
                "00:20:00",
            ),
            s(
                21,
                erin,
                ws5,
                "2021-10-31T01:50:00.000+02:00",
                "2021-10-31T03:00:00.000+01:00",
                "02:10:00",
                "02:10:00",
                "00:00:00",
            ),
        ],
        2,
    );
    assert_eq!(out, expected);
    // read as UTC the same rows give other numbers: 1h15m between the first two
    let utc = sessionstat(&["sessions", "--input", &f]).ok();
    assert!(utc.contains(r#""duration":"01:20:00""#), "{utc}");
}

#[test]
fn non_existent_and_ambiguous_local_times_stop_the_run() {
    let d = Dir::new();
    for (text, rule) in [
        ("2021-03-28 02:30:00", "does not exist"),
        ("2021-10-31 02:30:00", "twice"),
    ] {
        let f = d.write("gap.csv", format!("{}\n20,5,erin,g5,WS-5,2021-03-28 01:00:00,activity\n20,5,erin,g5,WS-5,{text},activity\n", DST_BERLIN.lines().next().unwrap()));
        let err = sessionstat(&["sessions", "--input", &f, "--tz", "Europe/Berlin"]).fails(1);
        assert!(
            err.contains(&format!("{f}:3"))
                && err.contains("column timestamp")
                && err.contains(text)
                && err.contains(rule),
            "{err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

/// The fixture's rows as (header, rows of text fields).
fn basic_rows() -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(BASIC).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (
        header,
        lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect(),
    )
}

#[test]
fn every_format_gives_the_same_answer() {
    use polars::prelude::*;
    let d = Dir::new();
    let expected = sessions(&["--start", "2021-04-01T08:00:00.000001"]);
    let (header, rows) = basic_rows();
    let csv = std::fs::read(BASIC).unwrap();

    // NDJSON with numbers as numbers and kinds as strings
    let mut nd = String::new();
    for r in &rows {
        let mut obj = serde_json::Map::new();
        for (h, v) in header.iter().zip(r) {
            let value = if h.ends_with("_id") {
                serde_json::json!(v.parse::<i64>().unwrap())
            } else {
                serde_json::json!(v)
            };
            obj.insert(h.clone(), value);
        }
        nd.push_str(&serde_json::Value::Object(obj).to_string());
        nd.push('\n');
    }
    let ndjson = d.write("basic.ndjson", nd);

    // Parquet with native types: int64 ids, timestamp[us, UTC]
    let col = |i: usize| rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
    let ids = |i: usize| {
        rows.iter()
            .map(|r| r[i].parse::<i64>().unwrap())
            .collect::<Vec<_>>()
    };
    let ts: Vec<i64> = rows
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(&r[5])
                .unwrap()
                .timestamp_micros()
        })
        .collect();
    let mut df = DataFrame::new(
        rows.len(),
        vec![
            Column::new("session_id".into(), ids(0)),
            Column::new("user_id".into(), ids(1)),
            Column::new("user_name".into(), col(2)),
            Column::new("client_guid".into(), col(3)),
            Column::new("client_name".into(), col(4)),
            Column::new("timestamp".into(), ts)
                .cast(&DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                ))
                .unwrap(),
            Column::new("kind".into(), col(6)),
        ],
    )
    .unwrap();
    let parquet = d.path("basic.parquet");
    ParquetWriter::new(std::fs::File::create(&parquet).unwrap())
        .finish(&mut df)
        .unwrap();

    // gzip and zstd CSV
    let gz = d.path("basic.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(&mut enc, &csv).unwrap();
    enc.finish().unwrap();
    let zst = d.path("basic.csv.zst");
    std::fs::write(&zst, zstd::encode_all(&csv[..], 3).unwrap()).unwrap();

    for input in [
        ndjson,
        parquet.display().to_string(),
        gz.display().to_string(),
        zst.display().to_string(),
    ] {
        let out = sessionstat(&[
            "sessions",
            "--input",
            &input,
            "--start",
            "2021-04-01T08:00:00.000001",
        ])
        .ok();
        assert_eq!(out, expected, "{input}");
    }
}

#[test]
fn many_files_globs_folders_hive_and_column_maps() {
    let d = Dir::new();
    let (header, rows) = basic_rows();
    let expected = sessions(&[]);
    // Split by client into hive folders, without the client_guid column, and
    // with other column names mapped back.
    let theirs = [
        "sid",
        "uid",
        "login_name",
        "client_guid",
        "host",
        "event_time",
        "event_type",
    ];
    for guid in ["g1", "g2", "g3", "g4"] {
        let mut text = [0, 1, 2, 4, 5, 6].map(|i| theirs[i]).join(",") + "\n";
        for r in rows.iter().filter(|r| r[3] == guid) {
            text += &[0, 1, 2, 4, 5, 6].map(|i| r[i].as_str()).join(",");
            text += "\n";
        }
        d.write(&format!("logs/client_guid={guid}/part-0.csv"), text);
    }
    d.write("logs/_SUCCESS", "");
    let map = "session_id=sid,user_id=uid,user_name=login_name,client_name=host,timestamp=event_time,kind=event_type";
    let folder = d.path("logs").display().to_string();
    assert_eq!(
        sessionstat(&["sessions", "--input", &folder, "--map", map]).ok(),
        expected
    );
    let glob = format!("{folder}/*/*.csv");
    assert_eq!(
        sessionstat(&["sessions", "--input", &glob, "--map", map]).ok(),
        expected
    );
    // two plain files in two --input flags
    let (a, b) = rows.split_at(7);
    let part = |rs: &[Vec<String>]| {
        header.join(",")
            + "\n"
            + &rs
                .iter()
                .map(|r| r.join(","))
                .collect::<Vec<_>>()
                .join("\n")
            + "\n"
    };
    let fa = d.write("a.csv", part(a));
    let fb = d.write("b.csv", part(b));
    assert_eq!(
        sessionstat(&["sessions", "--input", &fa, "--input", &fb]).ok(),
        expected
    );
    // a missing mapped column is named with what was found
    let err = sessionstat(&["sessions", "--input", &fa, "--map", "timestamp=event_time"]).fails(1);
    assert!(
        err.contains("\"event_time\"") && err.contains("columns found: session_id, user_id"),
        "{err}"
    );
}

#[test]
fn bad_requests_exit_2_and_name_the_field() {
    let d = Dir::new();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--session-count".into(), "1001".into()],
            "sessionCount",
        ),
        (vec!["--session-count".into(), "-1".into()], "sessionCount"),
        (vec!["--session-count".into(), "abc".into()], "sessionCount"),
        (vec!["--page-index".into(), "-1".into()], "pageIndex"),
        (vec!["--page-index".into(), "1.5".into()], "pageIndex"),
        (vec!["--start".into(), "2021-02-30".into()], "start"),
        (vec!["--end".into(), "2021-04-01T25:00".into()], "end"),
        (vec!["--start".into(), "last tuesday".into()], "start"),
        (
            vec![
                "--start".into(),
                "2021-04-02".into(),
                "--end".into(),
                "2021-04-01".into(),
            ],
            "start",
        ),
        (
            vec![
                "--request".into(),
                d.write("r1.json", r#"{"sessionCount":2000}"#),
            ],
            "sessionCount",
        ),
        (
            vec![
                "--request".into(),
                d.write("r2.json", r#"{"sessionCount":"5"}"#),
            ],
            "sessionCount",
        ),
        (
            vec![
                "--request".into(),
                d.write("r3.json", r#"{"pageIndex":-3}"#),
            ],
            "pageIndex",
        ),
        (
            vec![
                "--request".into(),
                d.write("r4.json", r#"{"start":"2021-04-01","foo":1}"#),
            ],
            "foo",
        ),
        (
            vec!["--request".into(), d.write("r5.json", r#"{"end":42}"#)],
            "end",
        ),
        (
            vec![
                "--request".into(),
                d.write("r6.json", r#"{"start":"2021-13-01"}"#),
            ],
            "start",
        ),
        (
            vec![
                "--request".into(),
                d.write("r7.json", r#"{"pageIndex":1.0}"#),
            ],
            "pageIndex",
        ),
        (
            vec!["--request".into(), d.write("r8.json", "not json")],
            "request body",
        ),
    ];
    for (extra, field) in &cases {
        let mut args = vec!["sessions", "--input", BASIC];
        args.extend(extra.iter().map(String::as_str));
        let err = sessionstat(&args).fails(2);
        assert!(err.contains(field), "{extra:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{extra:?}: {err}");
        args.extend(["--error-format", "json"]);
        let err = sessionstat(&args).fails(2);
        assert!(err.starts_with(r#"{"status":400,"error":""#), "{err}");
        let v: serde_json::Value =
            serde_json::from_str(err.trim()).unwrap_or_else(|e| panic!("{err}: {e}"));
        assert_eq!(v["status"], 400);
        assert!(v["error"].as_str().unwrap().contains(field), "{err}");
    }
}

#[test]
fn bad_requests_are_found_before_the_input_is_read() {
    let err = sessionstat(&[
        "sessions",
        "--input",
        "/no/such/file.csv",
        "--session-count",
        "5000",
    ])
    .fails(2);
    assert!(err.contains("sessionCount"), "{err}");
}

/// The README's worked example, computed there by hand.
#[test]
fn readme_worked_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/data/example.csv");
    let ann = (7, "ann");
    let laptop = ("9f1c", "LAPTOP-1");
    let out = sessionstat(&["sessions", "--input", example]).ok();
    let whole = s(
        1,
        ann,
        laptop,
        "2021-04-01T09:00:00.000+00:00",
        "2021-04-01T10:00:00.000+00:00",
        "01:00:00",
        "00:40:00",
        "00:20:00",
    );
    assert_eq!(out, body(&[whole], 1));
    let out = sessionstat(&[
        "sessions",
        "--input",
        example,
        "--start",
        "2021-04-01T09:05",
    ])
    .ok();
    let clipped = s(
        1,
        ann,
        laptop,
        "2021-04-01T09:10:00.000+00:00",
        "2021-04-01T10:00:00.000+00:00",
        "00:50:00",
        "00:40:00",
        "00:10:00",
    );
    assert_eq!(out, body(&[clipped], 1));
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains(&body(
        &[s(
            1,
            ann,
            laptop,
            "2021-04-01T09:00:00.000+00:00",
            "2021-04-01T10:00:00.000+00:00",
            "01:00:00",
            "00:40:00",
            "00:20:00"
        )],
        1
    )));
}

#[test]
fn format_flag_overrides_the_extension() {
    let d = Dir::new();
    let log = d.write("events.log", std::fs::read(BASIC).unwrap());
    let err = sessionstat(&["sessions", "--input", &log]).fails(1);
    assert!(
        err.contains("events.log") && err.contains("--format"),
        "{err}"
    );
    assert_eq!(
        sessionstat(&["sessions", "--input", &log, "--format", "csv"]).ok(),
        sessions(&[])
    );
    // a CSV read as Parquet is an error naming the file, not a wrong answer
    let err = sessionstat(&["sessions", "--input", &log, "--format", "parquet"]).fails(1);
    assert!(err.contains("events.log"), "{err}");
}
