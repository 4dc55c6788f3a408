//! `sessionstat backfill`: every period folder is `report` over its window,
//! byte for byte; one dataset; reruns skip what is done.

use crate::report::folder_files;
use crate::util::{sessionstat, Dir};

/// A log of 45 days from 2024-03-20 in `zone`: a clock change, month ends,
/// sessions over midnight (the generator's service accounts).
fn log(d: &Dir, zone: &str) -> String {
    log_from(d, zone, "2024-03-20")
}

/// `log`, from another first day.
fn log_from(d: &Dir, zone: &str, first: &str) -> String {
    let path = d
        .path(&format!("log-{}-{first}.csv", zone.replace('/', "-")))
        .display()
        .to_string();
    sessionstat(&[
        "generate",
        "--out",
        &path,
        "--days",
        "45",
        "--users",
        "60",
        "--start-date",
        first,
        "--tz",
        zone,
        "-q",
    ])
    .ok();
    path
}

/// Runs a backfill that must succeed and say `said` on stderr.
fn run_saying(args: &[&str], said: &str) {
    let run = sessionstat(args);
    run.ok();
    assert!(run.stderr().contains(said), "{}", run.stderr());
}

fn manifest(d: &Dir, out: &str) -> serde_json::Value {
    serde_json::from_str(&d.read(&format!("{out}/_backfill.json"))).unwrap()
}

/// Every period folder of `out` equals `report` over the window the
/// manifest records for it.
fn each_period_is_its_report(d: &Dir, input: &str, out: &str, extra: &[&str]) -> usize {
    let m = manifest(d, out);
    let periods = m["periods"].as_object().unwrap();
    for (folder, record) in periods {
        let (start, end) = (
            record["window"]["start"].as_str().unwrap(),
            record["window"]["end"].as_str().unwrap(),
        );
        let alone = d
            .path(&format!("alone-{out}-{folder}"))
            .display()
            .to_string();
        let mut args = vec![
            "report", "--input", input, "--out", &alone, "--start", start, "--end", end, "-q",
        ];
        args.extend_from_slice(extra);
        sessionstat(&args).ok();
        let mut want = folder_files(&d.path(&alone));
        want.retain(|(name, _)| name != "rejects.ndjson");
        let got = folder_files(&d.path(&format!("{out}/{folder}")));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&want), "{out}/{folder}");
        for ((name, x), (_, y)) in got.iter().zip(&want) {
            assert!(
                x == y,
                "{out}/{folder}/{name} differs from report --start {start} --end {end}"
            );
        }
    }
    periods.len()
}

#[test]
fn every_period_is_the_report_of_its_window() {
    let d = Dir::new();
    for zone in ["Europe/Berlin", "America/New_York"] {
        let input = log(&d, zone);
        for (every, n, first, last) in [
            ("day", 17, "day=2024-03-25", "day=2024-04-10"),
            ("week", 3, "week=2024-03-25", "week=2024-04-08"),
            ("month", 3, "month=2024-03-01", "month=2024-05-01"),
        ] {
            let out = format!("{}-{every}", zone.replace('/', "-"));
            let to = if every == "month" {
                "2024-05-02"
            } else {
                "2024-04-10"
            };
            let opts = ["--tz", zone, "--session-count", "7"];
            let out_path = d.path(&out).display().to_string();
            let mut args = vec![
                "backfill",
                "--input",
                &input,
                "--out",
                &out_path,
                "--every",
                every,
                "--from",
                "2024-03-25",
                "--to",
                to,
                "-q",
            ];
            args.extend_from_slice(&opts);
            sessionstat(&args).ok();
            let m = manifest(&d, &out);
            let folders: Vec<&String> = m["periods"].as_object().unwrap().keys().collect();
            assert_eq!(folders.len(), n, "{zone} {every}");
            assert_eq!(folders.first().unwrap().as_str(), first);
            assert_eq!(folders.last().unwrap().as_str(), last);
            assert_eq!(each_period_is_its_report(&d, &input, &out, &opts), n);
            assert_eq!(d.read(&format!("{out}/_rejects.ndjson")), "");
        }
    }
}

#[test]
fn an_out_of_order_log_a_rerun_force_and_a_changed_input() {
    let d = Dir::new();
    let ordered = log(&d, "Europe/Berlin");
    // The same rows shuffled: sessions out of order, read keeping events.
    let text = std::fs::read_to_string(&ordered).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    let mut x: u64 = 3;
    for i in (1..lines.len()).rev() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lines.swap(i, (x >> 33) as usize % (i + 1));
    }
    let shuffled = d.write("shuffled.csv", format!("{header}\n{}\n", lines.join("\n")));
    let out = d.path("ds").display().to_string();
    let args = [
        "backfill",
        "--input",
        &shuffled,
        "--out",
        &out,
        "--every",
        "week",
        "--from",
        "2024-03-20",
        "--to",
        "2024-04-30",
        "--tz",
        "Europe/Berlin",
    ];
    sessionstat(&args).ok();
    run_saying(&args, "7 periods up to date, 0 computed");
    assert_eq!(
        each_period_is_its_report(&d, &shuffled, "ds", &["--tz", "Europe/Berlin"]),
        7
    );
    let before = folder_files(&d.path("ds"));
    let mut forced = args.to_vec();
    forced.push("--force");
    run_saying(&forced, "0 periods up to date, 7 computed");
    assert_eq!(folder_files(&d.path("ds")).len(), before.len());
    // A changed input: every period is computed again, and differs.
    d.write(
        "shuffled.csv",
        format!("{header}\n{}\n", lines[..lines.len() / 2].join("\n")),
    );
    run_saying(&args, "0 periods up to date, 7 computed");
    assert_eq!(
        each_period_is_its_report(&d, &shuffled, "ds", &["--tz", "Europe/Berlin"]),
        7
    );
    assert!(folder_files(&d.path("ds")) != before);
}

