//! Sessions (Get), User Productivity and report's hourly tables (SPEC 8)
//! over hand-computed fixtures: every expected value is worked out in the
//! comment beside it.

use crate::util::{sessionstat, Dir};

const HEADER: &str = "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n";

/// Europe/Berlin's two DST changes of 2021, `--idle-after 1h`.
/// Session 1 (alice): 00:50Z (01:50 CET) -> 01:10Z (03:10 CEST, clocks went
/// 02:00 -> 03:00 at 01:00Z), 20 min productive: 10 min in hour 1, 10 in
/// hour 3, none in the skipped hour 2; then 01:10Z -> 01:40Z logout, 30 min
/// in hour 3: hour 3 has 40 min.
/// Session 2 (bob): 00:30Z (02:30 CEST) -> 01:30Z (02:30 CET, clocks went
/// 03:00 -> 02:00 at 01:00Z), exactly 1h, so productive: 30 min in each run
/// of the repeated hour 2, both counted into hour 2; then 15 min to the
/// 01:45Z logout: hour 2 has 75 min.
const BERLIN: &str = "\
1,1,alice,g1,WS-1,2021-03-28T00:50:00Z,activity
1,1,alice,g1,WS-1,2021-03-28T01:10:00Z,activity
1,1,alice,g1,WS-1,2021-03-28T01:40:00Z,logout
2,2,bob,g2,WS-2,2021-10-31T00:30:00Z,activity
2,2,bob,g2,WS-2,2021-10-31T01:30:00Z,activity
2,2,bob,g2,WS-2,2021-10-31T01:45:00Z,logout
";

/// Asia/Kathmandu (+05:45, local hours start at :15 UTC), `--idle-after off`.
/// Session 3 (carol, 3): 03:00Z (08:45) -> 05:30:00.000001Z (11:15:00.000001)
/// productive: 15 min in hour 8, 60 in 9, 60 in 10, 15 min + 1 us in 11;
/// then an idle event there, so 05:30:00.000001Z -> 05:50Z logout is idle,
/// 19 min 59.999999 s in hour 11.
/// Session 4 (Zed, 9): 03:30Z (09:15) -> 03:35Z: 5 min in hour 9.
/// Session 5 (amy, 4): 03:40Z (09:25) -> 03:41Z: 1 min in hour 9.
/// Session 6 (eve, 6): 07:00Z (12:45) -> 07:00:00.001Z: 1 ms in hour 12,
/// 1000 / 60000000 minutes, printed in exponent form.
const KATHMANDU: &str = "\
3,3,carol,g3,WS-3,2021-06-01T03:00:00Z,activity
3,3,carol,g3,WS-3,2021-06-01T05:30:00.000001Z,idle
3,3,carol,g3,WS-3,2021-06-01T05:50:00Z,logout
4,9,Zed,g4,WS-4,2021-06-01T03:30:00Z,activity
4,9,Zed,g4,WS-4,2021-06-01T03:35:00Z,logout
5,4,amy,g5,WS-5,2021-06-01T03:40:00Z,activity
5,4,amy,g5,WS-5,2021-06-01T03:41:00Z,logout
6,6,eve,g6,WS-6,2021-06-01T07:00:00Z,activity
6,6,eve,g6,WS-6,2021-06-01T07:00:00.001Z,logout
";

/// `report -q -i LOG --tz ZONE -o OUT`.
fn report(log: &str, tz: &str, out: &str) {
    sessionstat(&["report", "-q", "-i", log, "--tz", tz, "-o", out]).ok();
}

fn row(date: &str, minutes: &str, user: &str, hour: u32) -> String {
    format!(
        r#"{{"date":"{date}","totalMinutes":{minutes},"userName":"{user}","timeOfDay":{hour}}}"#
    )
}

#[test]
fn productivity_cuts_hours_across_dst_changes() {
    let d = Dir::new();
    let log = d.write("berlin.csv", format!("{HEADER}{BERLIN}"));
    let got = sessionstat(&[
        "productivity",
        "-i",
        &log,
        "--tz",
        "Europe/Berlin",
        "--idle-after",
        "1h",
    ])
    .ok();
    let want = [
        row("2021-03-28T00:00:00+01:00", "10", "alice", 1),
        row("2021-03-28T00:00:00+01:00", "40", "alice", 3),
        row("2021-10-31T00:00:00+02:00", "75", "bob", 2),
    ];
    assert_eq!(got, format!("[{}]", want.join(",")));
}

