//! Text files (CSV, NDJSON; plain, gzip or zstd) as a stream of chunks of
//! whole records, of bounded size. A thread reads and decompresses the file
//! while the chunk before is parsed and checked, so that decompression,
//! the floor for a compressed file, overlaps everything else.
//!
//! Each format says where the last whole record of a buffer ends
//! (`Boundary`); a chunk always starts at a record boundary and ends at one,
//! so each chunk parses on its own exactly as it would inside the whole
//! file. A chunk knows its first physical line, for naming bad rows.

use super::inputs;
use polars_buffer::Buffer;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};

/// The size a chunk is cut at (a chunk ends at the last record boundary
/// before it; a record longer than that makes a longer chunk).
pub const CHUNK_BYTES: usize = 16 << 20;

/// `CHUNK_BYTES`, or `SESSIONSTAT_CHUNK_BYTES` when set: tests make chunks
/// small to put chunk edges among a small file's records.
fn chunk_bytes() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        std::env::var("SESSIONSTAT_CHUNK_BYTES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(CHUNK_BYTES, |v| v.max(1))
    })
}

/// Where the last whole record of `buf` ends (just past its line break),
/// `buf` starting at a record boundary; 0 when no record is whole yet.
pub type Boundary = fn(buf: &[u8]) -> usize;

/// A run of whole records.
pub struct Chunk {
    pub bytes: Buffer<u8>,
    /// The physical line (1-based) the chunk starts on.
    pub first_line: u64,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Chunks of a file, read on their own thread, one chunk ahead.
pub struct Chunks {
    rx: Receiver<std::io::Result<Chunk>>,
}

impl Chunks {
    /// Starts reading `path` (decompressing it as its first bytes say; a
    /// leading byte order mark is dropped), cutting chunks at `boundary`.
    pub fn open(path: &Path, boundary: Boundary) -> std::io::Result<Chunks> {
        let reader = inputs::open_decompressed(path)?;
        let size = chunk_bytes();
        let (tx, rx) = sync_channel(1);
        std::thread::Builder::new()
            .name("sessionstat-read".into())
            .spawn(move || {
                let mut reader = reader;
                let mut first_line = 1;
                let mut pending: Vec<u8> = Vec::with_capacity(size + (1 << 16));
                let mut start = true;
                let mut want = size;
                loop {
                    let eof = match fill(&mut reader, &mut pending, want) {
                        Ok(eof) => eof,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    if start {
                        start = false;
                        if pending.starts_with(BOM) {
                            pending.drain(..BOM.len());
                        }
                    }
                    let cut = if eof {
                        pending.len()
                    } else {
                        boundary(&pending)
                    };
                    if cut == 0 && !eof {
                        // No whole record yet: a longer one; read on.
                        want = pending.len() + size;
                        continue;
                    }
                    want = size;
                    let rest = pending[cut..].to_vec();
                    let mut bytes = std::mem::replace(&mut pending, {
                        let mut v = Vec::with_capacity(size + rest.len() + (1 << 16));
                        v.extend_from_slice(&rest);
                        v
                    });
                    bytes.truncate(cut);
                    let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
                    let chunk = Chunk {
                        bytes: Buffer::from_vec(bytes),
                        first_line,
                    };
                    first_line += lines;
                    if !chunk.bytes.is_empty() && tx.send(Ok(chunk)).is_err() {
                        return; // loading stopped: read no further
                    }
                    if eof {
                        return;
                    }
                }
            })?;
        Ok(Chunks { rx })
    }

    /// The next chunk; `None` after the last.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        match self.rx.recv() {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// Reads until `buf` holds at least `want` bytes or the input ends; returns
/// whether it ended. Reads into the spare capacity: nothing is zeroed first.
fn fill(r: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while buf.len() < want {
        let need = (want - buf.len()) as u64;
        buf.reserve(need as usize);
        let got = Read::take(&mut *r, need).read_to_end(buf)?;
        if got == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// About how many bytes a text file holds once decompressed, for planning
/// passes: its size, or six times that when it is gzip or zstd.
pub fn text_size(path: &Path) -> u64 {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    if inputs::is_compressed(path) {
        size * 6
    } else {
        size
    }
}

/// A boundary for line-per-record formats (NDJSON): after the last line break.
pub fn after_last_line(buf: &[u8]) -> usize {
    memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_join_to_the_file_and_count_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.ndjson");
        let line = "x".repeat(999) + "\n";
        let text = format!("\u{feff}{}", line.repeat(40_000));
        std::fs::write(&path, &text).unwrap();
        let mut chunks = Chunks::open(&path, after_last_line).unwrap();
        let mut all = Vec::new();
        let mut expect_line = 1;
        let mut n = 0;
        while let Some(c) = chunks.next_chunk().unwrap() {
            assert_eq!(c.first_line, expect_line);
            assert!(c.bytes.ends_with(b"\n"));
            expect_line += c.bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            all.extend_from_slice(&c.bytes);
            n += 1;
        }
        assert!(n >= 3, "{n} chunks");
        assert_eq!(all, line.repeat(40_000).as_bytes());
    }
}
