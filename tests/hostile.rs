//! Hostile input and paths: the run never loses data, never prints a wrong
//! number with exit status 0, and never panics. One test per guarantee; the
//! Parquet fixtures are in `tests/data/hostile/` (made by its `make.py`).

use crate::util::{sessionstat, Dir, Run};
use std::fs;
use std::path::Path;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/example.csv");
const BASIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/basic.csv");
const HOSTILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hostile");

fn hostile(name: &str) -> String {
    format!("{HOSTILE}/{name}")
}

/// Asserts one line on stderr and returns it.
fn one_line(run: &Run, code: i32) -> String {
    let err = run.fails(code);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    err
}

/// A session's productivity time in a `sessions` answer.
fn productivity(out: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(out).unwrap();
    v["sessions"][0]["productivityTime"]
        .as_str()
        .unwrap()
        .to_string()
}

// 1. Data loss: the rejects never replace an input, a device or an output.

#[test]
fn rejects_never_replace_an_input_under_any_name() {
    let d = Dir::new();
    let log = d.write("logs/log.csv", fs::read(BASIC).unwrap());
    let before = fs::read(&log).unwrap();
    fs::create_dir_all(d.path("logs/sub")).unwrap();
    fs::hard_link(&log, d.path("hard.csv")).unwrap();
    std::os::unix::fs::symlink(&log, d.path("link.csv")).unwrap();
    let spellings = [
        log.clone(),
        d.path("logs/./log.csv").display().to_string(),
        d.path("logs/sub/../log.csv").display().to_string(),
        d.path("hard.csv").display().to_string(),
        d.path("link.csv").display().to_string(),
    ];
    let logs = d.path("logs").display().to_string();
    for rejects in &spellings {
        for input in [log.as_str(), logs.as_str()] {
            for cmd in ["sessions", "report"] {
                let out = d.path("out").display().to_string();
                let mut args = vec![cmd, "--input", input, "--rejects", rejects];
                args.extend(["--max-bad-rows", "1"]);
                if cmd == "report" {
                    args.extend(["--out", out.as_str()]);
                }
                let err = one_line(&sessionstat(&args), 2);
                assert!(err.contains("--rejects"), "{err}");
                assert_eq!(
                    fs::read(&log).unwrap(),
                    before,
                    "{cmd} {rejects} changed the input"
                );
            }
        }
    }
    // A new file inside an input folder or glob would be read back as events next time.
    let glob = format!("{logs}/*.csv");
    for (input, rejects) in [(&logs, "logs/rejects.ndjson"), (&glob, "logs/r.csv")] {
        let rejects = d.path(rejects).display().to_string();
        let run = sessionstat(&["sessions", "--input", input, "--rejects", &rejects]);
        let err = one_line(&run, 2);
        assert!(err.contains("inside the input"), "{err}");
    }
}

