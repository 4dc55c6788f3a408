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
