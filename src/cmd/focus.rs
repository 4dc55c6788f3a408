//! `sessionstat apps` and `sessionstat urls`: Application and URL
//! Statistics (SPEC 13.3, 13.4) on stdout, productive time per application
//! (or website) per session and local hour of one window.

use crate::cli::StatsArgs;
use crate::config::StdoutPlan;
use crate::engine::{self, Parts};
use crate::output::json::write_hour_stats;
use crate::progress::Progress;
use crate::rollup::focus::{hour_stats, Which};
use anyhow::Result;

pub fn run(args: StatsArgs, which: Which) -> Result<()> {
    let endpoint = match which {
        Which::App => "Application Statistics",
        Which::Site => "URL Statistics",
    };
    let StdoutPlan { cfg, request } = crate::config::focus_stats(&args, endpoint)?;
    let progress = Progress::new(cfg.quiet);
    progress.stage("loading");
    let outcome = engine::run(&cfg.job(), &request, Parts::All, None, &progress)?;
    super::finish_stdout_run(&cfg, &outcome)?;
    let keys = outcome.keys(which);
    let stats = hour_stats(&outcome.parts, &keys);
    progress.finish();
    let mut body = Vec::new();
    write_hour_stats(
        &mut body,
        &stats,
        &outcome.metas,
        &outcome.stats,
        &keys,
        args.pretty,
    )?;
    super::print_body(body)?;
    crate::registry::save(cfg.registry.as_deref(), outcome.ids.as_ref())
}
