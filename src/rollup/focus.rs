//! What people worked on (SPEC 13): each productive span's time goes to the
//! session's foreground as it stood after the span's first event, cut at
//! the hour blocks of 8.2 (local hour starts and offset changes). From
//! those parts come Application and URL Statistics (per session and hour,
//! 13.3-13.4) and `daily_app`/`daily_site` (per day and user, 13.5).
//!
//! Only time with a foreground is kept as parts; a day's time without an
//! application (or a site) is its productive time less the parts that have
//! one, so the tables add up to `daily_user` by construction, and a log
//! without the columns costs nothing in the pass over its spans.

use super::hours::{HourCuts, Users};
use super::{SessionParts, UserKey};
use crate::kernel::span::productive;
use crate::kernel::SessionStats;
use crate::model::{app_of, follow, ts_of, url_of, Focus, SessionMeta, NOT_GIVEN, NO_FOCUS};
use crate::time::{Micros, US_PER_HOUR, US_PER_SEC};
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::Arc;

/// A session's productive time in one hour block with one foreground.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FocusPart {
    /// The block's local day number and hour, and the zone's offset there
    /// in seconds: what 13.3 calls its hour.
    pub day: i64,
    pub hour: u8,
    pub offset: i32,
    pub foreground: Focus,
    pub productive: Micros,
}

/// A session's focus parts built as its spans arrive in time order: one
/// part per (hour block, foreground), whatever the order of switches
/// within the hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunningFocus {
    parts: Vec<FocusPart>,
    /// The parts of the block met last are `parts[block_first..]`.
    block_first: usize,
    /// That block's end, day, hour and offset.
    end: Micros,
    block: (i64, u8, i32),
}

impl RunningFocus {
    /// The parts, in time order of their blocks; leaves none behind.
    pub fn take(&mut self) -> Vec<FocusPart> {
        self.block_first = 0;
        std::mem::take(&mut self.parts)
    }

    /// Adds the productive span `[from, to)` with foreground `fg`.
    #[inline]
    pub fn add_span(&mut self, from: Micros, to: Micros, fg: Focus, cuts: &mut HourCuts) {
        let mut at = from;
        while at < to {
            if self.parts.is_empty() || at >= self.end {
                let b = cuts.block(at);
                self.block_first = self.parts.len();
                self.end = b.end;
                self.block = (b.day, b.hour, cuts.offset_secs(b.from));
            }
            let cut = to.min(self.end);
            match self.parts[self.block_first..]
                .iter_mut()
                .find(|p| p.foreground == fg)
            {
                Some(p) => p.productive += cut - at,
                None => {
                    let (day, hour, offset) = self.block;
                    self.parts.push(FocusPart {
                        day,
                        hour,
                        offset,
                        foreground: fg,
                        productive: cut - at,
                    });
                }
            }
            at = cut;
        }
    }
}

/// One session's focus parts in a window: `keys[lo..hi]` are its events
/// inside it, `focus` every event's cells, the foreground followed from
/// its first event (SPEC 13.1).
pub fn session_focus(
    keys: &[i64],
    focus: &[Focus],
    (lo, hi): (usize, usize),
    idle_after: Option<Micros>,
    cuts: &mut HourCuts,
) -> Vec<FocusPart> {
    let mut fg = focus[..lo].iter().fold(NO_FOCUS, |fg, &f| follow(fg, f));
    let mut parts = RunningFocus::default();
    for i in lo..hi {
        fg = follow(fg, focus[i]);
        if let Some(&next) = keys.get(i + 1).filter(|_| i + 1 < hi) {
            let (from, to) = (ts_of(keys[i]), ts_of(next));
            if fg != NO_FOCUS && productive(keys[i], to - from, idle_after) {
                parts.add_span(from, to, fg, cuts);
            }
        }
    }
    parts.take()
}

