//! ActivityWatch exports as a source (SPEC 14): `{"buckets": {ID: {"type",
//! "hostname", "events": [...]}}}` as `aw-server` and `aw-server-rust`
//! write them. The file is read as a stream (serde's deserialiser visiting
//! buckets and events one at a time, never a whole `Value` tree): each
//! event of a used bucket keeps 24 bytes (start, length, and its `data`
//! object as an id, equal objects one id), and each distinct `data` object
//! its text once. Then, per host, `transform` turns the buckets into
//! sessionstat's events, which come out in batches like any other file's
//! rows: text keys for the session (`USER|HOST|TIME`, SPEC 9.2's form) and
//! the user, the host as the client, and the application and URL each event
//! carries.
//!
//! Each file is converted on its own: two exports of one host are two
//! histories, not one (docs/semantics.md).

pub mod transform;

use super::convert::BadCell;
use super::focus::Dict;
use super::inputs::InputFile;
use super::source::{Batch, Locate, Open, Place, Source};
use super::{At, LoadError};
use crate::time::Micros;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use transform::{cover, flood, intersect, steps, union, Ev};

/// What a file of this format holds at least (told of an empty file).
pub const NEEDS: &str =
    "an ActivityWatch export is a JSON object with a \"buckets\" object (GET /api/0/export)";

/// The reading of an export that the flags set (SPEC 14.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwOptions {
    /// `--aw-user`: the user of every host's sessions (default: the host).
    pub user: Option<String>,
    /// More than this without active time starts a session.
    pub gap: Micros,
}

impl Default for AwOptions {
    fn default() -> Self {
        AwOptions {
            user: None,
            gap: 30 * crate::time::US_PER_MIN,
        }
    }
}

/// `flood`'s pulse time as the web UI's canonical query uses it.
const PULSE: Micros = 5 * crate::time::US_PER_SEC;

/// Rows per batch.
const BATCH_ROWS: usize = 1 << 16;

/// The bucket types that are read; others are skipped unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Afk,
    Window,
    Web,
}

fn use_of(kind: &str) -> Option<Use> {
    match kind {
        "afkstatus" => Some(Use::Afk),
        "currentwindow" => Some(Use::Window),
        "web.tab.current" => Some(Use::Web),
        _ => None,
    }
}

/// The browsers' window names of `aw-client` 0.5.15
/// (`aw_client.queries.browser_appnames`, every list).
pub const BROWSER_APPS: &[&str] = &[
    "Google Chrome",
    "Google-chrome",
    "chrome.exe",
    "google-chrome-stable",
    "Chromium",
    "Chromium-browser",
    "Chromium-browser-chromium",
    "chromium.exe",
    "Google-chrome-beta",
    "Google-chrome-unstable",
    "Brave-browser",
    "Firefox",
    "Firefox.exe",
    "firefox",
    "firefox.exe",
    "Firefox Developer Edition",
    "firefoxdeveloperedition",
    "Firefox-esr",
    "Firefox Beta",
    "Nightly",
    "org.mozilla.firefox",
    "opera.exe",
    "Opera",
    "brave.exe",
    "msedge.exe",
    "Microsoft Edge",
    "Vivaldi-stable",
    "Vivaldi-snapshot",
    "vivaldi.exe",
];

/// The distinct `data` objects of a file, each once, with what is read of
/// them: equal objects (Python's `==` on dicts: keys in any order) share
/// an id.
#[derive(Default)]
struct Datas {
    /// By the object's text as written: a watcher writes equal objects
    /// alike, so nearly every event is one lookup, nothing parsed.
    written: HashMap<Box<str>, u32>,
    ids: HashMap<String, u32>,
    /// Per id: `status`, `app` and `url` where they are strings.
    fields: Vec<[Option<String>; 3]>,
}

impl Datas {
    /// The id of a `data` object as written (`None`: no `data`, as `{}`).
    fn id_of_text(&mut self, raw: Option<&str>) -> Result<u32, String> {
        let raw = raw.unwrap_or("{}");
        if let Some(&id) = self.written.get(raw) {
            return Ok(id);
        }
        let data: serde_json::Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        if !data.is_object() {
            return Err("the event's data is not an object".into());
        }
        let id = self.id(data);
        self.written.insert(raw.into(), id);
        Ok(id)
    }

