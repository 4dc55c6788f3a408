//! ActivityWatch's own transforms (`aw-core` 0.5.18, `aw_transform`) as
//! SPEC 14.2 uses them, on events in integer microseconds: `flood`, the
//! union of the not-afk time, `filter_period_intersect`, and the turning of
//! one host's pieces into sessionstat's events.
//!
//! Python's `timedelta` is an exact count of microseconds, so every step
//! here is exact too; `gap / 2` rounds half to even as `timedelta` does.
//! One quirk is kept on purpose: aw-core's `Event` cuts every timestamp it
//! is given to whole milliseconds (its setter runs `_timestamp_parse`),
//! while a duration keeps its microseconds; so wherever `flood` moves an
//! event's start, the start is cut (`ms`) and the end moves with it.

use crate::time::Micros;

/// One event of a bucket: its start, its length (both microseconds) and
/// its `data` object, by id (equal ids for equal objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ev {
    pub start: Micros,
    pub dur: Micros,
    pub data: u32,
}

impl Ev {
    pub fn end(&self) -> Micros {
        self.start + self.dur
    }
}

/// A start as aw-core's `Event` keeps it: cut to whole milliseconds.
pub fn ms(t: Micros) -> Micros {
    t - t.rem_euclid(1000)
}

/// `flood(events, pulsetime)` of aw-core 0.5.18, step for step: sorted by
/// (timestamp, duration) keeping the input order of ties, gaps of at most
/// `pulse` filled (equal data merged, different data split at the
/// midpoint), overlapping equal data merged, then the stream normalised so
/// that a later event covers what an earlier one of other data overlaps.
pub fn flood(mut ev: Vec<Ev>, pulse: Micros) -> Vec<Ev> {
    /// Negative gaps shorter than this are flooded like gaps.
    const TRIM: Micros = 100_000;
    ev.sort_by_key(|e| (e.start, e.dur));
    for i in 1..ev.len() {
        let (head, tail) = ev.split_at_mut(i);
        let (e1, e2) = (&mut head[i - 1], &mut tail[0]);
        let gap = e2.start - e1.end();
        if gap == 0 {
            continue;
        }
        if gap < 0 && e1.data == e2.data {
            let start = e1.start.min(e2.start);
            let end = e1.end().max(e2.end());
            (e1.start, e1.dur) = (ms(start), end - start);
            (e2.start, e2.dur) = (ms(end), 0);
        } else if -TRIM < gap && gap <= pulse {
            let e2_end = e2.end();
            if e1.data == e2.data {
                if e1.dur >= e2.dur {
                    e1.dur = e2_end - e1.start;
                    (e2.start, e2.dur) = (ms(e2_end), 0);
                } else {
                    e2.start = ms(e1.start);
                    e2.dur = e2_end - e2.start;
                    e1.dur = 0;
                }
            } else {
                let midpoint = e1.end() + half_even(gap, 2);
                e1.dur = midpoint - e1.start;
                // The start is cut, the length is not: the end moves back.
                e2.start = ms(midpoint);
                e2.dur = e2_end - midpoint;
            }
        }
    }
    let mut out: Vec<Ev> = Vec::with_capacity(ev.len());
    for e in ev.into_iter().filter(|e| e.dur > 0) {
        loop {
            match out.last_mut() {
                Some(p) if p.end() > e.start => {
                    if p.data == e.data {
                        p.dur = p.end().max(e.end()) - p.start;
                        break;
                    }
                    p.dur = e.start - p.start;
                    if p.dur <= 0 {
                        out.pop();
                        continue;
                    }
                    out.push(e);
                    break;
                }
                _ => {
                    out.push(e);
                    break;
                }
            }
        }
    }
    out
}

/// `a / b` rounded to the nearest integer, ties to even (`timedelta / int`).
fn half_even(a: i64, b: i64) -> i64 {
    let (q, r) = (a.div_euclid(b), a.rem_euclid(b));
    if 2 * r > b || (2 * r == b && q % 2 != 0) {
        q + 1
    } else {
        q
    }
}

