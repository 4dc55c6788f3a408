//! Daily rollups (SPEC 5.2): each selected session's clipped spans split at
//! local midnight in the zone, then added up per (day, user) and (day,
//! client). A session's day parts add up to its totals exactly, since each
//! span goes whole to one day or is cut in two (or more) exact parts.

use crate::events::{ts_of, SessionMeta};
use crate::kernel::{for_each_span, Grouped, SessionStats};
use crate::time::{Micros, Zone, US_PER_DAY, US_PER_HOUR};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// UTC instants where local days start, for a range of local days.
pub struct DayTable {
    /// Local day number (days since 1970-01-01 in local wall time) of `starts[0]`.
    pub first_day: i64,
    /// `starts[i]` is the first UTC instant of local day `first_day + i`; one more
    /// entry than days, so every day has an end.
    pub starts: Vec<Micros>,
}

/// The local day number of an instant.
pub fn local_day(zone: &Zone, utc: Micros) -> i64 {
    zone.to_wall(utc).div_euclid(US_PER_DAY)
}

/// The first UTC instant whose local day is at least `day`: the local midnight,
/// or the first instant after a transition that skips midnight.
fn day_start(zone: &Zone, day: i64) -> Micros {
    // Offsets are within +-26 h: search that range for the first instant of the day.
    let (mut lo, mut hi) = (
        day * US_PER_DAY - 27 * US_PER_HOUR,
        day * US_PER_DAY + 27 * US_PER_HOUR,
    );
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if local_day(zone, mid) >= day {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

impl DayTable {
    /// Days from the one holding `from` to the one holding `to`, inclusive.
    pub fn new(zone: &Zone, from: Micros, to: Micros) -> DayTable {
        let (d0, d1) = (local_day(zone, from), local_day(zone, to));
        let starts = (d0..=d1 + 1).map(|d| day_start(zone, d)).collect();
        DayTable {
            first_day: d0,
            starts,
        }
    }

    /// Index of the day holding `t` (which must lie inside the table).
    fn index_of(&self, t: Micros) -> usize {
        self.starts.partition_point(|&s| s <= t) - 1
    }
}

/// One session's share of one local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayPart {
    /// Local day number.
    pub day: i64,
    pub first_event: Option<Micros>,
    pub last_event: Option<Micros>,
    pub duration: Micros,
    pub idle: Micros,
    pub productive: Micros,
}

impl DayPart {
    /// Adds another part of the same day: earliest first event, latest last
    /// event, summed times.
    fn absorb(&mut self, o: &DayPart) {
        self.first_event = match (self.first_event, o.first_event) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_event = self.last_event.max(o.last_event);
        self.duration += o.duration;
        self.idle += o.idle;
        self.productive += o.productive;
    }
}

/// Splits one session's clipped events into day parts, in day order.
pub fn session_days(
    g: &Grouped,
    st: &SessionStats,
    days: &DayTable,
    idle_after: Option<Micros>,
) -> Vec<DayPart> {
    let keys = g.window(st);
    let first = days.index_of(st.login);
    let last = days.index_of(st.logout);
    let mut parts: Vec<DayPart> = (first..=last)
        .map(|i| DayPart {
            day: days.first_day + i as i64,
            ..Default::default()
        })
        .collect();
    let mut cursor = first;
    for &k in keys {
        let t = ts_of(k);
        while days.starts[cursor + 1] <= t {
            cursor += 1;
        }
        let p = &mut parts[cursor - first];
        p.first_event.get_or_insert(t);
        p.last_event = Some(t);
    }
    let mut cursor = first;
    for_each_span(keys, idle_after, |t0, len, productive| {
        let (mut at, end) = (t0, t0 + len);
        while days.starts[cursor + 1] <= at {
            cursor += 1;
        }
        while at < end {
            let cut = end.min(days.starts[cursor + 1]);
            let p = &mut parts[cursor - first];
            let piece = cut - at;
            p.duration += piece;
            if productive {
                p.productive += piece;
            } else {
                p.idle += piece;
            }
            at = cut;
            if at == days.starts[cursor + 1] {
                cursor += 1;
            }
        }
    });
    parts
}

/// One row of `daily_user` or `daily_client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyRow<K> {
    pub key: K,
    /// Sessions with an event or a span part in the day.
    pub sessions: i64,
    /// Those sessions' day parts, added up.
    pub part: DayPart,
}

/// User key: (user_id, user_name); client key: (client_guid, client_name).
pub type UserKey<'a> = (i32, &'a str);
pub type ClientKey<'a> = (&'a str, &'a str);

/// Both daily tables, ordered by day, then key.
pub struct Daily<'a> {
    pub users: Vec<DailyRow<UserKey<'a>>>,
    pub clients: Vec<DailyRow<ClientKey<'a>>>,
}

fn add<K: Ord + Copy>(map: &mut BTreeMap<(i64, K), DailyRow<K>>, key: K, p: &DayPart) {
    let row = map.entry((p.day, key)).or_insert_with(|| DailyRow {
        key,
        sessions: 0,
        part: DayPart {
            day: p.day,
            ..Default::default()
        },
    });
    row.sessions += 1;
    row.part.absorb(p);
}

