//! `sessionstat sessions`: one page of the endpoint's answer on stdout.

use crate::cli::SessionsArgs;
use crate::config::Config;
use crate::error::usage;
use crate::kernel;
use crate::output::json::Response;
use crate::pipeline;
use crate::progress::Progress;
use anyhow::Result;
use std::io::{IsTerminal, Write};

pub fn run(args: SessionsArgs) -> Result<()> {
    let mut cfg = Config::from_args(&args.input, None)?;
    let request = args.window.request(&cfg.zone, args.page_index.as_deref())?;
    if cfg.load.max_bad_rows > 0 && cfg.rejects.is_none() {
        return Err(usage(
            "--max-bad-rows needs --rejects PATH: skipped rows are never dropped without a trace",
        ));
    }
    cfg.resolve_inputs()?;
    if cfg.rejects.as_deref() == Some(std::path::Path::new("-")) {
        return Err(usage(
            "--rejects -: stdout carries the page; give the rejects a file (or /dev/stderr)",
        ));
    }
    crate::output::guard::check(&crate::output::guard::Plan {
        specs: &cfg.load.inputs,
        inputs: &cfg.files,
        rejects: cfg.rejects.as_deref(),
        out: None,
        ids: cfg.ids.as_deref(),
    })?;
    cfg.open_registry()?;
    let progress = Progress::new(cfg.quiet);
    progress.stage("loading");
    // The page needs the sessions up to its end, no more.
    let page_end = (request.page_index as usize + 1) * request.session_count as usize;
    let outcome = pipeline::run(&cfg, &request, false, Some(page_end), &progress)?;
    if let Some(path) = &cfg.rejects {
        super::write_rejects_file(path, &outcome.rejected)?;
        super::tell_rejects(&outcome.rejected, path);
    }
    crate::trace::stage("selected");
    let page = kernel::page(&outcome.stats, request.session_count, request.page_index);
    progress.finish();

    let mut body = Vec::with_capacity(400 * page.len() + 64);
    Response::new(&outcome.metas, page, outcome.total, &cfg.zone).write(&mut body, args.pretty)?;
    let mut out = std::io::stdout().lock();
    // The body is the endpoint's, byte for byte; a newline only for a person at a terminal.
    if out.is_terminal() {
        body.push(b'\n');
    }
    out.write_all(&body)?;
    out.flush()?;
    super::save_registry(&cfg, outcome.ids.as_ref())
}
