//! `report.html` (SPEC 10.1) parsed back: its numbers against the tables
//! and summary.json of the same folder, hostile names shown as text, the
//! same bytes on every run, the size of a month of 1,000 users, and a
//! rendering in headless Chromium.

use crate::util::{sessionstat, Dir};
use scraper::{ElementRef, Html, Selector};
use std::collections::BTreeMap;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.csv");

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

/// The `<data value>` of each cell of a row, or its text when it has none.
fn cells(row: ElementRef<'_>) -> Vec<String> {
    row.select(&sel("td"))
        .map(|td| match td.select(&sel("data")).next() {
            Some(d) => d.value().attr("value").unwrap().to_string(),
            None => td.text().collect::<String>(),
        })
        .collect()
}

fn csv_rows(path: &std::path::Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn int(row: &BTreeMap<String, String>, col: &str) -> i64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col}: {:?}", row[col]))
}

#[test]
fn the_page_s_numbers_are_the_tables() {
    let d = Dir::new();
    let out = d.path("r");
    sessionstat(&[
        "report",
        "-q",
        "-i",
        SAMPLE,
        "--tz",
        "Europe/Berlin",
        "-o",
        out.to_str().unwrap(),
    ])
    .ok();
    let page = Html::parse_document(&d.read("r/report.html"));
    let summary: serde_json::Value = serde_json::from_str(&d.read("r/summary.json")).unwrap();

    // Totals: summary.json's counts and totals.
    let totals: BTreeMap<String, String> = page
        .select(&sel("#totals dt"))
        .zip(page.select(&sel("#totals dd data")))
        .map(|(dt, dd)| {
            (
                dt.text().collect(),
                dd.value().attr("value").unwrap().into(),
            )
        })
        .collect();
    let counts = &summary["counts"];
    for (name, want) in [
        ("Events read", &counts["eventsRead"]),
        ("Events rejected", &counts["eventsRejected"]),
        ("Events used", &counts["eventsUsed"]),
        ("Sessions", &counts["sessions"]),
        ("Duration", &summary["totals"]["durationUs"]),
        ("Productive", &summary["totals"]["productiveUs"]),
        ("Idle", &summary["totals"]["idleUs"]),
    ] {
        assert_eq!(totals[name], want.to_string(), "{name}");
    }

    // Days: daily_user added up per day.
    let mut days: BTreeMap<String, [i64; 3]> = BTreeMap::new();
    for r in csv_rows(&out.join("daily_user.csv")) {
        let day = days.entry(r["day"].clone()).or_default();
        day[0] += int(&r, "duration_us");
        day[1] += int(&r, "productive_us");
        day[2] += int(&r, "idle_us");
    }
    let shown: BTreeMap<String, [i64; 3]> = page
        .select(&sel("#days tr"))
        .skip(1)
        .map(|tr| {
            let c = cells(tr);
            (c[0].clone(), [1, 2, 3].map(|i| c[i].parse().unwrap()))
        })
        .collect();
    assert_eq!(shown, days);
    assert!(days.len() >= 5, "the sample spans days");
    // The chart has a bar pair per day.
    assert_eq!(page.select(&sel("svg g title")).count(), days.len());

    // Users: sessions.csv added up per user, by productive time.
    let mut users: BTreeMap<(String, String), [i64; 3]> = BTreeMap::new();
    for r in csv_rows(&out.join("sessions.csv")) {
        let u = users
            .entry((r["user_name"].clone(), r["user_id"].clone()))
            .or_default();
        u[0] += 1;
        u[1] += int(&r, "productive_us");
        u[2] += int(&r, "idle_us");
    }
    let rows: Vec<Vec<String>> = page.select(&sel("#users tr")).skip(1).map(cells).collect();
    assert_eq!(rows.len(), users.len());
    for c in &rows {
        // user, id, sessions, productive, bar, idle, ratio
        let want = users[&(c[0].clone(), c[1].clone())];
        let got = [&c[2], &c[3], &c[5]].map(|v| v.parse::<i64>().unwrap());
        assert_eq!(got, want, "{c:?}");
    }
    let productive: Vec<i64> = rows.iter().map(|c| c[3].parse().unwrap()).collect();
    assert!(
        productive.windows(2).all(|w| w[0] >= w[1]),
        "by productive time"
    );

    // Findings: the counts and, kind by kind, the session ids of findings.csv.
    let findings = csv_rows(&out.join("findings.csv"));
    let listed: BTreeMap<String, String> = page
        .select(&sel("#finding-counts tr"))
        .map(|tr| {
            let kind = tr.select(&sel("th")).next().unwrap().text().collect();
            (kind, cells(tr)[0].clone())
        })
        .collect();
    for (kind, n) in &listed {
        let rows: Vec<&BTreeMap<String, String>> =
            findings.iter().filter(|f| &f["kind"] == kind).collect();
        assert_eq!(n, &rows.len().to_string(), "{kind}");
        assert_eq!(summary["counts"]["findings"][kind], rows.len());
        if rows.is_empty() {
            continue;
        }
        let table = page
            .select(&sel(&format!("table.findings[data-kind={kind}]")))
            .next()
            .unwrap();
        let shown: Vec<(String, i64)> = table
            .select(&sel("tr"))
            .skip(1)
            .map(|tr| {
                let c = cells(tr);
                (c[0].clone(), c.last().unwrap().parse().unwrap())
            })
            .collect();
        let want: Vec<(String, i64)> = rows
            .iter()
            .map(|f| (f["session_id"].clone(), int(f, "value_us")))
            .collect();
        assert_eq!(shown, want, "{kind}");
    }
    assert!(listed.len() == 5 && !findings.is_empty());
}

