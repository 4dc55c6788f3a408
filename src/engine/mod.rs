//! Where the per-event work runs (SPEC 11), chosen once from the checked
//! config: on this machine (`local`: the loader and the kernel, local.rs) or
//! on a Spark cluster through Spark Connect (spark/, behind the `spark`
//! feature, since its client needs `protoc` to build). Both give every
//! writer the same `Outcome`: the selected sessions in the endpoint's order.
//!
//! This is the one place that asks which engine runs: `run` (one window)
//! and `run_periods` (a backfill's windows) dispatch once, here.

pub mod address;
pub mod local;
#[cfg(feature = "spark")]
pub mod spark;

pub use crate::registry::FinalIds;
pub use crate::rollup::Parts;
pub use address::{parse_timeout, SparkAddress, DEFAULT_TIMEOUT};
pub use local::{load_kept, partitions_for, Kept, BYTES_PER_EVENT, MAX_PARTITIONS};

use crate::error::BadValue;
use crate::kernel::{SessionStats, Settings};
use crate::load::inputs::{self, Format, InputFile};
use crate::load::{BadRow, LoadError, LoadOptions, Progress};
use crate::model::SessionMeta;
use crate::registry::Registry;
use crate::request::Request;
use crate::rollup::findings::WorkHours;
use crate::rollup::SessionParts;
use crate::time::{Micros, Zone};
use std::fmt;
use std::time::Duration;

/// The engine named by `--engine` (or `SESSIONSTAT_ENGINE`).
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Engine {
    #[default]
    Local,
    Spark(SparkAddress),
}

impl Engine {
    /// `local`, or a Spark Connect connection string.
    pub fn parse(text: &str) -> Result<Engine, BadValue> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("local") {
            return Ok(Engine::Local);
        }
        if t.starts_with("sc://") {
            return SparkAddress::parse(t).map(Engine::Spark);
        }
        Err("must be local or a Spark Connect address sc://HOST:PORT[/;param=value...]".into())
    }

    /// What `summary.json` says of the engine: `local`, or the address without secrets.
    pub fn shown(&self) -> String {
        match self {
            Engine::Local => "local".into(),
            Engine::Spark(a) => a.to_string(),
        }
    }

    /// Whether this build can run the engine: a usage problem, as text
    /// that never repeats a secret. (What Spark cannot read, EVTX and
    /// ActivityWatch files, is refused per file when the run opens it.)
    pub fn check(&self) -> Result<(), BadValue> {
        match self {
            Engine::Spark(addr) if !cfg!(feature = "spark") => Err(format!(
                "--engine {addr}: this build has no Spark support; build it with cargo build --release --features spark"
            )
            .into()),
            _ => Ok(()),
        }
    }

    /// The files the inputs name. The local engine reads local files; Spark
    /// reads paths as it sees them (s3a://, hdfs://): a URI is passed on as
    /// it is, a local path resolved here.
    pub fn resolve(
        &self,
        specs: &[String],
        format: Option<Format>,
    ) -> Result<Vec<InputFile>, LoadError> {
        match self {
            Engine::Local => Ok(inputs::resolve(specs, format)?),
            Engine::Spark(_) => {
                let mut files = Vec::new();
                for spec in specs {
                    if spec.contains("://") {
                        files.push(inputs::remote(spec, format)?);
                    } else {
                        files.extend(inputs::resolve(std::slice::from_ref(spec), format)?);
                    }
                }
                Ok(files)
            }
        }
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// What a run asks of its engine: the checked inputs and settings, as the
/// config makes them (`Config::job`). The engine reads nothing else.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    pub engine: &'a Engine,
    /// `--engine-timeout`.
    pub timeout: Duration,
    pub load: &'a LoadOptions,
    /// The files the inputs name, resolved.
    pub files: &'a [InputFile],
    pub zone: Zone,
    pub idle_after: Option<Micros>,
    /// `--sessionize GAP`: sessions built per user and client.
    pub sessionize: Option<Micros>,
    /// Memory for events; more events are processed in partitions.
    pub memory_limit: Option<u64>,
    /// The `--ids` registry, read and locked.
    pub registry: Option<&'a Registry>,
    /// The work hours the day parts split by (SPEC 10.2).
    pub work: WorkHours,
}

impl Job<'_> {
    /// The kernel's settings for `r`'s window.
    pub fn settings(&self, r: &Request) -> Settings {
        self.window(r.start, r.end)
    }

    /// The kernel's settings for the window from `start` to `end`.
    fn window(&self, start: Option<Micros>, end: Option<Micros>) -> Settings {
        Settings {
            start,
            end,
            idle_after: self.idle_after,
        }
    }
}

/// What the writers need, in the endpoint's order.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The selected sessions' attributes; `stats[i].session` indexes this.
    pub metas: Vec<SessionMeta>,
    /// The selection, ordered by (clipped login, session id); with `keep`,
    /// only its first sessions.
    pub stats: Vec<SessionStats>,
    /// Sessions in the whole selection (`totalCount`).
    pub total: usize,
    /// Per selected session, its day and hour parts (empty unless asked for).
    pub parts: Vec<SessionParts>,
    pub files: Vec<InputFile>,
    pub rows_read: u64,
    pub blank_rows: u64,
    /// EVTX chunks read whose stored checksums were stale (SPEC 9.3).
    pub stale_chunks: u64,
    /// Bad rows skipped under `--max-bad-rows`, in input order.
    pub rejected: Vec<BadRow>,
    pub partitions: u32,
    /// When ids are keys: every key's final id (SPEC 9.1).
    pub ids: Option<FinalIds>,
    /// The texts of the `app` and of the `url` cells, by the ids the
    /// parts' foregrounds hold (SPEC 13).
    pub focus: [Vec<std::sync::Arc<str>>; 2],
}