#[test]
fn report_outputs_never_replace_an_input() {
    let d = Dir::new();
    let out = d.path("out");
    fs::create_dir_all(out.join("json")).unwrap();
    for name in ["rejects.ndjson", "sessions.csv", "json/page-00000.json"] {
        let input = out.join(name);
        fs::write(&input, fs::read(BASIC).unwrap()).unwrap();
        let before = fs::read(&input).unwrap();
        let run = sessionstat(&[
            "report",
            "--input",
            input.to_str().unwrap(),
            "--format",
            "csv",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = one_line(&run, 2);
        assert!(err.contains("this report writes"), "{err}");
        assert_eq!(fs::read(&input).unwrap(), before);
        fs::remove_file(&input).unwrap();
    }
    // --rejects onto a file that the same report writes
    let err = one_line(
        &sessionstat(&[
            "report",
            "--input",
            BASIC,
            "--out",
            out.to_str().unwrap(),
            "--rejects",
            out.join("sessions.csv").to_str().unwrap(),
        ]),
        2,
    );
    assert!(err.contains("this report writes"), "{err}");
    // an output folder inside an input folder would be read back next time
    let logs = d.write("logs/a.csv", fs::read(BASIC).unwrap());
    let logs_dir = d.path("logs").display().to_string();
    let err = one_line(
        &sessionstat(&[
            "report",
            "--input",
            &logs_dir,
            "--out",
            &d.path("logs/rep").display().to_string(),
        ]),
        2,
    );
    assert!(err.contains("inside the input folder"), "{err}");
    assert!(!d.path("logs/rep").exists());
    assert_eq!(fs::read(&logs).unwrap(), fs::read(BASIC).unwrap());
    // an input elsewhere in the folder is not the report's: fine
    let mine = d.write("out/my-log.csv", fs::read(BASIC).unwrap());
    sessionstat(&[
        "report",
        "--input",
        &mine,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
    .ok();
    assert_eq!(fs::read(&mine).unwrap(), fs::read(BASIC).unwrap());
}

#[test]
fn rejects_onto_a_fifo_or_device_are_written_in_place() {
    let d = Dir::new();
    let bad = d.write(
        "bad.csv",
        format!(
            "{}9,9,x,g,c,not a time,login\n",
            fs::read_to_string(BASIC).unwrap()
        ),
    );
    let fifo = d.path("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid, NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    let run = sessionstat(&[
        "sessions",
        "--input",
        &bad,
        "--max-bad-rows",
        "1",
        "--rejects",
        fifo.to_str().unwrap(),
        "--quiet",
    ]);
    run.ok();
    let got = reader.join().unwrap();
    assert!(got.contains("not a time"), "{got}");
    assert!(
        !fs::metadata(&fifo).unwrap().is_file(),
        "the FIFO was replaced by a file"
    );
    // /dev/null stays a device
    sessionstat(&[
        "sessions",
        "--input",
        &bad,
        "--max-bad-rows",
        "1",
        "--rejects",
        "/dev/null",
        "--quiet",
    ])
    .ok();
    assert!(!fs::metadata("/dev/null").unwrap().is_file());
    // `-` is stdout, which carries the page for `sessions`: refused; for report, written there
    one_line(
        &sessionstat(&[
            "sessions",
            "--input",
            &bad,
            "--max-bad-rows",
            "1",
            "--rejects",
            "-",
        ]),
        2,
    );
    let out = d.path("out").display().to_string();
    let stdout = sessionstat(&[
        "report",
        "--input",
        &bad,
        "--max-bad-rows",
        "1",
        "--rejects",
        "-",
        "--out",
        &out,
        "--quiet",
    ])
    .ok();
    assert!(
        stdout.contains("not a time") && !Path::new("-").exists(),
        "{stdout}"
    );
}

// 2. Column names: a canonical name in any case, a mapped name that must exist.

#[test]
fn a_kind_header_in_any_case_still_counts_kinds() {
    let d = Dir::new();
    let text = fs::read_to_string(EXAMPLE).unwrap();
    let expected = sessionstat(&["sessions", "--input", EXAMPLE]).ok();
    assert_eq!(productivity(&expected), "00:20:00");
    for header in ["Kind", "KIND", "kind ", " Kind"] {
        let csv = d.write("k.csv", text.replacen(",kind", &format!(",{header}"), 1));
        assert_eq!(
            sessionstat(&["sessions", "--input", &csv]).ok(),
            expected,
            "csv {header:?}"
        );
        let ndjson = d.write("k.ndjson", to_ndjson(&text, header));
        assert_eq!(
            sessionstat(&["sessions", "--input", &ndjson]).ok(),
            expected,
            "ndjson {header:?}"
        );
        let parquet = d.path("k.parquet");
        write_parquet(&csv, &parquet);
        assert_eq!(
            sessionstat(&["sessions", "--input", parquet.to_str().unwrap()]).ok(),
            expected,
            "parquet {header:?}"
        );
    }
    // Two columns that both name `kind`: refused, never one silently chosen.
    let both = d.write(
        "both.csv",
        text.replacen(",kind", ",kind,KIND", 1)
            .replace(",login", ",login,login"),
    );
    let err = one_line(&sessionstat(&["sessions", "--input", &both]), 1);
    assert!(err.contains("\"kind\" and \"KIND\""), "{err}");
}

#[test]
fn a_map_to_a_missing_column_is_an_error_naming_it() {
    for map in ["kind=event_type", "timestamp=when"] {
        let err = one_line(
            &sessionstat(&["sessions", "--input", EXAMPLE, "--map", map]),
            1,
        );
        let source = map.split('=').nth(1).unwrap();
        assert!(
            err.contains(&format!("{source:?}"))
                && err.contains("columns found: session_id, user_id"),
            "{err}"
        );
    }
}

fn to_ndjson(csv: &str, kind: &str) -> String {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|h| {
            if h == "kind" {
                kind.to_string()
            } else {
                h.to_string()
            }
        })
        .collect();
    lines
        .map(|l| {
            let obj: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.clone(), serde_json::Value::String(v.to_string())))
                .collect();
            serde_json::to_string(&obj).unwrap() + "\n"
        })
        .collect()
}

