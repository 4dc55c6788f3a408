//! The Spark engine (SPEC 11) against the local one: the same bytes from
//! both on the fixtures and on generated logs across midnight and DST, bad
//! rows on both, and a dead or silent server failing within the deadline
//! with nothing written.
//!
//! The server: `SESSIONSTAT_TEST_SPARK` (sc://127.0.0.1:PORT), which
//! `.ci/run` starts. Without it these tests skip, except under CI, where
//! they fail.

use crate::util::{sessionstat, Dir};
use std::path::Path;
use std::time::{Duration, Instant};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.csv");
const BASIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/basic.csv");

/// The test server's address, or `None` to skip (never under CI).
fn server() -> Option<String> {
    match std::env::var("SESSIONSTAT_TEST_SPARK") {
        Ok(a) if !a.is_empty() => Some(a),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but SESSIONSTAT_TEST_SPARK names no Spark Connect server")
        }
        _ => {
            eprintln!("skipped: no Spark Connect server (set SESSIONSTAT_TEST_SPARK)");
            None
        }
    }
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `summary.json` without the engine's name, which is all that may differ.
fn summary_but_engine(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let engine = v["settings"]
        .as_object_mut()
        .unwrap()
        .remove("engine")
        .expect("summary.json names the engine");
    assert!(engine.is_string());
    v
}

/// Two output folders hold the same files with the same bytes; summaries
/// (and a backfill's manifest) equal but for the engine.
fn same_folders(local: &Path, spark: &Path) {
    let names = files(local);
    assert_eq!(names, files(spark), "the same files");
    assert!(names.iter().any(|n| n.ends_with("sessions.parquet")));
    for n in &names {
        let (a, b) = (local.join(n), spark.join(n));
        if n.ends_with("summary.json") {
            assert_eq!(summary_but_engine(&a), summary_but_engine(&b), "{n}");
        } else if n.ends_with("_backfill.json") {
            continue; // records run times; its periods are compared as folders
        } else {
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{n} differs between the engines:\nlocal:\n{}\nspark:\n{}",
                String::from_utf8_lossy(&std::fs::read(&a).unwrap())
                    .chars()
                    .take(3000)
                    .collect::<String>(),
                String::from_utf8_lossy(&std::fs::read(&b).unwrap())
                    .chars()
                    .take(3000)
                    .collect::<String>()
            );
        }
    }
}

/// A generated log of `users` over `days` from `start` in `tz`, as `style`
/// writes times (naive: wall clock, resolved in --tz by the engine).
fn generated(d: &Dir, name: &str, tz: &str, start: &str, days: &str, style: &str) -> String {
    let out = d.path(name).display().to_string();
    sessionstat(&[
        "generate",
        "--out",
        &out,
        "--tz",
        tz,
        "--start-date",
        start,
        "--days",
        days,
        "--users",
        "12",
        "--time-style",
        style,
        "--seed",
        "7",
        "--quiet",
    ])
    .ok();
    out
}

fn report_both(addr: &str, d: &Dir, tag: &str, input: &str, extra: &[&str]) {
    let (lo, sp) = (
        d.path(&format!("{tag}-local")),
        d.path(&format!("{tag}-spark")),
    );
    for (out, engine) in [(&lo, "local"), (&sp, addr)] {
        let out = out.display().to_string();
        let mut args = vec![
            "report", "--quiet", "--input", input, "--out", &out, "--engine", engine,
        ];
        args.extend_from_slice(extra);
        sessionstat(&args).ok();
    }
    same_folders(&lo, &sp);
}

/// `report` of `input` on both engines into `TAG-local` and `TAG-spark`,
/// with `extra` flags and the rejected rows beside the folders (Spark's
/// name no line, SPEC 11.2): each engine's rejects, one JSON value a row.
fn report_both_rejecting(
    addr: &str,
    d: &Dir,
    tag: &str,
    input: &str,
    extra: &[&str],
) -> [Vec<serde_json::Value>; 2] {
    [(0, "local"), (1, addr)].map(|(i, engine)| {
        let side = ["local", "spark"][i];
        let out = d.path(&format!("{tag}-{side}")).display().to_string();
        let r = d
            .path(&format!("{tag}-{side}.ndjson"))
            .display()
            .to_string();
        let mut args = vec![
            "report",
            "--quiet",
            "--input",
            input,
            "--out",
            &out,
            "--engine",
            engine,
            "--rejects",
            &r,
        ];
        args.extend_from_slice(extra);
        sessionstat(&args).ok();
        std::fs::read_to_string(&r)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    })
}