    /// The id of a parsed `data` object: its text with every object's keys
    /// sorted, so that objects equal as Python compares dicts share an id.
    fn id(&mut self, mut data: serde_json::Value) -> u32 {
        data.sort_all_objects();
        let text = data.to_string();
        if let Some(&id) = self.ids.get(&text) {
            return id;
        }
        let field = |k: &str| data.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let id = self.fields.len() as u32;
        self.fields
            .push([field("status"), field("app"), field("url")]);
        self.ids.insert(text, id);
        id
    }
}

/// One bucket as read.
struct Bucket {
    id: String,
    kind: Option<String>,
    host: Option<String>,
    /// `None`: the bucket has no `events` (an error); empty for a bucket of
    /// a type not read.
    events: Option<Vec<Ev>>,
    /// Events that cannot be read: (index in the bucket, why).
    bad: Vec<(usize, String)>,
}

/// An event as it is in the file (other fields, like `id`, are skipped);
/// `data` kept as its text, looked up before it is parsed.
#[derive(serde::Deserialize)]
struct EventIn {
    timestamp: Option<serde_json::Value>,
    duration: Option<serde_json::Value>,
    data: Option<Box<serde_json::value::RawValue>>,
}

/// A timestamp as aw-core's `Event` keeps it: RFC 3339 (`iso8601`), no
/// offset meaning UTC, then cut to whole milliseconds (its
/// `_timestamp_parse`, for MongoDB's sake).
fn timestamp_of(v: &serde_json::Value) -> Result<Micros, String> {
    let text = v
        .as_str()
        .ok_or_else(|| format!("timestamp {v} is not a string"))?;
    let us = match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.timestamp_micros(),
        Err(_) => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|t| t.and_utc().timestamp_micros())
            .map_err(|_| format!("timestamp {text:?} is not an RFC 3339 time"))?,
    };
    Ok(us - us.rem_euclid(1000))
}

/// A duration in seconds (a JSON number) in microseconds, as Python's
/// `timedelta(seconds=x)` makes it: an integer exactly; a float split into
/// whole seconds and a fraction (`modf`), the fraction times 10^6 (a
/// double) to the nearest microsecond, ties to even (CPython's
/// `delta_new`; multiplying the whole value first rounds otherwise).
fn duration_of(v: &serde_json::Value) -> Result<Micros, String> {
    let us = if let Some(i) = v.as_i64() {
        i.checked_mul(1_000_000)
    } else if let Some(f) = v.as_f64() {
        (f.is_finite() && f.abs() < 9.2e12).then(|| {
            let seconds = f.trunc();
            let fraction = (f - seconds) * 1e6;
            let whole = fraction.trunc();
            let left = fraction - whole;
            let mut add = left.round();
            if (add - left).abs() == 0.5 {
                // Halfway: to the even total (whole seconds are even in us).
                let odd = (whole as i64 & 1) as f64;
                add = 2.0 * ((left + odd) * 0.5).round() - odd;
            }
            seconds as i64 * 1_000_000 + whole as i64 + add as i64
        })
    } else {
        return Err(format!("duration {v} is not a number"));
    };
    match us {
        Some(us) if us >= 0 => Ok(us),
        Some(_) => Err(format!("duration {v} is negative")),
        None => Err(format!("duration {v} is out of range")),
    }
}

/// The export's top level: its `buckets`, others keys skipped.
struct ExportSeed<'a>(&'a mut Datas);

impl<'de> DeserializeSeed<'de> for ExportSeed<'_> {
    type Value = Option<Vec<Bucket>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ExportSeed<'_> {
    type Value = Option<Vec<Bucket>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with \"buckets\"")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut buckets = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "buckets" {
                buckets = Some(map.next_value_seed(BucketsSeed(&mut *self.0))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(buckets)
    }
}

struct BucketsSeed<'a>(&'a mut Datas);

impl<'de> DeserializeSeed<'de> for BucketsSeed<'_> {
    type Value = Vec<Bucket>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BucketsSeed<'_> {
    type Value = Vec<Bucket>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of buckets by id")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(id) = map.next_key::<String>()? {
            let bucket = map.next_value_seed(BucketSeed {
                id,
                datas: &mut *self.0,
            })?;
            out.push(bucket);
        }
        Ok(out)
    }
}

