//! `sessionstat backfill`: every day, week or month from `--from` to `--to`
//! as one report folder each, `DIR/day=YYYY-MM-DD/` and so on (SPEC 7), from
//! one read of the inputs.
//!
//! Each period's folder holds exactly the files `report` writes for that
//! period's window (but `rejects.ndjson`: the rows skipped go once to
//! `DIR/_rejects.ndjson`). A folder is built aside (`DIR/.period-PID-…`)
//! and swapped in whole, then `DIR/_backfill.json` records it; a rerun
//! with the same inputs and options skips the periods recorded, without
//! reading anything when all are. The run holds `DIR`'s lock throughout.

use super::report::{folder_files, write_folder, Rejects, OWN_FILES};
use crate::cli::BackfillArgs;
use crate::config::Config;
use crate::error::usage;
use crate::load::inputs::InputFile;
use crate::output::atomic::{remove_stale_temps, replace_atomic};
use crate::output::guard;
use crate::output::rejects::write_rejects;
use crate::output::staging::{self, Staging};
use crate::periods::{self, Period};
use crate::pipeline;
use crate::progress::Progress;
use crate::request::{RawRequest, Request, RequestError};
use crate::time::format_rfc3339_utc;
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use std::time::Instant;

/// The manifest's name in the dataset folder.
pub const MANIFEST: &str = "_backfill.json";
/// Where the skipped rows go, once for all periods.
pub const REJECTS: &str = "_rejects.ndjson";
const BUILDING_PREFIX: &str = ".period-";
/// Periods written at once: more than the cores, since much of writing a
/// folder is waiting for each file to reach the disk before its rename.
const WRITERS: usize = 6;

