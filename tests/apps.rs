//! `sessionstat apps` and `urls`, and the report's apps/sites files (SPEC
//! 13): hand-computed answers, every format and path alike, the tables
//! adding up to `daily_user`, bad cells, and what is refused.

use crate::util::{sessionstat, Dir};
use std::collections::BTreeMap;

pub(crate) const HEADER: &str =
    "session_id,user_id,user_name,client_guid,client_name,timestamp,kind,app,url\n";

/// One user's hour, by hand (Europe/Moscow, +03:00, idle after 15 min):
/// 13:55 login explorer.exe            -> 5 min explorer, no url
/// 14:00 chrome.exe + www.Example.com  -> 5 min chrome, example.com
/// 14:05 url only (news, port 443)     -> 2 min chrome, news.site.org
/// 14:07 heartbeat                     -> 3 min chrome, news.site.org
/// 14:10 WINWORD.EXE, no url           -> 10 min WINWORD, no url
/// 14:20 idle                          -> 30 min idle
/// 14:50 chrome.exe + example.com/b    -> 10 min in 17h, 5 min in 18h
/// 15:05 logout
/// and a user with neither column: 10 productive minutes, no app.
pub(crate) const HAND: &str = "\
1,7,ann,g1,pc1,2021-09-01T13:55:00Z,login,explorer.exe,
1,7,ann,g1,pc1,2021-09-01T14:00:00Z,activity,chrome.exe,https://www.Example.com/a
1,7,ann,g1,pc1,2021-09-01T14:05:00Z,activity,,https://news.site.org:443/x
1,7,ann,g1,pc1,2021-09-01T14:07:00Z,activity,,
1,7,ann,g1,pc1,2021-09-01T14:10:00Z,activity,WINWORD.EXE,
1,7,ann,g1,pc1,2021-09-01T14:20:00Z,idle,,
1,7,ann,g1,pc1,2021-09-01T14:50:00Z,activity,chrome.exe,https://example.com/b
1,7,ann,g1,pc1,2021-09-01T15:05:00Z,logout,,
2,8,bob,g2,pc2,2021-09-01T14:30:00Z,activity,,
2,8,bob,g2,pc2,2021-09-01T14:40:00Z,activity,,
";

#[test]
fn statistics_computed_by_hand() {
    let d = Dir::new();
    let log = d.write("log.csv", format!("{HEADER}{HAND}"));
    let run = |cmd: &str| sessionstat(&[cmd, "-i", &log, "--tz", "Europe/Moscow", "-q"]).ok();
    assert_eq!(
        run("apps"),
        concat!(
            r#"[{"data":[{"duration":"00:05:00","key":"explorer.exe"}],"sessionId":1,"timeOfDay":"2021-09-01T16:00:00+03:00"},"#,
            r#"{"data":[{"duration":"00:20:00","key":"chrome.exe"},{"duration":"00:10:00","key":"WINWORD.EXE"}],"sessionId":1,"timeOfDay":"2021-09-01T17:00:00+03:00"},"#,
            r#"{"data":[{"duration":"00:05:00","key":"chrome.exe"}],"sessionId":1,"timeOfDay":"2021-09-01T18:00:00+03:00"}]"#
        )
    );
    assert_eq!(
        run("urls"),
        concat!(
            r#"[{"data":[{"duration":"00:15:00","key":"example.com"},{"duration":"00:05:00","key":"news.site.org"}],"sessionId":1,"timeOfDay":"2021-09-01T17:00:00+03:00"},"#,
            r#"{"data":[{"duration":"00:05:00","key":"example.com"}],"sessionId":1,"timeOfDay":"2021-09-01T18:00:00+03:00"}]"#
        )
    );
    let out = d.path("r").display().to_string();
    sessionstat(&[
        "report",
        "-i",
        &log,
        "--tz",
        "Europe/Moscow",
        "-q",
        "-o",
        &out,
    ])
    .ok();
    assert_eq!(d.read("r/apps.json"), run("apps"));
    assert_eq!(d.read("r/urls.json"), run("urls"));
    // By day, user, then key by code point (upper case first), none last.
    assert_eq!(
        d.read("r/daily_app.csv"),
        "day,user_id,user_name,app,sessions,productive_us\n\
         2021-09-01,7,ann,WINWORD.EXE,1,600000000\n\
         2021-09-01,7,ann,chrome.exe,1,1500000000\n\
         2021-09-01,7,ann,explorer.exe,1,300000000\n\
         2021-09-01,8,bob,,1,600000000\n"
    );
    assert_eq!(
        d.read("r/daily_site.csv"),
        "day,user_id,user_name,site,sessions,productive_us\n\
         2021-09-01,7,ann,example.com,1,1200000000\n\
         2021-09-01,7,ann,news.site.org,1,300000000\n\
         2021-09-01,7,ann,,1,900000000\n\
         2021-09-01,8,bob,,1,600000000\n"
    );
    // The page: the lists, lengths in hours and minutes, local times.
    let html = d.read("r/report.html");
    assert!(
        html.contains(
            "<bdi>chrome.exe</bdi></td><td class=\"n\"><data value=\"1500000000\">25 min</data>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<i>no website</i></td><td class=\"n\"><data value=\"1500000000\">25 min</data>"
        ),
        "{html}"
    );
    assert!(html.contains("local to Europe/Moscow"));
}

