//! What comes back: Arrow columns read into each selected session's
//! attributes, answer and calendar groups.

use super::*;
use crate::load::focus::Dict;
use crate::model::{Focus, NOT_GIVEN};
use crate::rollup::focus::FocusPart;

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

/// An id column as it comes back: numbers, or with `--id-keys` the keys.
pub(crate) enum Ids<'a> {
    Num(&'a Int64Array),
    Key(Texts<'a>),
}

impl Ids<'_> {
    pub(crate) fn of<'a>(b: &'a RecordBatch, name: &str, keyed: bool) -> Ids<'a> {
        match keyed {
            true => Ids::Key(texts(b, name)),
            false => Ids::Num(i64s(b, name)),
        }
    }

    /// Row `i`'s id (an int32 on this side of the wire) and key.
    pub(crate) fn get(&self, i: usize) -> (i32, Option<Box<str>>) {
        match self {
            Ids::Num(a) => (a.value(i) as i32, None),
            Ids::Key(t) => (0, Some(t.value(i).into())),
        }
    }

    /// Row `i`'s session, as the answers and parts are matched by.
    pub(crate) fn sid(&self, i: usize) -> Sid {
        match self {
            Ids::Num(a) => Sid::Id(a.value(i)),
            Ids::Key(t) => Sid::Key(t.value(i).into()),
        }
    }
}

/// A session as Spark names it: its id, or its key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Sid {
    Id(i64),
    Key(Box<str>),
}

impl Sid {
    pub(crate) fn of(meta: &SessionMeta) -> Sid {
        match &meta.session_key {
            Some(k) => Sid::Key(k.clone()),
            None => Sid::Id(i64::from(meta.session_id)),
        }
    }
}

/// A text column that may be all null (Spark may send such a column as
/// the Arrow null type).
pub(crate) struct MaybeTexts<'a>(Option<Texts<'a>>);

impl<'a> MaybeTexts<'a> {
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        self.0
            .as_ref()
            .filter(|t| !t.is_null(i))
            .map(|t| t.value(i))
    }
}

pub(crate) fn texts_or_null<'a>(b: &'a RecordBatch, name: &str) -> MaybeTexts<'a> {
    let c = col(b, name);
    MaybeTexts((c.data_type() != &arrow_schema::DataType::Null).then(|| Texts(c)))
}

/// The `app` and `url` texts met in a run's parts, each given an id once
/// by the local loader's dictionary (`load::focus::Dict`), and foregrounds
/// made of them.
#[derive(Default)]
pub(crate) struct FocusTexts([Dict; 2]);

impl FocusTexts {
    /// The foreground of an application and a URL, either not given.
    pub(crate) fn focus(&mut self, app: Option<&str>, url: Option<&str>) -> Focus {
        let [apps, urls] = &mut self.0;
        let id = |d: &mut Dict, t: Option<&str>| t.map_or(NOT_GIVEN, |t| d.id(t));
        crate::model::focus(id(apps, app), id(urls, url))
    }

    pub(crate) fn into_texts(self) -> [Vec<std::sync::Arc<str>>; 2] {
        self.0.map(Dict::into_texts)
    }
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
    /// The events in the group.
    pub(crate) events: i64,
    /// The productive time's foreground and its hour block's UTC offset
    /// in seconds, when it has one (SPEC 13.1).
    pub(crate) foreground: Option<(Focus, i32)>,
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
    out.focus = focus_parts(&groups);
    out
}

/// The focus parts of a session's groups, as `RunningFocus` keeps them:
/// per hour block (local date, hour, offset) in time order, one part per
/// foreground with productive time.
fn focus_parts(groups: &[Group]) -> Vec<FocusPart> {
    type Block = (i64, u8, i32);
    let mut blocks: BTreeMap<Block, (Micros, Vec<FocusPart>)> = BTreeMap::new();
    for g in groups.iter().filter(|g| g.productive > 0) {
        let Some((foreground, offset)) = g.foreground else {
            continue;
        };
        let block = blocks
            .entry((g.hday, g.hour, offset))
            .or_insert((g.at, Vec::new()));
        block.0 = block.0.min(g.at);
        match block.1.iter_mut().find(|p| p.foreground == foreground) {
            Some(p) => p.productive += g.productive,
            None => block.1.push(FocusPart {
                day: g.hday,
                hour: g.hour,
                offset,
                foreground,
                productive: g.productive,
            }),
        }
    }
    let mut blocks: Vec<(Micros, Vec<FocusPart>)> = blocks.into_values().collect();
    blocks.sort_by_key(|b| b.0);
    blocks.into_iter().flat_map(|b| b.1).collect()
}
