//! Fitted polynomials kept for the process, by key: an approximation is built for every setup,
//! job and test, and its fits take milliseconds (normalize-and-square's plans) to tens of
//! milliseconds (the logistic softmax's interpolant of degree 1023).

use super::SoftmaxError;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A process-wide cache of fitted values by key (a `static`, `OnceLock::new()`).
pub(super) type Memo<K, V> = OnceLock<Mutex<BTreeMap<K, Arc<V>>>>;

/// The value of `key` in `memo`, computed by `fit` on first use. The fit runs outside the lock,
/// so other keys are not held up; a concurrent fit of the same key computes the same value, and
/// the first one stored is kept.
pub(super) fn memoized<K: Ord, V>(
    memo: &Memo<K, V>,
    key: K,
    fit: impl FnOnce() -> Result<V, SoftmaxError>,
) -> Result<Arc<V>, SoftmaxError> {
    let cache = memo.get_or_init(Default::default);
    let poisoned = || SoftmaxError::Config { reason: "a cache of fitted polynomials is poisoned".into() };
    if let Some(v) = cache.lock().map_err(|_| poisoned())?.get(&key) {
        return Ok(v.clone());
    }
    let v = Arc::new(fit()?);
    Ok(cache.lock().map_err(|_| poisoned())?.entry(key).or_insert(v).clone())
}
