//! When to spread work over limbs with rayon.
//!
//! Limbs of an RNS polynomial are independent, so most operations split across them for free.
//! Below a few thousand words the rayon hand-off costs more than it saves (measured in
//! `benches/ntt.rs`), so small polynomials stay on the calling thread. [`set_parallel`] turns
//! the parallel path off globally, which is also how benchmarks measure the sequential path.

use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

static PARALLEL: AtomicBool = AtomicBool::new(true);

/// Smallest number of words (limbs x degree) that is worth splitting across threads.
pub const PARALLEL_MIN_WORDS: usize = 1 << 14;

/// Enables (the default) or disables limb-level parallelism for the whole process.
pub fn set_parallel(enabled: bool) {
    PARALLEL.store(enabled, Ordering::Relaxed);
}

/// Whether limb-level parallelism is enabled.
pub fn is_parallel() -> bool {
    PARALLEL.load(Ordering::Relaxed)
}

fn worth_it(words: usize, limbs: usize) -> bool {
    limbs > 1 && words >= PARALLEL_MIN_WORDS && is_parallel()
}

/// `len` zero words, zeroed across the threads in chunks of `n` (a limb) when that is worth
/// it, on the calling thread otherwise. A large `vec![0; len]` reuses freed memory (the
/// allocator keeps it, `ckks_scheme::allocator`), which the allocator then clears with one
/// `memset` on the calling thread: in a key switch at `N = 2^16` that was 2.7 % of all CPU
/// time at two threads, every bit of it while the other thread waited.
pub fn zeroed(len: usize, n: usize) -> Vec<u64> {
    if n == 0 || !worth_it(len, len / n) {
        return vec![0; len];
    }
    let mut v: Vec<u64> = Vec::with_capacity(len);
    v.spare_capacity_mut().par_chunks_mut(n).for_each(|c| c.fill(std::mem::MaybeUninit::new(0)));
    // SAFETY: the chunks cover the first `len` words of the capacity, and each was written.
    unsafe { v.set_len(len) };
    v
}

/// Runs `f(i, limb_i)` for every limb of the limb-major `data` (limbs of length `n`).
pub(crate) fn for_each_limb<F>(data: &mut [u64], n: usize, f: F)
where
    F: Fn(usize, &mut [u64]) + Sync + Send,
{
    if worth_it(data.len(), data.len() / n) {
        data.par_chunks_exact_mut(n).enumerate().for_each(|(i, l)| f(i, l));
    } else {
        data.chunks_exact_mut(n).enumerate().for_each(|(i, l)| f(i, l));
    }
}

/// Runs `f(i, a_i, b_i)` over the limbs of two limb-major buffers of the same shape.
pub(crate) fn for_each_limb_zip<F>(a: &mut [u64], b: &[u64], n: usize, f: F)
where
    F: Fn(usize, &mut [u64], &[u64]) + Sync + Send,
{
    debug_assert_eq!(a.len(), b.len());
    if worth_it(a.len(), a.len() / n) {
        a.par_chunks_exact_mut(n).zip(b.par_chunks_exact(n)).enumerate().for_each(|(i, (x, y))| f(i, x, y));
    } else {
        a.chunks_exact_mut(n).zip(b.chunks_exact(n)).enumerate().for_each(|(i, (x, y))| f(i, x, y));
    }
}

/// Like [`for_each_limb`], with a scratch buffer of `n` words per worker thread (allocated
/// once per thread, not once per limb: fresh large allocations cost page faults).
pub(crate) fn for_each_limb_with_scratch<F>(data: &mut [u64], n: usize, f: F)
where
    F: Fn(usize, &mut [u64], &mut [u64]) + Sync + Send,
{
    if worth_it(data.len(), data.len() / n) {
        data.par_chunks_exact_mut(n).enumerate().for_each_init(|| vec![0u64; n], |scratch, (i, l)| f(i, l, scratch));
    } else {
        let mut scratch = vec![0u64; n];
        data.chunks_exact_mut(n).enumerate().for_each(|(i, l)| f(i, l, &mut scratch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zero everywhere, whether split across threads or not, also in memory that held other
    /// values just before (the allocator reuses it), and for lengths that are not a multiple
    /// of the chunk.
    #[test]
    fn zeroed_is_zero() {
        for (len, n) in [(0, 8), (5, 0), (100, 8), (1 << 16, 1 << 12), ((1 << 16) + 7, 1 << 12), (1 << 20, 1 << 16)] {
            drop(vec![u64::MAX; len]);
            let v = zeroed(len, n);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|&x| x == 0), "len {len}, chunk {n}");
        }
    }
}