struct BucketSeed<'a> {
    id: String,
    datas: &'a mut Datas,
}

impl<'de> DeserializeSeed<'de> for BucketSeed<'_> {
    type Value = Bucket;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BucketSeed<'_> {
    type Value = Bucket;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "bucket {:?} as an object", self.id)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut b = Bucket {
            id: self.id,
            kind: None,
            host: None,
            events: None,
            bad: Vec::new(),
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => b.kind = map.next_value()?,
                "hostname" => b.host = map.next_value()?,
                // A bucket of a type known not to be read: its events
                // are skipped unread (the usual order has the type first).
                "events" if b.kind.as_deref().is_some_and(|k| use_of(k).is_none()) => {
                    map.next_value::<IgnoredAny>()?;
                    b.events = Some(Vec::new());
                }
                "events" => {
                    let mut events = Vec::new();
                    map.next_value_seed(EventsSeed {
                        datas: &mut *self.datas,
                        events: &mut events,
                        bad: &mut b.bad,
                    })?;
                    b.events = Some(events);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(b)
    }
}

struct EventsSeed<'a> {
    datas: &'a mut Datas,
    events: &'a mut Vec<Ev>,
    bad: &'a mut Vec<(usize, String)>,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(e) = seq.next_element::<Loose>()? {
            match read_event(e, self.datas) {
                Ok(ev) => self.events.push(ev),
                Err(why) => self.bad.push((index, why)),
            }
            index += 1;
        }
        Ok(())
    }
}

/// An element of `events`: an event object, or anything else (a bad row,
/// not the end of the reading).
enum Loose {
    Event(EventIn),
    Other(String),
}

