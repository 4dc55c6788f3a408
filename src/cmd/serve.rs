//! `sessionstat serve`: the flags checked, then the server (`serve/`).

use crate::cli::ServeArgs;
use anyhow::Result;

pub fn run(args: ServeArgs) -> Result<()> {
    // A server hands freed memory back, not its largest request's for ever.
    crate::alloc::release_from_now_on();
    crate::serve::run(crate::config::serve(&args)?)
}
