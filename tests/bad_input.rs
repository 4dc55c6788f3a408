//! Bad input never slips through: every bad row stops the run with its place,
//! or is skipped into the rejects file; file-level faults are named; a killed
//! report leaves only whole files.

use crate::util::{sessionstat, Dir};
use std::collections::BTreeMap;
use std::path::Path;

/// Replaces field `col` of line `line` (0-based, header is 0).
fn with_field(lines: &[String], line: usize, col: usize, value: &str) -> Vec<String> {
    let mut out = lines.to_vec();
    let mut fields: Vec<&str> = lines[line].split(',').collect();
    fields[col] = value;
    out[line] = fields.join(",");
    out
}

fn write_lines(d: &Dir, name: &str, lines: &[String]) -> String {
    d.write(name, lines.join("\n") + "\n")
}

/// (column index, column name, bad value) for each kind of bad cell.
const BAD_CELLS: &[(usize, &str, &str)] = &[
    (5, "timestamp", "2021-02-30T10:00:00Z"),
    (5, "timestamp", "half past ten"),
    (6, "kind", "actvity"),
    (0, "session_id", "S-17"),
    (1, "user_id", "2147483648"),
    (5, "timestamp", ""),
    (2, "user_name", ""),
];

#[test]
fn each_bad_cell_stops_the_run_with_file_line_column_and_value() {
    let d = Dir::new();
    let lines = d.generated_lines("log.csv");
    for (i, (col, name, value)) in BAD_CELLS.iter().enumerate() {
        // a different line each time, spread over the file
        let line = 1 + (i * 7919 + 311) % (lines.len() - 1);
        let f = write_lines(&d, "bad.csv", &with_field(&lines, line, *col, value));
        for cmd in ["sessions", "report"] {
            let out = d.path("out").display().to_string();
            let mut args = vec![cmd, "--input", f.as_str()];
            if cmd == "report" {
                args.extend(["--out", out.as_str()]);
            }
            let err = sessionstat(&args).fails(1);
            assert!(
                err.contains(&format!("{f}:{}", line + 1)),
                "{cmd} {name}: {err}"
            );
            assert!(
                err.contains(&format!("column {name}")),
                "{cmd} {name}: {err}"
            );
            assert!(
                err.contains(&format!("value {value:?}")),
                "{cmd} {name}: {err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(
                !d.path("out").exists() || std::fs::read_dir(d.path("out")).unwrap().count() == 0,
                "report wrote output"
            );
        }
    }
}

#[test]
fn a_session_with_two_users_names_the_disagreeing_row() {
    let d = Dir::new();
    let lines = d.generated_lines("log.csv");
    // the last row of the first row's session gets another user id
    let session = lines[1].split(',').next().unwrap().to_string();
    let last = lines
        .iter()
        .rposition(|l| l.starts_with(&format!("{session},")))
        .unwrap();
    let f = write_lines(&d, "two.csv", &with_field(&lines, last, 1, "999999"));
    let err = sessionstat(&["sessions", "--input", &f]).fails(1);
    assert!(
        err.contains(&format!("{f}:{}", last + 1))
            && err.contains("column user_id")
            && err.contains("999999"),
        "{err}"
    );
    assert!(err.contains(&format!("session {session}")), "{err}");
    // another client too
    let f = write_lines(&d, "two.csv", &with_field(&lines, last, 3, "other-guid"));
    let err = sessionstat(&["sessions", "--input", &f]).fails(1);
    assert!(
        err.contains("column client_guid") && err.contains("other-guid"),
        "{err}"
    );
}

