//! `generate`'s plan: the synthetic log's options, checked.

use crate::cli::GenerateArgs;
use crate::error::usage;
use crate::generate::GenOptions;
use crate::load::inputs::Format;
use anyhow::Result;
use chrono::NaiveDate;

/// `generate`'s options: a zone, a start date and a length that keep every
/// event one `sessions` accepts, a format it writes, at least one user.
pub fn generate(args: &GenerateArgs) -> Result<GenOptions> {
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
    if matches!(format, Format::Evtx | Format::ActivityWatch) {
        return Err(usage(
            "generate writes csv, parquet or ndjson; EVTX logs come from Windows and ActivityWatch exports from ActivityWatch",
        ));
    }
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
    Ok(GenOptions {
        seed: args.seed,
        users: args.users,
        days: args.days,
        events: args.events,
        start,
        zone,
        style: args.time_style,
        format,
        out: args.out.clone(),
        apps: args.apps,
    })
}
