//! Fast (approximate) basis conversion and the ModUp / ModDown pair of hybrid key switching.
//!
//! # Fast basis conversion (Halevi-Polyakov-Shoup)
//! For `x` given by residues `x_i` modulo `Q = q_0 ... q_{k-1}`, and target primes `p_j`:
//!
//! ```text
//! conv(x)_j = sum_i [x_i * qhat_i^-1]_{q_i} * (qhat_i mod p_j)   mod p_j,   qhat_i = Q / q_i
//! ```
//!
//! The sum over `i` before reduction equals `x + u*Q` for an integer `0 <= u < k` (each term
//! `[x_i qhat_i^-1]_{q_i} qhat_i` is below `Q`), so `conv(x) = x + u*Q mod p_j` with the same
//! `u` for every `j`. Hybrid key switching tolerates that `u*Q`: after ModDown it is divided
//! by `P` and becomes part of the noise.
//!
//! # Cost
//! `k` Shoup products per coefficient, then `k * #targets` word products accumulated in `u128`
//! and one Barrett reduction per target residue (the portable kernel), or `k * #targets` lazy
//! Shoup products on eight coefficients at a time (the AVX-512 kernel, `convert/avx512.rs`,
//! 1.6-1.9x faster at `N = 2^16`; the same words). Work runs in blocks of coefficients so the
//! `k` intermediate residues of a block stay in cache, and blocks are spread over threads.

use super::basis::RnsBasis;
use super::poly::{Representation, RnsPoly};
use crate::parallel::is_parallel;
use crate::{MathError, Modulus, NttKernel};
use rayon::prelude::*;
use std::sync::Arc;

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Coefficients handled together: `k` limbs of this many words stay in L1/L2.
const BLOCK: usize = 256;
/// Products of two 61-bit residues that fit in a `u128` accumulator (`64 * 2^122 = 2^128`).
const MAX_ACCUMULATED: usize = 64;

/// Precomputed constants for converting residues from one set of primes to another.
#[derive(Clone, Debug)]
pub struct BasisConverter {
    from: Vec<Modulus>,
    to: Vec<Modulus>,
    /// `qhat_i^-1 mod q_i` and its Shoup constant.
    qhat_inv: Vec<(u64, u64)>,
    /// `qhat_i mod p_j`, stored `[j][i]`.
    qhat_mod_p: Vec<Vec<u64>>,
    /// Shoup constants `floor((qhat_i mod p_j) 2^64 / p_j)`, stored `[j][i]`, for the AVX-512
    /// kernel's per-term reduction.
    qhat_mod_p_shoup: Vec<Vec<u64>>,
    /// `qhat_i 2^64 mod p_j` (Montgomery form), stored `[j][i]`, when every dot product stays
    /// below `p_j 2^64` (`k max_i q_i < 2^64`, true for the `alpha + 1 <= 8` source primes of
    /// key switching): each target residue is then reduced by [`Modulus::redc`].
    qhat_mod_p_mont: Option<Vec<Vec<u64>>>,
    /// `1 / q_i` as `f64`, for the correction of [`BasisConverter::convert_centered`].
    q_inv: Vec<f64>,
    /// `Q mod p_j`.
    q_mod_p: Vec<u64>,
}

