//! `x <- (x - y) w mod q` coefficient-wise: the last step of rescaling and of ModDown, which
//! divide by a dropped modulus as `(a - [a]_{q_l}) q_l^-1` (or `P^-1`).
//!
//! A portable kernel (one Shoup product per coefficient) and AVX-512 ones (eight at a time, with
//! 52-bit products for primes below `2^50` under [`NttKernel::Avx512Ifma`]), chosen with the
//! NTT's kernel ([`NttKernel::active`]); every kernel returns the canonical residue, so their
//! words are identical (a test checks it).

use crate::{Modulus, NttKernel};

/// `x[c] <- (x[c] - y[c]) w mod q` in `[0, q)`, for `x[c] < q`, `y[c] < 4q` (lazy, as a forward
/// NTT leaves it) and `w < q` with its Shoup constant `w_shoup`. Panics if `y` is shorter than
/// `x`.
pub fn sub_scale(m: &Modulus, x: &mut [u64], y: &[u64], w: u64, w_shoup: u64) {
    sub_scale_with(NttKernel::active(), m, x, y, w, w_shoup)
}

fn sub_scale_with(kernel: NttKernel, m: &Modulus, x: &mut [u64], y: &[u64], w: u64, w_shoup: u64) {
    assert!(y.len() >= x.len(), "sub_scale: {} values of y for {} of x", y.len(), x.len());
    // The ranges every kernel assumes (the IFMA kernel reads only 52 bits of a word).
    debug_assert!(x.iter().all(|&v| v < m.value()) && y[..x.len()].iter().all(|&v| v < 4 * m.value()));
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if kernel.runs_avx512() {
        let ifma = kernel.runs_ifma() && m.value() < crate::ntt::IFMA_PRIME_BOUND;
        // SAFETY: the CPU has the kernel's features (and the prime is below 2^50 for IFMA);
        // `y` covers `x` (checked above).
        done = unsafe {
            if ifma {
                avx512::sub_scale_ifma(m, x, y, w)
            } else {
                avx512::sub_scale(m, x, y, w, w_shoup)
            }
        };
    }
    let _ = kernel;
    let four_q = 4 * m.value();
    for (a, &b) in x[done..].iter_mut().zip(&y[done..]) {
        // a + 4q - b in (0, 5q): a Shoup product takes any word.
        *a = m.mul_shoup(*a + four_q - b, w, w_shoup);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use core::arch::x86_64::*;

    use crate::avx512::{consts, ifma, load, mul_shoup_lazy, splat, store, sub_if_ge};
    use crate::Modulus;

    /// [`super::sub_scale`] on the first `len - len % 8` coefficients; returns that count.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512DQ; `y.len() >= x.len()`; values as
    /// [`super::sub_scale`] takes them.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) unsafe fn sub_scale(m: &Modulus, x: &mut [u64], y: &[u64], w: u64, w_shoup: u64) -> usize {
        let (c, w) = (consts(m.value()), splat(w, w_shoup));
        let four_q = _mm512_add_epi64(c.two_q, c.two_q);
        let simd = x.len() - x.len() % 8;
        for i in (0..simd).step_by(8) {
            // SAFETY: i + 8 <= x.len() <= y.len().
            unsafe {
                let s = _mm512_sub_epi64(_mm512_add_epi64(load(x.as_ptr().add(i)), four_q), load(y.as_ptr().add(i)));
                store(x.as_mut_ptr().add(i), sub_if_ge(mul_shoup_lazy(s, w, c), c.q));
            }
        }
        simd
    }

    /// The same with 52-bit products: `y` first brought below `2q`, so that `x + 2q - y < 3q`
    /// fits 52 bits.
    ///
    /// # Safety
    /// As [`sub_scale`], and the CPU must support AVX-512IFMA and the prime lie below `2^50`.
    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    pub(super) unsafe fn sub_scale_ifma(m: &Modulus, x: &mut [u64], y: &[u64], w: u64) -> usize {
        let c = ifma::consts(m.value());
        let w = ifma::splat(w, m.shoup52(w));
        let simd = x.len() - x.len() % 8;
        for i in (0..simd).step_by(8) {
            // SAFETY: i + 8 <= x.len() <= y.len().
            unsafe {
                let b = sub_if_ge(load(y.as_ptr().add(i)), c.two_q);
                let s = _mm512_sub_epi64(_mm512_add_epi64(load(x.as_ptr().add(i)), c.two_q), b);
                store(x.as_mut_ptr().add(i), sub_if_ge(ifma::mul_shoup_lazy(s, w, c), c.q));
            }
        }
        simd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every kernel gives `(x - y) w mod q` exactly: primes of 20 to 61 bits, `x` below `q`
        /// and `y` anywhere below `4q` (edges included), lengths not a multiple of 8.
        #[test]
        fn sub_scale_matches_the_formula(bits in 20u32..=61, n in 0usize..70, edges in any::<bool>(), seed in any::<u64>()) {
            let q = ntt_primes(bits, 64, 1, &[]).unwrap()[0];
            let m = Modulus::new(q).unwrap();
            let mut words = crate::test_words::Words::new(seed, edges);
            let x: Vec<u64> = (0..n).map(|_| words.below(q)).collect();
            let y: Vec<u64> = (0..n).map(|_| words.below(4 * q)).collect();
            let w = words.below(q);
            let want: Vec<u64> = x
                .iter()
                .zip(&y)
                .map(|(&a, &b)| ((a as u128 + 4 * q as u128 - b as u128) * w as u128 % q as u128) as u64)
                .collect();
            for kernel in [NttKernel::Portable, NttKernel::Avx512, NttKernel::Avx512Ifma] {
                let mut v = x.clone();
                sub_scale_with(kernel, &m, &mut v, &y, w, m.shoup(w));
                prop_assert_eq!(&v, &want, "kernel {:?}", kernel);
            }
        }
    }
}
