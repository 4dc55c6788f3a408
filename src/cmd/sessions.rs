//! `sessionstat sessions`: one page of the endpoint's answer on stdout, or
//! with `--get` the Sessions (Get) array (SPEC 8.1).

use crate::cli::SessionsArgs;
use crate::config::StdoutPlan;
use crate::engine::{self, Parts};
use crate::kernel;
use crate::output::json::{write_sessions_get, Response};
use crate::progress::Progress;
use anyhow::Result;

pub fn run(args: SessionsArgs) -> Result<()> {
    let StdoutPlan { cfg, request } = crate::config::sessions(&args)?;
    let progress = Progress::new(cfg.quiet);
    progress.stage("loading");
    // A page needs the sessions up to its end, no more; Sessions (Get) all.
    let keep =
        (!args.get).then(|| (request.page_index as usize + 1) * request.session_count as usize);
    let outcome = engine::run(&cfg.job(), &request, Parts::None, keep, &progress)?;
    super::finish_stdout_run(&cfg, &outcome)?;
    crate::trace::stage("selected");
    progress.finish();

    let mut body = Vec::with_capacity(400 * outcome.stats.len().min(1000) + 64);
    if args.get {
        write_sessions_get(
            &mut body,
            &outcome.metas,
            &outcome.stats,
            &cfg.zone,
            args.pretty,
        )?;
    } else {
        let page = kernel::page(&outcome.stats, request.session_count, request.page_index);
        Response::new(&outcome.metas, page, outcome.total, &cfg.zone)
            .write(&mut body, args.pretty)?;
    }
    super::print_body(body)?;
    crate::registry::save(cfg.registry.as_deref(), outcome.ids.as_ref())
}
