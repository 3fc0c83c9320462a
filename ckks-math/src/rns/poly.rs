//! Polynomials of `Z_Q[X]/(X^N + 1)` in RNS form.

use super::basis::RnsBasis;
use crate::automorphism;
use crate::parallel::{for_each_limb, for_each_limb_with_scratch, for_each_limb_zip, zeroed};
use crate::{MathError, NttKernel};
use num_bigint::BigInt;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

#[cfg(target_arch = "x86_64")]
mod avx512;

/// `a = a b mod m` pointwise (reduced inputs), eight at a time where `kernel` runs AVX-512: the
/// limb kernel of [`RnsPoly::mul_assign`], the same words on every kernel.
pub(crate) fn mul_limb_with(kernel: NttKernel, m: &crate::Modulus, a: &mut [u64], b: &[u64]) {
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if kernel.runs_avx512() {
        // SAFETY: the CPU has AVX-512F and AVX-512DQ (runs_avx512 checks it); the inputs are
        // reduced limbs of one ring, of one length.
        done = unsafe { avx512::mul_limb(m, a, b) };
    }
    m.mul_vec(&mut a[done..], &b[done..]);
}

/// `acc = acc + x y mod m` pointwise (reduced inputs): the limb kernel of
/// [`RnsPoly::add_mul_assign`], as [`mul_limb_with`].
pub(crate) fn add_mul_limb_with(kernel: NttKernel, m: &crate::Modulus, acc: &mut [u64], x: &[u64], y: &[u64]) {
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if kernel.runs_avx512() {
        // SAFETY: as in mul_limb_with, for three slices of one length.
        done = unsafe { avx512::add_mul_limb(m, acc, x, y) };
    }
    for ((o, &u), &v) in acc[done..].iter_mut().zip(&x[done..]).zip(&y[done..]) {
        *o = m.add(*o, m.mul(u, v));
    }
}

/// The three output limbs of one tensor-product step.
type TensorLimbs<'a> = ((&'a mut [u64], &'a mut [u64]), &'a mut [u64]);

/// Which domain the limbs of an [`RnsPoly`] are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Representation {
    /// Coefficients `a_0..a_{N-1}` modulo each prime.
    Coefficient,
    /// Evaluations at the odd powers of `psi`, in the order of [`crate::ntt`].
    Ntt,
}

impl Representation {
    fn name(self) -> &'static str {
        match self {
            Representation::Coefficient => "coefficient",
            Representation::Ntt => "NTT",
        }
    }
}

impl fmt::Display for Representation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A polynomial of `Z_Q[X]/(X^N + 1)`, `Q = q_0 * ... * q_l`, stored limb-major: limb `i`
/// (its residues modulo `q_i`) is `data[i*N..(i+1)*N]`, every value in `[0, q_i)`.
///
/// It uses the first `l + 1` primes of its [`RnsBasis`]; `l` is its *level*. The
/// representation is tracked at run time, and every operation checks it, the basis and the
/// level of its operands, returning a [`MathError`] on mismatch.
#[derive(Clone, Debug)]
pub struct RnsPoly {
    basis: Arc<RnsBasis>,
    limbs: usize,
    repr: Representation,
    data: Vec<u64>,
}

impl PartialEq for RnsPoly {
    fn eq(&self, other: &Self) -> bool {
        self.basis.same_as(&other.basis)
            && self.limbs == other.limbs
            && self.repr == other.repr
            && self.data == other.data
    }
}
impl Eq for RnsPoly {}

fn check_limbs(op: &'static str, basis: &RnsBasis, limbs: usize) -> Result<(), MathError> {
    if limbs == 0 || limbs > basis.len() {
        return Err(MathError::Level { op, level: limbs.wrapping_sub(1), min: 0, max: basis.len() - 1 });
    }
    Ok(())
}