/// The site of a URL (SPEC 13.2).
pub fn site_of(url: &str) -> Cow<'_, str> {
    let rest = url.find("://").map_or(url, |i| &url[i + 3..]);
    let mut host = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if let Some(i) = host.rfind('@') {
        host = &host[i + 1..];
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i + 1..];
        // A colon inside an IPv6 literal's brackets is no port's.
        let bracketed = host[..i].contains('[') && !host[..i].contains(']');
        if !bracketed && port.bytes().all(|b| b.is_ascii_digit()) {
            host = &host[..i];
        }
    }
    let lower = host.to_ascii_lowercase();
    let site = lower.strip_prefix("www.").unwrap_or(&lower);
    if site.is_empty() {
        Cow::Borrowed(url)
    } else {
        Cow::Owned(site.to_string())
    }
}

/// Which half of the foreground a table is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The application (`getapp`, `daily_app`).
    App,
    /// The site of the URL (`geturl`, `daily_site`).
    Site,
}

/// The keys of one table: their texts, each id of the foreground's half
/// mapped to its key, and each key's rank in code point order.
pub struct Keys {
    pub texts: Vec<Arc<str>>,
    /// Per app (or url) id, its key.
    of: Vec<u32>,
    /// Per key, its rank among the texts in code point order.
    rank: Vec<u32>,
    which: Which,
}

impl Keys {
    /// From a run's texts by id (`app` or `url`, as `which` says).
    pub fn new(which: Which, texts: &[Arc<str>]) -> Keys {
        let (texts, of): (Vec<Arc<str>>, Vec<u32>) = match which {
            Which::App => (texts.to_vec(), (0..texts.len() as u32).collect()),
            Which::Site => {
                let mut ids: std::collections::HashMap<Arc<str>, u32> = Default::default();
                let mut sites: Vec<Arc<str>> = Vec::new();
                let of = texts
                    .iter()
                    .map(|url| {
                        let site: Arc<str> = site_of(url).into();
                        *ids.entry(site.clone()).or_insert_with(|| {
                            sites.push(site);
                            sites.len() as u32 - 1
                        })
                    })
                    .collect();
                (sites, of)
            }
        };
        let mut order: Vec<u32> = (0..texts.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| texts[a as usize].cmp(&texts[b as usize]));
        let mut rank = vec![0; texts.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k as usize] = r as u32;
        }
        Keys {
            texts,
            of,
            rank,
            which,
        }
    }

    /// The key of a foreground, `NOT_GIVEN` for none.
    #[inline]
    pub fn key(&self, fg: Focus) -> u32 {
        let half = match self.which {
            Which::App => app_of(fg),
            Which::Site => url_of(fg),
        };
        match half {
            NOT_GIVEN => NOT_GIVEN,
            id => self.of[id as usize],
        }
    }

    pub fn text(&self, key: u32) -> &str {
        &self.texts[key as usize]
    }
}

/// One object of Application (or URL) Statistics: a selected session's
/// productive time per key in one hour, largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourStat {
    /// The session's place in the selection.
    pub at: usize,
    pub day: i64,
    pub hour: u8,
    pub offset: i32,
    /// (productive time, key), by time descending, then key text.
    pub data: Vec<(Micros, u32)>,
}

impl HourStat {
    /// The instant `timeOfDay` denotes: the local hour's start in this offset.
    pub fn label_instant(&self) -> Micros {
        (self.day * 24 + i64::from(self.hour)) * US_PER_HOUR - i64::from(self.offset) * US_PER_SEC
    }
}

