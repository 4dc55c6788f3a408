//! Loading: files (CSV, Parquet, NDJSON) -> canonical `Events`. Reads only the
//! mapped columns, converts them column-wise in parallel, checks that every
//! session keeps one user and one client, and accounts for every bad row:
//! it stops the run, or (with `--max-bad-rows`) is skipped and reported.

pub mod assemble;
pub mod columns;
pub mod convert;
pub mod csv;
pub mod dict;
pub mod inputs;

use crate::events::Events;
use crate::time::Zone;
use columns::{Canon, ColumnMap};
use convert::BadCell;
use inputs::{Format, InputFile};
use polars::prelude::*;
use std::fmt;

/// What to load and how to read it.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub inputs: Vec<String>,
    pub format: Option<Format>,
    pub map: ColumnMap,
    pub zone: Zone,
    /// How many bad rows may be skipped before the run fails.
    pub max_bad_rows: u64,
    /// Keep only the sessions of partition `k` of `n` (by a hash of the
    /// session id); row-level counts and bad rows without a session go to
    /// partition 0. `None`: every session.
    pub partition: Option<(u32, u32)>,
    /// Compute each session's answer for this window while loading instead
    /// of keeping its events (`Events::stream`); loading stops at the first
    /// session whose events arrive out of order (`Events::unsorted`).
    pub stream: Option<crate::kernel::Settings>,
    /// With `stream`: also each session's day parts in this zone.
    pub stream_days: Option<Zone>,
}

/// The partition of a session id among `n`.
pub fn partition_of(session_id: i32, n: u32) -> u32 {
    ((session_id as u32).wrapping_mul(0x9E37_79B9) >> 7) % n
}

/// Where a row is: a 1-based physical line (CSV, header included; NDJSON), or
/// a 0-based row index (Parquet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Line(u64),
    Row(u64),
}

/// A bad row: where it is, the first cell that breaks a rule, and the whole
/// record as it was in the file (column name and text per field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// (input file number, 0-based data row): the row's place in input order.
    pub seq: (usize, usize),
    pub file: String,
    pub at: At,
    pub column: String,
    pub value: String,
    pub rule: String,
    pub record: Vec<(String, String)>,
}

impl BadRow {
    pub fn source(&self) -> String {
        match self.at {
            At::Line(l) => format!("{}:{l}", self.file),
            At::Row(r) => format!("{} row {r}", self.file),
        }
    }
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad row at {}, column {}, value {:?}: {}",
            self.source(),
            self.column,
            self.value,
            self.rule
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file that cannot be used at all: missing, empty, unreadable, or
    /// without a required column.
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    BadRow(Box<BadRow>),
    #[error("more than --max-bad-rows {max} bad rows; the one over the limit: {row}")]
    TooManyBadRows { max: u64, row: Box<BadRow> },
}

/// The loaded events and an account of every row read.
#[derive(Debug, Default)]
pub struct Loaded {
    pub events: Events,
    pub files: Vec<InputFile>,
    pub rows_read: u64,
    /// Blank CSV rows (no value in any column), skipped.
    pub blank_rows: u64,
    /// Bad rows in input order: at most `max_bad_rows` to skip, or one more,
    /// the first over the limit, when `over_limit` (loading stopped there).
    pub rejected: Vec<BadRow>,
    pub over_limit: bool,
}

impl Loaded {
    /// The error for a load that found more bad rows than allowed.
    pub fn limit_error(rejected: &[BadRow], max: u64) -> Option<LoadError> {
        let row = rejected.get(max as usize)?.clone();
        Some(if max == 0 {
            LoadError::BadRow(Box::new(row))
        } else {
            LoadError::TooManyBadRows {
                max,
                row: Box::new(row),
            }
        })
    }
}

/// Progress callbacks while loading (files done, rows so far).
pub trait Progress {
    fn file_done(&self, _rows: u64) {}
}

impl Progress for () {}

