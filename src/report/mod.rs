//! The report folder (SPEC 6.2): one window, every output. All pages of the
//! endpoint's answer, the sessions and the rollups as Parquet and CSV, the
//! compliance page, productivity, the summary, and the rejected rows.
//!
//! What the folder owns is named in `output::layout`, which the config's
//! guard checks before any data is read. Files are written through
//! `output::staging`: built aside, renamed into place, one run at a
//! time, and nothing but the report's own files touched. A backfill's
//! dataset of such folders is backfill.rs; the summary and its settings
//! record are summary.rs. A run comes here checked (`config::report`).

pub mod backfill;
pub mod summary;

use crate::config::{Config, ReportPlan};
use crate::engine::{self, Outcome, Parts};
use crate::ids::IdKeys;
use crate::kernel::{self, SessionStats};
use crate::load::BadRow;
use crate::model::SessionMeta;
use crate::output::html;
use crate::output::json::{write_hour_stats, write_productivity, Response};
use crate::output::rejects::{self, write_rejects};
use crate::output::staging::Staging;
use crate::output::tables::{
    built, client_frame, findings_frame, focus_frame, hourly_frame, sessions_frame, shared,
    user_frame, write_csv, write_parquet, Frames,
};
use crate::progress::Progress;
use crate::request::Request;
use crate::rollup::findings::{findings, Finding, KINDS};
use crate::rollup::focus::{daily_focus, hour_stats, Keys, Tops, Which};
use crate::rollup::hours::{hourly_users, productivity};
use crate::rollup::SessionParts;
use crate::rollup::{daily_clients, daily_users, day_totals, user_totals, DayTotal};
use anyhow::Result;
use rayon::prelude::*;
use std::io;
use std::path::{Path, PathBuf};

/// What a report run did, for its closing line.
pub struct Done {
    pub rows_read: u64,
    pub rejected: usize,
    pub used: u64,
    pub sessions: usize,
    pub pages: usize,
    pub files: usize,
    pub stale_chunks: u64,
}

/// The report of a checked plan: the run, the rejects (in the folder, or
/// in `--rejects`), the folder, the registry.
pub fn write(plan: &ReportPlan, progress: &Progress) -> Result<Done> {
    let ReportPlan {
        cfg,
        request,
        out,
        pretty,
    } = plan;
    let pretty = *pretty;
    progress.stage("loading");
    let mut outcome = engine::run(&cfg.job(), request, Parts::All, None, progress)?;
    crate::trace::stage("selected");
    let rejects = match &cfg.rejects {
        Some(path) => {
            rejects::write_file(path, &outcome.rejected)?;
            Rejects::Elsewhere(path.clone())
        }
        None => Rejects::InFolder,
    };
    let rejected = std::mem::take(&mut outcome.rejected);
    progress.stage("writing");
    let (files, pages) = write_folder(out, &outcome, &rejected, rejects, request, cfg, pretty)?;
    crate::registry::save(cfg.registry.as_deref(), outcome.ids.as_ref())?;
    let done = Done {
        rows_read: outcome.rows_read,
        rejected: rejected.len(),
        used: outcome.events_used(),
        sessions: outcome.stats.len(),
        pages,
        files,
        stale_chunks: outcome.stale_chunks,
    };
    // The run ends here: its sessions and parts (hundreds of thousands of
    // allocations) go back to the system with the process, not one by one
    // first (18 ms of a 10M-event report, measured by exiting here).
    std::mem::forget(outcome);
    Ok(done)
}

/// Where a report's rejected rows go.
pub enum Rejects {
    /// `rejects.ndjson` in the report's folder.
    InFolder,
    /// A file of its own (`--rejects`), written already, named on stderr.
    Elsewhere(PathBuf),
    /// Written by the caller, once for many folders (a backfill's), and
    /// not named here.
    None,
}

