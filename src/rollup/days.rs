//! Day parts: each selected session's clipped spans cut at local midnight
//! (and at the work hours' edges for findings), either while reading
//! (`RunningDays`) or from stored events (`day_parts`), the two equal.

use super::*;

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
    pub(crate) fn absorb(&mut self, o: &DayPart) {
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

/// Where local days start, computed on demand and remembered, the local
/// hour met last and the work hours: what one thread needs to cut spans.
#[derive(Clone)]
pub struct DayStarts {
    pub(crate) zone: Zone,
    pub(crate) known: std::collections::HashMap<i64, Micros>,
    pub(crate) hours: HourCuts,
    pub(crate) work: WorkHours,
}

impl DayStarts {
    pub fn new(zone: Zone, work: WorkHours) -> Self {
        DayStarts {
            zone,
            known: Default::default(),
            hours: HourCuts::new(zone),
            work,
        }
    }

    pub(crate) fn start(&mut self, day: i64) -> Micros {
        let zone = &self.zone;
        *self
            .known
            .entry(day)
            .or_insert_with(|| day_start(zone, day))
    }
}

/// One session's day parts built as its events inside the window arrive in
/// (time, kind) order: the same parts `session_days` gives for its sorted
/// events, one span at a time.
///
/// The part of the latest day is kept inline: nearly every event only adds
/// to it, and the session's running answer is then all in one place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunningDays {
    /// The parts of the days before the latest one.
    pub(crate) done: Vec<DayPart>,
    /// The part of the latest day (none before the first event).
    pub(crate) current: Option<DayPart>,
    /// The start of the day after `current`.
    pub(crate) end: Micros,
    /// The hour parts, kept as `productivity` keeps them alone.
    pub(crate) hours: hours::RunningHours,
    /// Productive time outside work hours (findings).
    pub(crate) outside: RunningOutside,
    /// Productive time with a foreground, per hour block (SPEC 13); boxed
    /// and made at the first such span, so that a session without one (and
    /// a log without the columns) keeps 8 bytes for it.
    pub(crate) focus: Option<Box<focus::RunningFocus>>,
}

impl RunningDays {
    /// The parts, in time order; leaves none behind.
    pub fn take(&mut self) -> SessionParts {
        let mut days = std::mem::take(&mut self.done);
        days.extend(self.current.take());
        SessionParts {
            days,
            hours: self.hours.take().hours,
            outside: std::mem::take(&mut self.outside.parts),
            focus: self.focus.take().map_or_else(Vec::new, |mut f| f.take()),
        }
    }

    /// Makes `day` the latest day, with an empty part.
    pub(crate) fn start_day(&mut self, day: i64, starts: &mut DayStarts) {
        let part = DayPart {
            day,
            ..Default::default()
        };
        self.done.extend(self.current.replace(part));
        self.end = starts.start(day + 1);
    }

    /// Adds the parts of the days up to the one holding `t` (a day that a
    /// zone skips has a part of length 0).
    pub(crate) fn advance(&mut self, t: Micros, starts: &mut DayStarts) {
        while self.end <= t {
            let day = self.current.as_ref().expect("a first event").day + 1;
            self.start_day(day, starts);
        }
    }
}

impl DayParts for RunningDays {
    type Starts = DayStarts;

