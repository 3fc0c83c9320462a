//! Sums of products with shared factors, two components at a time: `o0 += sum_k y0_k w_k` and
//! `o1 += sum_k y1_k w_k` coefficient-wise modulo a prime. The diagonal sums of a hoisted
//! linear transform (`sum_b rot_b(ct) ⊙ diag_b`, both components of each rotation times one
//! diagonal) are this.
//!
//! Each output coefficient's sum is kept exact (in a `u128`, or in the AVX-512 kernel's three
//! 64-bit columns, `product_sums/avx512.rs`) over up to [`MAX_TERMS`] terms and reduced once,
//! in registers: no accumulator goes through memory between terms. Both kernels return the
//! canonical residue of the same exact sums, so their words are identical (a test checks it).

use crate::{Modulus, NttKernel};

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Terms summed before one reduction: factors below `2^61` make each product below `2^122`, and
/// 32 of them fit a `u128` (and the AVX-512 kernel's columns).
pub const MAX_TERMS: usize = 32;

/// The factor `w` of a term, coefficient by coefficient.
#[derive(Clone, Copy, Debug)]
pub enum Factor<'a> {
    /// `w[c]`.
    Dense(&'a [u64]),
    /// `values[index[c]]`: a factor stored once per cycle of a periodic pattern.
    Indexed {
        /// One value per cycle.
        values: &'a [u64],
        /// The cycle of each coefficient.
        index: &'a [u16],
    },
    /// The same `w` at every coefficient (a constant's residue: linear combinations of
    /// ciphertexts).
    Constant(u64),
}

impl Factor<'_> {
    /// `w[c]` (the tests' reference).
    #[cfg(test)]
    fn at(&self, c: usize) -> u64 {
        match self {
            Factor::Dense(w) => w[c],
            Factor::Indexed { values, index } => values[usize::from(index[c])],
            Factor::Constant(w) => *w,
        }
    }

    /// The coefficients the factor covers (any count for a constant).
    fn len(&self) -> usize {
        match self {
            Factor::Dense(w) => w.len(),
            Factor::Indexed { index, .. } => index.len(),
            Factor::Constant(_) => usize::MAX,
        }
    }
}

/// One term `(y0, y1) w` of [`add_product_sums`].
#[derive(Clone, Copy, Debug)]
pub struct Term<'a> {
    /// The first component's values.
    pub y0: &'a [u64],
    /// The second component's values.
    pub y1: &'a [u64],
    /// Their shared factor.
    pub w: Factor<'a>,
}

