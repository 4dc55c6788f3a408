//! Raw flags -> a checked `Config` and `Request`, before any data is touched.
//! Every problem here is a usage error or a bad request: exit status 2.

use crate::cli::{BackfillArgs, InputArgs, ReportArgs, RunArgs, WindowArgs};
use crate::engine::{Engine, Job};
use crate::error::usage;
use crate::error::BadValue;
use crate::ids::IdKeys;
use crate::load::columns::{Canon, ColumnMap};
use crate::load::inputs::{self, InputFile};
use crate::load::LoadOptions;
use crate::registry::Registry;
use crate::request::{RawRequest, Request, RequestError};
use crate::time::periods::{self, Every, Period};
use crate::time::{parse_idle_after, Micros, Zone};
use anyhow::Result;
use std::path::PathBuf;
use std::sync::Arc;

/// Checked input and kernel options shared by `sessions` and `report`.
#[derive(Debug, Clone)]
pub struct Config {
    pub load: LoadOptions,
    /// The files the inputs name, resolved once before any data is read.
    pub files: Vec<InputFile>,
    pub zone: Zone,
    pub idle_after: Option<Micros>,
    pub rejects: Option<PathBuf>,
    pub quiet: bool,
    /// Memory for events; more events are processed in partitions. `None`: no limit.
    pub memory_limit: Option<u64>,
    /// `--ids`: the id registry.
    pub ids: Option<PathBuf>,
    /// `--sessionize GAP`: sessions built per user and client.
    pub sessionize: Option<Micros>,
    /// The registry of `--ids`, read and locked by `resolve_inputs`.
    pub registry: Option<Arc<Registry>>,
    /// What counts as a finding (report and backfill; SPEC 10.2).
    pub findings: crate::rollup::findings::Rules,
    /// Where the per-event work runs (SPEC 11).
    pub engine: Engine,
    /// `--engine-timeout`.
    pub engine_timeout: std::time::Duration,
}

/// Half of this machine's memory: the default `--memory-limit`.
fn half_of_ram() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = text
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024 / 2)
}

/// Parses `--memory-limit`: `auto` (half of RAM), `off`, or a size like
/// `512MiB`, `2GiB`, `1.5GB`, `800M`.
pub fn parse_memory_limit(text: &str) -> Result<Option<u64>, BadValue> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("auto") {
        return Ok(half_of_ram());
    }
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "unknown unit {unit:?}; expected a size like 512MiB or 2GB, auto or off"
            )
            .into())
        }
    };
    // Whole units, or one fraction in thousandths: no float in the byte count.
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 3 || frac.contains('.') {
        return Err("expected a size like 512MiB or 2GB, auto or off".into());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "number too large".to_string())?
    };
    let thousandths: u64 = format!("{frac:0<3}").parse().unwrap_or(0);
    let bytes = whole
        .checked_mul(scale)
        .and_then(|b| b.checked_add(thousandths * scale / 1000))
        .ok_or("size too large")?;
    if bytes == 0 {
        return Err("the limit must be above zero".into());
    }
    Ok(Some(bytes))
}

/// `--engine`, with the rules of what the Spark engine reads (SPEC 11).
fn engine_of(a: &InputArgs, text: &str) -> Result<Engine> {
    // The value may hold a token: it is never repeated in a message.
    let engine = Engine::parse(text).map_err(|e| usage(format!("--engine: {e}")))?;
    engine
        .check(&[
            (!a.id_keys.is_empty(), "--id-keys"),
            (a.ids.is_some(), "--ids"),
            (a.sessionize.is_some(), "--sessionize"),
        ])
        .map_err(|e| usage(e.0))?;
    Ok(engine)
}

