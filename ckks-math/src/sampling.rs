//! Randomness for RNS-CKKS: uniform residues, ternary secrets and discrete Gaussian errors.
//!
//! Every sampler draws from one ChaCha20 stream ([`Sampler`]). The stream is seeded either from
//! the operating system ([`Sampler::from_entropy`]) or from a 32-byte seed
//! ([`Sampler::from_seed`]); with a seed the output is fully reproducible, which is what
//! compressed keys and ciphertexts rely on: the uniform half `a` of a public key or a
//! ciphertext is sent as its seed and re-expanded with [`expand_uniform`].
//!
//! # Distributions
//! - [`Sampler::uniform_rns`]: uniform in `[0, q_i)` for each prime, by rejection sampling, so
//!   there is no modulo bias.
//! - [`Sampler::ternary`]: each coefficient in `{-1, 0, 1}` with probability exactly `1/3`.
//! - [`Sampler::ternary_hamming`]: exactly `h` nonzero coefficients in `{-1, 1}`, at uniformly
//!   chosen positions (the sparse secrets of bootstrappable parameters).
//! - [`Sampler::gaussian`]: the discrete Gaussian `D_{Z, sigma}` (weight `exp(-x^2 / (2 sigma^2))`)
//!   cut at `|x| <= floor(6 sigma)`; [`SIGMA`] is the standard `3.2`.
//!
//! # What this module does not promise
//! - **Not constant-time.** Rejection loops run a data-dependent number of times, the Gaussian
//!   calls `exp` on the candidate, and the Hamming-weight sampler writes to secret positions.
//!   That is the usual trade-off of research libraries; it leaks timing about secrets and
//!   errors to a local attacker who can measure it.
//! - **Sequential.** A CSPRNG stream is inherently sequential, and keeping one stream keeps the
//!   output a function of the seed alone (no dependence on thread count). Sampling costs
//!   `O(n)` per polynomial and is small next to the NTTs that follow it.
//! - **Format stability.** The exact way the stream is consumed (documented on each method) is
//!   part of the serialized format of seeded objects: changing it breaks [`expand_uniform`] for
//!   existing seeds. The known-answer tests below pin it.

use std::fmt;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::{MathError, Modulus};

/// Standard deviation of the error distribution, as in the Homomorphic Encryption Standard.
pub const SIGMA: f64 = 3.2;

/// The Gaussian sampler never returns a value with `|x| > floor(GAUSSIAN_BOUND_SIGMAS * sigma)`.
///
/// The mass cut away at 6 sigma is about `2e-9`, so the output is statistically indistinguishable
/// from the untruncated distribution at the sample counts CKKS uses, and noise analyses may rely
/// on the hard bound `floor(6 * 3.2) = 19`.
pub const GAUSSIAN_BOUND_SIGMAS: f64 = 6.0;

/// Largest supported `floor(GAUSSIAN_BOUND_SIGMAS * sigma)`: candidates and their squares must be
/// exact in an `f64`, and the candidate range must fit in a `u64`.
pub const MAX_GAUSSIAN_BOUND: u64 = 1 << 52;

/// `2^-53`: turns 53 random bits into an `f64` uniform in `[0, 1)`.
const F64_UNIT: f64 = 1.0 / (1u64 << 53) as f64;

/// A multiple of `bound` close to `2^64`: 64-bit draws below it reduce uniformly modulo `bound`,
/// because every residue then has the same number of preimages.
///
/// `u64::MAX / bound * bound` is `bound * floor((2^64 - 1) / bound)`, which equals
/// `bound * floor(2^64 / bound)` unless `bound` is a power of two; for a power of two it gives
/// up one block of `bound` values, which costs a little rejection but stays exact.
#[inline]
const fn rejection_zone(bound: u64) -> u64 {
    debug_assert!(bound >= 1);
    u64::MAX / bound * bound
}

/// A ChaCha20 cryptographically secure pseudo-random stream with the samplers CKKS needs.
///
/// Not `Clone` on purpose: a copy would replay the same stream, and reusing randomness in
/// encryption is fatal. Use [`Sampler::fresh_seed`] to fork an independent stream.
pub struct Sampler {
    rng: ChaCha20Rng,
}

