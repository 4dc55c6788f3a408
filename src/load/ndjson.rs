//! NDJSON files as a source: one JSON object per line, streamed in chunks
//! of whole lines (`text`), each parsed in parallel: a line of the plain
//! shape by a quick reader (`quick_line_into`), any other by serde, with
//! the same result. Only the mapped keys are kept: every other value is skipped unparsed. Values are taken as
//! text (numbers by their JSON spelling) and checked like CSV cells; a line
//! that is not a JSON object (or not UTF-8) is a bad row as a whole. Blank
//! lines are skipped. A JSON array or a pretty-printed document is not
//! NDJSON: an error naming the line where that shows.

mod quick;
mod serde_line;

use super::columns::{Canon, ColumnMap};
use super::convert::BadCell;
use super::inputs::InputFile;
use super::source::{self, abbreviate, escaped, Batch, Locate, Open, Place, Source, TextColumn};
use super::text::{after_last_line, Chunks};
use super::{At, LoadError};
use polars::prelude::*;
use polars_buffer::Buffer;
use quick::*;
use rayon::prelude::*;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_line::*;
use std::borrow::Cow;
use std::fmt;

/// An NDJSON file's data lines with their 1-based physical line numbers
/// (counted from `first_line`): blank lines are left out, a trailing `\r`
/// is cut. Reading and locating both count rows by it.
fn data_lines(bytes: &[u8], first_line: u64) -> impl Iterator<Item = (u64, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(move |(i, l)| (first_line + i as u64, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.trim_ascii().is_empty())
}

/// About `k` ranges of `bytes`, each of whole lines.
fn line_pieces(bytes: &[u8], k: usize) -> Vec<std::ops::Range<usize>> {
    let step = bytes.len().div_ceil(k.max(1)).max(1 << 16);
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let want = (start + step).min(bytes.len());
        let end = match memchr::memchr(b'\n', &bytes[want..]) {
            Some(i) if want < bytes.len() => want + i + 1,
            _ => bytes.len(),
        };
        out.push(start..end);
        start = end;
    }
    out
}

/// An NDJSON file being read.
pub struct NdjsonSource {
    file: InputFile,
    chunks: Chunks,
    /// The map as given; `resolved` once the first chunk's keys are known.
    given: ColumnMap,
    resolved: Option<ColumnMap>,
    /// The distinct keys the map reads, in canonical order.
    sources: Vec<String>,
    /// Per source, the top-level key it names, and the nested paths.
    top: Vec<String>,
    nested: Vec<(usize, Vec<String>)>,
    /// Whether the file has each of `sources` (else a hive folder may).
    seen: Vec<bool>,
    next_row: usize,
    /// The file's size once decompressed, about (`text::text_size`).
    text_bytes: u64,
}

/// What a file of this format holds at least (told of an empty file).
pub const NEEDS: &str = "NDJSON needs at least one line holding a JSON object";

impl NdjsonSource {
    pub fn open(o: Open<'_>) -> Result<NdjsonSource, LoadError> {
        let name = o.file.display();
        let chunks =
            Chunks::open(&o.file.path, after_last_line).map_err(|e| LoadError::io(&name, e))?;
        let mut sources: Vec<String> = Vec::new();
        for c in Canon::ALL {
            let s = o.map.source(c).to_string();
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
        let (top, nested) = lookups(&sources);
        Ok(NdjsonSource {
            file: o.file.clone(),
            chunks,
            given: o.map.clone(),
            resolved: None,
            top,
            nested,
            seen: vec![false; sources.len()],
            sources,
            next_row: 0,
            text_bytes: super::text::text_size(&o.file.path),
        })
    }

    /// The first chunk: is it NDJSON at all, and do its keys fit the map?
    fn check_first(&self, lines: &[(u64, &[u8])]) -> Result<(), LoadError> {
        let name = self.file.display();
        if let Some((no, first)) = lines.first() {
            let t = first.trim_ascii();
            let not_ndjson = |what: &str| LoadError::NotNdjson {
                file: name.clone(),
                line: *no,
                what: what.to_string(),
            };
            if t.starts_with(b"[") {
                return Err(not_ndjson("the file is a JSON array"));
            }
            if t.starts_with(b"{")
                && serde_json::from_slice::<serde_json::Value>(t).is_err_and(|e| e.is_eof())
            {
                return Err(not_ndjson(
                    "the JSON object on this line goes on over the next lines (pretty-printed JSON?)",
                ));
            }
        }
        Ok(())
    }
}

/// One line's values of the mapped keys (by index into `sources`).
/// (At most one per canonical column; unused places stay `None`.)
type Values<'a> = [Option<Cow<'a, str>>; Canon::ALL.len()];

/// Why a line is a bad row as a whole.
#[derive(Debug, thiserror::Error)]
enum LineFault {
    #[error("invalid UTF-8: byte 0x{byte:02X} at byte {at} of the line")]
    NotUtf8 { byte: u8, at: usize },
    #[error("not a JSON object: {0}")]
    NotAnObject(serde_json::Error),
}

