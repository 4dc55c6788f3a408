//! `--memory-limit`: past the limit, sessions are processed in partitions, one
//! pass over the input each. The answers must be exactly the in-memory ones.

use crate::util::{sessionstat, Dir};

/// Every output file of a report folder except summary.json (which states the
/// limit and the number of partitions), as bytes.
fn outputs(d: &Dir, dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["", "json"] {
        let mut names: Vec<_> = std::fs::read_dir(d.path(&format!("{dir}/{sub}")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names.into_iter().filter(|p| p.is_file()) {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name != "summary.json" && !name.ends_with(".parquet") {
                out.push((format!("{sub}/{name}"), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

#[test]
fn partitioned_runs_equal_the_in_memory_run() {
    let d = Dir::new();
    // The same generated log as Parquet and as CSV (to be reversed below).
    let [log, _csv] = ["log.parquet", "log.csv"].map(|name| {
        let path = d.path(name).display().to_string();
        sessionstat(&[
            "generate",
            "--out",
            &path,
            "--users",
            "60",
            "--days",
            "5",
            "--tz",
            "Europe/Berlin",
            "--quiet",
        ])
        .ok();
        path
    });
    let text = d.read("log.csv");
    let (header, rows) = text.split_once('\n').unwrap();
    let mut rows: Vec<&str> = rows.lines().collect();
    rows.reverse();
    let reversed = d.write("reversed.csv", format!("{header}\n{}\n", rows.join("\n")));
    for window in [
        vec![],
        vec!["--start", "2021-03-26T10:00", "--end", "2021-03-28T20:00"],
    ] {
        for page in ["0", "1", "3"] {
            let mut base = vec![
                "sessions",
                "--input",
                &log,
                "--tz",
                "Europe/Berlin",
                "--session-count",
                "17",
                "--page-index",
                page,
            ];
            base.extend(&window);
            let expected = sessionstat(&[&base[..], &["--memory-limit", "off"]].concat()).ok();
            let limited = sessionstat(&[&base[..], &["--memory-limit", "100KB"]].concat()).ok();
            assert_eq!(limited, expected, "window {window:?} page {page}");
            // A time-ordered log is answered in one pass whatever the limit;
            // the same rows reversed keep events, in several passes here.
            base[2] = &reversed;
            let passes = sessionstat(&[&base[..], &["--memory-limit", "100KB"]].concat()).ok();
            assert_eq!(passes, expected, "reversed, window {window:?} page {page}");
        }
        let mut base = vec![
            "report",
            "--input",
            &log,
            "--tz",
            "Europe/Berlin",
            "--session-count",
            "23",
            "--quiet",
        ];
        base.extend(&window);
        let (a, b) = (
            d.path("a").display().to_string(),
            d.path("b").display().to_string(),
        );
        let c = d.path("c").display().to_string();
        sessionstat(&[&base[..], &["--out", &a, "--memory-limit", "off"]].concat()).ok();
        sessionstat(&[&base[..], &["--out", &c, "--memory-limit", "100KB"]].concat()).ok();
        assert_eq!(outputs(&d, "c"), outputs(&d, "a"), "window {window:?}");
        // the reversed rows keep events, in passes
        base[2] = &reversed;
        sessionstat(&[&base[..], &["--out", &b, "--memory-limit", "100KB"]].concat()).ok();
        assert_eq!(
            outputs(&d, "b"),
            outputs(&d, "a"),
            "reversed, window {window:?}"
        );
        let summary = |dir: &str| {
            serde_json::from_str::<serde_json::Value>(&d.read(&format!("{dir}/summary.json")))
                .unwrap()
        };
        let (sa, sb) = (summary("a"), summary("b"));
        assert_eq!(sa["settings"]["partitions"], 1);
        assert_eq!(
            summary("c")["settings"]["partitions"],
            1,
            "a time-ordered log is one pass"
        );
        // 36k events at 12 bytes each in 100 KB: several passes
        assert!(sb["settings"]["partitions"].as_u64().unwrap() >= 3, "{sb}");
        assert_eq!(sa["counts"], sb["counts"]);
        assert_eq!(sa["totals"], sb["totals"]);
    }
}

#[test]
fn partitioned_runs_name_the_same_bad_rows() {
    let d = Dir::new();
    let mut lines = d.generated_lines("log.csv");
    // bad rows of different sessions (so of different partitions), and one without a session
    for (line, col, value) in [
        (900usize, 5usize, "2021-02-30T00:00:00Z"),
        (300, 6, "nope"),
        (1500, 0, "x"),
        (2100, 1, "77777"),
    ] {
        let mut f: Vec<&str> = lines[line].split(',').collect();
        f[col] = value;
        lines[line] = f.join(",");
    }
    let bad = d.write("bad.csv", lines.join("\n") + "\n");
    for max in ["0", "2", "4"] {
        let run = |limit: &str| {
            let rejects = d.path("rejects.ndjson").display().to_string();
            let _ = std::fs::remove_file(&rejects);
            let r = sessionstat(&[
                "sessions",
                "--input",
                &bad,
                "--max-bad-rows",
                max,
                "--rejects",
                &rejects,
                "--memory-limit",
                limit,
            ]);
            let rej = std::fs::read_to_string(&rejects).unwrap_or_default();
            (r.code(), r.stdout(), r.stderr(), rej)
        };
        let (a, b) = (run("off"), run("10KB"));
        assert_eq!(a, b, "--max-bad-rows {max}");
    }
    // the first bad row in input order is the one named, whatever its partition
    let err = sessionstat(&["sessions", "--input", &bad, "--memory-limit", "10KB"]).fails(1);
    assert!(err.contains(&format!("{bad}:301, column kind")), "{err}");
}
