//! The local engine: one run from inputs to what the writers need: load,
//! group, clip, select, and (for rollups) split into day parts.
//!
//! First one pass computes every session's answer while reading
//! (`kernel::Running`), which needs no events kept and holds when each
//! session's events arrive in order. Otherwise the input is read again
//! keeping events, in one pass or, when they would not fit in
//! `--memory-limit`, in several, each keeping the sessions of one partition
//! (by a hash of the session id).
//!
//! A session never spans partitions, so every per-session result is exactly
//! the in-memory one; the passes' results are merged and put in the
//! endpoint's order. Between passes only the selected sessions' attributes,
//! stats and day parts are kept, never events.

use super::{Job, Outcome, Parts};
use crate::kernel::{self, PeriodsSink, RunningSink, SessionStats, Settings, Stored};
use crate::load::inputs::InputFile;
use crate::load::{estimated_rows, load_files, BadRow, LoadError, Loaded, Progress};
use crate::model::{Canon, SessionMeta};
use crate::registry::{goods, FinalIds, Good};
use crate::rollup::hours::{hour_parts, HourCuts, RunningHours};
use crate::rollup::{day_parts, DayStarts, RunningDays, SessionParts};

/// Memory held per event while a partition is loaded: its 8-byte key plus
/// the slack of growing vectors.
pub const BYTES_PER_EVENT: u64 = 12;

/// The same with the foreground columns (SPEC 13): two 4-byte ids more.
pub const BYTES_PER_FOCUSED_EVENT: u64 = 20;

/// At most this many passes; a limit that would need more is exceeded.
pub const MAX_PARTITIONS: u32 = 256;

/// The final ids of a run's keys (SPEC 9.1), from the registry's home.
fn final_ids<'a>(
    job: &Job<'_>,
    good: Vec<Good>,
    metas: impl Iterator<Item = &'a mut SessionMeta>,
) -> Result<FinalIds, LoadError> {
    Ok(crate::registry::final_ids(
        job.load.id_keys,
        job.registry,
        good,
        metas,
    )?)
}

/// How many partitions keep the events of one within `limit` bytes, at
/// `per_event` bytes an event.
pub fn partitions_for(rows: u64, limit: Option<u64>, per_event: u64) -> u32 {
    match limit {
        None => 1,
        Some(limit) => {
            let need = rows.saturating_mul(per_event);
            need.div_ceil(limit.max(1))
                .clamp(1, u64::from(MAX_PARTITIONS)) as u32
        }
    }
}

/// Orders the collected selection by (login, session id), keeping the first
/// `keep` sessions (and their day parts) and counting on `total` for the rest.
fn order(out: &mut Outcome, keep: usize) {
    let mut idx: Vec<usize> = (0..out.stats.len()).collect();
    idx.sort_unstable_by_key(|&i| {
        let st = &out.stats[i];
        kernel::endpoint_order(st, &out.metas[st.session as usize])
    });
    idx.truncate(keep);
    let mut metas: Vec<Option<SessionMeta>> = std::mem::take(&mut out.metas)
        .into_iter()
        .map(Some)
        .collect();
    let mut parts: Vec<Option<SessionParts>> = std::mem::take(&mut out.parts)
        .into_iter()
        .map(Some)
        .collect();
    let mut stats = Vec::with_capacity(idx.len());
    for (new, &i) in idx.iter().enumerate() {
        let mut st = out.stats[i];
        out.metas
            .push(metas[st.session as usize].take().expect("each once"));
        st.session = new as u32;
        stats.push(st);
        if let Some(p) = parts.get_mut(i) {
            out.parts.push(p.take().expect("each once"));
        }
    }
    out.stats = stats;
}

