//! Loading: files -> events pushed into an `EventSink` (`sink`). One source
//! per format (`source`: `csv`, `ndjson`, `parquet`) reads a file in batches
//! of bounded size, the mapped columns only; each batch is converted
//! column-wise in parallel (`convert`), checked that every session keeps
//! one user and one client (`assemble`), and its good events pushed on.
//! Every bad row is accounted for: it stops the run, or (with
//! `--max-bad-rows`) is skipped and reported. The load stage imports
//! nothing from the stages after it.

pub mod activitywatch;
pub mod assemble;
pub mod columns;
pub mod convert;
pub mod csv;
pub mod error;
pub mod evtx;
pub mod focus;
pub mod inputs;
pub mod names;
pub mod ndjson;
pub mod parquet;
pub mod sink;
pub mod source;
pub mod text;

use crate::ids::{IdKeys, KeyDict};
use crate::model::{SessionMeta, NO_FOCUS};
use crate::time::Zone;
use columns::{Canon, ColumnMap};
pub use error::{At, BadCell, BadRow, CellRule, ColumnsError, LoadError};
use inputs::{Format, InputFile};
use polars::prelude::*;
use sink::{EventSink, Flow};
use source::{Batch, Open, Reader, Stateless};
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// Which id columns hold text keys (SPEC 9.1).
    pub id_keys: IdKeys,
    /// The texts of the `app` and `url` cells met, by id: one dictionary
    /// for every pass of a run.
    pub focus: std::sync::Arc<focus::FocusNames>,
    /// How ActivityWatch exports are read (SPEC 14.2).
    pub aw: activitywatch::AwOptions,
}

/// The partition of a session id among `n`.
pub fn partition_of(session_id: i32, n: u32) -> u32 {
    ((session_id as u32).wrapping_mul(0x9E37_79B9) >> 7) % n
}