    /// Adds the next event inside the window; `prev` is the one before it
    /// (inside the window too), whose span to this one is split at local
    /// midnights: the one midnight split of the crate.
    #[inline]
    fn add_event(
        &mut self,
        prev: Option<i64>,
        key: i64,
        foreground: Focus,
        idle_after: Option<Micros>,
        starts: &mut DayStarts,
    ) {
        let t = ts_of(key);
        self.hours
            .add_event(prev, key, foreground, idle_after, &mut starts.hours);
        if foreground != NO_FOCUS {
            if let Some(prev) = prev {
                if productive(prev, t - ts_of(prev), idle_after) {
                    self.focus.get_or_insert_with(Box::default).add_span(
                        ts_of(prev),
                        t,
                        foreground,
                        &mut starts.hours,
                    );
                }
            }
        }
        // The usual case: the span stays in the day of the event before it.
        if let (Some(prev), Some(part)) = (prev, self.current.as_mut()) {
            if t < self.end {
                let gap = t - ts_of(prev);
                part.duration += gap;
                if productive(prev, gap, idle_after) {
                    part.productive += gap;
                    let work = &starts.work;
                    self.outside
                        .add_span(ts_of(prev), t, &mut starts.hours, work);
                } else {
                    part.idle += gap;
                }
                part.last_event = Some(t);
                return;
            }
        }
        match prev {
            None => {
                let day = local_day(&starts.zone, t);
                self.start_day(day, starts);
            }
            Some(prev) => {
                let mut at = ts_of(prev);
                let productive = productive(prev, t - at, idle_after);
                if productive {
                    let work = &starts.work;
                    self.outside.add_span(at, t, &mut starts.hours, work);
                }
                loop {
                    self.advance(at, starts);
                    if at >= t {
                        break;
                    }
                    let cut = t.min(self.end);
                    let part = self.current.as_mut().expect("a first event");
                    part.duration += cut - at;
                    if productive {
                        part.productive += cut - at;
                    } else {
                        part.idle += cut - at;
                    }
                    at = cut;
                }
            }
        }
        self.advance(t, starts);
        let part = self.current.as_mut().expect("a first event");
        part.first_event.get_or_insert(t);
        part.last_event = Some(t);
    }
}

/// Each selected session's day and hour parts, in selection order.
pub fn day_parts(
    g: &Grouped,
    selection: &[SessionStats],
    zone: &Zone,
    work: &WorkHours,
    idle_after: Option<Micros>,
) -> Vec<SessionParts> {
    stored_parts(
        g,
        selection,
        DayStarts::new(*zone, *work),
        idle_after,
        RunningDays::take,
    )
}