/// Events of several buckets of one kind and host (each flooded, so none
/// overlaps another of its bucket) as one stream without overlaps: where
/// two overlap, the one that starts later covers the overlap (SPEC 14.2);
/// of two that start together, the one later in (start, length, bucket)
/// order. One bucket's events come back as they are.
pub fn cover(mut lists: Vec<Vec<Ev>>) -> Vec<Ev> {
    if lists.len() <= 1 {
        return lists.pop().unwrap_or_default();
    }
    let mut all: Vec<Ev> = lists.into_iter().flatten().collect();
    all.sort_by_key(|e| (e.start, e.dur));
    let mut bounds: Vec<Micros> = all.iter().flat_map(|e| [e.start, e.end()]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    // The events that have started, by (start, order): the top covers.
    let mut open = std::collections::BinaryHeap::new();
    let mut next = 0;
    let mut out: Vec<Ev> = Vec::new();
    let mut last_top: Option<usize> = None;
    for w in bounds.windows(2) {
        let (from, to) = (w[0], w[1]);
        while next < all.len() && all[next].start <= from {
            open.push((all[next].start, next));
            next += 1;
        }
        while open.peek().is_some_and(|&(_, i)| all[i].end() <= from) {
            open.pop();
        }
        // An event under the top that has ended is dropped when it surfaces.
        let top = open.peek().map(|&(_, i)| i);
        match top {
            Some(i) if last_top == Some(i) && out.last().is_some_and(|p| p.end() == from) => {
                out.last_mut().expect("checked").dur = to - out.last().expect("checked").start;
            }
            Some(i) => out.push(Ev {
                start: from,
                dur: to - from,
                data: all[i].data,
            }),
            None => {}
        }
        last_top = top;
    }
    out
}

/// The union of the events' periods: sorted, without overlaps, periods that
/// touch joined.
pub fn union(events: &[Ev]) -> Vec<(Micros, Micros)> {
    let mut periods: Vec<(Micros, Micros)> = events
        .iter()
        .filter(|e| e.dur > 0)
        .map(|e| (e.start, e.end()))
        .collect();
    periods.sort_unstable();
    let mut out: Vec<(Micros, Micros)> = Vec::with_capacity(periods.len());
    for (s, e) in periods {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `filter_period_intersect(events, filter)` for events without overlaps
/// and sorted periods without overlaps: each event's parts inside them.
/// (`_replace_event_period` cuts a part's start to milliseconds; flooded
/// starts are whole milliseconds already, so no part needs it. A part that
/// starts where `cover` let an earlier event resume keeps its exact start.)
pub fn intersect(events: &[Ev], periods: &[(Micros, Micros)]) -> Vec<Ev> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < events.len() && j < periods.len() {
        let e = events[i];
        let (ps, pe) = periods[j];
        let (s, t) = (e.start.max(ps), e.end().min(pe));
        if s < t {
            out.push(Ev {
                start: s,
                dur: t - s,
                data: e.data,
            });
        }
        if e.end() <= pe {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// One event sessionstat reads: its instant, whether active time starts or
/// goes on there (`activity`) or ends (`idle`), and the application and
/// URL that it carries (ids of the caller's texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub at: Micros,
    pub active: bool,
    pub app: Option<u32>,
    pub url: Option<u32>,
    /// The first instant of the step's session.
    pub session: Micros,
}

/// A host's events (SPEC 14.2): within each period of active time, an
/// `activity` step where it starts and wherever the covering window
/// piece's app or web piece's url changes, and an `idle` step where it
/// ends. `window` and `web` are pieces without overlaps, inside active
/// time, their `data` the app's and the url's text id. A session starts at
/// the first period and at every period that follows more than `gap`
/// without active time.
pub fn steps(active: &[(Micros, Micros)], window: &[Ev], web: &[Ev], gap: Micros) -> Vec<Step> {
    let mut out = Vec::new();
    let (mut wi, mut bi) = (0, 0);
    let mut session = Micros::MIN;
    let mut last_end: Option<Micros> = None;
    for &(s, e) in active {
        if last_end.is_none_or(|l| s - l > gap) {
            session = s;
        }
        let mut t = s;
        let mut last = None;
        while t < e {
            while wi < window.len() && window[wi].end() <= t {
                wi += 1;
            }
            while bi < web.len() && web[bi].end() <= t {
                bi += 1;
            }
            let covering =
                |pieces: &[Ev], k: usize| pieces.get(k).filter(|p| p.start <= t).map(|p| p.data);
            let now = (covering(window, wi), covering(web, bi));
            let mut next = e;
            for (pieces, k) in [(window, wi), (web, bi)] {
                if let Some(p) = pieces.get(k) {
                    next = next.min(if p.start > t { p.start } else { p.end() });
                }
            }
            if last != Some(now) {
                out.push(Step {
                    at: t,
                    active: true,
                    app: now.0,
                    url: now.1,
                    session,
                });
                last = Some(now);
            }
            t = next;
        }
        out.push(Step {
            at: e,
            active: false,
            app: None,
            url: None,
            session,
        });
        last_end = Some(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = 1_000_000;

    fn ev(start: f64, dur: f64, data: u32) -> Ev {
        Ev {
            start: (start * 1e6) as i64,
            dur: (dur * 1e6) as i64,
            data,
        }
    }

    #[test]
    fn flood_fills_gaps_and_splits_at_the_midpoint() {
        // Equal data across a short gap: one event.
        assert_eq!(
            flood(vec![ev(0., 10., 1), ev(13., 5., 1)], 5 * S),
            [ev(0., 18., 1)]
        );
        // Different data: the gap split at its midpoint, half to even.
        let got = flood(
            vec![
                ev(0., 10., 1),
                Ev {
                    start: 13 * S + 1,
                    dur: 5 * S,
                    data: 2,
                },
            ],
            5 * S,
        );
        assert_eq!(
            got[0].end(),
            11_500_000,
            "1.5000005 s after 10 s rounds to even"
        );
        assert_eq!(got[1].start, got[0].end());
        assert_eq!(got[1].end(), 18 * S + 1);
        // A gap longer than the pulse stays.
        assert_eq!(flood(vec![ev(0., 1., 1), ev(7., 1., 2)], 5 * S).len(), 2);
        // Overlap of different data: the later one covers it.
        assert_eq!(
            flood(vec![ev(0., 10., 1), ev(5., 10., 2)], 5 * S),
            [ev(0., 5., 1), ev(5., 10., 2)]
        );
        // Input order (newest first) does not matter.
        assert_eq!(
            flood(vec![ev(20., 5., 1), ev(0., 10., 1), ev(12., 6., 2)], 5 * S),
            flood(vec![ev(0., 10., 1), ev(12., 6., 2), ev(20., 5., 1)], 5 * S)
        );
    }

    #[test]
    fn the_later_start_covers_across_buckets() {
        let got = cover(vec![vec![ev(0., 10., 1)], vec![ev(3., 2., 2)]]);
        assert_eq!(got, [ev(0., 3., 1), ev(3., 2., 2), ev(5., 5., 1)]);
    }

    #[test]
    fn steps_follow_active_time_and_pieces() {
        let active = [(0, 100 * S), (100 * S + 31 * 60 * S, 100 * S + 32 * 60 * S)];
        let window = [ev(0., 40., 7), ev(40., 60., 8)];
        let web = [ev(50., 10., 3)];
        let got = steps(&active, &window, &web, 30 * 60 * S);
        type Seen = (i64, bool, Option<u32>, Option<u32>, i64);
        let at: Vec<Seen> = got
            .iter()
            .map(|s| (s.at / S, s.active, s.app, s.url, s.session / S))
            .collect();
        assert_eq!(
            at,
            [
                (0, true, Some(7), None, 0),
                (40, true, Some(8), None, 0),
                (50, true, Some(8), Some(3), 0),
                (60, true, Some(8), None, 0),
                (100, false, None, None, 0),
                (1960, true, None, None, 1960),
                (2020, false, None, None, 1960),
            ]
        );
    }
}
