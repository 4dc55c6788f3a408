//! `sessionstat backfill`: one report folder per day, week or month, from
//! one read of the inputs (`report::backfill`).

use crate::cli::BackfillArgs;
use crate::load::evtx::stale_note;
use crate::progress::Progress;
use crate::report::backfill;
use anyhow::Result;
use std::time::Instant;

pub fn run(args: BackfillArgs) -> Result<()> {
    let began = Instant::now();
    let plan = crate::config::backfill(&args)?;
    let progress = Progress::new(plan.cfg.quiet);
    let done = backfill::run(&plan, &progress)?;
    progress.finish();
    if !plan.cfg.quiet {
        eprintln!(
            "sessionstat: {} periods up to date, {} computed; {} sessions, {} files in {} ({:.1?}){}",
            done.skipped,
            done.computed,
            done.sessions,
            done.files,
            plan.out.display(),
            began.elapsed(),
            stale_note(done.stale_chunks).map_or_else(String::new, |n| format!("; {n}"))
        );
    }
    Ok(())
}