/// Each selected session's parts as the running answer `D` keeps them, fed
/// the session's sorted events in the window, in selection order.
pub fn stored_parts<D: DayParts>(
    g: &Grouped,
    selection: &[SessionStats],
    starts: D::Starts,
    idle_after: Option<Micros>,
    take: fn(&mut D) -> SessionParts,
) -> Vec<SessionParts> {
    selection
        .par_iter()
        .map_init(
            || starts.clone(),
            |starts, st| {
                let mut parts = D::default();
                let mut prev = None;
                match &g.focus {
                    None => {
                        for &k in g.window(st) {
                            parts.add_event(prev, k, NO_FOCUS, idle_after, starts);
                            prev = Some(k);
                        }
                    }
                    Some(focus) => {
                        // The foreground follows every event of the
                        // session, those before the window too (SPEC 13.1).
                        let focus = &focus[st.session as usize];
                        let mut fg = focus[..st.lo].iter().fold(NO_FOCUS, |fg, &f| follow(fg, f));
                        for (&k, &f) in g.window(st).iter().zip(&focus[st.lo..st.hi]) {
                            parts.add_event(prev, k, fg, idle_after, starts);
                            fg = follow(fg, f);
                            prev = Some(k);
                        }
                    }
                }
                take(&mut parts)
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{select, Settings};
    use crate::model::{pack, Kind, SessionMeta};
    use crate::time::{parse_time, US_PER_DAY, US_PER_HOUR, US_PER_MIN};

    /// UTC instants where local days start, for a range of local days.
    struct DayTable {
        /// Local day number (days since 1970-01-01 in local wall time) of `starts[0]`.
        first_day: i64,
        /// `starts[i]` is the first UTC instant of local day `first_day + i`; one more
        /// entry than days, so every day has an end.
        starts: Vec<Micros>,
    }

    impl DayTable {
        /// Days from the one holding `from` to the one holding `to`, inclusive.
        fn new(zone: &Zone, from: Micros, to: Micros) -> DayTable {
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

    /// An independent split, day table first, then each span cut at the
    /// table's edges: what the running split must equal.
    fn session_days(
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
        crate::kernel::span::for_each_span(keys, idle_after, |t0, len, productive| {
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

    /// An independent hour cut: every whole quarter hour of UTC inside a
    /// span where the local (day, hour) or the offset differs from the
    /// instant before is a cut (the zones tested change offsets and local
    /// hours only there), found by stepping through the span.
    fn session_hours(keys: &[i64], zone: &Zone, idle_after: Option<Micros>) -> Vec<HourPart> {
        const Q: Micros = 15 * US_PER_MIN;
        let local = |t: Micros| {
            let w = zone.to_wall(t);
            (
                w.div_euclid(US_PER_DAY),
                (w.rem_euclid(US_PER_DAY) / US_PER_HOUR) as u8,
                zone.offset_at(t),
            )
        };
        let mut parts: Vec<HourPart> = Vec::new();
        crate::kernel::span::for_each_span(keys, idle_after, |t0, len, productive| {
            let end = t0 + len;
            let mut cuts: Vec<Micros> = Vec::new();
            let mut m = (t0.div_euclid(Q) + 1) * Q;
            while m < end {
                if local(m) != local(m - 1) {
                    cuts.push(m);
                }
                m += Q;
            }
            cuts.push(end);
            let mut at = t0;
            for c in cuts {
                if c == at {
                    continue;
                }
                let (day, hour, _) = local(at);
                if !matches!(parts.last(), Some(p) if (p.day, p.hour) == (day, hour)) {
                    parts.push(HourPart {
                        day,
                        hour,
                        ..HourPart::default()
                    });
                }
                let p = parts.last_mut().unwrap();
                if productive {
                    p.productive += c - at;
                } else {
                    p.idle += c - at;
                }
                at = c;
            }
        });
        parts
    }

    /// An independent after-hours cut (SPEC 10.2): each productive span
    /// stepped through minute by minute of UTC (the zones tested have
    /// offsets of whole minutes, so local minutes start there), each part
    /// judged by its start's local date and time of day, the outside ones
    /// added up per local date.
    fn session_outside(
        keys: &[i64],
        zone: &Zone,
        work: &WorkHours,
        idle_after: Option<Micros>,
    ) -> Vec<OutsidePart> {
        let mut parts: Vec<OutsidePart> = Vec::new();
        crate::kernel::span::for_each_span(keys, idle_after, |t0, len, productive| {
            if !productive {
                return;
            }
            let end = t0 + len;
            let mut at = t0;
            while at < end {
                let cut = end.min((at.div_euclid(US_PER_MIN) + 1) * US_PER_MIN);
                let wall = zone.to_wall(at);
                let (day, tod) = (wall.div_euclid(US_PER_DAY), wall.rem_euclid(US_PER_DAY));
                let weekday = (day + 3).rem_euclid(7) as usize; // 1970-01-01 a Thursday
                let inside = work.days[weekday] && work.start <= tod && tod < work.end;
                if !inside {
                    match parts.iter_mut().find(|p| p.day == day) {
                        Some(p) => {
                            p.end = cut;
                            p.total += cut - at;
                        }
                        None => parts.push(OutsidePart {
                            day,
                            start: at,
                            end: cut,
                            total: cut - at,
                        }),
                    }
                }
                at = cut;
            }
        });
        parts
    }

    fn t(text: &str) -> Micros {
        Zone::default().resolve(parse_time(text).unwrap()).unwrap()
    }

    /// Two events at one instant make a productive span of no length: it
    /// adds no outside part, and does not move the end of the row before it
    /// (found by the Spark engine on a generated 10M-event log).
    #[test]
    fn a_span_of_no_length_is_no_outside_part() {
        let zone = Zone::default();
        let work = WorkHours::default();
        let keys = [
            pack(t("2021-04-05T06:30:00Z"), Kind::Activity),
            pack(t("2021-04-05T06:31:00Z"), Kind::Activity),
            pack(t("2021-04-05T06:31:00Z"), Kind::Idle),
            pack(t("2021-04-05T06:50:00Z"), Kind::Activity),
            pack(t("2021-04-05T06:50:00Z"), Kind::Logout),
        ];
        let want = vec![OutsidePart {
            day: local_day(&zone, t("2021-04-05T06:30:00Z")),
            start: t("2021-04-05T06:30:00Z"),
            end: t("2021-04-05T06:31:00Z"),
            total: US_PER_MIN,
        }];
        assert_eq!(
            session_outside(&keys, &zone, &work, Some(15 * US_PER_MIN)),
            want
        );
        let mut days = RunningDays::default();
        let mut starts = DayStarts::new(zone, work);
        let mut prev = None;
        for &k in &keys {
            days.add_event(prev, k, NO_FOCUS, Some(15 * US_PER_MIN), &mut starts);
            prev = Some(k);
        }
        assert_eq!(days.take().outside, want);
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
    fn running_day_parts_equal_the_stored_ones() {
        use crate::kernel::{Running, SessionStats};
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
        // DST changes, a zone whose clocks skip midnight, a zone that skipped a whole day
        for (zone, around) in [
            ("UTC", "2021-03-28T00:00:00Z"),
            ("Europe/Berlin", "2021-03-28T01:00:00Z"),
            ("Europe/Berlin", "2021-10-31T01:00:00Z"),
            ("America/Havana", "2021-03-14T05:00:00Z"),
            ("Pacific/Apia", "2011-12-30T10:00:00Z"),
            ("Australia/Lord_Howe", "2021-10-02T15:30:00Z"),
            ("Asia/Kathmandu", "1985-12-31T18:30:00Z"),
            // instants before 1970: negative microseconds
            ("America/New_York", "1970-01-01T00:00:00Z"),
        ] {
            let zone: Zone = zone.parse().unwrap();
            let mid = t(around);
            for case in 0..400 {
                let hour = 3_600_000_000i64;
                let mut keys: Vec<i64> = (0..rng.random_range(1..10))
                    .map(|_| {
                        // some events exactly at whole hours (midnights among them)
                        let at = if rng.random_bool(0.3) {
                            mid + rng.random_range(-60..60) * hour
                        } else {
                            mid + rng.random_range(-60 * hour..60 * hour)
                        };
                        pack(at, Kind::from_bits(rng.random_range(0..4)))
                    })
                    .collect();
                keys.sort_unstable();
                let bound = |rng: &mut rand_pcg::Pcg64Mcg| {
                    rng.random_bool(0.5)
                        .then(|| mid + rng.random_range(-60 * hour..60 * hour))
                };
                let settings = Settings {
                    start: bound(&mut rng),
                    end: bound(&mut rng),
                    // whole hours, so that some gaps equal the limit exactly
                    idle_after: rng.random_bool(0.7).then(|| rng.random_range(0..20) * hour),
                };
                // work hours on whole minutes, some on the hour, some to 24:00
                let minute = |rng: &mut rand_pcg::Pcg64Mcg| {
                    rng.random_range(0..=24 * 4) * 15 * US_PER_MIN
                        + if rng.random_bool(0.3) {
                            7 * US_PER_MIN
                        } else {
                            0
                        }
                };
                let (a, b) = (minute(&mut rng), minute(&mut rng));
                let work = WorkHours {
                    start: a.min(b).min(US_PER_DAY - US_PER_MIN),
                    end: a.max(b).max(a.min(b) + US_PER_MIN).min(US_PER_DAY),
                    days: std::array::from_fn(|_| rng.random_bool(0.6)),
                };
                let mut running = Running::<RunningDays>::default();
                let mut starts = DayStarts::new(zone, work);
                for &k in &keys {
                    running.add(k, NO_FOCUS, &settings, &mut starts);
                }
                let g =
                    Grouped::from_rows(&vec![0; keys.len()], &keys, vec![SessionMeta::example(1)]);
                let sel: Vec<SessionStats> = select(&g, &settings);
                let stored = day_parts(&g, &sel, &zone, &work, settings.idle_after);
                let reference: Vec<SessionParts> = sel
                    .iter()
                    .map(|st| {
                        let days = DayTable::new(&zone, st.login, st.logout);
                        SessionParts {
                            days: session_days(&g, st, &days, settings.idle_after),
                            hours: session_hours(g.window(st), &zone, settings.idle_after),
                            outside: session_outside(
                                g.window(st),
                                &zone,
                                &work,
                                settings.idle_after,
                            ),
                            focus: Vec::new(),
                        }
                    })
                    .collect();
                assert_eq!(
                    stored, reference,
                    "{zone:?} case {case}: {keys:?} {settings:?}"
                );
                for (st, p) in sel.iter().zip(&stored) {
                    let sum = |f: fn(&HourPart) -> Micros| p.hours.iter().map(f).sum::<Micros>();
                    assert_eq!(sum(|h| h.productive), st.productive);
                    assert_eq!(sum(|h| h.idle), st.idle());
                }
                let got = if sel.is_empty() {
                    vec![]
                } else {
                    vec![running.days.clone().take()]
                };
                assert_eq!(got, stored, "{zone:?} case {case}: {keys:?} {settings:?}");
                // Hours alone, running and stored, are the same hours.
                let mut alone = Running::<hours::RunningHours>::default();
                let mut cuts = HourCuts::new(zone);
                for &k in &keys {
                    alone.add(k, NO_FOCUS, &settings, &mut cuts);
                }
                let hours_of = |p: &[SessionParts]| -> Vec<Vec<HourPart>> {
                    p.iter().map(|p| p.hours.clone()).collect()
                };
                let stored_alone = hours::hour_parts(&g, &sel, &zone, settings.idle_after);
                assert_eq!(hours_of(&stored_alone), hours_of(&stored), "case {case}");
                if !sel.is_empty() {
                    assert_eq!(
                        alone.days.clone().take().hours,
                        stored[0].hours,
                        "case {case}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_span_across_midnight_is_split() {
        let berlin: Zone = "Europe/Berlin".parse().unwrap();
        // 23:50 local (22:50Z, winter) to 00:05 next day: 10 + 5 minutes, productive
        // with idle_after 15m; then a 40 minute idle span to 00:45.
        let g = Grouped::from_rows(
            &[0, 0, 0],
            &[
                pack(t("2021-01-10T22:50:00Z"), Kind::Activity),
                pack(t("2021-01-10T23:05:00Z"), Kind::Activity),
                pack(t("2021-01-10T23:45:00Z"), Kind::Logout),
            ],
            vec![SessionMeta::example(1)],
        );
        let sel = select(&g, &Settings::whole(Some(15 * US_PER_MIN)));
        let users = daily_users(
            &g.sessions,
            &sel,
            &day_parts(
                &g,
                &sel,
                &berlin,
                &WorkHours::default(),
                Some(15 * US_PER_MIN),
            ),
        );
        assert_eq!(users.len(), 2);
        let (a, b) = (&users[0], &users[1]);
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
        let g = Grouped::from_rows(
            &[0, 0],
            &[
                pack(t("2021-01-01T12:00:00Z"), Kind::Activity),
                pack(t("2021-01-03T12:00:00Z"), Kind::Activity),
            ],
            vec![SessionMeta::example(1)],
        );
        let sel = select(&g, &Settings::whole(None));
        let clients = daily_clients(
            &g.sessions,
            &sel,
            &day_parts(&g, &sel, &Zone::default(), &WorkHours::default(), None),
        );
        let durations: Vec<_> = clients
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
