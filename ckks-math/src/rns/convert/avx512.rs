//! AVX-512 kernel of the fast basis conversion, chosen at run time with the NTT's kernel
//! ([`crate::NttKernel::Avx512`]).
//!
//! The portable kernel adds the `K` products `y_i (qhat_i mod p_j)` of one coefficient exactly
//! in a `u128` and reduces the sum once: one scalar 64x64-bit product per term, a port that
//! only one instruction a cycle can use. This kernel takes eight coefficients at a time and
//! reduces every term instead, by a lazy Shoup product with the precomputed
//! `floor((qhat_i mod p_j) 2^64 / p_j)`: each term lies in `[0, 2 p_j)`, four terms add up
//! below `8 p_j < 2^64`, each such sum and the running total are brought back below `2 p_j`,
//! and one last conditional subtraction gives `[0, p_j)`. Both kernels return the canonical residue of the same sum, so
//! their outputs are bit-identical (a test checks it); the centered correction `v` is the same
//! `f64` computation, lane by lane, in the same order and without fused products.

use core::arch::x86_64::*;

use super::{BasisConverter, BLOCK};
use crate::avx512::{consts, load, mul_shoup_lazy, splat, store, sub_if_ge};

/// The conversion of the coefficients `start..start + len` (`len = outs[j].len()`, a multiple
/// of 8) from `K` source primes, as [`BasisConverter::convert_segment`].
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512DQ. `K == conv.from.len() <= 15`,
/// `input.len() == K * n`, `start + len <= n`, and every `outs[j]` has length `len`.
#[target_feature(enable = "avx512f,avx512dq")]
pub(super) unsafe fn convert_segment<const K: usize>(
    conv: &BasisConverter,
    input: &[u64],
    n: usize,
    start: usize,
    outs: &mut [&mut [u64]],
    centered: bool,
) {
    let len = outs[0].len();
    assert!(K == conv.from.len() && K <= 15 && input.len() == K * n && len.is_multiple_of(8) && start + len <= n);
    assert!(outs.len() == conv.to.len() && outs.iter().all(|o| o.len() == len));
    // y_i = [x_i qhat_i^-1]_{q_i} for a block of coefficients, source-major.
    let mut y = [[0u64; BLOCK]; K];
    // v = u + [x >= Q/2] of the centered conversion, per coefficient of the block.
    let mut v = [0u64; BLOCK];
    let mut b = 0;
    while b < len {
        let w = BLOCK.min(len - b);
        for (i, (qi, &(inv, inv_s))) in conv.from.iter().zip(&conv.qhat_inv).enumerate() {
            let c = consts(qi.value());
            let wi = splat(inv, inv_s);
            let src = &input[i * n + start + b..i * n + start + b + w];
            for k in (0..w).step_by(8) {
                // SAFETY: k + 8 <= w, the length of `src` and at most that of `y[i]`.
                unsafe {
                    store(y[i].as_mut_ptr().add(k), sub_if_ge(mul_shoup_lazy(load(src.as_ptr().add(k)), wi, c), c.q))
                };
            }
        }
        if centered {
            let half = _mm512_set1_pd(0.5);
            let max = _mm512_set1_epi64(K as i64);
            for k in (0..w).step_by(8) {
                // v = round(sum_i y_i / q_i), summed from i = 0 as the portable kernel does.
                let mut f = _mm512_setzero_pd();
                for (yi, &inv) in y.iter().zip(&conv.q_inv) {
                    // SAFETY: k + 8 <= w <= BLOCK.
                    let yv = _mm512_cvtepu64_pd(unsafe { load(yi.as_ptr().add(k)) });
                    f = _mm512_add_pd(f, _mm512_mul_pd(yv, _mm512_set1_pd(inv)));
                }
                let vk = _mm512_min_epu64(_mm512_cvttpd_epu64(_mm512_add_pd(f, half)), max);
                // SAFETY: as above.
                unsafe { store(v.as_mut_ptr().add(k), vk) };
            }
        }
        for (j, (pj, out)) in conv.to.iter().zip(outs.iter_mut()).enumerate() {
            let c = consts(pj.value());
            let four_p = _mm512_set1_epi64(4 * pj.value() as i64);
            let mut ws = [splat(0, 0); K];
            for (i, wi) in ws.iter_mut().enumerate() {
                *wi = splat(conv.qhat_mod_p[j][i], conv.qhat_mod_p_shoup[j][i]);
            }
            // t Q mod p_j for t in 0..=K, the centered correction, in two registers.
            let mut table = [0u64; 16];
            if centered {
                for (t, e) in table.iter_mut().enumerate().take(K + 1) {
                    *e = pj.mul(t as u64 % pj.value(), conv.q_mod_p[j]);
                }
            }
            // SAFETY: `table` holds sixteen words.
            let (lo, hi) = unsafe { (load(table.as_ptr()), load(table.as_ptr().add(8))) };
            let out = &mut out[b..b + w];
            for k in (0..w).step_by(8) {
                // SAFETY (the loads and the store): k + 8 <= w, the length of `out`, at most BLOCK.
                // Terms in [0, 2 p_j), added four at a time (below 8 p_j < 2^64) and brought
                // back below 2 p_j: a short dependency chain instead of one per term.
                let mut acc = _mm512_setzero_si512();
                for i0 in (0..K).step_by(4) {
                    let mut s = _mm512_setzero_si512();
                    for i in i0..K.min(i0 + 4) {
                        s = _mm512_add_epi64(s, mul_shoup_lazy(unsafe { load(y[i].as_ptr().add(k)) }, ws[i], c));
                    }
                    let s = sub_if_ge(sub_if_ge(s, four_p), c.two_q);
                    acc = sub_if_ge(_mm512_add_epi64(acc, s), c.two_q);
                }
                let mut r = sub_if_ge(acc, c.q);
                if centered {
                    let vq = _mm512_permutex2var_epi64(lo, unsafe { load(v.as_ptr().add(k)) }, hi);
                    let d = _mm512_sub_epi64(r, vq);
                    r = _mm512_min_epu64(d, _mm512_add_epi64(d, c.q));
                }
                unsafe { store(out.as_mut_ptr().add(k), r) };
            }
        }
        b += w;
    }
}

