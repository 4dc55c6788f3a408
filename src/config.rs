//! Raw flags -> a checked `Config` and `Request`, before any data is touched.
//! Every problem here is a usage error or a bad request: exit status 2.

use crate::cli::{InputArgs, WindowArgs};
use crate::error::usage;
use crate::kernel::Settings;
use crate::load::columns::ColumnMap;
use crate::load::LoadOptions;
use crate::request::{RawRequest, Request, RequestError};
use crate::time::{parse_idle_after, Micros, Zone};
use anyhow::Result;
use std::path::PathBuf;

/// Checked input and kernel options shared by `sessions` and `report`.
#[derive(Debug, Clone)]
pub struct Config {
    pub load: LoadOptions,
    pub zone: Zone,
    pub idle_after: Option<Micros>,
    pub rejects: Option<PathBuf>,
    pub quiet: bool,
}

impl Config {
    /// `default_input` is used when no `--input` is given (report's sample).
    pub fn from_args(a: &InputArgs, default_input: Option<&str>) -> Result<Self> {
        let zone: Zone = a.tz.parse().map_err(|e| usage(format!("--tz: {e}")))?;
        let idle_after = parse_idle_after(&a.idle_after)
            .map_err(|e| usage(format!("--idle-after {:?}: {e}", a.idle_after)))?;
        let map = ColumnMap::parse(&a.map).map_err(usage)?;
        let inputs = match (a.input.is_empty(), default_input) {
            (false, _) => a.input.clone(),
            (true, Some(d)) => vec![d.to_string()],
            (true, None) => {
                return Err(usage(
                    "no input: give --input PATH (a file, glob or folder)",
                ))
            }
        };
        Ok(Config {
            load: LoadOptions {
                inputs,
                format: a.format,
                map,
                zone,
                max_bad_rows: a.max_bad_rows,
            },
            zone,
            idle_after,
            rejects: a.rejects.clone(),
            quiet: a.quiet,
        })
    }

    pub fn settings(&self, r: &Request) -> Settings {
        Settings {
            start: r.start,
            end: r.end,
            idle_after: self.idle_after,
        }
    }
}

impl WindowArgs {
    /// The checked request from the flags and the `--request` body, if any.
    pub fn request(&self, zone: &Zone, page_index: Option<&str>) -> Result<Request> {
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
        Ok(raw.check(zone)?)
    }
}