impl Outcome {
    /// The keys of Application (or URL) Statistics and their tables.
    pub fn keys(&self, which: crate::rollup::focus::Which) -> crate::rollup::focus::Keys {
        use crate::rollup::focus::{Keys, Which};
        match which {
            Which::App => Keys::new(which, &self.focus[0]),
            Which::Site => Keys::new(which, &self.focus[1]),
        }
    }

    /// Events inside the window, over the sessions returned.
    pub fn events_used(&self) -> u64 {
        self.stats.iter().map(|s| u64::from(s.events)).sum()
    }
}

/// One request's run; `parts` says which rollup parts to add. With `keep`,
/// only the first `keep` sessions of the selection are returned (all are
/// counted in `total`): a page needs no more.
pub fn run(
    job: &Job<'_>,
    request: &Request,
    parts: Parts,
    keep: Option<usize>,
    progress: &dyn Progress,
) -> Result<Outcome, LoadError> {
    let settings = job.settings(request);
    let (mut outs, rejected) = match job.engine {
        Engine::Local => local::run(job, &[settings], parts, keep, progress)?,
        Engine::Spark(addr) => on_spark(job, addr, vec![(settings.start, settings.end)], parts)?,
    };
    let mut out = outs.pop().expect("one window");
    out.rejected = rejected;
    out.stats.truncate(keep.unwrap_or(usize::MAX));
    Ok(out)
}

/// A backfill's run (SPEC 7.5): one `Outcome` per window of `windows`
/// (consecutive, ascending), each what `run` gives for that window alone
/// with day parts; the rejected rows once, beside them.
pub fn run_periods(
    job: &Job<'_>,
    windows: &[(Micros, Micros)],
    progress: &dyn Progress,
) -> Result<(Vec<Outcome>, Vec<BadRow>), LoadError> {
    match job.engine {
        Engine::Local => {
            let windows: Vec<Settings> = windows
                .iter()
                .map(|&(start, end)| job.window(Some(start), Some(end)))
                .collect();
            local::run(job, &windows, Parts::All, None, progress)
        }
        Engine::Spark(addr) => {
            let windows = windows.iter().map(|&(s, e)| (Some(s), Some(e))).collect();
            on_spark(job, addr, windows, Parts::All)
        }
    }
}

/// The windows' outcomes as the Spark engine computes them, and the
/// skipped bad rows.
#[cfg(feature = "spark")]
fn on_spark(
    job: &Job<'_>,
    addr: &SparkAddress,
    windows: Vec<(Option<Micros>, Option<Micros>)>,
    parts: Parts,
) -> Result<(Vec<Outcome>, Vec<BadRow>), LoadError> {
    let query = spark::Query {
        files: job.files,
        map: &job.load.map,
        max_bad_rows: job.load.max_bad_rows,
        zone: job.zone,
        idle_after: job.idle_after,
        work: job.work,
        windows,
        parts,
        keys: job.load.id_keys,
        sessionize: job.sessionize,
    };
    let mut ran = spark::run(&query, addr, job.timeout)?;
    // With keys, the final ids as the local engine gives them (SPEC 9.1),
    // then each window in the endpoint's order.
    let ids = match job.load.id_keys.any() {
        true => {
            let metas = ran.windows.iter_mut().flatten().map(|s| &mut s.0);
            let goods = std::mem::take(&mut ran.goods);
            let ids = crate::registry::final_ids(job.load.id_keys, job.registry, goods, metas)?;
            for w in &mut ran.windows {
                w.sort_by_key(|(m, s, _)| crate::kernel::endpoint_order(s, m));
            }
            Some(ids)
        }
        false => None,
    };
    let outs = ran
        .windows
        .into_iter()
        .map(|selected| {
            let mut out = Outcome {
                total: selected.len(),
                rows_read: ran.rows_read,
                blank_rows: ran.blank_rows,
                partitions: 1,
                files: job.files.to_vec(),
                ids: ids.clone(),
                focus: ran.focus.clone(),
                ..Outcome::default()
            };
            for (meta, mut st, session_parts) in selected {
                st.session = out.metas.len() as u32;
                out.metas.push(meta);
                out.stats.push(st);
                if parts != Parts::None {
                    out.parts.push(session_parts);
                }
            }
            out
        })
        .collect();
    Ok((outs, ran.rejected))
}

/// A build without the Spark engine (whose config refuses such an engine).
#[cfg(not(feature = "spark"))]
fn on_spark(
    _: &Job<'_>,
    addr: &SparkAddress,
    _: Vec<(Option<Micros>, Option<Micros>)>,
    _: Parts,
) -> Result<(Vec<Outcome>, Vec<BadRow>), LoadError> {
    Err(LoadError::Engine(format!(
        "--engine {addr}: this build has no Spark support"
    )))
}