#[cfg(test)]
mod tests {
    use super::super::BasisConverter;
    use crate::primes::ntt_primes;
    use crate::{Modulus, NttKernel};
    use proptest::prelude::*;

    /// `count` distinct NTT-friendly primes for degree 1024, of the given bit sizes in turn.
    fn primes(bits: &[u32], exclude: &[u64]) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        for &b in bits {
            let taken: Vec<u64> = exclude.iter().chain(&out).copied().collect();
            out.push(ntt_primes(b, 2048, 1, &taken).unwrap()[0]);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The AVX-512 kernel gives the portable kernel's words exactly, for 1 to 12 source
        /// primes of 20 to 61 bits, both conversions, inputs anywhere in `[0, q_i)` (the edges
        /// `0` and `q_i - 1` included) and windows whose length is not a multiple of 8.
        #[test]
        fn simd_conversion_matches_portable(
            from_bits in prop::collection::vec(20u32..=61, 1..=12),
            to_bits in prop::collection::vec(20u32..=61, 1..=9),
            seed in any::<u64>(),
            edges in any::<bool>(),
            start in 0usize..16,
            cut in 0usize..16,
        ) {
            if NttKernel::detected() < NttKernel::Avx512 {
                eprintln!("skipped: this CPU has no AVX-512");
                return Ok(());
            }
            let n = 1024;
            let from = primes(&from_bits, &[]);
            let to = primes(&to_bits, &from);
            let m = |v: &[u64]| v.iter().map(|&q| Modulus::new(q).unwrap()).collect::<Vec<_>>();
            let conv = BasisConverter::new(&m(&from), &m(&to)).unwrap();
            let mut words = crate::test_words::Words::new(seed, edges);
            let input: Vec<u64> = from.iter().flat_map(|&q| (0..n).map(|_| words.below(q)).collect::<Vec<_>>()).collect();
            let len = n - start - cut;
            for centered in [false, true] {
                let mut want = vec![vec![0u64; len]; to.len()];
                let mut got = want.clone();
                let mut w: Vec<&mut [u64]> = want.iter_mut().map(|o| &mut o[..]).collect();
                conv.convert_segment_with(NttKernel::Portable, &input, n, start, &mut w, centered);
                let mut g: Vec<&mut [u64]> = got.iter_mut().map(|o| &mut o[..]).collect();
                conv.convert_segment_with(NttKernel::Avx512, &input, n, start, &mut g, centered);
                prop_assert_eq!(&want, &got, "centered = {}", centered);
            }
        }
    }
}