#[test]
fn productivity_in_a_quarter_hour_zone_orders_by_hour_then_name() {
    let d = Dir::new();
    let log = d.write("ktm.csv", format!("{HEADER}{KATHMANDU}"));
    let got = sessionstat(&[
        "productivity",
        "-i",
        &log,
        "--tz",
        "Asia/Kathmandu",
        "--idle-after",
        "off",
    ])
    .ok();
    let day = "2021-06-01T00:00:00+05:45";
    // Hour 9: by user name in code points, "Zed" < "amy" < "carol".
    let want = [
        row(day, "15", "carol", 8),
        row(day, "5", "Zed", 9),
        row(day, "1", "amy", 9),
        row(day, "60", "carol", 9),
        row(day, "60", "carol", 10),
        row(day, "15.000000016666666", "carol", 11),
        row(day, "1.6666666666666667E-05", "eve", 12),
    ];
    assert_eq!(got, format!("[{}]", want.join(",")));
    // A window clips as Sessions (Post) does: from 04:00Z (09:45 local) carol's
    // first event is 05:30:00.000001Z, an idle event, so she has no
    // productive time; only eve is left.
    let got = sessionstat(&[
        "productivity",
        "-i",
        &log,
        "--tz",
        "Asia/Kathmandu",
        "--idle-after",
        "off",
        "--start",
        "2021-06-01T09:45",
    ])
    .ok();
    assert_eq!(
        got,
        format!("[{}]", row(day, "1.6666666666666667E-05", "eve", 12))
    );
}

#[test]
fn a_half_hour_change_keeps_the_rest_of_its_hour() {
    // Australia/Lord_Howe turns clocks from 02:00 (+10:30) to 02:30 (+11) at
    // 2021-10-02T15:30Z. 15:00Z (01:30) -> 16:10Z (03:10) productive: 30 min
    // in hour 1, 30 in hour 2 (02:30-03:00), 10 in hour 3.
    let d = Dir::new();
    let log = d.write(
        "lh.csv",
        format!(
            "{HEADER}7,1,ann,g,WS,2021-10-02T15:00:00Z,login\n7,1,ann,g,WS,2021-10-02T16:10:00Z,logout\n"
        ),
    );
    let got = sessionstat(&[
        "productivity",
        "-i",
        &log,
        "--tz",
        "Australia/Lord_Howe",
        "--idle-after",
        "off",
    ])
    .ok();
    let day = "2021-10-03T00:00:00+10:30";
    let want = [
        row(day, "30", "ann", 1),
        row(day, "30", "ann", 2),
        row(day, "10", "ann", 3),
    ];
    assert_eq!(got, format!("[{}]", want.join(",")));
}

#[test]
fn sessions_get_is_a_bare_array_in_selection_order() {
    let d = Dir::new();
    let log = d.write("berlin.csv", format!("{HEADER}{BERLIN}"));
    let got = sessionstat(&["sessions", "--get", "-i", &log, "--tz", "Europe/Berlin"]).ok();
    // Dates in the offset at each instant: CET before 01:00Z on 28 March,
    // CEST after it; CEST before 01:00Z on 31 October, CET after.
    assert_eq!(
        got,
        concat!(
            r#"[{"clientGuid":"g1","logoutDate":"2021-03-28T03:40:00.000+02:00","loginDate":"2021-03-28T01:50:00.000+01:00","sessionId":1,"userId":1},"#,
            r#"{"clientGuid":"g2","logoutDate":"2021-10-31T02:45:00.000+01:00","loginDate":"2021-10-31T02:30:00.000+02:00","sessionId":2,"userId":2}]"#
        )
    );
    // A window that holds only session 2's events; an empty selection is [].
    let got = sessionstat(&[
        "sessions",
        "--get",
        "-i",
        &log,
        "--start",
        "2021-10-31T01:00:00Z",
    ])
    .ok();
    assert_eq!(
        got,
        r#"[{"clientGuid":"g2","logoutDate":"2021-10-31T01:45:00.000+00:00","loginDate":"2021-10-31T01:30:00.000+00:00","sessionId":2,"userId":2}]"#
    );
    let got = sessionstat(&["sessions", "--get", "-i", &log, "--start", "2022-01-01"]).ok();
    assert_eq!(got, "[]");
    let got = sessionstat(&["productivity", "-i", &log, "--start", "2022-01-01"]).ok();
    assert_eq!(got, "[]");
}