/// What a load found: every session met (the first good row of each fixes
/// its attributes; the sink's session indices index this) and an account
/// of every row read.
#[derive(Debug, Default)]
pub struct Loaded {
    /// One entry per distinct session id, in order of first appearance.
    pub sessions: Vec<SessionMeta>,
    /// Per session, the place of its first good row in input order
    /// (`seq`): how passes over partitions tell which came first.
    pub firsts: Vec<u64>,
    /// The sink asked to stop: its answers are incomplete (the batch
    /// after the one it stopped at may still have been checked).
    pub stopped: bool,
    pub rows_read: u64,
    /// Blank CSV rows (no value in any column), skipped.
    pub blank_rows: u64,
    /// EVTX chunks read whose stored checksums were stale (`Source::stale_checksums`).
    pub stale_chunks: u64,
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

/// The one table of formats: each format's reader, fresh for a load.
/// Adding a format means adding its module and one line here.
pub fn reader(format: Format) -> Box<dyn Reader> {
    match format {
        Format::Csv => Box::new(Stateless {
            needs: csv::NEEDS,
            open: |o| Ok(Box::new(csv::CsvSource::open(o)?)),
        }),
        Format::Ndjson => Box::new(Stateless {
            needs: ndjson::NEEDS,
            open: |o| Ok(Box::new(ndjson::NdjsonSource::open(o)?)),
        }),
        Format::Parquet => Box::new(Stateless {
            needs: parquet::NEEDS,
            open: |o| Ok(Box::new(parquet::ParquetSource::open(o)?)),
        }),
        Format::Evtx => Box::new(evtx::Evtx::default()),
        Format::ActivityWatch => Box::new(Stateless {
            needs: activitywatch::NEEDS,
            open: |o| Ok(Box::new(activitywatch::AwSource::open(o)?)),
        }),
    }
}

/// A load's readers, one per format met, made when first needed.
#[derive(Default)]
struct Readers(Vec<(Format, Box<dyn Reader>)>);

impl Readers {
    fn get(&mut self, format: Format) -> &mut dyn Reader {
        let at = match self.0.iter().position(|(f, _)| *f == format) {
            Some(at) => at,
            None => {
                self.0.push((format, reader(format)));
                self.0.len() - 1
            }
        };
        &mut *self.0[at].1
    }
}

/// Opens a file with its format's reader. Its columns are matched to the
/// map (`ColumnMap::resolve`) before any row is read.
fn open(o: Open<'_>, readers: &mut Readers) -> Result<Box<dyn source::Source>, LoadError> {
    let name = o.file.display();
    let meta = std::fs::metadata(&o.file.path).map_err(|e| LoadError::io(&name, e))?;
    let reader = readers.get(o.file.format);
    if meta.len() == 0 {
        let needs = reader.needs();
        return Err(LoadError::Empty { file: name, needs });
    }
    reader.open(o)
}

/// Loads resolved files into `sink`. Bad rows do not fail here: they are
/// collected, and loading stops at the first one over `max_bad_rows` (see
/// `Loaded`), or when the sink asks.
///
/// Four threads work at once on consecutive batches: one reads a batch,
/// one converts the batch before it, one checks the batch before that
/// (SPEC 1.4), and one pushes the good events of the one before that into
/// `sink`. Each hands a batch on when the next stage has taken the one
/// before.
pub fn load_files(
    opts: &LoadOptions,
    files: &[InputFile],
    sink: &mut (dyn EventSink + Send),
    progress: &dyn Progress,
) -> Result<Loaded, LoadError> {
    let sink_stopped = AtomicBool::new(false);
    let loaded = std::thread::scope(|scope| {
        let (to_sink, pushes) = std::sync::mpsc::sync_channel::<ForSink>(0);
        let sink_stopped = &sink_stopped;
        scope.spawn(move || {
            for c in pushes {
                // Once stopped, the sink is given nothing more.
                if !sink_stopped.load(Ordering::Relaxed)
                    && sink.push(&c.checked.rows(&c.keys, c.focus.as_deref(), c.seq)) == Flow::Stop
                {
                    sink_stopped.store(true, Ordering::Relaxed);
                }
            }
        });
        load_checked(opts, files, &to_sink, sink_stopped, progress)
    });
    let mut loaded = loaded?;
    loaded.stopped |= sink_stopped.into_inner();
    Ok(loaded)
}

/// A checked batch on its way to the sink, with the columns its events need.
struct ForSink {
    checked: assemble::Checked,
    keys: Vec<i64>,
    focus: Option<Vec<crate::model::Focus>>,
    seq: u64,
}

/// The reading and checking stages of `load_files`: checked batches go to
/// `to_sink`; `sink_stopped` tells that the sink asked to stop.
fn load_checked(
    opts: &LoadOptions,
    files: &[InputFile],
    to_sink: &std::sync::mpsc::SyncSender<ForSink>,
    sink_stopped: &AtomicBool,
    progress: &dyn Progress,
) -> Result<Loaded, LoadError> {
    let mut state = Assembler {
        opts,
        file_no: 0,
        index: assemble::SessionIndex::default(),
        loaded: Loaded::default(),
    };
    // Provisional ids of session keys (or, sessionizing, of (user, client)
    // pairs) and of user keys: given by the reader threads, read by the
    // assembling one.
    let dicts: [KeyDict; 2] = Default::default();
    let dicts = &dicts;
    let stopped = |s: &Assembler| s.loaded.over_limit || sink_stopped.load(Ordering::Relaxed);
    let mut readers = Readers::default();
    for (file_no, file) in files.iter().enumerate() {
        if stopped(&state) {
            break;
        }
        state.file_no = file_no;
        let interner = state.index.interner.clone();
        let mut source = guarded(file, || {
            open(
                Open {
                    file,
                    map: &opts.map,
                    interner,
                    aw: &opts.aw,
                },
                &mut readers,
            )
        })?;
        // A reader thread reads the batch after next while a converter
        // thread converts the next one and the current one is checked
        // against the sessions so far; each hands a batch on when the next
        // stage has taken the one before.
        std::thread::scope(|scope| -> Result<(), LoadError> {
            let (read_tx, read_rx) = std::sync::mpsc::sync_channel(0);
            let (tx, rx) = std::sync::mpsc::sync_channel(0);
            let source = &mut source;
            scope.spawn(move || loop {
                let batch = guarded(file, || source.next_batch()).transpose();
                let end = !matches!(batch, Some(Ok(_)));
                // A closed channel: loading stopped, read no further.
                if read_tx.send(batch).is_err() || end {
                    break;
                }
            });
            scope.spawn(move || {
                for batch in read_rx {
                    let batch = batch.map(|b| b.and_then(|b| convert_batch(opts, dicts, file, b)));
                    let end = !matches!(batch, Some(Ok(_)));
                    if tx.send(batch).is_err() || end {
                        break;
                    }
                }
            });
            while let Ok(Some(batch)) = rx.recv() {
                let batch = batch?;
                let rows = batch.rows as u64;
                let checked = state.check_batch(file, batch, dicts)?;
                to_sink
                    .send(checked)
                    .expect("the sink takes batches until loading ends");
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
        if state.counts_rows() {
            state.loaded.stale_chunks += source.stale_checksums();
        }
    }
    state.loaded.sessions = std::mem::take(&mut state.index.metas);
    state.loaded.firsts = std::mem::take(&mut state.index.firsts);
    Ok(state.loaded)
}

/// Rows in the inputs, for planning passes: exact for Parquet (from its
/// metadata), estimated from the size for text. A file that cannot be
/// opened counts 0 (the first pass already told its error).
pub fn estimated_rows(files: &[InputFile], map: &ColumnMap) -> u64 {
    files
        .iter()
        .map(|file| {
            guarded(file, || {
                open(
                    Open {
                        file,
                        map,
                        interner: Default::default(),
                        aw: &Default::default(),
                    },
                    &mut Readers::default(),
                )
            })
            .map_or(0, |s| s.estimated_rows())
        })
        .sum()
}

/// Runs one reader step on a file, turning a panic inside a dependency
/// (a corrupt Parquet page can make the decoder panic) into that file's
/// error: the run stops with one line naming the file, never a crash.
fn guarded<T>(file: &InputFile, f: impl FnOnce() -> Result<T, LoadError>) -> Result<T, LoadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(LoadError::Unreadable {
            what: format!("{} as {}", file.display(), file.format),
            why: format!(
                "{} (the file is corrupt or not {})",
                crate::error::one_line(&crate::error::panic_message(payload.as_ref())),
                file.format
            ),
        })
    })
}

/// A batch in the canonical columns, its cells checked: what the reader
/// thread makes of a batch while the one before it is assembled.
struct Converted {
    /// The batch's rows, events or not.
    rows: usize,
    dict: Option<names::DictNames>,
    /// The name columns as text, when not read as dictionary indices.
    text: Vec<Series>,
    sid: Vec<i32>,
    uid: Vec<i32>,
    keys: Vec<i64>,
    focus: Option<Vec<crate::model::Focus>>,
    /// Rows that are no event (bad, blank, another partition's), sorted.
    skip: Vec<usize>,
    bad: Vec<BadCell>,
    blank: usize,
    first_row: usize,
    place: Box<dyn source::Locate>,
}

/// Converts a batch's columns and checks its cells: all of a batch's work
/// that needs no session met before, so that it runs on the reader thread
/// beside the assembling of the batch before (ids are interned in batch
/// order all the same: one reader thread converts a file's batches in turn).
fn convert_batch(
    opts: &LoadOptions,
    dicts: &[KeyDict; 2],
    file: &InputFile,
    batch: Batch,
) -> Result<Converted, LoadError> {
    let Batch {
        df: frame,
        bad: pre_bad,
        blank,
        dict,
        focus: focus_groups,
        kind: kind_groups,
        sets_focus,
        first_row: offset,
        place,
    } = batch;
    let n = frame.height();
    let zone = opts.zone;
    let err = |error: PolarsError| LoadError::Frame {
        file: file.display(),
        error,
    };
    let series = |c: Canon| {
        frame
            .column(c.name())
            .map(|c| c.as_materialized_series().clone())
            .map_err(err)
    };
    let keys = opts.id_keys;
    let sessionize = opts.map.sessionize;
    let [session_dict, user_dict] = dicts;
    let id_column = |c: Canon, key: bool, dict: &KeyDict| {
        let s = series(c)?;
        if key {
            convert::key_column(&s, c, dict).map_err(err)
        } else {
            convert::int32_column(&s, c).map_err(err)
        }
    };
    let (r1, r2) = rayon::join(
        || {
            if sessionize {
                Ok((Vec::new(), Vec::new()))
            } else {
                id_column(Canon::SessionId, keys.session, session_dict)
            }
        },
        || id_column(Canon::UserId, keys.user, user_dict),
    );
    let (mut sid, mut bad) = r1?;
    let (uid, b2) = r2?;
    bad.extend(b2);
    if sessionize {
        let guid = series(Canon::ClientGuid).ok();
        sid = match (&guid, &dict) {
            (Some(guid), _) => convert::pair_column(&uid, guid, session_dict).map_err(err)?,
            // Names read as dictionaries: pair the user with its row's guid text.
            (None, Some(names)) => {
                convert::pair_column(&uid, &names.guid_series(), session_dict).map_err(err)?
            }
            (None, None) => return Err(err(polars_err!(ColumnNotFound: "client_guid"))),
        };
    }
    let (ts, b) = convert::timestamp_column(&series(Canon::Timestamp)?, zone).map_err(err)?;
    bad.extend(b);
    let (kinds, b) = match &kind_groups {
        Some(groups) => convert::kind_of_groups(groups),
        None => convert::kind_column(series(Canon::Kind).ok().as_ref(), n).map_err(err)?,
    };
    bad.extend(b);
    // The foreground cells (SPEC 13.1), when the file has either column.
    let cells = |c: Canon| series(c).ok();
    let (app, url) = (cells(Canon::App), cells(Canon::Url));
    let focus = match &focus_groups {
        Some(groups) => Some(focus::focus_of_groups(groups, &opts.focus)),
        None => focus::focus_column(app.as_ref(), url.as_ref(), &opts.focus).map_err(err)?,
    }
    .map(|(mut focus, b)| {
        bad.extend(b);
        if sets_focus {
            for f in &mut focus {
                if *f == NO_FOCUS {
                    *f = crate::model::CLEARS;
                }
            }
        }
        focus
    });
    bad.extend(pre_bad);
    // A blank row is no data: none of its empty cells is an error.
    if !blank.is_empty() {
        bad.retain(|b| blank.binary_search(&b.row).is_err());
    }
    let mut foreign: Vec<usize> = Vec::new();
    if let Some((k, parts)) = opts.partition {
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
    let event_keys = convert::keys(&ts, &kinds);
    drop((ts, kinds));
    crate::trace::stage("converted");
    let text = match dict {
        Some(_) => Vec::new(),
        None => names::NAMES
            .iter()
            .map(|&c| series(c).and_then(|s| convert::as_text(&s).map_err(err)))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(Converted {
        rows: n,
        dict,
        text,
        sid,
        uid,
        keys: event_keys,
        focus,
        skip,
        bad,
        blank: blank.len(),
        first_row: offset,
        place,
    })
}

struct Assembler<'a> {
    opts: &'a LoadOptions,
    /// The number of the file being read, for ordering bad rows.
    file_no: usize,
    /// session id -> index into `loaded.events.sessions`.
    index: assemble::SessionIndex,
    loaded: Loaded,
}

/// A row's place in input order: its file's number and its data row.
pub fn seq(file_no: usize, row: usize) -> u64 {
    ((file_no as u64) << 40) | row as u64
}

impl Assembler<'_> {
    /// Whether this load counts rows read and blank (once over all partitions).
    fn counts_rows(&self) -> bool {
        self.opts.partition.is_none_or(|(k, _)| k == 0)
    }

    /// Checks a converted batch against the sessions met so far; returns
    /// its good events for the sink.
    fn check_batch(
        &mut self,
        file: &InputFile,
        batch: Converted,
        dicts: &[KeyDict; 2],
    ) -> Result<ForSink, LoadError> {
        let err = |error: PolarsError| LoadError::Frame {
            file: file.display(),
            error,
        };
        let Converted {
            rows: _,
            dict,
            text,
            sid,
            uid,
            keys: event_keys,
            focus,
            skip,
            mut bad,
            blank,
            first_row: offset,
            place,
        } = batch;
        if self.counts_rows() {
            self.loaded.blank_rows += blank as u64;
        }
        let keys = self.opts.id_keys;
        let sessionize = self.opts.map.sessionize;
        let [session_dict, user_dict] = dicts;
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
            keys: &event_keys,
            focus: focus.as_deref(),
            names,
            skip: &skip,
            seq: seq(self.file_no, offset),
            session_keys: (keys.session && !sessionize).then_some(session_dict),
            user_keys: keys.user.then_some(user_dict),
            sessionized: sessionize,
        };
        let (checked, found) = assemble::check_batch(&batch, &mut self.index).map_err(err)?;
        let seq = batch.seq;
        bad.extend(found);
        crate::trace::stage(if dict.is_some() {
            "assembled (names as dictionary indices)"
        } else {
            "assembled"
        });
        if !bad.is_empty() {
            // Per row, a fault of the whole row (its cells follow from it) comes first.
            bad.sort_by_key(|b| (b.row, b.column.is_some(), b.column));
            bad.dedup_by_key(|b| b.row);
            self.reject(file, offset, bad, place.as_ref())?;
        }
        Ok(ForSink {
            checked,
            keys: event_keys,
            focus,
            seq,
        })
    }