/// Loads resolved files. Bad rows do not fail here: they are collected, and
/// loading stops at the first one over `max_bad_rows` (see `Loaded`).
pub fn load_files(
    opts: &LoadOptions,
    files: Vec<InputFile>,
    progress: &dyn Progress,
) -> Result<Loaded, LoadError> {
    let mut state = Assembler {
        opts,
        file_no: 0,
        index: assemble::SessionIndex::default(),
        loaded: Loaded::default(),
    };
    state.loaded.events.stream = opts.stream;
    state.loaded.events.stream_days = opts.stream_days;
    let stopped = |s: &Assembler| s.loaded.over_limit || s.loaded.events.unsorted;
    for (file_no, file) in files.iter().enumerate() {
        if stopped(&state) {
            break;
        }
        state.file_no = file_no;
        // A reader thread reads the next batch while the current one is
        // converted and checked, and hands it over when that is done: the
        // decoder fills the cores whenever the checks run on one thread.
        let (slices, meta) = guarded(file, None, None, || batches(file))?;
        let meta = meta.as_ref();
        std::thread::scope(|scope| -> Result<(), LoadError> {
            let (tx, rx) = std::sync::mpsc::sync_channel(0);
            let map = &opts.map;
            let slices_ref = &slices;
            // Dictionary entries get their ids here, off the checking thread.
            let interner = state.index.interner.clone();
            scope.spawn(move || {
                for slice in slices_ref {
                    let frame = guarded(file, *slice, meta, || {
                        read_file(file, map, *slice, meta, &interner)
                    });
                    // A closed channel: loading stopped, read no further.
                    if tx.send(frame).is_err() {
                        break;
                    }
                }
            });
            for slice in &slices {
                let frame = rx.recv().expect("one frame per slice")?;
                let rows = frame.df.height() as u64;
                let offset = slice.map_or(0, |s| s.0);
                state.add_batch(file, offset, frame)?;
                if state.counts_rows() {
                    state.loaded.rows_read += rows;
                }
                progress.file_done(rows);
                if stopped(&state) {
                    break;
                }
            }
            Ok(())
        })?;
    }
    state.loaded.files = files;
    Ok(state.loaded)
}

/// Runs one reader step on a file, turning a panic inside a dependency
/// (a corrupt Parquet page can make the decoder panic) into that file's
/// error: the run stops with one line naming the file, never a crash.
fn guarded<T>(
    file: &InputFile,
    slice: Option<(usize, usize)>,
    footer: Option<&FileMetadataRef>,
    f: impl FnOnce() -> Result<T, LoadError>,
) -> Result<T, LoadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(LoadError::Input(format!(
            "cannot read {}{} as {}: {} (the file is corrupt or not {})",
            file.display(),
            place(slice, footer),
            file.format,
            crate::error::one_line(&crate::error::panic_message(payload.as_ref())),
            file.format,
        )))
    })
}

