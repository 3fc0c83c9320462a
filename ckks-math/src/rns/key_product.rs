//! The inner products of hybrid key switching: a decomposition's digits `x_j` against a
//! switching key's pairs `(b_j, a_j)`, limb by limb.
//!
//! A portable kernel (exact `u128` sums, one Barrett reduction per output) and an AVX-512 one
//! (`key_product/avx512.rs`, eight coefficients at a time), chosen with the NTT's kernel
//! ([`crate::NttKernel::active`]); their outputs are bit-identical (a test checks it).

use crate::{Modulus, NttKernel};

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Where output coefficient `c` of an inner product reads its inputs.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// At `offset + c` (no automorphism; a block starting at `offset`).
    Offset(usize),
    /// At `perm[c]` (a block of an automorphism's NTT-domain table).
    Perm(&'a [usize]),
}

impl Source<'_> {
    /// The position coefficient `c` reads.
    #[inline(always)]
    fn at(self, c: usize) -> usize {
        match self {
            Source::Offset(offset) => offset + c,
            Source::Perm(perm) => perm[c],
        }
    }

    /// The same source for the coefficients from `c` on.
    fn skip(self, c: usize) -> Self {
        match self {
            Source::Offset(offset) => Source::Offset(offset + c),
            Source::Perm(perm) => Source::Perm(&perm[c..]),
        }
    }
}

/// A lifted component `u` and its factor `w` (`[P]_q` in key switching).
type Lift<'a> = (&'a [u64], u64);

/// The operands of one limb's inner products: `o0 = sum_j x_j b_j (+ u_0 w_0)` and
/// `o1 = sum_j x_j a_j (+ u_1 w_1)` modulo `m`, with `x_j` and the lifts `u` read where `src`
/// says and `(b_j, a_j)` at words `2j, 2j + 1` of each `stride`-word row of `key` (the packed
/// layout of `ckks_scheme`'s switching keys, one row per coefficient).
///
/// Ranges: digits lazy (`x < 4q < 2^63`, from `forward_lazy`), key words, lifts and their
/// factors `w` reduced (`< q < 2^61`), so each product is below `2^124` and 16 of them fit a
/// `u128`.
#[derive(Clone, Copy, Debug)]
pub struct KeyProduct<'a> {
    /// The limb's prime.
    pub m: &'a Modulus,
    /// The digits' limbs.
    pub xs: &'a [&'a [u64]],
    /// The key's rows for the output coefficients.
    pub key: &'a [u64],
    /// Words per key row (at least `2 xs.len()`).
    pub stride: usize,
    /// Where coefficient `c` reads the digits and lifts.
    pub src: Source<'a>,
    /// Lifted components `(u, w)` added to `o0` and `o1` (the second only with the first).
    pub lifts: [Option<Lift<'a>>; 2],
}

impl<'a> KeyProduct<'a> {
    /// Computes `o0` and `o1` (one word per key row), reduced in `[0, q)`. Up to 8 digits
    /// (every preset) the sums are unrolled for the digit count and reduced once; more digits
    /// are reduced every 16 terms. Panics if the shapes disagree (`o0`, `o1` and the key's rows,
    /// a key row narrower than the digits, a permutation shorter than the outputs).
    pub fn compute(&self, o0: &mut [u64], o1: &mut [u64]) {
        self.compute_with(NttKernel::active(), o0, o1)
    }