/// `report` of `input` with the id registry `reg` (`--ids`) on both
/// engines into `TAG-local` and `TAG-spark`, with `extra` flags and the
/// rejected rows beside the folders: each engine starts from the registry
/// as it was, at the same path (which `summary.json` records). The folders
/// must be the same and the registries written equal byte for byte; the
/// registry is left as written.
fn report_both_registry(
    addr: &str,
    d: &Dir,
    tag: &str,
    input: &str,
    reg: &Path,
    extra: &[&str],
) -> [std::path::PathBuf; 2] {
    let before = std::fs::read(reg).ok();
    let mut written = Vec::new();
    let outs = [("local", "local"), ("spark", addr)].map(|(side, engine)| {
        match &before {
            Some(b) => std::fs::write(reg, b).unwrap(),
            None => drop(std::fs::remove_file(reg)),
        }
        let out = d.path(&format!("{tag}-{side}"));
        let rejects = d.path(&format!("{tag}-{side}.ndjson"));
        let mut args = vec![
            "report",
            "--quiet",
            "--input",
            input,
            "--out",
            out.to_str().unwrap(),
            "--engine",
            engine,
            "--ids",
            reg.to_str().unwrap(),
            "--rejects",
            rejects.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        sessionstat(&args).ok();
        written.push(std::fs::read(reg).unwrap());
        out
    });
    same_folders(&outs[0], &outs[1]);
    assert!(written[0] == written[1], "{tag}: the registries differ");
    outs
}

/// Each rejected row's column and value, as JSON text.
fn cells(rows: &[serde_json::Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|l| (l["column"].to_string(), l["value"].to_string()))
        .collect()
}

#[test]
fn reports_equal_the_local_engine() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    report_both(&addr, &d, "sample", SAMPLE, &[]);
    report_both(
        &addr,
        &d,
        "basic",
        BASIC,
        &["--tz", "Europe/Berlin", "--session-count", "2"],
    );
    report_both(
        &addr,
        &d,
        "window",
        BASIC,
        &[
            "--start",
            "2021-04-01T08:10:00Z",
            "--end",
            "2021-04-01T11:00",
            "--idle-after",
            "20m",
        ],
    );
    // Across Berlin's autumn change, wall times resolved in the zone, a
    // window cutting sessions, other work hours.
    let berlin = generated(
        &d,
        "berlin.csv",
        "Europe/Berlin",
        "2021-10-29",
        "3",
        "naive",
    );
    report_both(
        &addr,
        &d,
        "berlin",
        &berlin,
        &[
            "--tz",
            "Europe/Berlin",
            "--start",
            "2021-10-30T06:00",
            "--end",
            "2021-10-31T20:00",
            "--work-hours",
            "08:30-17:15",
        ],
    );
    // New York's spring change, as Parquet, whole log, in Kathmandu's +05:45.
    let ny = generated(
        &d,
        "ny.parquet",
        "America/New_York",
        "2021-03-13",
        "2",
        "utc",
    );
    report_both(&addr, &d, "ny", &ny, &["--tz", "Asia/Kathmandu"]);
    let nd = generated(
        &d,
        "ny.ndjson",
        "America/New_York",
        "2021-03-13",
        "2",
        "offset",
    );
    report_both(
        &addr,
        &d,
        "ndjson",
        &nd,
        &["--tz", "America/New_York", "--idle-after", "off"],
    );
    // Blank rows (an empty line, a row of empty cells) are counted, not bad.
    let blank = d.write(
        "blank.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n\
         1,1,a,g,c,2021-04-01T08:00:00Z,login\n\n,,,,,,\n1,1,a,g,c,2021-04-01T08:10:00Z,logout\n",
    );
    report_both(&addr, &d, "blank", &blank, &[]);
    let s: serde_json::Value = serde_json::from_str(&d.read("blank-spark/summary.json")).unwrap();
    assert_eq!(
        (
            s["counts"]["blankRowsSkipped"].as_u64(),
            s["counts"]["eventsRead"].as_u64()
        ),
        (Some(2), Some(4))
    );
}

#[test]
fn backfill_periods_equal_the_local_engine() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let log = generated(&d, "b.csv", "Europe/Berlin", "2021-03-26", "4", "offset");
    let (lo, sp) = (d.path("local"), d.path("spark"));
    for (out, engine) in [(&lo, "local"), (&sp, addr.as_str())] {
        let out = out.display().to_string();
        sessionstat(&[
            "backfill",
            "--quiet",
            "--input",
            &log,
            "--out",
            &out,
            "--engine",
            engine,
            "--tz",
            "Europe/Berlin",
            "--from",
            "2021-03-26",
            "--to",
            "2021-03-30",
            "--every",
            "day",
        ])
        .ok();
    }
    same_folders(&lo, &sp);
    assert!(files(&lo).iter().any(|f| f.starts_with("day=2021-03-28/")));
}

#[test]
fn backfill_reads_a_uri_and_never_skips_it_on_a_guess() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let log = generated(&d, "u.csv", "UTC", "2021-04-01", "2", "utc");
    let uri = format!("file://{log}");
    let (lo, sp) = (d.path("local"), d.path("spark"));
    // Backfills twice and returns what the second run reports.
    let run = |input: &str, out: &Path, engine: &str| {
        let out = out.display().to_string();
        let args = [
            "backfill",
            "--input",
            input,
            "--out",
            &out,
            "--engine",
            engine,
            "--from",
            "2021-04-01",
            "--to",
            "2021-04-02",
            "--every",
            "day",
        ];
        sessionstat(&args).ok();
        let r = sessionstat(&args);
        r.ok();
        r.stderr()
    };
    assert!(run(&log, &lo, "local").contains("2 periods up to date, 0 computed"));
    // Its size and time are not seen here: the rerun computes again.
    assert!(run(&uri, &sp, &addr).contains("0 periods up to date, 2 computed"));
    for day in ["day=2021-04-01", "day=2021-04-02"] {
        for f in files(&lo.join(day)) {
            if f != "summary.json" {
                assert!(
                    std::fs::read(lo.join(day).join(&f)).unwrap()
                        == std::fs::read(sp.join(day).join(&f)).unwrap(),
                    "{day}/{f}"
                );
            }
        }
    }
}

