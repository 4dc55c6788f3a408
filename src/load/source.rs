//! What a source per input format implements, and the helpers they share.
//! A source reads one file in batches of bounded size, each holding the
//! mapped columns under their canonical names; the driver
//! (`super::load_files`) converts, checks and pushes each batch on. Adding a
//! format means adding one module that implements `Reader` and `Source`,
//! and one line in the table of formats (`super::reader`).

use super::columns::{Canon, ColumnMap};
use super::convert::BadCell;
use super::inputs::InputFile;
use super::names::{DictNames, Interner};
use super::{At, LoadError};
use polars::prelude::*;
use polars_arrow::array::{Utf8ViewArray, View};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::ArrowDataType;
use polars_buffer::Buffer;
use std::sync::{Arc, Mutex};

/// One batch of a file.
pub struct Batch {
    /// The canonical columns (kind only when the file has it). The name
    /// columns are here, or, read as dictionary indices, in `dict`.
    pub df: DataFrame,
    /// Rows already known to be bad (a record that cannot be split into
    /// fields, a line that is not JSON), by row of the batch.
    pub bad: Vec<BadCell>,
    /// Rows with no value at all (blank lines): skipped, counted.
    pub blank: Vec<usize>,
    pub dict: Option<DictNames>,
    /// The `app` and `url` columns read as dictionary indices (Parquet),
    /// then not in `df`.
    pub focus: Option<super::parquet::dict::FocusGroups>,
    /// The `kind` column read as dictionary indices per row group
    /// (Parquet), then not in `df`.
    pub kind: Option<Vec<polars_arrow::array::DictionaryArray<u32>>>,
    /// Every row sets the foreground to what it carries, none included
    /// (SPEC 14.2); otherwise a row without either cell keeps it (13.1).
    pub sets_focus: bool,
    /// The file's 0-based data row that the batch starts at.
    pub first_row: usize,
    /// Finds where the batch's rows are in the file, for bad rows.
    pub place: Box<dyn Locate>,
}

/// Where a row is in its file, and the whole record as it is there
/// (column name and text per field).
pub type Place = (At, Vec<(String, String)>);

/// The error path of a batch: the physical place and whole record of some
/// of its rows (by row of the batch).
pub trait Locate: Send {
    fn locate(&self, rows: &[usize]) -> Result<Vec<Place>, LoadError>;
}

/// A file being read.
pub trait Source: Send {
    /// The next batch; `None` after the last.
    fn next_batch(&mut self) -> Result<Option<Batch>, LoadError>;
    /// Rows in the file, for planning passes: exact where the format says
    /// (Parquet), estimated otherwise.
    fn estimated_rows(&self) -> u64;
    /// Parts of the file read so far whose stored checksums did not match
    /// their bytes, yet whose records were read (EVTX chunks of a log that
    /// was copied while open): told, never hidden.
    fn stale_checksums(&self) -> u64 {
        0
    }
}

/// What every source is opened with.
pub struct Open<'a> {
    pub file: &'a InputFile,
    pub map: &'a ColumnMap,
    /// Gives the entries of names read as dictionaries their ids.
    pub interner: Arc<Mutex<Interner>>,
    /// How an ActivityWatch export is read (SPEC 14.2).
    pub aw: &'a super::activitywatch::AwOptions,
}

/// One input format as a load uses it: what its files need at least, and
/// how one is opened. A load keeps one reader per format for all its
/// files, so what a format shares across files (the session links of
/// Windows logs) is its reader's.
pub trait Reader: Send {
    /// What a file of the format holds at least (told of an empty file).
    fn needs(&self) -> &'static str;
    fn open(&mut self, o: Open<'_>) -> Result<Box<dyn Source>, LoadError>;
}

/// The reader of a format that shares nothing across files: its files
/// are opened one by one.
pub struct Stateless {
    pub needs: &'static str,
    pub open: fn(Open<'_>) -> Result<Box<dyn Source>, LoadError>,
}

impl Reader for Stateless {
    fn needs(&self) -> &'static str {
        self.needs
    }