/// Each selected session's day parts, in selection order.
pub fn day_parts(
    g: &Grouped,
    selection: &[SessionStats],
    zone: &Zone,
    idle_after: Option<Micros>,
) -> Vec<Vec<DayPart>> {
    let (Some(from), Some(to)) = (
        selection.iter().map(|s| s.login).min(),
        selection.iter().map(|s| s.logout).max(),
    ) else {
        return Vec::new();
    };
    let days = DayTable::new(zone, from, to);
    selection
        .par_iter()
        .map(|st| session_days(g, st, &days, idle_after))
        .collect()
}

/// Adds up day parts into both daily tables; `parts[i]` belongs to
/// `selection[i]`, whose attributes are `metas[selection[i].session]`.
pub fn daily<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[Vec<DayPart>],
) -> Daily<'a> {
    let mut users = BTreeMap::new();
    let mut clients = BTreeMap::new();
    for (st, ps) in selection.iter().zip(parts) {
        let m = &metas[st.session as usize];
        for p in ps {
            add(&mut users, (m.user_id, m.user_name.as_str()), p);
            add(
                &mut clients,
                (m.client_guid.as_str(), m.client_name.as_str()),
                p,
            );
        }
    }
    Daily {
        users: users.into_values().collect(),
        clients: clients.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{pack, Events, Kind, SessionMeta};
    use crate::kernel::{group, select, Settings};
    use crate::time::{parse_time, US_PER_MIN};

    fn t(text: &str) -> Micros {
        Zone::default().resolve(parse_time(text).unwrap()).unwrap()
    }

    #[test]
    fn day_starts_follow_dst() {
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        let days = DayTable::new(
            &berlin,
            t("2021-03-27T12:00:00Z"),
            t("2021-03-29T12:00:00Z"),
        );
        assert_eq!(days.starts[0], t("2021-03-26T23:00:00Z"));
        assert_eq!(days.starts[1], t("2021-03-27T23:00:00Z"));
        assert_eq!(
            days.starts[2],
            t("2021-03-28T22:00:00Z"),
            "the DST day is 23 hours long"
        );
        // a zone whose clocks skip midnight: the day starts at 01:00 local
        let havana: Zone = "America/Havana".parse().unwrap();
        let start = day_start(&havana, local_day(&havana, t("2021-03-14T12:00:00Z")));
        assert_eq!(start, t("2021-03-14T05:00:00Z"));
    }

    #[test]
    fn a_span_across_midnight_is_split() {
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        // 23:50 local (22:50Z, winter) to 00:05 next day: 10 + 5 minutes, productive
        // with idle_after 15m; then a 40 minute idle span to 00:45.
        let ev = Events {
            keys: vec![vec![
                pack(t("2021-01-10T22:50:00Z"), Kind::Activity),
                pack(t("2021-01-10T23:05:00Z"), Kind::Activity),
                pack(t("2021-01-10T23:45:00Z"), Kind::Logout),
            ]],
            sessions: vec![SessionMeta::example(1)],
            ..Events::default()
        };
        let g = group(ev);
        let sel = select(&g, &Settings::whole(Some(15 * US_PER_MIN)));
        let d = daily(
            &g.sessions,
            &sel,
            &day_parts(&g, &sel, &berlin, Some(15 * US_PER_MIN)),
        );
        assert_eq!(d.users.len(), 2);
        let (a, b) = (&d.users[0], &d.users[1]);
        assert_eq!(
            (a.part.duration, a.part.productive, a.part.idle),
            (10 * US_PER_MIN, 10 * US_PER_MIN, 0)
        );
        assert_eq!(
            (b.part.duration, b.part.productive, b.part.idle),
            (45 * US_PER_MIN, 5 * US_PER_MIN, 40 * US_PER_MIN)
        );
        assert_eq!(a.part.first_event, Some(t("2021-01-10T22:50:00Z")));
        assert_eq!(b.part.first_event, Some(t("2021-01-10T23:05:00Z")));
        assert_eq!(b.part.last_event, Some(t("2021-01-10T23:45:00Z")));
        assert_eq!(a.part.duration + b.part.duration, sel[0].duration());
        assert_eq!(b.part.day - a.part.day, 1);
    }

    #[test]
    fn a_day_with_only_a_span_has_no_events() {
        // 2021-01-01 12:00 to 2021-01-03 12:00 UTC with no limit: three days,
        // the middle one whole and without events.
        let ev = Events {
            keys: vec![vec![
                pack(t("2021-01-01T12:00:00Z"), Kind::Activity),
                pack(t("2021-01-03T12:00:00Z"), Kind::Activity),
            ]],
            sessions: vec![SessionMeta::example(1)],
            ..Events::default()
        };
        let g = group(ev);
        let sel = select(&g, &Settings::whole(None));
        let d = daily(
            &g.sessions,
            &sel,
            &day_parts(&g, &sel, &Zone::default(), None),
        );
        let durations: Vec<_> = d
            .clients
            .iter()
            .map(|r| (r.part.duration, r.part.first_event.is_some(), r.sessions))
            .collect();
        assert_eq!(
            durations,
            vec![
                (12 * US_PER_HOUR, true, 1),
                (US_PER_DAY, false, 1),
                (12 * US_PER_HOUR, true, 1)
            ]
        );
    }
}
