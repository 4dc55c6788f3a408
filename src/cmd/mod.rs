//! One module per subcommand, each a `run` over its flags (`crate::cli`):
//! it parses, calls and prints. No command imports another; what two share
//! is here.

pub mod backfill;
pub mod generate;
pub mod productivity;
pub mod report;
pub mod serve;
pub mod sessions;

use crate::config::Config;
use crate::engine::Outcome;
use crate::error::usage;
use crate::load::evtx::stale_note;
use crate::output::rejects;
use anyhow::Result;
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
    cfg.check_outputs()?;
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
        rejects::write_file(path, &outcome.rejected)?;
        rejects::tell(&outcome.rejected, path);
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