impl Config {
    /// `default_input` is used when no `--input` is given (report's sample);
    /// without `run` (serve), the local engine and no memory limit.
    pub fn from_args(
        a: &InputArgs,
        run: Option<&RunArgs>,
        default_input: Option<&str>,
    ) -> Result<Self> {
        let zone: Zone = a.tz.parse().map_err(|e| usage(format!("--tz: {e}")))?;
        let idle_after = parse_idle_after(&a.idle_after)
            .map_err(|e| usage(format!("--idle-after {:?}: {e}", a.idle_after)))?;
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
                engine_of(a, &r.engine)?,
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
            },
            zone,
            idle_after,
            rejects: a.rejects.clone(),
            quiet: a.quiet,
            memory_limit,
            ids: a.ids.clone(),
            sessionize,
            registry: None,
            findings: Default::default(),
            engine,
            engine_timeout,
        })
    }

    /// Resolves the inputs into files (after the request is checked, so a
    /// bad request is told first).
    pub fn resolve_inputs(&mut self) -> Result<()> {
        self.files = self.engine.resolve(&self.load.inputs, self.load.format)?;
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

    /// For a run that writes no folder: the inputs found are checked
    /// against the files it writes (rejects, registry).
    pub fn check_outputs(&self) -> Result<()> {
        crate::output::guard::check(&crate::output::guard::Plan {
            specs: &self.load.inputs,
            inputs: &self.files,
            rejects: self.rejects.as_deref(),
            out: None,
            ids: self.ids.as_deref(),
        })
    }

    /// Locks and reads the `--ids` registry (after the paths are checked).
    pub fn open_registry(&mut self) -> Result<()> {
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

/// `report`'s request: from the window flags or body, or from `--day`
/// alone (SPEC 7.2); every page is written, so no `pageIndex`.
pub fn report_request(args: &ReportArgs, zone: &Zone) -> Result<Request> {
    let mut request = args.window.request(zone, None)?;
    if let Some(day) = &args.day {
        let (start, end) = day_window(day, &request, zone)?;
        (request.start, request.end) = (Some(start), Some(end));
    }
    if request.page_index != 0 {
        return Err(RequestError {
            field: "pageIndex".into(),
            value: request.page_index.to_string(),
            rule: "report writes every page; pageIndex belongs to sessions".into(),
        }
        .into());
    }
    Ok(request)
}

/// The window of `--day` (SPEC 7.2): that local day's, as a backfill's
/// day period has it. The window then comes from `--day` alone.
fn day_window(day: &str, request: &Request, zone: &Zone) -> Result<(Micros, Micros)> {
    let refuse = |rule: String| RequestError {
        field: "--day".into(),
        value: day.to_string(),
        rule,
    };
    if request.start.is_some() || request.end.is_some() {
        return Err(refuse(
            "sets the window; the request body must not also have start or end".into(),
        )
        .into());
    }
    let date = periods::parse_date(day, zone, crate::time::now()).map_err(|e| refuse(e.0))?;
    let p = Period::containing(Every::Day, date, zone);
    if let Some(rule) = p.out_of_range(zone) {
        return Err(refuse(rule).into());
    }
    Ok((p.start, p.end))
}

/// One backfill, checked: the dataset folder, its periods, the page
/// template (a window-less request), and how to write.
pub struct BackfillPlan {
    pub out: PathBuf,
    pub every: Every,
    pub periods: Vec<Period>,
    pub template: Request,
    pub pretty: bool,
    /// Compute every period again, recorded or not.
    pub force: bool,
}

/// `backfill`'s periods from `--from`, `--to` and `--every` (SPEC 7.1):
/// dates in order, at most `--max-periods` of them, each in range.
pub fn backfill_plan(args: &BackfillArgs, zone: &Zone) -> Result<BackfillPlan> {
    let now = crate::time::now();
    let date = |field: &str, text: &str| {
        periods::parse_date(text, zone, now).map_err(|rule| RequestError {
            field: field.into(),
            value: text.to_string(),
            rule: rule.0,
        })
    };
    let (from, to) = (date("--from", &args.from)?, date("--to", &args.to)?);
    if from > to {
        return Err(RequestError {
            field: "--from".into(),
            value: args.from.clone(),
            rule: format!("must not be after --to = {}", args.to),
        }
        .into());
    }
    let template =
        RawRequest::from_flags(None, None, args.session_count.as_deref(), None).check(zone)?;
    let n = periods::count(args.every, from, to);
    if n > args.max_periods {
        return Err(usage(format!(
            "--from {} --to {} is {n} periods of a {}, more than --max-periods {}: check the dates, or raise --max-periods to write them all",
            args.from,
            args.to,
            args.every.key(),
            args.max_periods
        )));
    }
    let all = periods::periods(args.every, from, to, zone);
    for (field, text, p) in [
        ("--from", &args.from, all.first()),
        ("--to", &args.to, all.last()),
    ] {
        if let Some(rule) = p.and_then(|p| p.out_of_range(zone)) {
            return Err(RequestError {
                field: field.into(),
                value: text.clone(),
                rule,
            }
            .into());
        }
    }
    Ok(BackfillPlan {
        out: args.out.clone(),
        every: args.every,
        periods: all,
        template,
        pretty: args.pretty,
        force: args.force,
    })
}

impl WindowArgs {
    /// The checked request from the flags and the `--request` body, if any.
    pub fn request(&self, zone: &Zone, page_index: Option<&str>) -> Result<Request> {
        Ok(self.raw(page_index)?.check(zone)?)
    }

    /// The checked window of an endpoint that answers no page (SPEC 8):
    /// `sessionCount` and `pageIndex`, as flags or in the body, are bad requests.
    pub fn window(&self, zone: &Zone, page_index: Option<&str>, endpoint: &str) -> Result<Request> {
        Ok(self.raw(page_index)?.window_only(endpoint)?.check(zone)?)
    }

    /// The request as given, unchecked.
    fn raw(&self, page_index: Option<&str>) -> Result<RawRequest> {
        let flags = RawRequest::from_flags(
            self.start.as_deref(),
            self.end.as_deref(),
            self.session_count.as_deref(),
            page_index,
        );
        let raw = match &self.request {
            None => flags,
            Some(path) => {
                let body = std::fs::read_to_string(path).map_err(|e| RequestError {
                    field: "--request".into(),
                    value: path.display().to_string(),
                    rule: format!("cannot read the request body: {e}"),
                })?;
                RawRequest::from_json(&body)?.merge(flags)?
            }
        };
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits() {
        assert_eq!(parse_memory_limit("512MiB"), Ok(Some(512 << 20)));
        assert_eq!(parse_memory_limit("2GB"), Ok(Some(2_000_000_000)));
        assert_eq!(parse_memory_limit("1.5GiB"), Ok(Some(3 << 29)));
        assert_eq!(parse_memory_limit("800m"), Ok(Some(800_000_000)));
        assert_eq!(parse_memory_limit("off"), Ok(None));
        assert!(parse_memory_limit("auto").unwrap().is_some_and(|b| b > 0));
        for bad in [
            "",
            "0",
            "12 parsecs",
            "1.2.3GB",
            "-1GB",
            "1.2345GB",
            "99999999999999999999GB",
        ] {
            assert!(parse_memory_limit(bad).is_err(), "{bad:?}");
        }
    }
}
