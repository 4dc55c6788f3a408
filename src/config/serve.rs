//! `serve`'s plan: the inputs' config (local engine, every event kept), the
//! address, who may ask, TLS, reloads. The key file and the certificate are
//! read by the server itself, at start and on each reload.

use super::Config;
use crate::cli::ServeArgs;
use crate::engine::Engine;
use crate::error::usage;
use anyhow::Result;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// A server, checked.
pub struct ServePlan {
    /// The inputs' settings; each load finds the inputs again (`Config::for_load`).
    pub cfg: Config,
    pub addr: SocketAddr,
    /// What `--listen` said, for messages.
    pub listen: String,
    /// `--api-key-file`; without it the server answers on loopback only.
    pub key_file: Option<PathBuf>,
    /// `--tls-cert` and `--tls-key`.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub watch: bool,
    pub workers: Option<usize>,
}

/// `serve`'s plan.
pub fn serve(args: &ServeArgs) -> Result<ServePlan> {
    let cfg = Config::from_flags(&args.input, None, None)?;
    // serve takes no --engine; an engine set for the other commands in the
    // environment is refused, not passed over (its value is never shown).
    let engine = std::env::var("SESSIONSTAT_ENGINE").unwrap_or_default();
    if !engine.trim().is_empty() && Engine::parse(&engine) != Ok(Engine::Local) {
        return Err(usage(
            "SESSIONSTAT_ENGINE names an engine other than local: serve keeps every event here to answer any window, so it runs on the local engine only; unset it for serve",
        ));
    }
    cfg.require_rejects_file()?;
    let addr = listen_address(&args.listen)?;
    if args.api_key_file.is_none() && !addr.ip().is_loopback() {
        return Err(usage(format!(
            "--listen {}: a server on a non-loopback address needs --api-key-file (without keys it answers only on loopback)",
            args.listen
        )));
    }
    Ok(ServePlan {
        cfg,
        addr,
        listen: args.listen.clone(),
        key_file: args.api_key_file.clone(),
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        watch: args.watch,
        workers: args.workers.map(|n| n.get()),
    })
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