#[test]
fn duckdb_reads_the_dataset_with_dates_from_the_folder_names() {
    let d = Dir::new();
    let input = log(&d, "America/New_York");
    let out = d.path("ds").display().to_string();
    // Through 2024-05-09: the last sessions (service accounts) end on 2024-05-06.
    sessionstat(&[
        "backfill",
        "--input",
        &input,
        "--out",
        &out,
        "--every",
        "day",
        "--from",
        "2024-04-28",
        "--to",
        "2024-05-09",
        "--tz",
        "America/New_York",
        "-q",
    ])
    .ok();
    let m = manifest(&d, "ds");
    let empty: Vec<&String> = m["periods"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["counts"]["sessions"] == 0)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        empty,
        ["day=2024-05-07", "day=2024-05-08", "day=2024-05-09"]
    );
    let page: serde_json::Value =
        serde_json::from_str(&d.read("ds/day=2024-05-09/json/page-00000.json")).unwrap();
    assert_eq!(page["totalCount"], 0);
    assert_eq!(page["sessions"].as_array().unwrap().len(), 0);
    let Some(python) = crate::report::python_with_duckdb() else {
        return;
    };
    let query = format!(
        "import duckdb; print(duckdb.sql(\"SELECT typeof(day), strftime(day, '%Y-%m-%d'), count(*) FROM read_parquet('{out}/*/sessions.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY 2\").fetchall())"
    );
    let run = std::process::Command::new(python)
        .args(["-c", &query])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed = String::from_utf8_lossy(&run.stdout).to_string();
    // One row per day with sessions, the count the manifest recorded.
    let mut want = Vec::new();
    for (folder, record) in m["periods"].as_object().unwrap() {
        let n = record["counts"]["sessions"].as_u64().unwrap();
        if n > 0 {
            want.push(format!("('DATE', '{}', {n})", &folder["day=".len()..]));
        }
    }
    assert_eq!(printed.trim(), format!("[{}]", want.join(", ")));
}

/// The files of a dataset a reader sees: hidden names (`.…`) left out.
fn visible(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = folder_files(dir);
    files.retain(|(name, _)| !name.split('/').any(|part| part.starts_with('.')));
    files
}

