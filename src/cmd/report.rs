//! `sessionstat report`: the nightly job. One window, every output: all pages
//! of the endpoint's answer, the sessions and daily rollups as Parquet and
//! CSV, and a summary.
//!
//! Outputs are built in a staging folder inside the output folder, each file
//! flushed to disk, and only then renamed into place (the `json` folder is
//! swapped whole). A run killed while it computes or writes leaves the
//! previous outputs as they were; the rename phase takes milliseconds.

use crate::cli::{InputArgs, WindowArgs};
use crate::config::Config;
use crate::events::SessionMeta;
use crate::kernel::{self, SessionStats};
use crate::output::json::Response;
use crate::output::rejects::write_rejects;
use crate::output::tables::{
    client_frame, sessions_frame, user_frame, write_csv, write_parquet, Frames,
};
use crate::pipeline::{self, Outcome};
use crate::progress::Progress;
use crate::request::{Request, RequestError};
use crate::rollup::{daily_clients, daily_users};
use crate::time::{format_rfc3339_utc, format_timespan, Micros};
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub window: WindowArgs,

    /// Output folder (created if missing).
    #[arg(short, long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,

    /// Indent the JSON pages.
    #[arg(long)]
    pub pretty: bool,
}

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

pub fn run(args: Args) -> Result<()> {
    let began = Instant::now();
    let cfg = Config::from_args(&args.input, Some(&sample_input()))?;
    let request = args.window.request(&cfg.zone, None)?;
    if request.page_index != 0 {
        return Err(RequestError {
            field: "pageIndex".into(),
            value: request.page_index.to_string(),
            rule: "report writes every page; pageIndex belongs to sessions".into(),
        }
        .into());
    }
    let progress = Progress::new(cfg.quiet);
    progress.stage("loading");
    let mut outcome = pipeline::run(&cfg, &request, true, None, &progress)?;
    crate::trace::stage("selected");
    let staging = Staging::create(&args.out)?;
    // Rejected rows go with the run's outputs unless --rejects says elsewhere.
    let rejects_path = match &cfg.rejects {
        Some(path) => {
            super::write_rejects_file(path, &outcome.rejected)?;
            path.clone()
        }
        None => {
            staging.write("rejects.ndjson", |w| write_rejects(w, &outcome.rejected))?;
            args.out.join("rejects.ndjson")
        }
    };
    super::tell_rejects(&outcome.rejected, &rejects_path);
    let parts = std::mem::take(&mut outcome.parts);
    let (metas, selection) = (&outcome.metas, &outcome.stats);
    progress.stage("writing");
    let pages = page_count(selection, &request);
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
    let (paged, tabled) = rayon::join(
        || {
            write_pages(
                &staging,
                metas,
                selection,
                pages,
                &request,
                &cfg,
                args.pretty,
            )
            .inspect(|_| crate::trace::stage("pages written"))
        },
        move || -> Result<()> {
            let users = daily_users(metas, selection, &parts);
            write_table("daily_user", users.len(), &|r| user_frame(&users[r]))?;
            drop(users);
            let clients = daily_clients(metas, selection, &parts);
            drop(parts);
            write_table("daily_client", clients.len(), &|r| {
                client_frame(&clients[r])
            })?;
            drop(clients);
            write_table("sessions", selection.len(), &|r| {
                sessions_frame(metas, &selection[r])
            })
        },
    );
    paged?;
    tabled?;
    crate::trace::stage("files written");
    let summary = summary(&outcome, &request, &cfg, pages);
    staging.write("summary.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &summary)?;
        w.write_all(b"\n")
    })?;
    crate::trace::stage("summary");
    let written = staging.commit()?;
    crate::trace::stage("committed");
    progress.finish();
    if !cfg.quiet {
        eprintln!(
            "sessionstat: {} events read ({} rejected, {} used), {} sessions, {pages} page{}, {written} files in {} ({:.1?})",
            outcome.rows_read,
            outcome.rejected.len(),
            outcome.events_used(),
            selection.len(),
            if pages == 1 { "" } else { "s" },
            args.out.display(),
            began.elapsed()
        );
    }
    Ok(())
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
    fs::create_dir_all(staging.dir.join("json"))?;
    (0..pages).into_par_iter().try_for_each(|p| {
        let page = kernel::page(selection, request.session_count, p as u32);
        staging.write(&format!("json/page-{p:05}.json"), |w| {
            Response::new(metas, page, selection.len(), &cfg.zone).write(w, pretty)
        })
    })
}

fn summary(outcome: &Outcome, request: &Request, cfg: &Config, pages: usize) -> serde_json::Value {
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
            "tz": cfg.zone.to_string(),
            "idleAfterUs": cfg.idle_after,
            "columnMap": cfg.load.map.describe().into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect::<serde_json::Map<_, _>>(),
            "maxBadRows": cfg.load.max_bad_rows,
            "memoryLimitBytes": cfg.memory_limit,
            "partitions": outcome.partitions,
        },
        "counts": {
            "eventsRead": outcome.rows_read,
            "eventsRejected": outcome.rejected.len(),
            "blankRowsSkipped": outcome.blank_rows,
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

/// A hidden folder inside the output folder where a run's files are built.
struct Staging {
    out: PathBuf,
    dir: PathBuf,
}

const STAGING_PREFIX: &str = ".staging-";
const OLD_JSON_PREFIX: &str = ".json-old-";

impl Staging {
    fn create(out: &Path) -> Result<Staging> {
        fs::create_dir_all(out)
            .with_context(|| format!("cannot create the output folder {}", out.display()))?;
        recover(out)?;
        let dir = out.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("cannot write in {}", out.display()))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
        })
    }

    /// Writes one staged file and flushes it to disk.
    fn write(&self, name: &str, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        let path = self.dir.join(name);
        let file =
            fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        f(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    }

    /// Renames every staged file into place, `json` as a whole folder; returns
    /// the number of files.
    fn commit(self) -> Result<usize> {
        let mut count = 0;
        let mut names: Vec<_> = fs::read_dir(&self.dir)?.collect::<io::Result<Vec<_>>>()?;
        names.sort_by_key(|e| e.file_name());
        for e in names.iter().filter(|e| e.path().is_file()) {
            fs::rename(e.path(), self.out.join(e.file_name()))?;
            count += 1;
        }
        let json = self.out.join("json");
        let staged_json = self.dir.join("json");
        count += fs::read_dir(&staged_json)?.count();
        let old = self
            .out
            .join(format!("{OLD_JSON_PREFIX}{}", std::process::id()));
        if json.exists() {
            fs::rename(&json, &old)?;
        }
        fs::rename(&staged_json, &json)?;
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        fs::remove_dir_all(&self.dir)?;
        sync_dir(&self.out);
        Ok(count)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // On an error the staged files go; the previous outputs stay.
        if self.dir.exists() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Cleans up after a run that was killed: puts back a `json` folder that was
/// moved aside but not replaced, and removes stale staging folders.
fn recover(out: &Path) -> Result<()> {
    let json = out.join("json");
    for e in fs::read_dir(out)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(OLD_JSON_PREFIX) {
            if json.exists() {
                fs::remove_dir_all(e.path())?;
            } else {
                fs::rename(e.path(), &json)?;
            }
        } else if name.starts_with(STAGING_PREFIX) {
            fs::remove_dir_all(e.path())?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
