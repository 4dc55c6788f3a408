//! `sessionstat report`: the nightly job. One window, every output: all pages
//! of the endpoint's answer, the sessions and daily rollups as Parquet and
//! CSV, and a summary.
//!
//! Outputs go through `output::staging`: built aside, renamed into place,
//! one run at a time, and nothing but the report's own files touched.

use crate::cli::ReportArgs;
use crate::config::Config;
use crate::kernel::{self, SessionStats};
use crate::model::SessionMeta;
use crate::output::guard;
use crate::output::html;
use crate::output::json::{write_productivity, Response};
use crate::output::rejects::write_rejects;
use crate::output::staging::{self, Staging};
use crate::output::tables::{
    client_frame, findings_frame, hourly_frame, ids_frame, sessions_frame, user_frame, write_csv,
    write_parquet, Frames,
};
use crate::periods::{self, Every, Period};
use crate::pipeline::{self, Outcome};
use crate::progress::Progress;
use crate::request::{Request, RequestError};
use crate::rollup::findings::{findings, Finding, Rules, KINDS};
use crate::rollup::hours::{hourly_users, productivity};
use crate::rollup::{daily_clients, daily_users, day_totals, user_totals, DayTotal};
use crate::time::{format_rfc3339_utc, format_timespan, Micros, Zone};
use anyhow::Result;
use rayon::prelude::*;
use std::io;
use std::path::Path;
use std::time::Instant;

/// The sample log shipped in `data/`: from the working folder, else from the
/// source tree this binary was built from.
fn sample_input() -> String {
    let local = Path::new("data/sample.csv");
    if local.exists() {
        local.display().to_string()
    } else {
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.csv").to_string()
    }
}

pub fn run(args: ReportArgs) -> Result<()> {
    let began = Instant::now();
    let mut cfg = Config::from_args(&args.input, Some(&args.run), Some(&sample_input()))?;
    cfg.findings = args.findings.rules()?;
    let mut request = args.window.request(&cfg.zone, None)?;
    if let Some(day) = &args.day {
        let (start, end) = day_window(day, &request, &cfg.zone)?;
        (request.start, request.end) = (Some(start), Some(end));
    }
    if request.page_index != 0 {
        return Err(RequestError {
            field: "pageIndex".into(),
            value: request.page_index.to_string(),
            rule: "report writes every page; pageIndex belongs to sessions".into(),
        }
        .into());
    }
    cfg.resolve_inputs()?;
    let own: &[&str] = if cfg.rejects.is_some() {
        &OWN_FILES[..OWN_FILES.len() - 1]
    } else {
        &OWN_FILES
    };
    guard::check(&guard::Plan {
        specs: &cfg.load.inputs,
        inputs: &cfg.files,
        rejects: cfg.rejects.as_deref(),
        out: Some(guard::Out {
            dir: &args.out,
            owns: &|rel: &Path| staging::owns(own, rel),
            files: folder_files(own, Path::new("")),
            folders: vec!["json".into()],
        }),
        ids: cfg.ids.as_deref(),
    })?;
    cfg.open_registry()?;
    staging::refuse_if_locked(&args.out)?;
    let progress = Progress::new(cfg.quiet);
    progress.stage("loading");
    let mut outcome = pipeline::run(&cfg, &request, pipeline::Parts::All, None, &progress)?;
    crate::trace::stage("selected");
    let rejects = match &cfg.rejects {
        Some(path) => {
            super::write_rejects_file(path, &outcome.rejected)?;
            Rejects::Elsewhere(path.clone())
        }
        None => Rejects::InFolder,
    };
    let rejected = std::mem::take(&mut outcome.rejected);
    progress.stage("writing");
    let (written, pages) = write_folder(
        &args.out,
        &mut outcome,
        &rejected,
        rejects,
        &request,
        &cfg,
        args.pretty,
    )?;
    super::save_registry(&cfg, outcome.ids.as_ref())?;
    let selection = &outcome.stats;
    progress.finish();
    if !cfg.quiet {
        eprintln!(
            "sessionstat: {} events read ({} rejected, {} used), {} sessions, {pages} page{}, {written} files in {} ({:.1?}){}",
            outcome.rows_read,
            rejected.len(),
            outcome.events_used(),
            selection.len(),
            if pages == 1 { "" } else { "s" },
            args.out.display(),
            began.elapsed(),
            super::stale_note(outcome.stale_chunks).map_or_else(String::new, |n| format!("; {n}"))
        );
    }
    Ok(())
}

