//! Exact time: integer microseconds since the Unix epoch (UTC), the ISO 8601 /
//! RFC 3339 text forms the logs and requests use, time zones, and the
//! endpoint's two output formats (.NET "c" timespans and offset dates).
//!
//! No float ever touches a time value. Parsing is a small fixed-position parser
//! because it runs once per event and chrono's format-driven parser dominated a
//! CSV load; chrono still validates the calendar and resolves zones.
//!
//! parse.rs reads texts, zone.rs maps instants to local time, format.rs
//! writes the endpoint's forms, periods.rs cuts days, weeks and months.

pub mod format;
pub mod parse;
pub mod periods;
pub mod zone;

pub use format::*;
pub use parse::*;
pub use zone::*;

/// Microseconds since 1970-01-01T00:00:00Z, or a length of time in microseconds.
pub type Micros = i64;

pub const US_PER_SEC: i64 = 1_000_000;
pub const US_PER_MIN: i64 = 60 * US_PER_SEC;
pub const US_PER_HOUR: i64 = 60 * US_PER_MIN;
pub const US_PER_DAY: i64 = 24 * US_PER_HOUR;

/// The current instant, from the system clock.
pub fn now() -> Micros {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_micros()).expect("the clock is before year 294,000")
}
