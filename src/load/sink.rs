//! The loader's one way out. Each batch's good events are pushed, in input
//! order, into an `EventSink`: the kernel keeps them (`kernel::Stored`) or
//! computes each session's answer as they come (`kernel::RunningSink`). The
//! loader knows nothing of what a sink does with them; a sink answers only
//! whether loading should go on.

use crate::model::{Focus, NO_FOCUS};
use rayon::prelude::*;

/// Per row of a batch: not an event (bad, blank, or another partition's).
pub const SKIP: u32 = u32::MAX;

/// Whether loading goes on after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The sink cannot use more events (for example, a running answer met
    /// a session whose events are out of order): loading stops.
    Stop,
}

/// One batch's good events: runs of rows, each row with its session index
/// (`< sessions`, or `SKIP`) and its packed key, in input order.
pub struct Rows<'a> {
    /// Sessions known after this batch; indices of new ones come last.
    pub sessions: usize,
    pub parts: Vec<(&'a [u32], &'a [i64])>,
    /// Per part, the input-order place (`super::seq`) of its first row.
    pub seqs: Vec<u64>,
    /// Per part, each row's foreground cells (SPEC 13.1), when the
    /// inputs have an `app` or `url` column.
    pub focus: Option<Vec<&'a [Focus]>>,
}

impl Rows<'_> {
    /// Calls `f(&mut state, &mut items[g], key, focus)` for every event, in
    /// input order per session (`focus` is `NO_FOCUS` without the columns). Sessions are split into one contiguous range per
    /// thread, each with its own `state` from `make`; returns the states.
    pub fn by_session<T: Send, S: Send>(
        &self,
        items: &mut [T],
        make: impl Fn() -> S + Sync,
        f: impl Fn(&mut S, &mut T, i64, Focus) + Sync,
    ) -> Vec<S> {
        let per_task = items.len().div_ceil(rayon::current_num_threads()).max(1);
        items
            .par_chunks_mut(per_task)
            .enumerate()
            .map(|(t, mine)| {
                let lo = (t * per_task) as u32;
                let hi = lo + mine.len() as u32;
                let mut state = make();
                for (p, (local, keys)) in self.parts.iter().enumerate() {
                    match &self.focus {
                        None => {
                            for (&g, &k) in local.iter().zip(keys.iter()) {
                                if g >= lo && g < hi {
                                    f(&mut state, &mut mine[(g - lo) as usize], k, NO_FOCUS);
                                }
                            }
                        }
                        Some(focus) => {
                            for ((&g, &k), &fg) in local.iter().zip(keys.iter()).zip(focus[p]) {
                                if g >= lo && g < hi {
                                    f(&mut state, &mut mine[(g - lo) as usize], k, fg);
                                }
                            }
                        }
                    }
                }
                state
            })
            .collect()
    }
}

/// What consumes the loaded events.
pub trait EventSink {
    fn push(&mut self, rows: &Rows<'_>) -> Flow;
}
