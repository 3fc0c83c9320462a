//! The special FFT: the canonical embedding of CKKS restricted to the `5^j` rotation group.
//!
//! See the [module documentation](super) for the slot convention; this file holds the
//! transform itself.
//!
//! # Algorithm
//! With `n = slots` and `xi = e^(2 pi i / 4n)`, decoding reduces to the `n x n` transform
//!
//! ```text
//! z_j = sum_{t < n} w_t * xi^(5^j * t),      w_t = m'_t + i * m'_{n+t}
//! ```
//!
//! because `xi^(5^j * n) = i^(5^j) = i` (`5^j = 1 mod 4`) folds the upper half of the `2n` real
//! coefficients of `m'` into the imaginary parts. Splitting `t` into even and odd gives the
//! radix-2 step `z_j = A_j + xi^(5^j) B_j`, `z_{j + n/2} = A_j - xi^(5^j) B_j`, where `A` and
//! `B` are the same transform of half size (the order of 5 modulo `2n` is `n/2`, and
//! `5^(n/2) = 1 + 2n mod 4n` turns `xi^(5^(j + n/2))` into `-xi^(5^j)`). Forward: bit-reversal
//! then decimation-in-time butterflies; inverse: the butterflies undone in reverse order with
//! conjugated twiddles, bit reversal, and one division by `n` at the end. Cost:
//! `(n/2) log2 n` butterflies of one complex product each, plus `n` swaps.

use super::EncodingError;
use crate::Complex;
use ckks_math::ntt::bit_reverse;
/// The supported ring degrees are those of the NTT: powers of two in `2^1 ..= 2^17`.
pub use ckks_math::ntt::{MAX_DEGREE, MIN_DEGREE};

/// Precomputed special FFT for one ring degree `N` and one slot count (see [the module
/// documentation](super) for the slot convention).
#[derive(Clone, Debug)]
pub struct SpecialFft {
    /// Ring degree `N`.
    n: usize,
    /// Slot count `n_s`, a power of two in `[1, N/2]`.
    slots: usize,
    /// `N / (2 * slots)`: the message polynomial lives in `R[X^gap]`.
    gap: usize,
    /// Forward twiddles, one run per butterfly layer: the layer of half-size `h` (blocks of
    /// `2h`) uses `twiddles[h - 1 .. 2h - 1]`, entry `j` being `e^(2 pi i * (5^j mod 8h) / 8h)`.
    twiddles: Vec<Complex>,
    /// `bit_reverse(i, log2(slots))` for `i < slots`.
    bit_rev: Vec<u32>,
}

impl SpecialFft {
    /// Precomputes the transform for ring degree `n` (a power of two in
    /// [`MIN_DEGREE`]`..=`[`MAX_DEGREE`]) and `slots` (a power of two in `[1, n/2]`).
    ///
    /// Every twiddle is computed directly as `cos`/`sin` of its own angle (not by repeated
    /// multiplication, whose error would grow along the table). Cost: `slots - 1` `sin_cos`
    /// calls; memory `slots` complex numbers and `slots` indices.
    pub fn new(n: usize, slots: usize) -> Result<Self, EncodingError> {
        Self::check_dimensions(n, slots)?;
        let mut twiddles = Vec::with_capacity(slots.saturating_sub(1));
        let mut h = 1;
        while h < slots {
            let m = 8 * h;
            let mut k = 1usize; // 5^j mod 8h
            for _ in 0..h {
                let theta = 2.0 * std::f64::consts::PI * (k as f64) / (m as f64);
                twiddles.push(Complex::from_polar(1.0, theta));
                k = (k * 5) % m;
            }
            h *= 2;
        }
        let log_slots = slots.trailing_zeros();
        let bit_rev = (0..slots).map(|i| bit_reverse(i, log_slots) as u32).collect();
        Ok(Self { n, slots, gap: n / (2 * slots), twiddles, bit_rev })
    }