/// Application (or URL) Statistics for a selection (SPEC 13.3, 13.4): per
/// session in selection order, per hour in order of the instant its label
/// denotes, the keys with productive time.
pub fn hour_stats(parts: &[SessionParts], keys: &Keys) -> Vec<HourStat> {
    parts
        .par_iter()
        .enumerate()
        .flat_map_iter(|(at, p)| {
            let mut out: Vec<HourStat> = Vec::new();
            for block in p
                .focus
                .chunk_by(|a, b| (a.day, a.hour, a.offset) == (b.day, b.hour, b.offset))
            {
                let mut data: Vec<(Micros, u32)> = Vec::new();
                for part in block {
                    let key = keys.key(part.foreground);
                    if key == NOT_GIVEN {
                        continue;
                    }
                    match data.iter_mut().find(|d| d.1 == key) {
                        Some(d) => d.0 += part.productive,
                        None => data.push((part.productive, key)),
                    }
                }
                data.retain(|d| d.0 > 0);
                if data.is_empty() {
                    continue;
                }
                data.sort_unstable_by(|a, b| {
                    b.0.cmp(&a.0)
                        .then_with(|| keys.text(a.1).cmp(keys.text(b.1)))
                });
                let first = block[0];
                out.push(HourStat {
                    at,
                    day: first.day,
                    hour: first.hour,
                    offset: first.offset,
                    data,
                });
            }
            out.sort_by_key(HourStat::label_instant);
            out
        })
        .collect()
}

/// One row of `daily_app` or `daily_site` (SPEC 13.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusRow<'a> {
    pub day: i64,
    pub user: UserKey<'a>,
    /// The key's text; `None` for time without one.
    pub key: Option<&'a str>,
    /// Sessions with productive time in this key that day.
    pub sessions: i64,
    pub productive: Micros,
}

