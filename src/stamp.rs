//! A file's fingerprint as the runs record it: its size and modification
//! time. A backfill's manifest keeps one per input and for the id
//! registry; `serve --watch` reloads when one changes. A leaf.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Size in bytes and modification time in nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub modified_ns: i128,
}

impl Stamp {
    /// The file at `path`, followed through links as a reader opens it.
    pub fn of(path: &Path) -> io::Result<Stamp> {
        Ok(Stamp::from(&std::fs::metadata(path)?))
    }
}

impl From<&std::fs::Metadata> for Stamp {
    fn from(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            size: m.len(),
            modified_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        }
    }
}