    /// Accepts what [`SpecialFft::new`] accepts (`n` a power of two in
    /// [`MIN_DEGREE`]`..=`[`MAX_DEGREE`], `slots` a power of two in `[1, n/2]`) without
    /// allocating: parameter literals read from a file are checked with it before anything is
    /// built.
    pub fn check_dimensions(n: usize, slots: usize) -> Result<(), EncodingError> {
        let valid =
            n.is_power_of_two() && (MIN_DEGREE..=MAX_DEGREE).contains(&n) && slots.is_power_of_two() && slots <= n / 2;
        if valid {
            Ok(())
        } else {
            Err(EncodingError::InvalidDimensions { n, slots })
        }
    }

    /// The ring degree `N`.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The slot count `n_s` (`N/2` for full packing).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// `gap = N / (2 * slots)`: encoded polynomials are polynomials in `Y = X^gap`.
    pub fn gap(&self) -> usize {
        self.gap
    }

    /// The Galois element `5^(k mod slots) mod 2N` of the automorphism `X -> X^(5^k)` that
    /// rotates the slots left by `k`: `z_j -> z_{(j + k) mod slots}`. A right rotation by `r` is
    /// a left rotation by `slots - r`.
    ///
    /// `k` is reduced modulo `slots` first: on the subring `R[X^gap]` the elements `5^k` and
    /// `5^(k + slots)` act alike, and one canonical element per rotation means one key.
    /// Cost: `O(log k)` multiplications.
    pub fn rotation_galois_element(&self, k: usize) -> usize {
        // k mod slots < N/2, the order of 5 modulo 2N, so ckks-math reduces it no further.
        ckks_math::automorphism::rotation_galois_element((k % self.slots) as i64, self.n)
    }

    /// The Galois element `2N - 1` of the automorphism `X -> X^-1`, which conjugates every slot.
    pub fn conjugation_galois_element(&self) -> usize {
        ckks_math::automorphism::conjugation_galois_element(self.n)
    }

    /// Encodes `z` (exactly `slots` values) into the `N` real coefficients, unscaled, of the
    /// polynomial `m` in `R[X^gap]` whose decoding is `z`:
    ///
    /// ```text
    /// w = special_ifft(z);   m_{t*gap} = Re(w_t),   m_{N/2 + t*gap} = Im(w_t)   (t < slots)
    /// ```
    ///
    /// and every other coefficient is zero. Cost: one inverse special FFT, `O(n log n)` for
    /// `n = slots`, plus `O(N)` to write the output.
    pub fn encode_coeffs(&self, z: &[Complex]) -> Result<Vec<f64>, EncodingError> {
        self.check_slots(z.len())?;
        if let Some(index) = z.iter().position(|v| !v.is_finite()) {
            return Err(EncodingError::NonFinite { input: "slot value", index });
        }
        let mut w = z.to_vec();
        self.inverse_unchecked(&mut w);
        let mut coeffs = vec![0.0; self.n];
        let half = self.n / 2;
        for (t, v) in w.iter().enumerate() {
            coeffs[t * self.gap] = v.re;
            coeffs[half + t * self.gap] = v.im;
        }
        Ok(coeffs)
    }

    /// Decodes the `N` real coefficients of `m` into its `slots` slot values
    /// `z_j = m(zeta^(5^j mod 2N))`, `zeta = e^(i pi / N)`.
    ///
    /// Only the coefficients of the subring `R[X^gap]` (indices that are multiples of `gap`)
    /// are read; any other coefficient is **ignored**. For `m` in the subring this is exactly
    /// the formula above; for any other `m` it decodes the projection of `m` onto the subring,
    /// `Tr(m) / gap`, whose value at `zeta^(5^j)` is the mean of `m` over the `gap` roots `x`
    /// with `x^gap = xi^(5^j)`. Sparse-packing decoders (HEAAN, Lattigo) do the same: the noise
    /// of a decryption is not in the subring, and only its projection reaches the slots.
    /// Only the coefficients read are checked for being finite.
    /// Cost: one special FFT, `O(n log n)` for `n = slots`, plus `O(n)` reads.
    pub fn decode_coeffs(&self, coeffs: &[f64]) -> Result<Vec<Complex>, EncodingError> {
        if coeffs.len() != self.n {
            return Err(EncodingError::WrongCoefficientCount { expected: self.n, found: coeffs.len() });
        }
        let half = self.n / 2;
        let mut w = Vec::with_capacity(self.slots);
        for t in 0..self.slots {
            let (i_re, i_im) = (t * self.gap, half + t * self.gap);
            for index in [i_re, i_im] {
                if !coeffs[index].is_finite() {
                    return Err(EncodingError::NonFinite { input: "coefficient", index });
                }
            }
            w.push(Complex::new(coeffs[i_re], coeffs[i_im]));
        }
        self.forward_unchecked(&mut w);
        Ok(w)
    }

