//! Raw flags -> one checked, immutable plan per command, before any data is
//! touched: every rule between flags is here, and so is every check of the
//! paths a run reads and writes. Every problem found is a usage error or a
//! bad request: exit status 2. After a plan is made, nothing changes it.
//!
//! - run.rs: how a run works (memory, engine, findings);
//! - window.rs: the request, `--day`, a backfill's periods;
//! - serve.rs: the server's address, keys and TLS;
//! - generate.rs: the synthetic log's options.

mod generate;
mod run;
mod serve;
mod window;

pub use generate::generate;
use run::parse_memory_limit;
pub use serve::{serve, ServePlan};

use crate::cli::{
    BackfillArgs, InputArgs, ProductivityArgs, ReportArgs, RunArgs, SessionsArgs, StatsArgs,
};
use crate::engine::{Engine, Job};
use crate::error::usage;
use crate::ids::IdKeys;
use crate::load::activitywatch::AwOptions;
use crate::load::columns::{Canon, ColumnMap};
use crate::load::inputs::{self, InputFile};
use crate::load::LoadOptions;
use crate::output::guard::{self, Out};
use crate::output::{layout, staging};
use crate::registry::Registry;
use crate::request::Request;
use crate::rollup::findings::Rules;
use crate::time::periods::{Every, Period};
use crate::time::{parse_idle_after, Micros, Zone};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `--idle-after` when not given (but for ActivityWatch exports: off).
const DEFAULT_IDLE_AFTER: &str = "15m";

/// Checked input and kernel options shared by every command that reads a log.
#[derive(Debug, Clone)]
pub struct Config {
    pub load: LoadOptions,
    /// The files the inputs name, found once before any data is read.
    pub files: Vec<InputFile>,
    pub zone: Zone,
    pub idle_after: Option<Micros>,
    /// `--idle-after` was given (else ActivityWatch input turns it off).
    pub idle_after_given: bool,
    pub rejects: Option<PathBuf>,
    pub quiet: bool,
    /// Memory for events; more events are processed in partitions. `None`: no limit.
    pub memory_limit: Option<u64>,
    /// `--ids`: the id registry.
    pub ids: Option<PathBuf>,
    /// `--sessionize GAP`: sessions built per user and client.
    pub sessionize: Option<Micros>,
    /// The registry of `--ids`, read and locked for the run.
    pub registry: Option<Arc<Registry>>,
    /// What counts as a finding (report and backfill; SPEC 10.2).
    pub findings: Rules,
    /// Where the per-event work runs (SPEC 11).
    pub engine: Engine,
    /// `--engine-timeout`.
    pub engine_timeout: std::time::Duration,
}

/// A run whose answer goes to stdout (`sessions`, `productivity`): its
/// config and its request.
pub struct StdoutPlan {
    pub cfg: Config,
    pub request: Request,
}

/// `sessions`: a page of the endpoint's answer, or with `--get` the
/// Sessions (Get) array (SPEC 8.1).
pub fn sessions(args: &SessionsArgs) -> Result<StdoutPlan> {
    let cfg = Config::from_flags(&args.input, Some(&args.run), None)?;
    let request = if args.get {
        args.window
            .window(&cfg.zone, args.page_index.as_deref(), "Sessions (Get)")?
    } else {
        args.window.request(&cfg.zone, args.page_index.as_deref())?
    };
    let mut cfg = cfg;
    cfg.load.map.skip_focus = true;
    Ok(StdoutPlan {
        cfg: cfg.for_stdout()?,
        request,
    })
}

/// `productivity`: User Productivity for one window (SPEC 8.2).
pub fn productivity(args: &ProductivityArgs) -> Result<StdoutPlan> {
    let cfg = Config::from_flags(&args.input, Some(&args.run), None)?;
    let request = args.window.window(&cfg.zone, None, "User Productivity")?;
    let mut cfg = cfg;
    cfg.load.map.skip_focus = true;
    Ok(StdoutPlan {
        cfg: cfg.for_stdout()?,
        request,
    })
}

/// `apps` or `urls`: Application or URL Statistics for one window (SPEC
/// 13.3, 13.4), on either engine.
pub fn focus_stats(args: &StatsArgs, endpoint: &str) -> Result<StdoutPlan> {
    let cfg = Config::from_flags(&args.input, Some(&args.run), None)?;
    let request = args
        .window
        .window(&cfg.zone, args.page_index.as_deref(), endpoint)?;
    Ok(StdoutPlan {
        cfg: cfg.for_stdout()?,
        request,
    })
}

/// `report`: one window, every output, into one folder (SPEC 6.2).
pub struct ReportPlan {
    pub cfg: Config,
    pub request: Request,
    pub out: PathBuf,
    pub pretty: bool,
}