#[test]
fn hostile_names_render_as_text() {
    let d = Dir::new();
    let long = "x".repeat(5000);
    let names = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "=HYPERLINK(\"http://e.x\")",
        "\"quoted\" & 'apos' </td>",
        "مرحبا بالعالم",
        long.as_str(),
    ];
    let mut log =
        String::from("session_id,user_id,user_name,client_guid,client_name,timestamp,kind\n");
    let mut w = csv::Writer::from_writer(Vec::new());
    for (i, name) in names.iter().enumerate() {
        for (t, kind) in [
            ("2021-03-01T07:00:00Z", "login"),
            ("2021-03-01T09:00:00Z", "activity"),
        ] {
            let (s, u) = ((i + 1).to_string(), (i + 10).to_string());
            w.write_record([s.as_str(), &u, name, "g", name, t, kind])
                .unwrap();
        }
    }
    log.push_str(std::str::from_utf8(&w.into_inner().unwrap()).unwrap());
    let input = d.write("log.csv", log);
    let out = d.path("r").display().to_string();
    sessionstat(&["report", "-q", "-i", &input, "-o", &out]).ok();
    let raw = d.read("r/report.html");
    let page = Html::parse_document(&raw);
    for tag in ["script", "img", "iframe", "link", "object", "embed"] {
        assert_eq!(page.select(&sel(tag)).count(), 0, "{tag}");
    }
    let shown: Vec<String> = page
        .select(&sel("#users td bdi"))
        .map(|b| b.text().collect())
        .collect();
    for name in names {
        assert!(shown.iter().any(|s| s == name), "{name:.40} shown as text");
    }
    // Every session is open and has 07:00-08:00 outside work hours: each
    // name is in the findings as text too, as user and as client.
    let in_findings = page
        .select(&sel("table.findings bdi"))
        .filter(|b| names.contains(&b.text().collect::<String>().as_str()))
        .count();
    assert_eq!(in_findings, names.len() * 2 * 2);
    // Self-contained: nothing fetched.
    for needle in ["src=\"", "href=", "url(", "@import", "<script"] {
        assert!(!raw.contains(needle), "{needle}");
    }
}