    /// Turns bad cells into bad rows with their place and record, keeping
    /// those that may be skipped and, past the limit, the first one over it;
    /// loading stops there.
    fn reject(
        &mut self,
        file: &InputFile,
        offset: usize,
        bad: Vec<BadCell>,
        place: &dyn source::Locate,
    ) -> Result<(), LoadError> {
        let max = self.opts.max_bad_rows;
        let room = max.saturating_sub(self.loaded.rejected.len() as u64) as usize;
        // Locate only the rows that are needed: those kept, and the first one over.
        let needed = &bad[..bad.len().min(room + 1)];
        let rows: Vec<usize> = needed.iter().map(|b| b.row).collect();
        let places = guarded(file, || place.locate(&rows))?;
        let name = file.display();
        let map = &self.opts.map;
        let located = needed.iter().zip(places).map(|(b, (at, record))| BadRow {
            seq: (self.file_no, offset + b.row),
            file: name.clone(),
            at,
            column: b
                .column
                .map_or_else(|| "(whole row)".to_string(), |c| map.label(c)),
            value: b.value.clone(),
            rule: b.rule.clone(),
            record,
        });
        let before = self.loaded.rejected.len();
        self.loaded.rejected.extend(located);
        self.loaded.over_limit = self.loaded.rejected.len() - before > room;
        Ok(())
    }
}