/// ` (row groups 3-4, rows 786432-1048575)` for a batch of a Parquet file.
fn place(slice: Option<(usize, usize)>, footer: Option<&FileMetadataRef>) -> String {
    let (Some((start, len)), Some(footer)) = (slice, footer) else {
        return String::new();
    };
    let end = start + len;
    let mut at = 0usize;
    let mut groups = Vec::new();
    for (i, rg) in footer.row_groups.iter().enumerate() {
        let next = at + rg.num_rows();
        if next > start && at < end.max(start + 1) {
            groups.push(i);
        }
        at = next;
    }
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

/// Rows per batch: whole Parquet row groups are read until a batch holds at
/// least this many rows, so memory holds one batch of strings at a time.
const BATCH_ROWS: usize = 1 << 18;

/// Slices of a file to read, and its Parquet footer.
type Slices = (Vec<Option<(usize, usize)>>, Option<FileMetadataRef>);

/// How to read a file: Parquet in slices of whole row groups, with its
/// footer (parsed once: a file of 800 row groups has a footer of its own
/// weight), other formats whole (`None`).
fn batches(file: &InputFile) -> Result<Slices, LoadError> {
    if file.format != Format::Parquet {
        return Ok((vec![None], None));
    }
    let name = file.display();
    let f = std::fs::File::open(&file.path)
        .map_err(|e| LoadError::Input(format!("cannot read {name}: {e}")))?;
    if f.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Ok((vec![None], None)); // read_file names the empty file
    }
    let mut reader = ParquetReader::new(f);
    let meta = reader
        .get_metadata()
        .map_err(|e| LoadError::Input(format!("cannot read {name} as parquet: {e}")))?;
    let mut out = Vec::new();
    let (mut start, mut len) = (0usize, 0usize);
    for rg in &meta.row_groups {
        len += rg.num_rows();
        // The first batch is read while nothing else can run: one row group.
        if len >= BATCH_ROWS || out.is_empty() {
            out.push(Some((start, len)));
            start += len;
            len = 0;
        }
    }
    if len > 0 || out.is_empty() {
        out.push(Some((start, len)));
    }
    Ok((out, Some(meta.clone())))
}

/// One file as read: its canonical columns, rows already known to be bad
/// (CSV rows with more fields than the header), and rows with no value at
/// all (blank CSV lines), which are skipped. The name columns are in `df`,
/// or, read as dictionary indices, in `dict`.
pub struct FileFrame {
    pub df: DataFrame,
    pub bad: Vec<BadCell>,
    pub blank: Vec<usize>,
    pub dict: Option<dict::DictNames>,
}

/// Reads one file's mapped columns, renamed to their canonical names (kind
/// only when present). The columns are matched as the file spells them
/// (`ColumnMap::resolve`) before any row is read. Hive `key=value` folders
/// fill columns the file lacks.
/// `footer`: the Parquet metadata, when already parsed; `interner` gives
/// the entries of names read as dictionaries their ids.
pub fn read_file(
    file: &InputFile,
    map: &ColumnMap,
    slice: Option<(usize, usize)>,
    footer: Option<&FileMetadataRef>,
    interner: &std::sync::Mutex<dict::Interner>,
) -> Result<FileFrame, LoadError> {
    let name = file.display();
    let meta = std::fs::metadata(&file.path)
        .map_err(|e| LoadError::Input(format!("cannot read {name}: {e}")))?;
    if meta.len() == 0 {
        return Err(LoadError::Input(format!(
            "{name}: the file is empty (0 bytes); a CSV needs at least a header row"
        )));
    }
    // A reader's error names the batch's row groups (Parquet) too.
    let polars_err = |e: PolarsError| {
        LoadError::Input(format!(
            "cannot read {name}{} as {}: {e}",
            place(slice, footer),
            file.format
        ))
    };
    // The file's own spelling of each canonical column, once its columns are known.
    let resolve = |found: &[String]| {
        let mut all = found.to_vec();
        for (k, _) in &file.hive {
            if !all.contains(k) {
                all.push(k.clone());
            }
        }
        map.resolve(&name, &all).map_err(LoadError::Input)
    };
    let mut pre_bad = Vec::new();
    let mut blank = Vec::new();
    let mut dict_names = None;
    let (found, frame, map) = match file.format {
        Format::Csv => {
            let found = csv::header(&file.path)
                .map_err(|e| LoadError::Input(format!("cannot read the header of {name}: {e}")))?;
            let map = resolve(&found)?;
            let wanted = wanted_columns(&map, &found);
            let df = if wanted.is_empty() {
                DataFrame::empty()
            } else {
                let (df, bad) =
                    csv::read(&file.path, &name, &wanted, found.len()).map_err(LoadError::Input)?;
                pre_bad = bad;
                df
            };
            blank = blank_rows(&df);
            // A record cut out as unreadable left an empty row: it is a bad row, not a blank one.
            blank.retain(|r| pre_bad.binary_search_by_key(r, |b| b.row).is_err());
            (found, df, map)
        }
        Format::Parquet => {
            let f = std::fs::File::open(&file.path)
                .map_err(|e| LoadError::Input(format!("cannot read {name}: {e}")))?;
            let mut reader = ParquetReader::new(f);
            if let Some(footer) = footer {
                reader.set_metadata(footer.clone());
            }
            let schema = reader.schema().map_err(polars_err)?;
            let found: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
            let map = resolve(&found)?;
            check_parquet_types(&name, &map, &schema).map_err(LoadError::Input)?;
            let mut wanted = wanted_columns(&map, &found);
            if let (Some(footer), Some(slice)) = (footer, slice) {
                let f = std::fs::File::open(&file.path)
                    .map_err(|e| LoadError::Input(format!("cannot read {name}: {e}")))?;
                dict_names = dict::read(&f, footer, &schema, &map, slice)
                    .map(|groups| interner.lock().expect("no thread panicked").names(groups));
                if dict_names.is_some() {
                    let names = dict::NAMES.map(|c| map.source(c));
                    wanted.retain(|w| !names.contains(&w.as_str()));
                }
            }
            let df = reader
                .with_columns(Some(wanted))
                .with_slice(slice)
                .finish()
                .map_err(polars_err)?;
            (found, df, map)
        }
        Format::Ndjson => {
            let (found, df, bad, map) = read_ndjson(file, map, &resolve)?;
            pre_bad = bad;
            (found, df, map)
        }
    };
    let map = &map;
    let n = frame.height();
    let mut cols = Vec::new();
    for c in Canon::ALL {
        if dict_names.is_some() && dict::NAMES.contains(&c) {
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
            // Only NDJSON gets here, with no valid line: no columns, and
            // every row already a bad row.
            cols.push(Column::full_null(c.name().into(), n, &DataType::String));
        }
    }
    let df = DataFrame::new(n, cols).map_err(|e| LoadError::Input(format!("{name}: {e}")))?;
    Ok(FileFrame {
        df,
        bad: pre_bad,
        blank,
        dict: dict_names,
    })
}