#[test]
fn stdout_commands_equal_the_local_engine() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let log = generated(&d, "s.csv", "Europe/Berlin", "2021-10-30", "2", "naive");
    for args in [
        vec!["sessions", "--session-count", "3", "--page-index", "1"],
        vec!["sessions", "--get", "--start", "2021-10-31"],
        vec![
            "productivity",
            "--start",
            "2021-10-30T22:00",
            "--end",
            "2021-10-31T05:00",
        ],
    ] {
        let mut outs = Vec::new();
        for engine in ["local", addr.as_str()] {
            let mut a = args.clone();
            a.extend([
                "--quiet",
                "--input",
                &log,
                "--tz",
                "Europe/Berlin",
                "--engine",
                engine,
            ]);
            outs.push(sessionstat(&a).ok());
        }
        assert!(outs[0].len() > 20, "{args:?}: {}", outs[0]);
        assert_eq!(outs[0], outs[1], "{args:?}");
    }
}

/// Nested NDJSON (SPEC 9.4) as a SIEM shipper writes it, read through
/// dotted paths, one of them a key with a dot of its own (`host\.name`):
/// both engines give the same folder, the same bad rows included (a line
/// whose `user` object is missing, one whose id is an object).
#[test]
fn nested_ndjson_paths_equal_the_local_engine() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let flat = generated(
        &d,
        "flat.ndjson",
        "Europe/Berlin",
        "2021-10-30",
        "2",
        "offset",
    );
    let mut nested = String::new();
    for (i, line) in std::fs::read_to_string(&flat).unwrap().lines().enumerate() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut row = serde_json::json!({
            "winlog": {"event_data": {"TargetLogonId": e["session_id"]}, "computer_name": e["client_name"]},
            "user": {"id": e["user_id"], "name": e["user_name"]},
            "host.name": e["client_guid"],
            "@timestamp": e["timestamp"],
            "event": {"action": e["kind"], "code": 4624},
        });
        match i {
            7 => drop(row.as_object_mut().unwrap().remove("user")),
            11 => row["winlog"]["event_data"]["TargetLogonId"] = serde_json::json!({"x": 1}),
            _ => {}
        }
        nested.push_str(&row.to_string());
        nested.push('\n');
    }
    let input = d.write("nested.ndjson", &nested);
    let map = "session_id=winlog.event_data.TargetLogonId,user_id=user.id,user_name=user.name,\
               client_guid=host\\.name,client_name=winlog.computer_name,timestamp=@timestamp,kind=event.action";
    let rejects = report_both_rejecting(
        &addr,
        &d,
        "nested",
        &input,
        &["--map", map, "--tz", "Europe/Berlin", "--max-bad-rows", "5"],
    );
    assert_eq!(
        cells(&rejects[0]),
        [
            (r#""user.id (user_id)""#.into(), r#""""#.into()),
            (
                r#""winlog.event_data.TargetLogonId (session_id)""#.into(),
                r#""{\"x\":1}""#.into()
            )
        ]
    );
    assert_eq!(cells(&rejects[0]), cells(&rejects[1]));
    same_folders(&d.path("nested-local"), &d.path("nested-spark"));
}