    /// [`KeyProduct::compute`] with the given kernel: the AVX-512 one ([`NttKernel::Avx512`], on
    /// a CPU that has it; its IFMA form under [`NttKernel::Avx512Ifma`] for primes below
    /// `2^50`) for up to 4 digits in key rows of at most 8 words (`dnum <= 4`, every preset) and
    /// the coefficients up to a multiple of 8, the portable one for the rest.
    fn compute_with(&self, kernel: NttKernel, o0: &mut [u64], o1: &mut [u64]) {
        let (n, d) = (o0.len(), self.xs.len());
        assert!(o1.len() == n && self.key.len() == n * self.stride && 2 * d <= self.stride, "key inner product shapes");
        if let Source::Perm(perm) = self.src {
            assert!(perm.len() >= n, "key inner product: {} permutation entries for {n} coefficients", perm.len());
        }
        // The ranges every kernel assumes (the IFMA kernel reads only 52 bits of a word).
        debug_assert!(
            self.xs.iter().all(|x| (0..n).all(|c| x.get(self.src.at(c)).is_none_or(|&v| v < 4 * self.m.value()))),
            "a digit at or above 4q"
        );
        debug_assert!(self.key.iter().all(|&v| v < self.m.value()), "a key word at or above q");
        #[cfg(target_arch = "x86_64")]
        if kernel.runs_avx512() && (1..=4).contains(&d) && self.stride <= 8 && n >= 8 {
            let simd = n - n % 8;
            // Every position the source names must lie within the digits and lifts: the kernel
            // reads them without bounds checks.
            let span = match self.src {
                Source::Offset(offset) => offset + simd,
                Source::Perm(perm) => perm[..simd].iter().max().map_or(0, |&i| i + 1),
            };
            assert!(
                self.xs.iter().all(|x| x.len() >= span) && self.lifts.iter().flatten().all(|(u, _)| u.len() >= span),
                "key inner product: a digit or lift shorter than the positions read"
            );
            let (h0, t0) = o0.split_at_mut(simd);
            let (h1, t1) = o1.split_at_mut(simd);
            let ifma = kernel.runs_ifma() && self.m.value() < crate::ntt::IFMA_PRIME_BOUND;
            macro_rules! simd {
                ($($d:literal)*) => {
                    match (d, self.lift_count(), ifma) {
                        // SAFETY (each arm): the CPU has AVX-512F and AVX-512DQ (and IFMA for
                        // the IFMA kernel, whose prime is below 2^50: digits below 2^52), as
                        // checked above; 1 <= D <= 4 with 2 D <= stride <= 8, the heads have
                        // `simd` words (a multiple of 8), the key has n * stride words, and
                        // every position read was checked above.
                        $(
                            ($d, Some(0), false) => unsafe { avx512::inner_product::<$d, 0>(self, h0, h1) },
                            ($d, Some(1), false) => unsafe { avx512::inner_product::<$d, 1>(self, h0, h1) },
                            ($d, Some(_), false) => unsafe { avx512::inner_product::<$d, 2>(self, h0, h1) },
                            ($d, Some(0), true) => unsafe { avx512::ifma::inner_product::<$d, 0>(self, h0, h1) },
                            ($d, Some(1), true) => unsafe { avx512::ifma::inner_product::<$d, 1>(self, h0, h1) },
                            ($d, Some(_), true) => unsafe { avx512::ifma::inner_product::<$d, 2>(self, h0, h1) },
                        )*
                        _ => return self.compute_portable(o0, o1),
                    }
                };
            }
            simd!(1 2 3 4);
            if simd < n {
                let tail = KeyProduct { key: &self.key[simd * self.stride..], src: self.src.skip(simd), ..*self };
                tail.compute_portable(t0, t1);
            }
            return;
        }
        let _ = kernel;
        self.compute_portable(o0, o1)
    }

    fn compute_portable(&self, o0: &mut [u64], o1: &mut [u64]) {
        macro_rules! fixed {
            ($($d:literal)*) => {
                match (self.xs.len(), self.lift_count()) {
                    $(
                        ($d, Some(0)) => self.fixed::<$d, 0>(o0, o1),
                        ($d, Some(1)) => self.fixed::<$d, 1>(o0, o1),
                        ($d, Some(_)) => self.fixed::<$d, 2>(o0, o1),
                    )*
                    _ => self.any(o0, o1),
                }
            };
        }
        fixed!(1 2 3 4 5 6 7 8)
    }