pub fn run(args: BackfillArgs) -> Result<()> {
    let began = Instant::now();
    let mut cfg = Config::from_args(&args.input, Some(&args.run), None)?;
    cfg.findings = args.findings.rules()?;
    let now = crate::time::now();
    let date = |field: &str, text: &str| {
        periods::parse_date(text, &cfg.zone, now).map_err(|rule| RequestError {
            field: field.into(),
            value: text.to_string(),
            rule,
        })
    };
    let (from, to) = (date("--from", &args.from)?, date("--to", &args.to)?);
    if from > to {
        return Err(RequestError {
            field: "--from".into(),
            value: args.from.clone(),
            rule: format!("must not be after --to = {}", args.to),
        }
        .into());
    }
    let template =
        RawRequest::from_flags(None, None, args.session_count.as_deref(), None).check(&cfg.zone)?;
    let n = periods::count(args.every, from, to);
    if n > args.max_periods {
        return Err(usage(format!(
            "--from {} --to {} is {n} periods of a {}, more than --max-periods {}: check the dates, or raise --max-periods to write them all",
            args.from,
            args.to,
            args.every.key(),
            args.max_periods
        )));
    }
    let all = periods::periods(args.every, from, to, &cfg.zone);
    for (field, text, p) in [
        ("--from", &args.from, all.first()),
        ("--to", &args.to, all.last()),
    ] {
        if let Some(rule) = p.and_then(|p| p.out_of_range(&cfg.zone)) {
            return Err(RequestError {
                field: field.into(),
                value: text.clone(),
                rule,
            }
            .into());
        }
    }
    cfg.resolve_inputs()?;
    let owns = |rel: &Path| backfill_owns(rel);
    let report_files = &OWN_FILES[..OWN_FILES.len() - 1];
    let mut files: Vec<std::path::PathBuf> = vec![MANIFEST.into()];
    if cfg.rejects.is_none() {
        files.push(REJECTS.into());
    }
    if let Some(first) = all.first() {
        files.extend(folder_files(report_files, Path::new(&first.folder())));
    }
    guard::check(&guard::Plan {
        specs: &cfg.load.inputs,
        inputs: &cfg.files,
        rejects: cfg.rejects.as_deref(),
        out: Some(guard::Out {
            dir: &args.out,
            owns: &owns,
            files,
            folders: all.iter().map(|p| p.folder().into()).collect(),
        }),
        ids: cfg.ids.as_deref(),
    })?;
    cfg.open_registry()?;
    staging::refuse_if_locked(&args.out)?;
    // Held to the end: the dataset's lock (its staging folder stays empty).
    let hold = Staging::create(&args.out)?;
    remove_leftovers(&args.out)?;
    let fingerprint = fingerprint(&cfg, &args, &template)?;
    let manifest_path = args.out.join(MANIFEST);
    let mut manifest = read_manifest(&manifest_path);
    let todo: Vec<&Period> = all
        .iter()
        .filter(|p| {
            args.force
                || !args.out.join(p.folder()).is_dir()
                || manifest["periods"][p.folder()]["fingerprint"] != fingerprint
        })
        .collect();
    let skipped = all.len() - todo.len();
    let (mut sessions, mut files, mut stale) = (0, 0, 0);
    if !todo.is_empty() {
        let progress = Progress::new(cfg.quiet);
        progress.stage("loading");
        let windows: Vec<_> = todo.iter().map(|p| (p.start, p.end)).collect();
        let (outcomes, rejected) = pipeline::run_periods(&cfg, &windows, &progress)?;
        let outcomes_ids = outcomes.first().and_then(|o| o.ids.clone());
        stale = outcomes.first().map_or(0, |o| o.stale_chunks);
        let rejects_path = match &cfg.rejects {
            Some(path) => {
                super::write_rejects_file(path, &rejected)?;
                path.clone()
            }
            None => {
                // The dataset's own file: replaced, never written through a link.
                let path = args.out.join(REJECTS);
                replace_atomic(&path, |w| write_rejects(w, &rejected))
                    .with_context(|| format!("cannot write the rejects file {}", path.display()))?;
                path
            }
        };
        super::tell_rejects(&rejected, &rejects_path);
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
                .map(|(period, mut outcome)| -> Result<(usize, usize)> {
                    let request = Request {
                        start: Some(period.start),
                        end: Some(period.end),
                        ..template
                    };
                    let count = outcome.stats.len();
                    let used = outcome.events_used();
                    let folder = period.folder();
                    let building = args
                        .out
                        .join(format!("{BUILDING_PREFIX}{}-{folder}", std::process::id()));
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
                        &mut outcome,
                        &rejected,
                        Rejects::None,
                        &request,
                        &cfg,
                        args.pretty,
                    )?;
                    drop(outcome);
                    put_in_place(&building, &args.out.join(&folder))?;
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
            super::save_registry(&cfg, ids)?;
            let now = self::fingerprint(&cfg, &args, &template)?;
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
        progress.finish();
    }
    drop(hold);
    if !cfg.quiet {
        eprintln!(
            "sessionstat: {skipped} periods up to date, {} computed; {sessions} sessions, {files} files in {} ({:.1?}){}",
            todo.len(),
            args.out.display(),
            began.elapsed(),
            super::stale_note(stale).map_or_else(String::new, |n| format!("; {n}"))
        );
    }
    Ok(())
}

/// What a backfill writes or replaces in its folder: its manifest and
/// rejects, and every `key=DATE/` period folder with all that is in it.
fn backfill_owns(rel: &Path) -> bool {
    let mut parts = rel.components();
    let Some(first) = parts.next() else {
        return false;
    };
    let first = first.as_os_str().to_string_lossy();
    let top = parts.as_path().as_os_str().is_empty();
    // A period folder is replaced whole: whatever lies in it goes.
    is_period_folder(&first) || (top && (first == MANIFEST || first == REJECTS))
}

/// `day=2024-03-31`, `week=…`, `month=…`.
fn is_period_folder(name: &str) -> bool {
    ["day=", "week=", "month="]
        .iter()
        .any(|k| name.strip_prefix(k).is_some_and(|d| d.len() == 10))
}

/// What results depend on besides the window: every input file (path,
/// size, modification time), the options, the tool's version.
fn fingerprint(cfg: &Config, args: &BackfillArgs, template: &Request) -> Result<Value> {
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
            let m = fs::metadata(&f.path)
                .with_context(|| format!("cannot read {}", f.path.display()))?;
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            Ok(json!({ "path": f.display(), "size": m.len(), "modifiedNs": modified.to_string() }))
        })
        .collect::<Result<_>>()?;
    let registry = match &cfg.registry {
        None => Value::Null,
        Some(r) => {
            let (size, modified) = crate::load::registry::stamp(&r.path).unwrap_or((0, 0));
            json!({ "path": r.path.display().to_string(), "size": size, "modifiedNs": modified.to_string() })
        }
    };
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "inputs": inputs,
        "idRegistry": registry,
        "options": {
            "idKeys": cfg.load.id_keys,
            "sessionizeGapUs": cfg.sessionize,
            "every": args.every.key(),
            "tz": cfg.zone.to_string(),
            "idleAfterUs": cfg.idle_after,
            "columnMap": cfg.load.map.describe(),
            "format": format!("{:?}", args.input.format),
            "maxBadRows": cfg.load.max_bad_rows,
            "memoryLimitBytes": cfg.memory_limit,
            "sessionCount": template.session_count,
            "pretty": args.pretty,
            "findings": crate::cmd::report::findings_settings(&cfg.findings),
        },
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
