//! Findings (SPEC 10.2) over hand-computed fixtures: every expected row is
//! worked out in the comment beside its events. `--idle-after off`, so a
//! span after a login or activity is productive and one after idle is idle.

use crate::util::{sessionstat, Dir};

const HEADER: &str = "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n";

/// 2021-03-01 is a Monday, 2021-03-05 a Friday; UTC, default rules
/// (08:00-18:00 Monday to Friday, long over 12h, idle share over 50%).
const LOG: &str = "\
10,1,ann,g1,WS-1,2021-03-01T09:00:00Z,login
10,1,ann,g1,WS-1,2021-03-01T12:00:00Z,logout
11,1,ann,g2,WS-2,2021-03-01T11:00:00Z,login
11,1,ann,g2,WS-2,2021-03-01T13:00:00Z,logout
12,1,ann,g1,WS-1,2021-03-01T09:30:00Z,login
12,1,ann,g1,WS-1,2021-03-01T10:00:00Z,logout
13,2,bob,g3,WS-3,2021-03-01T10:00:00Z,login
13,2,bob,g3,WS-3,2021-03-01T11:30:00Z,logout
14,1,ann,g3,WS-3,2021-03-01T13:00:00Z,login
14,1,ann,g3,WS-3,2021-03-01T14:00:00Z,logout
15,1,ann,g4,WS-4,2021-03-01T09:45:00Z,logout
20,3,cy,g4,WS-4,2021-03-05T17:30:00Z,activity
20,3,cy,g4,WS-4,2021-03-05T18:10:00Z,activity
20,3,cy,g4,WS-4,2021-03-05T23:50:00Z,activity
20,3,cy,g4,WS-4,2021-03-06T00:30:00Z,logout
30,4,di,g5,WS-5,2021-03-01T06:00:00Z,login
30,4,di,g5,WS-5,2021-03-01T18:00:00Z,logout
31,5,ed,g6,WS-6,2021-03-01T06:00:00Z,login
31,5,ed,g6,WS-6,2021-03-01T18:00:00.000001Z,logout
40,6,fay,g7,WS-7,2021-03-01T09:00:00Z,activity
40,6,fay,g7,WS-7,2021-03-01T10:00:00Z,idle
40,6,fay,g7,WS-7,2021-03-01T11:00:00Z,logout
41,7,gus,g8,WS-8,2021-03-01T09:00:00Z,activity
41,7,gus,g8,WS-8,2021-03-01T09:59:59.999999Z,idle
41,7,gus,g8,WS-8,2021-03-01T11:00:00Z,logout
42,8,hal,g9,WS-9,2021-03-01T09:00:00Z,idle
42,8,hal,g9,WS-9,2021-03-01T10:00:00Z,logout
50,9,=cmd,g10,WS-10,2021-03-01T09:00:00Z,activity
50,9,=cmd,g10,WS-10,2021-03-01T09:30:00Z,activity
";

fn report(dir: &Dir, log: &str, extra: &[&str]) -> String {
    let input = dir.write("log.csv", format!("{HEADER}{log}"));
    let out = dir.path("out").display().to_string();
    let mut args = vec![
        "report",
        "-q",
        "-i",
        &input,
        "--idle-after",
        "off",
        "-o",
        &out,
    ];
    args.extend_from_slice(extra);
    sessionstat(&args).ok();
    dir.read("out/findings.csv")
}

#[test]
fn every_kind_against_hand_computed_rows() {
    let dir = Dir::new();
    let got = report(&dir, LOG, &[]);
    let want = "\
kind,session_id,user_id,user_name,client_guid,client_name,start,end,value_us,other_session_id
after_hours,30,4,di,g5,WS-5,2021-03-01T06:00:00.000000Z,2021-03-01T08:00:00.000000Z,7200000000,
after_hours,31,5,ed,g6,WS-6,2021-03-01T06:00:00.000000Z,2021-03-01T18:00:00.000001Z,7200000001,
after_hours,20,3,cy,g4,WS-4,2021-03-05T18:00:00.000000Z,2021-03-06T00:00:00.000000Z,21600000000,
after_hours,20,3,cy,g4,WS-4,2021-03-06T00:00:00.000000Z,2021-03-06T00:30:00.000000Z,1800000000,
concurrent,10,1,ann,g1,WS-1,2021-03-01T11:00:00.000000Z,2021-03-01T12:00:00.000000Z,3600000000,11
concurrent,11,1,ann,g2,WS-2,2021-03-01T11:00:00.000000Z,2021-03-01T12:00:00.000000Z,3600000000,10
idle_share,41,7,gus,g8,WS-8,2021-03-01T09:00:00.000000Z,2021-03-01T11:00:00.000000Z,3600000001,
long,31,5,ed,g6,WS-6,2021-03-01T06:00:00.000000Z,2021-03-01T18:00:00.000001Z,43200000001,
open,50,9,'=cmd,g10,WS-10,2021-03-01T09:00:00.000000Z,2021-03-01T09:30:00.000000Z,1800000000,
";
    // 30 and 31: 06:00-08:00 is before work hours; 31's last microsecond
    // (18:00:00-18:00:00.000001) is after them, the same date, so one row
    // to its end. 20: Friday 18:00-24:00 (6h) and Saturday, not a work
    // day, 00:00-00:30. 10 and 11 (ann on two clients) overlap 11:00-12:00;
    // 12 overlaps 10 on the same client, 14 only touches 11 at 13:00, 15
    // is one event (no length) inside 10, bob is another user. 30 is exactly 12h, not long; 31 is 1 us more. 40's
    // idle is exactly half, 41's 1 us more; 42 is idle but only 1h long.
    // 50 has no logout; its name is neutralised for spreadsheets.
    assert_eq!(got, want);
    let summary: serde_json::Value = serde_json::from_str(&dir.read("out/summary.json")).unwrap();
    assert_eq!(
        summary["counts"]["findings"],
        serde_json::json!({"after_hours": 4, "concurrent": 2, "idle_share": 1, "long": 1, "open": 1})
    );
    assert_eq!(
        summary["settings"]["findings"]["workHours"],
        serde_json::json!("08:00-18:00")
    );
}

