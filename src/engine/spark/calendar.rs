//! The two small tables the Spark engine sends with its SQL, computed here
//! from this tool's own zone rules, so that Spark cuts and resolves time
//! exactly as the local engine does, whatever zone data its JVM carries.

use crate::rollup::day_start;
use crate::rollup::findings::{stretch, WorkHours};
use crate::rollup::hours::HourCuts;
use crate::rollup::local_day;
use crate::time::{Micros, Zone, US_PER_DAY, US_PER_HOUR, US_PER_SEC};

/// The calendar pieces over `[from, to]` (every event of the windows):
/// rows of (bucket, lo, hi, p, dday, hday, hour, outside, off). A piece lies in
/// one UTC hour (its `bucket`, for an equi-join), one window `p`, one day of
/// `RunningDays` (`dday`: the day whose start is the last at or before it),
/// one hour block (`hday`, `hour`: local date and hour; `off`: its UTC
/// offset in seconds, which SPEC 13.3's hours name) and one stretch
/// inside or outside work hours. Pieces outside every window are left out.
pub fn pieces(
    zone: &Zone,
    work: &WorkHours,
    windows: &[(Option<Micros>, Option<Micros>)],
    from: Micros,
    to: Micros,
) -> Vec<Vec<i64>> {
    let mut rows = Vec::new();
    let mut cuts = HourCuts::new(*zone);
    let end = to + 1;
    let mut dday = local_day(zone, from);
    while day_start(zone, dday + 1) <= from {
        dday += 1;
    }
    while day_start(zone, dday) > from {
        dday -= 1;
    }
    let mut next_day = day_start(zone, dday + 1);
    let mut t = from;
    while t < end {
        while next_day <= t {
            dday += 1;
            next_day = day_start(zone, dday + 1);
        }
        let block = cuts.block(t);
        let (stretch_end, hday, outside) = stretch(t, &mut cuts, work);
        let bucket = t.div_euclid(US_PER_HOUR);
        let (p, window_end) = window_at(windows, t);
        let cut = [
            end,
            next_day,
            block.end,
            stretch_end,
            (bucket + 1) * US_PER_HOUR,
            window_end,
        ]
        .into_iter()
        .min()
        .expect("candidates");
        debug_assert!(cut > t);
        if let Some(p) = p {
            rows.push(vec![
                bucket,
                t,
                cut,
                p as i64,
                dday,
                hday,
                i64::from(block.hour),
                i64::from(outside),
                i64::from(cuts.offset_secs(t)),
            ]);
        }
        t = cut;
    }
    rows
}

/// The window holding `t` (windows are ascending and apart) and where that
/// holding changes next.
fn window_at(windows: &[(Option<Micros>, Option<Micros>)], t: Micros) -> (Option<usize>, Micros) {
    for (i, &(s, e)) in windows.iter().enumerate() {
        let s = s.unwrap_or(Micros::MIN);
        let e = e.map_or(Micros::MAX, |e| e.saturating_add(1));
        if t < s {
            return (None, s);
        }
        if t < e {
            return (Some(i), e);
        }
    }
    (None, Micros::MAX)
}