impl BasisConverter {
    /// Constants for converting from `from` to `to` (disjoint sets of primes).
    pub fn new(from: &[Modulus], to: &[Modulus]) -> Result<Self, MathError> {
        if from.is_empty() || to.is_empty() {
            return Err(MathError::InvalidBasis { reason: "basis conversion needs non-empty bases".into() });
        }
        if let Some(p) = to.iter().find(|p| from.contains(p)) {
            return Err(MathError::InvalidBasis { reason: format!("prime {} is in both bases", p.value()) });
        }
        let qhat_inv = from
            .iter()
            .enumerate()
            .map(|(i, qi)| {
                let hat = qi.product_of(from.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, qj)| qj));
                let inv = qi
                    .inv(hat)
                    .ok_or_else(|| MathError::InvalidBasis { reason: format!("prime {} repeats", qi.value()) })?;
                Ok((inv, qi.shoup(inv)))
            })
            .collect::<Result<Vec<_>, MathError>>()?;
        let qhat_mod_p: Vec<Vec<u64>> = to
            .iter()
            .map(|pj| {
                (0..from.len())
                    .map(|i| pj.product_of(from.iter().enumerate().filter(|&(l, _)| l != i).map(|(_, ql)| ql)))
                    .collect()
            })
            .collect();
        let qhat_mod_p_shoup = to.iter().zip(&qhat_mod_p).map(|(pj, row)| pj.shoup_vec(row)).collect();
        let q_inv = from.iter().map(|q| 1.0 / q.value() as f64).collect();
        let q_mod_p = to.iter().map(|pj| pj.product_of(from)).collect();
        let max_from = from.iter().map(|q| q.value() as u128).max().unwrap_or(0);
        let qhat_mod_p_mont = (from.len() as u128 * max_from < 1u128 << 64).then(|| {
            to.iter()
                .zip(&qhat_mod_p)
                .map(|(pj, row): (&Modulus, &Vec<u64>)| row.iter().map(|&w| pj.to_montgomery(w)).collect())
                .collect()
        });
        Ok(Self {
            from: from.to_vec(),
            to: to.to_vec(),
            qhat_inv,
            qhat_mod_p,
            qhat_mod_p_shoup,
            qhat_mod_p_mont,
            q_inv,
            q_mod_p,
        })
    }

    /// Source primes.
    pub fn from(&self) -> &[Modulus] {
        &self.from
    }

    /// Target primes.
    pub fn to(&self) -> &[Modulus] {
        &self.to
    }

    /// Converts `input` (limb-major, `from.len()` limbs of `n` coefficients, values below their
    /// primes) into `output` (limb-major, `to.len()` limbs of `n`). Coefficient domain only:
    /// the conversion is not linear over the NTT.
    pub fn convert(&self, input: &[u64], output: &mut [u64], n: usize) {
        self.convert_impl(input, output, n, false)
    }

    /// Exact conversion of the *centered* representative: for `x` in `[0, Q)` the output is
    /// `x` if `x < Q/2` and `x - Q` otherwise, modulo each `p_j`. The excess `u` of the fast
    /// conversion is computed as `v = round(sum_i y_i / q_i)` in `f64` (Halevi-Polyakov-Shoup)
    /// and subtracted: `k` more floating-point products per coefficient. Exact unless `x/Q` lies
    /// within about `k * 2^-53` of `1/2`, where the result may be the other representative.
    pub fn convert_centered(&self, input: &[u64], output: &mut [u64], n: usize) {
        self.convert_impl(input, output, n, true)
    }

    fn convert_impl(&self, input: &[u64], output: &mut [u64], n: usize, centered: bool) {
        assert_eq!(output.len(), self.to.len() * n, "basis conversion output shape");
        self.convert_into_limbs(input, output.chunks_exact_mut(n).collect(), n, centered);
    }

    /// [`BasisConverter::convert`] (or, with `centered`, [`BasisConverter::convert_centered`])
    /// writing target limb `j` into `outputs[j]` (each of length `n`), wherever those limbs live:
    /// key switching converts straight into its extended-basis buffer, without a copy.
    pub fn convert_into_limbs(&self, input: &[u64], outputs: Vec<&mut [u64]>, n: usize, centered: bool) {
        let (k, t) = (self.from.len(), self.to.len());
        assert_eq!(input.len(), k * n, "basis conversion input shape");
        assert!(outputs.len() == t && outputs.iter().all(|o| o.len() == n), "basis conversion output shape");
        // Split the coefficient range into segments; each segment writes a disjoint window of
        // every output limb, so the segments can run on different threads.
        let threads = if is_parallel() && k * n >= crate::parallel::PARALLEL_MIN_WORDS {
            rayon::current_num_threads()
        } else {
            1
        };
        let seg = n.div_ceil(threads).next_multiple_of(BLOCK).min(n);
        let mut windows: Vec<Vec<&mut [u64]>> = (0..n.div_ceil(seg)).map(|_| Vec::with_capacity(t)).collect();
        for limb in outputs {
            for (s, w) in limb.chunks_mut(seg).enumerate() {
                windows[s].push(w);
            }
        }
        let run =
            |(s, mut outs): (usize, Vec<&mut [u64]>)| self.convert_segment(input, n, s * seg, &mut outs, centered);
        if windows.len() > 1 {
            windows.into_par_iter().enumerate().for_each(run);
        } else {
            windows.into_iter().enumerate().for_each(run);
        }
    }

    fn convert_segment(&self, input: &[u64], n: usize, start: usize, outs: &mut [&mut [u64]], centered: bool) {
        self.convert_segment_with(NttKernel::active(), input, n, start, outs, centered)
    }

    /// [`BasisConverter::convert_segment`] with the given kernel: the AVX-512 one
    /// ([`NttKernel::Avx512`], on a CPU that has it) for up to 12 source primes and the
    /// coefficients up to a multiple of 8, the portable one for the rest.
    fn convert_segment_with(
        &self,
        kernel: NttKernel,
        input: &[u64],
        n: usize,
        start: usize,
        outs: &mut [&mut [u64]],
        centered: bool,
    ) {
        #[cfg(target_arch = "x86_64")]
        if kernel.runs_avx512() {
            let len = outs[0].len();
            let simd = len - len % 8;
            if simd > 0 {
                let mut heads: Vec<&mut [u64]> = outs.iter_mut().map(|o| &mut o[..simd]).collect();
                macro_rules! simd {
                    ($($k:literal)*) => {
                        match self.from.len() {
                            // SAFETY: the CPU has AVX-512F and AVX-512DQ (detected above); K is
                            // the source count, every head has length `simd`, a multiple of 8,
                            // and start + simd <= n.
                            $($k => unsafe { avx512::convert_segment::<$k>(self, input, n, start, &mut heads, centered) },)*
                            _ => return self.convert_segment_portable(input, n, start, outs, centered),
                        }
                    };
                }
                simd!(1 2 3 4 5 6 7 8 9 10 11 12);
                if simd < len {
                    let mut tails: Vec<&mut [u64]> = outs.iter_mut().map(|o| &mut o[simd..]).collect();
                    self.convert_segment_portable(input, n, start + simd, &mut tails, centered);
                }
                return;
            }
        }
        let _ = kernel;
        self.convert_segment_portable(input, n, start, outs, centered)
    }

    fn convert_segment_portable(&self, input: &[u64], n: usize, start: usize, outs: &mut [&mut [u64]], centered: bool) {
        macro_rules! fixed {
            ($($k:literal)*) => {
                match (self.from.len(), &self.qhat_mod_p_mont) {
                    $(
                        ($k, Some(m)) => self.convert_segment_fixed::<$k, true>(m, input, n, start, outs, centered),
                        ($k, None) => self.convert_segment_fixed::<$k, false>(&self.qhat_mod_p, input, n, start, outs, centered),
                    )*
                    _ => self.convert_segment_wide(input, n, start, outs, centered),
                }
            };
        }
        fixed!(1 2 3 4 5 6 7 8 9 10 11 12)
    }

    /// The conversion of one segment from `K` source primes (key-switching digits have at most
    /// 12; `P`, plus `q_l` in the fused ModDown, at most 9 at the presets) as dot products of
    /// the `K` values `y_i` with the rows of `consts` (`qhat_i mod p_j`, in Montgomery form
    /// when `MONT`): one `u128` sum per target residue, reduced by [`Modulus::redc`] (`MONT`)
    /// or [`Modulus::reduce_u128`]. `K` is a constant so that a target's `K` constants live in
    /// registers and the dot product is unrolled: this loop is most of ModUp and ModDown.
    fn convert_segment_fixed<const K: usize, const MONT: bool>(
        &self,
        consts: &[Vec<u64>],
        input: &[u64],
        n: usize,
        start: usize,
        outs: &mut [&mut [u64]],
        centered: bool,
    ) {
        debug_assert_eq!(self.from.len(), K);
        let len = outs[0].len();
        // y transposed within a block (`yt[c][i]`): each output coefficient is a contiguous
        // dot product.
        let mut yt = vec![[0u64; K]; BLOCK];
        let mut v = [0usize; BLOCK];
        // `v Q mod p_j` for the correction `v = u + [x >= Q/2]` in `0..=K` of the centered
        // conversion, per target.
        let mut v_q = vec![0u64; K + 1];
        let mut b = 0;
        while b < len {
            let w = BLOCK.min(len - b);
            for (i, qi) in self.from.iter().enumerate() {
                let (inv, inv_s) = self.qhat_inv[i];
                let src = &input[i * n + start + b..i * n + start + b + w];
                for (row, &x) in yt.iter_mut().zip(src) {
                    row[i] = qi.mul_shoup(x, inv, inv_s);
                }
            }
            if centered {
                // v = round(sum_i y_i / q_i) = u + [x >= Q/2], at most K.
                for (vv, row) in v[..w].iter_mut().zip(&yt) {
                    let f: f64 = row.iter().zip(&self.q_inv).map(|(&y, &inv)| y as f64 * inv).sum();
                    *vv = ((f + 0.5) as usize).min(K);
                }
            }
            for (j, ((pj, out), cj)) in self.to.iter().zip(outs.iter_mut()).zip(consts).enumerate() {
                let cj: &[u64; K] = cj[..].try_into().expect("one constant per source prime");
                let out = &mut out[b..b + w];
                let dot = |row: &[u64; K]| {
                    let mut s = 0u128;
                    for i in 0..K {
                        s += row[i] as u128 * cj[i] as u128;
                    }
                    if MONT {
                        pj.redc(s)
                    } else {
                        pj.reduce_u128(s)
                    }
                };
                if centered {
                    for (t, vq) in v_q.iter_mut().enumerate() {
                        *vq = pj.mul(t as u64 % pj.value(), self.q_mod_p[j]);
                    }
                    for ((o, row), &vv) in out.iter_mut().zip(&yt).zip(&v[..w]) {
                        *o = pj.sub(dot(row), v_q[vv]);
                    }
                } else {
                    for (o, row) in out.iter_mut().zip(&yt) {
                        *o = dot(row);
                    }
                }
            }
            b += w;
        }
    }

    /// [`BasisConverter::convert_segment`] for more than [`MAX_ACCUMULATED`] source primes:
    /// partial sums reduced every `MAX_ACCUMULATED` terms.
    fn convert_segment_wide(&self, input: &[u64], n: usize, start: usize, outs: &mut [&mut [u64]], centered: bool) {
        let k = self.from.len();
        let len = outs[0].len();
        let mut y = vec![0u64; k * BLOCK];
        let mut acc = [0u128; BLOCK];
        let mut frac = [0f64; BLOCK];
        let mut v = [0u64; BLOCK];
        let mut b = 0;
        while b < len {
            let w = BLOCK.min(len - b);
            for (i, qi) in self.from.iter().enumerate() {
                let (inv, inv_s) = self.qhat_inv[i];
                let src = &input[i * n + start + b..i * n + start + b + w];
                for (d, &x) in y[i * BLOCK..i * BLOCK + w].iter_mut().zip(src) {
                    *d = qi.mul_shoup(x, inv, inv_s);
                }
            }
            if centered {
                // v = round(sum_i y_i / q_i) = u + [x >= Q/2].
                frac[..w].fill(0.0);
                for i in 0..k {
                    let inv = self.q_inv[i];
                    for (f, &yi) in frac[..w].iter_mut().zip(&y[i * BLOCK..i * BLOCK + w]) {
                        *f += yi as f64 * inv;
                    }
                }
                for (vv, &f) in v[..w].iter_mut().zip(&frac[..w]) {
                    *vv = (f + 0.5) as u64;
                }
            }
            for (j, pj) in self.to.iter().enumerate() {
                let coeffs = &self.qhat_mod_p[j];
                let out = &mut outs[j][b..b + w];
                for (chunk_start, chunk) in coeffs.chunks(MAX_ACCUMULATED).enumerate() {
                    let acc = &mut acc[..w];
                    acc.fill(0);
                    for (di, &c) in chunk.iter().enumerate() {
                        let i = chunk_start * MAX_ACCUMULATED + di;
                        for (a, &yi) in acc.iter_mut().zip(&y[i * BLOCK..i * BLOCK + w]) {
                            *a += (yi as u128) * (c as u128);
                        }
                    }
                    if chunk_start == 0 {
                        out.iter_mut().zip(acc.iter()).for_each(|(o, &a)| *o = pj.reduce_u128(a));
                    } else {
                        out.iter_mut().zip(acc.iter()).for_each(|(o, &a)| *o = pj.add(*o, pj.reduce_u128(a)));
                    }
                }
                if centered {
                    let qp = self.q_mod_p[j];
                    let qp_s = pj.shoup(qp);
                    for (o, &vv) in out.iter_mut().zip(&v[..w]) {
                        *o = pj.sub(*o, pj.mul_shoup(vv, qp, qp_s));
                    }
                }
            }
            b += w;
        }
    }
}

