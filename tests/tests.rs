//! The one integration-test binary: the CLI as a user runs it, and the
//! library's invariants.

mod util;

mod activitywatch;
mod apps;
mod backfill;
mod bad_input;
mod endpoints;
mod findings;
mod fuzz;
mod generate;
mod hostile;
mod html;
mod memory;
mod props;
mod real;
mod report;
mod safety;
mod serve;
mod sessions;
#[cfg(feature = "spark")]
mod spark;
mod stream;
mod text;