/// `daily_app` (or `daily_site`): each selected session's productive time
/// per local day and key, added up per (day, user, key); ordered by day,
/// user (id, name), then key by code point, none last.
pub fn daily_focus<'a>(
    metas: &'a [SessionMeta],
    selection: &[SessionStats],
    parts: &[SessionParts],
    keys: &'a Keys,
) -> Vec<FocusRow<'a>> {
    let user_of = |st: &SessionStats| -> UserKey<'a> {
        let m = &metas[st.session as usize];
        (m.user_id, m.user_name.as_str(), m.user_key.as_deref())
    };
    let users_of: Vec<UserKey<'a>> = selection.par_iter().map(user_of).collect();
    let users = Users::new(&users_of);
    // Per session, its (day, key rank) sums, then the day's time without one.
    let mut all: Vec<(i64, u32, u32, Micros)> = users_of
        .par_iter()
        .zip(parts)
        .flat_map_iter(|(user, p)| {
            let column = users.by_id.binary_search(user).expect("a user") as u32;
            let mut mine: Vec<(i64, u32, Micros)> = p
                .focus
                .iter()
                .filter_map(|f| {
                    let key = keys.key(f.foreground);
                    (key != NOT_GIVEN).then(|| (f.day, keys.rank[key as usize], f.productive))
                })
                .collect();
            mine.sort_unstable_by_key(|e| (e.0, e.1));
            let mut merged: Vec<(i64, u32, u32, Micros)> = Vec::new();
            for (day, rank, us) in mine {
                match merged.last_mut() {
                    Some(m) if (m.0, m.2) == (day, rank) => m.3 += us,
                    _ => merged.push((day, column, rank, us)),
                }
            }
            let mut out: Vec<(i64, u32, u32, Micros)> = Vec::new();
            let mut keyed = merged.iter().peekable();
            for d in &p.days {
                let mut with_key = 0;
                while let Some(m) = keyed.next_if(|m| m.0 == d.day) {
                    with_key += m.3;
                    out.push(*m);
                }
                if d.productive > with_key {
                    out.push((d.day, column, u32::MAX, d.productive - with_key));
                }
            }
            debug_assert!(keyed.next().is_none(), "every part's day has a day part");
            out.retain(|e| e.3 > 0);
            out.into_iter()
        })
        .collect();
    all.par_sort_unstable_by_key(|e| (e.0, e.1, e.2));
    let mut by_rank: Vec<u32> = vec![0; keys.rank.len()];
    for (k, &r) in keys.rank.iter().enumerate() {
        by_rank[r as usize] = k as u32;
    }
    let mut rows: Vec<FocusRow<'a>> = Vec::new();
    let mut last = None;
    for (day, column, rank, us) in all {
        if last == Some((day, column, rank)) {
            let row = rows.last_mut().expect("a row");
            row.sessions += 1;
            row.productive += us;
            continue;
        }
        last = Some((day, column, rank));
        rows.push(FocusRow {
            day,
            user: users.by_id[column as usize],
            key: (rank != u32::MAX).then(|| keys.text(by_rank[rank as usize])),
            sessions: 1,
            productive: us,
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{group, select, Running, Settings, Stored};
    use crate::model::{focus, pack, Kind};
    use crate::rollup::{day_parts, findings::WorkHours, DayStarts, RunningDays};
    use crate::time::{parse_time, Zone, US_PER_DAY, US_PER_MIN};
    use rand::{RngExt, SeedableRng};
    use std::collections::BTreeMap;

    type Sums = BTreeMap<(i64, u8, i32, Focus), Micros>;

    /// SPEC 13.1 and 8.2 read plainly: sort a session's events by (time,
    /// kind, input order), replay the foreground over all of them, keep the
    /// productive spans between events inside the window, and cut each at
    /// every quarter hour of UTC where the local (day, hour) or the offset
    /// changes (the zones tested change only there), stepping through it.
    fn reference(events: &[(Micros, Kind, Focus)], settings: &Settings, zone: &Zone) -> Sums {
        let mut sorted: Vec<(Micros, Kind, Focus)> = events.to_vec();
        sorted.sort_by_key(|e| (e.0, e.1)); // stable: input order among ties
        let mut fg = NO_FOCUS;
        let after: Vec<Focus> = sorted
            .iter()
            .map(|e| {
                fg = follow(fg, e.2);
                fg
            })
            .collect();
        let inside = |t: Micros| {
            settings.start.is_none_or(|s| t >= s) && settings.end.is_none_or(|e| t <= e)
        };
        let label = |t: Micros| {
            let w = zone.to_wall(t);
            (
                w.div_euclid(US_PER_DAY),
                (w.rem_euclid(US_PER_DAY) / US_PER_HOUR) as u8,
                zone.offset_at(t),
            )
        };
        const Q: Micros = 15 * US_PER_MIN;
        let mut sums = Sums::new();
        for j in 0..sorted.len().saturating_sub(1) {
            let ((t0, k0, _), (t1, _, _)) = (sorted[j], sorted[j + 1]);
            let productive =
                k0.starts_work() && t1 - t0 <= settings.idle_after.unwrap_or(Micros::MAX);
            if !inside(t0) || !inside(t1) || !productive || after[j] == NO_FOCUS {
                continue;
            }
            let mut at = t0;
            let mut m = (t0.div_euclid(Q) + 1) * Q;
            while at < t1 {
                while m < t1 && label(m) == label(m - 1) {
                    m += Q;
                }
                let cut = m.min(t1);
                let (day, hour, offset) = label(at);
                *sums.entry((day, hour, offset, after[j])).or_default() += cut - at;
                at = cut;
                m += Q;
            }
        }
        sums
    }

    fn sums(parts: &[FocusPart]) -> Sums {
        let mut out = Sums::new();
        for p in parts {
            *out.entry((p.day, p.hour, p.offset, p.foreground))
                .or_default() += p.productive;
        }
        out.retain(|_, v| *v > 0);
        out
    }

    fn t(text: &str) -> Micros {
        Zone::default().resolve(parse_time(text).unwrap()).unwrap()
    }

    /// The running answer, the stored one (over shuffled rows) and the
    /// server's cut of kept events each equal the plain reading, in zones
    /// with DST, half- and quarter-hour offsets and a skipped midnight;
    /// the daily tables add up to the day parts.
    #[test]
    fn every_path_gives_the_plain_reading() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(13);
        let hour = US_PER_HOUR;
        for (zone, around) in [
            ("Europe/Berlin", "2021-03-28T01:00:00Z"),
            ("Europe/Berlin", "2021-10-31T01:00:00Z"),
            ("Australia/Lord_Howe", "2021-04-03T15:00:00Z"),
            ("Australia/Lord_Howe", "2021-10-02T15:30:00Z"),
            ("Asia/Kathmandu", "1985-12-31T18:30:00Z"),
            ("America/Havana", "2021-03-14T05:00:00Z"),
            ("UTC", "2021-01-01T00:00:00Z"),
        ] {
            let zone: Zone = zone.parse().unwrap();
            let mid = t(around);
            for case in 0..300 {
                let n = rng.random_range(1..14);
                let events: Vec<(Micros, Kind, Focus)> = (0..n)
                    .map(|_| {
                        // a coarse grid makes ties of time and kind
                        let at = if rng.random_bool(0.4) {
                            mid + rng.random_range(-8..8) * 15 * US_PER_MIN
                        } else {
                            mid + rng.random_range(-4 * hour..4 * hour)
                        };
                        let cell = |rng: &mut rand_pcg::Pcg64Mcg, n: u32| {
                            if rng.random_bool(0.4) {
                                NOT_GIVEN
                            } else {
                                rng.random_range(0..n)
                            }
                        };
                        let (a, u) = (cell(&mut rng, 3), cell(&mut rng, 3));
                        let f = if (a, u) == (NOT_GIVEN, NOT_GIVEN) {
                            NO_FOCUS
                        } else {
                            focus(a, u)
                        };
                        (at, Kind::from_bits(rng.random_range(0..4)), f)
                    })
                    .collect();
                let bound = |rng: &mut rand_pcg::Pcg64Mcg| {
                    rng.random_bool(0.5)
                        .then(|| mid + rng.random_range(-4 * hour..4 * hour))
                };
                let settings = Settings {
                    start: bound(&mut rng),
                    end: bound(&mut rng),
                    idle_after: rng
                        .random_bool(0.8)
                        .then(|| rng.random_range(0..8) * 15 * US_PER_MIN),
                };
                let work = WorkHours::default();
                // Running: events in (time, kind) order, ties in input order.
                let mut sorted = events.clone();
                sorted.sort_by_key(|e| (e.0, e.1));
                let want = reference(&sorted, &settings, &zone);
                let mut running = Running::<RunningDays>::default();
                let mut starts = DayStarts::new(zone, work);
                for e in &sorted {
                    running.add(pack(e.0, e.1), e.2, &settings, &mut starts);
                }
                let got = running.stats(0).map(|_| running.days.take());
                let have = got.as_ref().map_or_else(Sums::new, |p| sums(&p.focus));
                assert_eq!(
                    have, want,
                    "running, {zone:?} case {case}: {sorted:?} {settings:?}"
                );
                // Stored: the same events in the input order drawn.
                let want = reference(&events, &settings, &zone);
                let stored = Stored {
                    keys: vec![events.iter().map(|e| pack(e.0, e.1)).collect()],
                    focus: Some(vec![events.iter().map(|e| e.2).collect()]),
                    ..Stored::default()
                };
                let g = group(stored, vec![SessionMeta::example(1)]);
                let sel = select(&g, &settings);
                let parts = day_parts(&g, &sel, &zone, &work, settings.idle_after);
                let have = parts.first().map_or_else(Sums::new, |p| sums(&p.focus));
                assert_eq!(
                    have, want,
                    "stored, {zone:?} case {case}: {events:?} {settings:?}"
                );
                // The server's cut of kept events.
                if let Some(st) = sel.first() {
                    let f = g.focus.as_ref().unwrap();
                    let mut cuts = HourCuts::new(zone);
                    let served = session_focus(
                        &g.keys[0],
                        &f[0],
                        (st.lo, st.hi),
                        settings.idle_after,
                        &mut cuts,
                    );
                    assert_eq!(sums(&served), want, "served, case {case}");
                    // daily_app and daily_site add up to the day's productive time.
                    let texts: Vec<Arc<str>> = ["b", "a", "c"].map(Arc::from).to_vec();
                    for which in [Which::App, Which::Site] {
                        let keys = Keys::new(which, &texts);
                        let rows = daily_focus(&g.sessions, &sel, &parts, &keys);
                        for d in &parts[0].days {
                            let sum: Micros = rows
                                .iter()
                                .filter(|r| r.day == d.day)
                                .map(|r| r.productive)
                                .sum();
                            assert_eq!(sum, d.productive, "case {case} day {}", d.day);
                        }
                        assert!(rows.iter().all(|r| r.productive > 0 && r.sessions == 1));
                        // by day, then key by code point, none last
                        let order =
                            |r: &FocusRow<'_>| (r.day, r.key.is_none(), r.key.map(str::to_string));
                        assert!(
                            rows.windows(2).all(|w| order(&w[0]) < order(&w[1])),
                            "{rows:?}"
                        );
                        // the hour objects hold the parts with a key, largest first
                        let stats = hour_stats(&parts, &keys);
                        let total: Micros = stats.iter().flat_map(|s| &s.data).map(|d| d.0).sum();
                        let keyed: Micros = rows
                            .iter()
                            .filter(|r| r.key.is_some())
                            .map(|r| r.productive)
                            .sum();
                        assert_eq!(total, keyed, "case {case}");
                        for s in &stats {
                            assert!(s.data.windows(2).all(|w| w[0].0 > w[1].0
                                || (w[0].0 == w[1].0 && keys.text(w[0].1) < keys.text(w[1].1))));
                        }
                        let instants: Vec<Micros> =
                            stats.iter().map(HourStat::label_instant).collect();
                        assert!(instants.windows(2).all(|w| w[0] < w[1]), "case {case}");
                    }
                }
            }
        }
    }

    /// Ten keys by time (ties by code point), one line for the rest, one for
    /// the time without a key; per user the same; the lines add up.
    #[test]
    fn top_lists_add_up() {
        let names: Vec<String> = (0..13).map(|i| format!("k{i:02}")).collect();
        let mut rows: Vec<FocusRow<'_>> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            // k00..k12 with 100 - i each, k03 and k04 tied; two days for k05
            let us = if i == 4 { 97 } else { 100 - i as i64 };
            for day in 0..if i == 5 { 2 } else { 1 } {
                rows.push(FocusRow {
                    day,
                    user: (1, "u", None),
                    key: Some(n),
                    sessions: 1,
                    productive: us,
                });
            }
        }
        rows.push(FocusRow {
            day: 0,
            user: (1, "u", None),
            key: None,
            sessions: 1,
            productive: 7,
        });
        rows.push(FocusRow {
            day: 0,
            user: (2, "v", None),
            key: Some("k12"),
            sessions: 1,
            productive: 5,
        });
        let tops = Tops::of(&rows);
        let keys: Vec<TopKey> = tops.window.iter().map(|l| l.0.clone()).collect();
        let want: Vec<TopKey> = [
            "k05", "k00", "k01", "k02", "k03", "k04", "k06", "k07", "k12", "k08",
        ]
        .iter()
        .map(|k| TopKey::Key(k.to_string()))
        .chain([TopKey::Other(3), TopKey::None])
        .collect();
        assert_eq!(keys, want);
        let total: Micros = rows.iter().map(|r| r.productive).sum();
        assert_eq!(tops.window.iter().map(|l| l.1).sum::<Micros>(), total);
        // k12 has user v's time too: 88 + 5, tied with k07, after it by code point
        assert_eq!(tops.window[10].1, 91 + 90 + 89);
        assert_eq!(
            tops.of_user(&(2, "v", None)).unwrap(),
            &vec![(TopKey::Key("k12".into()), 5)]
        );
        assert_eq!(tops.of_user(&(3, "w", None)), None);
    }

    #[test]
    fn sites_follow_spec_13_2() {
        for (url, site) in [
            ("https://www.Example.com:8443/a?b#c", "example.com"),
            ("http://user:pw@Mail.example.org/inbox", "mail.example.org"),
            ("example.com/path", "example.com"),
            ("HTTPS://WWW.WWW.example.com", "www.example.com"),
            ("http://[::1]:8080/x", "[::1]"),
            ("http://[fe80::1]/", "[fe80::1]"),
            ("http://host:/", "host"),
            ("http://host:80a/", "host:80a"),
            ("about:blank", "about:blank"),
            ("file:///C:/x.pdf", "file:///C:/x.pdf"),
            ("https://www./", "https://www./"),
            ("news.ycombinator.com?id=1", "news.ycombinator.com"),
            ("https://a@b@c.com#x", "c.com"),
            ("  Spaced.com ", "  spaced.com "),
        ] {
            assert_eq!(site_of(url), site, "{url}");
        }
    }

    #[test]
    fn keys_rank_by_code_point_and_sites_merge() {
        let urls: Vec<Arc<str>> = [
            "https://b.com/1",
            "https://a.com",
            "http://B.com/2",
            "Z.com",
        ]
        .map(Arc::from)
        .to_vec();
        let keys = Keys::new(Which::Site, &urls);
        let texts: Vec<&str> = keys.texts.iter().map(|t| &**t).collect();
        assert_eq!(texts, ["b.com", "a.com", "z.com"]);
        assert_eq!(keys.of, [0, 1, 0, 2]);
        assert_eq!(keys.rank, [1, 0, 2]);
        assert_eq!(keys.key(crate::model::focus(NOT_GIVEN, 2)), 0);
        assert_eq!(keys.key(crate::model::focus(5, NOT_GIVEN)), NOT_GIVEN);
    }
}

