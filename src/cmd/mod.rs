//! One module per subcommand, each a `run` over its flags (`crate::cli`):
//! it parses, calls and prints. No command imports another; what two share
//! is here.

pub mod backfill;
pub mod focus;
pub mod generate;
pub mod productivity;
pub mod report;
pub mod serve;
pub mod sessions;

use crate::config::Config;
use crate::engine::Outcome;
use crate::output::rejects;
use anyhow::Result;
use std::io::{IsTerminal, Write};

/// After such a run's load: its rejected rows go to their file.
pub(crate) fn finish_stdout_run(cfg: &Config, outcome: &Outcome) -> Result<()> {
    rejects::settle(
        cfg.rejects.as_deref(),
        &outcome.rejected,
        outcome.stale_chunks,
    )
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
