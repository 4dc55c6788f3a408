//! CSV files as a source: streamed in chunks of whole records (`text`),
//! the mapped columns only, on all cores. A chunk without quotes is split
//! here, its values left in place (`split_plain`); any other chunk is
//! parsed by polars. A record boundary is found by the rules of the strict reader below, so a
//! quoted line break never splits a record. When polars refuses a chunk,
//! every record it cannot take (invalid UTF-8, a stray or unterminated
//! quote, more fields than the header) becomes a bad row with its line, and
//! the rest of the chunk is read as usual.

use super::columns::ColumnMap;
use super::convert::BadCell;
use super::inputs::InputFile;
use super::source::{self, abbreviate, escaped, Batch, Locate, Open, Place, Source, TextColumn};
use super::text::{Chunk, Chunks};
use super::{At, LoadError};
use polars::prelude::*;
use polars_buffer::Buffer;
use std::ops::Range;
use std::sync::Arc;

/// One record: its first physical line (1-based), its bytes without the
/// line break, and what is wrong with it, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub bytes: Range<usize>,
    pub fault: Option<String>,
}

/// A quoted field must close within this many bytes of its opening quote;
/// past that the quote counts as never closed, so that one stray quote
/// cannot make the rest of a file one record, and a chunk stays bounded.
pub const MAX_QUOTED: usize = 1 << 20;

/// The records of text that starts at a record boundary. A record ends at
/// a line break outside a quoted field. A quoted field that never closes
/// (within `MAX_QUOTED` bytes) is a fault of the record on its first
/// physical line, and reading goes on at the next line; a quote inside an
/// unquoted field, text after a closing quote, invalid UTF-8, and more
/// fields than `width` (by default the first record's) are faults of their
/// record.
pub struct Records<'a> {
    b: &'a [u8],
    pos: usize,
    line: u64,
    width: Option<usize>,
}

impl<'a> Records<'a> {
    pub fn new(b: &'a [u8], width: Option<usize>) -> Self {
        Records {
            b,
            pos: 0,
            line: 1,
            width,
        }
    }

    /// Where the next record starts, and its physical line.
    pub fn position(&self) -> (usize, u64) {
        (self.pos, self.line)
    }
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let b = self.b;
        let n = b.len();
        if self.pos >= n {
            return None;
        }
        let (start, first_line) = (self.pos, self.line);
        let (mut pos, mut line) = (self.pos, self.line);
        let mut fault: Option<String> = None;
        let mut fields = 1usize;
        let end = loop {
            if b.get(pos) == Some(&b'"') {
                let open = pos;
                pos += 1;
                let mut closed = false;
                while pos < n && pos - open <= MAX_QUOTED {
                    match b[pos] {
                        b'"' if b.get(pos + 1) == Some(&b'"') => pos += 2,
                        b'"' => {
                            pos += 1;
                            closed = true;
                            break;
                        }
                        c => {
                            line += u64::from(c == b'\n');
                            pos += 1;
                        }
                    }
                }
                if !closed {
                    // The record is its first line; the next line starts afresh.
                    let eol = memchr::memchr(b'\n', &b[start..]).map_or(n, |i| start + i);
                    self.pos = (eol + 1).min(n);
                    self.line = first_line + 1;
                    return Some(Record {
                        line: first_line,
                        bytes: start..trim_cr(b, start, eol),
                        fault: Some("unterminated quote: a quoted field is never closed".into()),
                    });
                }
                if !matches!(b.get(pos), None | Some(b',' | b'\n' | b'\r')) {
                    fault.get_or_insert_with(|| {
                        "stray quote: text after the closing quote of a quoted field".into()
                    });
                }
            }
            while pos < n && b[pos] != b',' && b[pos] != b'\n' {
                if b[pos] == b'"' {
                    fault.get_or_insert_with(|| {
                        "stray quote: a quote inside an unquoted field (quote the whole field and double the quotes in it)".into()
                    });
                }
                pos += 1;
            }
            if pos < n && b[pos] == b',' {
                pos += 1;
                fields += 1;
                continue;
            }
            let end = trim_cr(b, start, pos);
            if pos < n {
                pos += 1;
                line += 1;
            }
            break end;
        };
        self.pos = pos;
        self.line = line;
        let bytes = start..end;
        if fault.is_none() {
            if let Err(e) = std::str::from_utf8(&b[bytes.clone()]) {
                fault = Some(format!(
                    "invalid UTF-8: byte 0x{:02X} at byte {} of the record",
                    b[start + e.valid_up_to()],
                    e.valid_up_to() + 1
                ));
            }
        }
        match self.width {
            None => self.width = Some(fields),
            Some(w) if fields > w && start != end => {
                fault.get_or_insert_with(|| format!("the row has {fields} fields, the header {w}"));
            }
            Some(_) => {}
        }
        Some(Record {
            line: first_line,
            bytes,
            fault,
        })
    }
}