/// The ModUp / ModDown pair between `Q_l = q_0 ... q_l` (a prefix of basis `Q`) and the special
/// primes `P = p_0 ... p_{alpha-1}` (basis `P`), as used by hybrid key switching.
///
/// - [`ModUpDown::mod_up`]: `a mod Q_l -> [a]_{Q_l} mod P`, the centered representative in
///   `[-Q_l/2, Q_l/2)` (exact conversion, [`BasisConverter::convert_centered`]).
/// - [`ModUpDown::mod_down`]: `(a mod Q_l, a mod P) -> (a - [a]_P) / P mod Q_l` with the
///   centered `[a]_P`: `a / P` rounded to the nearest integer, an unbiased error of at most 1/2.
#[derive(Clone, Debug)]
pub struct ModUpDown {
    q: Arc<RnsBasis>,
    p: Arc<RnsBasis>,
    limbs: usize,
    up: BasisConverter,
    down: BasisConverter,
    /// `P^-1 mod q_i` with its Shoup constant.
    p_inv: Vec<(u64, u64)>,
}

impl ModUpDown {
    /// Constants for `Q_l` = the first `limbs` primes of `q` and all primes of `p`.
    pub fn new(q: &Arc<RnsBasis>, limbs: usize, p: &Arc<RnsBasis>) -> Result<Self, MathError> {
        if limbs == 0 || limbs > q.len() {
            return Err(MathError::Level {
                op: "ModUpDown::new",
                level: limbs.wrapping_sub(1),
                min: 0,
                max: q.len() - 1,
            });
        }
        if q.degree() != p.degree() {
            return Err(MathError::Mismatch {
                op: "ModUpDown::new",
                detail: format!("degrees differ: Q has {}, P has {}", q.degree(), p.degree()),
            });
        }
        let qm = &q.moduli()[..limbs];
        let up = BasisConverter::new(qm, p.moduli())?;
        let down = BasisConverter::new(p.moduli(), qm)?;
        let p_inv = qm
            .iter()
            .map(|qi| {
                let prod = qi.product_of(p.moduli());
                let inv = qi.inv(prod).expect("P and Q are coprime");
                (inv, qi.shoup(inv))
            })
            .collect();
        Ok(Self { q: q.clone(), p: p.clone(), limbs, up, down, p_inv })
    }

