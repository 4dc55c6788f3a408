//! Which files an `--input` names (a file, a glob, or a directory walked
//! recursively, hive-partitioned folders included) and what format each is.

use std::fmt;
use std::fs;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// An input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Parquet,
    Ndjson,
    /// Windows event log (.evtx): logons, logoffs, locks and unlocks.
    Evtx,
    /// ActivityWatch export (.json whose object starts with "buckets").
    #[value(name = "activitywatch")]
    ActivityWatch,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson",
            Format::Evtx => "evtx",
            Format::ActivityWatch => "activitywatch",
        })
    }
}

impl FromStr for Format {
    type Err = crate::error::BadValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Format as clap::ValueEnum>::from_str(s, true).map_err(Into::into)
    }
}

/// Why the inputs cannot be found: each names the `--input` it is about.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read input folder {spec}: {error}")]
    Folder { spec: String, error: std::io::Error },
    #[error("input folder {spec} holds no csv, parquet or ndjson files")]
    EmptyFolder { spec: String },
    #[error("bad glob {spec}: {error}")]
    Glob {
        spec: String,
        error: glob::PatternError,
    },
    #[error("no files match the input glob {spec}")]
    NoMatch { spec: String },
    #[error("input not found: {spec}")]
    NotFound { spec: String },
    #[error("cannot tell the format of {path} from its name; use --format csv|parquet|ndjson")]
    UnknownFormat { path: String },
}

impl Format {
    /// The format a file name implies, looking through `.gz` and `.zst`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .or_else(|| name.strip_suffix(".zstd"))
            .unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "csv" | "txt" => Some(Format::Csv),
            "parquet" | "pq" => Some(Format::Parquet),
            "json" if crate::load::activitywatch::sniff(path) => Some(Format::ActivityWatch),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            "evtx" => Some(Format::Evtx),
            _ => None,
        }
    }
}

/// One file to read, with the `key=value` folders above it (hive partitions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: Format,
    pub hive: Vec<(String, String)>,
}

impl InputFile {
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }
}

/// Expands every `--input` into files: in the order given, each glob and
/// directory in sorted path order. Missing paths, empty globs and files of an
/// unknown format are errors naming the path.
pub fn resolve(specs: &[String], forced: Option<Format>) -> Result<Vec<InputFile>, InputError> {
    let mut out = Vec::new();
    for spec in specs {
        let path = Path::new(spec);
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files).map_err(|error| InputError::Folder {
                spec: spec.clone(),
                error,
            })?;
            files.sort();
            let before = out.len();
            for f in files {
                // In a folder, only files of the wanted (or a known) format count.
                let format = match (forced, Format::from_path(&f)) {
                    (Some(want), Some(found)) if want != found => continue,
                    (Some(want), _) => want,
                    (None, Some(found)) => found,
                    (None, None) => continue,
                };
                out.push(InputFile {
                    hive: hive_parts(path, &f),
                    path: f,
                    format,
                });
            }
            if out.len() == before {
                return Err(InputError::EmptyFolder { spec: spec.clone() });
            }
        } else if is_glob(spec) {
            let paths = glob::glob(spec).map_err(|error| InputError::Glob {
                spec: spec.clone(),
                error,
            })?;
            let mut files: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(InputError::NoMatch { spec: spec.clone() });
            }
            let root = glob_root(spec);
            for f in files {
                out.push(InputFile {
                    format: format_of(&f, forced)?,
                    hive: hive_parts(&root, &f),
                    path: f,
                });
            }
        } else if path.is_file() {
            out.push(InputFile {
                format: format_of(path, forced)?,
                hive: Vec::new(),
                path: path.to_path_buf(),
            });
        } else {
            return Err(InputError::NotFound { spec: spec.clone() });
        }
    }
    Ok(out)
}

/// An input another engine reads by its URI (`s3a://bucket/logs/x.parquet`):
/// not looked for here; its format from `--format` or its extension.
pub fn remote(uri: &str, forced: Option<Format>) -> Result<InputFile, InputError> {
    let path = PathBuf::from(uri);
    Ok(InputFile {
        format: format_of(&path, forced)?,
        path,
        hive: Vec::new(),
    })
}

fn format_of(path: &Path, forced: Option<Format>) -> Result<Format, InputError> {
    forced
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| InputError::UnknownFormat {
            path: path.display().to_string(),
        })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Hidden files and markers such as _SUCCESS are not data.
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether an `--input` is read as a glob: it has a wildcard and names no
/// existing path.
pub fn is_glob(spec: &str) -> bool {
    spec.contains(['*', '?', '[']) && !Path::new(spec).exists()
}

/// A glob's folder part before its first wildcard, and the rest.
pub fn glob_split(spec: &str) -> (PathBuf, &str) {
    let cut = spec.find(['*', '?', '[']).unwrap_or(spec.len());
    match spec[..cut].rfind('/') {
        Some(i) => (PathBuf::from(&spec[..=i]), &spec[i + 1..]),
        None => (PathBuf::from("."), spec),
    }
}

/// The folder part of a glob before its first wildcard.
fn glob_root(spec: &str) -> PathBuf {
    glob_split(spec).0
}

/// `key=value` folder names between `root` and the file, in order.
fn hive_parts(root: &Path, file: &Path) -> Vec<(String, String)> {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let mut parts = Vec::new();
    if let Some(parent) = rel.parent() {
        for comp in parent.components() {
            if let Some((k, v)) = comp.as_os_str().to_str().and_then(|c| c.split_once('=')) {
                if !k.is_empty() {
                    parts.push((k.to_string(), v.to_string()));
                }
            }
        }
    }
    parts
}

/// Opens a file for reading, decompressing gzip or zstd by its magic bytes.
pub fn open_decompressed(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    let mut file = fs::File::open(path)?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic)?;
    let file = fs::File::open(path)?;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        [0x28, 0xb5, 0x2f, 0xfd] => Box::new(zstd::stream::read::Decoder::new(file)?),
        _ => Box::new(BufReader::with_capacity(1 << 20, file)),
    })
}

/// Whether a file is gzip or zstd compressed, by its first bytes.
pub fn is_compressed(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| read_up_to(&mut f, &mut magic))
        .is_ok_and(|n| matches!(&magic[..n], [0x1f, 0x8b, ..] | [0x28, 0xb5, 0x2f, 0xfd]))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names() {
        assert_eq!(Format::from_path(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("b.csv.gz")), Some(Format::Csv));
        assert_eq!(
            Format::from_path(Path::new("b.ndjson.zst")),
            Some(Format::Ndjson)
        );
        assert_eq!(
            Format::from_path(Path::new("b.parquet")),
            Some(Format::Parquet)
        );
        assert_eq!(Format::from_path(Path::new("b.gz")), None);
        assert_eq!(Format::from_path(Path::new("README")), None);
    }

    #[test]
    fn hive_folders_become_columns() {
        let parts = hive_parts(
            Path::new("logs"),
            Path::new("logs/client_guid=abc/day=2021-04-01/part-0.parquet"),
        );
        assert_eq!(
            parts,
            vec![
                ("client_guid".into(), "abc".into()),
                ("day".into(), "2021-04-01".into())
            ]
        );
        assert_eq!(glob_root("logs/*/x.csv"), PathBuf::from("logs/"));
    }
}
