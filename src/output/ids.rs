//! The id registry written back (SPEC 9.1): every key and id of the run,
//! old entries included, as a Parquet table `kind`, `key`, `id` (int32),
//! replaced atomically, and only once the run's outputs are in place.

use crate::ids::{self, IdKind, Table};
use crate::output::atomic::write_atomic;
use crate::output::tables::ids_frame;
use anyhow::{Context, Result};
use polars::prelude::*;
use std::io;
use std::path::Path;

/// Writes the registry at `path`, keeping the kinds this run did not use
/// (`kept`) as they were.
pub fn write_registry(
    path: &Path,
    tables: &[(IdKind, Table)],
    kept: &[(IdKind, Table)],
) -> Result<()> {
    let mut all: Vec<(IdKind, Table)> = tables.to_vec();
    for (kind, t) in kept {
        if !all.iter().any(|(k, _)| k == kind) {
            all.push((*kind, t.clone()));
        }
    }
    let rows = ids::rows(&all);
    write_atomic(path, |w| {
        let mut df = ids_frame(&rows).map_err(io::Error::other)?;
        ParquetWriter::new(w)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map(|_| ())
            .map_err(io::Error::other)
    })
    .with_context(|| format!("cannot write the id registry {}", path.display()))
}