    /// The lifts as the fixed kernels take them: `Some(0)`, `Some(1)` (`o0`'s) or `Some(2)`
    /// (both), and `None` for `o1`'s alone, which only the general kernel handles.
    fn lift_count(&self) -> Option<usize> {
        match self.lifts {
            [None, None] => Some(0),
            [Some(_), None] => Some(1),
            [Some(_), Some(_)] => Some(2),
            [None, Some(_)] => None,
        }
    }

    /// The digits as an array of `D`, and the lifts with `(&[], 0)` for the absent ones.
    fn fixed_operands<const D: usize>(&self) -> (&'a [&'a [u64]; D], [Lift<'a>; 2]) {
        (self.xs.try_into().expect("digit count"), self.lifts.map(|l| l.unwrap_or((&[], 0))))
    }

    /// The portable kernel for `D` digits and `LIFTS` lifted components (0, 1: `o0`, 2: both):
    /// the lift `(u, w)` adds `u[src] w` to the sum, one more product below `2^122`.
    fn fixed<const D: usize, const LIFTS: usize>(&self, o0: &mut [u64], o1: &mut [u64]) {
        let (m, src) = (self.m, self.src);
        let (xs, [(u0, w0), (u1, w1)]) = self.fixed_operands::<D>();
        let groups = self.key.chunks_exact(self.stride).zip(o0.iter_mut().zip(o1.iter_mut()));
        let sum = |g: &[u64], src: usize| {
            // `xs` has the constant length D here, so the digit loop unrolls.
            let (mut s0, mut s1) = digit_sums(xs, g, src);
            if LIFTS >= 1 {
                s0 += u0[src] as u128 * w0 as u128;
            }
            if LIFTS >= 2 {
                s1 += u1[src] as u128 * w1 as u128;
            }
            (m.reduce_u128(s0), m.reduce_u128(s1))
        };
        match src {
            Source::Offset(offset) => groups.enumerate().for_each(|(c, (g, (r0, r1)))| (*r0, *r1) = sum(g, offset + c)),
            Source::Perm(perm) => groups.zip(perm).for_each(|((g, (r0, r1)), &src)| (*r0, *r1) = sum(g, src)),
        }
    }

    /// The portable kernel for any digit count: partial sums reduced every 16 digits.
    fn any(&self, o0: &mut [u64], o1: &mut [u64]) {
        const CHUNK: usize = 16;
        let (m, xs, key, stride, src) = (self.m, self.xs, self.key, self.stride, self.src);
        for start in (0..xs.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(xs.len());
            for c in 0..o0.len() {
                let g = &key[c * stride + 2 * start..(c + 1) * stride];
                let (s0, s1) = digit_sums(&xs[start..end], g, src.at(c));
                let (r0, r1) = (m.reduce_u128(s0), m.reduce_u128(s1));
                if start == 0 {
                    o0[c] = r0;
                    o1[c] = r1;
                } else {
                    o0[c] = m.add(o0[c], r0);
                    o1[c] = m.add(o1[c], r1);
                }
            }
        }
        for ((u, w), o) in self.lifts.into_iter().zip([o0, o1]).filter_map(|(l, o)| l.map(|l| (l, o))) {
            let ws = m.shoup(w);
            for (c, x) in o.iter_mut().enumerate() {
                *x = m.add(*x, m.mul_shoup(u[src.at(c)], w, ws));
            }
        }
    }
}

