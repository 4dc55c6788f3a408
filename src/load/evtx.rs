//! Windows Security event logs (`.evtx`) as a source (SPEC 9.3), read with
//! the `evtx` crate: batches of whole 64 KiB chunks in file order, parsed
//! in parallel, then turned into events in file order, which linking
//! follows (SPEC 9.3; a log that wrapped around holds its newest chunks
//! before its oldest, and is still read as the file lies).
//!
//! - 4624 (logon) of `LogonType` 2, 10 or 11 is `login`; 4634 (logoff) of
//!   those types and 4647 (user-initiated logoff) are `logout`; 4800
//!   (locked) and 4802 (screen saver on) are `idle`, 4801 (unlocked) and
//!   4803 (screen saver off) `activity`. Other records are not events.
//! - The session key is `COMPUTER/LOGONID` (`TargetLogonId` as the record
//!   writes it, lowercase hex). A 4624 whose `TargetLinkedLogonId` is not
//!   `0x0` joins the two ids into one session keyed by the numerically
//!   smaller, for the records after it; a 4624 without a link starts its
//!   id afresh.
//! - The user key is `TargetUserSid`, the user name
//!   `TargetDomainName\TargetUserName` of the session's first record; the
//!   client guid and name are `System/Computer`. A later record of a session
//!   with another SID keeps its SID, so that the load finds it bad (SPEC 1.4).
//!
//! What links and names sessions is shared by all the EVTX files of a load
//! (`EvtxState`), in input order. A record the parser cannot read is a bad
//! row named by its record number, a chunk whose header cannot be read one
//! named by its chunk. A chunk whose stored checksums are stale (Windows
//! writes them when it closes a chunk) is read all the same, and counted.

use super::convert::BadCell;
use super::inputs::InputFile;
use super::source::{Batch, Locate, Open, Place, Reader, Source};
use super::{At, LoadError};
use evtx::{EvtxChunkData, EvtxParser, ParserSettings};
use rayon::prelude::*;
use serde_json::Value;
use std::fs::File;
use std::io::Read;
use std::sync::{Arc, Mutex};

/// What a run says of the EVTX chunks it read whose stored checksums were
/// stale (SPEC 9.3): nothing when there were none.
pub fn stale_note(chunks: u64) -> Option<String> {
    (chunks > 0).then(|| {
        format!(
            "read {chunks} EVTX chunk{} whose stored checksums did not match (a log copied while Windows had it open); every record in them was checked",
            if chunks == 1 { "" } else { "s" }
        )
    })
}

/// Chunks per batch: 64 of 64 KiB, a few thousand records.
const BATCH_CHUNKS: usize = 64;

/// The fields of a record that events are made of.
#[derive(Debug, Default, Clone)]
struct Fields {
    record: u64,
    event_id: Option<u32>,
    time: Option<String>,
    computer: Option<String>,
    logon_type: Option<String>,
    logon_id: Option<String>,
    linked: Option<String>,
    sid: Option<String>,
    domain: Option<String>,
    user: Option<String>,
}

/// One item of a chunk: a record's fields, or what could not be read.
#[derive(Debug, Clone)]
enum Item {
    Record(Box<Fields>),
    /// A record the parser could not read: (record number if known, its
    /// chunk's number, reason).
    BadRecord(Option<u64>, u64, String),
    /// A chunk that could not be read: (chunk number, reason).
    BadChunk(u64, String),
}

pub struct EvtxSource {
    file: InputFile,
    /// The file, positioned at chunk `chunk_no`.
    reader: File,
    settings: Arc<ParserSettings>,
    /// The next chunk to read, and how many whole chunks the file holds.
    chunk_no: u64,
    chunks: u64,
    next_row: usize,
    state: Arc<Mutex<EvtxState>>,
    size: u64,
    /// Where the file is cut short, told after its last whole chunk.
    truncated: Option<(u64, String)>,
    /// Chunks read so far whose checksums did not match.
    stale: u64,
}

/// What links and names Windows logon sessions across the records and
/// files of a load (its reader keeps it for the load).
#[derive(Debug, Default)]
pub struct EvtxState {
    /// (computer, logon id) -> the logon id that keys its session.
    linked: polars::prelude::PlHashMap<(Box<str>, Box<str>), Box<str>>,
    /// Session key -> the user name of its first record.
    names: polars::prelude::PlHashMap<Box<str>, Box<str>>,
}

