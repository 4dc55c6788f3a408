//! `sessionstat serve`: the flags checked, then the server (`serve/`).

use crate::cli::ServeArgs;
use anyhow::Result;

pub fn run(args: ServeArgs) -> Result<()> {
    crate::serve::run(crate::config::serve(&args)?)
}
