//! One module per subcommand, each a `run` over its flags (`crate::cli`).

pub mod backfill;
pub mod generate;
pub mod report;
pub mod sessions;

use crate::config::Config;
use crate::ids::IdKind;
use crate::load::BadRow;
use crate::output::{atomic::write_atomic, rejects::write_rejects};
use crate::pipeline::FinalIds;
use anyhow::{Context, Result};
use std::path::Path;

/// Writes the rejects file (empty when nothing was rejected, so an old one
/// never lingers).
pub(crate) fn write_rejects_file(path: &Path, rejected: &[BadRow]) -> Result<()> {
    write_atomic(path, |w| write_rejects(w, rejected))
        .with_context(|| format!("cannot write the rejects file {}", path.display()))
}

/// Tells stderr how many bad rows were skipped and where they went.
pub(crate) fn tell_rejects(rejected: &[BadRow], path: &Path) {
    if let Some(first) = rejected.first() {
        eprintln!(
            "sessionstat: skipped {} bad rows (written to {}); first: {first}",
            rejected.len(),
            path.display()
        );
    }
}

/// Once a run's outputs are in place: the id registry (`--ids`) takes the
/// run's new keys, replaced whole; unchanged, it is not touched.
pub(crate) fn save_registry(cfg: &Config, ids: Option<&FinalIds>) -> Result<()> {
    let (Some(registry), Some(ids)) = (&cfg.registry, ids) else {
        return Ok(());
    };
    if !ids.changed {
        return Ok(());
    }
    let kept: Vec<_> = IdKind::ALL
        .iter()
        .map(|&k| (k, registry.table(k).clone()))
        .collect();
    crate::output::ids::write_registry(&registry.path, &ids.tables, &kept)
}