    /// The special FFT in place: `vals <- z` with `z_j = sum_{t < n} vals_t * xi^(5^j t)`,
    /// `xi = e^(2 pi i / 4n)`, `n = slots` (natural order in and out). This is decoding after
    /// the coefficients have been folded into `w_t = m'_t + i m'_{n+t}`; exposed for the
    /// homomorphic DFT of bootstrapping. Cost: `(n/2) log2 n` butterflies.
    pub fn special_fft(&self, vals: &mut [Complex]) -> Result<(), EncodingError> {
        self.check_slots(vals.len())?;
        self.forward_unchecked(vals);
        Ok(())
    }

    /// The inverse of [`SpecialFft::special_fft`] in place (natural order in and out), including
    /// the division by `n`. Cost: `(n/2) log2 n` butterflies plus `n` real scalings.
    pub fn special_ifft(&self, vals: &mut [Complex]) -> Result<(), EncodingError> {
        self.check_slots(vals.len())?;
        self.inverse_unchecked(vals);
        Ok(())
    }

    fn check_slots(&self, found: usize) -> Result<(), EncodingError> {
        if found != self.slots {
            return Err(EncodingError::WrongSlotCount { expected: self.slots, found });
        }
        Ok(())
    }

    fn bit_reverse_permute(&self, vals: &mut [Complex]) {
        for (i, &r) in self.bit_rev.iter().enumerate() {
            let r = r as usize;
            if i < r {
                vals.swap(i, r);
            }
        }
    }

    /// Decimation in time: bit reversal, then layers of half-size `h = 1, 2, ..., n/2`.
    fn forward_unchecked(&self, vals: &mut [Complex]) {
        debug_assert_eq!(vals.len(), self.slots);
        self.bit_reverse_permute(vals);
        let mut h = 1;
        while h < self.slots {
            let tw = &self.twiddles[h - 1..2 * h - 1];
            for block in vals.chunks_exact_mut(2 * h) {
                let (lo, hi) = block.split_at_mut(h);
                for j in 0..h {
                    let u = lo[j];
                    let v = hi[j] * tw[j];
                    lo[j] = u + v;
                    hi[j] = u - v;
                }
            }
            h *= 2;
        }
    }

    /// Undoes [`Self::forward_unchecked`] layer by layer (`h = n/2, ..., 1`): from
    /// `(u, v) = (A + tB, A - tB)` recover `(2A, 2B) = (u + v, (u - v) * conj(t))` since
    /// `|t| = 1`; the factors 2 are divided out once at the end (`1/n` in total).
    fn inverse_unchecked(&self, vals: &mut [Complex]) {
        debug_assert_eq!(vals.len(), self.slots);
        let mut h = self.slots / 2;
        while h >= 1 {
            let tw = &self.twiddles[h - 1..2 * h - 1];
            for block in vals.chunks_exact_mut(2 * h) {
                let (lo, hi) = block.split_at_mut(h);
                for j in 0..h {
                    let (u, v) = (lo[j], hi[j]);
                    lo[j] = u + v;
                    hi[j] = (u - v) * tw[j].conj();
                }
            }
            h /= 2;
        }
        self.bit_reverse_permute(vals);
        let inv_n = 1.0 / self.slots as f64;
        for v in vals.iter_mut() {
            *v = v.scale(inv_n);
        }
    }
}
