//! The HTTP shell around the routes: a request goes through, in this
//! order, the `ApiKey` check (401 whatever the path), the path (404), the
//! method (405), the body (413 over 64 KiB, read and dropped up to 1 MiB so
//! that the client sees the status), the request's fields (400, naming the
//! field), then the answer; one log line each.

use super::routes::{route, Route};
use super::snapshot::Live;
use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A body over this is 413 (SPEC 12.1).
pub const MAX_BODY: usize = 64 * 1024;
/// Up to this much of an oversize body is read and dropped before answering.
pub const DRAIN_BODY: usize = 1024 * 1024;
/// A client that sends its body slower than this is cut off (408).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server shares between requests: what reloads swap, and the log.
pub struct State {
    pub live: Arc<Live>,
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
    if !state.live.keys.load().allow(req.headers()) {
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
                    "no endpoint {}; the endpoints are POST and GET /ekranapi/sessions, GET /ekranapi/user/getproductivity, GET /ekranapi/statistics/getapp and /geturl",
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
    let snapshot = state.live.snapshot.load_full();
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
