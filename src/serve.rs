//! The endpoints over HTTP (SPEC 12): `POST /ekranapi/sessions`,
//! `GET /ekranapi/sessions` and `GET /ekranapi/user/getproductivity`, each
//! with the exact body the CLI prints, answered from one loaded snapshot.
//!
//! A request goes through, in this order: the `ApiKey` check (401 whatever
//! the path), the path (404), the method (405), the body (413 over 64 KiB,
//! read and dropped up to 1 MiB so that the client sees the status), the
//! request's fields (400, naming the field), then the answer. A snapshot is
//! swapped whole on reload (`arc_swap`): each request takes one at its start
//! and answers from it alone.

use crate::kernel::index::Index;
use crate::kernel::{SessionStats, Settings};
use crate::output::json::{write_productivity, write_sessions_get, Response as Page};
use crate::request::{RawRequest, RequestError};
use crate::rollup::hours::{self, HourCuts, HourPart};
use crate::rollup::SessionParts;
use crate::time::Zone;
use arc_swap::ArcSwap;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// A body over this is 413 (SPEC 12.1).
pub const MAX_BODY: usize = 64 * 1024;
/// Up to this much of an oversize body is read and dropped before answering.
pub const DRAIN_BODY: usize = 1024 * 1024;
/// A client that sends its body slower than this is cut off (408).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What one load of the inputs answers from.
pub struct Snapshot {
    pub index: Index,
    pub zone: Zone,
    /// Per session (as indexed), the hour parts of its whole span: a
    /// session the window does not clip needs no look at its events.
    pub hours: Vec<Vec<HourPart>>,
}

/// The three endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    SessionsPost,
    SessionsGet,
    Productivity,
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
            Route::SessionsGet | Route::Productivity => {
                let name = match route {
                    Route::SessionsGet => "Sessions (Get)",
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
                } else {
                    let parts = self.hour_parts(&all);
                    let hourly = hours::hourly_users(&self.index.metas, &all, &parts);
                    write_productivity(&mut out, &hours::productivity(&hourly), zone, false)
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

/// The accepted keys, compared in constant time; `None` answers without keys.
#[derive(Default)]
pub struct Keys(pub Option<Vec<Vec<u8>>>);

impl Keys {
    /// The keys of a key file: one a line, blanks around a key and empty
    /// lines ignored, and a UTF-8 byte order mark before the first (as
    /// Windows editors save a file) too; a file without a key is an error.
    pub fn parse(text: &str) -> Result<Keys, String> {
        let keys: Vec<Vec<u8>> = text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| l.as_bytes().to_vec())
            .collect();
        if keys.is_empty() {
            return Err("holds no key (one key a line)".into());
        }
        Ok(Keys(Some(keys)))
    }

    /// Whether the request's `ApiKey` header is one of the keys. Every key
    /// is compared, each in time independent of where it differs.
    pub fn allow(&self, headers: &HeaderMap) -> bool {
        let Some(keys) = &self.0 else {
            return true;
        };
        let Some(given) = headers.get("apikey") else {
            return false;
        };
        let given = given.as_bytes();
        let mut ok = subtle::Choice::from(0);
        for k in keys {
            ok |= k.as_slice().ct_eq(given);
        }
        ok.into()
    }
}

/// What the server shares between requests.
pub struct State {
    pub snapshot: ArcSwap<Snapshot>,
    pub keys: ArcSwap<Keys>,
    pub log: Log,
}

/// Request lines on stderr, written by a thread of their own so that a
/// request never waits on the terminal: method, path, status, time.
#[derive(Clone)]
pub struct Log(Option<std::sync::mpsc::Sender<String>>);

impl Log {
    /// A log on stderr, or none (`quiet`).
    pub fn stderr(quiet: bool) -> Log {
        if quiet {
            return Log(None);
        }
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut err = std::io::BufWriter::new(std::io::stderr());
            while let Ok(line) = rx.recv() {
                let _ = writeln!(err, "{line}");
                while let Ok(line) = rx.try_recv() {
                    let _ = writeln!(err, "{line}");
                }
                let _ = err.flush();
            }
        });
        Log(Some(tx))
    }

    pub fn line(&self, line: String) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(line);
        }
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// `{"status":N,"error":"..."}` with that status.
fn error(status: StatusCode, text: &str) -> Response {
    json(
        status,
        crate::error::json_error(status.as_u16(), text).into_bytes(),
    )
}

/// The body, or the response that refuses it.
async fn read_body(body: Body) -> Result<Vec<u8>, Response> {
    let mut body = body;
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!("cannot read the body: {e}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen <= MAX_BODY {
                    kept.extend_from_slice(&data);
                } else if seen > DRAIN_BODY {
                    break;
                }
            }
        }
        Ok::<(), Response>(())
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive in time",
        )),
        Ok(Err(r)) => Err(r),
        Ok(Ok(())) if seen > MAX_BODY => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over {MAX_BODY} bytes"),
        )),
        Ok(Ok(())) => Ok(kept),
    }
}

/// Every request, whatever its path: the order of checks of the module
/// comment, then the answer; one log line.
pub async fn handle(state: Arc<State>, req: Request<Body>) -> Response {
    let began = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let response = respond(&state, req).await;
    state.log.line(format!(
        "{method} {path} {} {:.3} ms",
        response.status().as_u16(),
        began.elapsed().as_secs_f64() * 1000.0
    ));
    response
}

async fn respond(state: &State, req: Request<Body>) -> Response {
    if !state.keys.load().allow(req.headers()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "a valid key is required in the ApiKey header",
        );
    }
    let route = match route(req.method(), req.uri().path()) {
        Ok(r) => r,
        Err(None) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!(
                    "no endpoint {}; the endpoints are POST and GET /ekranapi/sessions, GET /ekranapi/user/getproductivity",
                    req.uri().path()
                ),
            )
        }
        Err(Some(allow)) => {
            let mut r = error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{} {} is not an endpoint; use {allow}", req.method(), req.uri().path()),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            return r;
        }
    };
    let query = req.uri().query().map(str::to_string);
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // One snapshot for the whole answer, whatever a reload does meanwhile.
    let snapshot = state.snapshot.load_full();
    let answered = if route == Route::SessionsPost {
        // A page is at most 1000 sessions: answered on the spot.
        Ok(snapshot.answer(route, query.as_deref(), &body))
    } else {
        // A whole selection may be large: off the threads that serve sockets.
        tokio::task::spawn_blocking(move || snapshot.answer(route, query.as_deref(), &body)).await
    };
    match answered {
        Ok(Ok(body)) => json(StatusCode::OK, body),
        Ok(Err(bad)) => error(StatusCode::BAD_REQUEST, &bad.to_string()),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("internal error ({e}); please report it with the request"),
        ),
    }
}