/// Clocks back and forward by half an hour (Lord Howe): the repeated hour
/// is two objects, and after the jump the part from 02:30 is 02:00+11:00.
#[test]
fn half_hour_changes_label_hours_with_their_offsets() {
    let d = Dir::new();
    let log = d.write(
        "log.csv",
        format!(
            "{HEADER}\
             1,7,ann,g1,pc1,2021-04-03T14:50:00Z,activity,A,\n\
             1,7,ann,g1,pc1,2021-04-03T15:10:00Z,activity,B,\n\
             1,7,ann,g1,pc1,2021-04-03T15:20:00Z,logout,,\n\
             2,7,ann,g1,pc1,2021-10-02T15:20:00Z,activity,C,\n\
             2,7,ann,g1,pc1,2021-10-02T15:40:00Z,logout,,\n"
        ),
    );
    let got = sessionstat(&[
        "apps",
        "-i",
        &log,
        "--tz",
        "Australia/Lord_Howe",
        "--idle-after",
        "30m",
    ])
    .ok();
    assert_eq!(
        got,
        concat!(
            r#"[{"data":[{"duration":"00:10:00","key":"A"}],"sessionId":1,"timeOfDay":"2021-04-04T01:00:00+11:00"},"#,
            r#"{"data":[{"duration":"00:10:00","key":"A"},{"duration":"00:10:00","key":"B"}],"sessionId":1,"timeOfDay":"2021-04-04T01:00:00+10:30"},"#,
            r#"{"data":[{"duration":"00:10:00","key":"C"}],"sessionId":2,"timeOfDay":"2021-10-03T01:00:00+10:30"},"#,
            r#"{"data":[{"duration":"00:10:00","key":"C"}],"sessionId":2,"timeOfDay":"2021-10-03T02:00:00+11:00"}]"#
        )
    );
}

fn generate(d: &Dir, name: &str) -> String {
    let p = d.path(name).display().to_string();
    sessionstat(&[
        "generate",
        "-q",
        "-o",
        &p,
        "--users",
        "8",
        "--days",
        "3",
        "--apps",
        "--start-date",
        "2021-03-25",
        "--tz",
        "Europe/Berlin",
    ])
    .ok();
    p
}