/// The EVTX reader of a load: its files share one `EvtxState`, in input
/// order.
#[derive(Default)]
pub struct Evtx {
    state: Arc<Mutex<EvtxState>>,
}

impl Reader for Evtx {
    fn needs(&self) -> &'static str {
        "an EVTX file needs at least its 4096-byte file header (ElfFile)"
    }

    fn open(&mut self, o: Open<'_>) -> Result<Box<dyn Source>, LoadError> {
        Ok(Box::new(EvtxSource::open(o, self.state.clone())?))
    }
}

impl EvtxSource {
    pub fn open(o: Open<'_>, state: Arc<Mutex<EvtxState>>) -> Result<EvtxSource, LoadError> {
        let name = o.file.display();
        let size = std::fs::metadata(&o.file.path).map_or(0, |m| m.len());
        let f = File::open(&o.file.path).map_err(|e| LoadError::io(&name, e))?;
        let parser = EvtxParser::from_read_seek(f).map_err(|e| LoadError::Unreadable {
            what: format!("{name} as EVTX"),
            why: one_line(&e),
        })?;
        let truncated = truncation(size, u64::from(parser.header().chunk_count));
        // The parser checked the file header; the chunks are read here, in file order.
        let mut reader = File::open(&o.file.path).map_err(|e| LoadError::io(&name, e))?;
        std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(HEADER_BYTES))
            .map_err(|e| LoadError::io(&name, e))?;
        // Checksums are checked, and counted, where each chunk is made (`parse_chunk`).
        let settings = Arc::new(ParserSettings::new().num_threads(1));
        Ok(EvtxSource {
            truncated,
            file: o.file.clone(),
            reader,
            settings,
            chunk_no: 0,
            chunks: size.saturating_sub(HEADER_BYTES) / CHUNK_BYTES,
            next_row: 0,
            state,
            size,
            stale: 0,
        })
    }
}

/// An error and its causes, on one line.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut at = e.source();
    while let Some(cause) = at {
        let shown = cause.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        at = cause.source();
    }
    crate::error::one_line(&text)
}

/// The bytes of a chunk, after the file header.
const CHUNK_BYTES: u64 = 65536;
const HEADER_BYTES: u64 = 4096;

/// A file shorter than its header says, or that ends inside a chunk: the
/// chunk where it ends, and why, as one damaged chunk (the parser itself
/// stops at the last whole chunk and says nothing).
fn truncation(size: u64, header_chunks: u64) -> Option<(u64, String)> {
    let body = size.saturating_sub(HEADER_BYTES);
    let whole = body / CHUNK_BYTES;
    if body % CHUNK_BYTES != 0 {
        return Some((
            whole,
            format!(
                "the file ends {} bytes into this chunk of {CHUNK_BYTES} (truncated or damaged)",
                body % CHUNK_BYTES
            ),
        ));
    }
    (header_chunks > whole).then(|| {
        (
            whole,
            format!("the file header says {header_chunks} chunks but the file holds {whole} (truncated)"),
        )
    })
}

/// A JSON value as text: strings as they are, numbers as JSON spells them.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Object(o) => text(o.get("#text")),
        other => Some(other.to_string()),
    }
}

/// The fields of a record rendered as JSON by the `evtx` crate.
fn fields(record: u64, v: &Value) -> Fields {
    let event = &v["Event"];
    let system = &event["System"];
    let data = &event["EventData"];
    let get = |k: &str| text(data.get(k));
    Fields {
        record,
        event_id: text(system.get("EventID")).and_then(|t| t.trim().parse().ok()),
        time: text(system["TimeCreated"]["#attributes"].get("SystemTime")),
        computer: text(system.get("Computer")),
        logon_type: get("LogonType"),
        logon_id: get("TargetLogonId").map(|t| t.to_ascii_lowercase()),
        linked: get("TargetLinkedLogonId").map(|t| t.to_ascii_lowercase()),
        sid: get("TargetUserSid"),
        domain: get("TargetDomainName"),
        user: get("TargetUserName"),
    }
}