/// How many keys a top list names before its "other" line.
pub const TOP: usize = 10;

/// One line of a top list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopKey {
    Key(String),
    /// The keys past the first `TOP`, and how many.
    Other(usize),
    /// Time without a key.
    None,
}

/// A top list: the `TOP` keys with the most time (then by key), one line
/// for the rest, one for the time without a key; its lines add up to the
/// whole.
pub type TopList = Vec<(TopKey, Micros)>;

/// A user's id, name and key, owned.
pub type OwnedUser = (i32, String, Option<String>);

/// What the page shows of a daily table: its top list over the window and
/// per user (by user id, name, key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tops {
    pub window: TopList,
    pub users: Vec<(OwnedUser, TopList)>,
}

impl Tops {
    /// From `daily_focus`'s rows, in their order.
    pub fn of(rows: &[FocusRow<'_>]) -> Tops {
        fn list<'a>(rows: impl Iterator<Item = &'a FocusRow<'a>>) -> TopList {
            let mut by_key: Vec<(Option<&str>, Micros)> = Vec::new();
            let mut sums: std::collections::HashMap<Option<&str>, Micros> = Default::default();
            for r in rows {
                *sums.entry(r.key).or_default() += r.productive;
            }
            by_key.extend(sums);
            let none = by_key.iter().find(|k| k.0.is_none()).map_or(0, |k| k.1);
            by_key.retain(|k| k.0.is_some());
            by_key.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut out: TopList = by_key
                .iter()
                .take(TOP)
                .map(|k| (TopKey::Key(k.0.unwrap_or_default().to_string()), k.1))
                .collect();
            if by_key.len() > TOP {
                let rest = &by_key[TOP..];
                out.push((TopKey::Other(rest.len()), rest.iter().map(|k| k.1).sum()));
            }
            if none > 0 {
                out.push((TopKey::None, none));
            }
            out
        }
        let mut users: Vec<&FocusRow<'_>> = rows.iter().collect();
        users.sort_by_key(|r| r.user);
        Tops {
            window: list(rows.iter()),
            users: users
                .chunk_by(|a, b| a.user == b.user)
                .map(|rows| {
                    let u = rows[0].user;
                    (
                        (u.0, u.1.to_string(), u.2.map(str::to_string)),
                        list(rows.iter().copied()),
                    )
                })
                .collect(),
        }
    }

    /// One user's list.
    pub fn of_user(&self, user: &UserKey<'_>) -> Option<&TopList> {
        self.users
            .binary_search_by(|(u, _)| (u.0, u.1.as_str(), u.2.as_deref()).cmp(user))
            .ok()
            .map(|i| &self.users[i].1)
    }
}
