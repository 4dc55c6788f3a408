//! One module per subcommand, each with its clap `Args` and a `run`.

pub mod generate;
pub mod report;
pub mod sessions;

use crate::config::Config;
use crate::load::Loaded;
use crate::output::{atomic::write_atomic, rejects::write_rejects};
use anyhow::{Context, Result};

/// Writes the rejects file (empty when nothing was rejected, so an old one
/// never lingers) and tells stderr how many rows were skipped.
pub(crate) fn handle_rejects(
    cfg: &Config,
    loaded: &Loaded,
    default_path: Option<&std::path::Path>,
) -> Result<()> {
    let path = cfg.rejects.as_deref().or(default_path);
    if let Some(path) = path {
        write_atomic(path, |w| write_rejects(w, &loaded.rejected))
            .with_context(|| format!("cannot write the rejects file {}", path.display()))?;
    }
    if !loaded.rejected.is_empty() {
        let whereto = path
            .map(|p| format!(" (written to {})", p.display()))
            .unwrap_or_default();
        eprintln!(
            "sessionstat: skipped {} bad rows{whereto}; first: {}",
            loaded.rejected.len(),
            loaded.rejected[0]
        );
    }
    Ok(())
}