/// CSV, Parquet and nested NDJSON, in order and shuffled (the stored
/// path), in memory partitions, in a window: the same bytes; the report's
/// files are the commands'; the tables add up to daily_user.
#[test]
fn every_format_and_path_gives_the_same_bytes() {
    let d = Dir::new();
    let csv = generate(&d, "log.csv");
    let parquet = generate(&d, "log.parquet");
    let ndjson = generate(&d, "log.ndjson");
    let lines: Vec<String> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Shuffled by a fixed permutation: the rows of a session out of order.
    let mut body: Vec<&String> = lines[1..].iter().collect();
    let n = body.len();
    for i in 0..n {
        body.swap(i, (i * 7919 + 13) % n);
    }
    let shuffled = d.write(
        "shuffled.csv",
        format!(
            "{}\n{}\n",
            lines[0],
            body.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
    let zone = ["--tz", "Asia/Kathmandu", "-q"];
    for cmd in ["apps", "urls"] {
        for window in [
            vec![],
            vec!["--start", "2021-03-25T15:10", "--end", "2021-03-26T14:30"],
        ] {
            let run = |input: &str, extra: &[&str]| {
                let mut args = vec![cmd, "-i", input];
                args.extend_from_slice(&zone);
                args.extend_from_slice(&window);
                args.extend_from_slice(extra);
                sessionstat(&args).ok()
            };
            let want = run(&csv, &[]);
            assert!(want.len() > 1000, "{want}");
            assert_eq!(run(&parquet, &[]), want, "{cmd} parquet");
            assert_eq!(
                run(&ndjson, &["--map", "app=focus.app,url=focus.url"]),
                want,
                "{cmd} ndjson"
            );
            assert_eq!(run(&shuffled, &[]), want, "{cmd} shuffled");
            assert_eq!(
                run(&shuffled, &["--memory-limit", "20KiB"]),
                want,
                "{cmd} partitions"
            );
        }
    }
    for (name, input) in [("in", &csv), ("out", &shuffled)] {
        let out = d.path(name).display().to_string();
        let mut args = vec!["report", "-i", input, "-o", &out];
        args.extend_from_slice(&zone);
        sessionstat(&args).ok();
    }
    for f in [
        "apps.json",
        "urls.json",
        "daily_app.csv",
        "daily_site.csv",
        "daily_user.csv",
    ] {
        assert_eq!(
            d.read(&format!("in/{f}")),
            d.read(&format!("out/{f}")),
            "{f}"
        );
    }
    assert_eq!(
        d.read("in/apps.json"),
        sessionstat(&["apps", "-i", &csv, "--tz", "Asia/Kathmandu"]).ok()
    );
    // Per (day, user): the apps and the sites add up to daily_user.
    let sums = |file: &str, value: usize| -> BTreeMap<(String, String), i64> {
        let mut out = BTreeMap::new();
        for line in d.read(file).lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            *out.entry((f[0].to_string(), f[1].to_string())).or_insert(0) +=
                f[value].parse::<i64>().unwrap();
        }
        out
    };
    let users = sums("in/daily_user.csv", 8);
    assert_eq!(sums("in/daily_app.csv", 5), users);
    assert_eq!(sums("in/daily_site.csv", 5), users);
}

#[test]
fn a_log_without_the_columns_writes_only_null_rows() {
    let d = Dir::new();
    let basic = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/basic.csv");
    sessionstat(&["apps", "-i", basic]).ok();
    assert_eq!(sessionstat(&["apps", "-i", basic]).ok(), "[]");
    let out = d.path("r").display().to_string();
    sessionstat(&["report", "-i", basic, "-o", &out, "-q"]).ok();
    assert_eq!(d.read("r/apps.json"), "[]");
    assert_eq!(d.read("r/urls.json"), "[]");
    let app = d.read("r/daily_app.csv");
    let rows: Vec<&str> = app.lines().skip(1).collect();
    assert!(!rows.is_empty());
    for (row, user) in rows.iter().zip(
        d.read("r/daily_user.csv")
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(8) != Some("0")),
    ) {
        let f: Vec<&str> = row.split(',').collect();
        let u: Vec<&str> = user.split(',').collect();
        assert_eq!(
            (f[0], f[1], f[3], f[5]),
            (u[0], u[1], "", u[8]),
            "{row} / {user}"
        );
    }
}