/// Parses one line: its values, or the rule it breaks.
fn parse_line<'a>(line: &'a [u8], keys: &mut Keys<'_>) -> Result<Values<'a>, LineFault> {
    let text = std::str::from_utf8(line).map_err(|e| LineFault::NotUtf8 {
        byte: line[e.valid_up_to()],
        at: e.valid_up_to() + 1,
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let values = Line(keys)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|_| v))
        .map_err(LineFault::NotAnObject)?;
    Ok(values)
}

impl Source for NdjsonSource {
    fn next_batch(&mut self) -> Result<Option<Batch>, LoadError> {
        let name = self.file.display();
        let Some(chunk) = self
            .chunks
            .next_chunk()
            .map_err(|e| LoadError::io(&name, e))?
        else {
            return Ok(None);
        };
        let buf = chunk.bytes;
        let bytes: &[u8] = &buf;
        let first = self.resolved.is_none();
        if first {
            let first_line: Vec<(u64, &[u8])> =
                data_lines(bytes, chunk.first_line).take(1).collect();
            self.check_first(&first_line)?;
        }
        // Pieces of whole lines, parsed in parallel.
        let pieces = line_pieces(bytes, 4 * rayon::current_num_threads());
        let sources = &self.sources;
        let (top, nested) = (&self.top[..], &self.nested[..]);
        type Piece = (
            Vec<StringChunked>,
            Vec<BadCell>,
            Vec<bool>,
            Option<Vec<String>>,
            usize,
        );
        let parts: Vec<Piece> = pieces
            .par_iter()
            .enumerate()
            .map(|(p, range)| {
                let piece = &bytes[range.clone()];
                let guess = piece.len() / 100 + 1;
                let mut builders: Vec<TextColumn> = sources
                    .iter()
                    .map(|_| TextColumn::with_capacity(guess))
                    .collect();
                let mut seen = vec![false; sources.len()];
                let mut bad = Vec::new();
                let mut found: Option<Vec<String>> = None;
                let mut row = 0usize;
                let mut order = KeyOrder::default();
                let mut rest = piece;
                while !rest.is_empty() {
                    let (line, next) = match memchr::memchr(b'\n', rest) {
                        Some(i) => (&rest[..i], &rest[i + 1..]),
                        None => (rest, &rest[rest.len()..]),
                    };
                    rest = next;
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.trim_ascii().is_empty() {
                        continue;
                    }
                    // The keys of the file's first good line, all of them, for the column check.
                    let want_all = first && p == 0 && found.is_none();
                    let mut keys = Keys {
                        sources: top,
                        all: want_all.then(Vec::new),
                        nested,
                    };
                    let mut quick: Values = Default::default();
                    let read_quick = !want_all
                        && if plain_ascii(line) {
                            // SAFETY: ASCII is UTF-8.
                            let text = unsafe { std::str::from_utf8_unchecked(line) };
                            quick_fields_into(text, &keys, &mut order, &mut quick).is_some()
                        } else {
                            std::str::from_utf8(line).is_ok_and(|text| {
                                quick_line_into(text, &keys, &mut order, &mut quick).is_some()
                            })
                        };
                    let parsed = if read_quick {
                        Ok(())
                    } else {
                        parse_line(line, &mut keys).map(|v| quick = v)
                    };
                    match parsed {
                        Ok(()) => {
                            if want_all {
                                found = keys.all;
                            }
                            for (j, v) in quick.iter().take(sources.len()).enumerate() {
                                seen[j] |= v.is_some();
                                builders[j].push_str(bytes, v.as_deref());
                            }
                        }
                        Err(rule) => {
                            bad.push(BadCell {
                                row,
                                column: None,
                                value: abbreviate(&escaped(line)),
                                rule: rule.to_string().into(),
                            });
                            for b in &mut builders {
                                b.push_null();
                            }
                        }
                    }
                    row += 1;
                }
                let cols = builders
                    .into_iter()
                    .zip(sources)
                    .map(|(b, name)| b.finish(name, &buf))
                    .collect();
                (cols, bad, seen, found, row)
            })
            .collect();
        let n: usize = parts.iter().map(|p| p.4).sum();
        if n == 0 {
            return self.next_batch();
        }
        let mut cols: Option<Vec<StringChunked>> = None;
        let mut bad = Vec::new();
        let mut found: Option<Vec<String>> = None;
        let mut base = 0;
        for (c, b, seen, f, rows) in parts {
            for (j, s) in seen.into_iter().enumerate() {
                self.seen[j] |= s;
            }
            if found.is_none() {
                found = f;
            }
            bad.extend(b.into_iter().map(|mut b| {
                b.row += base;
                b
            }));
            base += rows;
            cols = Some(match cols {
                None => c,
                Some(mut acc) => {
                    for (a, x) in acc.iter_mut().zip(&c) {
                        a.append(x).map_err(|error| LoadError::Frame {
                            file: name.clone(),
                            error,
                        })?;
                    }
                    acc
                }
            });
        }
        if first {
            // A file whose every line so far is bad has no columns to check:
            // its lines are the errors.
            let keys: Vec<String> = {
                let mut k = found.unwrap_or_default();
                for (s, &seen) in self.sources.iter().zip(&self.seen) {
                    if seen && !k.iter().any(|x| same_name(x, s)) {
                        k.push(s.clone());
                    }
                }
                k
            };
            self.resolved = Some(if keys.is_empty() && !bad.is_empty() {
                self.given.clone()
            } else {
                source::resolve(&self.file, &self.given, &keys)?
            });
        }
        // The columns of the file: those whose key it has; the map names
        // them as the sources do (matched above by the same rule).
        let present: Vec<String> = self
            .sources
            .iter()
            .zip(&self.seen)
            .filter(|(_, &s)| s)
            .map(|(s, _)| s.clone())
            .collect();
        let frame_cols: Vec<Column> = cols
            .unwrap_or_default()
            .into_iter()
            .zip(&self.seen)
            .filter(|(_, &s)| s)
            .map(|(c, _)| c.into_series().into())
            .collect();
        let frame = DataFrame::new(n, frame_cols).map_err(|error| LoadError::Frame {
            file: name.clone(),
            error,
        })?;
        let df = source::canonical(&self.file, &self.given, &present, &frame, n, false)?;
        let batch = Batch {
            df,
            bad,
            blank: Vec::new(),
            dict: None,
            focus: None,
            kind: None,
            sets_focus: false,
            first_row: self.next_row,
            place: Box::new(NdjsonPlace {
                bytes: buf,
                first_line: chunk.first_line,
            }),
        };
        self.next_row += n;
        Ok(Some(batch))
    }

