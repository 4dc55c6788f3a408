//! What each endpoint answers (SPEC 12): the path and method pick the
//! endpoint, and a snapshot answers it with the exact body the CLI prints.

use super::snapshot::Snapshot;
use crate::kernel::{SessionStats, Settings};
use crate::output::json::{
    write_hour_stats, write_productivity, write_sessions_get, Response as Page,
};
use crate::request::{RawRequest, RequestError};
use crate::rollup::focus::{hour_stats, session_focus};
use crate::rollup::hours::{self, HourCuts};
use crate::rollup::SessionParts;
use axum::http::Method;

/// The three endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    SessionsPost,
    SessionsGet,
    Productivity,
    /// Application Statistics (SPEC 13.3).
    Apps,
    /// URL Statistics (SPEC 13.4).
    Urls,
}

/// The path's endpoint and whether the method fits it: `Err(None)` for an
/// unknown path (404), `Err(Some(allow))` for a known path with another
/// method (405, with the methods it allows).
pub fn route(method: &Method, path: &str) -> Result<Route, Option<&'static str>> {
    match path {
        "/ekranapi/sessions" => match *method {
            Method::POST => Ok(Route::SessionsPost),
            Method::GET => Ok(Route::SessionsGet),
            _ => Err(Some("GET, POST")),
        },
        "/ekranapi/user/getproductivity" => match *method {
            Method::GET => Ok(Route::Productivity),
            _ => Err(Some("GET")),
        },
        "/ekranapi/statistics/getapp" => match *method {
            Method::GET => Ok(Route::Apps),
            _ => Err(Some("GET")),
        },
        "/ekranapi/statistics/geturl" => match *method {
            Method::GET => Ok(Route::Urls),
            _ => Err(Some("GET")),
        },
        _ => Err(None),
    }
}

impl Snapshot {
    /// The body of one endpoint's answer, or the bad request.
    pub fn answer(
        &self,
        route: Route,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<u8>, RequestError> {
        let zone = &self.zone;
        let mut out = Vec::new();
        let written = match route {
            Route::SessionsPost => {
                if query.is_some_and(|q| !q.is_empty()) {
                    return Err(RequestError {
                        field: "query".into(),
                        value: format!("{:?}", query.unwrap_or_default()),
                        rule: "POST /ekranapi/sessions takes its fields in the JSON body".into(),
                    });
                }
                let text = std::str::from_utf8(body).map_err(|_| RequestError {
                    field: "request body".into(),
                    value: format!("{} bytes", body.len()),
                    rule: "not UTF-8 text".into(),
                })?;
                // An empty body asks with every field absent, as `{}` does.
                let raw = if text.trim().is_empty() {
                    RawRequest::default()
                } else {
                    RawRequest::from_json(text)?
                };
                let request = raw.check(zone)?;
                let sel = self.index.select(self.settings(request.start, request.end));
                let count = request.session_count as usize;
                let page = sel.range((request.page_index as usize).saturating_mul(count), count);
                out.reserve(360 * page.len() + 32);
                Page::new(&self.index.metas, &page, sel.total(), zone).write(&mut out, false)
            }
            Route::SessionsGet | Route::Productivity | Route::Apps | Route::Urls => {
                let name = match route {
                    Route::SessionsGet => "Sessions (Get)",
                    Route::Apps => "Application Statistics",
                    Route::Urls => "URL Statistics",
                    _ => "User Productivity",
                };
                let raw = RawRequest::from_query(
                    decode(query.unwrap_or_default())
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                )?;
                let request = raw.window_only(name)?.check(zone)?;
                let settings = self.settings(request.start, request.end);
                let all = self.index.select(settings).all();
                if route == Route::SessionsGet {
                    out.reserve(200 * all.len() + 2);
                    write_sessions_get(&mut out, &self.index.metas, &all, zone, false)
                } else if matches!(route, Route::Apps | Route::Urls) {
                    let keys = match route {
                        Route::Apps => &self.apps,
                        _ => &self.sites,
                    };
                    let parts = self.focus_parts(&all);
                    let stats = hour_stats(&parts, keys);
                    write_hour_stats(&mut out, &stats, &self.index.metas, &all, keys, false)
                } else {
                    let parts = self.hour_parts(&all);
                    let hourly = hours::hourly_users(&self.index.metas, &all, &parts);
                    let order = hours::productivity(&hourly);
                    write_productivity(&mut out, &hourly, Some(&order), zone, false)
                }
            }
        };
        written.expect("writing to memory");
        Ok(out)
    }

    fn settings(&self, start: Option<i64>, end: Option<i64>) -> Settings {
        Settings {
            start,
            end,
            idle_after: self.index.idle_after,
        }
    }

    /// Each selected session's focus parts in the window (none without
    /// the columns).
    fn focus_parts(&self, selection: &[SessionStats]) -> Vec<SessionParts> {
        let mut cuts = HourCuts::new(self.zone);
        selection
            .iter()
            .map(|st| {
                let focus = match self.index.session(st.session) {
                    (keys, Some(focus)) => session_focus(
                        keys,
                        focus,
                        (st.lo, st.hi),
                        self.index.idle_after,
                        &mut cuts,
                    ),
                    (_, None) => Vec::new(),
                };
                SessionParts {
                    focus,
                    ..SessionParts::default()
                }
            })
            .collect()
    }

    /// Each selected session's hour parts: kept ones for a session the
    /// window leaves whole, cut from its events in the window otherwise.
    fn hour_parts(&self, selection: &[SessionStats]) -> Vec<SessionParts> {
        let mut cuts = HourCuts::new(self.zone);
        selection
            .iter()
            .map(|st| {
                let hours = if !st.clipped_start && !st.clipped_end {
                    self.hours[st.session as usize].clone()
                } else {
                    let mut parts = Vec::new();
                    crate::kernel::span::for_each_span(
                        self.index.window(st),
                        self.index.idle_after,
                        |t0, len, p| {
                            hours::add_span(&mut parts, t0, t0 + len, p, &mut cuts);
                        },
                    );
                    parts
                };
                SessionParts {
                    hours,
                    ..SessionParts::default()
                }
            })
            .collect()
    }
}

/// A query string's `name=value` pairs, percent- and `+`-decoded.
fn decode(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