#[cfg(unix)]
#[test]
fn a_killed_backfill_resumes_to_the_clean_result() {
    use std::time::Instant;
    let d = Dir::new();
    let input = d.path("big.parquet").display().to_string();
    sessionstat(&[
        "generate",
        "--out",
        &input,
        "--users",
        "800",
        "--days",
        "20",
        "--tz",
        "Europe/Berlin",
        "--quiet",
    ])
    .ok();
    let bin = assert_cmd::cargo::cargo_bin("sessionstat");
    let args = |out: &std::path::Path| -> Vec<String> {
        [
            "backfill",
            "--input",
            &input,
            "--every",
            "day",
            "--from",
            "2021-03-25",
            "--to",
            "2021-04-14",
            "--tz",
            "Europe/Berlin",
            "--session-count",
            "50",
            "--quiet",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect()
    };
    let clean = d.path("clean");
    let began = Instant::now();
    assert!(std::process::Command::new(&bin)
        .args(args(&clean))
        .status()
        .unwrap()
        .success());
    let took = began.elapsed();
    let want = visible(&clean);
    for (i, frac) in [0.1, 0.3, 0.5, 0.7, 0.85, 0.95].iter().enumerate() {
        let target = d.path(&format!("killed-{i}"));
        let mut child = std::process::Command::new(&bin)
            .args(args(&target))
            .spawn()
            .unwrap();
        std::thread::sleep(took.mul_f64(*frac));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Whatever is visible now is whole: each period folder either absent
        // or the clean run's, file for file.
        let now = visible(&target);
        for (name, bytes) in &now {
            if name.starts_with("day=") {
                let same = want.iter().any(|(n, b)| n == name && b == bytes);
                assert!(same, "kill {i}: {name} is not the clean run's");
            }
        }
        let run = std::process::Command::new(&bin)
            .args(args(&target))
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(
            visible(&target) == want,
            "kill {i}: the resumed dataset differs from the clean one"
        );
    }
}

#[test]
fn a_rerun_computes_only_the_missing_periods_and_gets_them_right() {
    let d = Dir::new();
    let input = log(&d, "Europe/Berlin");
    let out = d.path("ds").display().to_string();
    let args = [
        "backfill",
        "--input",
        &input,
        "--out",
        &out,
        "--every",
        "day",
        "--from",
        "2024-03-27",
        "--to",
        "2024-04-02",
        "--tz",
        "Europe/Berlin",
        "--session-count",
        "9",
    ];
    sessionstat(&args).ok();
    let clean = folder_files(&d.path("ds"));
    // Two periods gone, with days between them and before them that are
    // not recomputed: their events are still before and after the windows.
    for gone in ["day=2024-03-29", "day=2024-04-01"] {
        std::fs::remove_dir_all(d.path(&format!("ds/{gone}"))).unwrap();
    }
    run_saying(&args, "5 periods up to date, 2 computed");
    assert!(
        folder_files(&d.path("ds")) == clean,
        "the recomputed periods differ"
    );
}

#[test]
fn skipped_bad_rows_go_once_to_the_datasets_rejects() {
    let d = Dir::new();
    let ordered = log(&d, "Europe/Berlin");
    let text = std::fs::read_to_string(&ordered).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Line 101 gets an impossible timestamp.
    let cells: Vec<&str> = lines[100].split(',').collect();
    let mut bad = cells.clone();
    bad[5] = "2024-02-30T10:00:00Z";
    lines[100] = bad.join(",");
    let input = d.write("bad.csv", lines.join("\n") + "\n");
    let out = d.path("ds").display().to_string();
    let extra = ["--tz", "Europe/Berlin", "--max-bad-rows", "1"];
    let mut args = vec![
        "backfill",
        "--input",
        &input,
        "--out",
        &out,
        "--every",
        "week",
        "--from",
        "2024-03-20",
        "--to",
        "2024-04-05",
        "-q",
    ];
    args.extend(extra);
    sessionstat(&args).ok();
    let rejects = d.read("ds/_rejects.ndjson");
    assert_eq!(rejects.lines().count(), 1, "{rejects}");
    assert!(rejects.contains("bad.csv:101"), "{rejects}");
    assert_eq!(each_period_is_its_report(&d, &input, "ds", &extra), 3);
    for (name, _) in folder_files(&d.path("ds")) {
        assert!(
            !name.ends_with("/rejects.ndjson"),
            "{name}: rejects belong to the dataset"
        );
    }
    // One more bad row than allowed fails the run, and writes nothing new.
    let before = folder_files(&d.path("ds"));
    let mut strict = args.clone();
    let last = strict.len() - 1;
    strict[last] = "0";
    strict.push("--force");
    let err = sessionstat(&strict).fails(1);
    assert!(err.contains("bad.csv:101"), "{err}");
    assert!(folder_files(&d.path("ds")) == before);
}

#[test]
fn autumn_clock_changes_in_weeks_and_months() {
    let d = Dir::new();
    // Berlin turns clocks back on 2024-10-27, New York on 2024-11-03.
    for zone in ["Europe/Berlin", "America/New_York"] {
        let input = log_from(&d, zone, "2024-10-14");
        for (every, n) in [("week", 5), ("month", 2)] {
            let out = format!("{}-{every}", zone.replace('/', "-"));
            let out_path = d.path(&out).display().to_string();
            let opts = ["--tz", zone, "--session-count", "11"];
            let mut args = vec![
                "backfill",
                "--input",
                &input,
                "--out",
                &out_path,
                "--every",
                every,
                "--from",
                "2024-10-16",
                "--to",
                "2024-11-13",
                "-q",
            ];
            args.extend_from_slice(&opts);
            sessionstat(&args).ok();
            assert_eq!(
                each_period_is_its_report(&d, &input, &out, &opts),
                n,
                "{zone} {every}"
            );
        }
    }
}

#[test]
fn periods_of_text_ids_and_built_sessions_are_their_reports() {
    // Ids are assigned over the whole input, whatever the window, so each
    // period's tables, pages and ids.csv are report's for its window.
    let d = Dir::new();
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/evtx/security-events.csv"
    );
    for (out, extra) in [
        ("keys", &["--id-keys", "session,user"][..]),
        ("built", &["--id-keys", "user", "--sessionize", "2h"][..]),
    ] {
        let mut args = vec![
            "backfill",
            "--input",
            csv,
            "--every",
            "month",
            "--from",
            "2016-07-01",
            "--to",
            "2017-04-30",
            "--tz",
            "Europe/Berlin",
            "--out",
        ];
        let dir = d.path(out).display().to_string();
        args.push(&dir);
        args.push("-q");
        args.extend_from_slice(extra);
        sessionstat(&args).ok();
        let mut extra = extra.to_vec();
        extra.extend_from_slice(&["--tz", "Europe/Berlin"]);
        assert_eq!(each_period_is_its_report(&d, csv, out, &extra), 10);
        assert!(d.path(&format!("{out}/month=2017-04-01/ids.csv")).exists());
    }
}