/// Text ids (SPEC 9.1) on Spark: a real Windows log's sessions and users
/// as keys, a second file with keys that need quoting, a missing key and
/// a session whose user changes; then an id registry over two runs, the
/// second with new keys. Both engines give the same folders (`ids.csv`
/// included), the same bad rows with the same rules, and registries of the
/// same bytes.
#[test]
fn text_ids_and_a_registry_equal_the_local_engine() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let real = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/evtx/security-events.csv"
    ))
    .unwrap();
    let lines: Vec<&str> = real.lines().collect();
    let head = lines[0];
    // Keys sort differently from their first appearance, so sorted ids and
    // a registry's differ.
    let extra = format!(
        "{head}\n\
         zz/9,S-9,w\\z,G9,C9,2016-07-08T18:20:00Z,login\n\
         \"a \"\"q\"\" \\ b\",S-1,x,G1,C1,2016-07-08T18:21:00Z,login\n\
         \"a \"\"q\"\" \\ b\",S-1,x,G1,C1,2016-07-08T18:25:00Z,activity\n\
         \"a \"\"q\"\" \\ b\",S-2,x,G1,C1,2016-07-08T18:26:00Z,activity\n\
         \" \",S-1,x,G1,C1,2016-07-08T18:27:00Z,activity\n\
         zz/9,S-9,w\\z,G9,C9,2016-07-08T18:40:00Z,logout\n"
    );
    d.write("in/a.csv", lines[..61].join("\n") + "\n");
    d.write("in/b.csv", &extra);
    let all = format!("{head}\n{}\n", lines[61..].join("\n"));
    let input = d.path("in").display().to_string();
    let keys = ["--id-keys", "session,user", "--max-bad-rows", "5"];
    let rejects = report_both_rejecting(&addr, &d, "keys", &input, &keys);
    let rules = |rows: &[serde_json::Value]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|l| {
                (
                    l["column"].to_string(),
                    l["value"].to_string(),
                    l["reason"].to_string(),
                )
            })
            .collect()
    };
    assert_eq!(rules(&rejects[0]).len(), 2, "{:?}", rejects[0]);
    assert!(
        rejects[0][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with(r#"session "a \"q\" \\ b" already has user_id "S-1""#),
        "{}",
        rejects[0][0]
    );
    assert_eq!(rules(&rejects[0]), rules(&rejects[1]));
    same_folders(&d.path("keys-local"), &d.path("keys-spark"));
    assert!(d.path("keys-spark/ids.csv").exists());

    // A registry over two runs: the second adds the rest of the real log.
    d.write("in/c.csv", &all);
    let reg = d.path("ids.parquet");
    for (tag, files) in [
        ("first", vec!["a.csv", "b.csv"]),
        ("second", vec!["a.csv", "b.csv", "c.csv"]),
    ] {
        let dir = d.path(&format!("in-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::copy(d.path(&format!("in/{f}")), dir.join(f)).unwrap();
        }
        let input = dir.display().to_string();
        let args = ["--id-keys", "session,user", "--max-bad-rows", "5"];
        let [_, spark] = report_both_registry(&addr, &d, tag, &input, &reg, &args);
        assert!(!spark.join("ids.csv").exists());
    }
}

/// Applications and sites (SPEC 13) on Spark: `apps` and the report's
/// files equal the local engine's on the hand-computed hour (with ties in
/// time that input order decides, an over-long cell, a URL without an
/// application), on generated logs across DST with a window that cuts
/// sessions (so the foreground comes from events before it), in a zone with
/// half-hour changes, and in a backfill whose numeric ids are read as keys.
#[test]
fn applications_and_sites_equal_the_local_engine() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    // tests/apps.rs's hour by hand, and a session with ties in time (the
    // later row's application is in front after them), an over-long cell
    // and a URL without an application.
    let long = "x".repeat(4097);
    let hand = d.write(
        "hand.csv",
        format!(
            "{}{}\
             3,7,ann,g1,pc1,2021-09-01T16:10:00Z,activity,WINWORD.EXE,\n\
             3,7,ann,g1,pc1,2021-09-01T16:10:00Z,activity,excel.exe,file:///C:/x.xlsx\n\
             3,7,ann,g1,pc1,2021-09-01T16:12:00Z,activity,{long},\n\
             3,7,ann,g1,pc1,2021-09-01T16:20:00Z,activity,,\n\
             3,7,ann,g1,pc1,2021-09-01T16:25:00Z,activity,,about:blank\n\
             3,7,ann,g1,pc1,2021-09-01T16:25:00Z,activity,chrome.exe,\n\
             3,7,ann,g1,pc1,2021-09-01T16:30:00Z,logout,,\n",
            crate::apps::HEADER,
            crate::apps::HAND
        ),
    );
    let stdout = |cmd: &str, input: &str, extra: &[&str]| -> [String; 2] {
        [("local", "local"), ("spark", addr.as_str())].map(|(side, engine)| {
            let rejects = d
                .path(&format!("{cmd}-{side}.ndjson"))
                .display()
                .to_string();
            let mut args = vec![
                cmd,
                "-q",
                "-i",
                input,
                "--engine",
                engine,
                "--rejects",
                &rejects,
            ];
            args.extend_from_slice(extra);
            sessionstat(&args).ok()
        })
    };
    let moscow = ["--tz", "Europe/Moscow", "--max-bad-rows", "1"];
    // `apps` on stdout (the report's apps.json and urls.json are the two
    // commands' bytes, tests/apps.rs).
    let [local, spark] = stdout("apps", &hand, &moscow);
    // After the ties at 16:10, excel.exe is in front.
    assert!(local.contains("\"key\":\"excel.exe\""), "{local}");
    assert_eq!(local, spark);
    let rejects = report_both_rejecting(&addr, &d, "hand", &hand, &moscow);
    assert_eq!(rejects[0].len(), 1);
    assert_eq!(rejects[0][0]["reason"], rejects[1][0]["reason"]);
    assert_eq!(cells(&rejects[0]), cells(&rejects[1]));
    same_folders(&d.path("hand-local"), &d.path("hand-spark"));

    // Generated applications and URLs across Berlin's autumn change and
    // Lord Howe's half-hour spring change, read from Parquet and NDJSON,
    // the window cutting sessions.
    // (About one user in 25 is a service account whose sessions run
    // through the night of the change.)
    for (name, tz, day, start) in [
        (
            "apps.parquet",
            "Europe/Berlin",
            "2021-10-29",
            "2021-10-30T10:17",
        ),
        (
            "apps.ndjson",
            "Europe/Berlin",
            "2021-10-29",
            "2021-10-30T10:17",
        ),
        (
            "howe.parquet",
            "Australia/Lord_Howe",
            "2021-10-01",
            "2021-10-02T09:00",
        ),
    ] {
        let log = d.path(name).display().to_string();
        sessionstat(&[
            "generate",
            "--out",
            &log,
            "--tz",
            tz,
            "--start-date",
            day,
            "--days",
            "4",
            "--users",
            "30",
            "--apps",
            "--seed",
            "11",
            "--quiet",
        ])
        .ok();
        // generate nests the NDJSON's cells under `focus`.
        let map = match name.ends_with(".ndjson") {
            true => "app=focus.app,url=focus.url",
            false => "kind=kind",
        };
        let window = ["--tz", tz, "--start", start, "--map", map];
        // The report's apps.json and urls.json are the two commands' bytes
        // (tests/apps.rs), compared here with the rest of the folder.
        report_both(&addr, &d, name, &log, &window);
        for file in ["apps.json", "urls.json"] {
            let text = d.read(&format!("{name}-local/{file}"));
            assert!(text.len() > 1000, "{name} {file}: {text}");
        }
        if tz == "Australia/Lord_Howe" {
            // The part after the jump from 02:00 to 02:30 is hour 02 at +11:00.
            assert!(d
                .read(&format!("{name}-spark/apps.json"))
                .contains("\"2021-10-03T02:00:00+11:00\""));
        }
    }
    let log = d.path("apps.parquet").display().to_string();
    let (lo, sp) = (d.path("bf-local"), d.path("bf-spark"));
    for (out, engine) in [(&lo, "local"), (&sp, addr.as_str())] {
        sessionstat(&[
            "backfill",
            "--quiet",
            "--input",
            &log,
            "--out",
            out.to_str().unwrap(),
            "--engine",
            engine,
            "--tz",
            "Europe/Berlin",
            "--from",
            "2021-10-29",
            "--to",
            "2021-11-01",
            "--every",
            "day",
            // Numeric columns read as keys, ids over every period.
            "--id-keys",
            "session,user",
        ])
        .ok();
    }
    same_folders(&lo, &sp);
}

/// Sessions built from gaps (SPEC 9.2) on Spark: the hand-made log of
/// tests/real.rs (a gap of exactly GAP, logins and logouts, two sessions at
/// one instant, keys that need escaping), a real log whose user changes a
/// name on one client (a bad row naming the user and client), a generated
/// log with numeric users and applications across DST with a window, and a
/// registry. Every file equals the local engine's.
#[test]
fn sessions_built_from_gaps_equal_the_local_engine() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    // tests/real.rs's hand-made log, and a user and client that need escaping.
    let hand = d.write(
        "hand.csv",
        format!(
            "{}d|o\\m,Dom,p|c\\4,PC 4,2024-05-02T11:00:00Z,login\n\
             d|o\\m,Dom,p|c\\4,PC 4,2024-05-02T11:20:00Z,logout\n",
            crate::real::GAPS
        ),
    );
    let built = ["--id-keys", "user", "--sessionize", "30m"];
    report_both(&addr, &d, "hand", &hand, &built);
    assert!(d
        .read("hand-spark/sessions.csv")
        .contains(r"d\|o\\m|p\|c\\4|2024-05-02T11:00:00.000000Z"));

    let real = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/evtx/security-events.csv"
    ))
    .unwrap();
    let mut lines: Vec<String> = real.lines().map(String::from).collect();
    // A later row of the first user on its client with another name.
    let mut other: Vec<String> = lines[1].split(',').map(String::from).collect();
    other[2] = "someone else".into();
    lines.insert(20, other.join(","));
    let real = d.write("real.csv", lines.join("\n") + "\n");
    let gaps = [
        "--id-keys",
        "user",
        "--sessionize",
        "1h",
        "--max-bad-rows",
        "3",
    ];
    let rejects = report_both_rejecting(&addr, &d, "real", &real, &gaps);
    assert_eq!(rejects[0].len(), 1, "{:?}", rejects[0]);
    let rule = rejects[0][0]["reason"].as_str().unwrap();
    assert!(
        rule.starts_with(r#"user "S-1-5-21-2603537626-3982775912-406486804-1000" on client "WIN-03DLIIOFRRA" already has user_name"#),
        "{rule}"
    );
    assert_eq!(rejects[0][0]["reason"], rejects[1][0]["reason"]);
    assert_eq!(cells(&rejects[0]), cells(&rejects[1]));
    same_folders(&d.path("real-local"), &d.path("real-spark"));

    // Numeric users, the session column not read, wall times across DST.
    // Numeric users, the session column not read, applications followed
    // through the cut sessions, across DST with a window.
    let log = d.path("gen.parquet").display().to_string();
    sessionstat(&[
        "generate",
        "--out",
        &log,
        "--tz",
        "Europe/Berlin",
        "--start-date",
        "2021-10-29",
        "--days",
        "3",
        "--users",
        "30",
        "--apps",
        "--seed",
        "5",
        "--quiet",
    ])
    .ok();
    let window = [
        "--sessionize",
        "20m",
        "--tz",
        "Europe/Berlin",
        "--start",
        "2021-10-30T12:00",
    ];
    report_both(&addr, &d, "gen", &log, &window);
    assert!(d.read("gen-spark/apps.json").len() > 1000);
    // With a registry, twice: the second run finds every key known.
    let reg = d.path("ids.parquet");
    for run in ["1", "2"] {
        let args = ["--id-keys", "user", "--sessionize", "30m"];
        report_both_registry(&addr, &d, &format!("reg{run}"), &hand, &reg, &args);
    }
}

