//! CSV files: the header, the records as a strict RFC 4180 reader splits
//! them (for the physical line of a bad row), and the way back when polars
//! refuses a file: every record it cannot take (invalid UTF-8, a stray or
//! unterminated quote, more fields than the header) becomes a bad row with
//! its line, and the rest of the file is read as usual.

use super::convert::BadCell;
use super::inputs;
use polars::prelude::*;
use std::io::Read;
use std::ops::Range;
use std::path::Path;

/// One record: its first physical line (1-based), its bytes without the
/// line break, and what is wrong with it, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub bytes: Range<usize>,
    pub fault: Option<String>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file's bytes, decompressed, without a leading byte order mark.
pub fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    inputs::open_decompressed(path)?.read_to_end(&mut bytes)?;
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    Ok(bytes)
}

/// The header's column names.
pub fn header(path: &Path) -> std::io::Result<Vec<String>> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(inputs::open_decompressed(path)?);
    Ok(rdr
        .byte_headers()
        .map_err(std::io::Error::other)?
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .to_string()
        })
        .collect())
}

/// Splits text into records, header first. A record ends at a line break
/// outside a quoted field. A quoted field that never closes is reported as
/// a fault of the record on its first physical line, and reading goes on at
/// the next line; a quote inside an unquoted field, text after a closing
/// quote, invalid UTF-8, and more fields than the header are faults of
/// their record.
pub fn records(b: &[u8]) -> Vec<Record> {
    let n = b.len();
    let mut out = Vec::new();
    let (mut pos, mut line) = (0usize, 1u64);
    let mut width = None;
    while pos < n {
        let (start, first_line) = (pos, line);
        let mut fault: Option<String> = None;
        let mut fields = 1usize;
        let end = loop {
            if b.get(pos) == Some(&b'"') {
                pos += 1;
                let mut closed = false;
                while pos < n {
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
                    let eol = b[start..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(n, |i| start + i);
                    out.push(Record {
                        line: first_line,
                        bytes: start..trim_cr(b, start, eol),
                        fault: Some("unterminated quote: a quoted field is never closed".into()),
                    });
                    pos = (eol + 1).min(n);
                    line = first_line + 1;
                    break None;
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
            break Some(end);
        };
        let Some(end) = end else { continue };
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
        match width {
            None => width = Some(fields),
            Some(w) if fields > w && start != end => {
                fault.get_or_insert_with(|| format!("the row has {fields} fields, the header {w}"));
            }
            Some(_) => {}
        }
        out.push(Record {
            line: first_line,
            bytes,
            fault,
        });
    }
    out
}

fn trim_cr(b: &[u8], start: usize, end: usize) -> usize {
    if end > start && b[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Bytes as text for a message or the rejects file: valid UTF-8 as it is,
/// every other byte as `\xNN`.
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
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

/// Reads a CSV file's `wanted` columns as text with polars. When polars
/// refuses the file, the records it could not take are cut out, each
/// replaced by an empty row so that rows keep their places, and reported
/// as bad rows; the rest is read again. Returns the frame and those rows.
pub fn read(
    path: &Path,
    name: &str,
    wanted: &[String],
    width: usize,
) -> Result<(DataFrame, Vec<BadCell>), String> {
    let wanted: Arc<[PlSmallStr]> = wanted.iter().map(|s| s.as_str().into()).collect();
    let options = || {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_columns(Some(wanted.clone()))
    };
    let refused = match options()
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
    {
        Ok(df) => return Ok((df, Vec::new())),
        Err(e) => e,
    };
    let bytes = read_bytes(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let records = records(&bytes);
    if records.iter().all(|r| r.fault.is_none()) {
        return Err(format!("cannot read {name} as csv: {refused}"));
    }
    if let Some(fault) = records.first().and_then(|h| h.fault.as_ref()) {
        return Err(format!("cannot read the header of {name}: {fault}"));
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
                    row: i - 1,
                    column: None,
                    value: super::abbreviate(&escaped(&bytes[r.bytes.clone()])),
                    rule: rule.clone(),
                });
            }
        }
        clean.push(b'\n');
    }
    let df = options()
        .into_reader_with_file_handle(std::io::Cursor::new(clean))
        .finish()
        .map_err(|e| format!("cannot read {name} as csv: {e}"))?;
    Ok((df, bad))
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
}