#[test]
fn every_run_writes_the_same_bytes() {
    let d = Dir::new();
    let input = d.write("log.csv", std::fs::read(SAMPLE).unwrap());
    let run = |out: &str, extra: &[&str]| {
        let out = d.path(out).display().to_string();
        let mut args = vec![
            "report",
            "-q",
            "-i",
            &input,
            "--tz",
            "America/New_York",
            "-o",
            &out,
        ];
        args.extend_from_slice(extra);
        sessionstat(&args).ok();
    };
    run("a", &[]);
    run("elsewhere/b", &[]);
    // Partitions: another path through the kernel.
    run("c", &["--memory-limit", "100KB"]);
    let a = d.read("a/report.html");
    assert_eq!(a, d.read("elsewhere/b/report.html"));
    assert_eq!(a, d.read("c/report.html"));
    assert!(!a.contains("elsewhere") && !a.contains(d.path("").to_str().unwrap()));
}

#[test]
fn a_month_of_1000_users_stays_under_2_mb() {
    let d = Dir::new();
    let log = d.path("log.parquet").display().to_string();
    sessionstat(&[
        "generate", "--out", &log, "--users", "1000", "--days", "30", "--quiet",
    ])
    .ok();
    let out = d.path("r").display().to_string();
    sessionstat(&["report", "-q", "-i", &log, "-o", &out]).ok();
    let size = std::fs::metadata(d.path("r/report.html")).unwrap().len();
    assert!(size < 2 * 1024 * 1024, "{size} bytes");
    let page = Html::parse_document(&d.read("r/report.html"));
    assert_eq!(page.select(&sel("#users tr")).count(), 1001);
    // 30 days and the multi-day sessions of service accounts after them
    assert!(page.select(&sel("#days tr")).count() > 30);
}

/// Chromium's binary, or None (then the test is skipped, but not in CI,
/// where `.ci/run` installs Debian's `chromium`).
fn chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::process::Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return Some(name.to_string());
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have Chromium (apt-get install chromium)"
    );
    eprintln!("SKIPPED: the rendering check needs Chromium");
    None
}

/// Runs the browser headless on `url` with `extra` flags; returns stdout
/// and the lines in which the page's own errors are reported (console
/// messages, failed loads), not the browser's about its sandbox or D-Bus.
fn browse(browser: &str, d: &Dir, url: &str, extra: &[String]) -> (String, Vec<String>) {
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        // no network: a page that fetched anything would fail
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", d.path("profile").display()));
    args.extend_from_slice(extra);
    args.push(url.to_string());
    let o = std::process::Command::new(browser)
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{browser} failed: {stderr}");
    let errors = stderr
        .lines()
        .filter(|l| {
            l.contains("CONSOLE") || l.contains("Failed to load resource") || l.contains("net::ERR")
        })
        .map(String::from)
        .collect();
    (String::from_utf8_lossy(&o.stdout).into_owned(), errors)
}

#[test]
fn chromium_renders_the_sample_page_without_errors() {
    let Some(browser) = chromium() else {
        return;
    };
    let d = Dir::new();
    let out = d.path("r");
    sessionstat(&["report", "-q", "-i", SAMPLE, "-o", out.to_str().unwrap()]).ok();
    let url = format!("file://{}", out.join("report.html").display());
    let shot = d.path("shot.png");
    let (_, errors) = browse(
        &browser,
        &d,
        &url,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,1800".into(),
        ],
    );
    assert!(errors.is_empty(), "the browser reports: {errors:?}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    let (dom, errors) = browse(&browser, &d, &url, &["--dump-dom".into()]);
    assert!(errors.is_empty(), "the browser reports: {errors:?}");
    assert!(dom.contains("Sessions report") && dom.contains("svc-backup10"));
    // The check sees a page's errors: one that logs one is caught.
    let bad = d.write(
        "bad.html",
        "<p>x</p><script>console.error('broken')</script>",
    );
    let (_, errors) = browse(
        &browser,
        &d,
        &format!("file://{bad}"),
        &["--dump-dom".into()],
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
}