/// Where a report's rejected rows go.
pub enum Rejects {
    /// `rejects.ndjson` in the report's folder.
    InFolder,
    /// A file of its own (`--rejects`), written already, named on stderr.
    Elsewhere(std::path::PathBuf),
    /// Written by the caller, once for many folders (a backfill's), and
    /// not named here.
    None,
}

/// Writes a report's files into `out` through a staging folder (SPEC 6.2):
/// every page, the tables, the summary and (`Rejects::InFolder`) the
/// rejected rows; returns how many files and pages it wrote. Takes the
/// day parts.
pub fn write_folder(
    out: &Path,
    outcome: &mut Outcome,
    rejected: &[crate::load::BadRow],
    rejects: Rejects,
    request: &Request,
    cfg: &Config,
    pretty: bool,
) -> Result<(usize, usize)> {
    let staging = Staging::create(out)?;
    match rejects {
        Rejects::InFolder => {
            staging.write("rejects.ndjson", |w| write_rejects(w, rejected))?;
            super::tell_rejects(rejected, &out.join("rejects.ndjson"));
        }
        Rejects::Elsewhere(path) => super::tell_rejects(rejected, &path),
        Rejects::None => {}
    }
    if let (Some(ids), None) = (&outcome.ids, &cfg.registry) {
        // Without a registry, the folder says which key each id is.
        let rows = crate::ids::rows(&ids.tables);
        staging.write("ids.csv", |w| {
            write_csv(rows.len(), &|r| ids_frame(&rows[r]), w)
        })?;
    }
    let keys = cfg.load.id_keys;
    let parts = std::mem::take(&mut outcome.parts);
    let (metas, selection) = (&outcome.metas, &outcome.stats);
    let pages = page_count(selection, request);
    // The pages on one side, the tables on the other. A table is added up
    // and turned into a frame just before its Parquet and CSV files are
    // written side by side, and dropped after, so that memory holds one
    // table at a time; the day parts go once both daily tables are made.
    let write_table = |name: &str, rows: usize, frames: &Frames| -> Result<()> {
        let (parquet, csv) = rayon::join(
            || {
                staging.write(&format!("{name}.parquet"), |w| {
                    write_parquet(rows, frames, w).map_err(io::Error::other)
                })
            },
            || staging.write(&format!("{name}.csv"), |w| write_csv(rows, frames, w)),
        );
        parquet?;
        csv?;
        crate::trace::stage(&format!("{name} written"));
        Ok(())
    };
    let staged = &staging;
    let (paged, tabled) = rayon::join(
        || {
            write_pages(&staging, metas, selection, pages, request, cfg, pretty)
                .inspect(|_| crate::trace::stage("pages written"))
        },
        move || -> Result<(Vec<Finding<'_>>, Vec<DayTotal>)> {
            let outside: Vec<&[_]> = parts.iter().map(|p| p.outside.as_slice()).collect();
            let found = findings(metas, selection, &outside, &cfg.findings);
            drop(outside);
            write_table("findings", found.len(), &|r| {
                findings_frame(&found[r], keys)
            })?;
            let users = daily_users(metas, selection, &parts);
            write_table("daily_user", users.len(), &|r| user_frame(&users[r], keys))?;
            let days = day_totals(&users);
            drop(users);
            let hours = hourly_users(metas, selection, &parts);
            write_table("hourly_user", hours.len(), &|r| {
                hourly_frame(&hours[r], keys)
            })?;
            staged.write("productivity.json", |w| {
                write_productivity(w, &productivity(&hours), &cfg.zone, pretty)
            })?;
            drop(hours);
            let clients = daily_clients(metas, selection, &parts);
            drop(parts);
            write_table("daily_client", clients.len(), &|r| {
                client_frame(&clients[r])
            })?;
            drop(clients);
            write_table("sessions", selection.len(), &|r| {
                sessions_frame(metas, &selection[r], keys)
            })?;
            Ok((found, days))
        },
    );
    paged?;
    let (found, days) = tabled?;
    crate::trace::stage("files written");
    let users = user_totals(metas, selection);
    let page = html::Page {
        start: request.start,
        end: request.end,
        zone: cfg.zone.to_string(),
        settings: page_settings(request, cfg),
        counts: vec![
            ("Events read", outcome.rows_read as u64),
            ("Events rejected", rejected.len() as u64),
            ("Events used", outcome.events_used() as u64),
            ("Sessions", selection.len() as u64),
        ],
        days: &days,
        users: &users,
        findings: &found,
    };
    staging.write("report.html", |w| html::write_html(w, &page))?;
    crate::trace::stage("report.html written");
    let mut summary = summary(outcome, rejected.len(), request, cfg, pages);
    summary["counts"]["findings"] = KINDS
        .iter()
        .map(|&k| {
            let n = found.iter().filter(|f| f.kind == k).count();
            (k.to_string(), serde_json::Value::from(n))
        })
        .collect::<serde_json::Map<_, _>>()
        .into();
    // Keys in sorted order (serde_json may keep them in insertion order).
    summary.sort_all_objects();
    staging.write("summary.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &summary)?;
        w.write_all(b"\n")
    })?;
    crate::trace::stage("summary");
    let written = staging.commit()?;
    crate::trace::stage("committed");
    Ok((written, pages))
}

