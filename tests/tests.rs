//! The one integration-test binary: the CLI as a user runs it.

mod util;

mod generate;
mod props;
mod report;
mod sessions;