/// Writes a report's files into `out` through a staging folder (SPEC 6.2):
/// every page, the tables, the summary and (`Rejects::InFolder`) the
/// rejected rows; returns how many files and pages it wrote.
pub fn write_folder(
    out: &Path,
    outcome: &Outcome,
    rejected: &[BadRow],
    rejects: Rejects,
    request: &Request,
    cfg: &Config,
    pretty: bool,
) -> Result<(usize, usize)> {
    let staging = Staging::create(out)?;
    match rejects {
        Rejects::InFolder => {
            staging.write("rejects.ndjson", |w| write_rejects(w, rejected))?;
            rejects::tell(rejected, &out.join("rejects.ndjson"));
        }
        Rejects::Elsewhere(path) => rejects::tell(rejected, &path),
        Rejects::None => {}
    }
    if let (Some(ids), None) = (&outcome.ids, &cfg.registry) {
        // Without a registry, the folder says which key each id is.
        let rows = crate::ids::rows(&ids.tables);
        staging.write("ids.csv", |w| {
            write_csv(rows.len(), &|r| crate::ids::frame(&rows[r]), w)
        })?;
    }
    let keys = cfg.load.id_keys;
    let parts = &outcome.parts;
    let focus = [outcome.keys(Which::App), outcome.keys(Which::Site)];
    let focus = &focus;
    let (metas, selection) = (&outcome.metas, &outcome.stats);
    let pages = page_count(selection, request);
    // A table is added up and turned into frames just before its Parquet
    // and CSV files are written side by side, and dropped after.
    let write_table = |name: &str, rows: usize, frames: &Frames| -> Result<()> {
        // Each chunk's frame is built once for both files.
        let built = built(rows, frames)?;
        let frames = &shared(&built);
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
    // Each file is its own task, so that both cores stay busy: the pages,
    // the findings, the daily and hourly tables, the apps and sites, the
    // sessions. Every task reads the same parts; none changes them. The
    // compliance page and the summary need the findings, the daily totals
    // and the top applications and sites: they are written as soon as
    // those are, beside the hourly chain (the longest).
    let mut paged = Ok(());
    let (mut closing, mut done) = (Ok(()), Vec::new());
    rayon::scope(|scope| {
        let (paged, closing) = (&mut paged, &mut closing);
        let (write_table, staging) = (&write_table, &staging);
        scope.spawn(move |_| {
            *paged = write_pages(staging, metas, selection, pages, request, cfg, pretty)
                .inspect(|_| crate::trace::stage("pages written"));
        });
        scope.spawn(move |_| {
            let found = || -> Result<Vec<Finding<'_>>> {
                let outside: Vec<&[_]> = parts.iter().map(|p| p.outside.as_slice()).collect();
                let found = findings(metas, selection, &outside, &cfg.findings);
                write_table("findings", found.len(), &|r| {
                    findings_frame(&found[r], keys)
                })?;
                Ok(found)
            };
            let days = || -> Result<Vec<DayTotal>> {
                let users = daily_users(metas, selection, parts);
                write_table("daily_user", users.len(), &|r| user_frame(&users[r], keys))?;
                Ok(day_totals(&users))
            };
            let tops = || {
                focus_files(
                    staging,
                    write_table,
                    focus,
                    selection,
                    metas,
                    parts,
                    pretty,
                    keys,
                )
            };
            let ((found, days), tops) = rayon::join(|| rayon::join(found, days), tops);
            *closing = (|| {
                let (found, days, tops) = (found?, days?, tops?);
                write_closing(
                    staging,
                    outcome,
                    rejected.len(),
                    request,
                    cfg,
                    pages,
                    &found,
                    &days,
                    &tops,
                )
            })();
        });
        let done = &mut done;
        scope.spawn(move |_| {
            let hourly = || -> Result<()> {
                let hours = hourly_users(metas, selection, parts);
                let (table, json) = rayon::join(
                    || {
                        write_table("hourly_user", hours.len(), &|r| {
                            hourly_frame(&hours[r], keys)
                        })
                    },
                    || {
                        staging.write("productivity.json", |w| {
                            write_productivity(
                                w,
                                &hours,
                                Some(&productivity(&hours)),
                                &cfg.zone,
                                pretty,
                            )
                        })
                    },
                );
                table?;
                json
            };
            let clients = || -> Result<()> {
                let clients = daily_clients(metas, selection, parts);
                write_table("daily_client", clients.len(), &|r| {
                    client_frame(&clients[r])
                })
            };
            let sessions = || {
                write_table("sessions", selection.len(), &|r| {
                    sessions_frame(metas, &selection[r], keys)
                })
            };
            let ((a, b), c) = rayon::join(|| rayon::join(hourly, clients), sessions);
            *done = vec![a, b, c];
        });
    });
    paged?;
    for r in done {
        r?;
    }
    closing?;
    crate::trace::stage("files written");
    let written = staging.commit()?;
    crate::trace::stage("committed");
    Ok((written, pages))
}

