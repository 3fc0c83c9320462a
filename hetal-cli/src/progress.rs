//! Progress bars on stderr (indicatif), drawn only on a terminal and never with `--quiet` or
//! `--json`, so that logs and pipes stay clean.

use crate::global::Global;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// A progress bar or spinner, or nothing when progress is off.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar of `len` units with ETA.
    pub fn bar(g: &Global, len: u64, what: &str) -> Self {
        if !g.progress() {
            return Self(None);
        }
        let pb = ProgressBar::new(len);
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed}, ETA {eta})")
            .expect("a valid template")
            .progress_chars("=> ");
        pb.set_style(style);
        pb.set_prefix(what.to_string());
        Self(Some(pb))
    }

    /// A spinner for work of unknown length.
    pub fn spinner(g: &Global, what: &str) -> Self {
        if !g.progress() {
            return Self(None);
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"));
        pb.set_message(what.to_string());
        pb.enable_steady_tick(Duration::from_millis(200));
        Self(Some(pb))
    }

    /// Sets the message.
    pub fn message(&self, msg: String) {
        if let Some(pb) = &self.0 {
            pb.set_message(msg);
        }
    }

    /// Sets the position.
    pub fn set(&self, pos: u64) {
        if let Some(pb) = &self.0 {
            pb.set_position(pos);
        }
    }

    /// Sets the length (work whose size is known only once it starts).
    pub fn set_length(&self, len: u64) {
        if let Some(pb) = &self.0 {
            pb.set_length(len);
        }
    }

    /// Advances by one.
    pub fn inc(&self) {
        if let Some(pb) = &self.0 {
            pb.inc(1);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