impl<'de> serde::Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Objects go straight into `EventIn`; anything else is kept as text.
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an event")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Loose, A::Error> {
                let de = serde::de::value::MapAccessDeserializer::new(map);
                <EventIn as serde::Deserialize>::deserialize(de).map(Loose::Event)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::Other("a list".into()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Other(format!("{v:?}")))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Loose, E> {
                Ok(Loose::Other(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose::Other(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose::Other(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Loose, E> {
                Ok(Loose::Other(v.to_string()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Loose, E> {
                Ok(Loose::Other("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One event of the file, or why it cannot be read.
fn read_event(e: Loose, datas: &mut Datas) -> Result<Ev, String> {
    let e = match e {
        Loose::Event(e) => e,
        Loose::Other(what) => return Err(format!("{what} is not an event object")),
    };
    let start = timestamp_of(e.timestamp.as_ref().ok_or("the event has no timestamp")?)?;
    let dur = match &e.duration {
        // aw-core's Event takes a missing duration as 0.
        None => 0,
        Some(d) => duration_of(d)?,
    };
    let data = datas.id_of_text(e.data.as_deref().map(|r| r.get()))?;
    Ok(Ev { start, dur, data })
}

/// One row this source gives: a step of a host, or a bad event.
enum Row {
    Step {
        host: usize,
        step: transform::Step,
    },
    Bad {
        bucket: String,
        index: usize,
        why: String,
    },
}

/// An export being read: converted whole at the first batch (not when
/// opened: planning opens a file only to estimate its rows), then given out
/// in batches.
pub struct AwSource {
    file: InputFile,
    aw: AwOptions,
    size: u64,
    converted: Option<Converted>,
    /// Next row to give.
    at: usize,
}

/// An export turned into rows.
struct Converted {
    rows: Vec<Row>,
    hosts: Vec<String>,
    /// Texts of apps and urls by id.
    texts: Vec<std::sync::Arc<str>>,
}

impl AwSource {
    pub fn open(o: Open<'_>) -> Result<AwSource, LoadError> {
        let name = o.file.display();
        let f = std::fs::File::open(&o.file.path).map_err(|e| LoadError::io(&name, e))?;
        Ok(AwSource {
            file: o.file.clone(),
            aw: o.aw.clone(),
            size: f.metadata().map_or(0, |m| m.len()),
            converted: None,
            at: 0,
        })
    }

    /// Reads the export as a stream and converts it (SPEC 14.2).
    fn convert(&self) -> Result<Converted, LoadError> {
        let name = self.file.display();
        let f = std::fs::File::open(&self.file.path).map_err(|e| LoadError::io(&name, e))?;
        let unreadable = |why: String| LoadError::Unreadable {
            what: format!("{name} as an ActivityWatch export"),
            why,
        };
        let mut datas = Datas::default();
        let mut de =
            serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, f));
        let buckets = ExportSeed(&mut datas)
            .deserialize(&mut de)
            .and_then(|b| de.end().map(|_| b))
            .map_err(|e| unreadable(e.to_string()))?
            .ok_or_else(|| unreadable("the top-level object has no \"buckets\"".into()))?;
        let mut rows = Vec::new();
        let mut per_host: Vec<(String, [Vec<Vec<Ev>>; 3])> = Vec::new();
        for b in buckets {
            let Some(events) = b.events else {
                return Err(unreadable(format!("bucket {:?} has no \"events\"", b.id)));
            };
            for (index, why) in b.bad.iter().cloned() {
                rows.push(Row::Bad {
                    bucket: b.id.clone(),
                    index,
                    why,
                });
            }
            let Some(used) = b.kind.as_deref().and_then(use_of) else {
                continue;
            };
            let Some(host) = b.host else {
                return Err(unreadable(format!("bucket {:?} has no \"hostname\"", b.id)));
            };
            let at = match per_host.iter().position(|h| h.0 == host) {
                Some(i) => i,
                None => {
                    per_host.push((host, Default::default()));
                    per_host.len() - 1
                }
            };
            per_host[at].1[used as usize].push(flood(events, PULSE));
        }
        per_host.sort_by(|a, b| a.0.cmp(&b.0));
        let mut texts = Dict::default();
        let mut hosts = Vec::new();
        for (h, (host, [afk, window, web])) in per_host.into_iter().enumerate() {
            let field = |id: u32, k: usize| datas.fields[id as usize][k].as_deref();
            let not_afk: Vec<Ev> = afk
                .into_iter()
                .flatten()
                .filter(|e| field(e.data, 0) == Some("not-afk"))
                .collect();
            let active = union(&not_afk);
            let window = intersect(&cover(window), &active);
            let browsers: Vec<Ev> = window
                .iter()
                .filter(|e| field(e.data, 1).is_some_and(|a| BROWSER_APPS.contains(&a)))
                .copied()
                .collect();
            let web = intersect(&cover(web), &union(&browsers));
            // The pieces carry their app's and url's text (none without one).
            let by_text = |pieces: Vec<Ev>, k: usize, texts: &mut Dict| -> Vec<Ev> {
                pieces
                    .into_iter()
                    .filter_map(|mut p| {
                        p.data = texts.id(field(p.data, k)?);
                        Some(p)
                    })
                    .collect()
            };
            let window = by_text(window, 1, &mut texts);
            let web = by_text(web, 2, &mut texts);
            for step in steps(&active, &window, &web, self.aw.gap) {
                rows.push(Row::Step { host: h, step });
            }
            hosts.push(host);
        }
        Ok(Converted {
            rows,
            hosts,
            texts: texts.into_texts(),
        })
    }
}

/// A session's key, `USER|CLIENT|TIME` as SPEC 9.2 writes it.
fn session_key(user: &str, host: &str, start: Micros) -> String {
    let mut key = String::new();
    crate::ids::escape_part(user, &mut key);
    key.push('|');
    crate::ids::escape_part(host, &mut key);
    key.push('|');
    key.push_str(&crate::time::format_rfc3339_utc(start));
    key
}

impl Source for AwSource {
    fn next_batch(&mut self) -> Result<Option<Batch>, LoadError> {
        if self.converted.is_none() {
            self.converted = Some(self.convert()?);
        }
        let Converted { rows, hosts, texts } = self.converted.as_ref().expect("converted");
        if self.at >= rows.len() {
            return Ok(None);
        }
        let first_row = self.at;
        let rows = &rows[first_row..(first_row + BATCH_ROWS).min(rows.len())];
        self.at += rows.len();
        let mut cols: [Vec<Option<String>>; 9] = Default::default();
        let mut bad = Vec::new();
        let mut places = Vec::with_capacity(rows.len());
        for (r, row) in rows.iter().enumerate() {
            let values: [Option<String>; 9] = match row {
                Row::Step { host, step } => {
                    let host = &hosts[*host];
                    let user = self.aw.user.as_deref().unwrap_or(host);
                    let text = |id: Option<u32>| id.map(|i| texts[i as usize].to_string());
                    [
                        Some(session_key(user, host, step.session)),
                        Some(user.to_string()),
                        Some(user.to_string()),
                        Some(host.clone()),
                        Some(host.clone()),
                        Some(crate::time::format_rfc3339_utc(step.at)),
                        Some(if step.active { "activity" } else { "idle" }.to_string()),
                        text(step.app),
                        text(step.url),
                    ]
                }
                Row::Bad { bucket, why, .. } => {
                    bad.push(BadCell {
                        row: r,
                        column: None,
                        value: String::new(),
                        rule: format!("bucket {bucket:?}: {why}").into(),
                    });
                    Default::default()
                }
            };
            places.push(match row {
                Row::Step { step, .. } => (At::Row((first_row + r) as u64), step.at),
                Row::Bad { index, .. } => (At::Event(*index as u64), 0),
            });
            for (col, v) in cols.iter_mut().zip(values) {
                col.push(v);
            }
        }
        let place = Box::new(AwPlace(places));
        super::source::made_batch(&self.file, cols.into(), bad, first_row, place, true).map(Some)
    }

    fn estimated_rows(&self) -> u64 {
        match &self.converted {
            Some(c) => c.rows.len() as u64,
            // An exported event takes about 150 bytes, and most make no row.
            None => self.size / 150,
        }
    }
}

/// Per row of a batch: where it is (the event's index in its bucket for a
/// bad event), and the instant of a converted one.
struct AwPlace(Vec<(At, Micros)>);

impl Locate for AwPlace {
    fn locate(&self, rows: &[usize]) -> Result<Vec<Place>, LoadError> {
        Ok(rows
            .iter()
            .map(|&r| {
                let (at, t) = self.0[r];
                let record = match at {
                    At::Event(_) => Vec::new(),
                    _ => vec![("timestamp".to_string(), crate::time::format_rfc3339_utc(t))],
                };
                (at, record)
            })
            .collect())
    }
}

/// Whether `path`'s content is an ActivityWatch export: a JSON object whose
/// first key is `buckets`, as both servers write it.
pub fn sniff(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    let rest = text.trim_start_matches('\u{feff}').trim_start();
    rest.strip_prefix('{')
        .is_some_and(|r| r.trim_start().starts_with("\"buckets\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_as_timedelta_does() {
        let d = |s: &str| duration_of(&serde_json::from_str(s).unwrap());
        assert_eq!(d("5"), Ok(5_000_000));
        assert_eq!(d("0.0000005"), Ok(0), "half a microsecond: to even");
        assert_eq!(d("0.0000015"), Ok(2));
        assert_eq!(d("1.234567"), Ok(1_234_567));
        // Python's own answers (timedelta(seconds=x) // timedelta(microseconds=1))
        // where rounding x * 10^6 as one double would give another.
        for (x, us) in [
            ("86399.9999995", 86_399_999_999),
            ("12345.6789015", 12_345_678_901),
            ("3.0000005", 3_000_001),
            ("425.9324215", 425_932_421),
            ("482.3112965", 482_311_297),
            ("500.3523735", 500_352_373),
        ] {
            assert_eq!(d(x), Ok(us), "{x}");
        }
        assert!(d("-1").is_err());
        assert!(d("\"5\"").is_err());
        let t = |s: &str| timestamp_of(&serde_json::Value::String(s.into()));
        assert_eq!(t("1970-01-01T00:00:01.1234569Z"), Ok(1_123_000));
        assert_eq!(t("1969-12-31T23:59:59.9995Z"), Ok(-1_000));
        assert_eq!(t("1970-01-01T01:00:00+01:00"), Ok(0));
        assert_eq!(t("1970-01-01T00:00:02"), Ok(2_000_000));
    }

    #[test]
    fn equal_data_in_any_key_order_is_one_id() {
        let mut d = Datas::default();
        let v = |s: &str| serde_json::from_str(s).unwrap();
        let a = d.id(v(r#"{"app":"x","title":"t"}"#));
        let b = d.id(v(r#"{"title":"t","app":"x"}"#));
        let c = d.id(v(r#"{"title":"u","app":"x"}"#));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(d.id_of_text(None), d.id_of_text(Some("{}")));
    }
}
