//! Stage timings on stderr when `SESSIONSTAT_TRACE` is set: where a run spends
//! its time, for profiling without a profiler.

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
        eprintln!("[{:>8.3}s] {stage}", t.elapsed().as_secs_f64());
    }
}