/// One local run over `windows`: one for a request, one per period for a
/// backfill (consecutive, ascending). Per window an `Outcome`: what that
/// window alone gives, with the rollup parts `parts` asks for (many windows
/// ask for day parts). With `keep` (one window, no parts), only the first
/// `keep` sessions of the selection are returned, all counted in `total`:
/// a page needs no more, and over several passes the others need not be
/// held. Rejected rows come once, beside the outcomes, in input order.
pub fn run(
    job: &Job<'_>,
    windows: &[Settings],
    parts: Parts,
    keep: Option<usize>,
    progress: &dyn Progress,
) -> Result<(Vec<Outcome>, Vec<BadRow>), LoadError> {
    // Parts are kept for every selected session; `keep` only serves pages.
    assert!(
        parts == Parts::None || keep.is_none(),
        "rollup parts are for whole selections"
    );
    assert!(
        windows.len() == 1 || (parts == Parts::All && keep.is_none()),
        "many windows are a backfill's, with day parts"
    );
    let files = job.files.to_vec();
    // With keys, ids (and so the order among sessions that start together)
    // are final only once every pass is done: no pass may cut the selection.
    let keyed = job.load.id_keys.any();
    let pass_keep = if keyed { None } else { keep };
    let mut good: Vec<Good> = Vec::new();
    let mut outs: Vec<Outcome> = windows.iter().map(|_| Outcome::default()).collect();
    let mut rejected = Vec::new();
    let (mut rows_read, mut blank_rows, mut stale_chunks) = (0, 0, 0);
    // A time-ordered log needs no stored events: one pass computes each
    // session's answer (and day parts) as it is read, whatever the memory
    // limit, since it holds no events. A log whose sessions arrive out of
    // order is read again, keeping events, in the passes the limit allows.
    crate::trace::stage("one pass, sessions computed while reading");
    let mut streamed = match job.sessionize {
        // Sessions are cut from each user and client's sorted events.
        Some(_) => None,
        None => Some(running_pass(job, &files, windows, parts, progress)?),
    };
    if streamed.as_ref().is_some_and(|p| p.loaded.stopped) {
        crate::trace::stage("events out of order: reading again, keeping events");
        streamed = None;
    }
    let partitions = match streamed {
        Some(_) => 1,
        None => {
            // The first pass met the columns, or the map names them.
            let map = &job.load.map;
            let focus = !job.load.focus.is_empty()
                || Canon::FOCUS.iter().any(|&c| map.source(c) != c.name());
            let per_event = if focus {
                BYTES_PER_FOCUSED_EVENT
            } else {
                BYTES_PER_EVENT
            };
            partitions_for(estimated_rows(&files, map), job.memory_limit, per_event)
        }
    };
    for k in 0..partitions {
        let pass = match streamed.take() {
            Some(pass) => pass,
            None => {
                let (loaded, stored) = stored_pass(job, &files, k, partitions, progress)?;
                Pass {
                    loaded,
                    answers: Answers::Stored(stored),
                }
            }
        };
        let Loaded {
            sessions,
            mut firsts,
            rows_read: read,
            blank_rows: blank,
            stale_chunks: stale,
            rejected: bad,
            over_limit,
            ..
        } = pass.loaded;
        (rows_read, blank_rows, stale_chunks) =
            (rows_read + read, blank_rows + blank, stale_chunks + stale);
        rejected.extend(bad);
        if over_limit {
            continue; // this pass fails the run; later passes may hold earlier bad rows
        }
        if k + 1 == partitions {
            // No more loading: what the load freed goes back to the system,
            // and so will what selecting and writing free.
            crate::alloc::release_if_near(job.memory_limit);
        }
        crate::trace::stage("loaded");
        let (selections, sessions) = match pass.answers {
            Answers::Stored(stored) => {
                let (grouped, cut) = grouped(job, stored, sessions, firsts);
                firsts = cut;
                (
                    stored_selections(job, &grouped, windows, parts),
                    grouped.sessions,
                )
            }
            answers => (answers.selections(&sessions), sessions),
        };
        crate::trace::stage("selection made");
        if keyed {
            good.extend(goods(&sessions, &firsts));
        }
        collect(&mut outs, selections, sessions, keep, pass_keep);
    }
    // Bad rows of all passes in input order: the first ones over the limit fail the run.
    rejected.sort_by_key(|r| r.seq);
    if let Some(e) = Loaded::limit_error(&rejected, job.load.max_bad_rows) {
        return Err(e);
    }
    let ids = match keyed {
        true => Some(final_ids(
            job,
            good,
            outs.iter_mut().flat_map(|o| o.metas.iter_mut()),
        )?),
        false => None,
    };
    // One window of one pass, unkeyed and whole, is in order already.
    let reorder = partitions > 1 || keep.is_some() || keyed || windows.len() > 1;
    for out in &mut outs {
        if reorder {
            order(out, keep.unwrap_or(usize::MAX));
        }
        out.ids = ids.clone();
        out.rows_read = rows_read;
        out.blank_rows = blank_rows;
        out.stale_chunks = stale_chunks;
        out.partitions = partitions;
        out.files = files.clone();
        out.focus = job.load.focus.texts();
    }
    crate::trace::stage("ordered");
    Ok((outs, rejected))
}

/// One window's selection of a pass (in the endpoint's order, or in the
/// sink's order for many windows) and its sessions' parts, in the same order.
type Selection = (Vec<SessionStats>, Vec<SessionParts>);