/// A Parquet copy of a CSV file with the CSV's column names, written by polars.
fn write_parquet(csv: &str, to: &Path) {
    use polars::prelude::*;
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(csv.into()))
        .unwrap()
        .finish()
        .unwrap();
    ParquetWriter::new(fs::File::create(to).unwrap())
        .finish(&mut df)
        .unwrap();
}

// 3. Timestamps: years 0001-9999 only, whatever the unit; dates name the instant.

#[test]
fn native_timestamps_beyond_the_range_are_bad_rows_not_wrapped() {
    for unit in ["us", "ms", "s"] {
        let f = hostile(&format!("ts_out_of_range_{unit}.parquet"));
        let err = one_line(&sessionstat(&["sessions", "--input", &f]), 1);
        assert!(
            err.contains(&format!("{f} row 3, column timestamp"))
                && err.contains("years 0001-9999"),
            "{unit}: {err}"
        );
    }
    // Skipped, the other rows give the answer of basic.csv without that row.
    let d = Dir::new();
    let text = fs::read_to_string(BASIC).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let without: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, l)| *l)
        .collect();
    let csv = d.write("without.csv", without.join("\n") + "\n");
    let expected = sessionstat(&["sessions", "--input", &csv]).ok();
    let (out, rejects) = skip_one(&d, &hostile("ts_out_of_range_us.parquet"));
    assert_eq!(out, expected);
    assert!(rejects.contains("9223372036854775807"), "{rejects}");
}

/// Runs `sessions` allowing one bad row; returns stdout and the rejects file.
fn skip_one(d: &Dir, input: &str) -> (String, String) {
    let rejects = d.path("r.ndjson").display().to_string();
    let out = sessionstat(&[
        "sessions",
        "--input",
        input,
        "--max-bad-rows",
        "1",
        "--rejects",
        &rejects,
        "--quiet",
    ])
    .ok();
    (out, d.read("r.ndjson"))
}

#[test]
fn text_timestamps_outside_years_1_to_9999_are_bad_rows() {
    let d = Dir::new();
    let head = "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n";
    for (ts, tz) in [
        ("0000-12-31T23:00:00Z", "UTC"),
        ("0001-01-01T00:30:00+01:00", "UTC"),
        ("9999-12-31T23:30:00-01:00", "UTC"),
        ("9999-12-31T23:30:00Z", "+02:00"),
        ("0001-01-01T00:10:00", "+01:00"),
    ] {
        let f = d.write(
            "t.csv",
            format!("{head}1,1,a,g,c,2021-04-01T08:00:00Z,login\n1,1,a,g,c,{ts},activity\n"),
        );
        let err = one_line(&sessionstat(&["sessions", "--input", &f, "--tz", tz]), 1);
        assert!(
            err.contains(&format!("{f}:3, column timestamp")) && err.contains("0001-9999"),
            "{ts} {tz}: {err}"
        );
    }
    let f = d.write("edge.csv", format!("{head}1,1,a,g,c,0001-01-01T00:00:00Z,login\n1,1,a,g,c,9999-12-31T23:59:59.999999Z,logout\n"));
    let out = sessionstat(&["sessions", "--input", &f]).ok();
    assert!(
        out.contains("\"loginDate\":\"0001-01-01T00:00:00.000+00:00\""),
        "{out}"
    );
    assert!(
        out.contains("\"logoutDate\":\"9999-12-31T23:59:59.999+00:00\""),
        "{out}"
    );
    // the request too
    let err = one_line(
        &sessionstat(&["sessions", "--input", &f, "--start", "0000-06-01"]),
        2,
    );
    assert!(err.contains("0001-9999"), "{err}");
}

