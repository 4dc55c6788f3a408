//! The allocator's side of the memory limit. mimalloc (the binary's global
//! allocator) keeps freed pages for reuse and hands them back to the system
//! only when the thread that owns them allocates again, some time later.
//! While loading, that reuse saves page faults batch after batch; once the
//! load is done, what it freed (batch buffers, the session index) would stay
//! resident beside what the writing phase allocates, and a run's peak would
//! be their sum.

use std::ffi::{c_int, c_long};

// The functions come from the static mimalloc library of the `mimalloc` crate.
use mimalloc as _;

extern "C" {
    fn mi_collect(force: bool);
    fn mi_option_set(option: c_int, value: c_long);
}

/// `mi_option_purge_delay` in mimalloc.h (the same value in v2 and v3).
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// How long freed pages stay with mimalloc while loading, in milliseconds.
/// Its default (10 ms) handed a text chunk's buffers back to the kernel
/// between one batch and the next, and a 10M-event CSV spent 2.2 s of
/// system time faulting them in again (0.6 s at 1 s).
const LOADING_PURGE_DELAY_MS: c_long = 1000;

/// Keeps freed pages for reuse while loading (see `LOADING_PURGE_DELAY_MS`);
/// `release_from_now_on` ends it.
pub fn keep_freed_pages() {
    // SAFETY: only changes when mimalloc purges free pages.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, LOADING_PURGE_DELAY_MS) };
}

/// When the process holds a quarter of `limit` or more (or where that is
/// not known), `release_from_now_on`. Below that, freed memory cannot take a
/// run over its limit, and keeping it saves work (about 5% of a 10M-event
/// report).
pub fn release_if_near(limit: Option<u64>) {
    if limit.is_some_and(|l| resident_bytes().is_none_or(|r| r >= l / 4)) {
        release_from_now_on();
    }
}

/// The process's resident memory, where the system tells.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// From now on freed memory goes back to the system at once, and what was
/// freed already goes back now, on every thread of both thread pools.
pub fn release_from_now_on() {
    // SAFETY: both only change or apply mimalloc's purging of free pages;
    // without mimalloc as the global allocator they find nothing to free.
    let collect = || unsafe { mi_collect(true) };
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    collect();
    rayon::broadcast(|_| collect());
    polars_core::runtime::RAYON.install(|| rayon::broadcast(|_| collect()));
}
