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

    /// `f` (one refresh), timed and counted when it succeeds.
    fn timed<T>(&self, f: impl FnOnce() -> Result<T, SoftmaxError>) -> Result<T, SoftmaxError> {
        let start = Instant::now();
        let out = f();
        if let Ok(mut t) = self.time.lock() {
            *t += start.elapsed();
        }
        if out.is_ok() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        out
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

    fn input_level(&self) -> usize {
        self.inner.input_level()
    }

    fn refresh(&self, ct: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        self.timed(|| self.inner.refresh(ct))
    }

    fn refresh_pair(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext), SoftmaxError> {
        self.timed(|| self.inner.refresh_pair(a, b))
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}