/// The window of `--day` (SPEC 7.2): that local day's, as a backfill's
/// day period has it. The window then comes from `--day` alone.
fn day_window(day: &str, request: &Request, zone: &Zone) -> Result<(Micros, Micros)> {
    let refuse = |rule: String| RequestError {
        field: "--day".into(),
        value: day.to_string(),
        rule,
    };
    if request.start.is_some() || request.end.is_some() {
        return Err(refuse(
            "sets the window; the request body must not also have start or end".into(),
        )
        .into());
    }
    let date = periods::parse_date(day, zone, crate::time::now()).map_err(refuse)?;
    let p = Period::containing(Every::Day, date, zone);
    if let Some(rule) = p.out_of_range(zone) {
        return Err(refuse(rule).into());
    }
    Ok((p.start, p.end))
}

/// The files a report writes in its folder besides the pages; the last,
/// `rejects.ndjson`, only without `--rejects`.
pub(crate) const OWN_FILES: [&str; 15] = [
    "report.html",
    "sessions.parquet",
    "sessions.csv",
    "findings.parquet",
    "findings.csv",
    "daily_user.parquet",
    "daily_user.csv",
    "hourly_user.parquet",
    "hourly_user.csv",
    "productivity.json",
    "daily_client.parquet",
    "daily_client.csv",
    "ids.csv",
    "summary.json",
    "rejects.ndjson",
];

/// The files a report writes in `folder` (relative to its output folder):
/// `own`, and the first page of `json/`, which stands for them all.
pub(crate) fn folder_files(own: &[&str], folder: &Path) -> Vec<std::path::PathBuf> {
    own.iter()
        .map(|name| folder.join(name))
        .chain([folder.join("json/page-00000.json")])
        .collect()
}

/// Pages to write: every page of the selection; an empty selection (or a
/// page size of 0) still has page 0 with the true count.
fn page_count(selection: &[SessionStats], request: &Request) -> usize {
    let size = request.session_count as usize;
    if size == 0 {
        1
    } else {
        selection.len().div_ceil(size).max(1)
    }
}

