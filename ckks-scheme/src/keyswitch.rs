//! Hybrid key switching (Han-Ki, eprint 2019/688).
//!
//! A [`SwitchingKey`] from `s'` to `s` holds, for every digit `j` (a block of `alpha`
//! consecutive primes of `Q`), a pair over `Q * P`:
//!
//! ```text
//! (b_j, a_j),   b_j = -a_j * s + e_j + P * g_j * s'     (mod Q * P)
//! ```
//!
//! where `g_j = 1 mod q_i` for the primes `q_i` of digit `j` and `0 mod` every other prime of
//! `Q`. Switching `c` (modulo `Q_l`) computes, per digit, `c_j = [c]_{Q_j}` raised to
//! `Q_l * P` (ModUp, fast basis conversion), the inner products
//! `(sum_j c_j * b_j, sum_j c_j * a_j)` over `Q_l * P`, and divides both by `P` (ModDown):
//! the result `(d_0, d_1)` satisfies `d_0 + d_1 * s = c * s' + e_ks` with a small `e_ks`.
//!
//! Cost at level `l` with `d = ceil((l+1)/alpha)` digits: `d` fast conversions, about
//! `d * (l + 1 + alpha)` forward NTTs, `2 * d * (l + 1 + alpha)` pointwise products, and the
//! ModDown (`2 * alpha` inverse and `2 * (l+1)` forward NTTs). No level is consumed.

use crate::{Parameters, SchemeError};
use ckks_math::{BasisConverter, MathError, ModUpDown, Representation, RnsBasis, RnsPoly};
use rayon::prelude::*;
use std::sync::Arc;

/// Where a converted limb goes: a prime of `Q` (by index) or of `P`.
#[derive(Clone, Copy, Debug)]
enum Target {
    Q(usize),
    P(usize),
}

/// ModUp constants of one digit at one level.
#[derive(Debug)]
struct DigitUp {
    /// The digit's primes are `q_start..q_end` (clipped to the level).
    start: usize,
    end: usize,
    conv: BasisConverter,
    targets: Vec<Target>,
}

/// Basis-conversion constants of key switching at one level (built once, cached in
/// [`Parameters`]).
#[derive(Debug)]
pub(crate) struct LevelKeySwitch {
    digits: Vec<DigitUp>,
    down: ModUpDown,
}

impl LevelKeySwitch {
    pub(crate) fn new(q: &Arc<RnsBasis>, p: &Arc<RnsBasis>, level: usize) -> Result<Self, MathError> {
        let alpha = p.len();
        let limbs = level + 1;
        let mut digits = Vec::new();
        let mut start = 0;
        while start < limbs {
            let end = (start + alpha).min(limbs);
            let mut targets: Vec<Target> = (0..limbs).filter(|i| !(start..end).contains(i)).map(Target::Q).collect();
            targets.extend((0..alpha).map(Target::P));
            let to: Vec<_> = targets
                .iter()
                .map(|t| match *t {
                    Target::Q(i) => *q.modulus(i),
                    Target::P(j) => *p.modulus(j),
                })
                .collect();
            let conv = BasisConverter::new(&q.moduli()[start..end], &to)?;
            digits.push(DigitUp { start, end, conv, targets });
            start = end;
        }
        Ok(Self { digits, down: ModUpDown::new(q, limbs, p)? })
    }
}

/// One digit of a switching key: `(b_j, a_j)` over `Q` (all levels) and `P`, NTT form.
#[derive(Clone, Debug)]
pub struct KeyDigit {
    pub(crate) b_q: RnsPoly,
    pub(crate) b_p: RnsPoly,
    pub(crate) a_q: RnsPoly,
    pub(crate) a_p: RnsPoly,
}

/// A key that switches ciphertext components from a secret `s'` to the secret `s`
/// (relinearization: `s' = s^2`; rotation by Galois element `k`: `s' = s(X^k)`).
///
/// Public: it reveals nothing about `s` or `s'` under RLWE. Size: `2 * dnum * (L + 1 + alpha)`
/// limbs of `N` words.
#[derive(Clone, Debug)]
pub struct SwitchingKey {
    pub(crate) params: Parameters,
    pub(crate) digits: Vec<KeyDigit>,
}

impl SwitchingKey {
    /// The parameters the key was made for.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// Number of digits (`dnum`).
    pub fn dnum(&self) -> usize {
        self.digits.len()
    }