/// Rows in which every column read is empty: blank lines (or lines of bare
/// separators) carry no data and are skipped.
fn blank_rows(df: &DataFrame) -> Vec<usize> {
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

/// Refuses, naming the column and its type, a Parquet column that polars
/// would not turn into one of the types the converters take (some it
/// cannot even represent, and panics on): ids and names need integers,
/// floats or text, timestamps native timestamps, dates or text.
fn check_parquet_types(name: &str, map: &ColumnMap, schema: &ArrowSchema) -> Result<(), String> {
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
            return Err(format!(
                "{name}: column {} has the Parquet type {:?}, which sessionstat does not read; {c} must be {wants}",
                map.label(c),
                field.dtype()
            ));
        }
    }
    Ok(())
}

fn wanted_columns(map: &ColumnMap, found: &[String]) -> Vec<String> {
    let mut wanted: Vec<String> = Vec::new();
    for c in Canon::ALL {
        let src = map.source(c).to_string();
        if found.contains(&src) && !wanted.contains(&src) {
            wanted.push(src);
        }
    }
    wanted
}

/// NDJSON: one JSON object per line; blank lines and a leading byte order
/// mark are skipped. Values are taken as text (numbers by their JSON
/// spelling) and checked like CSV cells; a line that is not a JSON object
/// (or not UTF-8) is a bad row as a whole. A JSON array or a pretty-printed
/// document is not NDJSON: an error naming the line where that shows.
/// `resolve` gives the map for the keys found.
/// An NDJSON file's data lines with their 1-based physical line numbers:
/// blank lines are left out, a trailing `\r` is cut. Reading and locating
/// both count rows by it.
fn ndjson_lines(bytes: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.trim_ascii().is_empty())
}

