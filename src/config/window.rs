//! The window of a run: the endpoint's request from flags or a body
//! (`WindowArgs`), `report --day`, and a backfill's periods.

use crate::cli::{BackfillArgs, ReportArgs, WindowArgs};
use crate::error::{usage, RequestError};
use crate::request::{RawRequest, Request};
use crate::time::periods::{self, Every, Period};
use crate::time::{Micros, Zone};
use anyhow::Result;

/// `report`'s request: from the window flags or body, or from `--day`
/// alone (SPEC 7.2); every page is written, so no `pageIndex`.
pub(super) fn report_request(args: &ReportArgs, zone: &Zone) -> Result<Request> {
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

/// `backfill`'s periods from `--from`, `--to` and `--every` (SPEC 7.1):
/// dates in order, at most `--max-periods` of them, each in range; and the
/// page template (a window-less request).
pub(super) fn backfill_periods(args: &BackfillArgs, zone: &Zone) -> Result<(Vec<Period>, Request)> {
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
    Ok((all, template))
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
