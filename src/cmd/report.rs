//! `sessionstat report`: the nightly job.

use anyhow::Result;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<()> {
    anyhow::bail!("report: not built yet")
}