impl RnsPoly {
    /// The zero polynomial with `limbs` limbs in representation `repr`.
    pub fn zero(basis: &Arc<RnsBasis>, limbs: usize, repr: Representation) -> Result<Self, MathError> {
        check_limbs("RnsPoly::zero", basis, limbs)?;
        Ok(Self { basis: basis.clone(), limbs, repr, data: zeroed(limbs * basis.degree(), basis.degree()) })
    }

    /// Wraps limb-major `data` (length `limbs * N`); every value must be below its prime.
    pub fn from_data(
        basis: &Arc<RnsBasis>,
        limbs: usize,
        repr: Representation,
        data: Vec<u64>,
    ) -> Result<Self, MathError> {
        check_limbs("RnsPoly::from_data", basis, limbs)?;
        let n = basis.degree();
        if data.len() != limbs * n {
            return Err(MathError::Mismatch {
                op: "RnsPoly::from_data",
                detail: format!("data has {} words, expected {limbs} limbs x {n}", data.len()),
            });
        }
        for (i, limb) in data.chunks_exact(n).enumerate() {
            let q = basis.modulus(i).value();
            if let Some(pos) = limb.iter().position(|&x| x >= q) {
                return Err(MathError::Mismatch {
                    op: "RnsPoly::from_data",
                    detail: format!("limb {i} word {pos} is {} >= q_{i} = {q}", limb[pos]),
                });
            }
        }
        Ok(Self { basis: basis.clone(), limbs, repr, data })
    }

    /// The polynomial with small signed integer coefficients `coeffs` (length `N`), in
    /// coefficient representation.
    pub fn from_signed(basis: &Arc<RnsBasis>, limbs: usize, coeffs: &[i64]) -> Result<Self, MathError> {
        let mut p = Self::zero(basis, limbs, Representation::Coefficient)?;
        p.check_len("RnsPoly::from_signed", coeffs.len())?;
        let moduli = basis.moduli();
        for_each_limb(&mut p.data, basis.degree(), |i, limb| {
            let m = moduli[i];
            limb.iter_mut().zip(coeffs).for_each(|(o, &c)| *o = m.reduce_i64(c));
        });
        Ok(p)
    }

    /// The polynomial with arbitrary integer coefficients (reduced modulo every prime), in
    /// coefficient representation.
    pub fn from_bigint(basis: &Arc<RnsBasis>, limbs: usize, coeffs: &[BigInt]) -> Result<Self, MathError> {
        let mut p = Self::zero(basis, limbs, Representation::Coefficient)?;
        p.check_len("RnsPoly::from_bigint", coeffs.len())?;
        let crt = basis.crt(limbs)?;
        let n = basis.degree();
        let mut res = vec![0u64; limbs];
        for (j, c) in coeffs.iter().enumerate() {
            crt.decompose(c, &mut res);
            for i in 0..limbs {
                p.data[i * n + j] = res[i];
            }
        }
        Ok(p)
    }

    /// Coefficients as centered integers in `(-Q/2, Q/2]` (exact CRT with big integers).
    ///
    /// Needs coefficient representation.
    pub fn to_bigint_centered(&self) -> Result<Vec<BigInt>, MathError> {
        self.expect_repr("RnsPoly::to_bigint_centered", Representation::Coefficient)?;
        let crt = self.basis.crt(self.limbs)?;
        let n = self.degree();
        let mut res = vec![0u64; self.limbs];
        Ok((0..n)
            .map(|j| {
                for i in 0..self.limbs {
                    res[i] = self.data[i * n + j];
                }
                crt.compose_centered(&res)
            })
            .collect())
    }

    fn check_len(&self, op: &'static str, len: usize) -> Result<(), MathError> {
        if len != self.degree() {
            return Err(MathError::Mismatch { op, detail: format!("{len} coefficients for degree {}", self.degree()) });
        }
        Ok(())
    }

    /// The basis the limbs are taken from.
    #[inline]
    pub fn basis(&self) -> &Arc<RnsBasis> {
        &self.basis
    }

    /// Ring degree `N`.
    #[inline]
    pub fn degree(&self) -> usize {
        self.basis.degree()
    }