/// Parses one chunk's bytes into its items, in the order they lie.
///
/// Windows updates a chunk's CRC32s only when it closes the chunk, so a log
/// copied from a running machine, or one not shut down cleanly, holds
/// chunks whose checksums fail while every record in them is whole (Event
/// Viewer and python-evtx read them). Such a chunk's records are read, each
/// checked by the parser as any record is, and the chunk is told as stale
/// (the `bool`), so that the run counts it. A chunk whose header cannot be
/// read at all stays one bad row.
fn parse_chunk(bytes: Vec<u8>, number: u64, settings: &Arc<ParserSettings>) -> (bool, Vec<Item>) {
    let mut data = match EvtxChunkData::new(bytes, false) {
        Ok(d) => d,
        Err(e) => return (false, vec![Item::BadChunk(number, one_line(&e))]),
    };
    data.number = Some(number);
    let stale = !data.validate_checksum();
    let mut chunk = match data.parse(settings.clone()) {
        Ok(c) => c,
        Err(e) => return (false, vec![Item::BadChunk(number, one_line(&e))]),
    };
    let items = chunk
        .iter()
        .filter_map(|r| match r {
            Ok(r) if r.recovered => None,
            Ok(r) => {
                let id = r.event_record_id;
                Some(match r.into_json_value() {
                    Ok(s) => Item::Record(Box::new(fields(id, &s.data))),
                    Err(e) => Item::BadRecord(Some(id), number, one_line(&e)),
                })
            }
            Err(e) => {
                let id = match &e {
                    evtx::err::EvtxError::FailedToParseRecord { record_id, .. } => Some(*record_id),
                    _ => None,
                };
                Some(Item::BadRecord(id, number, one_line(&e)))
            }
        })
        .collect();
    (stale, items)
}

/// The numeric value of a logon id (`0x2610b`), for choosing the smaller.
fn logon_number(id: &str) -> Option<u64> {
    u64::from_str_radix(id.strip_prefix("0x")?, 16).ok()
}

impl EvtxState {
    /// The event a record is, if any: (session key, user key, user name,
    /// computer, time, kind); fields it lacks are `None` (bad cells).
    fn event(&mut self, f: &Fields) -> Option<[Option<String>; 7]> {
        let kind = match (f.event_id?, f.logon_type.as_deref().map(str::trim)) {
            (4624, t) => {
                self.link(f);
                match t {
                    Some("2" | "10" | "11") => "login",
                    _ => return None,
                }
            }
            (4634, Some("2" | "10" | "11")) | (4647, _) => "logout",
            (4800 | 4802, _) => "idle",
            (4801 | 4803, _) => "activity",
            _ => return None,
        };
        let session = match (&f.computer, &f.logon_id) {
            (Some(c), Some(id)) => {
                let id = self
                    .linked
                    .get(&(c.as_str().into(), id.as_str().into()))
                    .map_or(id.as_str(), |l| l);
                Some(format!("{c}/{id}"))
            }
            _ => None,
        };
        let own_name = match (&f.domain, &f.user) {
            (Some(d), Some(u)) => Some(format!("{d}\\{u}")),
            (None, Some(u)) => Some(u.clone()),
            _ => None,
        };
        let name = match &session {
            Some(s) => match self.names.get(s.as_str()) {
                Some(n) => Some(n.to_string()),
                None => {
                    if let Some(n) = &own_name {
                        self.names.insert(s.as_str().into(), n.as_str().into());
                    }
                    own_name
                }
            },
            None => own_name,
        };
        Some([
            session,
            f.sid.clone(),
            name,
            f.computer.clone(),
            f.computer.clone(),
            f.time.clone(),
            Some(kind.to_string()),
        ])
    }

    /// A 4624: links its logon id with `TargetLinkedLogonId`, or starts it afresh.
    fn link(&mut self, f: &Fields) {
        let (Some(c), Some(id)) = (&f.computer, &f.logon_id) else {
            return;
        };
        let c: Box<str> = c.as_str().into();
        match f.linked.as_deref().filter(|l| logon_number(l) != Some(0)) {
            Some(l) => {
                let key = match (logon_number(id), logon_number(l)) {
                    (Some(a), Some(b)) if b < a => l,
                    (Some(_), Some(_)) => id.as_str(),
                    _ => id.as_str().min(l),
                };
                self.linked
                    .insert((c.clone(), id.as_str().into()), key.into());
                self.linked.insert((c, l.into()), key.into());
            }
            None => {
                self.linked.remove(&(c, id.as_str().into()));
            }
        }
    }
}