/// Every record of text, header first (the header's width rules).
pub fn records(b: &[u8]) -> Vec<Record> {
    Records::new(b, None).collect()
}

/// Where the last whole record of `b` ends (just past its line break) by
/// the rules of `Records`, jumping from quote to quote; 0 when none is
/// whole yet. `b` starts at a record boundary.
pub fn last_boundary(b: &[u8]) -> usize {
    let n = b.len();
    // `last`: the start of the record being scanned (just past a line
    // break outside quotes); `pos`: where scanning goes on, outside quotes.
    let (mut last, mut pos) = (0usize, 0usize);
    loop {
        let Some(q) = memchr::memchr(b'"', &b[pos..]).map(|i| pos + i) else {
            return memchr::memrchr(b'\n', &b[pos..]).map_or(last, |i| pos + i + 1);
        };
        if let Some(i) = memchr::memrchr(b'\n', &b[pos..q]) {
            last = pos + i + 1;
        }
        if q != last && b[q - 1] != b',' {
            pos = q + 1; // a stray quote: still outside
            continue;
        }
        // A quoted field: find its closing quote.
        let mut at = q + 1;
        let close = loop {
            match memchr::memchr(b'"', &b[at..]).map(|i| at + i) {
                Some(c) if c - q > MAX_QUOTED => break None,
                // A quote at the very end may be the first of a doubled one.
                Some(c) if c + 1 == n => return last,
                Some(c) if b[c + 1] == b'"' => at = c + 2,
                Some(c) => break Some(c),
                None if n - q > MAX_QUOTED => break None,
                None => return last, // it may close in what comes next
            }
        };
        match close {
            Some(c) => pos = c + 1,
            // Never closed: the record is its first line.
            None => match memchr::memchr(b'\n', &b[last..]) {
                Some(i) => {
                    last += i + 1;
                    pos = last;
                }
                None => return 0,
            },
        }
    }
}