#[test]
fn bad_rows_within_the_limit_are_skipped_into_the_rejects_file() {
    let d = Dir::new();
    let lines = d.generated_lines("log.csv");
    let picks = [40usize, 41, lines.len() - 3];
    let mut bad = lines.clone();
    bad = with_field(&bad, picks[0], 5, "2021-13-01T00:00:00Z");
    bad = with_field(&bad, picks[1], 6, "LOGGOUT");
    bad = with_field(&bad, picks[2], 0, "12x");
    let bad_file = write_lines(&d, "bad.csv", &bad);
    let clean: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !picks.contains(i))
        .map(|(_, l)| l.clone())
        .collect();
    let clean_file = write_lines(&d, "clean.csv", &clean);
    let rejects = d.path("rejects.ndjson").display().to_string();

    let expected = sessionstat(&["sessions", "--input", &clean_file]).ok();
    let run = sessionstat(&[
        "sessions",
        "--input",
        &bad_file,
        "--max-bad-rows",
        "3",
        "--rejects",
        &rejects,
    ]);
    assert_eq!(run.ok(), expected);
    assert!(
        run.stderr().contains("skipped 3 bad rows"),
        "{}",
        run.stderr()
    );
    let rows: Vec<serde_json::Value> = d
        .read("rejects.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let header: Vec<&str> = lines[0].split(',').collect();
    for (row, &line) in rows.iter().zip(&picks) {
        assert_eq!(row["source"], format!("{bad_file}:{}", line + 1));
        assert_eq!(row["line"], line + 1);
        // the whole original record, field by field
        let record: BTreeMap<&str, &str> =
            header.iter().copied().zip(bad[line].split(',')).collect();
        let got: BTreeMap<&str, &str> = row["record"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        assert_eq!(got, record);
    }
    assert_eq!(rows[1]["column"], "kind");
    assert_eq!(rows[1]["value"], "LOGGOUT");

    // report: the same selection, and the summary counts the rejected rows
    let out = d.path("r").display().to_string();
    sessionstat(&[
        "report",
        "--input",
        &bad_file,
        "--out",
        &out,
        "--max-bad-rows",
        "3",
        "--quiet",
    ])
    .ok();
    let summary: serde_json::Value = serde_json::from_str(&d.read("r/summary.json")).unwrap();
    assert_eq!(summary["counts"]["eventsRejected"], 3);
    assert_eq!(summary["counts"]["eventsRead"], (lines.len() - 1) as u64);
    assert_eq!(d.read("r/rejects.ndjson").lines().count(), 3);
    assert_eq!(d.read("r/json/page-00000.json"), expected);

    // one over the limit fails, names the row over the limit, and writes nothing
    std::fs::remove_file(&rejects).unwrap();
    let err = sessionstat(&[
        "sessions",
        "--input",
        &bad_file,
        "--max-bad-rows",
        "2",
        "--rejects",
        &rejects,
    ])
    .fails(1);
    assert!(
        err.contains("--max-bad-rows 2") && err.contains(&format!("{bad_file}:{}", picks[2] + 1)),
        "{err}"
    );
    assert!(!Path::new(&rejects).exists());
    // skipping needs somewhere to put the skipped rows
    sessionstat(&["sessions", "--input", &bad_file, "--max-bad-rows", "3"]).fails(2);
}

#[test]
fn file_level_faults() {
    let d = Dir::new();
    let header = "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n";
    let err = sessionstat(&[
        "sessions",
        "--input",
        &d.path("nope.csv").display().to_string(),
    ])
    .fails(1);
    assert!(
        err.contains("input not found") && err.contains("nope.csv"),
        "{err}"
    );
    let empty = d.write("empty.csv", "");
    let err = sessionstat(&["sessions", "--input", &empty]).fails(1);
    assert!(err.contains("empty.csv") && err.contains("empty"), "{err}");
    let only_header = d.write("header.csv", header);
    assert_eq!(
        sessionstat(&["sessions", "--input", &only_header]).ok(),
        r#"{"sessions":[],"totalCount":0}"#
    );
    let no_ts = d.write("nots.csv", "session_id,user_id,user_name,client_guid,client_name,time,kind\n1,1,a,g,c,2021-04-01,login\n");
    let err = sessionstat(&["sessions", "--input", &no_ts]).fails(1);
    assert!(err.contains("\"timestamp\"") && err.contains("columns found: session_id, user_id, user_name, client_guid, client_name, time, kind"), "{err}");
    let err = sessionstat(&[
        "sessions",
        "--input",
        &d.path("*.nothing").display().to_string(),
    ])
    .fails(1);
    assert!(err.contains("no files match"), "{err}");
}

#[test]
fn line_numbers_are_physical_lines() {
    let d = Dir::new();
    // a quoted name over two lines, a blank line, then a bad kind in a record starting on physical line 5
    let f = d.write(
        "q.csv",
        "session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n\
         1,1,\"two\nlines\",g,c,2021-04-01T08:00:00Z,login\n\
         \n\
         1,1,\"two\nlines\",g,c,2021-04-01T08:01:00Z,idel\n",
    );
    let err = sessionstat(&["sessions", "--input", &f]).fails(1);
    assert!(err.contains(&format!("{f}:5, column kind")), "{err}");
    let nd = d.write("e.ndjson", "{\"session_id\":1,\"user_id\":1,\"user_name\":\"a\",\"client_guid\":\"g\",\"client_name\":\"c\",\"timestamp\":\"2021-04-01T08:00:00Z\"}\n\n{\"session_id\":1.5,\"user_id\":1,\"user_name\":\"a\",\"client_guid\":\"g\",\"client_name\":\"c\",\"timestamp\":\"2021-04-01T08:00:00Z\"}\n");
    let err = sessionstat(&["sessions", "--input", &nd]).fails(1);
    assert!(
        err.contains(&format!("{nd}:3, column session_id, value \"1.5\"")),
        "{err}"
    );
    let good = "{\"session_id\":1,\"user_id\":1,\"user_name\":\"a\",\"client_guid\":\"g\",\"client_name\":\"c\",\"timestamp\":\"2021-04-01T08:00:00Z\"}";
    let not_json = d.write("x.ndjson", format!("{good}\n{{oops\n"));
    let err = sessionstat(&["sessions", "--input", &not_json]).fails(1);
    assert!(
        err.contains(&format!("{not_json}:2")) && err.contains("not a JSON object"),
        "{err}"
    );
    // like any bad row, a line that is not JSON can be skipped into the rejects file
    let rejects = d.path("rejects.ndjson").display().to_string();
    let only_good = d.write("good.ndjson", format!("{good}\n"));
    let expected = sessionstat(&["sessions", "--input", &only_good]).ok();
    let out = sessionstat(&[
        "sessions",
        "--input",
        &not_json,
        "--max-bad-rows",
        "1",
        "--rejects",
        &rejects,
    ])
    .ok();
    assert_eq!(out, expected);
    let row: serde_json::Value = serde_json::from_str(d.read("rejects.ndjson").trim()).unwrap();
    assert_eq!(
        (row["line"].as_u64(), row["record"]["line"].as_str()),
        (Some(2), Some("{oops"))
    );
}

#[test]
fn parquet_rows_are_named_by_index() {
    use polars::prelude::*;
    let d = Dir::new();
    let p = d.path("x.parquet");
    let mut df = df!(
        "session_id" => [1i64, 1, 1],
        "user_id" => [1i64, 1, 1],
        "user_name" => ["a", "a", "a"],
        "client_guid" => ["g", "g", "g"],
        "client_name" => ["c", "c", "c"],
        "timestamp" => ["2021-04-01T08:00:00Z", "2021-04-01T08:01:00Z", "2021-04-01T08:99:00Z"],
    )
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&p).unwrap())
        .finish(&mut df)
        .unwrap();
    let err = sessionstat(&["sessions", "--input", p.to_str().unwrap()]).fails(1);
    assert!(
        err.contains("x.parquet row 2, column timestamp, value \"2021-04-01T08:99:00Z\""),
        "{err}"
    );
}