/// Wall-clock segments over `[lo, hi]` (wall microseconds), a day wide at
/// most, as rows of (bucket, lo, hi, offset seconds, state): state 1 is one
/// instant (at that offset), 0 a time the clocks skip, 2 one they repeat.
pub fn zone_segments(zone: &Zone, lo: Micros, hi: Micros) -> Vec<Vec<i64>> {
    let (lo, hi) = (lo - US_PER_DAY, hi + US_PER_DAY);
    // Instants of constant offset, over a UTC range that covers every wall
    // time of [lo, hi] at any offset (offsets are under 1 day).
    let (u0, u1) = (lo - US_PER_DAY, hi + US_PER_DAY);
    let off = |u: Micros| i64::from(zone.offset_at(u)) * US_PER_SEC;
    let mut runs: Vec<(Micros, Micros, Micros)> = Vec::new(); // (from, to, offset)
    let mut start = u0;
    let mut t = u0;
    while t < u1 {
        let next = (t + US_PER_HOUR).min(u1);
        if off(next) != off(t) {
            // The change lies in (t, next]: bisect to the microsecond.
            let (mut a, mut b) = (t, next);
            while b - a > 1 {
                let m = a + (b - a) / 2;
                if off(m) == off(t) {
                    a = m;
                } else {
                    b = m;
                }
            }
            runs.push((start, b, off(t)));
            start = b;
        }
        t = next;
    }
    runs.push((start, u1, off(start)));
    // Each run covers wall times [from + offset, to + offset).
    let walls: Vec<(Micros, Micros, Micros)> =
        runs.iter().map(|&(a, b, o)| (a + o, b + o, o)).collect();
    let mut edges: Vec<Micros> = walls
        .iter()
        .flat_map(|w| [w.0, w.1])
        .chain([lo, hi + 1])
        .collect();
    edges.retain(|&e| (lo..=hi + 1).contains(&e));
    edges.sort_unstable();
    edges.dedup();
    let mut rows = Vec::new();
    for pair in edges.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let covering: Vec<Micros> = walls
            .iter()
            .filter(|w| w.0 <= a && b <= w.1)
            .map(|w| w.2)
            .collect();
        let (offset, state) = match covering.as_slice() {
            [one] => (*one / US_PER_SEC, 1),
            [] => (0, 0),
            [first, ..] => (*first / US_PER_SEC, 2),
        };
        let mut day = a.div_euclid(US_PER_DAY);
        while day * US_PER_DAY < b {
            let from = a.max(day * US_PER_DAY);
            let to = b.min((day + 1) * US_PER_DAY);
            rows.push(vec![day, from, to, offset, state]);
            day += 1;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::findings::WorkHours;

    fn zone(name: &str) -> Zone {
        name.parse().unwrap()
    }

    /// Every wall time of a range resolves through the segments as
    /// `Zone::local_to_utc` resolves it, DST gaps and repeats included.
    #[test]
    fn segments_resolve_as_the_zone_does() {
        for (name, from) in [
            ("Europe/Berlin", "2021-03-27T00:00:00Z"),
            ("Europe/Berlin", "2021-10-30T00:00:00Z"),
            ("America/New_York", "2021-11-06T00:00:00Z"),
            ("Australia/Lord_Howe", "2021-04-03T00:00:00Z"),
            ("Asia/Kathmandu", "1986-01-01T00:00:00Z"),
            ("Pacific/Apia", "2011-12-29T00:00:00Z"),
        ] {
            let z = zone(name);
            let p = crate::time::parse_time(from).unwrap();
            let lo = p.wall_us;
            let hi = lo + 3 * US_PER_DAY;
            let segs = zone_segments(&z, lo, hi);
            let mut w = lo;
            while w <= hi {
                let hits: Vec<&Vec<i64>> = segs
                    .iter()
                    .filter(|r| r[0] == w.div_euclid(US_PER_DAY) && r[1] <= w && w < r[2])
                    .collect();
                assert_eq!(hits.len(), 1, "{name} {w}");
                let got = match hits[0][4] {
                    1 => Some(w - hits[0][3] * US_PER_SEC),
                    _ => None,
                };
                assert_eq!(got, z.local_to_utc(w).ok(), "{name} wall {w}");
                w += 7 * 60 * US_PER_SEC + 13;
            }
        }
    }

    /// Pieces tile the range without gaps and each keeps one local date,
    /// hour, UTC offset and work-hours state, checked against the zone
    /// directly (Lord Howe's offset changes by half an hour).
    #[test]
    fn pieces_tile_the_range_and_keep_their_calendar() {
        let work = WorkHours::default();
        for name in [
            "Europe/Berlin",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "UTC",
        ] {
            let z = zone(name);
            let from = crate::time::parse_time("2021-10-30T20:17:00Z")
                .unwrap()
                .wall_us;
            let to = from + 3 * US_PER_DAY;
            let windows = [
                (Some(from + US_PER_HOUR), Some(from + 40 * US_PER_HOUR)),
                (Some(from + 40 * US_PER_HOUR + 1), None),
            ];
            let rows = pieces(&z, &work, &windows, from, to);
            assert_eq!(rows.first().unwrap()[1], from + US_PER_HOUR);
            assert_eq!(rows.last().unwrap()[2], to + 1);
            for pair in rows.windows(2) {
                assert_eq!(pair[0][2], pair[1][1], "{name}: pieces touch");
            }
            for r in &rows {
                let (lo, hi) = (r[1], r[2]);
                assert!(
                    lo < hi
                        && r[0] == lo.div_euclid(US_PER_HOUR)
                        && (hi - 1).div_euclid(US_PER_HOUR) == r[0]
                );
                for t in [lo, hi - 1] {
                    let wall = z.to_wall(t);
                    assert_eq!(
                        r[5],
                        wall.div_euclid(US_PER_DAY),
                        "{name} local date at {t}"
                    );
                    assert_eq!(
                        r[6],
                        wall.rem_euclid(US_PER_DAY) / US_PER_HOUR,
                        "{name} hour at {t}"
                    );
                    assert!(day_start(&z, r[4]) <= t && t < day_start(&z, r[4] + 1));
                    assert_eq!(r[8], i64::from(z.offset_at(t)), "{name} offset at {t}");
                    let p = if t <= from + 40 * US_PER_HOUR { 0 } else { 1 };
                    assert_eq!(r[3], p);
                }
            }
        }
    }
}
