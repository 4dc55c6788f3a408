//! Deterministic synthetic activity logs for demos, tests and benchmarks:
//! office hours in a zone, lunch and screen locks (`idle` events), long and
//! short pauses, sessions that cross midnight, service accounts with sessions
//! of several days, some sessions without logout. Events are written in time
//! order, as a real log is.
//!
//! Sessions are generated day by day; a buffer holds the events not yet
//! written, sorted and flushed up to the earliest instant a later session
//! could start, so memory stays at a few days of events.

mod focus;

use crate::load::inputs::Format;
use crate::model::{Canon, Kind};
use crate::output::atomic::AtomicFile;
use crate::time::{Micros, Zone, US_PER_DAY, US_PER_HOUR, US_PER_MIN, US_PER_SEC};
use chrono::{Datelike, NaiveDate, Weekday};
use focus::focus_cells;
use polars::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::io::{self, Write};
use std::path::PathBuf;

/// How timestamps are written in text formats (Parquet: native timestamps,
/// UTC-adjusted for `utc` and `offset`, wall-clock for `naive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeStyle {
    /// Local time with its offset: 2021-03-26T09:12:33.123456+01:00.
    Offset,
    /// UTC with Z: 2021-03-26T08:12:33.123456Z.
    Utc,
    /// Local wall-clock time without offset (read back with --tz):
    /// 2021-03-26 09:12:33.123456. Events in a repeated (DST) hour are left
    /// out, since their wall time would be ambiguous.
    Naive,
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub seed: u64,
    pub users: u32,
    /// Number of days; with `events` set, days continue until that many events.
    pub days: u32,
    pub events: Option<u64>,
    pub start: NaiveDate,
    pub zone: Zone,
    pub style: TimeStyle,
    pub format: Format,
    pub out: PathBuf,
    /// Write the `app` and `url` columns too (SPEC 13).
    pub apps: bool,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenSummary {
    pub events: u64,
    pub sessions: u64,
    pub days: u32,
}

struct User {
    id: i32,
    name: String,
    clients: Vec<usize>,
    service: bool,
}

struct Client {
    guid: String,
    name: String,
}

struct Session {
    id: i32,
    user: usize,
    client: usize,
}

#[derive(Clone, Copy)]
struct Ev {
    ts: Micros,
    session: u32,
    kind: Kind,
}

struct World {
    users: Vec<User>,
    clients: Vec<Client>,
    sessions: Vec<Session>,
}

fn guid(rng: &mut Pcg64Mcg) -> String {
    let a: u128 = rng.random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 96) as u32,
        (a >> 80) as u16,
        (a >> 68) as u16 & 0xfff,
        ((a >> 52) as u16 & 0x3fff) | 0x8000,
        a as u64 & 0xffff_ffff_ffff
    )
}

fn world(opts: &GenOptions, rng: &mut Pcg64Mcg) -> World {
    let n_service = if opts.users >= 10 {
        (opts.users / 25).max(1)
    } else {
        0
    };
    let mut users = Vec::new();
    let mut clients = Vec::new();
    for i in 0..opts.users {
        let service = i >= opts.users - n_service;
        let name = if service {
            format!("svc-backup{:02}", i + 1)
        } else {
            format!("user{:04}", i + 1)
        };
        let mut own = Vec::new();
        let n_clients = if !service && rng.random_bool(0.15) {
            2
        } else {
            1
        };
        for _ in 0..n_clients {
            own.push(clients.len());
            let name = if service {
                format!("SRV-{:03}", clients.len() + 1)
            } else {
                format!("WS-{:04}", clients.len() + 1)
            };
            clients.push(Client {
                guid: guid(rng),
                name,
            });
        }
        users.push(User {
            id: 1000 + i as i32 * 7,
            name,
            clients: own,
            service,
        });
    }
    World {
        users,
        clients,
        sessions: Vec::new(),
    }
}

