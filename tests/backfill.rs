//! `sessionstat backfill`: every period folder is `report` over its window,
//! byte for byte; one dataset; reruns skip what is done.

use crate::report::folder_files;
use crate::util::{sessionstat, Dir};

/// A log of 45 days from 2024-03-20 in `zone`: a clock change, month ends,
/// sessions over midnight (the generator's service accounts).
fn log(d: &Dir, zone: &str) -> String {
    let path = d
        .path(&format!("log-{}.csv", zone.replace('/', "-")))
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
        "2024-03-20",
        "--tz",
        zone,
        "-q",
    ])
    .ok();
    path
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
    let run = sessionstat(&args);
    run.ok();
    assert!(
        run.stderr().contains("7 periods up to date, 0 computed"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        each_period_is_its_report(&d, &shuffled, "ds", &["--tz", "Europe/Berlin"]),
        7
    );
    let before = folder_files(&d.path("ds"));
    let mut forced = args.to_vec();
    forced.push("--force");
    let run = sessionstat(&forced);
    run.ok();
    assert!(
        run.stderr().contains("0 periods up to date, 7 computed"),
        "{}",
        run.stderr()
    );
    assert_eq!(folder_files(&d.path("ds")).len(), before.len());
    // A changed input: every period is computed again, and differs.
    d.write(
        "shuffled.csv",
        format!("{header}\n{}\n", lines[..lines.len() / 2].join("\n")),
    );
    let run = sessionstat(&args);
    run.ok();
    assert!(
        run.stderr().contains("0 periods up to date, 7 computed"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        each_period_is_its_report(&d, &shuffled, "ds", &["--tz", "Europe/Berlin"]),
        7
    );
    assert!(folder_files(&d.path("ds")) != before);
}
