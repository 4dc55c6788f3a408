//! The rejects file: one JSON object per skipped bad row, with its place, the
//! broken rule and the whole original record, so nothing is dropped without a trace.

use crate::load::{At, BadRow};
use crate::output::atomic::write_atomic;
use anyhow::Context;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::io::{self, Write};
use std::path::Path;

/// Writes the rejects file (empty when nothing was rejected, so an old one
/// never lingers).
pub fn write_file(path: &Path, rejected: &[BadRow]) -> anyhow::Result<()> {
    write_atomic(path, |w| write_rejects(w, rejected))
        .with_context(|| format!("cannot write the rejects file {}", path.display()))
}

/// After the load of a run that writes no folder (`sessions`,
/// `productivity`, a server's load): what it says of stale EVTX chunks, and
/// its rejected rows written to `--rejects` and told.
pub fn settle(path: Option<&Path>, rejected: &[BadRow], stale_chunks: u64) -> anyhow::Result<()> {
    if let Some(note) = crate::load::evtx::stale_note(stale_chunks) {
        eprintln!("sessionstat: {note}");
    }
    if let Some(path) = path {
        write_file(path, rejected)?;
        tell(rejected, path);
    }
    Ok(())
}

/// Tells stderr how many bad rows were skipped and where they went.
pub fn tell(rejected: &[BadRow], path: &Path) {
    if let Some(first) = rejected.first() {
        eprintln!(
            "sessionstat: skipped {} bad rows (written to {}); first: {first}",
            rejected.len(),
            path.display()
        );
    }
}

struct Record<'a>(&'a [(String, String)]);

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Line<'a> {
    source: String,
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk: Option<u64>,
    /// An ActivityWatch event's index in its bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<u64>,
    column: &'a str,
    value: &'a str,
    reason: &'a str,
    record: Record<'a>,
}

/// Writes the rejected rows as NDJSON, in input order.
pub fn write_rejects(mut w: impl Write, rows: &[BadRow]) -> io::Result<()> {
    for r in rows {
        let (mut line, mut row, mut record_number, mut chunk, mut event) =
            (None, None, None, None, None);
        match r.at {
            At::Line(l) => line = Some(l),
            At::Row(i) => row = Some(i),
            At::Record(n) => record_number = Some(n),
            At::Chunk(c) => chunk = Some(c),
            At::Event(i) => event = Some(i),
            At::Unplaced => {}
        }
        let l = Line {
            source: r.source(),
            file: &r.file,
            line,
            row,
            record_number,
            chunk,
            event,
            column: &r.column,
            value: &r.value,
            reason: &r.rule.text(),
            record: Record(&r.record),
        };
        serde_json::to_writer(&mut w, &l)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