/// UTC instant of a local wall time; a wall time in a DST gap moves forward by an hour.
fn utc_of(zone: &Zone, wall: Micros) -> Micros {
    zone.local_to_utc(wall)
        .or_else(|_| zone.local_to_utc(wall + US_PER_HOUR))
        .unwrap_or(wall)
}

fn between(rng: &mut Pcg64Mcg, lo: Micros, hi: Micros) -> Micros {
    rng.random_range(lo..hi)
}

/// One office-day session: login, work with pauses, lunch, locks, logout.
fn office_session(rng: &mut Pcg64Mcg, zone: &Zone, day_wall: Micros, s: u32, out: &mut Vec<Ev>) {
    let login = utc_of(
        zone,
        day_wall + between(rng, 7 * US_PER_HOUR + 30 * US_PER_MIN, 10 * US_PER_HOUR),
    );
    let end_wall = if rng.random_bool(0.04) {
        day_wall + US_PER_DAY + between(rng, 15 * US_PER_MIN, 90 * US_PER_MIN) // past midnight
    } else {
        day_wall
            + between(
                rng,
                15 * US_PER_HOUR + 30 * US_PER_MIN,
                18 * US_PER_HOUR + 30 * US_PER_MIN,
            )
    };
    let end = utc_of(zone, end_wall);
    let lunch = utc_of(
        zone,
        day_wall + between(rng, 12 * US_PER_HOUR, 13 * US_PER_HOUR + 30 * US_PER_MIN),
    );
    let mut lunched = false;
    let mut t = login;
    out.push(Ev {
        ts: t,
        session: s,
        kind: Kind::Login,
    });
    loop {
        let r: f64 = rng.random();
        let gap = if r < 0.86 {
            between(rng, 2 * US_PER_SEC, 90 * US_PER_SEC)
        } else if r < 0.975 {
            between(rng, 90 * US_PER_SEC, 14 * US_PER_MIN)
        } else {
            between(rng, 14 * US_PER_MIN, 50 * US_PER_MIN)
        };
        t += gap;
        if t >= end {
            break;
        }
        if !lunched && t >= lunch {
            lunched = true;
            out.push(Ev {
                ts: t,
                session: s,
                kind: Kind::Idle,
            });
            t += between(rng, 25 * US_PER_MIN, 65 * US_PER_MIN);
            out.push(Ev {
                ts: t,
                session: s,
                kind: Kind::Activity,
            });
        } else if rng.random_bool(0.004) {
            // a screen lock, sometimes at the very instant of the last activity
            let at = if rng.random_bool(0.3) { t - gap } else { t };
            out.push(Ev {
                ts: at,
                session: s,
                kind: Kind::Idle,
            });
            t += between(rng, 3 * US_PER_MIN, 25 * US_PER_MIN);
            out.push(Ev {
                ts: t,
                session: s,
                kind: Kind::Activity,
            });
        } else {
            out.push(Ev {
                ts: t,
                session: s,
                kind: Kind::Activity,
            });
        }
    }
    if !rng.random_bool(0.05) {
        out.push(Ev {
            ts: t.max(end),
            session: s,
            kind: Kind::Logout,
        });
    }
}

/// A service account's session: steady activity for three to six days.
fn service_session(rng: &mut Pcg64Mcg, zone: &Zone, day_wall: Micros, s: u32, out: &mut Vec<Ev>) {
    let mut t = utc_of(zone, day_wall + between(rng, 0, US_PER_HOUR));
    let end = t + between(rng, 3 * US_PER_DAY, 6 * US_PER_DAY);
    out.push(Ev {
        ts: t,
        session: s,
        kind: Kind::Login,
    });
    while t < end {
        t += between(rng, 30 * US_PER_SEC, 11 * US_PER_MIN);
        out.push(Ev {
            ts: t,
            session: s,
            kind: if rng.random_bool(0.01) {
                Kind::Idle
            } else {
                Kind::Activity
            },
        });
    }
    if rng.random_bool(0.7) {
        out.push(Ev {
            ts: t + US_PER_SEC,
            session: s,
            kind: Kind::Logout,
        });
    }
}