impl Source for EvtxSource {
    fn next_batch(&mut self) -> Result<Option<Batch>, LoadError> {
        let mut raw = Vec::with_capacity(BATCH_CHUNKS);
        while raw.len() < BATCH_CHUNKS && self.chunk_no < self.chunks {
            let mut bytes = vec![0u8; CHUNK_BYTES as usize];
            self.reader
                .read_exact(&mut bytes)
                .map_err(|e| LoadError::io(&self.file.display(), e))?;
            let number = self.chunk_no;
            self.chunk_no += 1;
            // A chunk never written (a log not yet full) is all zeros.
            if bytes.iter().any(|&b| b != 0) {
                raw.push((bytes, number));
            }
        }
        let last = self.chunk_no >= self.chunks;
        let truncated = if last { self.truncated.take() } else { None };
        if raw.is_empty() && truncated.is_none() {
            return Ok(None);
        }
        let settings = &self.settings;
        let chunks: Vec<(bool, Vec<Item>)> = raw
            .into_par_iter()
            .map(|(c, n)| parse_chunk(c, n, settings))
            .collect();
        self.stale += chunks.iter().filter(|c| c.0).count() as u64;
        let mut items: Vec<Item> = chunks.into_iter().flat_map(|c| c.1).collect();
        items.extend(truncated.map(|(n, why)| Item::BadChunk(n, why)));
        let mut cols: [Vec<Option<String>>; 7] = Default::default();
        let mut bad = Vec::new();
        let mut places = Vec::new();
        let mut state = self.state.lock().expect("no reader panicked");
        for item in items {
            let row = cols[0].len();
            let values = match &item {
                Item::Record(f) => match state.event(f) {
                    Some(v) => v,
                    None => continue,
                },
                Item::BadRecord(_, _, why) | Item::BadChunk(_, why) => {
                    let what = match item {
                        Item::BadChunk(..) => "chunk",
                        _ => "record",
                    };
                    bad.push(BadCell {
                        row,
                        column: None,
                        value: String::new(),
                        rule: format!("cannot read this EVTX {what}: {why}").into(),
                    });
                    Default::default()
                }
            };
            for (col, v) in cols.iter_mut().zip(values) {
                col.push(v);
            }
            places.push(item);
        }
        drop(state);
        let first_row = self.next_row;
        self.next_row += places.len();
        let place = Box::new(EvtxPlace(places));
        super::source::made_batch(&self.file, cols.into(), bad, first_row, place, false).map(Some)
    }

    fn estimated_rows(&self) -> u64 {
        // Most records of a Security log are other events; about 1 KiB each.
        self.size / 1024
    }

    fn stale_checksums(&self) -> u64 {
        self.stale
    }
}

/// Per row of a batch, its record (or what could not be read).
struct EvtxPlace(Vec<Item>);

