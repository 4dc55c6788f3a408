//! `sessionstat generate`: a deterministic synthetic activity log.

use crate::error::usage;
use crate::generate::{generate, GenOptions, TimeStyle};
use crate::load::inputs::Format;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Output file; the format follows its extension unless --format is given (.csv.gz/.csv.zst compress).
    #[arg(short, long, value_name = "PATH")]
    pub out: PathBuf,

    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Random seed: the same seed and flags give the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Number of users (about one in 25 is a service account with multi-day sessions).
    #[arg(long, default_value_t = 50)]
    pub users: u32,

    /// Number of days, from --start-date.
    #[arg(long, default_value_t = 5, conflicts_with = "events")]
    pub days: u32,

    /// Write exactly this many events (as many days as it takes) instead of --days.
    #[arg(long, value_name = "N")]
    pub events: Option<u64>,

    /// First day (local) of the log.
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2021-03-25")]
    pub start_date: String,

    /// Zone of the office hours (and of offsets / wall times in the text).
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,

    /// How timestamps are written: offset (local with offset), utc (Z), naive (local wall time).
    #[arg(long, value_enum, default_value_t = TimeStyle::Offset)]
    pub time_style: TimeStyle,

    /// No closing line on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    let zone = args.tz.parse().map_err(|e| usage(format!("--tz: {e}")))?;
    let start = NaiveDate::parse_from_str(&args.start_date, "%Y-%m-%d")
        .map_err(|e| usage(format!("--start-date {:?}: {e}", args.start_date)))?;
    let format = args
        .format
        .or_else(|| Format::from_path(&args.out))
        .ok_or_else(|| {
            usage(format!(
                "cannot tell the format of {} from its name; use --format",
                args.out.display()
            ))
        })?;
    // Every event must be one that `sessions` accepts: years 0001-9999 in
    // UTC and in the zone, with room for sessions that run for days.
    let first_ok = NaiveDate::from_ymd_opt(1, 1, 2).expect("a date");
    let days = if args.events.is_some() { 1 } else { args.days };
    let last_day = start.checked_add_days(chrono::Days::new(u64::from(days)));
    if start < first_ok || last_day.is_none_or(|d| d > crate::generate::LAST_START_DAY) {
        return Err(usage(format!(
            "--start-date {:?} with {days} day(s): the log must lie within 0001-01-02 and {} (sessions run up to {} days past their first day), as `sessions` reads years 0001-9999 only",
            args.start_date,
            crate::generate::LAST_START_DAY,
            crate::generate::SESSION_REACH_DAYS,
        )));
    }
    if args.users == 0 {
        return Err(usage("--users must be at least 1"));
    }
    let opts = GenOptions {
        seed: args.seed,
        users: args.users,
        days: args.days,
        events: args.events,
        start,
        zone,
        style: args.time_style,
        format,
        out: args.out.clone(),
    };
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