fn write_pages(
    staging: &Staging,
    metas: &[SessionMeta],
    selection: &[SessionStats],
    pages: usize,
    request: &Request,
    cfg: &Config,
    pretty: bool,
) -> Result<()> {
    (0..pages).into_par_iter().try_for_each(|p| {
        let page = kernel::page(selection, request.session_count, p as u32);
        staging.write(&format!("json/page-{p:05}.json"), |w| {
            Response::new(metas, page, selection.len(), &cfg.zone).write(w, pretty)
        })
    })
}

fn summary(
    outcome: &Outcome,
    rejected: usize,
    request: &Request,
    cfg: &Config,
    pages: usize,
) -> serde_json::Value {
    let selection = &outcome.stats;
    let files: Vec<String> = outcome.files.iter().map(|f| f.display()).collect();
    let total = |f: fn(&SessionStats) -> Micros| selection.iter().map(f).sum::<Micros>();
    let (duration, idle, productive) = (
        total(|s| s.duration()),
        total(|s| s.idle()),
        total(|s| s.productive),
    );
    serde_json::json!({
        "tool": { "name": "sessionstat", "version": env!("CARGO_PKG_VERSION") },
        "inputs": files,
        "request": {
            "start": request.start.map(format_rfc3339_utc),
            "end": request.end.map(format_rfc3339_utc),
            "sessionCount": request.session_count,
        },
        "settings": {
            "engine": cfg.engine.shown(),
            "tz": cfg.zone.to_string(),
            "idleAfterUs": cfg.idle_after,
            "columnMap": cfg.load.map.describe().into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect::<serde_json::Map<_, _>>(),
            "maxBadRows": cfg.load.max_bad_rows,
            "memoryLimitBytes": cfg.memory_limit,
            "idKeys": cfg.load.id_keys,
            "idRegistry": cfg.ids.as_ref().map(|p| p.display().to_string()),
            "sessionizeGapUs": cfg.sessionize,
            "partitions": outcome.partitions,
            "findings": findings_settings(&cfg.findings),
        },
        "counts": {
            "eventsRead": outcome.rows_read,
            "eventsRejected": rejected,
            "blankRowsSkipped": outcome.blank_rows,
            "staleChecksumChunks": outcome.stale_chunks,
            "eventsUsed": outcome.events_used(),
            "sessions": selection.len(),
            "pages": pages,
        },
        "totals": {
            "durationUs": duration,
            "idleUs": idle,
            "productiveUs": productive,
            "duration": format_timespan(duration),
            "idleTime": format_timespan(idle),
            "productivityTime": format_timespan(productive),
        },
    })
}

/// The findings' settings as `summary.json` and a backfill's manifest
/// record them.
pub(crate) fn findings_settings(rules: &Rules) -> serde_json::Value {
    let clock = |us: Micros| {
        let minutes = us / crate::time::US_PER_MIN;
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    };
    let days: Vec<&str> = crate::rollup::findings::WEEKDAYS
        .iter()
        .zip(rules.work.days)
        .filter(|(_, on)| *on)
        .map(|(d, _)| *d)
        .collect();
    serde_json::json!({
        "longSessionUs": rules.long,
        "workHours": format!("{}-{}", clock(rules.work.start), clock(rules.work.end)),
        "workDays": days.join(","),
        "idleSharePpm": rules.idle_share_ppm,
    })
}

/// The settings the page shows, as a reader would give them.
fn page_settings(request: &Request, cfg: &Config) -> Vec<(&'static str, String)> {
    let rules = &cfg.findings;
    let recorded = findings_settings(rules);
    let text = |key: &str| recorded[key].as_str().unwrap_or_default().to_string();
    vec![
        ("Zone (--tz)", cfg.zone.to_string()),
        (
            "Idle after (--idle-after)",
            cfg.idle_after.map_or("off".into(), html::hms),
        ),
        (
            "Page size (--session-count)",
            request.session_count.to_string(),
        ),
        ("Long session (--long-session)", html::hms(rules.long)),
        ("Work hours (--work-hours)", text("workHours")),
        ("Work days (--work-days)", text("workDays")),
        (
            "Idle share (--idle-share)",
            format!("{}%", rules.idle_share_ppm as f64 / 10_000.0),
        ),
    ]
}
