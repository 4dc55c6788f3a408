//! What the server answers from: the inputs loaded once into an index
//! (`load`), and loaded again on SIGHUP or, with `--watch`, when the inputs
//! or the key file change. A new snapshot is built aside and swapped in
//! whole (`arc_swap`); each request takes one at its start and answers
//! from it alone. A failed reload keeps the old one and says why.

use super::auth::read_keys;
use super::auth::Keys as ApiKeys;
use crate::config::Config;
use crate::engine::load_kept;
use crate::kernel::index::Index;
use crate::kernel::{select, Settings};
use crate::output::rejects;
use crate::progress::Progress;
use crate::rollup::focus::{Keys, Which};
use crate::rollup::hours::{hour_parts, HourPart};
use crate::stamp::Stamp;
use crate::time::Zone;
use anyhow::Result;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often `--watch` looks at the inputs.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// What one load of the inputs answers from.
pub struct Snapshot {
    pub index: Index,
    pub zone: Zone,
    /// Per session (as indexed), the hour parts of its whole span: a
    /// session the window does not clip needs no look at its events.
    pub hours: Vec<Vec<HourPart>>,
    /// The keys of Application and URL Statistics (SPEC 13.6).
    pub apps: Keys,
    pub sites: Keys,
}

/// What reloads the snapshot: SIGHUP (caught from the start), and with
/// `--watch` a change of the inputs or the key file.
pub struct Reloads {
    pub cfg: Config,
    pub key_file: Option<PathBuf>,
    pub watch: bool,
    pub seen: Seen,
    pub hup: tokio::signal::unix::Signal,
}

/// What reloads swap and every request reads at its start: the snapshot
/// and the accepted keys.
pub struct Live {
    pub snapshot: ArcSwap<Snapshot>,
    pub keys: ArcSwap<ApiKeys>,
}

/// What `--watch` compares: each input file's path and fingerprint, after
/// the inputs are found again (a glob may match new files).
pub type Seen = Vec<(PathBuf, Option<Stamp>)>;

fn seen(cfg: &Config) -> Seen {
    cfg.files
        .iter()
        .map(|f| (f.path.clone(), Stamp::of(&f.path).ok()))
        .collect()
}

/// Loads the inputs into a snapshot: the same checks, bad rows, built
/// sessions and ids as `sessions`; every session's events are kept.
pub fn load(base: &Config) -> Result<(Snapshot, Seen)> {
    let cfg = base.for_load()?;
    let progress = Progress::new(cfg.quiet);
    progress.stage("loading");
    let kept = load_kept(&cfg.job(), &progress)?;
    progress.finish();
    rejects::settle(cfg.rejects.as_deref(), &kept.rejected, kept.stale_chunks)?;
    crate::registry::save(cfg.registry.as_deref(), kept.ids.as_ref())?;
    let g = kept.grouped;
    // Each session's hour parts over its whole span.
    let whole = select(&g, &Settings::whole(cfg.idle_after));
    let mut hours = vec![Vec::new(); g.sessions.len()];
    for (st, p) in whole
        .iter()
        .zip(hour_parts(&g, &whole, &cfg.zone, cfg.idle_after))
    {
        hours[st.session as usize] = p.hours;
    }
    let snapshot = Snapshot {
        index: Index::new(g, cfg.idle_after),
        zone: cfg.zone,
        hours,
        apps: Keys::new(Which::App, &kept.focus[0]),
        sites: Keys::new(Which::Site, &kept.focus[1]),
    };
    Ok((snapshot, seen(&cfg)))
}

impl Reloads {
    /// Starts the reload tasks (once the server says what it serves, so
    /// that a SIGHUP caught during the first load is told after it).
    pub fn start(self, live: &Arc<Live>) {
        let Reloads {
            cfg,
            key_file,
            watch,
            seen,
            hup,
        } = self;
        tokio::spawn(reload_on_signal(
            live.clone(),
            cfg.clone(),
            key_file.clone(),
            hup,
        ));
        if watch {
            tokio::spawn(reload_on_change(live.clone(), cfg, key_file, seen));
        }
    }
}

async fn reload_on_signal(
    live: Arc<Live>,
    cfg: Config,
    key_file: Option<PathBuf>,
    mut hup: tokio::signal::unix::Signal,
) {
    while hup.recv().await.is_some() {
        reload(&live, &cfg, key_file.as_deref(), "SIGHUP").await;
    }
}

/// Why a look at the inputs failed, as its line says it.
#[derive(Debug, PartialEq, Eq)]
struct LookFailed(String);

async fn reload_on_change(live: Arc<Live>, cfg: Config, key_file: Option<PathBuf>, last: Seen) {
    // A failed look (inputs not found) is told by its one line.
    let mut last: Result<Seen, LookFailed> = Ok(last);
    let stamp = |p: &Option<PathBuf>| p.as_ref().and_then(|p| Stamp::of(p).ok());
    let mut last_keys = stamp(&key_file);
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        // Inputs that cannot be found (a file deleted) are a change too:
        // the reload tries, fails saying why, and keeps the old snapshot.
        let files = match cfg.inputs_found() {
            Ok(now) => Ok(seen(&now)),
            Err(e) => Err(LookFailed(crate::error::one_line(&format!("{e:#}")))),
        };
        let keys = stamp(&key_file);
        if files != last || keys != last_keys {
            last = match reload(&live, &cfg, key_file.as_deref(), "a change of the inputs").await {
                Some(s) => Ok(s),
                None => files,
            };
            last_keys = keys;
        }
    }
}

/// Loads a new snapshot (and key file) aside and swaps both in; on failure
/// the old ones stay and the reason is logged. Returns what was loaded.
async fn reload(
    live: &Arc<Live>,
    cfg: &Config,
    key_file: Option<&Path>,
    why: &str,
) -> Option<Seen> {
    eprintln!("sessionstat: reloading after {why}");
    let cfg = cfg.clone();
    let key_file = key_file.map(Path::to_path_buf);
    let loaded = tokio::task::spawn_blocking(move || -> Result<_> {
        let keys = key_file.as_deref().map(read_keys).transpose()?;
        let (snapshot, seen) = load(&cfg)?;
        Ok((keys, snapshot, seen))
    })
    .await;
    match loaded {
        Ok(Ok((keys, snapshot, seen))) => {
            let (sessions, events) = (snapshot.index.sessions(), snapshot.index.events());
            live.snapshot.store(Arc::new(snapshot));
            if let Some(keys) = keys {
                live.keys.store(Arc::new(keys));
            }
            eprintln!("sessionstat: reloaded: {sessions} sessions ({events} events)");
            Some(seen)
        }
        Ok(Err(e)) => {
            eprintln!(
                "sessionstat: reload failed, still serving the previous snapshot: {}",
                crate::error::one_line(&format!("{e:#}"))
            );
            None
        }
        Err(e) => {
            eprintln!("sessionstat: reload failed, still serving the previous snapshot: {e}");
            None
        }
    }
}