    /// Size in bytes of the key material.
    pub fn size_bytes(&self) -> usize {
        self.digits
            .iter()
            .map(|d| 8 * (d.b_q.data().len() + d.b_p.data().len() + d.a_q.data().len() + d.a_p.data().len()))
            .sum()
    }

    /// Switches `c` (NTT form, over the first `l + 1` primes of `Q`) from `s'` to `s`:
    /// returns `(d_0, d_1)` with `d_0 + d_1 * s = c * s' + e_ks` (mod `Q_l`), both NTT form.
    pub fn switch(&self, c: &RnsPoly) -> Result<(RnsPoly, RnsPoly), SchemeError> {
        let params = &self.params;
        let q = params.q_basis();
        let p = params.p_basis();
        if !c.basis().same_as(q) {
            return Err(SchemeError::ParameterMismatch {
                op: "key switch",
                detail: "polynomial is not over the parameters' Q".into(),
            });
        }
        c.representation().eq(&Representation::Ntt).then_some(()).ok_or(MathError::Representation {
            op: "key switch",
            expected: "NTT",
            found: "coefficient",
        })?;
        let level = c.level();
        let ks = params.key_switch(level)?;
        let n = params.degree();
        let limbs = level + 1;
        let alpha = p.len();
        let mut c_coeff = c.clone();
        c_coeff.to_coeff();

        let mut acc0_q = vec![0u64; limbs * n];
        let mut acc1_q = vec![0u64; limbs * n];
        let mut acc0_p = vec![0u64; alpha * n];
        let mut acc1_p = vec![0u64; alpha * n];
        let mut raised = Vec::new();
        for (j, digit) in ks.digits.iter().enumerate() {
            let key = &self.digits[j];
            // ModUp: the digit's residues converted to every other prime, then to NTT form.
            raised.resize(digit.targets.len() * n, 0);
            digit.conv.convert(&c_coeff.data()[digit.start * n..digit.end * n], &mut raised, n);
            raised.par_chunks_exact_mut(n).zip(digit.targets.par_iter()).for_each(|(limb, t)| match *t {
                Target::Q(i) => q.ntt(i).forward(limb),
                Target::P(i) => p.ntt(i).forward(limb),
            });
            // Position of each Q limb's source in `raised` (the digit's own limbs come from c).
            let mut q_src: Vec<Option<usize>> = vec![None; limbs];
            let mut p_src: Vec<usize> = vec![0; alpha];
            for (pos, t) in digit.targets.iter().enumerate() {
                match *t {
                    Target::Q(i) => q_src[i] = Some(pos),
                    Target::P(i) => p_src[i] = pos,
                }
            }
            let raised = &raised;
            acc0_q.par_chunks_exact_mut(n).zip(acc1_q.par_chunks_exact_mut(n)).enumerate().for_each(|(i, (o0, o1))| {
                let src = match q_src[i] {
                    Some(pos) => &raised[pos * n..(pos + 1) * n],
                    None => c.limb(i),
                };
                mul_acc(q.modulus(i), src, key.b_q.limb(i), key.a_q.limb(i), o0, o1);
            });
            acc0_p.par_chunks_exact_mut(n).zip(acc1_p.par_chunks_exact_mut(n)).enumerate().for_each(|(i, (o0, o1))| {
                let pos = p_src[i];
                mul_acc(p.modulus(i), &raised[pos * n..(pos + 1) * n], key.b_p.limb(i), key.a_p.limb(i), o0, o1);
            });
        }
        let mut d0 = RnsPoly::from_data(q, limbs, Representation::Ntt, acc0_q)?;
        let mut d1 = RnsPoly::from_data(q, limbs, Representation::Ntt, acc1_q)?;
        let e0 = RnsPoly::from_data(p, alpha, Representation::Ntt, acc0_p)?;
        let e1 = RnsPoly::from_data(p, alpha, Representation::Ntt, acc1_p)?;
        ks.down.mod_down(&mut d0, &e0)?;
        ks.down.mod_down(&mut d1, &e1)?;
        Ok((d0, d1))
    }
}

/// `o0 += x * b`, `o1 += x * a` modulo `m`, all in `[0, m)`.
#[inline]
fn mul_acc(m: &ckks_math::Modulus, x: &[u64], b: &[u64], a: &[u64], o0: &mut [u64], o1: &mut [u64]) {
    for ((((&xv, &bv), &av), r0), r1) in x.iter().zip(b).zip(a).zip(o0.iter_mut()).zip(o1.iter_mut()) {
        *r0 = m.add(*r0, m.mul(xv, bv));
        *r1 = m.add(*r1, m.mul(xv, av));
    }
}