/// `report`'s plan; `sample` is the input when none is given.
pub fn report(args: &ReportArgs, sample: &str) -> Result<ReportPlan> {
    let mut cfg = Config::from_flags(&args.input, Some(&args.run), Some(sample))?;
    cfg.findings = run::findings(&args.findings)?;
    let request = window::report_request(args, &cfg.zone)?;
    cfg.resolve_inputs()?;
    let out = layout::report_out(&args.out, cfg.rejects.is_none());
    cfg.check_paths(Some(out))?;
    cfg.open_registry()?;
    staging::refuse_if_locked(&args.out)?;
    Ok(ReportPlan {
        cfg,
        request,
        out: args.out.clone(),
        pretty: args.pretty,
    })
}

/// `backfill`: one report folder per period, from one read (SPEC 7).
pub struct BackfillPlan {
    pub cfg: Config,
    pub out: PathBuf,
    pub every: Every,
    pub periods: Vec<Period>,
    /// The page template: a window-less request.
    pub template: Request,
    pub pretty: bool,
    /// Compute every period again, recorded or not.
    pub force: bool,
}

/// `backfill`'s plan.
pub fn backfill(args: &BackfillArgs) -> Result<BackfillPlan> {
    let mut cfg = Config::from_flags(&args.input, Some(&args.run), None)?;
    cfg.findings = run::findings(&args.findings)?;
    let (periods, template) = window::backfill_periods(args, &cfg.zone)?;
    cfg.resolve_inputs()?;
    let folders = periods.iter().map(|p| p.folder().into()).collect();
    let out = layout::dataset_out(&args.out, folders, cfg.rejects.is_none());
    cfg.check_paths(Some(out))?;
    cfg.open_registry()?;
    staging::refuse_if_locked(&args.out)?;
    Ok(BackfillPlan {
        cfg,
        out: args.out.clone(),
        every: args.every,
        periods,
        template,
        pretty: args.pretty,
        force: args.force,
    })
}

impl Config {
    /// The flags' settings, inputs not yet found. `default_input` is used
    /// when no `--input` is given (report's sample); without `run` (serve),
    /// the local engine and no memory limit.
    pub(super) fn from_flags(
        a: &InputArgs,
        run: Option<&RunArgs>,
        default_input: Option<&str>,
    ) -> Result<Self> {
        let zone: Zone = a.tz.parse().map_err(|e| usage(format!("--tz: {e}")))?;
        let idle_text = a.idle_after.as_deref().unwrap_or(DEFAULT_IDLE_AFTER);
        let idle_after = parse_idle_after(idle_text)
            .map_err(|e| usage(format!("--idle-after {idle_text:?}: {e}")))?;
        let mut map = ColumnMap::parse(&a.map).map_err(|e| usage(e.0))?;
        let mut id_keys = IdKeys::parse(&a.id_keys).map_err(|e| usage(e.0))?;
        let sessionize = match &a.sessionize {
            None => None,
            Some(text) => match parse_idle_after(text) {
                Ok(Some(gap)) => Some(gap),
                Ok(None) => Some(Micros::MAX),
                Err(e) => return Err(usage(format!("--sessionize {text:?}: {e}"))),
            },
        };
        if sessionize.is_some() {
            if map.source(Canon::SessionId) != Canon::SessionId.name() {
                return Err(usage(format!(
                    "--sessionize builds the sessions, so session_id is not read: drop --map session_id={}",
                    map.source(Canon::SessionId)
                )));
            }
            map.sessionize = true;
            id_keys.session = true;
        }

        let inputs = match (a.input.is_empty(), default_input) {
            (false, _) => a.input.clone(),
            (true, Some(d)) => vec![d.to_string()],
            (true, None) => {
                return Err(usage(
                    "no input: give --input PATH (a file, glob or folder)",
                ))
            }
        };
        // How the run works; serve (no `run`) keeps every event, here.
        let (memory_limit, engine, engine_timeout) = match run {
            Some(r) => (
                parse_memory_limit(&r.memory_limit)
                    .map_err(|e| usage(format!("--memory-limit {:?}: {e}", r.memory_limit)))?,
                run::engine_of(&r.engine)?,
                crate::engine::parse_timeout(&r.engine_timeout)
                    .map_err(|e| usage(format!("--engine-timeout {:?}: {e}", r.engine_timeout)))?,
            ),
            None => (
                None,
                Engine::Local,
                std::time::Duration::from_micros(crate::engine::DEFAULT_TIMEOUT as u64),
            ),
        };
        Ok(Config {
            files: Vec::new(),
            load: LoadOptions {
                inputs,
                format: a.format,
                map,
                zone,
                max_bad_rows: a.max_bad_rows,
                partition: None,
                id_keys,
                focus: Default::default(),
                aw: AwOptions {
                    user: a.aw_user.clone(),
                    ..AwOptions::default()
                },
            },
            idle_after_given: a.idle_after.is_some(),
            zone,
            idle_after,
            rejects: a.rejects.clone(),
            quiet: a.quiet,
            memory_limit,
            ids: a.ids.clone(),
            sessionize,
            registry: None,
            findings: Rules::default(),
            engine,
            engine_timeout,
        })
    }

