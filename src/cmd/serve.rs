//! `sessionstat serve`: the inputs loaded once into an index, the three
//! endpoints answered over HTTP(S) from it (SPEC 12); SIGHUP or `--watch`
//! loads them again and swaps the new snapshot in whole, SIGTERM (or
//! Ctrl-C) stops taking connections and lets open requests finish.

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::error::usage;
use crate::kernel::index::Index;
use crate::kernel::{select, Settings};
use crate::pipeline;
use crate::progress::Progress;
use crate::rollup::hours::hour_parts;
use crate::serve::{handle, Keys, Log, Snapshot, State};
use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long open requests may take to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);
/// A connection that sends no complete request head in this time (the first
/// one from its start, a later one from its first byte) is closed, and so is
/// a connection idle this long between requests.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How often `--watch` looks at the inputs.
const WATCH_EVERY: Duration = Duration::from_secs(2);

pub fn run(args: ServeArgs) -> Result<()> {
    let cfg = Config::from_args(&args.input, None, None)?;
    // serve takes no --engine; an engine set for the other commands in the
    // environment is refused, not passed over (its value is never shown).
    let engine = std::env::var("SESSIONSTAT_ENGINE").unwrap_or_default();
    if !engine.trim().is_empty()
        && crate::engine::Engine::parse(&engine) != Ok(crate::engine::Engine::Local)
    {
        return Err(crate::error::usage(
            "SESSIONSTAT_ENGINE names an engine other than local: serve keeps every event here to answer any window, so it runs on the local engine only; unset it for serve",
        ));
    }
    super::require_rejects_file(&cfg)?;
    let addr = listen_address(&args.listen)?;
    let keys = match &args.api_key_file {
        Some(path) => read_keys(path)?,
        None if addr.ip().is_loopback() => Keys(None),
        None => {
            return Err(usage(format!(
                "--listen {}: a server on a non-loopback address needs --api-key-file (without keys it answers only on loopback)",
                args.listen
            )))
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(read_tls(cert, key)?),
        _ => None,
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        runtime.worker_threads(n.get());
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
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let state = Arc::new(State {
        snapshot: ArcSwap::from_pointee(snapshot),
        keys: ArcSwap::from_pointee(keys),
        log: Log::stderr(cfg.quiet),
    });
    runtime.block_on(serve(
        listener,
        tls,
        state,
        Reloads {
            cfg,
            key_file: args.api_key_file,
            watch: args.watch,
            seen,
            hup,
        },
    ))
}

/// What reloads the snapshot: SIGHUP (caught from the start), and with
/// `--watch` a change of the inputs or the key file.
struct Reloads {
    cfg: Config,
    key_file: Option<PathBuf>,
    watch: bool,
    seen: Seen,
    hup: tokio::signal::unix::Signal,
}

/// `--listen`: an address and port (`127.0.0.1:8080`, `[::1]:0`,
/// `localhost:8080`).
fn listen_address(text: &str) -> Result<SocketAddr> {
    let bad = |why: String| usage(format!("--listen {text}: {why}"));
    let mut addrs = text
        .to_socket_addrs()
        .map_err(|e| bad(format!("not an address and port like 127.0.0.1:8080 ({e})")))?;
    addrs.next().ok_or_else(|| bad("names no address".into()))
}

fn read_keys(path: &Path) -> Result<Keys> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(format!(
            "--api-key-file {}: cannot read it: {e}",
            path.display()
        ))
    })?;
    Keys::parse(&text).map_err(|e| usage(format!("--api-key-file {}: {e}", path.display())))
}

fn read_tls(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let read = |flag: &str, p: &Path| {
        std::fs::read(p).map_err(|e| usage(format!("{flag} {}: cannot read it: {e}", p.display())))
    };
    Ok((read("--tls-cert", cert)?, read("--tls-key", key)?))
}

/// What `--watch` compares: each input file's path, size and modification
/// time, after the inputs are found again (a glob may match new files).
type Seen = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn seen(cfg: &Config) -> Seen {
    cfg.files
        .iter()
        .map(|f| {
            let m = std::fs::metadata(&f.path).ok();
            (
                f.path.clone(),
                m.as_ref().map_or(0, |m| m.len()),
                m.and_then(|m| m.modified().ok()),
            )
        })
        .collect()
}

/// Loads the inputs into a snapshot: the same checks, bad rows, built
/// sessions and ids as `sessions`; every session's events are kept.
fn load(base: &Config) -> Result<(Snapshot, Seen)> {
    let mut cfg = base.clone();
    cfg.resolve_inputs()?;
    super::check_and_open(&mut cfg)?;
    let progress = Progress::new(cfg.quiet);
    progress.stage("loading");
    let kept = pipeline::load_kept(&cfg, &progress)?;
    progress.finish();
    if let Some(note) = super::stale_note(kept.stale_chunks) {
        eprintln!("sessionstat: {note}");
    }
    if let Some(path) = &cfg.rejects {
        super::write_rejects_file(path, &kept.rejected)?;
        super::tell_rejects(&kept.rejected, path);
    }
    super::save_registry(&cfg, kept.ids.as_ref())?;
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
    };
    Ok((snapshot, seen(&cfg)))
}

async fn serve(
    listener: std::net::TcpListener,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    state: Arc<State>,
    reloads: Reloads,
) -> Result<()> {
    let Reloads {
        cfg,
        key_file,
        watch,
        seen,
        hup,
    } = reloads;
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
        state.snapshot.load().index.sessions(),
        state.snapshot.load().index.events(),
        if tls.is_some() { "https" } else { "http" },
        if state.keys.load().0.is_some() {
            ", ApiKey required"
        } else {
            ", no key (loopback only)"
        }
    );
    // Reloads start once the log says what is served: a SIGHUP caught
    // during the first load is told after it.
    tokio::spawn(reload_on_signal(
        state.clone(),
        cfg.clone(),
        key_file.clone(),
        hup,
    ));
    if watch {
        tokio::spawn(reload_on_change(state.clone(), cfg, key_file, seen));
    }
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

async fn reload_on_signal(
    state: Arc<State>,
    cfg: Config,
    key_file: Option<PathBuf>,
    mut hup: tokio::signal::unix::Signal,
) {
    while hup.recv().await.is_some() {
        reload(&state, &cfg, key_file.as_deref(), "SIGHUP").await;
    }
}

async fn reload_on_change(state: Arc<State>, cfg: Config, key_file: Option<PathBuf>, last: Seen) {
    let mut last: Result<Seen, String> = Ok(last);
    let stamp = |p: &Option<PathBuf>| {
        p.as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .and_then(|m| m.modified().ok())
    };
    let mut last_keys = stamp(&key_file);
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let mut now = cfg.clone();
        // Inputs that cannot be found (a file deleted) are a change too:
        // the reload tries, fails saying why, and keeps the old snapshot.
        let files = match now.resolve_inputs() {
            Ok(()) => Ok(seen(&now)),
            Err(e) => Err(crate::error::one_line(&format!("{e:#}"))),
        };
        let keys = stamp(&key_file);
        if files != last || keys != last_keys {
            last = match reload(&state, &cfg, key_file.as_deref(), "a change of the inputs").await {
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
    state: &Arc<State>,
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
            state.snapshot.store(Arc::new(snapshot));
            if let Some(keys) = keys {
                state.keys.store(Arc::new(keys));
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