impl fmt::Debug for Sampler {
    /// Prints nothing of the state, so that logs cannot leak the stream.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampler").finish_non_exhaustive()
    }
}

impl Sampler {
    /// A sampler seeded with 32 bytes of operating-system entropy (`getrandom`).
    ///
    /// # Panics
    /// If the operating system cannot provide entropy; continuing without it would be unsafe.
    pub fn from_entropy() -> Self {
        Self { rng: ChaCha20Rng::from_entropy() }
    }

    /// A sampler whose whole output is determined by `seed` (ChaCha20 with key `seed`, nonce 0,
    /// block counter starting at 0).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self { rng: ChaCha20Rng::from_seed(seed) }
    }

    /// Draws the next 32 bytes of the stream as a seed, e.g. for [`expand_uniform`] or for an
    /// independent [`Sampler::from_seed`]. Cost: half a ChaCha20 block.
    pub fn fresh_seed(&mut self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        seed
    }

    /// A uniform integer in `[0, bound)` for `bound >= 1`, by rejection from `[0, zone)`.
    #[inline]
    fn below(&mut self, bound: u64) -> u64 {
        let zone = rejection_zone(bound);
        loop {
            let x = self.rng.next_u64();
            if x < zone {
                return x % bound;
            }
        }
    }

    /// A uniform polynomial in RNS form: `moduli.len()` limbs of `n` residues, limb-major
    /// (limb `i` is `out[i * n..(i + 1) * n]`), limb `i` uniform in `[0, q_i)`.
    ///
    /// Each limb is sampled independently, so the result is also uniform modulo `Q = prod q_i`
    /// by the CRT. See [`Sampler::uniform_rns_into`] for the method and cost.
    pub fn uniform_rns(&mut self, moduli: &[Modulus], n: usize) -> Vec<u64> {
        let mut out = vec![0u64; moduli.len() * n];
        self.uniform_rns_into(moduli, &mut out);
        out
    }

    /// [`Sampler::uniform_rns`] into a caller's buffer; `n = out.len() / moduli.len()`.
    ///
    /// Method: limbs in order, coefficients in order; for each value, draw 64-bit words from
    /// the stream until one falls below the largest multiple of `q` that fits in 64 bits, then
    /// reduce it modulo `q`. Every residue then has the same number of preimages, so there is
    /// no modulo bias. Since `q < 2^61`, a word is rejected with probability below `q / 2^64 <
    /// 1/8` (and below `2^-20` for the NTT primes near `2^bits`), so the expected cost is
    /// about one word per value.
    ///
    /// # Panics
    /// If `out.len()` is not a multiple of `moduli.len()` (or `moduli` is empty and `out` not).
    pub fn uniform_rns_into(&mut self, moduli: &[Modulus], out: &mut [u64]) {
        if moduli.is_empty() {
            assert!(out.is_empty(), "uniform_rns_into: no moduli for {} outputs", out.len());
            return;
        }
        assert!(
            out.len().is_multiple_of(moduli.len()),
            "uniform_rns_into: output length {} is not a multiple of {} limbs",
            out.len(),
            moduli.len()
        );
        let n = out.len() / moduli.len();
        if n == 0 {
            return;
        }
        for (m, limb) in moduli.iter().zip(out.chunks_exact_mut(n)) {
            let zone = rejection_zone(m.value());
            for x in limb.iter_mut() {
                *x = loop {
                    let r = self.rng.next_u64();
                    if r < zone {
                        // Barrett instead of a hardware division: this loop is the hot one.
                        break m.reduce(r);
                    }
                };
            }
        }
    }

    /// `n` coefficients uniform in `{-1, 0, 1}`, each value with probability exactly `1/3`.
    ///
    /// Method: the stream is read one byte per candidate (eight per 64-bit word, low byte
    /// first); a byte `b < 255` gives `b mod 3 - 1`, and `b = 255` is rejected, since `255` is
    /// the largest multiple of 3 below 256. Unused bytes of the last word are discarded. Cost:
    /// about `n / 8` words.
    pub fn ternary(&mut self, n: usize) -> Vec<i64> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let word = self.rng.next_u64().to_le_bytes();
            for b in word {
                if out.len() == n {
                    break;
                }
                if b < 255 {
                    out.push(i64::from(b % 3) - 1);
                }
            }
        }
        out
    }

    /// `n` coefficients of which exactly `h` are nonzero: the support is a uniform `h`-subset of
    /// `0..n` and each nonzero is `-1` or `1` with probability `1/2`.
    ///
    /// Method: a partial Fisher-Yates shuffle of `0..n`; step `i < h` swaps position `i` with a
    /// uniform position in `i..n` (one rejection-sampled word) and gives the chosen index a
    /// sign from one more word's low bit. Cost: `O(n)` memory and time, `2h` words.
    ///
    /// # Errors
    /// [`MathError::Sampler`] if `h > n`.
    pub fn ternary_hamming(&mut self, n: usize, h: usize) -> Result<Vec<i64>, MathError> {
        if h > n {
            return Err(MathError::Sampler { reason: format!("Hamming weight {h} exceeds the length {n}") });
        }
        let mut out = vec![0i64; n];
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..h {
            let j = i + self.below((n - i) as u64) as usize;
            idx.swap(i, j);
            out[idx[i]] = if self.rng.next_u64() & 1 == 0 { 1 } else { -1 };
        }
        Ok(out)
    }

    /// `n` samples of the discrete Gaussian `D_{Z, sigma}`, `Pr[x] ~ exp(-x^2 / (2 sigma^2))`,
    /// restricted to `|x| <= B = floor(GAUSSIAN_BOUND_SIGMAS * sigma)` (`B = 19` for [`SIGMA`]).
    ///
    /// Method: rejection sampling. Draw `x` uniform in `[-B, B]` (one rejection-sampled word),
    /// then `u` uniform in `[0, 1)` from 53 random bits, and accept `x` if
    /// `u < exp(-x^2 / (2 sigma^2))`. The accepted values follow the truncated discrete
    /// Gaussian exactly, up to the `f64` rounding of `exp` (relative error `~1e-16`). The
    /// acceptance rate is about `sigma * sqrt(2 pi) / (2B + 1) ~ 0.2`, so each sample costs about
    /// five tries of two words and one `exp` each. Not constant-time (see the module docs).
    ///
    /// # Errors
    /// [`MathError::Sampler`] if `sigma` is not finite, not positive, or so large that `B`
    /// exceeds [`MAX_GAUSSIAN_BOUND`].
    pub fn gaussian(&mut self, n: usize, sigma: f64) -> Result<Vec<i64>, MathError> {
        if !sigma.is_finite() || sigma <= 0.0 {
            return Err(MathError::Sampler {
                reason: format!("Gaussian sigma must be finite and positive, got {sigma}"),
            });
        }
        let bound = (GAUSSIAN_BOUND_SIGMAS * sigma).floor();
        if bound > MAX_GAUSSIAN_BOUND as f64 {
            return Err(MathError::Sampler {
                reason: format!("Gaussian sigma {sigma} is too large: the bound {bound} exceeds {MAX_GAUSSIAN_BOUND}"),
            });
        }
        let bound = bound as u64;
        let width = 2 * bound + 1;
        let inv_two_var = 1.0 / (2.0 * sigma * sigma);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let x = self.below(width) as i64 - bound as i64;
            let u = (self.rng.next_u64() >> 11) as f64 * F64_UNIT;
            // x * x is exact in an f64 while |x| < 2^26.5, which covers every practical sigma;
            // past that its rounding is relative 2^-53, below the resolution of u.
            let xf = x as f64;
            if u < (-xf * xf * inv_two_var).exp() {
                out.push(x);
            }
        }
        Ok(out)
    }
}