fn read_ndjson(
    file: &InputFile,
    map: &ColumnMap,
    resolve: &dyn Fn(&[String]) -> Result<ColumnMap, LoadError>,
) -> Result<(Vec<String>, DataFrame, Vec<BadCell>, ColumnMap), LoadError> {
    use rayon::prelude::*;
    type Pairs = Vec<(String, Option<String>)>;
    let name = file.display();
    let bytes = csv::read_bytes(&file.path)
        .map_err(|e| LoadError::Input(format!("cannot read {name}: {e}")))?;
    let lines: Vec<(u64, &[u8])> = ndjson_lines(&bytes).collect();
    if let Some((no, first)) = lines.first() {
        let t = first.trim_ascii();
        let not_ndjson = |what: &str| {
            LoadError::Input(format!(
                "{name}:{no}: not NDJSON: {what}; NDJSON has one JSON object per line"
            ))
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
    // Keys that may name a canonical column, matched as `resolve` does.
    let norm = |s: &str| s.trim().to_lowercase();
    let exact: Vec<&str> = Canon::ALL.iter().map(|c| map.source(*c)).collect();
    let wanted: Vec<String> = exact.iter().map(|s| norm(s)).collect();
    let parsed: Vec<Result<(Pairs, Vec<String>), String>> = lines
        .par_iter()
        .enumerate()
        .map(|(i, (_, line))| {
            let text = std::str::from_utf8(line).map_err(|e| {
                format!(
                    "invalid UTF-8: byte 0x{:02X} at byte {} of the line",
                    line[e.valid_up_to()],
                    e.valid_up_to() + 1
                )
            })?;
            let obj: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
            // Every key of the first line, for the message of a missing column.
            let keys = if i == 0 {
                obj.keys().cloned().collect()
            } else {
                Vec::new()
            };
            let pairs = obj
                .into_iter()
                .filter(|(k, _)| exact.contains(&k.as_str()) || wanted.contains(&norm(k)))
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(t) => Some(t),
                        v => Some(v.to_string()),
                    };
                    (k, v)
                })
                .collect();
            Ok((pairs, keys))
        })
        .collect();
    let mut found: Vec<String> = Vec::new();
    for (pairs, keys) in parsed.iter().flatten() {
        for k in keys.iter().chain(pairs.iter().map(|(k, _)| k)) {
            if !found.contains(k) {
                found.push(k.clone());
            }
        }
    }
    // A file whose every line is bad has no columns to check: its lines are the errors.
    let map = if found.is_empty() {
        map.clone()
    } else {
        resolve(&found)?
    };
    let sources: Vec<&str> = Canon::ALL.iter().map(|c| map.source(*c)).collect();
    let mut values: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(lines.len()); sources.len()];
    let mut bad = Vec::new();
    for (row, p) in parsed.into_iter().enumerate() {
        match p {
            Ok((pairs, _)) => {
                for (i, src) in sources.iter().enumerate() {
                    let v = pairs
                        .iter()
                        .find(|(k, _)| k == src)
                        .and_then(|(_, v)| v.clone());
                    values[i].push(v);
                }
            }
            Err(rule) => {
                bad.push(BadCell {
                    row,
                    column: None,
                    value: abbreviate(&csv::escaped(lines[row].1)),
                    rule,
                });
                for v in &mut values {
                    v.push(None);
                }
            }
        }
    }
    let mut cols = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        if found.iter().any(|f| f == src) && !cols.iter().any(|c: &Column| c.name() == *src) {
            cols.push(Column::new((*src).into(), std::mem::take(&mut values[i])));
        }
    }
    let df =
        DataFrame::new(lines.len(), cols).map_err(|e| LoadError::Input(format!("{name}: {e}")))?;
    Ok((found, df, bad, map))
}

fn abbreviate(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

struct Assembler<'a> {
    opts: &'a LoadOptions,
    /// The number of the file being read, for ordering bad rows.
    file_no: usize,
    /// session id -> index into `loaded.events.sessions`.
    index: assemble::SessionIndex,
    loaded: Loaded,
}