    fn estimated_rows(&self) -> u64 {
        // About 60 bytes a row as written.
        self.text_bytes / 60
    }
}

/// A chunk's bytes, kept for naming its bad rows.
struct NdjsonPlace {
    bytes: Buffer<u8>,
    first_line: u64,
}

impl Locate for NdjsonPlace {
    fn locate(&self, rows: &[usize]) -> Result<Vec<Place>, LoadError> {
        let mut out = Vec::with_capacity(rows.len());
        let mut want = rows.iter().peekable();
        for (data_row, (no, line)) in data_lines(&self.bytes, self.first_line).enumerate() {
            while want.peek() == Some(&&data_row) {
                out.push((At::Line(no), vec![("line".to_string(), escaped(line))]));
                want.next();
            }
            if want.peek().is_none() {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str, sources: &[&str]) -> Result<Vec<Option<String>>, LineFault> {
        let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
        let mut keys = Keys {
            sources: &sources,
            all: None,
            nested: &[],
        };
        parse_line(line.as_bytes(), &mut keys).map(|v| {
            v.into_iter()
                .take(sources.len())
                .map(|x| x.map(Cow::into_owned))
                .collect()
        })
    }

    #[test]
    fn dotted_sources_are_paths_into_nested_objects() {
        assert_eq!(split_path("a.b\\.c.d"), ["a", "b.c", "d"]);
        assert_eq!(split_path("plain"), ["plain"]);
        let sources: Vec<String> = ["w.e.Id", "host\\.name", "w.e.N", "w.x.y"]
            .map(String::from)
            .to_vec();
        let (top, nested) = lookups(&sources);
        let mut keys = Keys {
            sources: &top,
            all: Some(Vec::new()),
            nested: &nested,
        };
        let line =
            br#"{"host.name":"pc","w":{"E":{"Id":"0x1f","N":7},"x":3},"host":{"name":"no"}}"#;
        let v = parse_line(line, &mut keys).unwrap();
        let got: Vec<Option<&str>> = v.iter().take(4).map(|x| x.as_deref()).collect();
        // `x` is no object: the path through it is missing.
        assert_eq!(got, [Some("0x1f"), Some("pc"), Some("7"), None]);
        assert!(keys.all.unwrap().contains(&"w.e.Id".to_string()));
    }

    #[test]
    fn values_are_text_as_json_spells_them() {
        let got = parse(
            r#"{"a": 7, "B ": "x\"y", "c": null, "d": 1.5e3, "e": true, "f": [1, {"g": 2}], "skip": {"deep": [1,2]}}"#,
            &["a", "b", "c", "d", "e", "f"],
        )
        .unwrap();
        let want = [
            Some("7"),
            Some("x\"y"),
            None,
            Some("1500.0"),
            Some("true"),
            Some(r#"[1,{"g":2}]"#),
        ];
        assert_eq!(got, want.map(|w| w.map(String::from)));
    }

    #[test]
    fn lines_that_are_not_objects_are_faults() {
        for line in ["[1,2]", "7", "{\"a\":1} x", "{\"a\":", "\"s\""] {
            let e = parse(line, &["a"]).unwrap_err().to_string();
            assert!(e.starts_with("not a JSON object"), "{line}: {e}");
        }
        let e = parse_line(
            b"{\"a\":\"\xff\"}",
            &mut Keys {
                sources: &["a".into()],
                all: None,
                nested: &[],
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("invalid UTF-8: byte 0xFF at byte 7"), "{e}");
    }
}
