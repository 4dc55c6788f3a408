//! Never lose a file, never print a secret, never write an instant that
//! cannot be read back: what a hostile user plants at the paths the tool
//! writes (links, folders, FIFOs, files named like its own), registries and
//! rejects placed where a run deletes or reads them, malformed engine
//! addresses that carry secrets, and windows at the edges of the calendar.
//! Every case: the user's files unchanged, one clear line, the right exit
//! code, and a rerun that succeeds once the plant is gone.

use crate::util::{sessionstat, sessionstat_env, Dir, Run};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/example.csv");

/// Asserts one line on stderr, naming each of `names`.
fn one_line(run: &Run, code: i32, names: &[&str]) -> String {
    let err = run.fails(code);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for n in names {
        assert!(err.contains(n), "{n:?} not named: {err}");
    }
    err
}

/// Every entry below `dir`, with its kind and bytes (links as their text).
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.unwrap();
        let path = e.path();
        let name = path.display().to_string();
        let t = e.file_type().unwrap();
        if t.is_symlink() {
            out.push((
                name,
                format!("link {}", fs::read_link(&path).unwrap().display()),
            ));
        } else if t.is_dir() {
            out.push((name.clone(), "dir".into()));
            out.extend(tree(&path));
        } else if t.is_file() {
            out.push((
                name,
                String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned(),
            ));
        } else {
            out.push((name, "special".into()));
        }
    }
    out.sort();
    out
}

/// A log with a bad row, copied into `logs/` of `d`.
fn logs_with_a_bad_row(d: &Dir) -> String {
    let mut text = fs::read_to_string(EXAMPLE).unwrap();
    text.push_str("1,7,ann,9f1c,LAPTOP-1,not a time,activity\n");
    d.write("logs/log.csv", text)
}

