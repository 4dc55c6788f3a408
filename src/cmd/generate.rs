//! `sessionstat generate`: a deterministic synthetic activity log.

use crate::cli::GenerateArgs;
use crate::generate::generate;
use anyhow::{Context, Result};
use std::time::Instant;

pub fn run(args: GenerateArgs) -> Result<()> {
    let opts = crate::config::generate(&args)?;
    let began = Instant::now();
    let summary =
        generate(&opts).with_context(|| format!("cannot write {}", args.out.display()))?;
    if !args.quiet {
        eprintln!(
            "sessionstat: wrote {} events, {} sessions, {} days to {} in {:.1?}",
            summary.events,
            summary.sessions,
            summary.days,
            args.out.display(),
            began.elapsed()
        );
    }
    Ok(())
}