impl Assembler<'_> {
    /// Whether this load counts rows read and blank (once over all partitions).
    fn counts_rows(&self) -> bool {
        self.opts.partition.is_none_or(|(k, _)| k == 0)
    }

    /// Adds one batch of a file (rows from `offset` on).
    fn add_batch(
        &mut self,
        file: &InputFile,
        offset: usize,
        frame: FileFrame,
    ) -> Result<(), LoadError> {
        let FileFrame {
            df: frame,
            bad: pre_bad,
            blank,
            dict,
        } = frame;
        let n = frame.height();
        let zone = self.opts.zone;
        let err = |e: PolarsError| LoadError::Input(format!("{}: {e}", file.display()));
        let series = |c: Canon| {
            frame
                .column(c.name())
                .map(|c| c.as_materialized_series().clone())
                .map_err(err)
        };
        let (r1, r2) = rayon::join(
            || convert::int32_column(&series(Canon::SessionId)?, Canon::SessionId).map_err(err),
            || convert::int32_column(&series(Canon::UserId)?, Canon::UserId).map_err(err),
        );
        let (sid, mut bad) = r1?;
        let (uid, b2) = r2?;
        bad.extend(b2);
        let (ts, b) = convert::timestamp_column(&series(Canon::Timestamp)?, zone).map_err(err)?;
        bad.extend(b);
        let kind_series = series(Canon::Kind).ok();
        let (kinds, b) = convert::kind_column(kind_series.as_ref(), n).map_err(err)?;
        bad.extend(b);
        bad.extend(pre_bad);
        // A blank row is no data: none of its empty cells is an error.
        if !blank.is_empty() {
            bad.retain(|b| blank.binary_search(&b.row).is_err());
            if self.counts_rows() {
                self.loaded.blank_rows += blank.len() as u64;
            }
        }
        let mut foreign: Vec<usize> = Vec::new();
        if let Some((k, parts)) = self.opts.partition {
            // Rows of other partitions' sessions are theirs; a row without a
            // valid session id, and a whole-row fault, belong to partition 0.
            let mut homeless: Vec<usize> = bad
                .iter()
                .filter(|b| b.column.is_none_or(|c| c == Canon::SessionId))
                .map(|b| b.row)
                .collect();
            homeless.sort_unstable();
            let ours = |r: usize| {
                if homeless.binary_search(&r).is_ok() {
                    k == 0
                } else {
                    partition_of(sid[r], parts) == k
                }
            };
            bad.retain(|b| ours(b.row));
            foreign = (0..n).filter(|&r| !ours(r)).collect();
        }
        let mut skip: Vec<usize> = bad
            .iter()
            .map(|b| b.row)
            .chain(blank.iter().copied())
            .chain(foreign)
            .collect();
        skip.sort_unstable();
        skip.dedup();
        let keys = convert::keys(&ts, &kinds);
        drop((ts, kinds));
        crate::trace::stage("converted");
        let text = match dict {
            Some(_) => Vec::new(),
            None => dict::NAMES
                .iter()
                .map(|&c| series(c).and_then(|s| convert::as_text(&s).map_err(err)))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let names = match &dict {
            Some(names) => assemble::NameCols::Dict(names),
            None => assemble::NameCols::Text([
                text[0].str().map_err(err)?,
                text[1].str().map_err(err)?,
                text[2].str().map_err(err)?,
            ]),
        };
        let batch = assemble::Batch {
            sid: &sid,
            uid: &uid,
            keys: &keys,
            names,
            skip: &skip,
        };
        bad.extend(
            assemble::assemble(&batch, &mut self.index, &mut self.loaded.events).map_err(err)?,
        );
        crate::trace::stage(if dict.is_some() {
            "assembled (names as dictionary indices)"
        } else {
            "assembled"
        });
        if bad.is_empty() {
            return Ok(());
        }
        // Per row, a fault of the whole row (its cells follow from it) comes first.
        bad.sort_by_key(|b| (b.row, b.column.is_some(), b.column));
        bad.dedup_by_key(|b| b.row);
        for b in &mut bad {
            b.row += offset;
        }
        self.reject(file, bad)
    }

    /// Turns bad cells into bad rows with their place and record, keeping
    /// those that may be skipped and, past the limit, the first one over it;
    /// loading stops there.
    fn reject(&mut self, file: &InputFile, bad: Vec<BadCell>) -> Result<(), LoadError> {
        let max = self.opts.max_bad_rows;
        let room = max.saturating_sub(self.loaded.rejected.len() as u64) as usize;
        // Locate only the rows that are needed: those kept, and the first one over.
        let needed = &bad[..bad.len().min(room + 1)];
        let mut located = guarded(file, None, None, || locate(file, needed, &self.opts.map))?;
        for row in &mut located {
            row.seq.0 = self.file_no;
        }
        self.loaded.over_limit = located.len() > room;
        self.loaded.rejected.extend(located);
        Ok(())
    }
}

