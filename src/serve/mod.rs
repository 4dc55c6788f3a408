//! `sessionstat serve` (SPEC 12): the inputs loaded once into a snapshot,
//! the five endpoints answered over HTTP(S) from it; SIGHUP or `--watch`
//! loads them again and swaps the new snapshot in whole, SIGTERM (or
//! Ctrl-C) stops taking connections and lets open requests finish.
//!
//! - routes.rs: what each endpoint answers, from a snapshot;
//! - snapshot.rs: the snapshot, its load and its reloads;
//! - auth.rs: the API keys;
//! - http.rs: one request, from its key check to its log line;
//! - this file: the server itself, its threads, TLS, limits and signals.

pub mod auth;
pub mod http;
pub mod routes;
pub mod snapshot;

use crate::config::ServePlan;
use crate::error::usage;
use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use auth::{read_keys, Keys};
use http::{handle, Log, State};
use snapshot::{load, Live, Reloads};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long open requests may take to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);
/// A connection that sends no complete request head in this time (the first
/// one from its start, a later one from its first byte) is closed, and so is
/// a connection idle this long between requests.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads the inputs and serves until SIGTERM.
pub fn run(plan: ServePlan) -> Result<()> {
    let ServePlan {
        cfg,
        addr,
        listen,
        key_file,
        tls,
        watch,
        workers,
    } = plan;
    let keys = match &key_file {
        Some(path) => read_keys(path)?,
        None => Keys(None),
    };
    let tls = tls.map(|(cert, key)| read_tls(&cert, &key)).transpose()?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        runtime.worker_threads(n);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the server's threads")?;
    // SIGHUP is caught before the first load, which may take minutes: one
    // that comes during it means "load again once serving", never a kill.
    let hup = {
        let _in_runtime = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot catch SIGHUP")?
    };
    let (snapshot, seen) = load(&cfg)?;
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {listen}"))?;
    let state = Arc::new(State {
        live: Arc::new(Live {
            snapshot: ArcSwap::from_pointee(snapshot),
            keys: ArcSwap::from_pointee(keys),
        }),
        log: Log::stderr(cfg.quiet),
    });
    runtime.block_on(serve(
        listener,
        tls,
        state,
        Reloads {
            cfg,
            key_file,
            watch,
            seen,
            hup,
        },
    ))
}

/// The certificate and key of `--tls-cert` and `--tls-key`, PEM.
fn read_tls(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let read = |flag: &str, p: &Path| {
        std::fs::read(p).map_err(|e| usage(format!("{flag} {}: cannot read it: {e}", p.display())))
    };
    Ok((read("--tls-cert", cert)?, read("--tls-key", key)?))
}

async fn serve(
    listener: std::net::TcpListener,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    state: Arc<State>,
    reloads: Reloads,
) -> Result<()> {
    let handle = axum_server::Handle::new();
    let app = {
        let state = state.clone();
        axum::Router::new().fallback(move |req| handle_request(state.clone(), req))
    };
    tokio::spawn(stop_on_signal(handle.clone()));
    let service = app.into_make_service();
    let tls = match tls {
        None => None,
        Some((cert, key)) => {
            // One crypto provider for the process: ring, as the rest of the tree uses.
            let _ = rustls::crypto::ring::default_provider().install_default();
            Some(
                axum_server::tls_rustls::RustlsConfig::from_pem(cert, key)
                    .await
                    .map_err(|e| {
                        usage(format!(
                            "--tls-cert/--tls-key: not a usable certificate and key ({e})"
                        ))
                    })?,
            )
        }
    };
    let bound = listener.local_addr()?;
    eprintln!(
        "sessionstat: serving {} sessions ({} events) on {}://{bound}{}",
        state.live.snapshot.load().index.sessions(),
        state.live.snapshot.load().index.events(),
        if tls.is_some() { "https" } else { "http" },
        if state.live.keys.load().0.is_some() {
            ", ApiKey required"
        } else {
            ", no key (loopback only)"
        }
    );
    // Reloads start once the log says what is served: a SIGHUP caught
    // during the first load is told after it.
    reloads.start(&state.live);
    match tls {
        None => {
            let server = axum_server::from_tcp(listener)?;
            with_limits(server, handle).serve(service).await?;
        }
        Some(config) => {
            let server = axum_server::tls_rustls::from_tcp_rustls(listener, config)?;
            with_limits(server, handle).serve(service).await?;
        }
    }
    eprintln!("sessionstat: stopped");
    Ok(())
}

/// The shutdown handle and the timeouts for stalled clients.
fn with_limits<Acc>(
    server: axum_server::Server<SocketAddr, Acc>,
    handle: axum_server::Handle<SocketAddr>,
) -> axum_server::Server<SocketAddr, Acc> {
    let mut server = server.handle(handle).first_request_timeout(HEADER_TIMEOUT);
    server
        .http_builder()
        .http1()
        .header_read_timeout(HEADER_TIMEOUT);
    server
}

async fn handle_request(
    state: Arc<State>,
    req: axum::extract::Request,
) -> axum::response::Response {
    handle(state, req).await
}

/// SIGTERM or Ctrl-C: no new connections; open requests get `DRAIN` to finish.
async fn stop_on_signal(handle: axum_server::Handle<SocketAddr>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!(
        "sessionstat: stopping (open requests get {}s)",
        DRAIN.as_secs()
    );
    handle.graceful_shutdown(Some(DRAIN));
}
