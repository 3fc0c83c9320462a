//! A [`Refresh`] wrapper that measures the time spent refreshing, so that the softmax time can
//! be reported without the refreshes it calls.

use crate::softmax::{Refresh, SoftmaxError};
use ckks_scheme::Ciphertext;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Forwards to `inner` and adds up the wall-clock time and the count of its refreshes.
pub(crate) struct TimedRefresh<'a> {
    inner: &'a dyn Refresh,
    time: Mutex<Duration>,
    count: AtomicUsize,
}

impl<'a> TimedRefresh<'a> {
    pub(crate) fn new(inner: &'a dyn Refresh) -> Self {
        Self { inner, time: Mutex::new(Duration::ZERO), count: AtomicUsize::new(0) }
    }

    /// Time spent refreshing so far.
    pub(crate) fn elapsed(&self) -> Duration {
        self.time.lock().map(|t| *t).unwrap_or_default()
    }
}

impl Refresh for TimedRefresh<'_> {
    fn output_level(&self) -> usize {
        self.inner.output_level()
    }

    fn refresh(&self, ct: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let start = Instant::now();
        let out = self.inner.refresh(ct);
        if let Ok(mut t) = self.time.lock() {
            *t += start.elapsed();
        }
        if out.is_ok() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        out
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}