/// Generates and writes a log; returns what was written.
/// How many days past its first day a generated session can run (service
/// accounts: up to six, and a margin).
pub const SESSION_REACH_DAYS: u32 = 8;

/// The last local day on which generated sessions may start: their events
/// then stay inside year 9999 in every zone.
pub const LAST_START_DAY: NaiveDate =
    match NaiveDate::from_ymd_opt(9999, 12, 31 - SESSION_REACH_DAYS - 1) {
        Some(d) => d,
        None => panic!("a date"),
    };

pub fn generate(opts: &GenOptions) -> anyhow::Result<GenSummary> {
    let mut rng = Pcg64Mcg::seed_from_u64(opts.seed);
    let mut w = world(opts, &mut rng);
    let mut sink = Sink::create(opts)?;
    let mut buffer: Vec<Ev> = Vec::new();
    let mut written = 0u64;
    let mut service_free_from = vec![0u32; w.users.len()];
    let limit = opts.events.unwrap_or(u64::MAX);
    let mut day = 0u32;
    let day_wall = |d: u32| {
        (opts
            .start
            .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days()
            + i64::from(d))
            * US_PER_DAY
    };
    loop {
        let more_days = if opts.events.is_some() {
            written < limit && day < 1_000_000
        } else {
            day < opts.days
        };
        if !more_days {
            break;
        }
        if opts
            .start
            .checked_add_days(chrono::Days::new(u64::from(day)))
            .is_none_or(|d| d > LAST_START_DAY)
        {
            anyhow::bail!(
                "the log would run past {LAST_START_DAY}, beyond the years 0001-9999 that `sessions` reads; choose an earlier --start-date or fewer --events"
            );
        }
        let wall = day_wall(day);
        let weekday = opts
            .start
            .checked_add_days(chrono::Days::new(u64::from(day)))
            .map(|d| d.weekday());
        let weekend = matches!(weekday, Some(Weekday::Sat | Weekday::Sun));
        for u in 0..w.users.len() {
            let user = &w.users[u];
            let start_service = user.service && day >= service_free_from[u];
            let office = !user.service
                && (if weekend {
                    rng.random_bool(0.06)
                } else {
                    rng.random_bool(0.95)
                });
            if !(start_service || office) {
                continue;
            }
            let client = user.clients[if user.clients.len() > 1 && rng.random_bool(0.3) {
                1
            } else {
                0
            }];
            let s = w.sessions.len() as u32;
            w.sessions.push(Session {
                id: 50_000 + s as i32 * 3,
                user: u,
                client,
            });
            if start_service {
                service_session(&mut rng, &opts.zone, wall, s, &mut buffer);
                service_free_from[u] = day + 7;
            } else {
                office_session(&mut rng, &opts.zone, wall, s, &mut buffer);
            }
        }
        day += 1;
        // Every later session starts at or after the next local midnight.
        let boundary = if opts.events.is_none() && day >= opts.days {
            Micros::MAX
        } else {
            utc_of(&opts.zone, day_wall(day))
        };
        buffer.sort_unstable_by_key(|e| (e.ts, e.kind, e.session));
        let ready = buffer.partition_point(|e| e.ts < boundary);
        let mut take = ready.min(usize::try_from(limit - written).unwrap_or(usize::MAX));
        if opts.style == TimeStyle::Naive {
            // Leave out events whose wall time the zone repeats or skips.
            let zone = opts.zone;
            let mut kept = 0;
            let mut i = 0;
            let mut out = Vec::with_capacity(take);
            while i < ready && (written + kept as u64) < limit {
                let e = buffer[i];
                if zone.local_to_utc(zone.to_wall(e.ts)) == Ok(e.ts) {
                    out.push(e);
                    kept += 1;
                }
                i += 1;
            }
            sink.write(&w, &out)?;
            written += out.len() as u64;
            buffer.drain(..i);
            take = 0;
        }
        if take > 0 {
            sink.write(&w, &buffer[..take])?;
            written += take as u64;
            buffer.drain(..take);
        }
        if opts.events.is_some() && written >= limit {
            break;
        }
    }
    let sessions = w.sessions.len() as u64;
    sink.finish()?;
    Ok(GenSummary {
        events: written,
        sessions,
        days: day,
    })
}

