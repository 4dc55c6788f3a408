//! A backfill's dataset: every day, week or month from `--from` to `--to`
//! as one report folder each, `DIR/day=YYYY-MM-DD/` and so on (SPEC 7), from
//! one read of the inputs.
//!
//! Each period's folder holds exactly the files `report` writes for that
//! period's window (but `rejects.ndjson`: the rows skipped go once to
//! `DIR/_rejects.ndjson`). A folder is built aside (`DIR/.period-PID-…`)
//! and swapped in whole, then `DIR/_backfill.json` records it; a rerun
//! with the same inputs and options skips the periods recorded, without
//! reading anything when all are. The run holds `DIR`'s lock throughout.

use super::{summary, write_folder, Rejects};
use crate::config::{BackfillPlan, Config};
use crate::engine;
use crate::load::inputs::InputFile;
use crate::output::atomic::{remove_stale_temps, replace_atomic};
use crate::output::layout::{BUILDING_PREFIX, MANIFEST, REJECTS};
use crate::output::rejects::{self, write_rejects};
use crate::output::staging::{self, Staging};
use crate::progress::Progress;
use crate::request::Request;
use crate::stamp::Stamp;
use crate::time::format_rfc3339_utc;
use crate::time::periods::Period;
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

/// Periods written at once: more than the cores, since much of writing a
/// folder is waiting for each file to reach the disk before its rename.
const WRITERS: usize = 6;

/// What a backfill did, for its closing line.
pub struct Done {
    /// Periods recorded with the same fingerprint, not computed again.
    pub skipped: usize,
    pub computed: usize,
    pub sessions: usize,
    pub files: usize,
    pub stale_chunks: u64,
}

/// Writes the periods not yet recorded (all with `force`), after `prepare`.
pub fn run(job: &BackfillPlan, progress: &Progress) -> Result<Done> {
    let (cfg, all, out) = (&job.cfg, &job.periods, &job.out);
    // Held to the end: the dataset's lock (its staging folder stays empty).
    let hold = Staging::create(out)?;
    remove_leftovers(out)?;
    let fingerprint = fingerprint(cfg, job)?;
    let manifest_path = out.join(MANIFEST);
    let mut manifest = read_manifest(&manifest_path);
    let todo: Vec<&Period> = all
        .iter()
        .filter(|p| {
            job.force
                || !out.join(p.folder()).is_dir()
                || manifest["periods"][p.folder()]["fingerprint"] != fingerprint
        })
        .collect();
    let skipped = all.len() - todo.len();
    let (mut sessions, mut files, mut stale) = (0, 0, 0);
    if !todo.is_empty() {
        progress.stage("loading");
        let windows: Vec<_> = todo.iter().map(|p| (p.start, p.end)).collect();
        let (outcomes, rejected) = engine::run_periods(&cfg.job(), &windows, progress)?;
        let outcomes_ids = outcomes.first().and_then(|o| o.ids.clone());
        stale = outcomes.first().map_or(0, |o| o.stale_chunks);
        let rejects_path = match &cfg.rejects {
            Some(path) => {
                rejects::write_file(path, &rejected)?;
                path.clone()
            }
            None => {
                // The dataset's own file: replaced, never written through a link.
                let path = out.join(REJECTS);
                replace_atomic(&path, |w| write_rejects(w, &rejected))
                    .with_context(|| format!("cannot write the rejects file {}", path.display()))?;
                path
            }
        };
        rejects::tell(&rejected, &rejects_path);
        progress.steps("writing periods", todo.len() as u64);
        // Periods are written six at a time: each file is flushed to disk
        // before it is renamed, and those waits overlap. The manifest is
        // rewritten once each period is in place, one writer at a time.
        let manifest_lock = std::sync::Mutex::new(&mut manifest);
        let writers = rayon::ThreadPoolBuilder::new()
            .num_threads(WRITERS)
            .build()
            .context("cannot start the writing threads")?;
        let written: Vec<(usize, usize)> = writers.install(|| {
            todo.par_iter()
                .zip(outcomes)
                .map(|(period, outcome)| -> Result<(usize, usize)> {
                    let request = Request {
                        start: Some(period.start),
                        end: Some(period.end),
                        ..job.template
                    };
                    let count = outcome.stats.len();
                    let used = outcome.events_used();
                    let folder = period.folder();
                    let building = out.join(format!("{BUILDING_PREFIX}{}-{folder}", std::process::id()));
                    // Killed runs' building folders went at start: anything
                    // here now (a link) was planted, and is never written through.
                    if fs::symlink_metadata(&building).is_ok() {
                        anyhow::bail!(
                            "{} is in the way of the folder this run builds there; it was left as it is: remove it",
                            building.display()
                        );
                    }
                    let (files, pages) = write_folder(
                        &building,
                        &outcome,
                        &rejected,
                        Rejects::None,
                        &request,
                        cfg,
                        job.pretty,
                    )?;
                    drop(outcome);
                    put_in_place(&building, &out.join(&folder))?;
                    let mut manifest = manifest_lock.lock().expect("no writer panicked");
                    manifest["periods"][&folder] = json!({
                        "fingerprint": fingerprint,
                        "window": {
                            "start": format_rfc3339_utc(period.start),
                            "end": format_rfc3339_utc(period.end),
                        },
                        "counts": { "sessions": count, "eventsUsed": used, "pages": pages },
                    });
                    // Keys in sorted order, whatever order the periods finish in.
                    manifest.sort_all_objects();
                    replace_atomic(&manifest_path, |w| {
                        serde_json::to_writer_pretty(&mut *w, &**manifest)?;
                        w.write_all(b"\n")
                    })
                    .with_context(|| format!("cannot write {}", manifest_path.display()))?;
                    progress.step();
                    Ok((count, files))
                })
                .collect::<Result<_>>()
        })?;
        sessions = written.iter().map(|w| w.0).sum();
        files = written.iter().map(|w| w.1).sum();
        let ids = outcomes_ids.as_ref();
        if cfg.registry.is_some() && ids.is_some_and(|i| i.changed) {
            // The registry takes the new keys; the periods that match the
            // one read match the one written, whose old keys keep their ids.
            crate::registry::save(cfg.registry.as_deref(), ids)?;
            let now = self::fingerprint(cfg, job)?;
            for (_, p) in manifest["periods"]
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.iter_mut())
            {
                if p["fingerprint"] == fingerprint {
                    p["fingerprint"] = now.clone();
                }
            }
            manifest.sort_all_objects();
            replace_atomic(&manifest_path, |w| {
                serde_json::to_writer_pretty(&mut *w, &manifest)?;
                w.write_all(b"\n")
            })
            .with_context(|| format!("cannot write {}", manifest_path.display()))?;
        }
    }
    drop(hold);
    Ok(Done {
        skipped,
        computed: todo.len(),
        sessions,
        files,
        stale_chunks: stale,
    })
}

