//! What a report says of itself: `summary.json` (SPEC 6.2), the settings
//! record it shares with a backfill's fingerprint, and the settings the
//! compliance page shows.

use crate::config::Config;
use crate::engine::Outcome;
use crate::kernel::SessionStats;
use crate::output::html;
use crate::request::Request;
use crate::rollup::findings::Rules;
use crate::time::{format_rfc3339_utc, format_timespan, Micros};
use serde_json::{json, Map, Value};

/// `summary.json` but its findings' counts: the tool, the inputs, the
/// request, the settings, the counts and the totals.
pub fn summary(
    outcome: &Outcome,
    rejected: usize,
    request: &Request,
    cfg: &Config,
    pages: usize,
) -> Value {
    let mut settings = settings_record(cfg);
    settings.insert("engine".into(), cfg.engine.shown().into());
    let map = cfg.load.map.describe().into_iter();
    let map: Map<String, Value> = map.map(|(k, v)| (k, Value::String(v))).collect();
    settings.insert("columnMap".into(), map.into());
    let registry = cfg.ids.as_ref().map(|p| p.display().to_string());
    settings.insert("idRegistry".into(), registry.into());
    settings.insert("partitions".into(), outcome.partitions.into());
    let selection = &outcome.stats;
    let files: Vec<String> = outcome.files.iter().map(|f| f.display()).collect();
    let total = |f: fn(&SessionStats) -> Micros| selection.iter().map(f).sum::<Micros>();
    let (duration, idle, productive) = (
        total(|s| s.duration()),
        total(|s| s.idle()),
        total(|s| s.productive),
    );
    json!({
        "tool": { "name": "sessionstat", "version": env!("CARGO_PKG_VERSION") },
        "inputs": files,
        "request": {
            "start": request.start.map(format_rfc3339_utc),
            "end": request.end.map(format_rfc3339_utc),
            "sessionCount": request.session_count,
        },
        "settings": Value::Object(settings),
        "counts": {
            "eventsRead": outcome.rows_read,
            "eventsRejected": rejected,
            "blankRowsSkipped": outcome.blank_rows,
            "staleChecksumChunks": outcome.stale_chunks,
            "eventsUsed": outcome.events_used(),
            "sessions": selection.len(),
            "pages": pages,
        },
        "totals": {
            "durationUs": duration,
            "idleUs": idle,
            "productiveUs": productive,
            "duration": format_timespan(duration),
            "idleTime": format_timespan(idle),
            "productivityTime": format_timespan(productive),
        },
    })
}

/// The settings every record of a run keeps alike: `summary.json`'s
/// `settings` and a backfill fingerprint's `options` (SPEC 6.2, 7.4), each
/// of which adds its own.
pub fn settings_record(cfg: &Config) -> Map<String, Value> {
    let record = json!({
        "tz": cfg.zone.to_string(),
        "idleAfterUs": cfg.idle_after,
        "maxBadRows": cfg.load.max_bad_rows,
        "memoryLimitBytes": cfg.memory_limit,
        "idKeys": cfg.load.id_keys,
        "sessionizeGapUs": cfg.sessionize,
        "findings": findings_settings(&cfg.findings),
    });
    match record {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

/// The findings' settings as the records keep them.
fn findings_settings(rules: &Rules) -> Value {
    let clock = |us: Micros| {
        let minutes = us / crate::time::US_PER_MIN;
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    };
    let days: Vec<&str> = crate::rollup::findings::WEEKDAYS
        .iter()
        .zip(rules.work.days)
        .filter(|(_, on)| *on)
        .map(|(d, _)| *d)
        .collect();
    json!({
        "longSessionUs": rules.long,
        "workHours": format!("{}-{}", clock(rules.work.start), clock(rules.work.end)),
        "workDays": days.join(","),
        "idleSharePpm": rules.idle_share_ppm,
    })
}

/// The settings the page shows, as a reader would give them.
pub fn page_settings(request: &Request, cfg: &Config) -> Vec<(&'static str, String)> {
    let rules = &cfg.findings;
    let recorded = findings_settings(rules);
    let text = |key: &str| recorded[key].as_str().unwrap_or_default().to_string();
    vec![
        ("Zone (--tz)", cfg.zone.to_string()),
        (
            "Idle after (--idle-after)",
            cfg.idle_after.map_or("off".into(), html::hms),
        ),
        (
            "Page size (--session-count)",
            request.session_count.to_string(),
        ),
        ("Long session (--long-session)", html::hms(rules.long)),
        ("Work hours (--work-hours)", text("workHours")),
        ("Work days (--work-days)", text("workDays")),
        (
            "Idle share (--idle-share)",
            format!("{}%", rules.idle_share_ppm as f64 / 10_000.0),
        ),
    ]
}
