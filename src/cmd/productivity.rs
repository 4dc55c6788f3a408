//! `sessionstat productivity`: User Productivity (SPEC 8.2) on stdout,
//! productive minutes per user and local hour of one window.

use crate::cli::ProductivityArgs;
use crate::config::StdoutPlan;
use crate::engine::{self, Parts};
use crate::output::json::write_productivity;
use crate::progress::Progress;
use crate::rollup::hours::productivity_rows;
use anyhow::Result;
use std::io::{IsTerminal, Write};

pub fn run(args: ProductivityArgs) -> Result<()> {
    let StdoutPlan { cfg, request } = crate::config::productivity(&args)?;
    let progress = Progress::new(cfg.quiet);
    progress.stage("loading");
    let outcome = engine::run(&cfg.job(), &request, Parts::Hours, None, &progress)?;
    super::finish_stdout_run(&cfg, &outcome)?;
    let rows = productivity_rows(&outcome.metas, &outcome.stats, &outcome.parts);
    crate::trace::stage("hours added up");
    progress.finish();
    // Streamed: a long window's answer can be large.
    let out = std::io::stdout().lock();
    let terminal = out.is_terminal();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    write_productivity(&mut out, &rows, None, &cfg.zone, args.pretty)?;
    if terminal {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    crate::trace::stage("written");
    crate::registry::save(cfg.registry.as_deref(), outcome.ids.as_ref())
}