fn backfill<'a>(input: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "backfill",
        "-i",
        input,
        "--from",
        "2021-04-01",
        "--to",
        "2021-04-02",
        "--every",
        "day",
        "--out",
        out,
        "-q",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn backfill_replaces_its_own_files_never_writing_through_a_link() {
    let d = Dir::new();
    let log = logs_with_a_bad_row(&d);
    let before = fs::read(&log).unwrap();
    let other = d.write("other.txt", "a file of the user's\n");
    let out = d.path("ds");
    let o = out.to_str().unwrap();
    fs::create_dir_all(&out).unwrap();
    // Links to a file of the user's: replaced, the file untouched.
    symlink(&other, out.join("_rejects.ndjson")).unwrap();
    symlink(&other, out.join("_backfill.json")).unwrap();
    sessionstat(&backfill(&log, o, &["--max-bad-rows", "1"])).ok();
    assert_eq!(d.read("other.txt"), "a file of the user's\n");
    for own in ["_rejects.ndjson", "_backfill.json"] {
        let m = fs::symlink_metadata(out.join(own)).unwrap();
        assert!(m.is_file(), "{own} is still a link");
    }
    assert!(d.read("ds/_rejects.ndjson").contains("not a time"));
    // Links to an input: refused as `--rejects INPUT` is, nothing written.
    for own in ["_rejects.ndjson", "_backfill.json"] {
        let out = d.path(&format!("ds-{own}"));
        fs::create_dir_all(&out).unwrap();
        symlink(&log, out.join(own)).unwrap();
        let o = out.to_str().unwrap();
        let run = sessionstat(&backfill(&log, o, &["--max-bad-rows", "1"]));
        one_line(&run, 2, &[own, "log.csv"]);
        assert_eq!(fs::read(&log).unwrap(), before, "{own} wrote the input");
        assert_eq!(tree(&out).len(), 1, "{:?}", tree(&out));
    }
    // A FIFO where the rejects go is replaced too: the run never blocks on it.
    let out = d.path("ds-fifo");
    fs::create_dir_all(&out).unwrap();
    let fifo = std::ffi::CString::new(out.join("_rejects.ndjson").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid, NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    sessionstat(&backfill(
        &log,
        out.to_str().unwrap(),
        &["--max-bad-rows", "1"],
    ))
    .ok();
    assert!(fs::metadata(out.join("_rejects.ndjson")).unwrap().is_file());
    // A folder at an own file's name: refused at start, left as it is.
    let out = d.path("ds-dir");
    fs::create_dir_all(out.join("_backfill.json")).unwrap();
    let run = sessionstat(&backfill(
        &log,
        out.to_str().unwrap(),
        &["--max-bad-rows", "1"],
    ));
    one_line(&run, 2, &["_backfill.json", "folder"]);
    assert_eq!(tree(&out).len(), 1);
    assert_eq!(fs::read(&log).unwrap(), before);
}

#[test]
fn paths_inside_period_folders_are_refused_before_anything_is_written() {
    let d = Dir::new();
    let log = logs_with_a_bad_row(&d);
    let out = d.path("ds");
    let o = out.to_str().unwrap();
    sessionstat(&backfill(&log, o, &["--max-bad-rows", "1"])).ok();
    let was = tree(&out);
    // Inside a period folder of this run, of another range, or not yet made.
    for place in [
        "day=2021-04-01/r.ndjson",
        "day=2020-01-01/r.ndjson",
        "day=2021-04-02/json/x",
    ] {
        let p = out.join(place).display().to_string();
        let args = backfill(
            &log,
            o,
            &["--max-bad-rows", "1", "--rejects", &p, "--force"],
        );
        one_line(&sessionstat(&args), 2, &["--rejects", place]);
        let reg = out
            .join(place.replace("r.ndjson", "ids.parquet"))
            .display()
            .to_string();
        let args = backfill(&log, o, &["--id-keys", "session,user", "--ids", &reg]);
        one_line(&sessionstat(&args), 2, &["--ids", "ids"]);
        assert_eq!(tree(&out), was, "{place}");
    }
    // Beside the period folders: fine, and kept by the next run.
    let beside = out.join("keep/rejects.ndjson");
    fs::create_dir_all(beside.parent().unwrap()).unwrap();
    let b = beside.display().to_string();
    sessionstat(&backfill(
        &log,
        o,
        &["--max-bad-rows", "1", "--rejects", &b, "--force"],
    ))
    .ok();
    assert!(fs::read_to_string(&beside).unwrap().contains("not a time"));
}

#[test]
fn registries_and_outputs_inside_the_inputs_are_refused_at_once() {
    let d = Dir::new();
    let log = d.write("logs/log.csv", fs::read(EXAMPLE).unwrap());
    let before = fs::read(&log).unwrap();
    let logs = d.path("logs").display().to_string();
    let every = format!("{logs}/*");
    let deep = format!("{logs}/**/*.csv");
    let keys = ["--id-keys", "session,user"];
    // The registry in the input folder (hidden too), or where a glob finds it.
    for (input, reg) in [
        (&logs, "logs/ids.parquet"),
        (&logs, "logs/sub/.ids"),
        (&every, "logs/ids.parquet"),
    ] {
        let reg = d.path(reg).display().to_string();
        let mut args = vec!["sessions", "-i", input.as_str()];
        args.extend(keys);
        args.extend(["--ids", &reg]);
        one_line(&sessionstat(&args), 2, &["--ids", "inside the input"]);
        assert!(!Path::new(&reg).exists());
    }
    // An output folder whose files the input glob would read next time.
    let out = d.path("logs/r").display().to_string();
    for cmd in [
        vec!["report", "-i", &deep, "--out", &out],
        backfill(&deep, &out, &[]),
    ] {
        one_line(&sessionstat(&cmd), 2, &["--out", "inside the input"]);
        assert!(!Path::new(&out).exists(), "{cmd:?}");
    }
    // A glob that reads nothing of the report is fine, on the first run and the next.
    let other = format!("{logs}/*.csv");
    for _ in 0..2 {
        sessionstat(&["report", "-i", &other, "--out", &out, "-q"]).ok();
    }
    assert_eq!(fs::read(&log).unwrap(), before);
}

#[test]
fn the_registry_lock_never_follows_a_link_nor_truncates_a_file() {
    let d = Dir::new();
    let victim = d.write("victim.txt", "precious\n");
    let reg = d.path("ids.parquet").display().to_string();
    let lock = d.path(".ids.parquet.lock");
    let args = [
        "sessions",
        "-i",
        EXAMPLE,
        "--id-keys",
        "session,user",
        "--ids",
        &reg,
    ];
    symlink(&victim, &lock).unwrap();
    one_line(
        &sessionstat(&args),
        1,
        &["ids.parquet", "not a regular file"],
    );
    assert_eq!(d.read("victim.txt"), "precious\n");
    assert!(
        fs::symlink_metadata(&lock)
            .unwrap()
            .file_type()
            .is_symlink(),
        "left as it is"
    );
    fs::remove_file(&lock).unwrap();
    // A file linked there (as a killed run's lock would be) is taken over
    // by name: the file itself keeps its bytes.
    fs::hard_link(&victim, &lock).unwrap();
    sessionstat(&args).ok();
    assert_eq!(d.read("victim.txt"), "precious\n");
    assert!(!lock.exists(), "the lock goes with its run");
    assert!(Path::new(&reg).exists());
}

/// The id of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_killed_runs_temporary_files_are_removed_by_the_next_and_nothing_else() {
    let d = Dir::new();
    let log = logs_with_a_bad_row(&d);
    let out = d.path("ds");
    fs::create_dir_all(&out).unwrap();
    let dead = dead_pid();
    let ours = [
        format!("ds/._backfill.json.tmp-{dead}"),
        format!("ds/._rejects.ndjson.tmp-{dead}"),
        format!(".ids.parquet.tmp-{dead}"),
    ];
    let theirs = [
        "ds/._backfill.json.tmp-x1".to_string(),
        "ds/.other.tmp-12".to_string(),
        format!("ds/.period-{dead}-day=2021-04-01"),
        format!("ds/._backfill.json.tmp-{}", std::process::id()),
    ];
    for p in ours.iter().chain(&theirs) {
        d.write(p, "left\n");
    }
    let reg = d.path("ids.parquet").display().to_string();
    let o = out.display().to_string();
    let keys = [
        "--max-bad-rows",
        "1",
        "--id-keys",
        "session,user",
        "--ids",
        &reg,
    ];
    sessionstat(&backfill(&log, &o, &keys)).ok();
    for p in &ours {
        assert!(!d.path(p).exists(), "{p} left");
    }
    for p in &theirs {
        assert_eq!(d.read(p), "left\n", "{p} touched");
    }
    // Again, with every period up to date: still nothing of theirs touched.
    sessionstat(&backfill(&log, &o, &keys)).ok();
    for p in &theirs {
        assert_eq!(d.read(p), "left\n", "{p} touched");
    }
}