impl Locate for EvtxPlace {
    fn locate(&self, rows: &[usize]) -> Result<Vec<Place>, LoadError> {
        Ok(rows
            .iter()
            .map(|&r| match &self.0[r] {
                Item::Record(f) => {
                    let mut rec = vec![("EventRecordID".to_string(), f.record.to_string())];
                    let shown = [
                        ("EventID", f.event_id.map(|e| e.to_string())),
                        ("TimeCreated", f.time.clone()),
                        ("Computer", f.computer.clone()),
                        ("LogonType", f.logon_type.clone()),
                        ("TargetLogonId", f.logon_id.clone()),
                        ("TargetLinkedLogonId", f.linked.clone()),
                        ("TargetUserSid", f.sid.clone()),
                        ("TargetDomainName", f.domain.clone()),
                        ("TargetUserName", f.user.clone()),
                    ];
                    rec.extend(
                        shown
                            .into_iter()
                            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
                    );
                    (At::Record(f.record), rec)
                }
                Item::BadRecord(id, chunk, why) => (
                    id.map_or(At::Chunk(*chunk), At::Record),
                    vec![("error".to_string(), why.clone())],
                ),
                Item::BadChunk(n, why) => (At::Chunk(*n), vec![("error".to_string(), why.clone())]),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        event_id: u32,
        logon_type: Option<&str>,
        id: &str,
        linked: Option<&str>,
        sid: &str,
        user: &str,
    ) -> Fields {
        Fields {
            record: 1,
            event_id: Some(event_id),
            time: Some("2024-01-02T03:04:05.1234567Z".into()),
            computer: Some("PC1".into()),
            logon_type: logon_type.map(String::from),
            logon_id: Some(id.into()),
            linked: linked.map(String::from),
            sid: Some(sid.into()),
            domain: Some("CORP".into()),
            user: Some(user.into()),
        }
    }

    fn kinds_and_sessions(
        state: &mut EvtxState,
        records: &[Fields],
    ) -> Vec<Option<(String, String, String)>> {
        records
            .iter()
            .map(|f| {
                state.event(f).map(|v| {
                    let [session, _, name, _, _, _, kind] = v;
                    (session.unwrap(), name.unwrap(), kind.unwrap())
                })
            })
            .collect()
    }

    #[test]
    fn events_map_by_id_and_logon_type() {
        let mut st = EvtxState::default();
        let got = kinds_and_sessions(
            &mut st,
            &[
                record(4624, Some("2"), "0x10", Some("0x0"), "S-1", "al"),
                record(4624, Some("3"), "0x11", None, "S-1", "al"), // network: not an event
                record(4800, None, "0x10", None, "S-1", "al"),
                record(4801, None, "0x10", None, "S-1", "al"),
                record(4802, None, "0x10", None, "S-1", "al"),
                record(4803, None, "0x10", None, "S-1", "al"),
                record(4634, Some("3"), "0x11", None, "S-1", "al"), // network logoff: not one
                record(4634, Some("10"), "0x10", None, "S-1", "al"),
                record(4647, None, "0x10", None, "S-1", "al"),
                record(4688, None, "0x10", None, "S-1", "al"),
            ],
        );
        let kinds: Vec<Option<&str>> = got
            .iter()
            .map(|g| g.as_ref().map(|g| g.2.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                Some("login"),
                None,
                Some("idle"),
                Some("activity"),
                Some("idle"),
                Some("activity"),
                None,
                Some("logout"),
                Some("logout"),
                None
            ]
        );
        assert!(got
            .iter()
            .flatten()
            .all(|g| g.0 == "PC1/0x10" && g.1 == "CORP\\al"));
    }

    #[test]
    fn linked_logons_are_one_session_keyed_by_the_smaller_id() {
        let mut st = EvtxState::default();
        let got = kinds_and_sessions(
            &mut st,
            &[
                record(4624, Some("2"), "0x3e8a1", Some("0x3e88f"), "S-1", "al"),
                record(4624, Some("2"), "0x3e88f", Some("0x3e8a1"), "S-1", "al"),
                record(4800, None, "0x3e8a1", None, "S-1", "renamed"),
                record(4634, Some("2"), "0x3e88f", None, "S-1", "al"),
                // The id used again later, without a link: its own session again.
                record(4624, Some("2"), "0x3e8a1", Some("0x0"), "S-1", "bo"),
            ],
        );
        let sessions: Vec<&str> = got.iter().flatten().map(|g| g.0.as_str()).collect();
        assert_eq!(
            sessions,
            [
                "PC1/0x3e88f",
                "PC1/0x3e88f",
                "PC1/0x3e88f",
                "PC1/0x3e88f",
                "PC1/0x3e8a1"
            ]
        );
        // The name of a session is its first record's.
        assert_eq!(got[2].as_ref().unwrap().1, "CORP\\al");
        // 0x10 < 0x9 as text, not as numbers.
        let mut st = EvtxState::default();
        let got = kinds_and_sessions(
            &mut st,
            &[record(4624, Some("11"), "0x10", Some("0x9"), "S-1", "al")],
        );
        assert_eq!(got[0].as_ref().unwrap().0, "PC1/0x9");
    }

    #[test]
    fn a_file_cut_short_is_one_damaged_chunk() {
        assert_eq!(truncation(4096 + 3 * 65536, 3), None);
        assert_eq!(truncation(4096 + 3 * 65536 + 10, 3).unwrap().0, 3);
        assert_eq!(truncation(4096 + 2 * 65536, 5).unwrap().0, 2);
        assert_eq!(
            truncation(4096 + 4 * 65536, 3),
            None,
            "a dirty log may hold more"
        );
    }
}
