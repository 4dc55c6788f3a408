//! `sessionstat serve`: the flags checked, then the server (`serve/`).

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::engine::Engine;
use crate::error::usage;
use crate::serve::auth::{read_keys, Keys};
use crate::serve::Server;
use anyhow::Result;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

pub fn run(args: ServeArgs) -> Result<()> {
    let cfg = Config::from_args(&args.input, None, None)?;
    // serve takes no --engine; an engine set for the other commands in the
    // environment is refused, not passed over (its value is never shown).
    let engine = std::env::var("SESSIONSTAT_ENGINE").unwrap_or_default();
    if !engine.trim().is_empty() && Engine::parse(&engine) != Ok(Engine::Local) {
        return Err(usage(
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
    let server = Server {
        addr,
        listen: args.listen,
        keys,
        key_file: args.api_key_file,
        tls,
        watch: args.watch,
        workers: args.workers.map(|n| n.get()),
    };
    crate::serve::run(cfg, server)
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

fn read_tls(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let read = |flag: &str, p: &Path| {
        std::fs::read(p).map_err(|e| usage(format!("{flag} {}: cannot read it: {e}", p.display())))
    };
    Ok((read("--tls-cert", cert)?, read("--tls-key", key)?))
}