/// `o0[c] += sum_k y0_k[c] w_k[c]` and `o1[c] += sum_k y1_k[c] w_k[c]` modulo `m`, for every
/// coefficient `c` of the outputs. Values: `y`, `w` and the outputs reduced (below `m < 2^61`);
/// outputs reduced. Any number of terms (reduced every [`MAX_TERMS`]). Cost: `2 k` word
/// products and 2 reductions per coefficient for `k` terms.
///
/// Panics if a term's slices are shorter than the outputs, or the outputs differ in length.
pub fn add_product_sums(m: &Modulus, terms: &[Term<'_>], o0: &mut [u64], o1: &mut [u64]) {
    add_product_sums_with(NttKernel::active(), m, terms, o0, o1)
}

fn add_product_sums_with(kernel: NttKernel, m: &Modulus, terms: &[Term<'_>], o0: &mut [u64], o1: &mut [u64]) {
    let n = o0.len();
    assert_eq!(o1.len(), n, "product sums: outputs of different lengths");
    for t in terms {
        assert!(t.y0.len() >= n && t.y1.len() >= n && t.w.len() >= n, "product sums: a term shorter than the outputs");
        if let Factor::Indexed { values, index } = t.w {
            // The AVX-512 kernel gathers without bounds checks.
            let count = values.len();
            assert!(index[..n].iter().all(|&i| usize::from(i) < count), "product sums: a cycle index past its values");
        }
    }
    // The ranges every kernel assumes (the IFMA kernel reads only 52 bits of a word).
    debug_assert!(
        terms.iter().all(|t| t.y0[..n].iter().chain(&t.y1[..n]).all(|&v| v < m.value())),
        "a term's value at or above the prime"
    );
    for chunk in terms.chunks(MAX_TERMS) {
        #[allow(unused_mut)]
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if kernel.runs_ifma() && m.value() < crate::ntt::IFMA_PRIME_BOUND {
            // SAFETY: the CPU has AVX-512F, AVX-512DQ and IFMA, the prime is below 2^50; every
            // term covers the outputs and every cycle index is within its values (checked
            // above); at most MAX_TERMS terms.
            done = unsafe { avx512::ifma::add_product_sums(m, chunk, o0, o1) };
        } else if kernel.runs_avx512() {
            // SAFETY: the CPU has AVX-512F and AVX-512DQ; as above otherwise.
            done = unsafe { avx512::add_product_sums(m, chunk, o0, o1) };
        }
        let _ = kernel;
        add_portable(m, chunk, done, o0, o1);
    }
}

/// The portable kernel on the coefficients from `start`: term by term over runs of
/// [`PORTABLE_RUN`] coefficients into `u128` sums on the stack (each term's slices read as one
/// stream, the loop free of per-coefficient dispatch), then one reduction per sum.
fn add_portable(m: &Modulus, terms: &[Term<'_>], start: usize, o0: &mut [u64], o1: &mut [u64]) {
    let n = o0.len();
    let mut acc = [(0u128, 0u128); PORTABLE_RUN];
    for lo in (start..n).step_by(PORTABLE_RUN) {
        let hi = (lo + PORTABLE_RUN).min(n);
        let acc = &mut acc[..hi - lo];
        acc.fill((0, 0));
        for t in terms {
            let (y0, y1) = (&t.y0[lo..hi], &t.y1[lo..hi]);
            match t.w {
                Factor::Dense(w) => multiply_accumulate(acc, y0, y1, w[lo..hi].iter().copied()),
                Factor::Indexed { values, index } => {
                    multiply_accumulate(acc, y0, y1, index[lo..hi].iter().map(|&i| values[usize::from(i)]))
                }
                Factor::Constant(w) => multiply_accumulate(acc, y0, y1, std::iter::repeat(w)),
            }
        }
        for ((s0, s1), c) in acc.iter().zip(lo..hi) {
            o0[c] = m.add(o0[c], m.reduce_u128(*s0));
            o1[c] = m.add(o1[c], m.reduce_u128(*s1));
        }
    }
}

/// Coefficients the portable kernel sums together: 4 KB of `u128` pairs, in L1.
const PORTABLE_RUN: usize = 128;

/// `acc[c] += (y0[c] w_c, y1[c] w_c)`.
#[inline(always)]
fn multiply_accumulate(acc: &mut [(u128, u128)], y0: &[u64], y1: &[u64], w: impl Iterator<Item = u64>) {
    for (((s0, s1), (&u0, &u1)), wc) in acc.iter_mut().zip(y0.iter().zip(y1)).zip(w) {
        *s0 += u0 as u128 * wc as u128;
        *s1 += u1 as u128 * wc as u128;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The AVX-512 kernel gives the portable kernel's words, and both give the sums: 0 to 40
        /// terms (past one reduction), dense, indexed and constant factors, primes of 20 to 61 bits,
        /// values anywhere below the prime (edges included), lengths not a multiple of 8.
        #[test]
        fn product_sums_match_the_sums(
            bits in 20u32..=61,
            count in 0usize..=40,
            n in 1usize..70,
            edges in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let q = ntt_primes(bits, 64, 1, &[]).unwrap()[0];
            let m = Modulus::new(q).unwrap();
            let mut words = crate::test_words::Words::new(seed, edges);
            let mut next = |bound: u64| words.below(bound);
            let ys: Vec<[Vec<u64>; 2]> = (0..count).map(|_| [0, 1].map(|_| (0..n).map(|_| next(q)).collect())).collect();
            let ws: Vec<Vec<u64>> = (0..count).map(|_| (0..n).map(|_| next(q)).collect()).collect();
            let cycles: Vec<u16> = (0..n).map(|c| (c % 5) as u16).collect();
            let terms: Vec<Term<'_>> = ys
                .iter()
                .zip(&ws)
                .enumerate()
                .map(|(k, (y, w))| Term {
                    y0: &y[0],
                    y1: &y[1],
                    w: match k % 4 {
                        2 => Factor::Indexed { values: &w[..5.min(n)], index: &cycles },
                        3 => Factor::Constant(w[0]),
                        _ => Factor::Dense(w),
                    },
                })
                .collect();
            let start: [Vec<u64>; 2] = [0, 1].map(|_| (0..n).map(|_| next(q)).collect());
            let mut want = start.clone();
            for c in 0..n {
                for (i, o) in want.iter_mut().enumerate() {
                    let sum = terms.iter().fold(o[c] as u128, |a, t| {
                        let y = if i == 0 { t.y0[c] } else { t.y1[c] };
                        (a + y as u128 * t.w.at(c) as u128) % q as u128
                    });
                    o[c] = sum as u64;
                }
            }
            for kernel in [NttKernel::Portable, NttKernel::Avx512, NttKernel::Avx512Ifma] {
                let [mut o0, mut o1] = start.clone();
                add_product_sums_with(kernel, &m, &terms, &mut o0, &mut o1);
                prop_assert_eq!((&o0, &o1), (&want[0], &want[1]), "kernel {:?}", kernel);
            }
        }
    }
}