/// `(sum_j x_j[src] g[2j], sum_j x_j[src] g[2j + 1])` over the digits `xs`, unreduced (at most
/// 16 digits: each product is below `2^124`).
#[inline(always)]
fn digit_sums(xs: &[&[u64]], g: &[u64], src: usize) -> (u128, u128) {
    let (mut s0, mut s1) = (0u128, 0u128);
    for j in 0..xs.len() {
        let x = xs[j][src] as u128;
        s0 += x * g[2 * j] as u128;
        s1 += x * g[2 * j + 1] as u128;
    }
    (s0, s1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The AVX-512 kernels give the portable kernel's words exactly: 1 to 10 digits (above
        /// 4, or with key rows wider than 8 words, all run the portable code), every pattern
        /// of lifts, primes of 20 to 61 bits (IFMA below 50), digits anywhere in `[0, 4q)` and key words in
        /// `[0, q)` (edges included), both sources, key rows of 8 words and others, and lengths
        /// that are not a multiple of 8.
        #[test]
        fn simd_key_product_matches_portable(
            bits in 20u32..=61,
            digits in 1usize..=10,
            pad in 0usize..3,
            rows_of_8 in any::<bool>(),
            lift_mode in 0usize..=3,
            n in 1usize..80,
            offset in 0usize..9,
            perm in any::<bool>(),
            edges in any::<bool>(),
            seed in any::<u64>(),
        ) {
            if NttKernel::detected() < NttKernel::Avx512 {
                eprintln!("skipped: this CPU has no AVX-512");
                return Ok(());
            }
            let q = ntt_primes(bits, 64, 1, &[]).unwrap()[0];
            let m = Modulus::new(q).unwrap();
            let mut words = crate::test_words::Words::new(seed, edges);
            let mut next = |bound: u64| words.below(bound);
            let len = n + offset;
            let xs: Vec<Vec<u64>> = (0..digits).map(|_| (0..len).map(|_| next(4 * q)).collect()).collect();
            // The presets' layout (4 digits: rows of 8 words) as well as narrower and wider rows.
            let stride = if rows_of_8 { (2 * digits).max(8) } else { 2 * digits + pad };
            let key: Vec<u64> = (0..n * stride).map(|_| next(q)).collect();
            let us: Vec<Vec<u64>> = (0..2).map(|_| (0..len).map(|_| next(q)).collect()).collect();
            let ws = [next(q), next(q)];
            let table: Vec<usize> = (0..n).map(|c| (c * 7 + 3) % len).collect();
            let src = if perm { Source::Perm(&table) } else { Source::Offset(offset) };
            let x_refs: Vec<&[u64]> = xs.iter().map(|x| &x[..]).collect();
            // Lifts on neither output, on o0, on both, or on o1 alone (the general kernel's case).
            let on = [[false, false], [true, false], [true, true], [false, true]][lift_mode];
            let lifts: [Option<(&[u64], u64)>; 2] = core::array::from_fn(|i| on[i].then(|| (&us[i][..], ws[i])));
            let (mut p0, mut p1, mut v0, mut v1) = (vec![0; n], vec![0; n], vec![0; n], vec![0; n]);
            let product = KeyProduct { m: &m, xs: &x_refs, key: &key, stride, src, lifts };
            product.compute_with(NttKernel::Portable, &mut p0, &mut p1);
            product.compute_with(NttKernel::Avx512, &mut v0, &mut v1);
            prop_assert_eq!((&p0, &p1), (&v0, &v1));
            if NttKernel::detected() >= NttKernel::Avx512Ifma {
                product.compute_with(NttKernel::Avx512Ifma, &mut v0, &mut v1);
                prop_assert_eq!((&p0, &p1), (&v0, &v1), "IFMA");
            }
            // And both are the sums themselves.
            for c in 0..n {
                let at = if perm { table[c] } else { offset + c };
                let dot = |k: usize, lift: Option<(&[u64], u64)>| {
                    let mut acc = (0..digits).fold(0u128, |a, j| (a + xs[j][at] as u128 * key[c * stride + 2 * j + k] as u128) % q as u128);
                    if let Some((u, w)) = lift {
                        acc = (acc + u[at] as u128 * w as u128) % q as u128;
                    }
                    acc as u64
                };
                prop_assert_eq!((p0[c], p1[c]), (dot(0, lifts[0]), dot(1, lifts[1])));
            }
        }
    }
}