fn trim_cr(b: &[u8], start: usize, end: usize) -> usize {
    if end > start && b[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// The fields of one well-formed record.
pub fn fields(record: &[u8]) -> Vec<String> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(record);
    rdr.byte_records()
        .next()
        .and_then(Result::ok)
        .map(|r| {
            r.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The fields `projection` of CSV text with `width` fields a record, read
/// by polars on one thread, as columns `c{field}` of text.
fn polars_read(
    bytes: &[u8],
    width: usize,
    projection: &Arc<Vec<usize>>,
) -> PolarsResult<DataFrame> {
    // Columns by position: the header may repeat a name the map does not read.
    let schema: Schema = (0..width)
        .map(|i| Field::new(format!("c{i}").into(), DataType::String))
        .collect();
    CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(Arc::new(schema)))
        .with_projection(Some(projection.clone()))
        .with_n_threads(Some(1))
        .into_reader_with_file_handle(std::io::Cursor::new(bytes))
        .finish()
}

/// The wanted fields of a chunk without quotes, as text columns that
/// point into the chunk's own buffer (no copy): `Some` only where the
/// result is what polars' reader gives (every line of `width` fields or
/// empty, valid UTF-8, `\r` only before `\n`), else `None` and the chunk
/// goes to polars. `projection[j]` is the field that column `j` holds; an
/// empty field is null, an empty line a row of nulls.
fn split_plain(
    buf: &Buffer<u8>,
    range: Range<usize>,
    width: usize,
    projection: &[usize],
) -> Option<Vec<TextColumn>> {
    let base = range.start;
    let b: &[u8] = &buf[range];
    if width < 2 || std::str::from_utf8(b).is_err() || u32::try_from(buf.len()).is_err() {
        return None;
    }
    // Which column each field goes to, if any.
    let mut slot = vec![usize::MAX; width];
    for (j, &f) in projection.iter().enumerate() {
        slot[f] = j;
    }
    let guess = b.len() / 64 + 1;
    let mut cols: Vec<TextColumn> = projection
        .iter()
        .map(|_| TextColumn::with_capacity(guess))
        .collect();
    let mut push = |field: usize, s: usize, e: usize| {
        if let Some(c) = cols.get_mut(slot[field]) {
            if s == e {
                c.push_null();
            } else {
                c.push_in(buf, base + s..base + e);
            }
        }
    };
    let crs = memchr::memchr_iter(b'\r', b).count();
    let (mut stripped, mut field, mut start) = (0usize, 0usize, 0usize);
    let ends = memchr::memchr2_iter(b',', b'\n', b).chain(
        // The last line may have no line break.
        (!b.is_empty() && b[b.len() - 1] != b'\n').then_some(b.len()),
    );
    for at in ends {
        if at < b.len() && b[at] == b',' {
            if field + 1 >= width {
                return None;
            }
            push(field, start, at);
            field += 1;
            start = at + 1;
            continue;
        }
        let mut end = at;
        if end > start && b[end - 1] == b'\r' {
            end -= 1;
            stripped += 1;
        }
        if field == 0 && end == start {
            // An empty line: a row of nulls.
            for f in 0..width {
                push(f, start, start);
            }
        } else if field + 1 == width {
            push(field, start, end);
        } else {
            return None;
        }
        field = 0;
        start = at + 1;
    }
    (stripped == crs).then_some(cols)
}

/// A CSV file being read.
pub struct CsvSource {
    file: InputFile,
    chunks: Chunks,
    /// The first chunk's data, after the header.
    first: Option<Chunk>,
    headers: Arc<Vec<String>>,
    map: ColumnMap,
    /// The header's names of the columns read, and their places.
    wanted: Vec<String>,
    projection: Arc<Vec<usize>>,
    next_row: usize,
    /// The file's size once decompressed, about (`text::text_size`).
    text_bytes: u64,
}

/// What a file of this format holds at least (told of an empty file).
pub const NEEDS: &str = "a CSV needs at least a header row";

impl CsvSource {
    pub fn open(o: Open<'_>) -> Result<CsvSource, LoadError> {
        let name = o.file.display();
        let io = |e| LoadError::io(&name, e);
        let mut chunks = Chunks::open(&o.file.path, last_boundary).map_err(io)?;
        let first = chunks.next_chunk().map_err(io)?;
        let Some(first) = first else {
            return Err(LoadError::Unreadable {
                what: format!("the header of {name}"),
                why: "the file has no header row".into(),
            });
        };
        let mut recs = Records::new(&first.bytes, None);
        let header = recs.next().expect("a chunk holds a record");
        if let Some(fault) = &header.fault {
            return Err(LoadError::Unreadable {
                what: format!("the header of {name}"),
                why: fault.to_string(),
            });
        }
        let headers = fields(&first.bytes[header.bytes.clone()]);
        let (at, line) = recs.position();
        let first = Chunk {
            bytes: first.bytes.sliced(at..),
            first_line: first.first_line + line - 1,
        };
        let map = source::resolve(o.file, o.map, &headers)?;
        let wanted = source::wanted_columns(&map, &headers);
        let projection = wanted
            .iter()
            .map(|w| headers.iter().position(|h| h == w).expect("a header name"))
            .collect();
        Ok(CsvSource {
            file: o.file.clone(),
            chunks,
            first: Some(first),
            headers: Arc::new(headers),
            map,
            wanted,
            projection: Arc::new(projection),
            next_row: 0,
            text_bytes: super::text::text_size(&o.file.path),
        })
    }

    /// Reads the chunk's `wanted` columns as text. When polars refuses it,
    /// the records it cannot take are cut out, each replaced by an empty
    /// row so that rows keep their places, and reported as bad cells.
    fn parse(
        &self,
        buf: &Buffer<u8>,
        first_line: u64,
    ) -> Result<(DataFrame, Vec<BadCell>), LoadError> {
        let name = self.file.display();
        let width = self.headers.len();
        let projection = &self.projection;
        let read_one = |bytes: &[u8]| polars_read(bytes, width, projection);
        // Two halves, split where a record ends, each parsed on one thread:
        // a parse of one buffer on several threads has a serial first step
        // (counting lines), and this leaves none.
        let read = |bytes: &[u8]| -> PolarsResult<DataFrame> {
            let mid = if bytes.len() >= 1 << 20 {
                last_boundary(&bytes[..bytes.len() / 2])
            } else {
                0
            };
            if mid == 0 {
                return read_one(bytes);
            }
            let (a, b) = rayon::join(|| read_one(&bytes[..mid]), || read_one(&bytes[mid..]));
            let mut a = a?;
            a.vstack_mut_owned(b?)?;
            Ok(a)
        };
        let named = |mut df: DataFrame| -> DataFrame {
            for (&i, w) in self.projection.iter().zip(&self.wanted) {
                let _ = df.rename(&format!("c{i}"), w.as_str().into());
            }
            df
        };
        if self.wanted.is_empty() {
            return Ok((DataFrame::empty(), Vec::new()));
        }
        let bytes: &[u8] = buf;
        let quoted = memchr::memchr(b'"', bytes).is_some();
        if !quoted {
            if let Some(df) = self.split_halves(buf) {
                return Ok((df, Vec::new()));
            }
        }
        // polars takes some quotes the strict reader refuses (`al"ice`): a
        // chunk with quotes is checked by the strict reader first, so that
        // such a record is bad wherever the chunk edges fall.
        let records: Option<Vec<Record>> =
            quoted.then(|| Records::new(bytes, Some(width)).collect());
        let faulty = records
            .as_ref()
            .is_some_and(|r| r.iter().any(|r| r.fault.is_some()));
        let refused = if faulty {
            None
        } else {
            match read(bytes) {
                Ok(df) => return Ok((named(df), Vec::new())),
                Err(e) => Some(e),
            }
        };
        let records = records.unwrap_or_else(|| Records::new(bytes, Some(width)).collect());
        if let (Some(refused), true) = (&refused, records.iter().all(|r| r.fault.is_none())) {
            let last = first_line + bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            return Err(LoadError::Unreadable {
                what: format!("{name} (lines {first_line}-{last}) as csv"),
                why: refused.to_string(),
            });
        }
        let empty_row = ",".repeat(width.saturating_sub(1));
        let mut clean = Vec::with_capacity(bytes.len());
        let mut bad = Vec::new();
        for (i, r) in records.iter().enumerate() {
            match &r.fault {
                None => clean.extend_from_slice(&bytes[r.bytes.clone()]),
                Some(rule) => {
                    clean.extend_from_slice(empty_row.as_bytes());
                    bad.push(BadCell {
                        row: i,
                        column: None,
                        value: abbreviate(&escaped(&bytes[r.bytes.clone()])),
                        rule: rule.clone().into(),
                    });
                }
            }
            clean.push(b'\n');
        }
        let df = read(&clean).map_err(|e| LoadError::Unreadable {
            what: format!("{name} as csv"),
            why: e.to_string(),
        })?;
        Ok((named(df), bad))
    }

    /// `split_plain` of a chunk in two halves split at a line break, one
    /// on each core; `None` where either half is not plain.
    fn split_halves(&self, buf: &Buffer<u8>) -> Option<DataFrame> {
        let b: &[u8] = buf;
        let width = self.headers.len();
        let mid = if b.len() >= 1 << 20 {
            memchr::memchr(b'\n', &b[b.len() / 2..]).map_or(b.len(), |i| b.len() / 2 + i + 1)
        } else {
            b.len()
        };
        let projection = &self.projection[..];
        let (x, y) = rayon::join(
            || split_plain(buf, 0..mid, width, projection),
            || split_plain(buf, mid..b.len(), width, projection),
        );
        let (x, y) = (x?, y?);
        let n = x.first().map_or(0, |a| a.len()) + y.first().map_or(0, |a| a.len());
        let mut cols = Vec::with_capacity(x.len());
        for ((x, y), name) in x.into_iter().zip(y).zip(&self.wanted) {
            let mut c = x.finish(name, buf);
            c.append(&y.finish(name, buf)).ok()?;
            cols.push(c.into_series().into());
        }
        DataFrame::new(n, cols).ok()
    }
}

impl Source for CsvSource {
    fn next_batch(&mut self) -> Result<Option<Batch>, LoadError> {
        let chunk = match self.first.take() {
            Some(c) => c,
            None => match self
                .chunks
                .next_chunk()
                .map_err(|e| LoadError::io(&self.file.display(), e))?
            {
                Some(c) => c,
                None => return Ok(None),
            },
        };
        if chunk.bytes.is_empty() {
            return self.next_batch(); // a file of a header only
        }
        let buf = chunk.bytes;
        let (df, bad) = self.parse(&buf, chunk.first_line)?;
        let n = df.height();
        let mut blank = source::blank_rows(&df);
        // A record cut out as unreadable left an empty row: it is a bad row, not a blank one.
        blank.retain(|r| bad.binary_search_by_key(r, |b| b.row).is_err());
        let df = source::canonical(&self.file, &self.map, &self.wanted, &df, n, false)?;
        let batch = Batch {
            df,
            bad,
            blank,
            dict: None,
            focus: None,
            kind: None,
            sets_focus: false,
            first_row: self.next_row,
            place: Box::new(CsvPlace {
                bytes: buf,
                first_line: chunk.first_line,
                headers: self.headers.clone(),
            }),
        };
        self.next_row += n;
        Ok(Some(batch))
    }

    fn estimated_rows(&self) -> u64 {
        // About 40 bytes a row as written.
        self.text_bytes / 40
    }
}

/// A chunk's bytes, kept for naming its bad rows.
struct CsvPlace {
    bytes: Buffer<u8>,
    first_line: u64,
    headers: Arc<Vec<String>>,
}

impl Locate for CsvPlace {
    fn locate(&self, rows: &[usize]) -> Result<Vec<Place>, LoadError> {
        let records: Vec<Record> = Records::new(&self.bytes, Some(self.headers.len())).collect();
        let text = |r: &Record| &self.bytes[r.bytes.clone()];
        Ok(rows
            .iter()
            .map(|&r| match records.get(r) {
                // A record that cannot be split into fields goes whole, escaped.
                Some(rec) if rec.fault.is_some() => (
                    At::Line(self.first_line + rec.line - 1),
                    vec![("record".to_string(), escaped(text(rec)))],
                ),
                Some(rec) => {
                    let record = fields(text(rec))
                        .into_iter()
                        .enumerate()
                        .map(|(j, v)| {
                            let name = self.headers.get(j).cloned();
                            (name.unwrap_or_else(|| format!("field{}", j + 1)), v)
                        })
                        .collect();
                    (At::Line(self.first_line + rec.line - 1), record)
                }
                None => (At::Line(self.first_line + r as u64), Vec::new()),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(text: &[u8]) -> Vec<(u64, String, Option<String>)> {
        records(text)
            .into_iter()
            .map(|r| (r.line, escaped(&text[r.bytes]), r.fault))
            .collect()
    }

    #[test]
    fn records_follow_quotes_over_lines() {
        let text = b"a,b\n1,\"two\nlines\"\n\n3,\"say \"\"hi\"\"\"\r\n4,x";
        let got = faults(text);
        let lines: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 4, 5, 6]);
        assert!(got.iter().all(|r| r.2.is_none()), "{got:?}");
        assert_eq!(got[3].1, "3,\"say \"\"hi\"\"\"");
    }

    #[test]
    fn malformed_records_are_named_by_their_line() {
        let text = b"a,b\n1,al\"ice\n2,\"bob\"x\n3,\xFFz\n4,ok,extra\n5,\"open\n6,after\n";
        let got = faults(text);
        let at: Vec<(u64, bool)> = got.iter().map(|r| (r.0, r.2.is_some())).collect();
        assert_eq!(
            at,
            [
                (1, false),
                (2, true),
                (3, true),
                (4, true),
                (5, true),
                (6, true),
                (7, false)
            ]
        );
        assert!(got[1].2.as_ref().unwrap().contains("stray quote"));
        assert!(got[2]
            .2
            .as_ref()
            .unwrap()
            .contains("after the closing quote"));
        assert!(got[3]
            .2
            .as_ref()
            .unwrap()
            .contains("invalid UTF-8: byte 0xFF"));
        assert_eq!(got[3].1, "3,\\xFFz");
        assert!(got[4]
            .2
            .as_ref()
            .unwrap()
            .contains("3 fields, the header 2"));
        assert!(got[5].2.as_ref().unwrap().contains("unterminated quote"));
        assert_eq!(got[5].1, "5,\"open");
        assert_eq!(got[6].1, "6,after");
    }

    /// Records of `b` as (line, text, fault), lines counted from `first_line`.
    fn listed(
        b: &[u8],
        width: Option<usize>,
        first_line: u64,
    ) -> Vec<(u64, Vec<u8>, Option<String>)> {
        Records::new(b, width)
            .map(|r| (first_line + r.line - 1, b[r.bytes].to_vec(), r.fault))
            .collect()
    }

    #[test]
    fn a_chunk_ends_where_a_record_ends() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let alphabet = [b'a', b'a', b'a', b',', b',', b'"', b'\n', b'\n', b'\r'];
        for case in 0..20_000 {
            let n = rng.random_range(0..40);
            let text: Vec<u8> = (0..n)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            let whole = listed(&text, None, 1);
            // Cut the text as a reader does: at the last boundary of a prefix.
            let prefix = rng.random_range(0..=text.len());
            let cut = last_boundary(&text[..prefix]);
            assert!(cut <= prefix);
            // The width the whole text's reader has at the cut.
            let mut r = Records::new(&text, None);
            while r.position().0 < cut {
                r.next();
            }
            let width = r.width;
            let mut got = listed(&text[..cut], None, 1);
            let lines = text[..cut].iter().filter(|&&b| b == b'\n').count() as u64;
            got.extend(listed(&text[cut..], width, 1 + lines));
            assert_eq!(
                got,
                whole,
                "case {case}: {:?} cut at {cut} of {prefix}",
                String::from_utf8_lossy(&text)
            );
        }
    }
    #[test]
    fn plain_chunks_split_as_polars_reads_them() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        let values = ["", "", "a", "bcdefghijklmnopq", "é", "x\ry"];
        let (mut plain, mut cases) = (0, 0);
        while plain < 3_000 {
            cases += 1;
            let width = rng.random_range(2..5);
            // Lines of about `width` fields, some empty, some ragged.
            let mut text = String::new();
            for _ in 0..rng.random_range(1..6) {
                let fields = match rng.random_range(0..20) {
                    0 => 0,
                    1 => width - 1,
                    2 => width + 1,
                    _ => width,
                };
                let line: Vec<&str> = (0..fields)
                    .map(|_| values[rng.random_range(0..values.len())])
                    .collect();
                text.push_str(&line.join(","));
                text.push_str(["\n", "\n", "\r\n", "\r"][rng.random_range(0..4)]);
            }
            if rng.random_range(0..4) == 0 {
                text.pop(); // no line break at the end
            }
            if text.is_empty() {
                continue;
            }
            let projection: Vec<usize> =
                (0..width).filter(|_| rng.random_range(0..3) > 0).collect();
            if projection.is_empty() {
                continue;
            }
            let buf = Buffer::from_vec(text.clone().into_bytes());
            let Some(cols) = split_plain(&buf, 0..buf.len(), width, &projection) else {
                continue;
            };
            plain += 1;
            let want = polars_read(text.as_bytes(), width, &Arc::new(projection.clone()))
                .unwrap_or_else(|e| panic!("{text:?}: polars refuses what is plain: {e}"));
            let got: Vec<Vec<Option<String>>> = cols
                .into_iter()
                .map(|c| {
                    let c = c.finish("c", &buf);
                    c.iter().map(|v| v.map(String::from)).collect()
                })
                .collect();
            let want: Vec<Vec<Option<String>>> = projection
                .iter()
                .map(|f| {
                    let c = want
                        .column(&format!("c{f}"))
                        .unwrap()
                        .str()
                        .unwrap()
                        .clone();
                    c.iter().map(|v| v.map(String::from)).collect()
                })
                .collect();
            assert_eq!(got, want, "{text:?}, width {width}, fields {projection:?}");
        }
        assert!(
            cases < 20 * plain,
            "too few plain cases: {plain} of {cases}"
        );
    }
}