/// The files of a report folder that a reader sees (hidden names excluded), with contents.
fn visible_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["", "json"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && e.path().is_file() {
                out.insert(format!("{sub}/{name}"), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

fn json_pages(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<&String, &Vec<u8>> {
    files
        .iter()
        .filter(|(k, _)| k.starts_with("json/"))
        .collect()
}

#[cfg(unix)]
#[test]
fn a_killed_report_leaves_only_whole_files() {
    use std::time::Instant;
    let d = Dir::new();
    let log = d.path("big.parquet").display().to_string();
    sessionstat(&[
        "generate", "--out", &log, "--users", "1500", "--days", "14", "--quiet",
    ])
    .ok();
    let bin = assert_cmd::cargo::cargo_bin("sessionstat");
    let old_args = [
        "report",
        "--input",
        &log,
        "--quiet",
        "--session-count",
        "1000",
    ];
    let new_args = [
        "report",
        "--input",
        &log,
        "--quiet",
        "--session-count",
        "777",
        "--start",
        "2021-03-27",
    ];
    // the outputs of each job run to the end, for reference
    let reference = |args: &[&str], out: &Path| {
        let began = Instant::now();
        let st = std::process::Command::new(&bin)
            .args(args)
            .arg("--out")
            .arg(out)
            .status()
            .unwrap();
        assert!(st.success());
        began.elapsed()
    };
    reference(&old_args, &d.path("old"));
    let took = reference(&new_args, &d.path("new"));
    let (old, new) = (visible_files(&d.path("old")), visible_files(&d.path("new")));
    assert_ne!(old, new);

    let target = d.path("target");
    // kill moments spread over the run, the last ones near its end
    for (i, frac) in [0.15, 0.4, 0.65, 0.85, 0.93, 0.98].iter().enumerate() {
        reference(&old_args, &target);
        let mut child = std::process::Command::new(&bin)
            .args(new_args)
            .arg("--out")
            .arg(&target)
            .spawn()
            .unwrap();
        std::thread::sleep(took.mul_f64(*frac));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let now = visible_files(&target);
        // every visible file is whole: the old run's or the new run's, byte for byte
        for (name, bytes) in &now {
            let whole = old.get(name) == Some(bytes) || new.get(name) == Some(bytes);
            assert!(
                whole,
                "kill {i}: {name} is neither the old nor the new file"
            );
        }
        // the json folder is one run's pages, never a mix
        assert!(
            json_pages(&now) == json_pages(&old) || json_pages(&now) == json_pages(&new),
            "kill {i}: json pages mixed"
        );
        // nothing is lost: each file of the old run is there (old or new version)
        assert_eq!(
            now.keys()
                .filter(|k| !k.starts_with("json/"))
                .collect::<Vec<_>>(),
            old.keys()
                .filter(|k| !k.starts_with("json/"))
                .collect::<Vec<_>>()
        );
    }
    // the next run cleans up whatever a kill left hidden and completes
    reference(&new_args, &target);
    assert_eq!(visible_files(&target), new);
    assert!(d.hidden("target").is_empty());
    // the reference outputs themselves are readable
    use polars::prelude::*;
    let df = ParquetReader::new(std::fs::File::open(d.path("new/sessions.parquet")).unwrap())
        .finish()
        .unwrap();
    assert!(df.height() > 100);
}

#[test]
fn parquet_names_read_as_dictionaries_give_the_csv_answer_and_rejects() {
    // Parquet names are read as dictionary indices (src/load/dict.rs); the
    // same rows as CSV go the string way. Both must keep and reject the
    // same rows, for the same reasons, across many row groups.
    use polars::prelude::*;
    let d = Dir::new();
    let mut lines = d.generated_lines("log.csv");
    let n = lines.len() - 1;
    let at = |i: usize| 1 + i * n / 7;
    lines = with_field(&lines, at(1), 3, "another-guid-0000"); // a conflict
    lines = with_field(&lines, at(2), 2, ""); // missing user name
    lines = with_field(&lines, at(3), 4, "  "); // blank client name
    lines = with_field(&lines, at(4), 4, "SRV-OTHER"); // a conflict
    lines = with_field(&lines, at(5), 2, ""); // null in the Parquet file
    let csv = write_lines(&d, "bad.csv", &lines);
    let header: Vec<&str> = lines[0].split(',').collect();
    let columns: Vec<Column> = (0..header.len())
        .map(|c| {
            let values: Vec<Option<String>> = lines[1..]
                .iter()
                .enumerate()
                .map(|(r, l)| {
                    let v = l.split(',').nth(c).unwrap();
                    (!(c == 2 && r + 1 == at(5))).then(|| v.to_string())
                })
                .collect();
            Column::new(header[c].into(), values)
        })
        .collect();
    let mut df = DataFrame::new(n, columns).unwrap();
    let parquet = d.path("bad.parquet");
    ParquetWriter::new(std::fs::File::create(&parquet).unwrap())
        .with_row_group_size(Some(500))
        .finish(&mut df)
        .unwrap();
    let run = |input: &str, rejects: &str| {
        let rejects = d.path(rejects).display().to_string();
        let page = sessionstat(&[
            "sessions",
            "--input",
            input,
            "--max-bad-rows",
            "9",
            "--rejects",
            &rejects,
        ])
        .ok();
        let rows: Vec<(u64, String, String, String)> = std::fs::read_to_string(&rejects)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let row = v["line"].as_u64().or(v["row"].as_u64()).unwrap();
                let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
                (row, text("column"), text("value"), text("rule"))
            })
            .collect();
        (page, rows)
    };
    let (csv_page, csv_rows) = run(&csv, "csv.ndjson");
    let (pq_page, pq_rows) = run(parquet.to_str().unwrap(), "pq.ndjson");
    assert_eq!(pq_page, csv_page);
    assert_eq!(csv_rows.len(), 5, "{csv_rows:?}");
    // CSV counts physical lines (the header is line 1), Parquet rows from 0.
    let as_csv: Vec<_> = pq_rows
        .iter()
        .map(|(r, c, v, rule)| (r + 2, c.clone(), v.clone(), rule.clone()))
        .collect();
    assert_eq!(as_csv, csv_rows);
}