/// A native timestamp of a rejected Parquet row as text: RFC 3339 (UTC for
/// an instant, without zone for a wall time), or past years 0001-9999 its
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

/// Finds the physical place and the whole original record of bad rows. Runs
/// only on the error path, so it re-reads the file.
fn locate(file: &InputFile, bad: &[BadCell], map: &ColumnMap) -> Result<Vec<BadRow>, LoadError> {
    let name = file.display();
    let io_err = |e: std::io::Error| LoadError::Input(format!("cannot re-read {name}: {e}"));
    let rows: Vec<usize> = bad.iter().map(|b| b.row).collect();
    let places: Vec<(At, Vec<(String, String)>)> = match file.format {
        Format::Csv => {
            let bytes = csv::read_bytes(&file.path).map_err(io_err)?;
            let records = csv::records(&bytes);
            let text = |r: &csv::Record| &bytes[r.bytes.clone()];
            let headers = records
                .first()
                .map(|h| csv::fields(text(h)))
                .unwrap_or_default();
            rows.iter()
                .map(|&r| match records.get(r + 1) {
                    // A record that cannot be split into fields goes whole, escaped.
                    Some(rec) if rec.fault.is_some() => (
                        At::Line(rec.line),
                        vec![("record".to_string(), csv::escaped(text(rec)))],
                    ),
                    Some(rec) => {
                        let record = csv::fields(text(rec))
                            .into_iter()
                            .enumerate()
                            .map(|(j, v)| {
                                (
                                    headers
                                        .get(j)
                                        .cloned()
                                        .unwrap_or_else(|| format!("field{}", j + 1)),
                                    v,
                                )
                            })
                            .collect();
                        (At::Line(rec.line), record)
                    }
                    None => (At::Line(r as u64 + 2), Vec::new()),
                })
                .collect()
        }
        Format::Ndjson => {
            let bytes = csv::read_bytes(&file.path).map_err(io_err)?;
            let mut out = Vec::with_capacity(rows.len());
            let mut want = rows.iter().peekable();
            for (data_row, (no, line)) in ndjson_lines(&bytes).enumerate() {
                while want.peek() == Some(&&data_row) {
                    out.push((At::Line(no), vec![("line".to_string(), csv::escaped(line))]));
                    want.next();
                }
                if want.peek().is_none() {
                    break;
                }
            }
            out
        }
        Format::Parquet => {
            let mut out = Vec::with_capacity(rows.len());
            for &r in &rows {
                let f = std::fs::File::open(&file.path).map_err(io_err)?;
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
            out
        }
    };
    Ok(bad
        .iter()
        .zip(places)
        .map(|(b, (at, record))| BadRow {
            seq: (0, b.row),
            file: name.clone(),
            at,
            column: b
                .column
                .map_or_else(|| "(whole row)".to_string(), |c| map.label(c)),
            value: b.value.clone(),
            rule: b.rule.clone(),
            record,
        })
        .collect())
}
