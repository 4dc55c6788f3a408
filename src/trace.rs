//! Stage timings on stderr when `SESSIONSTAT_TRACE` is set: where a run spends
//! its time, for profiling without a profiler; on Linux with the resident
//! memory now and at its peak so far.

use std::sync::OnceLock;
use std::time::Instant;

fn start() -> Option<&'static Instant> {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    START
        .get_or_init(|| std::env::var_os("SESSIONSTAT_TRACE").map(|_| Instant::now()))
        .as_ref()
}

/// Prints `stage` with the time since the first call, when tracing is on.
pub fn stage(stage: &str) {
    if let Some(t) = start() {
        eprintln!("[{:>8.3}s]{} {stage}", t.elapsed().as_secs_f64(), memory());
    }
}

/// Prints a statement sent to an engine, when `SESSIONSTAT_TRACE=sql`.
pub fn text(text: &str) {
    if start().is_some() && std::env::var_os("SESSIONSTAT_TRACE").is_some_and(|v| v == "sql") {
        eprintln!("{text}");
    }
}

/// ` rss/peak MiB (file-backed part)` from /proc (empty where there is none).
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mib = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib / 1024)
    };
    match (mib("VmRSS:"), mib("VmHWM:"), mib("RssFile:")) {
        (Some(now), Some(peak), Some(file)) => {
            format!(" {now:>5}/{peak:>5} MiB ({file:>4} file)")
        }
        _ => String::new(),
    }
}
