//! sessionstat: per-session duration, idle and productivity time from
//! user-activity logs, exactly as the Sessions (Post) endpoint answers.
//!
//! The pipeline, one way (docs/architecture.md): `cmd` (one module per
//! subcommand) -> `config` (a checked plan) -> `engine` (local or Spark,
//! chosen once) -> `load` (files -> events) -> `kernel` (sessions, selection,
//! pages) -> `rollup` -> `report` / `serve` -> `output` (the writers).

pub mod alloc;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod engine;
pub mod error;
pub mod generate;
pub mod ids;
pub mod kernel;
pub mod load;
pub mod model;
pub mod output;
pub mod progress;
pub mod registry;
pub mod report;
pub mod request;
pub mod rollup;
pub mod serve;
pub mod stamp;
pub mod time;
pub mod trace;

use cli::{Cli, Command};

/// Runs one command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Sessions(args) => cmd::sessions::run(args),
        Command::Productivity(args) => cmd::productivity::run(args),
        Command::Apps(args) => cmd::focus::run(args, rollup::focus::Which::App),
        Command::Urls(args) => cmd::focus::run(args, rollup::focus::Which::Site),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Backfill(args) => cmd::backfill::run(args),
        Command::Generate(args) => cmd::generate::run(args),
    }
}