#[test]
fn the_flags_move_the_thresholds() {
    let dir = Dir::new();
    let got = report(
        &dir,
        LOG,
        &[
            "--long-session",
            "11h59m",
            "--idle-share",
            "49.9999%",
            "--work-hours",
            "00:00-24:00",
            "--work-days",
            "mon-thu,sat",
        ],
    );
    let kinds: Vec<(String, String)> = got
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [
        // Friday is no work day now: 20's Friday part, 17:30-24:00
        ("after_hours", "20"),
        ("concurrent", "10"),
        ("concurrent", "11"),
        // 50% is over 49.9999%
        ("idle_share", "40"),
        ("idle_share", "41"),
        ("long", "30"),
        ("long", "31"),
        ("open", "50"),
    ]
    .iter()
    .map(|(k, s)| (k.to_string(), s.to_string()))
    .collect();
    assert_eq!(kinds, want, "{got}");
    assert!(got.contains(
        "after_hours,20,3,cy,g4,WS-4,2021-03-05T17:30:00.000000Z,2021-03-06T00:00:00.000000Z,23400000000,"
    ));
}

/// Work hours are local: Monday 2021-03-29 in Berlin is on summer time
/// (+02:00) and 05:30Z-06:30Z is 07:30-08:30 there: 30 min before 08:00.
/// The Friday before, on winter time (+01:00), 16:30Z-17:30Z is 17:30-18:30:
/// 30 min after 18:00, from 17:00Z.
#[test]
fn work_hours_follow_the_zone_and_its_dst() {
    let dir = Dir::new();
    let log = "\
60,1,ann,g1,WS-1,2021-03-29T05:30:00Z,login
60,1,ann,g1,WS-1,2021-03-29T06:30:00Z,logout
61,1,ann,g1,WS-1,2021-03-26T16:30:00Z,login
61,1,ann,g1,WS-1,2021-03-26T17:30:00Z,logout
";
    let got = report(&dir, log, &["--tz", "Europe/Berlin"]);
    assert_eq!(
        got.lines().skip(1).collect::<Vec<_>>(),
        vec![
            "after_hours,61,1,ann,g1,WS-1,2021-03-26T17:00:00.000000Z,2021-03-26T17:30:00.000000Z,1800000000,",
            "after_hours,60,1,ann,g1,WS-1,2021-03-29T05:30:00.000000Z,2021-03-29T06:00:00.000000Z,1800000000,",
        ]
    );
}

#[test]
fn bad_rule_values_are_usage_errors_naming_the_flag() {
    let dir = Dir::new();
    let input = dir.write("log.csv", format!("{HEADER}{LOG}"));
    let out = dir.path("out").display().to_string();
    for (flag, value) in [
        ("--work-hours", "18:00-08:00"),
        ("--work-hours", "08:00-08:00"),
        ("--work-hours", "08:00-24:01"),
        ("--work-hours", "8:00-18:00"),
        ("--work-hours", "08:60-18:00"),
        ("--work-days", "fri-mon"),
        ("--work-days", "monday"),
        ("--work-days", ""),
        ("--idle-share", "120%"),
        ("--idle-share", "50"),
        ("--idle-share", "1.23456%"),
        ("--long-session", "0s"),
        ("--long-session", "soon"),
    ] {
        let err = sessionstat(&["report", "-q", "-i", &input, "-o", &out, flag, value]).fails(2);
        assert!(
            err.contains(flag) && err.contains(value),
            "{flag} {value}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert!(!dir.path("out").exists(), "nothing written");
}

#[test]
fn every_backfill_period_has_its_findings() {
    let dir = Dir::new();
    let input = dir.write("log.csv", format!("{HEADER}{LOG}"));
    let out = dir.path("set").display().to_string();
    sessionstat(&[
        "backfill",
        "-q",
        "-i",
        &input,
        "--idle-after",
        "off",
        "--from",
        "2021-03-05",
        "--to",
        "2021-03-06",
        "--every",
        "day",
        "-o",
        &out,
    ])
    .ok();
    // Each day's window drops the events outside it (SPEC 3.1): on Friday
    // session 20 ends at its 23:50 event, so 18:00-23:50 is outside; on
    // Saturday only its logout is left, a session of no length: no row.
    assert_eq!(
        dir.read("set/day=2021-03-05/findings.csv").lines().nth(1),
        Some("after_hours,20,3,cy,g4,WS-4,2021-03-05T18:00:00.000000Z,2021-03-05T23:50:00.000000Z,21000000000,")
    );
    assert_eq!(
        dir.read("set/day=2021-03-06/findings.csv").lines().count(),
        1
    );
}