/// Writes `report.html` and `summary.json`, which state the run's counts,
/// findings, daily totals and top applications and sites.
#[allow(clippy::too_many_arguments)]
fn write_closing(
    staging: &Staging,
    outcome: &Outcome,
    rejected: usize,
    request: &Request,
    cfg: &Config,
    pages: usize,
    found: &[Finding<'_>],
    days: &[DayTotal],
    tops: &[Tops; 2],
) -> Result<()> {
    let (metas, selection) = (&outcome.metas, &outcome.stats);
    let users = user_totals(metas, selection);
    let page = html::Page {
        start: request.start,
        end: request.end,
        zone: cfg.zone.to_string(),
        local: cfg.zone,
        settings: summary::page_settings(request, cfg),
        counts: vec![
            ("Events read", outcome.rows_read),
            ("Events rejected", rejected as u64),
            ("Events used", outcome.events_used()),
            ("Sessions", selection.len() as u64),
        ],
        days,
        users: &users,
        findings: found,
        apps: &tops[0],
        sites: &tops[1],
    };
    staging.write("report.html", |w| html::write_html(w, &page))?;
    crate::trace::stage("report.html written");
    let mut summary = summary::summary(outcome, rejected, request, cfg, pages);
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
    Ok(())
}

/// Writes Application and URL Statistics for the window (`apps.json`,
/// `urls.json`) and `daily_app`/`daily_site` (SPEC 13.5); returns what the
/// page shows of each: the keys with the most time.
#[allow(clippy::too_many_arguments)]
fn focus_files(
    staging: &Staging,
    write_table: &(dyn Fn(&str, usize, &Frames) -> Result<()> + Sync),
    focus: &[Keys; 2],
    selection: &[SessionStats],
    metas: &[SessionMeta],
    parts: &[SessionParts],
    pretty: bool,
    keys: IdKeys,
) -> Result<[Tops; 2]> {
    // The two files of each table at once; a log without the columns
    // (no text in either dictionary) has the same null rows in both.
    let none = focus.iter().all(|k| k.texts.is_empty());
    let one = |(keyed, json, table, column): (&Keys, &str, &str, &str)| -> Result<Tops> {
        let stats = hour_stats(parts, keyed);
        staging.write(json, |w| {
            write_hour_stats(w, &stats, metas, selection, keyed, pretty)
        })?;
        drop(stats);
        let rows = daily_focus(metas, selection, parts, keyed);
        if none {
            let frames = |r: std::ops::Range<usize>| {
                let mut df = focus_frame(&rows[r], column, keys)?;
                df.rename(column, "site".into())?;
                Ok(df)
            };
            let (a, b) = rayon::join(
                || write_table(table, rows.len(), &|r| focus_frame(&rows[r], column, keys)),
                || -> Result<()> {
                    staging.write("urls.json", |w| w.write_all(b"[]"))?;
                    write_table("daily_site", rows.len(), &frames)
                },
            );
            a?;
            b?;
        } else {
            write_table(table, rows.len(), &|r| focus_frame(&rows[r], column, keys))?;
        }
        Ok(Tops::of(&rows))
    };
    let app = (&focus[0], "apps.json", "daily_app", "app");
    let site = (&focus[1], "urls.json", "daily_site", "site");
    let tops = if none {
        let tops = one(app)?;
        [tops.clone(), tops]
    } else {
        let (a, b) = rayon::join(|| one(app), || one(site));
        [a?, b?]
    };
    Ok(tops)
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
