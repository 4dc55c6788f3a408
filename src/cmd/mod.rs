//! One module per subcommand, each a `run` over its flags (`crate::cli`).

pub mod backfill;
pub mod generate;
pub mod productivity;
pub mod report;
pub mod serve;
pub mod sessions;

use crate::config::Config;
use crate::error::usage;
use crate::ids::IdKind;
use crate::load::BadRow;
use crate::output::{atomic::write_atomic, rejects::write_rejects};
use crate::pipeline::{FinalIds, Outcome};
use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Before a run whose answer goes to stdout (`sessions`, `productivity`):
/// rejects need a file that is not stdout, inputs are found and checked
/// against the files the run writes, and the id registry is opened.
pub(crate) fn prepare_stdout_run(cfg: &mut Config) -> Result<()> {
    require_rejects_file(cfg)?;
    cfg.resolve_inputs()?;
    if cfg.rejects.as_deref() == Some(Path::new("-")) {
        return Err(usage(
            "--rejects -: stdout carries the answer; give the rejects a file (or /dev/stderr)",
        ));
    }
    check_and_open(cfg)
}

/// For a run that writes no folder: the inputs found are checked against
/// the files it writes (rejects, registry), and the id registry is opened.
pub(crate) fn check_and_open(cfg: &mut Config) -> Result<()> {
    crate::output::guard::check(&crate::output::guard::Plan {
        specs: &cfg.load.inputs,
        inputs: &cfg.files,
        rejects: cfg.rejects.as_deref(),
        out: None,
        ids: cfg.ids.as_deref(),
    })?;
    cfg.open_registry()
}

/// `--max-bad-rows` needs `--rejects` where no folder holds the rejects.
pub(crate) fn require_rejects_file(cfg: &Config) -> Result<()> {
    if cfg.load.max_bad_rows > 0 && cfg.rejects.is_none() {
        return Err(usage(
            "--max-bad-rows needs --rejects PATH: skipped rows are never dropped without a trace",
        ));
    }
    Ok(())
}

/// After such a run's load: its rejected rows go to their file.
pub(crate) fn finish_stdout_run(cfg: &Config, outcome: &Outcome) -> Result<()> {
    if let Some(note) = stale_note(outcome.stale_chunks) {
        eprintln!("sessionstat: {note}");
    }
    if let Some(path) = &cfg.rejects {
        write_rejects_file(path, &outcome.rejected)?;
        tell_rejects(&outcome.rejected, path);
    }
    Ok(())
}

/// Prints an endpoint's body on stdout, byte for byte; a newline only for
/// a person at a terminal.
pub(crate) fn print_body(mut body: Vec<u8>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if out.is_terminal() {
        body.push(b'\n');
    }
    out.write_all(&body)?;
    out.flush()?;
    Ok(())
}

/// Writes the rejects file (empty when nothing was rejected, so an old one
/// never lingers).
pub(crate) fn write_rejects_file(path: &Path, rejected: &[BadRow]) -> Result<()> {
    write_atomic(path, |w| write_rejects(w, rejected))
        .with_context(|| format!("cannot write the rejects file {}", path.display()))
}

/// What a run says of the EVTX chunks it read whose stored checksums were
/// stale (SPEC 9.3): nothing when there were none.
pub(crate) fn stale_note(chunks: u64) -> Option<String> {
    (chunks > 0).then(|| {
        format!(
            "read {chunks} EVTX chunk{} whose stored checksums did not match (a log copied while Windows had it open); every record in them was checked",
            if chunks == 1 { "" } else { "s" }
        )
    })
}

/// Tells stderr how many bad rows were skipped and where they went.
pub(crate) fn tell_rejects(rejected: &[BadRow], path: &Path) {
    if let Some(first) = rejected.first() {
        eprintln!(
            "sessionstat: skipped {} bad rows (written to {}); first: {first}",
            rejected.len(),
            path.display()
        );
    }
}

/// Once a run's outputs are in place: the id registry (`--ids`) takes the
/// run's new keys, replaced whole; unchanged, it is not touched.
pub(crate) fn save_registry(cfg: &Config, ids: Option<&FinalIds>) -> Result<()> {
    let (Some(registry), Some(ids)) = (&cfg.registry, ids) else {
        return Ok(());
    };
    if !ids.changed {
        return Ok(());
    }
    let kept: Vec<_> = IdKind::ALL
        .iter()
        .map(|&k| (k, registry.table(k).clone()))
        .collect();
    crate::output::ids::write_registry(&registry.path, &ids.tables, &kept)
}
