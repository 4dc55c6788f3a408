//! The span rule (SPEC 2.2), in one place: the time from one event to the
//! next is productive when the first is a `login` or `activity` event and
//! the gap is no longer than `idle_after`; otherwise it is idle. Every
//! total (a session's, a day's, an hour's) adds up spans by this rule.

use crate::model::{ts_of, Kind};
use crate::time::Micros;

/// Whether the span from the event `from` (a packed key) lasting `gap` is productive.
#[inline]
pub fn productive(from: i64, gap: Micros, idle_after: Option<Micros>) -> bool {
    Kind::from_bits(from).starts_work() && gap <= idle_after.unwrap_or(Micros::MAX)
}

/// Calls `f(start, length, productive)` for every span of a sorted run of events.
#[inline]
pub fn for_each_span(
    keys: &[i64],
    idle_after: Option<Micros>,
    mut f: impl FnMut(Micros, Micros, bool),
) {
    for w in keys.windows(2) {
        let (t0, t1) = (ts_of(w[0]), ts_of(w[1]));
        f(t0, t1 - t0, productive(w[0], t1 - t0, idle_after));
    }
}

/// Sum of the productive spans of a sorted run of events.
pub fn productive_time(keys: &[i64], idle_after: Option<Micros>) -> Micros {
    let mut total = 0;
    for_each_span(keys, idle_after, |_, gap, productive| {
        if productive {
            total += gap;
        }
    });
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pack;

    #[test]
    fn the_rule_is_inclusive_and_depends_on_the_first_event() {
        assert!(productive(pack(0, Kind::Login), 10, Some(10)));
        assert!(productive(pack(0, Kind::Activity), 10, Some(10)));
        assert!(!productive(pack(0, Kind::Activity), 11, Some(10)));
        assert!(!productive(pack(0, Kind::Idle), 1, Some(10)));
        assert!(!productive(pack(0, Kind::Logout), 1, None));
        assert!(productive(pack(0, Kind::Activity), Micros::MAX, None));
    }
}