#[test]
fn page_fields_are_bad_requests_for_window_endpoints() {
    let d = Dir::new();
    let log = d.write("berlin.csv", format!("{HEADER}{BERLIN}"));
    let body = d.write("req.json", r#"{"start":"2021-01-01","pageIndex":1}"#);
    for args in [
        vec!["sessions", "--get", "-i", &log, "--session-count", "10"],
        vec!["sessions", "--get", "-i", &log, "--page-index", "0"],
        vec!["sessions", "--get", "-i", &log, "--request", &body],
        vec!["productivity", "-i", &log, "--session-count", "10"],
        vec!["productivity", "-i", &log, "--request", &body],
    ] {
        let err = sessionstat(&args).fails(2);
        assert!(
            err.contains("sessionCount") || err.contains("pageIndex"),
            "{args:?}: {err}"
        );
        assert!(err.contains("answers a window"), "{args:?}: {err}");
    }
    // The usual bad requests hold too: start after end names both.
    let err = sessionstat(&[
        "productivity",
        "-i",
        &log,
        "--start",
        "2021-02-01",
        "--end",
        "2021-01-01",
    ])
    .fails(2);
    assert!(
        err.contains("start (--start)") && err.contains("must not be after"),
        "{err}"
    );
    // A request time that happens twice in --tz (Berlin, 31 October 02:30).
    let err = sessionstat(&[
        "productivity",
        "-i",
        &log,
        "--tz",
        "Europe/Berlin",
        "--start",
        "2021-10-31T02:30",
    ])
    .fails(2);
    assert!(err.contains("happens twice"), "{err}");
}

#[test]
fn pretty_productivity_is_serde_jsons_indented_form() {
    let d = Dir::new();
    let log = d.write("ktm.csv", format!("{HEADER}{KATHMANDU}"));
    let compact = sessionstat(&["productivity", "-i", &log, "--tz", "Asia/Kathmandu"]).ok();
    let pretty = sessionstat(&[
        "productivity",
        "-i",
        &log,
        "--tz",
        "Asia/Kathmandu",
        "--pretty",
    ])
    .ok();
    // The same document, and the same layout serde_json gives the parsed
    // value (whose numbers it prints its own way: compared with them out).
    let value: serde_json::Value = serde_json::from_str(&compact).unwrap();
    assert_eq!(
        value,
        serde_json::from_str::<serde_json::Value>(&pretty).unwrap()
    );
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("totalMinutes"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&pretty),
        strip(&serde_json::to_string_pretty(&value).unwrap())
    );
}

/// report's hourly_user.csv and productivity.json for the Berlin fixture,
/// with `--idle-after 15m`: session 1's 20 min span is idle now, 10 min in
/// hour 1 and 10 in hour 3; its 30 min span to the logout is idle too
/// (over 15m). Session 2's 60 min span is idle (30 + 30 in hour 2), its 15
/// min span (exactly the limit) productive.
#[test]
fn report_writes_hourly_user_and_productivity_that_add_up_to_daily_user() {
    let d = Dir::new();
    let log = d.write("berlin.csv", format!("{HEADER}{BERLIN}"));
    let out = d.path("r").display().to_string();
    report(&log, "Europe/Berlin", &out);
    let m = 60_000_000u64;
    assert_eq!(
        d.read("r/hourly_user.csv"),
        format!(
            "day,hour,user_id,user_name,productive_us,idle_us\n\
             2021-03-28,1,1,alice,0,{}\n\
             2021-03-28,3,1,alice,0,{}\n\
             2021-10-31,2,2,bob,{},{}\n",
            10 * m,
            40 * m,
            15 * m,
            60 * m
        )
    );
    assert_eq!(
        d.read("r/productivity.json"),
        format!("[{}]", row("2021-10-31T00:00:00+02:00", "15", "bob", 2))
    );
    // The day sums equal daily_user's, column for column.
    let daily = d.read("r/daily_user.csv");
    let mut days: std::collections::BTreeMap<(String, String), (u64, u64)> = Default::default();
    for line in d.read("r/hourly_user.csv").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let e = days.entry((f[0].into(), f[2].into())).or_default();
        e.0 += f[4].parse::<u64>().unwrap();
        e.1 += f[5].parse::<u64>().unwrap();
    }
    let header: Vec<&str> = daily.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for line in daily.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let key = (f[col("day")].to_string(), f[col("user_id")].to_string());
        let want: (u64, u64) = (
            f[col("productive_us")].parse().unwrap(),
            f[col("idle_us")].parse().unwrap(),
        );
        assert_eq!(days.remove(&key), Some(want), "{key:?}");
    }
    assert!(days.is_empty(), "hours without a day: {days:?}");
}

#[test]
fn hourly_parquet_has_the_csv_rows_with_standard_types() {
    use polars::prelude::*;
    let d = Dir::new();
    let log = d.write("ktm.csv", format!("{HEADER}{KATHMANDU}"));
    let out = d.path("r").display().to_string();
    report(&log, "Asia/Kathmandu", &out);
    let df = ParquetReader::new(std::fs::File::open(d.path("r/hourly_user.parquet")).unwrap())
        .finish()
        .unwrap();
    let types: Vec<DataType> = df.dtypes();
    assert_eq!(
        types,
        vec![
            DataType::Date,
            DataType::Int32,
            DataType::Int64,
            DataType::String,
            DataType::Int64,
            DataType::Int64
        ]
    );
    // Hour 9 ordered by user id (3 carol, 4 amy, 9 Zed), unlike productivity.json.
    let hour = df.column("hour").unwrap().i32().unwrap();
    let ids = df.column("user_id").unwrap().i64().unwrap();
    let nine: Vec<i64> = (0..df.height())
        .filter(|&i| hour.get(i) == Some(9))
        .map(|i| ids.get(i).unwrap())
        .collect();
    assert_eq!(nine, vec![3, 4, 9]);
    assert_eq!(df.height(), d.read("r/hourly_user.csv").lines().count() - 1);
    // The productivity file is the command's answer for the same window.
    let cli = sessionstat(&["productivity", "-i", &log, "--tz", "Asia/Kathmandu"]).ok();
    assert_eq!(d.read("r/productivity.json"), cli);
}