/// A Parquet log's bad rows on Spark, where the text of a native instant
/// or integer id is kept only for rows that break a rule at reading and
/// spelled from the parsed value for the others (a row whose user differs
/// from its session's first row): the two spellings agree, and both
/// engines reject the same cells and write the same folder.
#[test]
fn parquet_bad_rows_are_spelled_alike_on_spark() {
    use polars::prelude::*;
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let at = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_micros()
    };
    // (user id, user name, time, kind) of session 5's rows, in file order.
    let rows: [(i64, &'static str, &'static str, &'static str); 5] = [
        (7, "ann", "2021-04-01T08:00:00Z", "login"),
        (7, "ann", "2021-04-01T08:10:00.25Z", "activity"),
        (3_000_000_000, "ann", "2021-04-01T08:10:00.25Z", "activity"),
        (8, "bob", "2021-04-01T08:10:00.25Z", "activity"),
        (7, "ann", "2021-04-01T08:20:00Z", "logout"),
    ];
    let text = |f: fn(&(i64, &'static str, &'static str, &'static str)) -> &'static str| {
        rows.iter().map(|r| f(r).to_string()).collect::<Vec<_>>()
    };
    let mut df = DataFrame::new(
        rows.len(),
        vec![
            Column::new("session_id".into(), vec![5i64; rows.len()]),
            Column::new(
                "user_id".into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new("user_name".into(), text(|r| r.1)),
            Column::new("client_guid".into(), vec!["g1"; rows.len()]),
            Column::new("client_name".into(), vec!["PC1"; rows.len()]),
            Column::new(
                "timestamp".into(),
                rows.iter().map(|r| at(r.2)).collect::<Vec<_>>(),
            )
            .cast(&DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC),
            ))
            .unwrap(),
            Column::new("kind".into(), text(|r| r.3)),
        ],
    )
    .unwrap();
    let input = d.path("bad.parquet");
    ParquetWriter::new(std::fs::File::create(&input).unwrap())
        .finish(&mut df)
        .unwrap();
    let input = input.display().to_string();
    let rejects = report_both_rejecting(&addr, &d, "pq", &input, &["--max-bad-rows", "2"]);
    assert_eq!(
        cells(&rejects[0]),
        [
            (r#""user_id""#.into(), r#""3000000000""#.into()),
            (r#""user_id""#.into(), r#""8""#.into())
        ]
    );
    assert_eq!(cells(&rejects[0]), cells(&rejects[1]));
    // On Spark: the row rejected at reading keeps its cells' text, the
    // other's is spelled from its values; the same instant and session
    // read the same.
    let (kept, spelled) = (&rejects[1][0]["record"], &rejects[1][1]["record"]);
    assert_eq!(kept["user_id"], "3000000000", "{kept}");
    assert_eq!(
        (&spelled["user_id"], &spelled["user_name"], &spelled["kind"]),
        (&"8".into(), &"bob".into(), &"activity".into()),
        "{spelled}"
    );
    for c in ["session_id", "timestamp", "client_guid", "client_name"] {
        assert!(kept[c].as_str().is_some_and(|t| !t.is_empty()), "{kept}");
        assert_eq!(kept[c], spelled[c], "{c}: {kept} {spelled}");
    }
    assert!(
        kept["timestamp"].as_str().unwrap().contains(":10:00.25"),
        "{kept}"
    );
    same_folders(&d.path("pq-local"), &d.path("pq-spark"));
}

/// A log whose only bad rows break SPEC 1.4 (a user or client that differs
/// from the session's first row): Spark's count finds them though no cell
/// is bad, and the range of events comes from the good rows only. The
/// stray row is a year after the rest: counted in, it would stretch the
/// calendar; and a clean log beside it takes the shortcut, with a window
/// that cuts a session.
#[test]
fn rows_that_only_break_one_user_per_session_are_found_on_spark() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let mixed = d.write(
        "mixed.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n\
         1,1,ann,g1,PC1,2021-04-01T08:00:00Z,login\n\
         1,1,ann,g1,PC1,2021-04-01T08:05:00Z,activity\n\
         2,2,bob,g2,PC2,2021-04-01T09:00:00Z,login\n\
         1,1,ann,g9,PC1,2022-04-01T08:07:00Z,activity\n\
         2,2,bob,g2,PC2,2021-04-01T09:30:00Z,idle\n\
         1,1,ann,g1,PC1,2021-04-01T08:20:00Z,logout\n",
    );
    let rejects = report_both_rejecting(
        &addr,
        &d,
        "mixed",
        &mixed,
        &["--max-bad-rows", "1", "--tz", "Asia/Kolkata"],
    );
    assert_eq!(rejects[0].len(), 1, "{:?}", rejects[0]);
    assert_eq!(rejects[0][0]["column"], "client_guid", "{:?}", rejects[0]);
    assert_eq!(cells(&rejects[0]), cells(&rejects[1]));
    same_folders(&d.path("mixed-local"), &d.path("mixed-spark"));
    let clean = d.write(
        "clean.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n\
         1,1,ann,g1,PC1,2021-04-01T08:00:00Z,login\n\
         1,1,ann,g1,PC1,2021-04-01T08:50:00Z,activity\n\
         2,2,bob,g2,PC2,2021-04-01T09:00:00Z,login\n\
         1,1,ann,g1,PC1,2021-04-01T09:20:00Z,logout\n",
    );
    report_both(
        &addr,
        &d,
        "clean",
        &clean,
        &[
            "--start",
            "2021-04-01T08:30:00Z",
            "--end",
            "2021-04-01T23:00:00Z",
        ],
    );
}

#[test]
fn bad_rows_are_found_on_spark_as_locally() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let log = d.write(
        "bad.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n\
         1,1,ann,g1,PC1,2021-04-01T08:00:00Z,login\n\
         1,1,ann,g1,PC1,2021-04-01T08:05:00Z,\n\
         1,1,ann,g1,PC1,2021-04-01T08:07:00Z,sleeping\n\
         1,2,bob,g1,PC1,2021-04-01T08:09:00Z,activity\n\
         2,2,bob,g2,PC2,2021-04-01T09:00:00+02:00,login\n\
         2,2,bob,g2,PC2,2021-04-31T09:10:00,activity\n\
         2,2,bob,g2,PC2,2021-04-01T09:20:00,logout\n\
         3,99999999999,cy,g3,PC3,2021-04-01T10:00:00Z,login\n\
         4,4, ,g4,PC4,2021-04-01T10:00:00Z,login\n\
         5,5,dee,g5,PC5,2021-03-28T02:30:00,login\n\
         1,1,ann,g1,PC1,2021-04-01T08:20:00Z,logout\n",
    );
    // A report of the log in Berlin into `out` on `engine`, with `extra` flags.
    let report = |out: &Path, engine: &str, extra: &[&str]| {
        let out = out.display().to_string();
        let mut args = vec![
            "report",
            "--quiet",
            "--input",
            &log,
            "--out",
            &out,
            "--engine",
            engine,
            "--tz",
            "Europe/Berlin",
        ];
        args.extend_from_slice(extra);
        sessionstat(&args)
    };
    // By default the first bad row stops both engines, with nothing written.
    for engine in ["local", addr.as_str()] {
        let out = d.path(&format!("stop-{}", engine.len()));
        let err = report(&out, engine, &[]).fails(1);
        assert!(
            err.contains("bad.csv") && err.contains("sleeping"),
            "{engine}: {err}"
        );
        assert!(!out.exists());
    }
    // Under --max-bad-rows both skip the same rows and give the same outputs.
    let mut rejects = Vec::new();
    let (lo, sp) = (d.path("local"), d.path("spark"));
    for (out, engine) in [(&lo, "local"), (&sp, addr.as_str())] {
        let r = d
            .path(&format!("rejects-{}.ndjson", engine.len()))
            .display()
            .to_string();
        report(out, engine, &["--max-bad-rows", "6", "--rejects", &r]).ok();
        let mut rows: Vec<(String, String)> = std::fs::read_to_string(&r)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert!(v["file"].as_str().unwrap().ends_with("bad.csv"), "{l}");
                assert!(!v["reason"].as_str().unwrap().is_empty(), "{l}");
                (
                    v["column"].as_str().unwrap().to_string(),
                    v["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        rows.sort();
        rejects.push(rows);
    }
    assert_eq!(rejects[0].len(), 6, "{:?}", rejects[0]);
    assert_eq!(rejects[0], rejects[1]);
    same_folders(&lo, &sp);
    // One over the limit fails both.
    for engine in ["local", addr.as_str()] {
        let out = d.path(&format!("over-{}", engine.len()));
        let r = d.path("r.ndjson").display().to_string();
        let err = report(&out, engine, &["--max-bad-rows", "5", "--rejects", &r]).fails(1);
        assert!(err.contains("--max-bad-rows 5"), "{engine}: {err}");
        assert!(!out.exists());
    }
}

/// A name is missing when blank (SPEC 6.1); Spark takes a name whose first
/// byte is printable ASCII (33-126) as given without a regular expression.
/// Names at both edges of that range and past it are judged as locally:
/// `!` and `~` and a name starting with DEL or `é` are names, a name of
/// only a no-break space, an ideographic space or a next-line is missing.
#[test]
fn names_at_the_edges_of_printable_ascii_are_judged_alike_on_spark() {
    let Some(addr) = server() else { return };
    let d = Dir::new();
    let log = d.write(
        "names.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n\
         1,1,!,g1,PC1,2021-04-01T08:00:00Z,login\n\
         2,2,~,g2,PC2,2021-04-01T08:01:00Z,login\n\
         3,3,\u{7f}x,g3,PC3,2021-04-01T08:02:00Z,login\n\
         4,4,\u{e9},g4,~,2021-04-01T08:03:00Z,login\n\
         5,5,\u{a0},g5,PC5,2021-04-01T08:04:00Z,login\n\
         6,6,ann,\u{3000},PC6,2021-04-01T08:05:00Z,login\n\
         7,7,ann,g7,\u{85},2021-04-01T08:06:00Z,login\n\
         8,8, x,g8,PC8,2021-04-01T08:07:00Z,login\n\
         9,9,\u{7f},g9,!,2021-04-01T08:08:00Z,login\n\
         1,1,!,g1,PC1,2021-04-01T08:30:00Z,logout\n",
    );
    let [local, spark] = report_both_rejecting(&addr, &d, "names", &log, &["--max-bad-rows", "9"]);
    let mut want = cells(&local);
    want.sort();
    assert_eq!(
        want,
        [
            (r#""client_guid""#, "\"\u{3000}\""),
            (r#""client_name""#, "\"\u{85}\""),
            (r#""user_name""#, "\"\u{a0}\""),
        ]
        .map(|(c, v)| (c.to_string(), v.to_string()))
    );
    let mut got = cells(&spark);
    got.sort();
    assert_eq!(got, want);
    same_folders(&d.path("names-local"), &d.path("names-spark"));
}

/// A Spark Connect server of this test's own, from pyspark as `.ci/run`
/// starts one, so that it can be stopped without harm to the others.
struct OwnServer {
    state: tempfile::TempDir,
    port: u16,
}

impl OwnServer {
    fn start() -> OwnServer {
        OwnServer::start_with(&[])
    }

    /// A server of its own with extra `--conf key=value` settings.
    fn start_with(confs: &[&str]) -> OwnServer {
        let home = std::process::Command::new("python3")
            .args([
                "-c",
                "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
            ])
            .output()
            .expect("python3");
        let home = String::from_utf8(home.stdout).unwrap().trim().to_string();
        let state = tempfile::tempdir().unwrap();
        let port = closed_port();
        let ok = std::process::Command::new(format!("{home}/sbin/start-connect-server.sh"))
            .args([
                "--master",
                "local[1]",
                "--conf",
                "spark.connect.grpc.binding.address=127.0.0.1",
            ])
            .args(["--conf", &format!("spark.connect.grpc.binding.port={port}")])
            .args([
                "--conf",
                "spark.driver.host=127.0.0.1",
                "--conf",
                "spark.driver.bindAddress=127.0.0.1",
            ])
            .args(["--conf", "spark.ui.enabled=false"])
            .args(confs.iter().flat_map(|c| ["--conf", c]))
            .env("SPARK_LOG_DIR", state.path())
            .env("SPARK_PID_DIR", state.path())
            .env("SPARK_IDENT_STRING", format!("sessionstat-test-{port}"))
            .status()
            .expect("start-connect-server.sh");
        assert!(ok.success());
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(180),
                "the test's own server did not start"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        OwnServer { state, port }
    }

    /// Kills the server's JVM at once, as a crash would.
    fn kill(&self) {
        self.signal("-KILL");
    }

    /// Sends `sig` (as `kill` takes it) to the server's JVM.
    fn signal(&self, sig: &str) {
        for e in std::fs::read_dir(self.state.path()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pid") {
                let pid = std::fs::read_to_string(&p).unwrap();
                std::process::Command::new("kill")
                    .args([sig, pid.trim()])
                    .status()
                    .unwrap();
            }
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Spark Connect server ends a response stream after a set time or size
/// (2 minutes and 1 GB by default) and the client must reattach to get the
/// rest; a client that does not got no rows from any query longer than 2
/// minutes (a 100M-event log). This server ends every stream after its
/// first response and after 1 s without one, so every result arrives over
/// many reattached streams, and the outputs must still equal the local
/// engine's.
#[test]
fn results_cut_into_many_streams_come_back_whole() {
    if server().is_none() {
        return; // no pyspark here either
    }
    let own = OwnServer::start_with(&[
        "spark.connect.execute.reattachable.senderMaxStreamSize=1",
        "spark.connect.execute.reattachable.senderMaxStreamDuration=1s",
    ]);
    let addr = format!("sc://127.0.0.1:{}", own.port);
    let d = Dir::new();
    let log = generated(&d, "dst.csv", "Europe/Berlin", "2021-10-29", "3", "naive");
    report_both(&addr, &d, "cut", &log, &["--tz", "Europe/Berlin"]);
    let sessions = std::fs::read_to_string(d.path("cut-spark/sessions.csv")).unwrap();
    assert!(sessions.lines().count() > 10, "{sessions}");
}

#[test]
fn a_server_stopped_mid_run_fails_at_once_with_nothing_written() {
    fails_mid_run("-KILL");
}

/// A frozen server still accepts connections (the kernel does) but answers
/// nothing: the run must not wait for it forever.
#[test]
fn a_server_frozen_mid_run_fails_within_the_deadline() {
    fails_mid_run("-STOP");
}

/// A backfill on a server of the test's own that gets `sig` mid-run.
fn fails_mid_run(sig: &str) {
    if server().is_none() {
        return; // no pyspark here either
    }
    let own = OwnServer::start();
    let d = Dir::new();
    // Large enough that the backfill is still at work when the server dies.
    let log = d.path("big.parquet").display().to_string();
    sessionstat(&[
        "generate", "--quiet", "--out", &log, "--days", "40", "--users", "200",
    ])
    .ok();
    let out = d.path("bf");
    let addr = format!("sc://127.0.0.1:{}", own.port);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sessionstat"))
        .args([
            "backfill",
            "--quiet",
            "--input",
            &log,
            "--from",
            "2021-03-25",
            "--to",
            "2021-05-03",
        ])
        .args([
            "--every",
            "day",
            "--engine-timeout",
            "5s",
            "--engine",
            &addr,
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    own.signal(sig);
    let killed = Instant::now();
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if killed.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("still waiting for the server 60 s after {sig}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{err}");
    assert!(
        killed.elapsed() < Duration::from_secs(30),
        "{:?}",
        killed.elapsed()
    );
    assert!(err.contains(&addr), "{err}");
    assert!(done.stdout.is_empty());
    assert!(!out.exists(), "nothing is written");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn a_dead_server_fails_at_once_naming_the_address_and_no_token() {
    let d = Dir::new();
    let port = closed_port();
    let addr = format!("sc://127.0.0.1:{port}/;token=s3cr3t-tok;use_ssl=false");
    let out = d.path("r");
    let t = Instant::now();
    let err = sessionstat(&[
        "report",
        "--quiet",
        "--input",
        SAMPLE,
        "--out",
        &out.display().to_string(),
        "--engine",
        &addr,
        "--engine-timeout",
        "5s",
    ])
    .fails(1);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert!(err.contains(&format!("sc://127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("s3cr3t"), "the token is shown: {err}");
    assert!(!out.exists(), "nothing is written");
    // The environment form, and a stdout command.
    let run = crate::util::sessionstat_env(
        &["sessions", "--input", SAMPLE],
        &[("SESSIONSTAT_ENGINE", &addr)],
    );
    let err = run.fails(1);
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && !err.contains("s3cr3t"),
        "{err}"
    );
    assert!(run.stdout().is_empty());
}

#[test]
fn a_silent_server_fails_within_the_deadline() {
    // It takes connections and never answers: every call would hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for s in listener.incoming().take(16) {
            kept.push(s);
        }
    });
    let d = Dir::new();
    let out = d.path("r");
    let t = Instant::now();
    let err = sessionstat(&[
        "backfill",
        "--quiet",
        "--input",
        SAMPLE,
        "--out",
        &out.display().to_string(),
        "--engine",
        &format!("sc://127.0.0.1:{port}"),
        "--engine-timeout",
        "3s",
        "--from",
        "2021-04-01",
        "--to",
        "2021-04-02",
        "--every",
        "day",
    ])
    .fails(1);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(30),
        "{took:?}"
    );
    assert!(
        err.contains(&format!("sc://127.0.0.1:{port}")) && err.contains("--engine-timeout"),
        "{err}"
    );
    assert!(!out.exists());
    drop(held);
}

#[test]
fn engine_flags_are_checked_before_any_work() {
    let d = Dir::new();
    for (flag, value, says) in [
        ("--engine", "spark://h:7077", "--engine"),
        ("--engine", "sc://h:0", "port"),
        ("--engine-timeout", "0s", "--engine-timeout"),
    ] {
        let out = d.path("r").display().to_string();
        let mut args = vec!["report", "--input", SAMPLE, "--out", &out, flag, value];
        if flag == "--engine-timeout" {
            args.extend(["--engine", "sc://127.0.0.1:1"]);
        }
        let err = sessionstat(&args).fails(2);
        assert!(err.contains(says), "{value}: {err}");
    }
}