/// The uniform RNS polynomial encoded by `seed`: exactly
/// `Sampler::from_seed(seed).uniform_rns(moduli, n)` (limb-major, limb `i` uniform in
/// `[0, q_i)`).
///
/// This is how the uniform component of a compressed key or ciphertext is stored: 32 bytes
/// instead of `moduli.len() * n` words. Expanding a prefix of the moduli gives the same leading
/// limbs as expanding all of them, because limbs are drawn in order. Cost: see
/// [`Sampler::uniform_rns_into`].
pub fn expand_uniform(seed: [u8; 32], moduli: &[Modulus], n: usize) -> Vec<u64> {
    Sampler::from_seed(seed).uniform_rns(moduli, n)
}

/// Writes the signed coefficients `coeffs` in RNS form: `out[i * n + j] = coeffs[j] mod q_i` in
/// `[0, q_i)`, limb-major, with `n = coeffs.len()`.
///
/// Meant for the small outputs of [`Sampler::ternary`] and [`Sampler::gaussian`], but exact for
/// any `i64`. Cost: one Barrett reduction per output.
///
/// # Panics
/// If `out.len() != moduli.len() * coeffs.len()`.
pub fn signed_to_rns(coeffs: &[i64], moduli: &[Modulus], out: &mut [u64]) {
    let n = coeffs.len();
    assert_eq!(
        out.len(),
        moduli.len() * n,
        "signed_to_rns: output length must be {} limbs * {} coefficients",
        moduli.len(),
        n
    );
    if n == 0 {
        return;
    }
    for (m, limb) in moduli.iter().zip(out.chunks_exact_mut(n)) {
        for (o, &c) in limb.iter_mut().zip(coeffs) {
            *o = m.reduce_i64(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;
    use proptest::prelude::*;
    // Named explicitly: the proptest prelude exports a `RngCore` of its own.
    use rand::RngCore;

    /// 2^16 samples: the statistical tests below allow at least four standard errors.
    const N_STAT: usize = 1 << 16;

    fn seed(b: u8) -> [u8; 32] {
        [b; 32]
    }

    fn modulus(q: u64) -> Modulus {
        Modulus::new(q).unwrap()
    }

    /// A 60-bit NTT prime and two small ones.
    fn some_moduli() -> Vec<Modulus> {
        let mut q = ntt_primes(60, 1 << 12, 1, &[]).unwrap();
        q.extend(ntt_primes(30, 1 << 12, 1, &[]).unwrap());
        q.extend(ntt_primes(12, 1 << 6, 1, &[]).unwrap());
        q.into_iter().map(modulus).collect()
    }

    fn mean_var(xs: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
        let n = xs.clone().count() as f64;
        let mean = xs.clone().sum::<f64>() / n;
        let var = xs.map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }

    #[test]
    fn chacha_stream_matches_rfc_7539() {
        // RFC 7539, A.1 test vector #1: key and nonce zero, block 0 starts
        // 76 b8 e0 ad a0 f1 3d 90. This pins the generator the seeds are defined with.
        let mut s = Sampler::from_seed([0; 32]);
        assert_eq!(s.rng.next_u64(), 0x903d_f1a0_ade0_b876);
    }

    #[test]
    fn uniform_known_answer() {
        // The first word of the zero-seed stream (above) lies below the rejection zone of
        // this 60-bit prime, so the first residue is simply that word mod q. Guards the
        // serialized meaning of seeds.
        let q = 1_152_921_504_606_584_833u64;
        let m = modulus(q);
        assert!(0x903d_f1a0_ade0_b876 < rejection_zone(q));
        let a = expand_uniform([0; 32], &[m], 4);
        assert_eq!(a[0], 0x903d_f1a0_ade0_b876 % q);
    }

    #[test]
    fn determinism_and_seed_sensitivity() {
        let moduli = some_moduli();
        let n = 256;
        let a = Sampler::from_seed(seed(1)).uniform_rns(&moduli, n);
        assert_eq!(a, Sampler::from_seed(seed(1)).uniform_rns(&moduli, n));
        assert_eq!(a, expand_uniform(seed(1), &moduli, n));
        assert_ne!(a, Sampler::from_seed(seed(2)).uniform_rns(&moduli, n));

        let mut s1 = Sampler::from_seed(seed(3));
        let mut s2 = Sampler::from_seed(seed(3));
        assert_eq!(s1.ternary(n), s2.ternary(n));
        assert_eq!(s1.ternary_hamming(n, 64).unwrap(), s2.ternary_hamming(n, 64).unwrap());
        assert_eq!(s1.gaussian(n, SIGMA).unwrap(), s2.gaussian(n, SIGMA).unwrap());
        assert_eq!(s1.fresh_seed(), s2.fresh_seed());

        let mut s3 = Sampler::from_seed(seed(4));
        assert_ne!(Sampler::from_seed(seed(3)).ternary(n), s3.ternary(n));
        assert_ne!(Sampler::from_seed(seed(3)).gaussian(n, SIGMA).unwrap(), s3.gaussian(n, SIGMA).unwrap());
    }

    #[test]
    fn expansion_of_a_prefix_of_moduli_is_a_prefix() {
        let moduli = some_moduli();
        let n = 64;
        let all = expand_uniform(seed(5), &moduli, n);
        assert_eq!(expand_uniform(seed(5), &moduli[..1], n), all[..n]);
        let mut buf = vec![0u64; moduli.len() * n];
        Sampler::from_seed(seed(5)).uniform_rns_into(&moduli, &mut buf);
        assert_eq!(buf, all);
    }

    #[test]
    fn fresh_seeds_differ_and_entropy_samplers_differ() {
        let mut s = Sampler::from_seed(seed(6));
        let (a, b) = (s.fresh_seed(), s.fresh_seed());
        assert_ne!(a, b);
        let (mut e1, mut e2) = (Sampler::from_entropy(), Sampler::from_entropy());
        assert_ne!(e1.fresh_seed(), e2.fresh_seed());
        assert_eq!(format!("{e1:?}"), "Sampler { .. }");
    }

    #[test]
    fn uniform_small_modulus_is_flat() {
        // A ~2^10 modulus: 65 expected hits per residue. Chi-square with q - 1 degrees of
        // freedom has mean q - 1 and standard deviation sqrt(2 (q - 1)); allow 5 of them.
        let q = ntt_primes(10, 1 << 4, 1, &[]).unwrap()[0];
        let m = modulus(q);
        let a = Sampler::from_seed(seed(7)).uniform_rns(&[m], N_STAT);
        assert!(a.iter().all(|&x| x < q));

        let (mean, var) = mean_var(a.iter().map(|&x| x as f64));
        let qf = q as f64;
        let true_var = (qf * qf - 1.0) / 12.0;
        let se = (true_var / N_STAT as f64).sqrt();
        assert!((mean - (qf - 1.0) / 2.0).abs() < 5.0 * se, "mean {mean} for q = {q}");
        assert!((var / true_var - 1.0).abs() < 0.03, "variance {var}, want {true_var}");

        let mut hist = vec![0u64; q as usize];
        a.iter().for_each(|&x| hist[x as usize] += 1);
        let expect = N_STAT as f64 / qf;
        let chi2: f64 = hist.iter().map(|&c| (c as f64 - expect).powi(2) / expect).sum();
        let df = qf - 1.0;
        assert!((chi2 - df).abs() < 5.0 * (2.0 * df).sqrt(), "chi2 {chi2} with {df} dof");
    }

    #[test]
    fn uniform_large_modulus_halves_are_balanced() {
        // 60-bit NTT prime: the top half [q/2, q) must get half of the mass.
        let q = ntt_primes(60, 1 << 17, 1, &[]).unwrap()[0];
        let a = Sampler::from_seed(seed(8)).uniform_rns(&[modulus(q)], N_STAT);
        assert!(a.iter().all(|&x| x < q));
        let frac = a.iter().filter(|&&x| x >= q / 2).count() as f64 / N_STAT as f64;
        assert!((frac - 0.5).abs() < 0.01, "fraction {frac}");
    }

    #[test]
    fn uniform_has_no_modulo_bias() {
        // q ~ 2^64 / 8.5: a plain `word % q` would give [0, q/2) 9 preimages and [q/2, q) only
        // 8, i.e. a low-half fraction of 9/17 = 0.529. Rejection must bring it back to 0.5.
        let q = ((1u128 << 65) / 17) as u64 | 1;
        assert!(q < 1 << 61 && u64::MAX / q == 8);
        let a = Sampler::from_seed(seed(9)).uniform_rns(&[modulus(q)], N_STAT);
        assert!(a.iter().all(|&x| x < q));
        let frac = a.iter().filter(|&&x| x < q / 2).count() as f64 / N_STAT as f64;
        assert!((frac - 0.5).abs() < 0.01, "low-half fraction {frac}");
    }

    #[test]
    fn uniform_edge_shapes() {
        let moduli = some_moduli();
        let mut s = Sampler::from_seed(seed(10));
        assert!(s.uniform_rns(&moduli, 0).is_empty());
        assert!(s.uniform_rns(&[], 16).is_empty());
        s.uniform_rns_into(&[], &mut []);
        // The smallest modulus and a power-of-two-adjacent one.
        let a = s.uniform_rns(&[modulus(3), modulus((1 << 61) - 1)], 1000);
        assert!(a[..1000].iter().all(|&x| x < 3));
        assert!(a[1000..].iter().all(|&x| x < (1 << 61) - 1));
        for v in 0..3 {
            assert!(a[..1000].contains(&v));
        }
    }

    #[test]
    #[should_panic(expected = "not a multiple")]
    fn uniform_into_rejects_ragged_buffer() {
        let moduli = some_moduli();
        let mut out = vec![0u64; moduli.len() * 4 + 1];
        Sampler::from_seed(seed(11)).uniform_rns_into(&moduli, &mut out);
    }

    #[test]
    fn ternary_is_uniform_on_three_values() {
        let t = Sampler::from_seed(seed(12)).ternary(N_STAT);
        assert_eq!(t.len(), N_STAT);
        for v in -1..=1 {
            let frac = t.iter().filter(|&&x| x == v).count() as f64 / N_STAT as f64;
            assert!((frac - 1.0 / 3.0).abs() < 0.01, "value {v}: fraction {frac}");
        }
        assert!(t.iter().all(|x| (-1..=1).contains(x)));
        assert!(Sampler::from_seed(seed(12)).ternary(0).is_empty());
    }

    #[test]
    fn hamming_weight_support_and_signs() {
        let n = N_STAT;
        let h = n / 2;
        let t = Sampler::from_seed(seed(13)).ternary_hamming(n, h).unwrap();
        assert_eq!(t.len(), n);
        assert_eq!(t.iter().filter(|&&x| x != 0).count(), h);
        assert!(t.iter().all(|x| (-1..=1).contains(x)));
        let plus = t.iter().filter(|&&x| x == 1).count() as f64;
        assert!((plus / h as f64 - 0.5).abs() < 0.01, "{plus} of {h} are +1");

        let support = |s: u8| -> Vec<usize> {
            let t = Sampler::from_seed(seed(s)).ternary_hamming(1024, 64).unwrap();
            (0..1024).filter(|&i| t[i] != 0).collect()
        };
        assert_ne!(support(14), support(15));
    }

    #[test]
    fn hamming_positions_are_uniform() {
        // n = 64, h = 16, 4096 draws: each position is hit Binomial(4096, 1/4) times,
        // mean 1024 and standard deviation ~27.7; allow 5 of them per position.
        let (n, h, trials) = (64, 16, 4096);
        let mut s = Sampler::from_seed(seed(16));
        let mut hits = vec![0u32; n];
        for _ in 0..trials {
            let t = s.ternary_hamming(n, h).unwrap();
            for (c, &x) in hits.iter_mut().zip(&t) {
                *c += u32::from(x != 0);
            }
        }
        let p = h as f64 / n as f64;
        let mean = trials as f64 * p;
        let sd = (trials as f64 * p * (1.0 - p)).sqrt();
        for (i, &c) in hits.iter().enumerate() {
            assert!((c as f64 - mean).abs() < 5.0 * sd, "position {i}: {c} hits, want ~{mean}");
        }
    }

    #[test]
    fn hamming_edge_weights() {
        let mut s = Sampler::from_seed(seed(17));
        assert!(s.ternary_hamming(100, 0).unwrap().iter().all(|&x| x == 0));
        assert!(s.ternary_hamming(100, 100).unwrap().iter().all(|&x| x == 1 || x == -1));
        assert!(s.ternary_hamming(0, 0).unwrap().is_empty());
        assert!(matches!(s.ternary_hamming(10, 11), Err(MathError::Sampler { .. })));
    }

    #[test]
    fn gaussian_moments_and_bound() {
        let g = Sampler::from_seed(seed(18)).gaussian(N_STAT, SIGMA).unwrap();
        assert_eq!(g.len(), N_STAT);
        let bound = (GAUSSIAN_BOUND_SIGMAS * SIGMA).floor() as i64;
        assert_eq!(bound, 19);
        assert!(g.iter().all(|x| x.abs() <= bound));
        let (mean, var) = mean_var(g.iter().map(|&x| x as f64));
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var / (SIGMA * SIGMA) - 1.0).abs() < 0.03, "variance {var}");
        // Symmetric: P[x = k] ~ P[x = -k].
        let count = |v: i64| g.iter().filter(|&&x| x == v).count() as f64;
        for k in 1..=3 {
            let (p, m) = (count(k), count(-k));
            assert!((p - m).abs() < 5.0 * (p + m).sqrt(), "k = {k}: {p} vs {m}");
        }
    }

    #[test]
    fn gaussian_matches_pmf_near_zero() {
        // Frequencies of 0, 1, 2 against exp(-x^2 / (2 sigma^2)) / sum over [-19, 19].
        let g = Sampler::from_seed(seed(19)).gaussian(N_STAT, SIGMA).unwrap();
        let rho = |x: i64| (-((x * x) as f64) / (2.0 * SIGMA * SIGMA)).exp();
        let total: f64 = (-19..=19).map(rho).sum();
        for k in 0..=2 {
            let p = rho(k) / total;
            let freq = g.iter().filter(|&&x| x == k).count() as f64 / N_STAT as f64;
            let se = (p * (1.0 - p) / N_STAT as f64).sqrt();
            assert!((freq - p).abs() < 5.0 * se, "P[{k}] = {freq}, want {p}");
        }
    }

    #[test]
    fn gaussian_rejects_bad_sigma() {
        let mut s = Sampler::from_seed(seed(20));
        for sigma in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300] {
            assert!(matches!(s.gaussian(4, sigma), Err(MathError::Sampler { .. })), "sigma {sigma}");
        }
        // Tiny sigma: the bound is 0, so every sample is 0.
        assert!(s.gaussian(100, 0.1).unwrap().iter().all(|&x| x == 0));
    }

    fn any_modulus() -> impl Strategy<Value = Modulus> {
        prop_oneof![(3u64..(1 << 61)).prop_map(|q| q | 1), (3u64..1000).prop_map(|q| q | 1)].prop_map(modulus)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn signed_to_rns_matches_i128(
            coeffs in prop::collection::vec(prop_oneof![any::<i64>(), -40i64..40, Just(i64::MIN), Just(i64::MAX)], 0..32),
            moduli in prop::collection::vec(any_modulus(), 0..4),
        ) {
            let n = coeffs.len();
            let mut out = vec![u64::MAX; moduli.len() * n];
            signed_to_rns(&coeffs, &moduli, &mut out);
            for (i, m) in moduli.iter().enumerate() {
                let q = m.value() as i128;
                for (j, &c) in coeffs.iter().enumerate() {
                    prop_assert_eq!(out[i * n + j] as i128, (c as i128 % q + q) % q);
                }
            }
        }

        #[test]
        fn uniform_values_below_each_modulus(
            s in any::<[u8; 32]>(),
            moduli in prop::collection::vec(any_modulus(), 1..4),
            n in 0usize..64,
        ) {
            let a = expand_uniform(s, &moduli, n);
            prop_assert_eq!(a.len(), moduli.len() * n);
            for (m, limb) in moduli.iter().zip(a.chunks(n.max(1))) {
                prop_assert!(limb.iter().all(|&x| x < m.value()));
            }
        }

        #[test]
        fn small_samplers_stay_in_range(s in any::<[u8; 32]>(), n in 0usize..200, sigma in 0.05f64..50.0) {
            let mut smp = Sampler::from_seed(s);
            prop_assert!(smp.ternary(n).iter().all(|x| (-1..=1).contains(x)));
            let h = n / 3;
            let t = smp.ternary_hamming(n, h).unwrap();
            prop_assert_eq!(t.iter().filter(|&&x| x != 0).count(), h);
            let bound = (GAUSSIAN_BOUND_SIGMAS * sigma).floor() as i64;
            let g = smp.gaussian(n, sigma).unwrap();
            prop_assert_eq!(g.len(), n);
            prop_assert!(g.iter().all(|x| x.abs() <= bound));
        }
    }
}
