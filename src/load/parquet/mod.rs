//! Parquet files as a source: read in batches of whole row groups, the
//! mapped columns only; the name columns, where the writer stored them as
//! dictionaries, as dictionary indices (`dict`).

pub mod dict;
mod pages;

use super::columns::{Canon, ColumnMap};
use super::convert;
use super::inputs::InputFile;
use super::names::{Interner, NAMES};
use super::source::{self, Batch, Locate, Open, Place, Source};
use super::{At, ColumnsError, LoadError};
use polars::prelude::*;
use polars_parquet::read::RowGroupMetadata;
use std::sync::{Arc, Mutex};

/// Rows per batch: whole row groups are read until a batch holds at least
/// this many rows, so memory holds one batch of strings at a time.
const BATCH_ROWS: usize = 1 << 18;

/// A Parquet file being read.
pub struct ParquetSource {
    file: InputFile,
    /// The footer, parsed once: a file of 800 row groups has a footer of its own weight.
    footer: FileMetadataRef,
    schema: polars_arrow::datatypes::ArrowSchemaRef,
    map: ColumnMap,
    found: Vec<String>,
    /// Batches of whole row groups: (first row, rows).
    slices: std::vec::IntoIter<(usize, usize)>,
    interner: Arc<Mutex<Interner>>,
}

/// What a file of this format holds at least (told of an empty file).
pub const NEEDS: &str =
    "a Parquet file needs at least its footer and schema (it starts and ends with PAR1)";

impl ParquetSource {
    pub fn open(o: Open<'_>) -> Result<ParquetSource, LoadError> {
        let name = o.file.display();
        let f = std::fs::File::open(&o.file.path).map_err(|e| LoadError::io(&name, e))?;
        let mut reader = ParquetReader::new(f);
        let footer = reader
            .get_metadata()
            .map_err(|e| LoadError::Unreadable {
                what: format!("{name} as parquet"),
                why: e.to_string(),
            })?
            .clone();
        let schema = reader.schema().map_err(|e| LoadError::Unreadable {
            what: format!("{name} as parquet"),
            why: e.to_string(),
        })?;
        let found: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        let map = source::resolve(o.file, o.map, &found)?;
        check_types(&name, &map, &schema)?;
        let mut slices = Vec::new();
        let (mut start, mut len) = (0usize, 0usize);
        for rg in &footer.row_groups {
            len += rg.num_rows();
            // The first batch is read while nothing else can run: one row group.
            if len >= BATCH_ROWS || slices.is_empty() {
                slices.push((start, len));
                start += len;
                len = 0;
            }
        }
        if len > 0 || slices.is_empty() {
            slices.push((start, len));
        }
        Ok(ParquetSource {
            file: o.file.clone(),
            footer,
            schema,
            map,
            found,
            slices: slices.into_iter(),
            interner: o.interner,
        })
    }

    fn read(&self, slice: (usize, usize)) -> Result<Batch, LoadError> {
        let name = self.file.display();
        let map = &self.map;
        let io = |e| LoadError::io(&name, e);
        let mut wanted = source::wanted_columns(map, &self.found);
        let f = std::fs::File::open(&self.file.path).map_err(io)?;
        pages::check(&f, groups_of(&self.footer, slice), &wanted).map_err(|why| {
            LoadError::Unreadable {
                what: format!("{name}{} as parquet", place(slice, &self.footer)),
                why: format!("{why} (the file is corrupt)"),
            }
        })?;
        let dict_names = dict::read(&f, &self.footer, &self.schema, map, slice).map(|groups| {
            self.interner
                .lock()
                .expect("no thread panicked")
                .names(groups)
        });
        if dict_names.is_some() {
            let names = NAMES.map(|c| map.source(c));
            wanted.retain(|w| !names.contains(&w.as_str()));
        }
        let focus = dict::read_focus(&f, &self.footer, &self.schema, map, slice);
        if focus.is_some() {
            let sources = Canon::FOCUS.map(|c| map.source(c));
            wanted.retain(|w| !sources.contains(&w.as_str()));
        }
        let kind = dict::read_kind(&f, &self.footer, &self.schema, map, slice);
        if kind.is_some() {
            let source = map.source(Canon::Kind);
            wanted.retain(|w| w != source);
        }
        let mut reader = ParquetReader::new(f);
        reader.set_metadata(self.footer.clone());
        let frame = reader
            .with_columns(Some(wanted))
            .with_slice(Some(slice))
            .finish()
            .map_err(|e| LoadError::Unreadable {
                what: format!("{name}{} as parquet", place(slice, &self.footer)),
                why: e.to_string(),
            })?;
        let n = frame.height();
        let df = source::canonical(
            &self.file,
            map,
            &self.found,
            &frame,
            n,
            dict_names.is_some(),
        )?;
        Ok(Batch {
            df,
            bad: Vec::new(),
            blank: Vec::new(),
            dict: dict_names,
            focus,
            kind,
            sets_focus: false,
            first_row: slice.0,
            place: Box::new(ParquetPlace {
                file: self.file.clone(),
                first_row: slice.0,
            }),
        })
    }
}