#[test]
fn generate_refuses_dates_its_reader_would_refuse() {
    let d = Dir::new();
    let out = d.path("g.csv").display().to_string();
    for date in ["9999-12-30", "9999-12-25", "0001-01-01"] {
        let err = one_line(
            &sessionstat(&[
                "generate",
                "--out",
                &out,
                "--start-date",
                date,
                "--days",
                "1",
            ]),
            2,
        );
        assert!(err.contains("--start-date"), "{err}");
        assert!(!d.path("g.csv").exists());
    }
    sessionstat(&[
        "generate",
        "--out",
        &out,
        "--start-date",
        "9999-12-01",
        "--days",
        "3",
        "--quiet",
    ])
    .ok();
    sessionstat(&["sessions", "--input", &out, "--session-count", "0"]).ok();
}

#[test]
fn an_offset_with_seconds_prints_a_date_naming_the_same_instant() {
    let d = Dir::new();
    let f = d.write(
        "m.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n\
         1,1,a,g,c,1970-06-01T12:00:00Z,login\n1,1,a,g,c,1970-06-01T12:30:00.250Z,logout\n",
    );
    let out = sessionstat(&["sessions", "--input", &f, "--tz", "Africa/Monrovia"]).ok();
    // Monrovia was -00:44:30: printed -00:45, with the wall time for -00:45.
    assert!(
        out.contains("\"loginDate\":\"1970-06-01T11:15:00.000-00:45\""),
        "{out}"
    );
    assert!(
        out.contains("\"logoutDate\":\"1970-06-01T11:45:00.250-00:45\""),
        "{out}"
    );
}

// 4. report owns only what it writes, one run at a time.