/// What results depend on besides the window: every input file (path,
/// size, modification time), the options, the tool's version.
fn fingerprint(cfg: &Config, job: &BackfillPlan) -> Result<Value> {
    let inputs: Vec<Value> = cfg
        .files
        .iter()
        .map(|f: &InputFile| -> Result<Value> {
            if f.display().contains("://") {
                // A URI another engine reads (SPEC 11): its size and time are
                // not seen here, so the record holds when it was read and
                // never matches: a rerun recomputes, never skips on a guess.
                return Ok(json!({ "path": f.display(), "size": null, "modifiedNs": null, "readAtUs": crate::time::now().to_string() }));
            }
            let m = Stamp::of(&f.path)
                .with_context(|| format!("cannot read {}", f.path.display()))?;
            Ok(json!({ "path": f.display(), "size": m.size, "modifiedNs": m.modified_ns.to_string() }))
        })
        .collect::<Result<_>>()?;
    let registry = match &cfg.registry {
        None => Value::Null,
        Some(r) => {
            let m = Stamp::of(&r.path).unwrap_or(Stamp {
                size: 0,
                modified_ns: 0,
            });
            json!({ "path": r.path.display().to_string(), "size": m.size, "modifiedNs": m.modified_ns.to_string() })
        }
    };
    let mut options = summary::settings_record(cfg);
    options.insert("every".into(), job.every.key().into());
    // The map as pairs, as fingerprints have always recorded it.
    options.insert("columnMap".into(), json!(cfg.load.map.describe()));
    options.insert("format".into(), format!("{:?}", cfg.load.format).into());
    options.insert("sessionCount".into(), job.template.session_count.into());
    options.insert("pretty".into(), job.pretty.into());
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "inputs": inputs,
        "idRegistry": registry,
        "options": Value::Object(options),
    }))
}

/// The manifest as recorded, or an empty one (none yet, unreadable, or
/// not a regular file: then every period is computed again).
fn read_manifest(path: &Path) -> Value {
    // Its own file only: a link planted there is replaced, never read.
    let regular = fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
    let read = regular
        .then(|| fs::read_to_string(path).ok())
        .flatten()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .filter(|v| v["periods"].is_object());
    read.unwrap_or_else(|| json!({ "tool": { "name": "sessionstat" }, "periods": {} }))
}

/// What killed runs left (the run holds the folder's lock, so no other
/// run is writing): the period folders they were building, never in place,
/// and the temporary files of the manifest and the rejects. Nothing else,
/// not even a file named like a building folder.
fn remove_leftovers(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let e = e?;
        let ours = e.file_name().to_string_lossy().starts_with(BUILDING_PREFIX)
            && e.file_type().is_ok_and(|t| t.is_dir());
        if ours {
            fs::remove_dir_all(e.path())
                .with_context(|| format!("cannot remove {}", e.path().display()))?;
        }
    }
    for name in [MANIFEST, REJECTS] {
        remove_stale_temps(&dir.join(name))
            .with_context(|| format!("cannot clean up after a killed run in {}", dir.display()))?;
    }
    Ok(())
}

/// Puts a built period folder in place of the old one in one step (an
/// exchange where the file system has it), then removes the old one.
fn put_in_place(built: &Path, target: &Path) -> Result<()> {
    if target.exists() {
        if staging::exchange(built, target).is_ok() {
            fs::remove_dir_all(built)
                .with_context(|| format!("cannot remove the old {}", target.display()))?;
            return Ok(());
        }
        let old = built.with_extension("old");
        fs::rename(target, &old)
            .with_context(|| format!("cannot move {} aside", target.display()))?;
        fs::rename(built, target)
            .with_context(|| format!("cannot move {} into place", target.display()))?;
        fs::remove_dir_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
        return Ok(());
    }
    fs::rename(built, target)
        .with_context(|| format!("cannot move {} into place", target.display()))
}