enum Sink {
    Text {
        file: Box<dyn WriteFinish>,
        format: Format,
        zone: Zone,
        style: TimeStyle,
        line: Vec<u8>,
        apps: bool,
    },
    Parquet {
        writer: polars::io::parquet::write::BatchedWriter<Shared>,
        file: Shared,
        zone: Zone,
        style: TimeStyle,
        schema: Schema,
        apps: bool,
    },
}

/// A writer that must be finished (compressed streams, atomic files).
trait WriteFinish: Write {
    fn finish(self: Box<Self>) -> io::Result<()>;
}

impl WriteFinish for AtomicFile {
    fn finish(self: Box<Self>) -> io::Result<()> {
        (*self).commit()
    }
}

impl WriteFinish for flate2::write::GzEncoder<AtomicFile> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        (*self).finish()?.commit()
    }
}

impl WriteFinish for zstd::stream::write::Encoder<'static, AtomicFile> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        (*self).finish()?.commit()
    }
}

impl Sink {
    fn create(opts: &GenOptions) -> anyhow::Result<Sink> {
        crate::output::atomic::remove_stale_temps(&opts.out)?;
        let file = AtomicFile::create(&opts.out)?;
        if opts.format == Format::Parquet {
            let unit_tz = if opts.style == TimeStyle::Naive {
                None
            } else {
                Some(TimeZone::UTC)
            };
            let schema = Schema::from_iter([
                Field::new(Canon::SessionId.name().into(), DataType::Int32),
                Field::new(Canon::UserId.name().into(), DataType::Int32),
                Field::new(Canon::UserName.name().into(), DataType::String),
                Field::new(Canon::ClientGuid.name().into(), DataType::String),
                Field::new(Canon::ClientName.name().into(), DataType::String),
                Field::new(
                    Canon::Timestamp.name().into(),
                    DataType::Datetime(TimeUnit::Microseconds, unit_tz),
                ),
                Field::new(Canon::Kind.name().into(), DataType::String),
            ]);
            let mut schema = schema;
            if opts.apps {
                for c in Canon::FOCUS {
                    schema.with_column(c.name().into(), DataType::String);
                }
            }
            let file = Shared(std::sync::Arc::new(std::sync::Mutex::new(file)));
            let writer = ParquetWriter::new(file.clone())
                .with_compression(ParquetCompression::Zstd(None))
                .batched(&schema)?;
            return Ok(Sink::Parquet {
                writer,
                file,
                zone: opts.zone,
                style: opts.style,
                schema,
                apps: opts.apps,
            });
        }
        let name = opts.out.to_string_lossy().to_ascii_lowercase();
        let mut file: Box<dyn WriteFinish> = if name.ends_with(".gz") {
            Box::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            ))
        } else if name.ends_with(".zst") || name.ends_with(".zstd") {
            Box::new(zstd::stream::write::Encoder::new(file, 1)?)
        } else {
            Box::new(file)
        };
        if opts.format == Format::Csv {
            let columns = if opts.apps { 9 } else { 7 };
            let header = Canon::ALL[..columns]
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(",");
            file.write_all(format!("{header}\n").as_bytes())?;
        }
        Ok(Sink::Text {
            file,
            format: opts.format,
            zone: opts.zone,
            style: opts.style,
            line: Vec::with_capacity(1 << 20),
            apps: opts.apps,
        })
    }

    fn write(&mut self, w: &World, events: &[Ev]) -> anyhow::Result<()> {
        match self {
            Sink::Text {
                file,
                format,
                zone,
                style,
                line,
                apps,
            } => {
                let mut offsets = OffsetCache::new(*zone);
                let mut ts = Vec::with_capacity(40);
                for e in events {
                    let s = &w.sessions[e.session as usize];
                    let u = &w.users[s.user];
                    let c = &w.clients[s.client];
                    let kind = Kind::NAMES[e.kind as usize];
                    ts.clear();
                    write_time(&mut ts, e.ts, *style, &mut offsets);
                    let ts = std::str::from_utf8(&ts).expect("ascii");
                    if *format == Format::Csv {
                        write!(
                            line,
                            "{},{},{},{},{},{ts},{kind}",
                            s.id, u.id, u.name, c.guid, c.name
                        )?;
                        if *apps {
                            let (app, url) = focus_cells(e.session, e.ts);
                            write!(line, ",{app},{url}")?;
                        }
                        line.push(b'\n');
                    } else {
                        let [sid, uid, un, cg, cn, t, k, a, l] = Canon::ALL.map(Canon::name);
                        write!(
                            line,
                            r#"{{"{sid}":{},"{uid}":{},"{un}":"{}","{cg}":"{}","{cn}":"{}","{t}":"{ts}","{k}":"{kind}""#,
                            s.id, u.id, u.name, c.guid, c.name
                        )?;
                        if *apps {
                            // Nested, as agents write them: `--map app=focus.app,url=focus.url`.
                            let (app, url) = focus_cells(e.session, e.ts);
                            write!(line, r#","focus":{{"{a}":"{app}","{l}":"{url}"}}"#)?;
                        }
                        line.extend_from_slice(b"}\n");
                    }
                    if line.len() > (1 << 20) - 512 {
                        file.write_all(line)?;
                        line.clear();
                    }
                }
                file.write_all(line)?;
                line.clear();
            }
            Sink::Parquet {
                writer,
                zone,
                style,
                schema,
                apps,
                ..
            } => {
                for part in events.chunks(1 << 20) {
                    let sess = |e: &Ev| &w.sessions[e.session as usize];
                    let ts: Vec<i64> = match style {
                        TimeStyle::Naive => part.iter().map(|e| zone.to_wall(e.ts)).collect(),
                        _ => part.iter().map(|e| e.ts).collect(),
                    };
                    let tz = if *style == TimeStyle::Naive {
                        None
                    } else {
                        Some(TimeZone::UTC)
                    };
                    let cols = vec![
                        Column::new(
                            Canon::SessionId.name().into(),
                            part.iter().map(|e| sess(e).id).collect::<Vec<_>>(),
                        ),
                        Column::new(
                            Canon::UserId.name().into(),
                            part.iter()
                                .map(|e| w.users[sess(e).user].id)
                                .collect::<Vec<_>>(),
                        ),
                        Column::new(
                            Canon::UserName.name().into(),
                            part.iter()
                                .map(|e| w.users[sess(e).user].name.as_str())
                                .collect::<Vec<_>>(),
                        ),
                        Column::new(
                            Canon::ClientGuid.name().into(),
                            part.iter()
                                .map(|e| w.clients[sess(e).client].guid.as_str())
                                .collect::<Vec<_>>(),
                        ),
                        Column::new(
                            Canon::ClientName.name().into(),
                            part.iter()
                                .map(|e| w.clients[sess(e).client].name.as_str())
                                .collect::<Vec<_>>(),
                        ),
                        Column::new(Canon::Timestamp.name().into(), ts)
                            .cast(&DataType::Datetime(TimeUnit::Microseconds, tz))?,
                        Column::new(
                            Canon::Kind.name().into(),
                            part.iter()
                                .map(|e| Kind::NAMES[e.kind as usize])
                                .collect::<Vec<_>>(),
                        ),
                    ];
                    let mut cols = cols;
                    if *apps {
                        let cells: Vec<(&'static str, &'static str)> =
                            part.iter().map(|e| focus_cells(e.session, e.ts)).collect();
                        // Not given is null in Parquet.
                        let given = |s: &'static str| Some(s).filter(|s| !s.is_empty());
                        let apps: Vec<Option<&str>> = cells.iter().map(|c| given(c.0)).collect();
                        let urls: Vec<Option<&str>> = cells.iter().map(|c| given(c.1)).collect();
                        cols.push(Column::new(Canon::App.name().into(), apps));
                        cols.push(Column::new(Canon::Url.name().into(), urls));
                    }
                    let df = DataFrame::new(part.len(), cols)?;
                    debug_assert_eq!(df.schema().len(), schema.len());
                    writer.write_batch(&df)?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Text { file, .. } => file.finish()?,
            Sink::Parquet { writer, file, .. } => {
                writer.finish()?;
                drop(writer);
                let file = std::sync::Arc::try_unwrap(file.0)
                    .map_err(|_| anyhow::anyhow!("parquet writer still open"))?;
                file.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .commit()?;
            }
        }
        Ok(())
    }
}

/// An atomic file shared with polars' batched writer, which owns its writer.
#[derive(Clone)]
struct Shared(std::sync::Arc<std::sync::Mutex<AtomicFile>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// The zone's offset per UTC hour, looked up once per hour of data.
struct OffsetCache {
    zone: Zone,
    hour: i64,
    offset: Option<i64>,
}

impl OffsetCache {
    fn new(zone: Zone) -> Self {
        OffsetCache {
            zone,
            hour: i64::MIN,
            offset: None,
        }
    }

    fn offset_us(&mut self, utc: Micros) -> i64 {
        let hour = utc.div_euclid(US_PER_HOUR);
        if hour != self.hour {
            self.hour = hour;
            let a = self.zone.offset_at(hour * US_PER_HOUR);
            let b = self.zone.offset_at((hour + 1) * US_PER_HOUR - 1);
            self.offset = (a == b).then_some(i64::from(a) * US_PER_SEC);
        }
        self.offset
            .unwrap_or_else(|| i64::from(self.zone.offset_at(utc)) * US_PER_SEC)
    }
}

fn write_time(buf: &mut Vec<u8>, utc: Micros, style: TimeStyle, offsets: &mut OffsetCache) {
    let off = if style == TimeStyle::Utc {
        0
    } else {
        offsets.offset_us(utc)
    };
    crate::time::push_wall_time(
        buf,
        utc + off,
        if style == TimeStyle::Naive {
            b' '
        } else {
            b'T'
        },
    );
    match style {
        TimeStyle::Utc => buf.push(b'Z'),
        TimeStyle::Naive => {}
        TimeStyle::Offset => {
            let mins = off / US_PER_MIN;
            let _ = write!(
                buf,
                "{}{:02}:{:02}",
                if mins < 0 { '-' } else { '+' },
                mins.abs() / 60,
                mins.abs() % 60
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_text_round_trips_through_the_parser() {
        let zone: Zone = "America/New_York".parse().unwrap();
        let mut cache = OffsetCache::new(zone);
        for utc in [
            0i64,
            1_616_900_000_123_456,
            1_636_264_800_000_001,
            -86_400_000_001,
        ] {
            for style in [TimeStyle::Offset, TimeStyle::Utc, TimeStyle::Naive] {
                let mut buf = Vec::new();
                write_time(&mut buf, utc, style, &mut cache);
                let text = String::from_utf8(buf).unwrap();
                let parsed = crate::time::parse_time(&text).unwrap();
                if style == TimeStyle::Naive {
                    assert_eq!(parsed.wall_us, zone.to_wall(utc), "{text}");
                } else {
                    assert_eq!(zone.resolve(parsed), Ok(utc), "{text}");
                }
            }
        }
    }
}