/// A report of basic.csv into `out`, which must succeed.
fn report_basic(out: &Path) {
    sessionstat(&[
        "report",
        "--input",
        BASIC,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
    .ok();
}

#[test]
fn report_leaves_other_files_and_live_staging_alone() {
    let d = Dir::new();
    let out = d.path("out");
    fs::create_dir_all(out.join("json")).unwrap();
    fs::write(out.join("json/notes.txt"), "mine").unwrap();
    fs::write(out.join("json/page-00007.json"), "stale page").unwrap();
    fs::write(out.join("keep.txt"), "mine too").unwrap();
    // PID 1 lives as long as the machine: its staging folder is not stale.
    fs::create_dir(out.join(".staging-1")).unwrap();
    fs::write(out.join(".staging-1/x"), "live").unwrap();
    report_basic(&out);
    assert_eq!(
        fs::read_to_string(out.join("json/notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine too"
    );
    assert_eq!(
        fs::read_to_string(out.join(".staging-1/x")).unwrap(),
        "live"
    );
    assert!(
        !out.join("json/page-00007.json").exists(),
        "a page of an older run stayed"
    );
    assert!(out.join("json/page-00000.json").exists());
    assert!(
        !out.join(".sessionstat.lock").exists(),
        "the lock outlived the run"
    );
    // A failed run leaves the folder as it found it: no lock, no staging.
    let listing = |p: &Path| {
        let mut v: Vec<String> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let before = listing(&out);
    let bad = d.write(
        "bad.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp\n1,1,a,g,c,soon\n",
    );
    one_line(
        &sessionstat(&["report", "--input", &bad, "--out", out.to_str().unwrap()]),
        1,
    );
    assert_eq!(listing(&out), before);
    // and creates no folder
    let fresh = d.path("fresh/er");
    one_line(
        &sessionstat(&["report", "--input", &bad, "--out", fresh.to_str().unwrap()]),
        1,
    );
    assert!(!d.path("fresh").exists());
}

#[test]
fn a_second_report_into_a_locked_folder_is_refused() {
    let d = Dir::new();
    let out = d.path("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join(".sessionstat.lock"), "1\n").unwrap();
    let err = one_line(
        &sessionstat(&["report", "--input", BASIC, "--out", out.to_str().unwrap()]),
        1,
    );
    assert!(
        err.contains("pid 1") && err.contains(out.to_str().unwrap()),
        "{err}"
    );
    assert_eq!(
        fs::read_dir(&out).unwrap().count(),
        1,
        "the refused run wrote something"
    );
    // a lock whose process is gone is taken over
    fs::write(out.join(".sessionstat.lock"), "4194999\n").unwrap();
    report_basic(&out);
    assert!(!out.join(".sessionstat.lock").exists());
}

#[test]
fn concurrent_reports_never_mix_a_folder() {
    let d = Dir::new();
    let big = d.path("big.csv").display().to_string();
    sessionstat(&[
        "generate", "--out", &big, "--users", "40", "--days", "6", "--quiet",
    ])
    .ok();
    let out = d.path("out");
    let bin = assert_cmd::cargo::cargo_bin("sessionstat");
    for trial in 0..4 {
        // Two different jobs: their summaries tell which one a page belongs to.
        let (a, b) = (["--session-count", "7"], ["--session-count", "11"]);
        let spawn = |input: &str, extra: [&str; 2]| {
            std::process::Command::new(&bin)
                .args([
                    "report",
                    "--quiet",
                    "--input",
                    input,
                    "--out",
                    out.to_str().unwrap(),
                ])
                .args(extra)
                .output()
                .unwrap()
        };
        let (ra, rb) = std::thread::scope(|s| {
            let ta = s.spawn(|| spawn(&big, a));
            let tb = s.spawn(|| spawn(&big, b));
            (ta.join().unwrap(), tb.join().unwrap())
        });
        for r in [&ra, &rb] {
            let err = String::from_utf8_lossy(&r.stderr);
            assert!(
                r.status.success()
                    || (r.status.code() == Some(1) && err.contains("another sessionstat run")),
                "trial {trial}: {:?} {err}",
                r.status
            );
        }
        assert!(
            ra.status.success() || rb.status.success(),
            "trial {trial}: neither ran"
        );
        let summary: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        let pages = summary["counts"]["pages"].as_u64().unwrap() as usize;
        let size = summary["request"]["sessionCount"].as_u64().unwrap();
        let json: Vec<_> = fs::read_dir(out.join("json")).unwrap().collect();
        assert_eq!(json.len(), pages, "trial {trial}: pages of two runs");
        let page0: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("json/page-00000.json")).unwrap())
                .unwrap();
        assert_eq!(
            page0["sessions"].as_array().unwrap().len() as u64,
            size,
            "trial {trial}"
        );
        let hidden: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "trial {trial}: left {hidden:?}");
    }
}

// 5. No panic reaches the user.

#[test]
fn small_and_unsigned_integer_ids_are_read() {
    let expected = sessionstat(&["sessions", "--input", BASIC]).ok();
    for f in [
        "ids_u8_u16.parquet",
        "ids_i8_i16.parquet",
        "ts_zone_0530.parquet",
        "ts_categorical.parquet",
    ] {
        assert_eq!(
            sessionstat(&["sessions", "--input", &hostile(f)]).ok(),
            expected,
            "{f}"
        );
    }
}

#[test]
fn unsupported_column_types_are_errors_naming_column_and_type() {
    let f = hostile("ids_decimal.parquet");
    let err = one_line(&sessionstat(&["sessions", "--input", &f]), 1);
    assert!(
        err.contains(&f) && err.contains("column session_id") && err.contains("Decimal"),
        "{err}"
    );
}

/// A valid Parquet log written by `generate`, as bytes.
fn parquet_log(d: &Dir) -> Vec<u8> {
    let p = d.path("log.parquet").display().to_string();
    sessionstat(&[
        "generate", "--out", &p, "--users", "6", "--days", "2", "--quiet",
    ])
    .ok();
    fs::read(&p).unwrap()
}

#[test]
fn corrupt_parquet_is_an_error_naming_the_file() {
    let d = Dir::new();
    let good = parquet_log(&d);
    let n = good.len();
    let footer_len = u32::from_le_bytes(good[n - 8..n - 4].try_into().unwrap()) as usize;
    let footer = n - 8 - footer_len;
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for at in [
        footer + 1,
        footer + footer_len / 3,
        footer + footer_len / 2,
        n - 9,
    ] {
        let mut b = good.clone();
        b[at] ^= 0xA5;
        cases.push((format!("footer byte {at}"), b));
    }
    for at in [8, 100, footer / 3, footer / 2, footer - 10] {
        let mut b = good.clone();
        for x in &mut b[at..(at + 16).min(footer)] {
            *x = !*x;
        }
        cases.push((format!("page bytes at {at}"), b));
    }
    let mut b = good.clone();
    b.truncate(n / 2);
    cases.push(("truncated".into(), b));
    for (what, bytes) in cases {
        let f = d.write("bad.parquet", &bytes);
        let run = sessionstat(&["sessions", "--input", &f]);
        match run.code() {
            0 => {}
            1 => {
                let err = one_line(&run, 1);
                assert!(err.contains(&f), "{what}: {err}");
            }
            _ => panic!("{what}: exit {:?}: {}", run.code(), run.stderr()),
        }
    }
}

// 6. Malformed CSV records and odd NDJSON are named by their line.

const HEAD: &str = "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n";
const GOOD: &str = "1,1,a,g,c,2021-04-01T08:00:00Z,login\n1,1,a,g,c,2021-04-01T08:10:00Z,logout\n";

#[test]
fn a_malformed_csv_record_is_a_bad_row_with_its_line() {
    let d = Dir::new();
    let clean = d.write("clean.csv", format!("{HEAD}{GOOD}"));
    let expected = sessionstat(&["sessions", "--input", &clean]).ok();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "utf8",
            b"2,2,b\xFF\xFE,g,c,2021-04-01T09:00:00Z,login\n",
            "invalid UTF-8",
        ),
        (
            "stray",
            b"2,2,b\"ob,g,c,2021-04-01T09:00:00Z,login\n",
            "stray quote",
        ),
        (
            "after",
            b"2,2,\"bob\"x,g,c,2021-04-01T09:00:00Z,login\n",
            "stray quote",
        ),
        (
            "open",
            b"2,2,\"bob,g,c,2021-04-01T09:00:00Z,login\n",
            "unterminated quote",
        ),
    ];
    for (name, record, rule) in cases {
        let mut bytes = HEAD.as_bytes().to_vec();
        bytes.extend_from_slice(GOOD.lines().next().unwrap().as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(record);
        bytes.extend_from_slice(GOOD.lines().nth(1).unwrap().as_bytes());
        bytes.push(b'\n');
        let f = d.write(&format!("{name}.csv"), &bytes);
        let err = one_line(&sessionstat(&["sessions", "--input", &f]), 1);
        assert!(
            err.contains(&format!("{f}:3")) && err.contains(rule),
            "{name}: {err}"
        );
        let (out, rejects) = skip_one(&d, &f);
        assert_eq!(out, expected, "{name}");
        let line: serde_json::Value = serde_json::from_str(rejects.trim()).unwrap();
        assert_eq!(line["line"], 3, "{name}");
        let raw = line["record"]["record"].as_str().unwrap();
        assert!(raw.starts_with("2,2,"), "{name}: {raw}");
        if name == "utf8" {
            assert!(raw.contains("\\xFF\\xFE"), "{raw}");
        }
    }
}

#[test]
fn ndjson_with_a_bom_reads_and_arrays_are_named_not_ndjson() {
    let d = Dir::new();
    let lines = to_ndjson(&format!("{HEAD}{GOOD}"), "kind");
    let plain = d.write("p.ndjson", &lines);
    let expected = sessionstat(&["sessions", "--input", &plain]).ok();
    let bom = d.write("b.ndjson", format!("\u{feff}{lines}"));
    assert_eq!(sessionstat(&["sessions", "--input", &bom]).ok(), expected);
    let csv_bom = d.write("b.csv", format!("\u{feff}{HEAD}{GOOD}"));
    assert_eq!(
        sessionstat(&["sessions", "--input", &csv_bom]).ok(),
        expected
    );
    let objects: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let array = d.write("a.ndjson", serde_json::to_string(&objects).unwrap());
    let err = one_line(&sessionstat(&["sessions", "--input", &array]), 1);
    assert!(
        err.contains(&format!("{array}:1")) && err.contains("not NDJSON"),
        "{err}"
    );
    let pretty = d.write(
        "pretty.ndjson",
        format!("\n{}", serde_json::to_string_pretty(&objects[0]).unwrap()),
    );
    let err = one_line(&sessionstat(&["sessions", "--input", &pretty]), 1);
    assert!(
        err.contains(&format!("{pretty}:2")) && err.contains("not NDJSON"),
        "{err}"
    );
    // no valid line at all: each line is a bad row, not a missing column
    let junk = d.write("junk.ndjson", "oops\nnope\n");
    let err = one_line(&sessionstat(&["sessions", "--input", &junk]), 1);
    assert!(
        err.contains(&format!("{junk}:1")) && err.contains("not a JSON object"),
        "{err}"
    );
}

// 7. Random byte mutations of valid files: exit 0 or 1, one line, never a panic.

mod mutations {
    use super::*;
    use proptest::prelude::*;

    /// One edit of a file's bytes: (kind, place as a fraction of the length, byte).
    fn edits() -> impl Strategy<Value = Vec<(u8, u16, u8)>> {
        prop::collection::vec((0u8..5, any::<u16>(), any::<u8>()), 1..6)
    }

    fn mutate(mut b: Vec<u8>, edits: &[(u8, u16, u8)]) -> Vec<u8> {
        for &(kind, at, byte) in edits {
            if b.is_empty() {
                break;
            }
            let i = at as usize * (b.len() - 1) / u16::MAX as usize;
            match kind {
                0 => b[i] = byte,
                1 => b[i] ^= 1 << (byte % 8),
                2 => b.insert(i, byte),
                3 => {
                    let end = (i + 1 + byte as usize % 64).min(b.len());
                    b.drain(i..end);
                }
                _ => b.truncate(i.max(1)),
            }
        }
        b
    }

    fn check(d: &Dir, name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
        let f = d.write(name, bytes);
        let run = sessionstat(&["sessions", "--input", &f, "--quiet", "--session-count", "3"]);
        let err = run.stderr();
        prop_assert!(
            matches!(run.code(), 0 | 1),
            "exit {:?} for {name}: {err}",
            run.code()
        );
        prop_assert!(err.trim_end().lines().count() <= 1, "{err}");
        if run.code() == 1 {
            prop_assert!(err.contains(&f), "the error does not name the file: {err}");
            prop_assert!(run.out.stdout.is_empty());
        }
        Ok(())
    }

    proptest! {
        // 150 cases each here; PROPTEST_CASES=1000 for a longer hunt.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(150),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn mutated_parquet_never_panics(e in edits()) {
            thread_local!(static GOOD: (Dir, Vec<u8>) = {
                let d = Dir::new();
                let b = parquet_log(&d);
                (d, b)
            });
            GOOD.with(|(d, good)| check(d, "m.parquet", &mutate(good.clone(), &e)))?;
        }

        #[test]
        fn mutated_csv_never_panics(e in edits()) {
            let good = fs::read(BASIC).unwrap();
            let d = Dir::new();
            check(&d, "m.csv", &mutate(good, &e))?;
        }
    }
}