    /// Number of active primes.
    #[inline]
    pub fn limbs(&self) -> usize {
        self.limbs
    }

    /// Level: number of active primes minus one.
    #[inline]
    pub fn level(&self) -> usize {
        self.limbs - 1
    }

    /// Current representation.
    #[inline]
    pub fn representation(&self) -> Representation {
        self.repr
    }

    /// Limb `i` (residues modulo `q_i`).
    #[inline]
    pub fn limb(&self, i: usize) -> &[u64] {
        let n = self.degree();
        &self.data[i * n..(i + 1) * n]
    }

    /// Limb `i`, mutable; the caller keeps values in `[0, q_i)`.
    #[inline]
    pub fn limb_mut(&mut self, i: usize) -> &mut [u64] {
        let n = self.degree();
        &mut self.data[i * n..(i + 1) * n]
    }

    /// All limbs, limb-major.
    #[inline]
    pub fn data(&self) -> &[u64] {
        &self.data
    }

    /// All limbs, mutable; the caller keeps values in range.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u64] {
        &mut self.data
    }

    /// Consumes the polynomial and returns its limb-major words.
    pub fn into_data(self) -> Vec<u64> {
        self.data
    }

    /// Relabels the representation without transforming; for callers that filled the
    /// limbs themselves.
    pub fn set_representation_unchecked(&mut self, repr: Representation) {
        self.repr = repr;
    }

    pub(crate) fn expect_repr(&self, op: &'static str, want: Representation) -> Result<(), MathError> {
        if self.repr != want {
            return Err(MathError::Representation { op, expected: want.name(), found: self.repr.name() });
        }
        Ok(())
    }

    fn check_same_ring(&self, op: &'static str, other: &Self) -> Result<(), MathError> {
        if !self.basis.same_as(&other.basis) {
            return Err(MathError::Mismatch { op, detail: "operands live over different RNS bases".into() });
        }
        if self.limbs != other.limbs {
            return Err(MathError::Mismatch {
                op,
                detail: format!("levels differ: {} and {}", self.level(), other.level()),
            });
        }
        if self.repr != other.repr {
            return Err(MathError::Representation { op, expected: self.repr.name(), found: other.repr.name() });
        }
        Ok(())
    }

    /// Forward NTT of every limb (no-op when already in NTT representation).
    /// Cost: `limbs * N/2 log N` Shoup products.
    pub fn to_ntt(&mut self) {
        if self.repr == Representation::Ntt {
            return;
        }
        let basis = self.basis.clone();
        for_each_limb(&mut self.data, basis.degree(), |i, limb| basis.ntt(i).forward(limb));
        self.repr = Representation::Ntt;
    }

    /// Inverse NTT of every limb (no-op when already in coefficient representation).
    pub fn to_coeff(&mut self) {
        if self.repr == Representation::Coefficient {
            return;
        }
        let basis = self.basis.clone();
        for_each_limb(&mut self.data, basis.degree(), |i, limb| basis.ntt(i).inverse(limb));
        self.repr = Representation::Coefficient;
    }

    /// `self += other` (any representation, both the same).
    pub fn add_assign(&mut self, other: &Self) -> Result<(), MathError> {
        self.check_same_ring("RnsPoly::add_assign", other)?;
        let m = self.basis.moduli();
        for_each_limb_zip(&mut self.data, &other.data, self.basis.degree(), |i, a, b| m[i].add_vec(a, b));
        Ok(())
    }

    /// `self + other` into a new polynomial: one pass over both inputs (cheaper than a clone
    /// followed by [`RnsPoly::add_assign`]).
    pub fn add(&self, other: &Self) -> Result<Self, MathError> {
        self.binary_new("RnsPoly::add", other, |m, x, y| m.add(x, y))
    }

    /// `self - other` into a new polynomial.
    pub fn sub(&self, other: &Self) -> Result<Self, MathError> {
        self.binary_new("RnsPoly::sub", other, |m, x, y| m.sub(x, y))
    }

    fn binary_new(
        &self,
        op: &'static str,
        other: &Self,
        f: impl Fn(&crate::Modulus, u64, u64) -> u64 + Sync + Send,
    ) -> Result<Self, MathError> {
        self.check_same_ring(op, other)?;
        let n = self.degree();
        let m = self.basis.moduli();
        let mut data = Vec::with_capacity(self.data.len());
        // Build each limb by collecting, so no zero-fill pass precedes the writes.
        for i in 0..self.limbs {
            let (x, y) = (&self.data[i * n..(i + 1) * n], &other.data[i * n..(i + 1) * n]);
            data.extend(x.iter().zip(y).map(|(&a, &b)| f(&m[i], a, b)));
        }
        Ok(Self { basis: self.basis.clone(), limbs: self.limbs, repr: self.repr, data })
    }

    /// `self -= other` (any representation, both the same).
    pub fn sub_assign(&mut self, other: &Self) -> Result<(), MathError> {
        self.check_same_ring("RnsPoly::sub_assign", other)?;
        let m = self.basis.moduli();
        for_each_limb_zip(&mut self.data, &other.data, self.basis.degree(), |i, a, b| m[i].sub_vec(a, b));
        Ok(())
    }

    /// `self = -self`.
    pub fn neg_assign(&mut self) {
        let m = self.basis.moduli();
        for_each_limb(&mut self.data, self.basis.degree(), |i, a| m[i].neg_vec(a));
    }

    /// `self *= other`, the ring product; both must be in NTT representation (pointwise,
    /// Barrett). Cost: `limbs * N` modular products; under [`NttKernel::Avx512`], eight at a
    /// time (`poly/avx512.rs`), the same words.
    pub fn mul_assign(&mut self, other: &Self) -> Result<(), MathError> {
        self.check_same_ring("RnsPoly::mul_assign", other)?;
        self.expect_repr("RnsPoly::mul_assign", Representation::Ntt)?;
        let m = self.basis.moduli();
        let kernel = NttKernel::active();
        for_each_limb_zip(&mut self.data, &other.data, self.basis.degree(), |i, a, b| {
            mul_limb_with(kernel, &m[i], a, b)
        });
        Ok(())
    }

    /// `self += a * b` (NTT representation), without a temporary. Under
    /// [`NttKernel::Avx512`], eight coefficients at a time (`poly/avx512.rs`), the same words.
    pub fn add_mul_assign(&mut self, a: &Self, b: &Self) -> Result<(), MathError> {
        self.check_same_ring("RnsPoly::add_mul_assign", a)?;
        self.check_same_ring("RnsPoly::add_mul_assign", b)?;
        self.expect_repr("RnsPoly::add_mul_assign", Representation::Ntt)?;
        let m = self.basis.moduli();
        let n = self.degree();
        let kernel = NttKernel::active();
        for_each_limb(&mut self.data, n, |i, acc| {
            let (x, y) = (&a.data[i * n..(i + 1) * n], &b.data[i * n..(i + 1) * n]);
            add_mul_limb_with(kernel, &m[i], acc, x, y);
        });
        Ok(())
    }

    /// The tensor product of `(a0, a1)` and `(b0, b1)` (all NTT form, same ring):
    /// `[a0 b0, a0 b1 + a1 b0, a1 b1]`, in one pass over the inputs with the middle sum
    /// reduced once (two products accumulated in `u128`). Cost: 4 word products and 3
    /// reductions per coefficient per limb. Under [`NttKernel::Avx512`], eight coefficients at a
    /// time (`poly/avx512.rs`), the same words.
    pub fn tensor(a0: &Self, a1: &Self, b0: &Self, b1: &Self) -> Result<[Self; 3], MathError> {
        for x in [a1, b0, b1] {
            a0.check_same_ring("RnsPoly::tensor", x)?;
        }
        a0.expect_repr("RnsPoly::tensor", Representation::Ntt)?;
        let n = a0.degree();
        let m = a0.basis.moduli();
        let mut d0 = zeroed(a0.data.len(), n);
        let mut d1 = zeroed(a0.data.len(), n);
        let mut d2 = zeroed(a0.data.len(), n);
        #[cfg(target_arch = "x86_64")]
        let simd = NttKernel::active().runs_avx512();
        let body = |(i, ((o0, o1), o2)): (usize, TensorLimbs<'_>)| {
            let mi = m[i];
            let r = i * n..(i + 1) * n;
            let (x0, x1, y0, y1) = (&a0.data[r.clone()], &a1.data[r.clone()], &b0.data[r.clone()], &b1.data[r]);
            #[allow(unused_mut)]
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if simd {
                // SAFETY: the CPU has AVX-512F and AVX-512DQ (checked below); every slice has
                // n words and the inputs are reduced (NTT form).
                done = unsafe { avx512::tensor_limb(&mi, x0, x1, y0, y1, o0, o1, o2) };
            }
            for c in done..n {
                let (u0, u1, v0, v1) = (x0[c] as u128, x1[c] as u128, y0[c] as u128, y1[c] as u128);
                o0[c] = mi.reduce_u128(u0 * v0);
                o1[c] = mi.reduce_u128(u0 * v1 + u1 * v0);
                o2[c] = mi.reduce_u128(u1 * v1);
            }
        };
        if crate::parallel::is_parallel() && a0.limbs > 1 && a0.data.len() >= crate::parallel::PARALLEL_MIN_WORDS {
            use rayon::prelude::*;
            d0.par_chunks_exact_mut(n)
                .zip(d1.par_chunks_exact_mut(n))
                .zip(d2.par_chunks_exact_mut(n))
                .enumerate()
                .for_each(body);
        } else {
            d0.chunks_exact_mut(n).zip(d1.chunks_exact_mut(n)).zip(d2.chunks_exact_mut(n)).enumerate().for_each(body);
        }
        let wrap = |data| Self { basis: a0.basis.clone(), limbs: a0.limbs, repr: Representation::Ntt, data };
        Ok([wrap(d0), wrap(d1), wrap(d2)])
    }

    /// `self *= c` for an integer `c` (reduced modulo every prime; any representation).
    pub fn mul_scalar_assign(&mut self, c: u64) {
        let m = self.basis.moduli();
        for_each_limb(&mut self.data, self.basis.degree(), |i, a| m[i].mul_scalar_vec(a, m[i].reduce(c)));
    }

    /// `self *= c` for a constant given by its residues `c[i] mod q_i` (one per limb).
    pub fn mul_rns_scalar_assign(&mut self, c: &[u64]) -> Result<(), MathError> {
        if c.len() < self.limbs {
            return Err(MathError::Mismatch {
                op: "RnsPoly::mul_rns_scalar_assign",
                detail: format!("{} residues for {} limbs", c.len(), self.limbs),
            });
        }
        let m = self.basis.moduli();
        for_each_limb(&mut self.data, self.basis.degree(), |i, a| m[i].mul_scalar_vec(a, m[i].reduce(c[i])));
        Ok(())
    }

    /// `self *= w` for a Shoup-prepared `w` (both NTT representation). About twice as fast as
    /// [`RnsPoly::mul_assign`]; worth it when `w` multiplies many polynomials (plaintexts,
    /// keys).
    pub fn mul_shoup_assign(&mut self, w: &ShoupPoly) -> Result<(), MathError> {
        self.check_same_ring("RnsPoly::mul_shoup_assign", &w.poly)?;
        self.expect_repr("RnsPoly::mul_shoup_assign", Representation::Ntt)?;
        let m = self.basis.moduli();
        let n = self.degree();
        for_each_limb(&mut self.data, n, |i, a| {
            let r = i * n..(i + 1) * n;
            m[i].mul_shoup_vec(a, &w.poly.data[r.clone()], &w.shoup[r]);
        });
        Ok(())
    }

    /// `sigma_k(self) = self(X^k)` for odd `k`, in either representation (a signed
    /// permutation of coefficients, or a permutation of NTT slots). No level is consumed.
    pub fn automorphism(&self, k: usize) -> Result<Self, MathError> {
        let n = self.degree();
        automorphism::check_galois_element(k, n)?;
        let mut out = Self { data: zeroed(self.data.len(), n), ..self.clone_empty() };
        match self.repr {
            Representation::Coefficient => {
                let m = self.basis.moduli();
                for_each_limb(&mut out.data, n, |i, o| automorphism::apply_coeff(self.limb(i), k, m[i].value(), o));
            }
            Representation::Ntt => {
                let table = automorphism::ntt_permutation(n, k)?;
                self.automorphism_ntt_into(&table, &mut out)?;
            }
        }
        Ok(out)
    }

    /// `sigma_k` in the NTT domain with a precomputed gather table
    /// ([`automorphism::ntt_permutation`]), written into `out` (same shape as `self`).
    pub fn automorphism_ntt_into(&self, table: &[usize], out: &mut Self) -> Result<(), MathError> {
        self.expect_repr("RnsPoly::automorphism_ntt_into", Representation::Ntt)?;
        out.limbs = self.limbs;
        out.repr = Representation::Ntt;
        out.data.resize(self.data.len(), 0);
        if table.len() != self.degree() {
            return Err(MathError::Mismatch {
                op: "RnsPoly::automorphism_ntt_into",
                detail: format!("table of length {} for degree {}", table.len(), self.degree()),
            });
        }
        for_each_limb(&mut out.data, self.degree(), |i, o| automorphism::apply_ntt(self.limb(i), table, o));
        Ok(())
    }

    /// `self += sigma_k(src)` in the NTT domain with a precomputed gather table: slot `j` gets
    /// `src[table[j]]` added, in one pass and without materialising `sigma_k(src)`.
    pub fn add_automorphism_ntt_assign(&mut self, src: &Self, table: &[usize]) -> Result<(), MathError> {
        self.check_same_ring("RnsPoly::add_automorphism_ntt_assign", src)?;
        self.expect_repr("RnsPoly::add_automorphism_ntt_assign", Representation::Ntt)?;
        let n = self.degree();
        if table.len() != n {
            return Err(MathError::Mismatch {
                op: "RnsPoly::add_automorphism_ntt_assign",
                detail: format!("table of length {} for degree {n}", table.len()),
            });
        }
        let m = self.basis.moduli();
        for_each_limb(&mut self.data, n, |i, o| {
            let (mi, s) = (m[i], &src.data[i * n..(i + 1) * n]);
            for (x, &t) in o.iter_mut().zip(table) {
                *x = mi.add(*x, s[t]);
            }
        });
        Ok(())
    }

    fn clone_empty(&self) -> Self {
        Self { basis: self.basis.clone(), limbs: self.limbs, repr: self.repr, data: Vec::new() }
    }

    /// Drops the last limb: reduces `Q` to `Q / q_l` without dividing (the value must already
    /// be small, or the caller wants the residue modulo the smaller `Q`). Level `l -> l - 1`.
    pub fn drop_last_limb(&mut self) -> Result<(), MathError> {
        self.drop_to_limbs(self.limbs - 1)
    }

    /// A copy of the first `limbs` limbs: `clone` then [`RnsPoly::drop_to_limbs`], copying only
    /// the limbs kept.
    pub fn prefix(&self, limbs: usize) -> Result<Self, MathError> {
        self.check_kept_limbs("RnsPoly::prefix", limbs)?;
        let data = self.data[..limbs * self.degree()].to_vec();
        Ok(Self { basis: self.basis.clone(), limbs, repr: self.repr, data })
    }

    /// Keeps only the first `limbs` limbs.
    pub fn drop_to_limbs(&mut self, limbs: usize) -> Result<(), MathError> {
        self.check_kept_limbs("RnsPoly::drop_to_limbs", limbs)?;
        self.limbs = limbs;
        self.data.truncate(limbs * self.degree());
        Ok(())
    }

    /// Keeping `limbs` limbs needs at least one and at most the current count.
    fn check_kept_limbs(&self, op: &'static str, limbs: usize) -> Result<(), MathError> {
        if limbs == 0 || limbs > self.limbs {
            return Err(MathError::Level { op, level: limbs.wrapping_sub(1), min: 0, max: self.level() });
        }
        Ok(())
    }

    /// Divides by the last prime `q_l` and rounds: `round(a / q_l)` over `Q / q_l`; level
    /// `l -> l - 1`. Works in either representation (in NTT form it costs one inverse NTT of the
    /// last limb and `l` forward NTTs).
    ///
    /// `round(a / q_l) = (a + h - [a + h]_{q_l}) / q_l` with `h = (q_l - 1) / 2`, computed per
    /// remaining prime `q_i` as `(a_i - ([a_l + h]_{q_l} - h) mod q_i) * q_l^-1`.
    pub fn rescale(&mut self) -> Result<(), MathError> {
        if self.limbs < 2 {
            return Err(MathError::Level {
                op: "RnsPoly::rescale",
                level: self.level(),
                min: 1,
                max: self.basis.len() - 1,
            });
        }
        let n = self.degree();
        let l = self.limbs - 1;
        let basis = self.basis.clone();
        let ql = *basis.modulus(l);
        let h = (ql.value() - 1) / 2;
        let (head, last) = self.data.split_at_mut(l * n);
        if self.repr == Representation::Ntt {
            basis.ntt(l).inverse(last);
        }
        // [a_l + h]_{q_l}
        last.iter_mut().for_each(|x| *x = ql.add(*x, h));
        let last: &[u64] = last;
        let consts = basis.rescale_constants(l);
        let repr = self.repr;
        for_each_limb_with_scratch(head, n, |i, a, t| {
            let qi = *basis.modulus(i);
            let q = qi.value();
            let (inv, inv_shoup) = consts[i];
            let h_i = qi.reduce(h);
            // t = [a_l + h]_{q_l} - h mod q_i, taken to the representation of a. The `+ h`
            // must act on every coefficient, so it is applied in the coefficient domain. Kept
            // lazy in [0, 2q_i): the forward NTT accepts [0, 4q).
            if ql.value() <= 2 * q {
                // Primes of similar size (the usual chain): one conditional subtraction.
                for (ti, &x) in t.iter_mut().zip(last) {
                    let r = if x >= q { x - q } else { x };
                    *ti = r + q - h_i;
                }
            } else {
                for (ti, &x) in t.iter_mut().zip(last) {
                    *ti = qi.reduce(x) + q - h_i;
                }
            }
            if repr == Representation::Ntt {
                basis.ntt(i).forward_lazy(t);
            }
            // (a - t) * q_l^-1, t lazy below 4q.
            crate::rns::sub_scale::sub_scale(&qi, a, t, inv, inv_shoup);
        });
        self.limbs = l;
        self.data.truncate(l * n);
        Ok(())
    }
}

/// A polynomial in NTT form together with the Shoup constants of its values, for repeated
/// multiplication by it ([`RnsPoly::mul_shoup_assign`]). Doubles the memory of the polynomial.
#[derive(Clone, Debug)]
pub struct ShoupPoly {
    poly: RnsPoly,
    shoup: Vec<u64>,
}

impl ShoupPoly {
    /// Prepares `poly` (converted to NTT representation if needed).
    pub fn new(mut poly: RnsPoly) -> Self {
        poly.to_ntt();
        let n = poly.degree();
        let mut shoup = vec![0u64; poly.data.len()];
        let m = poly.basis.moduli();
        for_each_limb_zip(&mut shoup, &poly.data, n, |i, s, w| {
            s.iter_mut().zip(w).for_each(|(s, &w)| *s = m[i].shoup(w));
        });
        Self { poly, shoup }
    }

    /// The prepared polynomial.
    pub fn poly(&self) -> &RnsPoly {
        &self.poly
    }
}