/// Adds each window's selection of a pass to its outcome: the sessions'
/// attributes are moved when one window takes them, copied when many may.
fn collect(
    outs: &mut [Outcome],
    selections: Vec<Selection>,
    mut sessions: Vec<SessionMeta>,
    keep: Option<usize>,
    pass_keep: Option<usize>,
) {
    let many = outs.len() > 1;
    for (out, (selection, mut parts)) in outs.iter_mut().zip(selections) {
        out.total += selection.len();
        out.parts.append(&mut parts);
        if !many && keep.is_none() && out.metas.is_empty() && selection.len() * 2 >= sessions.len()
        {
            // Most sessions are selected: keep their attributes where they
            // are (the selection indexes them) instead of moving each.
            out.metas = std::mem::take(&mut sessions);
            out.stats = selection;
        } else {
            // The selection is in the endpoint's order: past the first `keep`
            // of this pass, none can be among the first `keep` of all passes.
            for mut st in selection.into_iter().take(pass_keep.unwrap_or(usize::MAX)) {
                let meta = match many {
                    true => sessions[st.session as usize].clone(),
                    false => std::mem::take(&mut sessions[st.session as usize]),
                };
                st.session = out.metas.len() as u32;
                out.metas.push(meta);
                out.stats.push(st);
            }
        }
        // A later pass can only move a session back in the order, so past
        // the first `keep` nothing comes back into view.
        if let Some(keep) = pass_keep.filter(|&k| out.stats.len() > k) {
            order(out, keep);
        }
    }
}

/// Each window's selection of a pass that kept events, with the parts asked for.
fn stored_selections(
    job: &Job<'_>,
    grouped: &kernel::Grouped,
    windows: &[Settings],
    parts: Parts,
) -> Vec<Selection> {
    let selections = match windows {
        [one] => vec![kernel::select(grouped, one)],
        many => kernel::select_each(grouped, many),
    };
    selections
        .into_iter()
        .map(|selection| {
            let parts = match parts {
                Parts::All => day_parts(grouped, &selection, &job.zone, &job.work, job.idle_after),
                Parts::Hours => hour_parts(grouped, &selection, &job.zone, job.idle_after),
                Parts::None => Vec::new(),
            };
            (selection, parts)
        })
        .collect()
}

/// Every session's sorted events, kept (for `serve`, which answers any
/// window): one pass keeping events, whatever `--memory-limit` says, with
/// bad rows, built sessions and final ids as `run` has them.
pub struct Kept {
    pub grouped: kernel::Grouped,
    pub rows_read: u64,
    pub stale_chunks: u64,
    pub rejected: Vec<BadRow>,
    pub ids: Option<FinalIds>,
    pub files: Vec<InputFile>,
    /// The texts of the `app` and `url` cells, as `Outcome::focus`.
    pub focus: [Vec<std::sync::Arc<str>>; 2],
}

pub fn load_kept(job: &Job<'_>, progress: &dyn Progress) -> Result<Kept, LoadError> {
    let files = job.files.to_vec();
    let (loaded, stored) = stored_pass(job, &files, 0, 1, progress)?;
    let mut rejected = loaded.rejected;
    rejected.sort_by_key(|r| r.seq);
    if let Some(e) = Loaded::limit_error(&rejected, job.load.max_bad_rows) {
        return Err(e);
    }
    let (mut grouped, firsts) = grouped(job, stored, loaded.sessions, loaded.firsts);
    let ids = match job.load.id_keys.any() {
        true => {
            let good = goods(&grouped.sessions, &firsts);
            Some(final_ids(job, good, grouped.sessions.iter_mut())?)
        }
        false => None,
    };
    Ok(Kept {
        grouped,
        rows_read: loaded.rows_read,
        stale_chunks: loaded.stale_chunks,
        rejected,
        ids,
        files,
        focus: job.load.focus.texts(),
    })
}

/// A stored pass's events grouped by session: as loaded, or, with
/// `--sessionize`, each (user, client) group cut into sessions (SPEC 9.2);
/// `firsts` then gives each cut session's first row in input order.
fn grouped(
    job: &Job<'_>,
    stored: Stored,
    sessions: Vec<SessionMeta>,
    firsts: Vec<u64>,
) -> (kernel::Grouped, Vec<u64>) {
    match job.sessionize {
        None => (kernel::group(stored, sessions), firsts),
        Some(gap) => {
            let cut = kernel::sessionize::cut(stored, &sessions, gap);
            (kernel::group(cut.stored, cut.sessions), cut.firsts)
        }
    }
}

