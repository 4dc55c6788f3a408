//! `sessionstat report`: the nightly job. One window, every output, into
//! one folder (`report/`).

use crate::cli::ReportArgs;
use crate::config::{report_request, Config};
use crate::load::evtx::stale_note;
use crate::progress::Progress;
use crate::report;
use anyhow::Result;
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
    let request = report_request(&args, &cfg.zone)?;
    cfg.resolve_inputs()?;
    report::prepare(&mut cfg, &args.out)?;
    let progress = Progress::new(cfg.quiet);
    let done = report::write(&cfg, &request, &args.out, args.pretty, &progress)?;
    progress.finish();
    if !cfg.quiet {
        eprintln!(
            "sessionstat: {} events read ({} rejected, {} used), {} sessions, {} page{}, {} files in {} ({:.1?}){}",
            done.rows_read,
            done.rejected,
            done.used,
            done.sessions,
            done.pages,
            if done.pages == 1 { "" } else { "s" },
            done.files,
            args.out.display(),
            began.elapsed(),
            stale_note(done.stale_chunks).map_or_else(String::new, |n| format!("; {n}"))
        );
    }
    Ok(())
}