#[test]
fn a_file_named_like_a_period_folder_is_refused_and_left() {
    let d = Dir::new();
    let out = d.path("ds");
    fs::create_dir_all(&out).unwrap();
    let o = out.display().to_string();
    d.write("ds/day=2021-04-01", "mine\n");
    let elsewhere = d.path("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    d.write("elsewhere/keep.txt", "kept\n");
    symlink(&elsewhere, out.join("day=2021-04-02")).unwrap();
    let run = sessionstat(&backfill(EXAMPLE, &o, &[]));
    one_line(&run, 2, &["day=2021-04-01", "not a folder"]);
    for _ in 0..2 {
        let e = sessionstat(&backfill(EXAMPLE, &o, &[])).fails(2);
        assert!(e.contains("day=2021-04-01"), "{e}");
    }
    assert_eq!(d.read("ds/day=2021-04-01"), "mine\n");
    assert_eq!(d.hidden("ds"), Vec::<String>::new());
    fs::remove_file(out.join("day=2021-04-01")).unwrap();
    one_line(
        &sessionstat(&backfill(EXAMPLE, &o, &[])),
        2,
        &["day=2021-04-02"],
    );
    assert_eq!(d.read("elsewhere/keep.txt"), "kept\n");
    fs::remove_file(out.join("day=2021-04-02")).unwrap();
    sessionstat(&backfill(EXAMPLE, &o, &[])).ok();
    assert!(out.join("day=2021-04-01/summary.json").is_file());
}

#[test]
fn a_report_refuses_a_folder_or_link_where_it_writes_its_files() {
    let d = Dir::new();
    let out = d.path("r");
    let o = out.display().to_string();
    // The folder itself a file: told before any data is read.
    d.write("r", "mine\n");
    one_line(
        &sessionstat(&["report", "-i", EXAMPLE, "--out", &o]),
        2,
        &["--out", "not a folder"],
    );
    one_line(
        &sessionstat(&backfill(EXAMPLE, &o, &[])),
        2,
        &["--out", "not a folder"],
    );
    assert_eq!(d.read("r"), "mine\n");
    fs::remove_file(&out).unwrap();
    fs::create_dir_all(out.join("summary.json")).unwrap();
    one_line(
        &sessionstat(&["report", "-i", EXAMPLE, "--out", &o]),
        2,
        &["summary.json", "folder"],
    );
    fs::remove_dir(out.join("summary.json")).unwrap();
    let elsewhere = d.path("pages");
    fs::create_dir_all(&elsewhere).unwrap();
    symlink(&elsewhere, out.join("json")).unwrap();
    one_line(
        &sessionstat(&["report", "-i", EXAMPLE, "--out", &o]),
        2,
        &["json", "not a folder"],
    );
    assert_eq!(tree(&elsewhere), vec![]);
    fs::remove_file(out.join("json")).unwrap();
    // A link to an input at a file's name: the input under another name.
    symlink(EXAMPLE, out.join("sessions.csv")).unwrap();
    one_line(
        &sessionstat(&["report", "-i", EXAMPLE, "--out", &o]),
        2,
        &["sessions.csv", "example.csv"],
    );
    fs::remove_file(out.join("sessions.csv")).unwrap();
    sessionstat(&["report", "-i", EXAMPLE, "--out", &o, "-q"]).ok();
}

#[test]
fn a_malformed_engine_address_never_prints_its_secret() {
    for addr in [
        "sc://h:1;token=SECRET",
        "sc://user:SECRET@h:1",
        "sc://h:1/; token=SECRET",
        "sc://h:1/;SECRET",
        "sc://h:1?token=SECRET",
    ] {
        for (args, env) in [
            (vec!["sessions", "-i", EXAMPLE, "--engine", addr], vec![]),
            (
                vec!["sessions", "-i", EXAMPLE],
                vec![("SESSIONSTAT_ENGINE", addr)],
            ),
            (
                vec![
                    "report",
                    "-i",
                    EXAMPLE,
                    "--engine",
                    addr,
                    "--error-format",
                    "json",
                ],
                vec![],
            ),
        ] {
            let run = sessionstat_env(&args, &env);
            let err = one_line(&run, 2, &["--engine"]);
            assert!(!err.contains("SECRET"), "{addr}: {err}");
        }
    }
    // serve takes no --engine, and refuses one set in the environment.
    let run = sessionstat_env(
        &["serve", "-i", EXAMPLE],
        &[("SESSIONSTAT_ENGINE", "sc://h:1/;token=SECRET")],
    );
    let err = one_line(&run, 2, &["SESSIONSTAT_ENGINE"]);
    assert!(!err.contains("SECRET"), "{err}");
}

#[test]
fn windows_outside_years_1_to_9999_are_bad_requests() {
    let d = Dir::new();
    let out = d.path("out").display().to_string();
    let report = |day: &str, tz: &str| {
        sessionstat(&[
            "report", "-i", EXAMPLE, "--day", day, "--tz", tz, "--out", &out,
        ])
    };
    one_line(
        &report("9999-12-31", "America/New_York"),
        2,
        &["--day", "9999-12-31", "0001-9999"],
    );
    one_line(
        &report("0001-01-01", "Asia/Tokyo"),
        2,
        &["--day", "0001-01-01", "0001-9999"],
    );
    let bf = |from: &str, to: &str, tz: &str| {
        sessionstat(&[
            "backfill", "-i", EXAMPLE, "--from", from, "--to", to, "--every", "day", "--tz", tz,
            "--out", &out,
        ])
    };
    one_line(
        &bf("0001-01-01", "0001-01-03", "Asia/Tokyo"),
        2,
        &["--from", "0001-9999"],
    );
    one_line(
        &bf("9999-12-29", "9999-12-31", "America/New_York"),
        2,
        &["--to", "0001-9999"],
    );
    assert!(!Path::new(&out).exists(), "nothing written");
    // Right at the edges, in zones where they fit: accepted.
    sessionstat(&[
        "report",
        "-i",
        EXAMPLE,
        "--day",
        "9999-12-31",
        "--tz",
        "Asia/Tokyo",
        "--out",
        &out,
        "-q",
    ])
    .ok();
    let summary: serde_json::Value = serde_json::from_str(&d.read("out/summary.json")).unwrap();
    assert_eq!(summary["request"]["end"], "9999-12-31T14:59:59.999999Z");
}

#[test]
fn a_backfill_of_more_periods_than_allowed_is_refused_before_writing() {
    let d = Dir::new();
    let out = d.path("ds").display().to_string();
    let run = sessionstat(&[
        "backfill",
        "-i",
        EXAMPLE,
        "--from",
        "1900-01-01",
        "--to",
        "2000-12-31",
        "--every",
        "day",
        "--out",
        &out,
    ]);
    one_line(&run, 2, &["36890", "--max-periods 10000"]);
    assert!(!Path::new(&out).exists());
    let bf = |max: &str| {
        sessionstat(&[
            "backfill",
            "-i",
            EXAMPLE,
            "--from",
            "2021-03-31",
            "--to",
            "2021-04-02",
            "--every",
            "day",
            "--out",
            &out,
            "--max-periods",
            max,
            "-q",
        ])
    };
    one_line(&bf("2"), 2, &["3 periods", "--max-periods 2"]);
    assert!(!Path::new(&out).exists());
    bf("3").ok();
}

#[test]
fn an_empty_file_says_what_its_format_needs() {
    let d = Dir::new();
    for (name, needs) in [
        ("e.csv", "header row"),
        ("e.parquet", "PAR1"),
        ("e.ndjson", "JSON object"),
        ("e.evtx", "EVTX"),
    ] {
        let f = d.write(name, "");
        let e = one_line(
            &sessionstat(&["sessions", "-i", &f]),
            1,
            &[name, "empty", needs],
        );
        if name != "e.csv" {
            assert!(!e.contains("CSV"), "{e}");
        }
    }
}

#[test]
fn help_lists_only_what_a_command_takes() {
    let generate = sessionstat(&["generate", "--help"]).ok();
    assert!(
        generate.contains("[possible values: csv, parquet, ndjson]"),
        "{generate}"
    );
    assert!(!generate.contains("evtx"), "{generate}");
    let d = Dir::new();
    let f = d.path("x.csv").display().to_string();
    let e = sessionstat(&["generate", "--out", &f, "--format", "evtx"]).fails(2);
    assert!(e.contains("evtx"), "{e}");
    let serve = sessionstat(&["serve", "--help"]).ok();
    for gone in ["--engine", "--memory-limit", "--engine-timeout"] {
        assert!(!serve.contains(gone), "{gone}: {serve}");
    }
    for kept in [
        "--listen",
        "--api-key-file",
        "--watch",
        "--rejects",
        "--ids",
        "--tz",
    ] {
        assert!(serve.contains(kept), "{kept}: {serve}");
    }
    assert_eq!(
        sessionstat(&["serve", "-i", EXAMPLE, "--engine", "local"]).code(),
        2
    );
    let report = sessionstat(&["report", "--help"]).ok();
    for kept in ["--engine", "--memory-limit", "--engine-timeout"] {
        assert!(report.contains(kept), "{kept}: {report}");
    }
}