/// Pass `k` of `partitions` keeping events: those of the sessions of
/// partition `k` (all of them when there is one partition).
fn stored_pass(
    job: &Job<'_>,
    files: &[InputFile],
    k: u32,
    partitions: u32,
    progress: &dyn Progress,
) -> Result<(Loaded, Stored), LoadError> {
    let mut opts = job.load.clone();
    opts.partition = (partitions > 1).then_some((k, partitions));
    crate::trace::stage(&format!("pass {} of {partitions}", k + 1));
    let mut stored = Stored {
        seqs: job.sessionize.map(|_| Vec::new()),
        ..Stored::default()
    };
    let loaded = load_files(&opts, files, &mut stored, progress)?;
    Ok((loaded, stored))
}

/// What one pass's sink holds.
enum Answers {
    Running(RunningSink<()>),
    RunningDays(RunningSink<RunningDays>),
    RunningHours(RunningSink<RunningHours>),
    /// Many windows' answers, with day parts.
    Periods(PeriodsSink<RunningDays>),
    Stored(Stored),
}

impl Answers {
    /// Each window's selection of a running pass, with its parts.
    fn selections(self, sessions: &[SessionMeta]) -> Vec<Selection> {
        match self {
            Answers::Running(sink) => {
                vec![(kernel::select_running(&sink.running, sessions), Vec::new())]
            }
            Answers::RunningDays(sink) => vec![selected_parts(sink, sessions, RunningDays::take)],
            Answers::RunningHours(sink) => vec![selected_parts(sink, sessions, RunningHours::take)],
            Answers::Periods(sink) => sink
                .finish()
                .into_iter()
                .map(|answers| {
                    let mut selection = Vec::new();
                    let mut parts = Vec::new();
                    for (s, mut r) in answers {
                        if let Some(st) = r.stats(s as usize) {
                            selection.push(st);
                            parts.push(r.days.take());
                        }
                    }
                    (selection, parts)
                })
                .collect(),
            Answers::Stored(_) => unreachable!("a stored pass is selected from its groups"),
        }
    }
}

/// The selection of a running pass, and each selected session's parts (in
/// selection order).
fn selected_parts<D: kernel::DayParts>(
    sink: RunningSink<D>,
    sessions: &[SessionMeta],
    take: fn(&mut D) -> SessionParts,
) -> Selection {
    let selection = kernel::select_running(&sink.running, sessions);
    let mut running = sink.running;
    let parts = selection
        .iter()
        .map(|st| take(&mut running[st.session as usize].days))
        .collect();
    (selection, parts)
}

/// One pass over the inputs.
struct Pass {
    loaded: Loaded,
    answers: Answers,
}

/// The first pass: every session's answer (and the parts asked for) while
/// reading, for one window or many.
fn running_pass(
    job: &Job<'_>,
    files: &[InputFile],
    windows: &[Settings],
    parts: Parts,
    progress: &dyn Progress,
) -> Result<Pass, LoadError> {
    fn pass<D: kernel::DayParts>(
        job: &Job<'_>,
        files: &[InputFile],
        mut sink: RunningSink<D>,
        progress: &dyn Progress,
        answers: fn(RunningSink<D>) -> Answers,
    ) -> Result<Pass, LoadError> {
        let loaded = load_files(job.load, files, &mut sink, progress)?;
        Ok(Pass {
            loaded,
            answers: answers(sink),
        })
    }
    let days = || DayStarts::new(job.zone, job.work);
    match (windows, parts) {
        ([one], Parts::All) => pass(
            job,
            files,
            RunningSink::new(*one, days()),
            progress,
            Answers::RunningDays,
        ),
        ([one], Parts::Hours) => pass(
            job,
            files,
            RunningSink::new(*one, HourCuts::new(job.zone)),
            progress,
            Answers::RunningHours,
        ),
        ([one], Parts::None) => pass(
            job,
            files,
            RunningSink::new(*one, ()),
            progress,
            Answers::Running,
        ),
        (many, _) => {
            let mut sink = PeriodsSink::<RunningDays>::new(many.to_vec(), days());
            let loaded = load_files(job.load, files, &mut sink, progress)?;
            Ok(Pass {
                loaded,
                answers: Answers::Periods(sink),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_keep_events_within_the_limit() {
        let e = BYTES_PER_EVENT;
        assert_eq!(partitions_for(10_000_000, None, e), 1);
        assert_eq!(partitions_for(10_000_000, Some(1 << 30), e), 1);
        assert_eq!(partitions_for(300_000_000, Some(1 << 30), e), 4);
        assert_eq!(
            partitions_for(300_000_000, Some(1 << 30), BYTES_PER_FOCUSED_EVENT),
            6
        );
        assert_eq!(partitions_for(1000, Some(1), e), MAX_PARTITIONS);
        assert_eq!(partitions_for(0, Some(1), e), 1);
    }
}