    /// Finds the inputs' files (after the request is checked, so a bad
    /// request is told first); EVTX input names sessions and users by key.
    fn resolve_inputs(&mut self) -> Result<()> {
        self.files = self.engine.resolve(&self.load.inputs, self.load.format)?;
        self.activitywatch()?;
        if self.files.iter().any(|f| f.format == inputs::Format::Evtx) {
            // Windows logs name sessions and users by logon id and SID (SPEC 9.3).
            self.load.id_keys = IdKeys {
                session: true,
                user: true,
            };
        }
        if self.ids.is_some() && !self.load.id_keys.any() {
            return Err(usage(
                "--ids keeps the ids of text keys: give --id-keys session,user (or --sessionize, or EVTX input) too",
            ));
        }
        Ok(())
    }

    /// ActivityWatch input (SPEC 14.2): sessions come from its active time,
    /// `--sessionize GAP` says how long a pause starts a new one, ids are
    /// keys, and nothing is idle but what its AFK watcher said. Its files
    /// are not mixed with other formats in a run.
    fn activitywatch(&mut self) -> Result<()> {
        let aw = |f: &InputFile| f.format == inputs::Format::ActivityWatch;
        if !self.files.iter().any(aw) {
            if self.load.aw.user.is_some() {
                return Err(usage(
                    "--aw-user names the user of ActivityWatch exports; no input is one",
                ));
            }
            return Ok(());
        }
        if let Some(other) = self.files.iter().find(|f| !aw(f)) {
            return Err(usage(format!(
                "{} is {}, and ActivityWatch exports are read in runs of their own: give them alone",
                other.display(),
                other.format
            )));
        }
        if self.load.map.renames() {
            return Err(usage(
                "--map names columns; an ActivityWatch export has none to map",
            ));
        }
        if let Some(gap) = self.sessionize.take() {
            self.load.aw.gap = gap;
        }
        // Sessions come from the export, not from SPEC 9.2's building.
        self.load.map.sessionize = false;
        self.load.id_keys = IdKeys {
            session: true,
            user: true,
        };
        if !self.idle_after_given {
            self.idle_after = None;
        }
        Ok(())
    }

    /// `--max-bad-rows` needs `--rejects` where no folder holds the rejects.
    pub(super) fn require_rejects_file(&self) -> Result<()> {
        if self.load.max_bad_rows > 0 && self.rejects.is_none() {
            return Err(usage(
                "--max-bad-rows needs --rejects PATH: skipped rows are never dropped without a trace",
            ));
        }
        Ok(())
    }

    /// A run whose answer goes to stdout: rejects need a file that is not
    /// stdout, the inputs are found and checked against the files the run
    /// writes, and the registry is opened.
    fn for_stdout(mut self) -> Result<Config> {
        self.require_rejects_file()?;
        self.resolve_inputs()?;
        if self.rejects.as_deref() == Some(Path::new("-")) {
            return Err(usage(
                "--rejects -: stdout carries the answer; give the rejects a file (or /dev/stderr)",
            ));
        }
        self.check_paths(None)?;
        self.open_registry()?;
        Ok(self)
    }

    /// One load of a server: the inputs found again, checked against the
    /// files it writes, and the registry opened; this config as the flags
    /// gave it is not changed.
    pub fn for_load(&self) -> Result<Config> {
        let mut cfg = self.inputs_found()?;
        // A load of its own: the texts of another load's cells are not its.
        cfg.load.focus = Default::default();
        cfg.check_paths(None)?;
        cfg.open_registry()?;
        Ok(cfg)
    }

    /// This config with its inputs found (again), as a load would find them.
    pub fn inputs_found(&self) -> Result<Config> {
        let mut cfg = self.clone();
        cfg.resolve_inputs()?;
        Ok(cfg)
    }

    /// The inputs found are checked against the files the run writes: the
    /// rejects, the registry and, for `report` and `backfill`, `out`.
    fn check_paths(&self, out: Option<Out>) -> Result<()> {
        guard::check(&guard::Plan {
            specs: &self.load.inputs,
            inputs: &self.files,
            rejects: self.rejects.as_deref(),
            out,
            ids: self.ids.as_deref(),
        })
    }

    /// Locks and reads the `--ids` registry (after the paths are checked).
    fn open_registry(&mut self) -> Result<()> {
        if let Some(path) = &self.ids {
            self.registry = Some(Arc::new(crate::registry::open(path)?));
        }
        Ok(())
    }

    /// What the engine is asked to run: this config's inputs and settings.
    pub fn job(&self) -> Job<'_> {
        Job {
            engine: &self.engine,
            timeout: self.engine_timeout,
            load: &self.load,
            files: &self.files,
            zone: self.zone,
            idle_after: self.idle_after,
            sessionize: self.sessionize,
            memory_limit: self.memory_limit,
            registry: self.registry.as_deref(),
            work: self.findings.work,
        }
    }
}
