//! ActivityWatch exports (SPEC 14): generated exports of both servers'
//! shapes (tests/activitywatch.py) read by sessionstat and by ActivityWatch's
//! own transforms (PyPI's aw-core 0.5.18 and aw-client 0.5.15): per host and
//! local day, the active time, the time per application and per site must be
//! equal to the microsecond.

use crate::util::{sessionstat, Dir};
use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/activitywatch.py");

/// Python with aw-core and aw-client: CI installs them (.ci/run); a
/// developer without them is told how to get them, and CI fails rather
/// than skip.
fn python_with_aw() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aw_transform, aw_client.queries"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must have ActivityWatch's packages (pip install aw-core==0.5.18 aw-client==0.5.15)"
    );
    if !ok {
        eprintln!("SKIPPED: needs `pip install aw-core==0.5.18 aw-client==0.5.15`");
    }
    ok
}

fn python(args: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A table's rows as (user, day, [key,] productive_us), sorted; rows whose
/// key column is empty (time with no application or site) left out.
fn rows(path: &std::path::Path, key: Option<&str>) -> Vec<Value> {
    let mut reader = csv::Reader::from_path(path).expect("a table");
    let head = reader.headers().expect("a header").clone();
    let col = |name: &str| head.iter().position(|h| h == name).expect(name);
    let mut out: Vec<Value> = Vec::new();
    for r in reader.records() {
        let r = r.expect("a row");
        let mut row = vec![
            Value::from(&r[col("user_name")]),
            Value::from(&r[col("day")]),
        ];
        if let Some(k) = key {
            if r[col(k)].is_empty() {
                continue;
            }
            row.push(Value::from(&r[col(k)]));
        }
        row.push(Value::from(
            r[col("productive_us")].parse::<i64>().expect("an integer"),
        ));
        out.push(Value::Array(row));
    }
    out.sort_by_key(|v| v.to_string());
    out
}

/// The sessions table's (client, login, logout), sorted.
fn sessions(path: &std::path::Path) -> Vec<Value> {
    let mut reader = csv::Reader::from_path(path).expect("a table");
    let head = reader.headers().expect("a header").clone();
    let col = |name: &str| head.iter().position(|h| h == name).expect(name);
    let mut out: Vec<Value> = reader
        .records()
        .map(|r| {
            let r = r.expect("a row");
            Value::from(vec![
                &r[col("client_guid")],
                &r[col("login")],
                &r[col("logout")],
            ])
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

fn sorted(v: &Value) -> Vec<Value> {
    let mut v = v.as_array().expect("a list").clone();
    v.sort_by_key(|v| v.to_string());
    v
}

#[test]
fn exports_equal_activitywatchs_own_numbers() {
    if !python_with_aw() {
        return;
    }
    let d = Dir::new();
    let zones = [
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "UTC",
    ];
    for seed in 0..12 {
        let zone = zones[seed % zones.len()];
        let export = d.path(&format!("export-{seed}.json")).display().to_string();
        python(&["make", &seed.to_string(), &export]);
        let want: Value = serde_json::from_str(&python(&["read", zone, &export])).expect("json");
        let out = d.path(&format!("r{seed}"));
        // Found by its content: a .json file that starts with "buckets".
        sessionstat(&[
            "report",
            "-i",
            &export,
            "-o",
            &out.display().to_string(),
            "--tz",
            zone,
            "-q",
        ])
        .ok();
        let at = |t: &str| out.join(format!("{t}.csv"));
        let context = format!("seed {seed}, zone {zone}");
        assert_eq!(
            rows(&at("daily_user"), None),
            sorted(&want["days"]),
            "{context}"
        );
        assert_eq!(
            rows(&at("daily_app"), Some("app")),
            sorted(&want["apps"]),
            "{context}"
        );
        assert_eq!(
            rows(&at("daily_site"), Some("site")),
            sorted(&want["sites"]),
            "{context}"
        );
        assert_eq!(
            sessions(&at("sessions")),
            sorted(&want["sessions"]),
            "{context}"
        );
    }
}

/// Several exports (several people's machines) in one run: each host's
/// numbers as in a run of its own.
#[test]
fn several_exports_in_one_run() {
    if !python_with_aw() {
        return;
    }
    let d = Dir::new();
    let files: Vec<String> = ["a-", "b-", "c-"]
        .iter()
        .enumerate()
        .map(|(i, prefix)| {
            let path = d
                .path(&format!("{prefix}export.json"))
                .display()
                .to_string();
            python(&["make", &(20 + i).to_string(), &path, prefix]);
            path
        })
        .collect();
    let mut args = vec!["read", "America/Havana"];
    args.extend(files.iter().map(String::as_str));
    let want: Value = serde_json::from_str(&python(&args)).expect("json");
    let out = d.path("r").display().to_string();
    let mut run = vec!["report", "-o", &out, "--tz", "America/Havana", "-q"];
    for f in &files {
        run.extend(["-i", f.as_str()]);
    }
    sessionstat(&run).ok();
    let at = |t: &str| d.path(&format!("r/{t}.csv"));
    assert_eq!(rows(&at("daily_user"), None), sorted(&want["days"]));
    assert_eq!(rows(&at("daily_app"), Some("app")), sorted(&want["apps"]));
    assert_eq!(
        rows(&at("daily_site"), Some("site")),
        sorted(&want["sites"])
    );
    assert_eq!(sessions(&at("sessions")), sorted(&want["sessions"]));
}

#[test]
fn the_user_is_named_the_host_stays_the_client_and_pauses_split_sessions() {
    if !python_with_aw() {
        return;
    }
    let d = Dir::new();
    let export = d.path("e.json").display().to_string();
    python(&["make", "3", &export]);
    let page = |extra: &[&str]| -> Value {
        let mut args = vec!["sessions", "-i", &export];
        args.extend_from_slice(extra);
        serde_json::from_str(&sessionstat(&args).ok()).expect("json")
    };
    let named = page(&["--aw-user", "Ann|Smith"]);
    let sessions = named["sessions"].as_array().expect("sessions");
    assert!(!sessions.is_empty());
    for s in sessions {
        assert_eq!(s["userName"], "Ann|Smith");
        assert!(["laptop", "desk|top\\1"].contains(&s["clientGuid"].as_str().unwrap()));
        assert_eq!(s["clientName"], s["clientGuid"]);
    }
    // Without --aw-user the host is the user too.
    for s in page(&[])["sessions"].as_array().unwrap() {
        assert_eq!(s["userName"], s["clientGuid"]);
    }
    // The export's pauses run from 1 to 200 minutes: longer than 30 minutes
    // start a session, so a longer --sessionize makes fewer sessions, and
    // the same active time.
    let total = |p: &Value| -> (usize, i64) {
        let s = p["sessions"].as_array().unwrap();
        let us = |t: &str| {
            let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
            let mut parts = hms.split(':').map(|x| x.parse::<i64>().unwrap());
            let (h, m, sec) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            ((h * 60 + m) * 60 + sec) * 1_000_000
                + format!("{frac:0<7}")[..6].parse::<i64>().unwrap()
        };
        (
            s.len(),
            s.iter()
                .map(|x| us(x["productivityTime"].as_str().unwrap()))
                .sum(),
        )
    };
    let (n30, t30) = total(&page(&["--session-count", "1000"]));
    let (n300, t300) = total(&page(&["--session-count", "1000", "--sessionize", "300m"]));
    assert!(n300 < n30, "{n300} sessions with 300m, {n30} with 30m");
    assert_eq!(t300, t30);
}

#[test]
fn a_broken_export_fails_naming_it_and_writes_nothing() {
    let d = Dir::new();
    let out = d.path("r").display().to_string();
    let cases = [
        (
            "notjson.json",
            "{\"buckets\": {\"b\": nope",
            "as an ActivityWatch export",
        ),
        (
            "noevents.json",
            r#"{"buckets": {"aw-watcher-afk_h": {"type": "afkstatus", "hostname": "h"}}}"#,
            r#"bucket "aw-watcher-afk_h" has no "events""#,
        ),
        (
            "notime.json",
            r#"{"buckets": {"w": {"type": "currentwindow", "hostname": "h", "events": [{"timestamp": "2024-01-01T00:00:00Z", "duration": 1, "data": {"app": "a"}}, {"duration": 1, "data": {}}]}}}"#,
            r#"notime.json event 1, column (whole row), value "": bucket "w": the event has no timestamp"#,
        ),
        (
            "negative.json",
            r#"{"buckets": {"w": {"type": "currentwindow", "hostname": "h", "events": [{"timestamp": "2024-01-01T00:00:00Z", "duration": -0.5, "data": {"app": "a"}}]}}}"#,
            r#"negative.json event 0, column (whole row), value "": bucket "w": duration -0.5 is negative"#,
        ),
        (
            "text.json",
            r#"{"buckets": {"w": {"type": "afkstatus", "hostname": "h", "events": [{"timestamp": "2024-01-01T00:00:00Z", "duration": "5", "data": {"status": "afk"}}]}}}"#,
            r#"bucket "w": duration "5" is not a number"#,
        ),
    ];
    for (name, text, says) in cases {
        let path = d.write(name, text);
        let err = sessionstat(&[
            "report",
            "-i",
            &path,
            "-o",
            &out,
            "--format",
            "activitywatch",
        ])
        .fails(1);
        let err = err.trim_end();
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(err.contains(name) && err.contains(says), "{name}: {err}");
        assert!(!d.path("r").exists(), "{name}: nothing written");
    }
    // Mixed with another format, or mapped: usage errors.
    let export = d.write("ok.json", r#"{"buckets": {}}"#);
    let csv = d.write(
        "x.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp\n",
    );
    assert!(sessionstat(&["sessions", "-i", &export, "-i", &csv])
        .fails(2)
        .contains("alone"));
    assert!(
        sessionstat(&["sessions", "-i", &export, "--map", "user_id=u"])
            .fails(2)
            .contains("--map")
    );
    assert!(sessionstat(&["sessions", "-i", &csv, "--aw-user", "x"])
        .fails(2)
        .contains("--aw-user"));
}