#[test]
fn an_over_long_cell_is_a_bad_row_naming_its_column() {
    let d = Dir::new();
    let long = "x".repeat(4097);
    let log = d.write(
        "log.csv",
        format!(
            "session_id,user_id,user_name,client_guid,client_name,timestamp,kind,process,url\n\
             1,7,ann,g1,pc1,2021-09-01T14:00:00Z,activity,a.exe,\n\
             1,7,ann,g1,pc1,2021-09-01T14:05:00Z,activity,{long},\n\
             1,7,ann,g1,pc1,2021-09-01T14:10:00Z,activity,,\n"
        ),
    );
    let err = sessionstat(&["apps", "-i", &log, "--map", "app=process"]).fails(1);
    assert!(err.contains("log.csv:3"), "{err}");
    assert!(err.contains("process (app)"), "{err}");
    assert!(
        err.contains("4097 bytes; an app cell holds at most 4096 bytes"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Skipped under --max-bad-rows: the other rows' time is all a.exe's.
    let out = sessionstat(&[
        "apps",
        "-i",
        &log,
        "--map",
        "app=process",
        "--max-bad-rows",
        "1",
        "--rejects",
        &d.path("rejects.ndjson").display().to_string(),
        "-q",
    ])
    .ok();
    assert!(d.read("rejects.ndjson").contains("at most 4096 bytes"));
    assert_eq!(
        out,
        r#"[{"data":[{"duration":"00:10:00","key":"a.exe"}],"sessionId":1,"timeOfDay":"2021-09-01T14:00:00+00:00"}]"#
    );
    // A cell of 4096 bytes of UTF-8 is fine.
    let fits = "é".repeat(2048);
    let log = d.write(
        "fits.csv",
        format!("{HEADER}1,7,ann,g1,pc1,2021-09-01T14:00:00Z,activity,{fits},\n1,7,ann,g1,pc1,2021-09-01T14:01:00Z,logout,,\n"),
    );
    assert!(sessionstat(&["apps", "-i", &log]).ok().contains(&fits));
}

#[test]
fn pages_are_refused() {
    let d = Dir::new();
    let log = d.write("log.csv", format!("{HEADER}{HAND}"));
    for cmd in ["apps", "urls"] {
        for flag in ["--page-index", "--session-count"] {
            let err = sessionstat(&[cmd, "-i", &log, flag, "1"]).fails(2);
            assert!(
                err.contains("bad request") && err.contains("not a page"),
                "{err}"
            );
        }
    }
}

/// Parquet's app and url columns are read as dictionary indices: an
/// over-long entry is a bad row for each row that uses it, and the answer
/// is the CSV's.
#[test]
fn parquet_dictionaries_give_the_csv_answer_and_bad_rows() {
    use polars::prelude::*;
    let d = Dir::new();
    let csv = d.write("log.csv", format!("{HEADER}{HAND}"));
    let mut df = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(csv.clone().into()))
        .unwrap()
        .finish()
        .unwrap();
    let path = d.path("log.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let parquet = path.display().to_string();
    for cmd in ["apps", "urls"] {
        let run = |input: &str| sessionstat(&[cmd, "-i", input, "--tz", "Europe/Moscow"]).ok();
        assert_eq!(run(&parquet), run(&csv), "{cmd}");
    }
    // Rows 1 and 3 (0-based) share an entry of 5000 bytes.
    let long = "y".repeat(5000);
    let mut df = df!(
        "session_id" => [1i32, 1, 1, 1],
        "user_id" => [7i32, 7, 7, 7],
        "user_name" => ["ann"; 4],
        "client_guid" => ["g"; 4],
        "client_name" => ["pc"; 4],
        "timestamp" => ["2021-09-01T14:00:00Z", "2021-09-01T14:01:00Z", "2021-09-01T14:02:00Z", "2021-09-01T14:03:00Z"],
        "app" => ["a.exe", long.as_str(), "a.exe", long.as_str()],
    )
    .unwrap();
    let path = d.path("long.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let err = sessionstat(&["apps", "-i", &path.display().to_string()]).fails(1);
    assert!(err.contains("row 1") && err.contains("column app"), "{err}");
    assert!(
        err.contains("5000 bytes; an app cell holds at most 4096 bytes"),
        "{err}"
    );
}

/// Every backfill period writes the apps and sites files of a report over
/// its window; built sessions keep their foregrounds too.
#[test]
fn backfill_periods_and_built_sessions() {
    let d = Dir::new();
    let csv = generate(&d, "log.csv");
    let out = d.path("bf").display().to_string();
    sessionstat(&[
        "backfill",
        "-i",
        &csv,
        "-o",
        &out,
        "--every",
        "day",
        "--from",
        "2021-03-25",
        "--to",
        "2021-03-27",
        "--tz",
        "Europe/Berlin",
        "-q",
    ])
    .ok();
    for day in ["2021-03-25", "2021-03-26"] {
        let end = format!("{day}T23:59:59.999999");
        for (cmd, file) in [("apps", "apps.json"), ("urls", "urls.json")] {
            let want = sessionstat(&[
                cmd,
                "-i",
                &csv,
                "--tz",
                "Europe/Berlin",
                "--start",
                day,
                "--end",
                &end,
            ])
            .ok();
            assert!(want.len() > 100);
            assert_eq!(
                d.read(&format!("bf/day={day}/{file}")),
                want,
                "{day} {file}"
            );
        }
    }
    // Sessions built from gaps: the tables still add up to daily_user.
    let out = d.path("s").display().to_string();
    sessionstat(&[
        "report",
        "-i",
        &csv,
        "-o",
        &out,
        "--sessionize",
        "20m",
        "-q",
    ])
    .ok();
    let total = |file: &str, col: usize| -> i64 {
        d.read(file)
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(col).unwrap().parse::<i64>().unwrap())
            .sum()
    };
    let user = total("s/daily_user.csv", 8);
    assert!(user > 0);
    assert_eq!(total("s/daily_app.csv", 5), user);
    assert_eq!(total("s/daily_site.csv", 5), user);
    assert!(d.read("s/apps.json").len() > 100);
}