    fn open(&mut self, o: Open<'_>) -> Result<Box<dyn Source>, LoadError> {
        (self.open)(o)
    }
}

/// The map for a file's columns as it spells them (`found`), with the hive
/// `key=value` folders above it as columns too.
pub fn resolve(
    file: &InputFile,
    map: &ColumnMap,
    found: &[String],
) -> Result<ColumnMap, LoadError> {
    let mut all = found.to_vec();
    for (k, _) in &file.hive {
        if !all.contains(k) {
            all.push(k.clone());
        }
    }
    Ok(map.resolve(&file.display(), &all)?)
}

/// The file's columns that the map reads, each once, in canonical order.
pub fn wanted_columns(map: &ColumnMap, found: &[String]) -> Vec<String> {
    let mut wanted: Vec<String> = Vec::new();
    for c in Canon::ALL {
        let src = map.source(c).to_string();
        if found.contains(&src) && !wanted.contains(&src) {
            wanted.push(src);
        }
    }
    wanted
}

/// A batch's columns under their canonical names: from `frame` (as the
/// file spells them, `found`), or from the hive folders; a required column
/// that is neither (only a batch whose every line is bad) is all null.
/// With `dict`, the name columns are read otherwise and left out.
pub fn canonical(
    file: &InputFile,
    map: &ColumnMap,
    found: &[String],
    frame: &DataFrame,
    n: usize,
    dict: bool,
) -> Result<DataFrame, LoadError> {
    let mut cols = Vec::new();
    for c in Canon::ALL {
        if dict && super::names::NAMES.contains(&c) {
            continue;
        }
        let src = map.source(c);
        let col = if found.iter().any(|f| f == src) {
            frame.column(src).ok().cloned()
        } else {
            file.hive
                .iter()
                .find(|(k, _)| k == src)
                .map(|(_, v)| Column::new(src.into(), vec![v.as_str(); n]))
        };
        if let Some(col) = col {
            cols.push(col.with_name(c.name().into()));
        } else if c.required() {
            cols.push(Column::full_null(c.name().into(), n, &DataType::String));
        }
    }
    DataFrame::new(n, cols).map_err(|error| LoadError::Frame {
        file: file.display(),
        error,
    })
}

/// A batch of rows a source makes itself (EVTX records, ActivityWatch's
/// events) from their text cells: `cols[i]` is the column `Canon::ALL[i]`,
/// and columns past the last given are absent.
pub fn made_batch(
    file: &InputFile,
    cols: Vec<Vec<Option<String>>>,
    bad: Vec<BadCell>,
    first_row: usize,
    place: Box<dyn Locate>,
    sets_focus: bool,
) -> Result<Batch, LoadError> {
    let n = cols.first().map_or(0, Vec::len);
    let columns: Vec<Column> = Canon::ALL
        .iter()
        .zip(cols)
        .map(|(c, v)| Column::new(c.name().into(), v))
        .collect();
    let df = DataFrame::new(n, columns).map_err(|error| LoadError::Frame {
        file: file.display(),
        error,
    })?;
    Ok(Batch {
        df,
        bad,
        blank: Vec::new(),
        dict: None,
        focus: None,
        kind: None,
        sets_focus,
        first_row,
        place,
    })
}

/// A text column whose values point into a chunk's own bytes (no copy),
/// with the few values that are not there as they are (JSON strings with
/// escapes, numbers the parser spells anew) kept in a buffer of its own.
pub struct TextColumn {
    views: Vec<View>,
    nulls: Option<MutableBitmap>,
    own: Vec<u8>,
}

impl TextColumn {
    pub fn with_capacity(n: usize) -> TextColumn {
        TextColumn {
            views: Vec::with_capacity(n),
            nulls: None,
            own: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    pub fn push_null(&mut self) {
        let n = self.views.len();
        self.nulls
            .get_or_insert_with(|| {
                let mut m = MutableBitmap::with_capacity(n.max(1024));
                m.extend_constant(n, true);
                m
            })
            .push(false);
        self.views.push(View::default());
    }

    /// The value at `at` of the chunk (`chunk` is those bytes); valid UTF-8.
    pub fn push_in(&mut self, chunk: &[u8], at: std::ops::Range<usize>) {
        if let Some(m) = &mut self.nulls {
            m.push(true);
        }
        let offset = u32::try_from(at.start).expect("a chunk is under 4 GiB");
        let len = at.len();
        // The view from one 16-byte load where the chunk has them (as
        // `View::new_from_bytes` makes it: length, then the bytes zero-padded
        // when inline, else the first four, buffer 0 and the offset).
        let view = match chunk.get(at.start..at.start + 16) {
            Some(raw) if cfg!(target_endian = "little") => {
                let raw = u128::from_le_bytes(raw.try_into().expect("16 bytes"));
                View::from(if len <= View::MAX_INLINE_SIZE as usize {
                    let data = raw & ((1u128 << (8 * len)) - 1);
                    len as u128 | data << 32
                } else {
                    len as u128 | u128::from(raw as u32) << 32 | u128::from(offset) << 96
                })
            }
            _ => View::new_from_bytes(&chunk[at], 0, offset),
        };
        self.views.push(view);
    }

    /// A value from elsewhere: copied into the column's own buffer.
    pub fn push_own(&mut self, value: &str) {
        if let Some(m) = &mut self.nulls {
            m.push(true);
        }
        let offset = u32::try_from(self.own.len()).expect("a chunk is under 4 GiB");
        self.views
            .push(View::new_from_bytes(value.as_bytes(), 1, offset));
        self.own.extend_from_slice(value.as_bytes());
    }

    /// `value` as it is where it lies in `chunk`, else copied.
    pub fn push_str(&mut self, chunk: &[u8], value: Option<&str>) {
        let Some(v) = value else {
            return self.push_null();
        };
        let start = (v.as_ptr() as usize).wrapping_sub(chunk.as_ptr() as usize);
        if start <= chunk.len() && v.len() <= chunk.len() - start {
            self.push_in(chunk, start..start + v.len());
        } else {
            self.push_own(v);
        }
    }

    /// The column, over `chunk` (the buffer every `push_in` offset is into).
    pub fn finish(self, name: &str, chunk: &Buffer<u8>) -> StringChunked {
        let buffers = Buffer::from_vec(vec![chunk.clone(), Buffer::from_vec(self.own)]);
        // SAFETY: every view is of valid UTF-8 within the buffer it names:
        // in-chunk values at their offsets of `chunk`, others in `own`.
        let array = unsafe {
            Utf8ViewArray::new_unchecked_unknown_md(
                ArrowDataType::Utf8View,
                Buffer::from_vec(self.views),
                buffers,
                self.nulls.map(Bitmap::from),
                None,
            )
        };
        StringChunked::with_chunk(name.into(), array)
    }
}

/// Rows in which every column read is empty: blank lines (or lines of bare
/// separators) carry no data and are skipped.
pub fn blank_rows(df: &DataFrame) -> Vec<usize> {
    let mut mask: Option<BooleanChunked> = None;
    for c in df.columns() {
        let nulls = c.as_materialized_series().is_null();
        mask = Some(match mask {
            None => nulls,
            Some(m) => &m & &nulls,
        });
    }
    mask.map(|m| {
        m.iter()
            .enumerate()
            .filter(|(_, v)| *v == Some(true))
            .map(|(i, _)| i)
            .collect()
    })
    .unwrap_or_default()
}

/// Text shortened to 80 characters for a message.
pub fn abbreviate(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_into_the_chunk_are_polars_views() {
        let chunk: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8 + 1).collect();
        let mut col = TextColumn::with_capacity(0);
        let mut want = Vec::new();
        for start in 0..chunk.len() {
            for len in 0..=(chunk.len() - start).min(40) {
                col.push_in(&chunk, start..start + len);
                want.push(View::new_from_bytes(
                    &chunk[start..start + len],
                    0,
                    start as u32,
                ));
            }
        }
        assert_eq!(col.views.len(), want.len());
        for (got, want) in col.views.iter().zip(&want) {
            assert_eq!(got.as_u128(), want.as_u128(), "{want:?}");
        }
    }
}