    /// Number of `Q` limbs handled.
    pub fn limbs(&self) -> usize {
        self.limbs
    }

    /// ModUp: the residues modulo `P` of the centered representative of `a` (given modulo `Q_l`,
    /// coefficient representation). Returns a coefficient-representation polynomial over `P`.
    pub fn mod_up(&self, a: &RnsPoly) -> Result<RnsPoly, MathError> {
        self.check_q("ModUpDown::mod_up", a)?;
        a.expect_repr("ModUpDown::mod_up", Representation::Coefficient)?;
        let n = a.degree();
        let mut out = RnsPoly::zero(&self.p, self.p.len(), Representation::Coefficient)?;
        self.up.convert_centered(a.data(), out.data_mut(), n);
        Ok(out)
    }

    /// ModDown: given `a` modulo `Q_l` (in `a_q`, either representation) and modulo `P` (in
    /// `a_p`, either representation), replaces `a_q` by `(a - [a]_P) / P mod Q_l` with the
    /// centered `[a]_P`: `a / P` rounded to the nearest integer. Keeps `a_q`'s representation.
    pub fn mod_down(&self, a_q: &mut RnsPoly, mut a_p: RnsPoly) -> Result<(), MathError> {
        self.check_q("ModUpDown::mod_down", a_q)?;
        if !a_p.basis().same_as(&self.p) || a_p.limbs() != self.p.len() {
            return Err(MathError::Mismatch {
                op: "ModUpDown::mod_down",
                detail: "a_p must hold every prime of P".into(),
            });
        }
        let n = a_q.degree();
        // Taken by value: key switching hands over its P accumulators, which need no copy.
        a_p.to_coeff();
        let mut corr = RnsPoly::zero(&self.q, self.limbs, Representation::Coefficient)?;
        self.down.convert_centered(a_p.data(), corr.data_mut(), n);
        if a_q.representation() == Representation::Ntt {
            corr.to_ntt();
        }
        let p_inv = &self.p_inv;
        let qm = self.q.moduli();
        crate::parallel::for_each_limb_zip(a_q.data_mut(), corr.data(), n, |i, a, c| {
            let (inv, inv_s) = p_inv[i];
            for (x, &y) in a.iter_mut().zip(c) {
                *x = qm[i].mul_shoup(qm[i].sub(*x, y), inv, inv_s);
            }
        });
        Ok(())
    }

    fn check_q(&self, op: &'static str, a: &RnsPoly) -> Result<(), MathError> {
        if !a.basis().same_as(&self.q) || a.limbs() != self.limbs {
            return Err(MathError::Mismatch {
                op,
                detail: format!("expected a polynomial with {} limbs over Q, got {} limbs", self.limbs, a.limbs()),
            });
        }
        Ok(())
    }
}
