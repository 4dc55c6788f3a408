//! Loading: files (CSV, Parquet, NDJSON) -> canonical `Events`. Reads only the
//! mapped columns, converts them column-wise in parallel, checks that every
//! session keeps one user and one client, and accounts for every bad row:
//! it stops the run, or (with `--max-bad-rows`) is skipped and reported.

pub mod assemble;
pub mod columns;
pub mod convert;
pub mod dict;
pub mod inputs;

use crate::events::Events;
use crate::time::Zone;
use columns::{Canon, ColumnMap};
use convert::BadCell;
use inputs::{Format, InputFile};
use polars::prelude::*;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;

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
        let (slices, meta) = batches(file)?;
        let meta = meta.as_ref();
        std::thread::scope(|scope| -> Result<(), LoadError> {
            let (tx, rx) = std::sync::mpsc::sync_channel(0);
            let map = &opts.map;
            let slices_ref = &slices;
            // Dictionary entries get their ids here, off the checking thread.
            let interner = state.index.interner.clone();
            scope.spawn(move || {
                for slice in slices_ref {
                    let frame = read_file(file, map, *slice, meta, &interner);
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
/// only when present). Hive `key=value` folders fill columns the file lacks.
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
    let polars_err =
        |e: PolarsError| LoadError::Input(format!("cannot read {name} as {}: {e}", file.format));
    let mut pre_bad = Vec::new();
    let mut blank = Vec::new();
    let mut dict_names = None;
    let (found, frame) = match file.format {
        Format::Csv => {
            let found = csv_header(&file.path)
                .map_err(|e| LoadError::Input(format!("cannot read the header of {name}: {e}")))?;
            let wanted: Arc<[PlSmallStr]> = wanted_columns(map, &found)
                .iter()
                .map(|s| s.as_str().into())
                .collect();
            let read = |truncate: bool| {
                CsvReadOptions::default()
                    .with_has_header(true)
                    .with_infer_schema_length(Some(0))
                    .with_columns(Some(wanted.clone()))
                    .map_parse_options(|p| p.with_truncate_ragged_lines(truncate))
                    .try_into_reader_with_file_path(Some(file.path.clone()))
                    .and_then(|r| r.finish())
            };
            let df = if wanted.is_empty() {
                DataFrame::empty()
            } else {
                match read(false) {
                    Ok(df) => df,
                    Err(e) if e.to_string().contains("more fields") => {
                        // Name the rows instead of failing the file: each is a bad row.
                        pre_bad = ragged_rows(&file.path, found.len())
                            .map_err(|e| LoadError::Input(format!("cannot read {name}: {e}")))?;
                        read(true).map_err(polars_err)?
                    }
                    Err(e) => return Err(polars_err(e)),
                }
            };
            blank = blank_rows(&df);
            (found, df)
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
            let mut wanted = wanted_columns(map, &found);
            if let (Some(footer), Some(slice)) = (footer, slice) {
                let f = std::fs::File::open(&file.path)
                    .map_err(|e| LoadError::Input(format!("cannot read {name}: {e}")))?;
                dict_names = dict::read(&f, footer, &schema, map, slice)
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
            (found, df)
        }
        Format::Ndjson => {
            let (found, df, bad) = read_ndjson(file, map)?;
            pre_bad = bad;
            (found, df)
        }
    };
    let mut found_all = found.clone();
    for (k, _) in &file.hive {
        if !found_all.contains(k) {
            found_all.push(k.clone());
        }
    }
    let n = frame.height();
    if n > 0 || file.format != Format::Ndjson {
        map.check(&name, &found_all).map_err(LoadError::Input)?;
    }
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
            // Only an empty NDJSON file gets here: no rows, no columns.
            cols.push(Column::new(c.name().into(), Vec::<&str>::new()));
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

/// CSV records as polars splits them: a record ends at a line break outside
/// quotes. Returns each record's first physical line (1-based) and its text,
/// header first.
pub fn split_records(text: &str) -> Vec<(u64, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut line, mut start, mut start_line, mut quoted) = (1u64, 0usize, 1u64, false);
    for (i, &c) in b.iter().enumerate() {
        if c == b'"' {
            quoted = !quoted;
        } else if c == b'\n' {
            if !quoted {
                let end = if i > start && b[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                out.push((start_line, &text[start..end]));
                start = i + 1;
                start_line = line + 1;
            }
            line += 1;
        }
    }
    if start < b.len() {
        out.push((start_line, &text[start..]));
    }
    out
}

fn read_text(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut inputs::open_decompressed(path)?, &mut bytes)?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn fields(record: &str) -> Vec<String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(record.as_bytes());
    rdr.records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(String::from).collect())
        .unwrap_or_default()
}

/// Data rows with more fields than the header.
fn ragged_rows(path: &Path, width: usize) -> std::io::Result<Vec<BadCell>> {
    let text = read_text(path)?;
    Ok(split_records(&text)
        .iter()
        .skip(1)
        .enumerate()
        .filter_map(|(row, (_, rec))| {
            let n = fields(rec).len();
            (n > width).then(|| BadCell {
                row,
                column: None,
                value: abbreviate(rec),
                rule: format!("the row has {n} fields, the header {width}"),
            })
        })
        .collect())
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

fn csv_header(path: &Path) -> std::io::Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(inputs::open_decompressed(path)?);
    Ok(rdr
        .headers()
        .map_err(std::io::Error::other)?
        .iter()
        .map(|h| h.to_string())
        .collect())
}

/// NDJSON: one JSON object per line; blank lines are skipped. Values are
/// taken as text (numbers by their JSON spelling) and checked like CSV cells;
/// a line that is not a JSON object is a bad row as a whole.
fn read_ndjson(
    file: &InputFile,
    map: &ColumnMap,
) -> Result<(Vec<String>, DataFrame, Vec<BadCell>), LoadError> {
    use rayon::prelude::*;
    let name = file.display();
    let io_err = |e: std::io::Error| LoadError::Input(format!("cannot read {name}: {e}"));
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut inputs::open_decompressed(&file.path).map_err(io_err)?,
        &mut text,
    )
    .map_err(io_err)?;
    let lines: Vec<(u64, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i as u64 + 1, l))
        .collect();
    let sources: Vec<&str> = Canon::ALL.iter().map(|c| map.source(*c)).collect();
    let parsed: Vec<Result<Vec<Option<String>>, String>> = lines
        .par_iter()
        .map(|(_, line)| {
            let obj: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
            Ok(sources
                .iter()
                .map(|s| match obj.get(*s) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(t)) => Some(t.clone()),
                    Some(v) => Some(v.to_string()),
                })
                .collect())
        })
        .collect();
    let mut found: Vec<String> = Vec::new();
    if let Some((_, first)) = lines.first() {
        if let Ok(obj) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(first) {
            found = obj.keys().cloned().collect();
        }
    }
    let mut values: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(lines.len()); sources.len()];
    let mut bad = Vec::new();
    for (row, p) in parsed.into_iter().enumerate() {
        let values_of_row = p.unwrap_or_else(|rule| {
            bad.push(BadCell {
                row,
                column: None,
                value: abbreviate(lines[row].1),
                rule,
            });
            vec![None; sources.len()]
        });
        for (i, v) in values_of_row.into_iter().enumerate() {
            if v.is_some() && !found.iter().any(|f| f == sources[i]) {
                found.push(sources[i].to_string());
            }
            values[i].push(v);
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
    Ok((found, df, bad))
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
        let mut located = locate(file, needed, &self.opts.map)?;
        for row in &mut located {
            row.seq.0 = self.file_no;
        }
        self.loaded.over_limit = located.len() > room;
        self.loaded.rejected.extend(located);
        Ok(())
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
            let text = read_text(&file.path).map_err(io_err)?;
            let records = split_records(&text);
            let headers = records.first().map(|(_, h)| fields(h)).unwrap_or_default();
            rows.iter()
                .map(|&r| match records.get(r + 1) {
                    Some((line, rec)) => {
                        let record = fields(rec)
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
                        (At::Line(*line), record)
                    }
                    None => (At::Line(r as u64 + 2), Vec::new()),
                })
                .collect()
        }
        Format::Ndjson => {
            let reader = BufReader::new(inputs::open_decompressed(&file.path).map_err(io_err)?);
            let mut out = Vec::with_capacity(rows.len());
            let mut want = rows.iter().peekable();
            let mut data_row = 0usize;
            for (no, line) in reader.lines().enumerate() {
                let line = line.map_err(io_err)?;
                if line.trim().is_empty() {
                    continue;
                }
                while want.peek() == Some(&&data_row) {
                    out.push((
                        At::Line(no as u64 + 1),
                        vec![("line".to_string(), line.clone())],
                    ));
                    want.next();
                }
                data_row += 1;
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
