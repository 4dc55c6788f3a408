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
use crate::model::SessionMeta;
use crate::registry::{goods, FinalIds, Good};
use crate::request::Request;
use crate::rollup::hours::{hour_parts, HourCuts, RunningHours};
use crate::rollup::{day_parts, DayStarts, RunningDays, SessionParts};
use crate::time::Micros;

/// Memory held per event while a partition is loaded: its 8-byte key plus
/// the slack of growing vectors.
pub const BYTES_PER_EVENT: u64 = 12;

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

/// How many partitions keep the events of one within `limit` bytes.
pub fn partitions_for(rows: u64, limit: Option<u64>) -> u32 {
    match limit {
        None => 1,
        Some(limit) => {
            let need = rows.saturating_mul(BYTES_PER_EVENT);
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

/// Runs the load and kernel for one request; `parts` says which rollup parts
/// to add. With `keep`, only the first `keep` sessions
/// of the selection are returned (all are counted in `total`): a page needs
/// no more, and over several passes the others need not be held.
pub fn run(
    job: &Job<'_>,
    request: &Request,
    parts: Parts,
    keep: Option<usize>,
    progress: &dyn Progress,
) -> Result<Outcome, LoadError> {
    let files = job.files.to_vec();
    // Parts are kept for every selected session; `keep` only serves pages.
    assert!(
        parts == Parts::None || keep.is_none(),
        "rollup parts are for whole selections"
    );
    let settings = job.settings(request);
    // With keys, ids (and so the order among sessions that start together)
    // are final only once every pass is done: no pass may cut the selection.
    let keyed = job.load.id_keys.any();
    let pass_keep = if keyed { None } else { keep };
    let mut good: Vec<Good> = Vec::new();
    // A time-ordered log needs no stored events: one pass computes each
    // session's answer (and day parts) as it is read, whatever the memory
    // limit, since it holds no events. A log whose sessions arrive out of
    // order is read again, keeping events, in the passes the limit allows.
    crate::trace::stage("one pass, sessions computed while reading");
    let mut streamed = if job.sessionize.is_some() {
        // Sessions are cut from each user and client's sorted events.
        None
    } else {
        Some(match parts {
            Parts::All => running_pass::<RunningDays>(
                job,
                &files,
                settings,
                DayStarts::new(job.zone, job.work),
                progress,
            )?,
            Parts::Hours => running_pass::<RunningHours>(
                job,
                &files,
                settings,
                HourCuts::new(job.zone),
                progress,
            )?,
            Parts::None => running_pass::<()>(job, &files, settings, (), progress)?,
        })
    };
    if streamed.as_ref().is_some_and(|p| p.loaded.stopped) {
        crate::trace::stage("events out of order: reading again, keeping events");
        streamed = None;
    }
    let partitions = match streamed {
        Some(_) => 1,
        None => partitions_for(estimated_rows(&files, &job.load.map), job.memory_limit),
    };
    let mut out = Outcome {
        partitions,
        ..Outcome::default()
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
            rows_read,
            blank_rows,
            stale_chunks,
            rejected,
            over_limit,
            ..
        } = pass.loaded;
        out.rows_read += rows_read;
        out.blank_rows += blank_rows;
        out.stale_chunks += stale_chunks;
        out.rejected.extend(rejected);
        if over_limit {
            continue; // this pass fails the run; later passes may hold earlier bad rows
        }
        if k + 1 == partitions {
            // No more loading: what the load freed goes back to the system,
            // and so will what selecting and writing free.
            crate::alloc::release_if_near(job.memory_limit);
        }
        crate::trace::stage("loaded");
        let (selection, sessions) = match pass.answers {
            Answers::Running(sink) => (kernel::select_running(&sink.running, &sessions), sessions),
            Answers::RunningDays(sink) => (
                selected_parts(sink, &sessions, &mut out.parts, RunningDays::take),
                sessions,
            ),
            Answers::RunningHours(sink) => (
                selected_parts(sink, &sessions, &mut out.parts, RunningHours::take),
                sessions,
            ),
            Answers::Stored(stored) => {
                let (grouped, cut) = grouped(job, stored, sessions, firsts);
                firsts = cut;
                let selection = kernel::select(&grouped, &settings);
                match parts {
                    Parts::All => out.parts.append(&mut day_parts(
                        &grouped,
                        &selection,
                        &job.zone,
                        &job.work,
                        job.idle_after,
                    )),
                    Parts::Hours => out.parts.append(&mut hour_parts(
                        &grouped,
                        &selection,
                        &job.zone,
                        job.idle_after,
                    )),
                    Parts::None => {}
                }
                (selection, grouped.sessions)
            }
        };
        crate::trace::stage("selection made");
        if keyed {
            good.extend(goods(&sessions, &firsts));
        }
        out.total += selection.len();
        if keep.is_none() && out.metas.is_empty() && selection.len() * 2 >= sessions.len() {
            // Most sessions are selected: keep their attributes where they
            // are (the selection indexes them) instead of moving each.
            out.metas = sessions;
            out.stats = selection;
        } else {
            // The selection is in the endpoint's order: past the first `keep`
            // of this pass, none can be among the first `keep` of all passes.
            let mut sessions = sessions;
            for mut st in selection.into_iter().take(pass_keep.unwrap_or(usize::MAX)) {
                let meta = std::mem::take(&mut sessions[st.session as usize]);
                st.session = out.metas.len() as u32;
                out.metas.push(meta);
                out.stats.push(st);
            }
        }
        // A later pass can only move a session back in the order, so past
        // the first `keep` nothing comes back into view.
        if let Some(keep) = pass_keep.filter(|&k| out.stats.len() > k) {
            order(&mut out, keep);
        }
    }
    // Bad rows of all passes in input order: the first ones over the limit fail the run.
    out.rejected.sort_by_key(|r| r.seq);
    if let Some(e) = Loaded::limit_error(&out.rejected, job.load.max_bad_rows) {
        return Err(e);
    }
    if keyed {
        out.ids = Some(final_ids(job, good, out.metas.iter_mut())?);
    }
    if partitions > 1 || keep.is_some() || keyed {
        order(&mut out, keep.unwrap_or(usize::MAX));
    }
    out.files = files;
    Ok(out)
}

/// A backfill's run (SPEC 7.5): the inputs read once (or once per memory
/// partition) for every window of `windows` (consecutive, ascending), one
/// `Outcome` per window, each what `run` gives for that window alone with
/// day parts. Rejected rows are returned once, beside them, and not kept
/// in the outcomes; the whole input's counts are in each.
pub fn run_periods(
    job: &Job<'_>,
    windows: &[(Micros, Micros)],
    progress: &dyn Progress,
) -> Result<(Vec<Outcome>, Vec<BadRow>), LoadError> {
    let files = job.files.to_vec();
    let settings: Vec<Settings> = windows
        .iter()
        .map(|&(start, end)| Settings {
            start: Some(start),
            end: Some(end),
            idle_after: job.idle_after,
        })
        .collect();
    let mut outs: Vec<Outcome> = windows.iter().map(|_| Outcome::default()).collect();
    let mut rejected = Vec::new();
    let (mut rows_read, mut blank_rows, mut stale_chunks) = (0, 0, 0);
    let keyed = job.load.id_keys.any();
    let mut good: Vec<Good> = Vec::new();
    crate::trace::stage("one pass, every period's sessions computed while reading");
    let mut sink =
        PeriodsSink::<RunningDays>::new(settings.clone(), DayStarts::new(job.zone, job.work));
    let loaded = if job.sessionize.is_some() {
        // Sessions are cut from each user and client's sorted events.
        Loaded {
            stopped: true,
            ..Loaded::default()
        }
    } else {
        load_files(&job.load, &files, &mut sink, progress)?
    };
    crate::trace::stage("loaded");
    let partitions = if !loaded.stopped {
        if keyed {
            good = goods(&loaded.sessions, &loaded.firsts);
        }
        (rows_read, blank_rows, stale_chunks) =
            (loaded.rows_read, loaded.blank_rows, loaded.stale_chunks);
        rejected = loaded.rejected;
        if !loaded.over_limit {
            for (out, answers) in outs.iter_mut().zip(sink.finish()) {
                for (s, mut r) in answers {
                    let Some(mut st) = r.stats(s as usize) else {
                        continue;
                    };
                    st.session = out.metas.len() as u32;
                    out.metas.push(loaded.sessions[s as usize].clone());
                    out.stats.push(st);
                    out.parts.push(r.days.take());
                }
            }
        }
        1
    } else {
        crate::trace::stage("events out of order: reading again, keeping events");
        drop(sink);
        let partitions = partitions_for(estimated_rows(&files, &job.load.map), job.memory_limit);
        for k in 0..partitions {
            let (loaded, stored) = stored_pass(job, &files, k, partitions, progress)?;
            rows_read += loaded.rows_read;
            blank_rows += loaded.blank_rows;
            stale_chunks += loaded.stale_chunks;
            rejected.extend(loaded.rejected);
            if loaded.over_limit {
                continue; // this pass fails the run; later passes may hold earlier bad rows
            }
            let (grouped, firsts) = grouped(job, stored, loaded.sessions, loaded.firsts);
            if keyed {
                good.extend(goods(&grouped.sessions, &firsts));
            }
            let selections = kernel::select_each(&grouped, &settings);
            for (out, selection) in outs.iter_mut().zip(selections) {
                out.parts.extend(day_parts(
                    &grouped,
                    &selection,
                    &job.zone,
                    &job.work,
                    job.idle_after,
                ));
                for mut st in selection {
                    let meta = grouped.sessions[st.session as usize].clone();
                    st.session = out.metas.len() as u32;
                    out.metas.push(meta);
                    out.stats.push(st);
                }
            }
        }
        partitions
    };
    crate::trace::stage("periods selected");
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
    for out in &mut outs {
        out.ids = ids.clone();
        order(out, usize::MAX);
        out.total = out.stats.len();
        out.rows_read = rows_read;
        out.blank_rows = blank_rows;
        out.stale_chunks = stale_chunks;
        out.partitions = partitions;
        out.files = files.clone();
    }
    crate::trace::stage("periods ordered");
    Ok((outs, rejected))
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
    Stored(Stored),
}

/// The selection of a running pass, each selected session's parts taken
/// (in selection order) into `parts`.
fn selected_parts<D: kernel::DayParts>(
    sink: RunningSink<D>,
    sessions: &[SessionMeta],
    parts: &mut Vec<SessionParts>,
    take: fn(&mut D) -> SessionParts,
) -> Vec<SessionStats> {
    let selection = kernel::select_running(&sink.running, sessions);
    let mut running = sink.running;
    parts.extend(
        selection
            .iter()
            .map(|st| take(&mut running[st.session as usize].days)),
    );
    selection
}

/// One pass over the inputs.
struct Pass {
    loaded: Loaded,
    answers: Answers,
}

/// The first pass: every session's answer (with `D`, its day parts) while reading.
fn running_pass<D: kernel::DayParts>(
    job: &Job<'_>,
    files: &[InputFile],
    settings: Settings,
    starts: D::Starts,
    progress: &dyn Progress,
) -> Result<Pass, LoadError>
where
    Answers: From<RunningSink<D>>,
{
    let mut sink = RunningSink::<D>::new(settings, starts);
    let loaded = load_files(&job.load, files, &mut sink, progress)?;
    Ok(Pass {
        loaded,
        answers: sink.into(),
    })
}

impl From<RunningSink<()>> for Answers {
    fn from(s: RunningSink<()>) -> Self {
        Answers::Running(s)
    }
}

impl From<RunningSink<RunningDays>> for Answers {
    fn from(s: RunningSink<RunningDays>) -> Self {
        Answers::RunningDays(s)
    }
}

impl From<RunningSink<RunningHours>> for Answers {
    fn from(s: RunningSink<RunningHours>) -> Self {
        Answers::RunningHours(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_keep_events_within_the_limit() {
        assert_eq!(partitions_for(10_000_000, None), 1);
        assert_eq!(partitions_for(10_000_000, Some(1 << 30)), 1);
        assert_eq!(partitions_for(300_000_000, Some(1 << 30)), 4);
        assert_eq!(partitions_for(1000, Some(1)), MAX_PARTITIONS);
        assert_eq!(partitions_for(0, Some(1)), 1);
    }
}
