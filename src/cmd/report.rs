//! `sessionstat report`: the nightly job. One window, every output, into
//! one folder (`report/`).

use crate::cli::ReportArgs;
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
    let plan = crate::config::report(&args, &sample_input())?;
    let progress = Progress::new(plan.cfg.quiet);
    let done = report::write(&plan, &progress)?;
    progress.finish();
    if !plan.cfg.quiet {
        eprintln!(
            "sessionstat: {} events read ({} rejected, {} used), {} sessions, {} page{}, {} files in {} ({:.1?}){}",
            done.rows_read,
            done.rejected,
            done.used,
            done.sessions,
            done.pages,
            if done.pages == 1 { "" } else { "s" },
            done.files,
            plan.out.display(),
            began.elapsed(),
            stale_note(done.stale_chunks).map_or_else(String::new, |n| format!("; {n}"))
        );
    }
    Ok(())
}