impl Source for ParquetSource {
    fn next_batch(&mut self) -> Result<Option<Batch>, LoadError> {
        let Some(slice) = self.slices.next() else {
            return Ok(None);
        };
        // A corrupt page can make the decoder panic: that batch's error,
        // naming its row groups.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.read(slice)))
            .unwrap_or_else(|payload| {
                Err(LoadError::Unreadable {
                    what: format!(
                        "{}{} as parquet",
                        self.file.display(),
                        place(slice, &self.footer)
                    ),
                    why: format!(
                        "{} (the file is corrupt or not parquet)",
                        crate::error::one_line(&crate::error::panic_message(payload.as_ref()))
                    ),
                })
            })
            .map(Some)
    }

    fn estimated_rows(&self) -> u64 {
        self.footer.num_rows as u64
    }
}

/// The row groups (index, metadata) that hold rows of `slice`; for an
/// empty slice, the one its start is in.
fn groups_of(
    footer: &FileMetadataRef,
    (start, len): (usize, usize),
) -> impl Iterator<Item = (usize, &RowGroupMetadata)> {
    let end = (start + len).max(start + 1);
    let mut at = 0usize;
    footer.row_groups.iter().enumerate().filter(move |(_, rg)| {
        let next = at + rg.num_rows();
        let overlaps = next > start && at < end;
        at = next;
        overlaps
    })
}

/// ` (row groups 3-4, rows 786432-1048575)` for a batch of a Parquet file.
fn place((start, len): (usize, usize), footer: &FileMetadataRef) -> String {
    let end = start + len;
    let groups: Vec<usize> = groups_of(footer, (start, len)).map(|(i, _)| i).collect();
    match (groups.first(), groups.last()) {
        (Some(a), Some(b)) if a == b => {
            format!(" (row group {a}, rows {start}-{})", end.saturating_sub(1))
        }
        (Some(a), Some(b)) => format!(
            " (row groups {a}-{b}, rows {start}-{})",
            end.saturating_sub(1)
        ),
        _ => String::new(),
    }
}

/// Refuses, naming the column and its type, a Parquet column that polars
/// would not turn into one of the types the converters take (some it
/// cannot even represent, and panics on): ids and names need integers,
/// floats or text, timestamps native timestamps, dates or text.
fn check_types(name: &str, map: &ColumnMap, schema: &ArrowSchema) -> Result<(), ColumnsError> {
    use polars_arrow::datatypes::ArrowDataType as A;
    for c in Canon::ALL {
        let Some(field) = schema.get(map.source(c)) else {
            continue;
        };
        let text = |t: &A| matches!(t, A::Utf8 | A::LargeUtf8 | A::Utf8View);
        let ok = match field.dtype() {
            A::Null => true,
            A::Int8
            | A::Int16
            | A::Int32
            | A::Int64
            | A::UInt8
            | A::UInt16
            | A::UInt32
            | A::UInt64 => true,
            A::Float32 | A::Float64 => c != Canon::Timestamp,
            A::Timestamp(..) | A::Date32 | A::Date64 => c == Canon::Timestamp,
            A::Dictionary(_, values, _) => text(values),
            t => text(t),
        };
        if !ok {
            let wants = match c {
                Canon::Timestamp => "a timestamp, a date or text",
                Canon::SessionId | Canon::UserId => "integers or text",
                _ => "text",
            };
            return Err(ColumnsError::WrongType {
                file: name.to_string(),
                column: map.label(c),
                canon: c,
                found: format!("{:?}", field.dtype()),
                wants,
            });
        }
    }
    Ok(())
}

/// A native timestamp of a rejected row as text: RFC 3339 (UTC for an
/// instant, without zone for a wall time), or past years 0001-9999 its
/// stored number and unit.
fn native_time(raw: i64, unit: TimeUnit, instant: bool) -> String {
    let us = convert::to_micros(unit, raw);
    if !(crate::time::MIN_INSTANT..=crate::time::MAX_INSTANT).contains(&us) {
        return format!("{raw} ({unit} since 1970-01-01)");
    }
    let text = crate::time::format_rfc3339_utc(us);
    if instant {
        text
    } else {
        text.trim_end_matches('Z').to_string()
    }
}

/// Rows of a batch, found again in the file (the error path only).
struct ParquetPlace {
    file: InputFile,
    first_row: usize,
}

impl Locate for ParquetPlace {
    fn locate(&self, rows: &[usize]) -> Result<Vec<Place>, LoadError> {
        let name = self.file.display();
        let mut out = Vec::with_capacity(rows.len());
        for &r in rows {
            let r = self.first_row + r;
            let f = std::fs::File::open(&self.file.path).map_err(|e| LoadError::io(&name, e))?;
            let df = ParquetReader::new(f).with_slice(Some((r, 1))).finish().ok();
            let record = df
                .map(|df| {
                    df.columns()
                        .iter()
                        .map(|c| {
                            let v = c.get(0).map(|v| match v {
                                AnyValue::String(s) => s.to_string(),
                                AnyValue::Null => String::new(),
                                // Our own text: polars panics printing a date past
                                // its calendar, or with a zone it does not know.
                                AnyValue::Datetime(raw, unit, tz) => {
                                    native_time(raw, unit, tz.is_some())
                                }
                                AnyValue::DatetimeOwned(raw, unit, tz) => {
                                    native_time(raw, unit, tz.is_some())
                                }
                                other => other.to_string(),
                            });
                            (c.name().to_string(), v.unwrap_or_default())
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push((At::Row(r as u64), record));
        }
        Ok(out)
    }
}
