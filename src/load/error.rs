//! What goes wrong while loading, typed: a bad cell and the rule it breaks
//! (`CellRule`, whose texts the Spark engine writes too), a bad row and
//! where it is, a file's columns that do not fit the map, and the load's
//! errors. A leaf of the load stage: it imports only the crate's leaves.

use super::inputs::InputError;
use crate::ids::IdError;
use crate::model::Canon;
use std::borrow::Cow;
use std::fmt;

/// The rule a cell breaks (SPEC 1, 6.1). The fixed texts are written once,
/// here, for the local readers and the Spark engine's SQL alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellRule {
    /// A required value that is absent, empty or blank.
    Missing,
    /// An integer outside int32.
    Int32,
    /// Not an integer at all.
    NotInteger,
    /// A kind other than the four.
    UnknownKind,
    /// A rule whose text carries the value's own facts (a timestamp's
    /// fault, a DST gap, a record that cannot be split, a second user), as
    /// its reader words it.
    Other(String),
}

impl CellRule {
    pub fn text(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            CellRule::Missing => "missing required value",
            CellRule::Int32 => "must be an integer from -2147483648 to 2147483647 (int32)",
            CellRule::NotInteger => {
                "not an integer; must be an integer from -2147483648 to 2147483647 (int32)"
            }
            CellRule::UnknownKind => "unknown kind; expected login, activity, idle or logout",
            CellRule::Other(text) => text,
        })
    }
}

impl fmt::Display for CellRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl From<String> for CellRule {
    fn from(text: String) -> Self {
        CellRule::Other(text)
    }
}

impl From<&str> for CellRule {
    fn from(text: &str) -> Self {
        CellRule::Other(text.to_string())
    }
}

/// One cell that breaks a rule: its row in the file (0-based, data rows
/// only), its column (`None` for the row as a whole), the value as text and
/// the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCell {
    pub row: usize,
    pub column: Option<Canon>,
    pub value: String,
    pub rule: CellRule,
}

/// Where a row is: a 1-based physical line (CSV, header included; NDJSON), or
/// a 0-based row index (Parquet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Line(u64),
    Row(u64),
    /// An EVTX record by its number (`EventRecordID`).
    Record(u64),
    /// A damaged EVTX chunk by its 0-based number.
    Chunk(u64),
    /// An ActivityWatch event by its 0-based index in its bucket (the
    /// bucket is named in the rule).
    Event(u64),
    /// No place in the file: a row found bad by the Spark engine, which
    /// knows no line numbers (SPEC 11.2); named by file and value.
    Unplaced,
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
    pub rule: CellRule,
    pub record: Vec<(String, String)>,
}

impl BadRow {
    pub fn source(&self) -> String {
        match self.at {
            At::Line(l) => format!("{}:{l}", self.file),
            At::Row(r) => format!("{} row {r}", self.file),
            At::Record(r) => format!("{} record {r}", self.file),
            At::Chunk(c) => format!("{} chunk {c}", self.file),
            At::Event(i) => format!("{} event {i}", self.file),
            At::Unplaced => self.file.clone(),
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

/// A file's columns that do not fit the map (`ColumnMap::resolve`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnsError {
    /// A required column, or one `--map` names, that the file lacks.
    #[error("{file}: {} {name:?}{} not found; columns found: {}{}",
        if *required { "required column" } else { "column" },
        match mapped_from { Some(c) => format!(" (mapped from {c} by --map)"), None => String::new() },
        if found.is_empty() { "(none)".to_string() } else { found.join(", ") },
        if mapped_from.is_some() { "" } else { "; map other names with --map canonical=source" })]
    MissingColumn {
        file: String,
        name: String,
        required: bool,
        /// The canonical column `--map` mapped to `name`, if it did.
        mapped_from: Option<Canon>,
        found: Vec<String>,
    },
    /// Two of the file's columns that name one canonical column.
    #[error("{file}: columns {} all name {canon} (names match ignoring case and blanks); rename one, or --map {canon}=<the one to use> cannot tell them apart either",
        names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(" and "))]
    SameName {
        file: String,
        canon: Canon,
        names: Vec<String>,
    },
    /// A Parquet column of a type sessionstat does not read as its column.
    #[error("{file}: column {column} has the Parquet type {found}, which sessionstat does not read; {canon} must be {wants}")]
    WrongType {
        file: String,
        /// The column as the map labels it.
        column: String,
        canon: Canon,
        /// The Parquet (Arrow) type found.
        found: String,
        wants: &'static str,
    },
    /// `--sessionize` with `session_id` mapped.
    #[error("--sessionize builds the sessions, so session_id is not read: drop --map session_id={mapped}")]
    SessionizeMapped { mapped: String },
}

/// Why a load stops.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file that cannot be opened or read.
    #[error("cannot read {file}: {error}")]
    Io { file: String, error: std::io::Error },
    /// A file's columns do not fit the map.
    #[error(transparent)]
    Columns(#[from] ColumnsError),
    /// An empty file: `needs` says what its format needs at least.
    #[error("{file}: the file is empty (0 bytes); {needs}")]
    Empty { file: String, needs: &'static str },
    /// A file, or a part of one, that is not of its format or is corrupt:
    /// what cannot be read (`{file} as parquet`, `the header of {file}`)
    /// and why, in its reader's words.
    #[error("cannot read {what}: {why}")]
    Unreadable { what: String, why: String },
    /// An NDJSON file whose line is not a JSON object of its own.
    #[error("{file}:{line}: not NDJSON: {what}; NDJSON has one JSON object per line")]
    NotNdjson {
        file: String,
        line: u64,
        what: String,
    },
    /// A file's columns that cannot be put together as a table.
    #[error("{file}: {error}")]
    Frame {
        file: String,
        error: polars::prelude::PolarsError,
    },
    /// The engine that runs the load failed, in its own words (a Spark
    /// Connect server's, secrets cut out), or is not in this build.
    #[error("{0}")]
    Engine(String),
    #[error("{0}")]
    BadRow(Box<BadRow>),
    #[error("more than --max-bad-rows {max} bad rows; the one over the limit: {row}")]
    TooManyBadRows { max: u64, row: Box<BadRow> },
    /// Inputs that cannot be found.
    #[error(transparent)]
    Inputs(#[from] InputError),
    /// Keys that cannot be given ids (SPEC 9.1).
    #[error(transparent)]
    Ids(#[from] IdError),
}

impl LoadError {
    pub fn io(file: &str, error: std::io::Error) -> LoadError {
        LoadError::Io {
            file: file.to_string(),
            error,
        }
    }
}
