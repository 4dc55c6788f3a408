//! Progress on stderr, only when stderr is a terminal and not `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A spinner with a message and a running count of events.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let show = !quiet && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {msg} {human_pos} events",
                )
                .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    pub fn stage(&self, msg: &'static str) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        }
    }

    /// From now on counts `total` steps (for example the periods written)
    /// as a bar, with `msg`.
    pub fn steps(&self, msg: &'static str, total: u64) {
        if let Some(b) = &self.bar {
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {msg} {wide_bar} {pos}/{len}",
                )
                .expect("valid template"),
            );
            b.set_message(msg);
            b.set_position(0);
            b.set_length(total);
        }
    }

    /// One of the `steps` done.
    pub fn step(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl crate::load::Progress for Progress {
    fn file_done(&self, rows: u64) {
        if let Some(b) = &self.bar {
            b.inc(rows);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
