//! What comes back: Arrow columns read into each selected session's
//! attributes, answer and calendar groups.

use super::*;

pub(crate) fn col<'a>(b: &'a RecordBatch, name: &str) -> &'a dyn Array {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("the engine's query returns {name}"))
        .as_ref()
}

pub(crate) fn i64s<'a>(b: &'a RecordBatch, name: &str) -> &'a Int64Array {
    col(b, name)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap_or_else(|| panic!("{name} is BIGINT"))
}

/// A text column, as whichever Arrow string type the server sends.
pub(crate) struct Texts<'a>(&'a dyn Array);

impl<'a> Texts<'a> {
    pub(crate) fn is_null(&self, i: usize) -> bool {
        self.0.is_null(i)
    }

    pub(crate) fn value(&self, i: usize) -> &'a str {
        let a = self.0.as_any();
        if let Some(a) = a.downcast_ref::<StringArray>() {
            a.value(i)
        } else if let Some(a) = a.downcast_ref::<LargeStringArray>() {
            a.value(i)
        } else if let Some(a) = a.downcast_ref::<StringViewArray>() {
            a.value(i)
        } else {
            panic!("a text column is {:?}", self.0.data_type())
        }
    }
}

pub(crate) fn texts<'a>(b: &'a RecordBatch, name: &str) -> Texts<'a> {
    Texts(col(b, name))
}

pub(crate) fn opt(a: &Int64Array, i: usize) -> Option<i64> {
    a.is_valid(i).then(|| a.value(i))
}

/// One calendar group of one session in one window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    pub(crate) dday: i64,
    pub(crate) hday: i64,
    pub(crate) hour: u8,
    pub(crate) outside: bool,
    pub(crate) productive: Micros,
    pub(crate) idle: Micros,
    pub(crate) plo: Option<Micros>,
    pub(crate) phi: Option<Micros>,
    pub(crate) at: Micros,
    pub(crate) first_event: Option<Micros>,
    pub(crate) last_event: Option<Micros>,
}

/// A session's parts from its calendar groups, as `RunningDays` keeps them:
/// a day part for every day from its first to its last (a day the zone
/// skips has one of length 0), hour parts of positive length in time
/// order, and its productive time outside work hours per local date.
pub(crate) fn session_parts(groups: Vec<Group>, parts: Parts) -> SessionParts {
    let mut out = SessionParts::default();
    if parts == Parts::All {
        let mut days: BTreeMap<i64, DayPart> = BTreeMap::new();
        for g in &groups {
            let d = days.entry(g.dday).or_insert(DayPart {
                day: g.dday,
                ..DayPart::default()
            });
            d.first_event = match (d.first_event, g.first_event) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            d.last_event = d.last_event.max(g.last_event);
            d.duration += g.productive + g.idle;
            d.productive += g.productive;
            d.idle += g.idle;
        }
        if let (Some(&first), Some(&last)) = (days.keys().next(), days.keys().next_back()) {
            for day in first..=last {
                days.entry(day).or_insert(DayPart {
                    day,
                    ..DayPart::default()
                });
            }
        }
        out.days = days.into_values().collect();
        let mut outside: BTreeMap<i64, OutsidePart> = BTreeMap::new();
        for g in groups.iter().filter(|g| g.outside && g.productive > 0) {
            let (lo, hi) = (g.plo.expect("productive"), g.phi.expect("productive"));
            let o = outside.entry(g.hday).or_insert(OutsidePart {
                day: g.hday,
                start: lo,
                end: hi,
                total: 0,
            });
            o.start = o.start.min(lo);
            o.end = o.end.max(hi);
            o.total += g.productive;
        }
        out.outside = outside.into_values().collect();
        out.outside.sort_by_key(|o| o.start);
    }
    let mut hours: BTreeMap<(i64, u8), (Micros, HourPart)> = BTreeMap::new();
    for g in groups.iter().filter(|g| g.productive + g.idle > 0) {
        let h = hours.entry((g.hday, g.hour)).or_insert((
            g.at,
            HourPart {
                day: g.hday,
                hour: g.hour,
                ..HourPart::default()
            },
        ));
        h.0 = h.0.min(g.at);
        h.1.productive += g.productive;
        h.1.idle += g.idle;
    }
    let mut hours: Vec<(Micros, HourPart)> = hours.into_values().collect();
    hours.sort_by_key(|h| h.0);
    out.hours = hours.into_iter().map(|h| h.1).collect();
    out
}
