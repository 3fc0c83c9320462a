//! Homomorphic operations. An [`Evaluator`] holds only [`EvaluationKeys`] (public material):
//! the server side never touches a secret key.

use crate::ciphertext::{check_scale, Ciphertext, Plaintext};
use crate::keys::{rotation_element, EvaluationKeys};
use crate::keyswitch::{Decomposition, SwitchingKey};
use crate::scale::Scale;
use crate::{Complex, Parameters, SchemeError};
use ckks_math::automorphism::conjugation_galois_element;
use ckks_math::rns::product_sums::{add_product_sums, Factor, Term};
use ckks_math::RnsPoly;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Largest relative difference `|s_1 / s_2 - 1|` between scales that additions accept: only
/// floating-point noise of the scale bookkeeping. Adding values whose scales differ by `r`
/// silently adds a relative error `r`, and scales of ciphertexts that took different paths
/// differ by about `2^-20` per rescale (primes are only close to `2^bits`), so such sums are
/// refused with [`SchemeError::ScaleMismatch`]; bring them to one scale with
/// [`Evaluator::mul_const`] or accept the error explicitly with [`Ciphertext::set_scale`].
pub const SCALE_TOLERANCE: f64 = 1.0 / (1u64 << 40) as f64;

/// Whether scales `a` and `b` agree within [`SCALE_TOLERANCE`], as sums require. A NaN scale
/// agrees with none.
pub fn scales_match(a: f64, b: f64) -> bool {
    ((a / b) - 1.0).abs() <= SCALE_TOLERANCE
}

/// Evaluates additions, products, rescaling, relinearization, rotations and conjugation on
/// ciphertexts. Thread-safe (`&self` everywhere); share one per process.
#[derive(Clone, Debug)]
pub struct Evaluator {
    params: Parameters,
    keys: Option<Arc<EvaluationKeys>>,
}

impl Evaluator {
    /// An evaluator with the server's key bundle.
    pub fn new(keys: Arc<EvaluationKeys>) -> Self {
        Self { params: keys.params.clone(), keys: Some(keys) }
    }

    /// An evaluator without keys: linear operations, plaintext products and rescaling only.
    pub fn without_keys(params: &Parameters) -> Self {
        Self { params: params.clone(), keys: None }
    }

    /// The parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// The key bundle, if any.
    pub fn keys(&self) -> Option<&Arc<EvaluationKeys>> {
        self.keys.as_ref()
    }

    /// The Galois key of element `k`, or [`SchemeError::MissingGaloisKey`] naming `op`, `k`
    /// and the rotation it stands for (if any).
    pub(crate) fn galois_key(
        &self,
        op: &'static str,
        k: usize,
        rotation: Option<i64>,
    ) -> Result<&SwitchingKey, SchemeError> {
        self.keys.as_ref().and_then(|keys| keys.galois.get(k)).ok_or(SchemeError::MissingGaloisKey {
            op,
            galois_element: k,
            rotation,
        })
    }

    fn check_ct(&self, op: &'static str, ct: &Ciphertext) -> Result<(), SchemeError> {
        self.params.check_same(op, &ct.params)
    }

    fn check_pair(&self, op: &'static str, a: &Ciphertext, b: &Ciphertext) -> Result<(), SchemeError> {
        self.check_ct(op, a)?;
        self.check_ct(op, b)?;
        if a.level() != b.level() {
            return Err(SchemeError::LevelMismatch { op, left: a.level(), right: b.level() });
        }
        Ok(())
    }

    fn check_scales(op: &'static str, a: f64, b: f64) -> Result<(), SchemeError> {
        if !scales_match(a, b) {
            return Err(SchemeError::ScaleMismatch { op, left_log2: a.log2(), right_log2: b.log2() });
        }
        Ok(())
    }

    /// `a + b`; levels equal, scales equal up to [`SCALE_TOLERANCE`]. No level consumed.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.sum_new("add", a, b, RnsPoly::add, RnsPoly::add_assign)
    }

    /// `a += b`.
    pub fn add_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<(), SchemeError> {
        self.check_sum("add", a, b)?;
        self.combine(a, b, RnsPoly::add_assign)
    }

    /// `a - b`.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.sum_new("sub", a, b, RnsPoly::sub, RnsPoly::sub_assign)
    }

    /// `a -= b`.
    pub fn sub_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<(), SchemeError> {
        self.check_sum("sub", a, b)?;
        self.combine(a, b, RnsPoly::sub_assign)
    }

    /// Levels and scales of the two operands of a sum or difference.
    fn check_sum(&self, op: &'static str, a: &Ciphertext, b: &Ciphertext) -> Result<(), SchemeError> {
        self.check_pair(op, a, b)?;
        Self::check_scales(op, a.scale(), b.scale())
    }

    /// `a ± b` into a new ciphertext: one pass per component when the sizes agree (no clone),
    /// otherwise a clone of `a` padded with zero components.
    fn sum_new(
        &self,
        op: &'static str,
        a: &Ciphertext,
        b: &Ciphertext,
        new: fn(&RnsPoly, &RnsPoly) -> Result<RnsPoly, ckks_math::MathError>,
        assign: fn(&mut RnsPoly, &RnsPoly) -> Result<(), ckks_math::MathError>,
    ) -> Result<Ciphertext, SchemeError> {
        self.check_sum(op, a, b)?;
        if a.size() != b.size() {
            let mut out = a.clone();
            self.combine(&mut out, b, assign)?;
            return Ok(out);
        }
        let c = a.c.iter().zip(&b.c).map(|(x, y)| new(x, y)).collect::<Result<Vec<_>, _>>()?;
        Ok(Ciphertext { params: a.params.clone(), c, scale: a.scale })
    }

    fn combine(
        &self,
        a: &mut Ciphertext,
        b: &Ciphertext,
        f: impl Fn(&mut RnsPoly, &RnsPoly) -> Result<(), ckks_math::MathError>,
    ) -> Result<(), SchemeError> {
        while a.c.len() < b.c.len() {
            let z = RnsPoly::zero(b.c[0].basis(), b.c[0].limbs(), b.c[0].representation())?;
            a.c.push(z);
        }
        for (x, y) in a.c.iter_mut().zip(&b.c) {
            f(x, y)?;
        }
        Ok(())
    }

    /// `-a`.
    pub fn neg(&self, a: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.check_ct("neg", a)?;
        let mut out = a.clone();
        out.c.iter_mut().for_each(|p| p.neg_assign());
        Ok(out)
    }

    fn check_plain(&self, op: &'static str, a: &Ciphertext, p: &Plaintext) -> Result<(), SchemeError> {
        self.check_ct(op, a)?;
        self.params.check_same(op, &p.params)?;
        if a.level() != p.level() {
            return Err(SchemeError::LevelMismatch { op, left: a.level(), right: p.level() });
        }
        Ok(())
    }

    /// `a + p` for a plaintext at the same level and scale.
    pub fn add_plain(&self, a: &Ciphertext, p: &Plaintext) -> Result<Ciphertext, SchemeError> {
        self.check_plain("add_plain", a, p)?;
        Self::check_scales("add_plain", a.scale(), p.scale)?;
        let mut out = a.clone();
        out.c[0].add_assign(&p.poly)?;
        Ok(out)
    }

    /// `a - p` for a plaintext at the same level and scale.
    pub fn sub_plain(&self, a: &Ciphertext, p: &Plaintext) -> Result<Ciphertext, SchemeError> {
        self.check_plain("sub_plain", a, p)?;
        Self::check_scales("sub_plain", a.scale(), p.scale)?;
        let mut out = a.clone();
        out.c[0].sub_assign(&p.poly)?;
        Ok(out)
    }

    /// `a * p` (slot-wise), scale `scale(a) * scale(p)`; rescale afterwards. No level consumed
    /// until the rescale.
    pub fn mul_plain(&self, a: &Ciphertext, p: &Plaintext) -> Result<Ciphertext, SchemeError> {
        self.check_plain("mul_plain", a, p)?;
        let mut out = a.clone();
        for c in out.c.iter_mut() {
            c.mul_assign(&p.poly)?;
        }
        out.scale = a.scale.mul(Scale::new(p.scale));
        Ok(out)
    }

    /// `acc += a * p` in place (no temporary ciphertext): the multiply-accumulate of
    /// diagonal products. `acc` must have the scale `scale(a) * scale(p)` (within
    /// [`SCALE_TOLERANCE`]) and the level of `a`. No level consumed.
    pub fn add_mul_plain_assign(&self, acc: &mut Ciphertext, a: &Ciphertext, p: &Plaintext) -> Result<(), SchemeError> {
        self.check_plain("add_mul_plain_assign", a, p)?;
        self.check_pair("add_mul_plain_assign", acc, a)?;
        if acc.size() != a.size() {
            return Err(SchemeError::Degree { op: "add_mul_plain_assign", expected: a.size(), found: acc.size() });
        }
        Self::check_scales("add_mul_plain_assign", acc.scale.value(), a.scale.mul(Scale::new(p.scale)).value())?;
        for (c, x) in acc.c.iter_mut().zip(&a.c) {
            c.add_mul_assign(x, &p.poly)?;
        }
        Ok(())
    }

    /// `a + c` for a real constant `c` in every slot (adds `round(c * scale)` to the constant
    /// coefficient). No level consumed.
    pub fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, SchemeError> {
        let mut out = a.clone();
        self.add_const_assign(&mut out, c)?;
        Ok(out)
    }

    /// [`Evaluator::add_const`] in place: `a <- a + c`, without a copy of `a`.
    pub fn add_const_assign(&self, a: &mut Ciphertext, c: f64) -> Result<(), SchemeError> {
        self.check_ct("add_const", a)?;
        let v = round_const("add_const", c * a.scale(), a)?;
        let limbs = a.c[0].limbs();
        let basis = a.c[0].basis().clone();
        for i in 0..limbs {
            let m = *basis.modulus(i);
            let r = m.reduce_i128(v);
            // The constant polynomial is `r` in every NTT slot.
            a.c[0].limb_mut(i).iter_mut().for_each(|x| *x = m.add(*x, r));
        }
        Ok(())
    }

    /// `a * c` for a real constant, encoded at scale `q_l` (the prime the next rescale divides
    /// by), so that `rescale(mul_const(a, c))` has exactly the scale of `a`. Needs level >= 1
    /// to be followed by a rescale.
    pub fn mul_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, SchemeError> {
        self.check_ct("mul_const", a)?;
        if a.level() == 0 {
            // At level 0 the product's scale would exceed q_0 and nothing could rescale it.
            return Err(SchemeError::OutOfLevels { op: "mul_const", level: 0, needed: 1 });
        }
        let basis = a.c[0].basis().clone();
        let q_last = basis.modulus(a.level()).value() as f64;
        let v = round_const("mul_const", c * q_last, a)?;
        let residues: Vec<u64> = (0..=a.level()).map(|i| basis.modulus(i).reduce_i128(v)).collect();
        let mut out = a.clone();
        for p in out.c.iter_mut() {
            p.mul_rns_scalar_assign(&residues)?;
        }
        out.scale = a.scale.mul(Scale::new(q_last));
        Ok(out)
    }

    /// `a * c` with the constant encoded at `const_scale` (rounded to an integer): the result
    /// has scale `scale(a) * const_scale` and is not rescaled. Lets a sum of products with
    /// different constants share one rescale when each `const_scale` is chosen so that the
    /// products' scales agree (lazy rescaling). Errors if `c * const_scale` does not fit.
    pub fn mul_const_at_scale(&self, a: &Ciphertext, c: f64, const_scale: f64) -> Result<Ciphertext, SchemeError> {
        self.check_ct("mul_const_at_scale", a)?;
        check_scale("mul_const_at_scale", const_scale)?;
        let basis = a.c[0].basis().clone();
        let v = round_const("mul_const_at_scale", c * const_scale, a)?;
        let residues: Vec<u64> = (0..=a.level()).map(|i| basis.modulus(i).reduce_i128(v)).collect();
        let mut out = a.clone();
        for p in out.c.iter_mut() {
            p.mul_rns_scalar_assign(&residues)?;
        }
        out.scale = a.scale.mul(Scale::new(const_scale));
        Ok(out)
    }

    /// `sum_j round(c_j s_j) a_j`: each constant `c_j` encoded at its own scale `s_j` (rounded
    /// to an integer) and every term read at `level` (the primes above it are ignored, nothing
    /// is copied). The result, at `level`, has the scale `scale(a_j) * s_j`, which must agree
    /// for every term (within [`SCALE_TOLERANCE`]), and is **not** rescaled: the baby-step sums
    /// of polynomial evaluation ([`Evaluator::mul_const_at_scale`] per term, then additions) in
    /// one pass, each coefficient's sum exact and reduced once ([`add_product_sums`] with
    /// constant factors).
    ///
    /// Errors: no terms, a term below `level` or not of degree 1, scales that disagree, a
    /// constant that does not fit below `Q_level / 2`. No level consumed.
    pub fn sum_mul_const_at_scale(
        &self,
        terms: &[(&Ciphertext, f64, f64)],
        level: usize,
    ) -> Result<Ciphertext, SchemeError> {
        const OP: &str = "sum_mul_const_at_scale";
        let Some(&(first, _, first_scale)) = terms.first() else {
            return Err(SchemeError::InvalidParameters { reason: format!("{OP}: no terms") });
        };
        let scale = first.scale.mul(Scale::new(first_scale));
        let mut constants = Vec::with_capacity(terms.len());
        for &(a, c, s) in terms {
            self.check_ct(OP, a)?;
            check_scale(OP, s)?;
            if a.size() != 2 {
                return Err(SchemeError::Degree { op: OP, expected: 2, found: a.size() });
            }
            if a.level() < level {
                return Err(SchemeError::OutOfLevels { op: OP, level: a.level(), needed: level });
            }
            Self::check_scales(OP, scale.value(), a.scale() * s)?;
            constants.push(round_const_at(OP, c * s, a.c[0].basis(), level)?);
        }
        let basis = first.c[0].basis().clone();
        let n = self.params.degree();
        let limbs = level + 1;
        let (mut c0, mut c1) = (vec![0u64; limbs * n], vec![0u64; limbs * n]);
        c0.par_chunks_exact_mut(n).zip(c1.par_chunks_exact_mut(n)).enumerate().for_each(|(i, (o0, o1))| {
            let m = basis.modulus(i);
            let limb_terms: Vec<Term<'_>> = terms
                .iter()
                .zip(&constants)
                .map(|(t, &v)| Term {
                    y0: t.0.c[0].limb(i),
                    y1: t.0.c[1].limb(i),
                    w: Factor::Constant(m.reduce_i128(v)),
                })
                .collect();
            add_product_sums(m, &limb_terms, o0, o1);
        });
        let c = vec![
            RnsPoly::from_data(&basis, limbs, ckks_math::Representation::Ntt, c0)?,
            RnsPoly::from_data(&basis, limbs, ckks_math::Representation::Ntt, c1)?,
        ];
        Ok(Ciphertext { params: self.params.clone(), c, scale })
    }

    /// `a * k` for an integer `k` (scale unchanged, no level consumed).
    pub fn mul_int(&self, a: &Ciphertext, k: i64) -> Result<Ciphertext, SchemeError> {
        let mut out = a.clone();
        self.mul_int_assign(&mut out, k)?;
        Ok(out)
    }

    /// [`Evaluator::mul_int`] in place: `a <- a k`, without a copy of `a`.
    pub fn mul_int_assign(&self, a: &mut Ciphertext, k: i64) -> Result<(), SchemeError> {
        self.check_ct("mul_int", a)?;
        for p in a.c.iter_mut() {
            p.mul_scalar_assign(k.unsigned_abs());
            if k < 0 {
                p.neg_assign();
            }
        }
        Ok(())
    }

    /// Tensor product `a * b = (a0 b0, a0 b1 + a1 b0, a1 b1)`, scale `scale(a) * scale(b)`;
    /// relinearize and rescale afterwards. Inputs of size 2, equal levels.
    pub fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.check_pair("mul", a, b)?;
        for x in [a, b] {
            if x.size() != 2 {
                return Err(SchemeError::Degree { op: "mul", expected: 2, found: x.size() });
            }
        }
        let [d0, d1, d2] = RnsPoly::tensor(&a.c[0], &a.c[1], &b.c[0], &b.c[1])?;
        Ok(Ciphertext { params: a.params.clone(), c: vec![d0, d1, d2], scale: a.scale.mul(b.scale) })
    }

    fn relin_key(&self, op: &'static str) -> Result<&SwitchingKey, SchemeError> {
        self.keys
            .as_ref()
            .and_then(|k| k.relinearization.as_ref())
            .map(|r| &r.0)
            .ok_or(SchemeError::MissingRelinearizationKey { op })
    }

    /// Relinearization: a size-3 ciphertext to size 2 under the same key, via key switching of
    /// `c_2` from `s^2` to `s`. No level consumed.
    pub fn relinearize(&self, a: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.check_ct("relinearize", a)?;
        if a.size() == 2 {
            return Ok(a.clone());
        }
        if a.size() != 3 {
            return Err(SchemeError::Degree { op: "relinearize", expected: 3, found: a.size() });
        }
        let key = self.relin_key("relinearize")?;
        let (d0, d1) = key.switch(&a.c[2])?;
        let mut c0 = a.c[0].clone();
        c0.add_assign(&d0)?;
        let mut c1 = a.c[1].clone();
        c1.add_assign(&d1)?;
        Ok(Ciphertext { params: a.params.clone(), c: vec![c0, c1], scale: a.scale })
    }

    /// Key switching with an explicit key: a size-2 ciphertext under `s'` becomes one under
    /// `s`, where `key` switches `s'` to `s` ([`crate::KeyGenerator::switching_key_between`]).
    /// Returns `(c_0 + d_0, d_1)` with `d_0 + d_1 s = c_1 s' + e_ks`. No level consumed.
    pub fn switch_key(&self, a: &Ciphertext, key: &SwitchingKey) -> Result<Ciphertext, SchemeError> {
        self.check_ct("switch_key", a)?;
        self.params.check_same("switch_key", key.params())?;
        if a.size() != 2 {
            return Err(SchemeError::Degree { op: "switch_key", expected: 2, found: a.size() });
        }
        let (d0, d1) = key.switch(&a.c[1])?;
        let mut c0 = a.c[0].clone();
        c0.add_assign(&d0)?;
        Ok(Ciphertext { params: a.params.clone(), c: vec![c0, d1], scale: a.scale })
    }

    /// Rescale: divides every component by the last prime `q_l` (rounded), scale `/ q_l`,
    /// level `l -> l - 1`.
    pub fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        let mut out = a.clone();
        self.rescale_assign(&mut out)?;
        Ok(out)
    }

    /// [`Evaluator::rescale`] in place, without a copy of `a`; `a` is unchanged on error.
    pub fn rescale_assign(&self, a: &mut Ciphertext) -> Result<(), SchemeError> {
        self.check_ct("rescale", a)?;
        if a.level() == 0 {
            return Err(SchemeError::OutOfLevels { op: "rescale", level: 0, needed: 1 });
        }
        let q_last = a.c[0].basis().modulus(a.level()).value() as f64;
        let scale = a.scale.div(q_last);
        check_scale("rescale", scale.value())?;
        for p in a.c.iter_mut() {
            p.rescale()?;
        }
        a.scale = scale;
        Ok(())
    }

    /// `rescale(relinearize(a * b))`: one level consumed. The relinearization's ModDown and
    /// the rescale are fused into one division by `P q_l` (fewer NTTs, same result up to
    /// rounding).
    pub fn mul_relin_rescale(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        let t = self.mul(a, b)?;
        if t.level() == 0 {
            return Err(SchemeError::OutOfLevels { op: "rescale", level: 0, needed: 1 });
        }
        let key = self.relin_key("mul_relin_rescale")?;
        let (c0, c1) = key.switch_add_rescale(&t.c[2], &t.c[0], &t.c[1])?;
        let q_last = t.c[0].basis().modulus(t.level()).value() as f64;
        let scale = t.scale.div(q_last);
        check_scale("rescale", scale.value())?;
        Ok(Ciphertext { params: t.params.clone(), c: vec![c0, c1], scale })
    }

    /// Drops primes down to `level` without dividing (the message and scale are unchanged).
    pub fn drop_to_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext, SchemeError> {
        self.check_ct("drop_to_level", a)?;
        if level > a.level() {
            return Err(SchemeError::OutOfLevels { op: "drop_to_level", level: a.level(), needed: level });
        }
        let c = a.c.iter().map(|p| p.prefix(level + 1)).collect::<Result<Vec<_>, _>>()?;
        Ok(Ciphertext { params: a.params.clone(), c, scale: a.scale })
    }

    /// `c * a` at `level` (below `a`'s) with exactly `scale`: `a` dropped to `level + 1`, one
    /// [`Evaluator::mul_const`] by `c * scale / scale(a)` and a rescale, then labelled `scale`
    /// (the product and rescale keep `a`'s scale, so the label changes only the reading). Brings
    /// values that took different paths, whose scales drifted apart, to one exact scale for a
    /// sum, with any constant folded in. One level below `level + 1`. Errors with
    /// [`SchemeError::OutOfLevels`] if `a` is at or below `level`.
    pub fn mul_const_to(&self, a: &Ciphertext, c: f64, level: usize, scale: f64) -> Result<Ciphertext, SchemeError> {
        if a.level() <= level {
            return Err(SchemeError::OutOfLevels { op: "mul_const_to", level: a.level(), needed: level + 1 });
        }
        let t = self.drop_to_level(a, level + 1)?;
        let mut out = self.mul_const(&t, c * scale / t.scale())?;
        self.rescale_assign(&mut out)?;
        out.set_scale(scale);
        Ok(out)
    }

    /// `a * values` slot-wise (real values, a mask), landing at exactly `scale`: the values are
    /// encoded at `q_l scale / scale(a)`, so the rescale that drops `q_l` leaves `scale`, and the
    /// result is labelled with it. The vector analog of [`Evaluator::mul_const_to`], at `a`'s
    /// level: one level. A mask so pins a scale that drifted in earlier products for free.
    /// Errors on level 0, or a vector of more values than slots.
    pub fn mul_real_to(&self, a: &Ciphertext, values: &[f64], scale: f64) -> Result<Ciphertext, SchemeError> {
        self.check_ct("mul_real_to", a)?;
        if a.level() == 0 {
            return Err(SchemeError::OutOfLevels { op: "mul_real_to", level: 0, needed: 1 });
        }
        let q = self.params.q_basis().modulus(a.level()).value() as f64;
        let pt = crate::Encoder::new(&self.params).encode_real(values, a.level(), q * scale / a.scale())?;
        let mut out = self.rescale(&self.mul_plain(a, &pt)?)?;
        out.set_scale(scale);
        Ok(out)
    }

    /// Brings two ciphertexts to the lower of their levels (by dropping primes of the higher
    /// one), for operations that need equal levels.
    pub fn align_levels(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext), SchemeError> {
        let level = a.level().min(b.level());
        Ok((self.drop_to_level(a, level)?, self.drop_to_level(b, level)?))
    }

    /// Applies `X -> X^k` and switches back to the secret key with the Galois key of `k`.
    pub fn apply_galois(&self, a: &Ciphertext, k: usize) -> Result<Ciphertext, SchemeError> {
        self.galois_with(a, k, None, "apply_galois")
    }

    fn galois_with(
        &self,
        a: &Ciphertext,
        k: usize,
        rotation: Option<i64>,
        op: &'static str,
    ) -> Result<Ciphertext, SchemeError> {
        self.check_ct(op, a)?;
        if a.size() != 2 {
            return Err(SchemeError::Degree { op, expected: 2, found: a.size() });
        }
        if k == 1 {
            return Ok(a.clone());
        }
        let key = self.galois_key(op, k, rotation)?;
        let table = self.params.galois_table(k)?;
        // Key-switch sigma_k(c1) by reading the decomposition of c1 through the permutation
        // (ModUp commutes with sigma_k), then add sigma_k(c0) in place: nothing permuted is
        // materialised.
        let decomposition = Decomposition::new(&self.params, &a.c[1])?;
        let (mut d0, d1) = key.switch_decomposed(&decomposition, Some(&table))?;
        d0.add_automorphism_ntt_assign(&a.c[0], &table)?;
        Ok(Ciphertext { params: a.params.clone(), c: vec![d0, d1], scale: a.scale })
    }

    /// Rotates the slots left by `r` (negative: right): slot `j` of the result is slot
    /// `j + r mod slots` of `a`. Needs the Galois key of that rotation.
    pub fn rotate(&self, a: &Ciphertext, r: i64) -> Result<Ciphertext, SchemeError> {
        let k = rotation_element(&self.params, r);
        self.galois_with(a, k, Some(r), "rotate")
    }

    /// `sum_i rotate(cts[i], rotations[i])` with a single ModDown: every rotation's key
    /// switching result is accumulated over `Q_l * P` and divided by `P` once (lazy ModDown,
    /// the giant steps of a baby-step giant-step product). Same result as the sum of
    /// [`Evaluator::rotate`]s up to rounding; `n - 1` fewer ModDowns. Inputs of size 2 at one
    /// level and scale; errors as `rotate` (a missing key fails before any work).
    pub fn sum_of_rotations(&self, cts: &[Ciphertext], rotations: &[i64]) -> Result<Ciphertext, SchemeError> {
        const OP: &str = "sum_of_rotations";
        if cts.is_empty() || cts.len() != rotations.len() {
            return Err(SchemeError::InvalidParameters {
                reason: format!(
                    "{OP}: {} ciphertexts for {} rotations (need as many, at least one)",
                    cts.len(),
                    rotations.len()
                ),
            });
        }
        for ct in cts {
            self.check_pair(OP, &cts[0], ct)?;
            if ct.size() != 2 {
                return Err(SchemeError::Degree { op: OP, expected: 2, found: ct.size() });
            }
        }
        let mut work = Vec::with_capacity(cts.len());
        let mut plain: Option<Ciphertext> = None;
        for (ct, &r) in cts.iter().zip(rotations) {
            let k = rotation_element(&self.params, r);
            if k == 1 {
                match plain.as_mut() {
                    Some(acc) => self.add_assign(acc, ct)?,
                    None => plain = Some(ct.clone()),
                }
                continue;
            }
            work.push((ct, k, self.galois_key(OP, k, Some(r))?));
        }
        let level = cts[0].level();
        let switched = work
            .par_iter()
            .map(|&(ct, k, key)| {
                let table = self.params.galois_table(k)?;
                let d = Decomposition::new(&self.params, &ct.c[1])?;
                let (acc0, acc1) = key.switch_lazy(&d, Some(&table))?;
                let mut c0 = RnsPoly::zero(ct.c[0].basis(), level + 1, ckks_math::Representation::Ntt)?;
                c0.add_automorphism_ntt_assign(&ct.c[0], &table)?;
                Ok((acc0, acc1, c0))
            })
            .collect::<Result<Vec<_>, SchemeError>>()?;
        let mut out = plain;
        let mut parts = switched.into_iter();
        if let Some((mut acc0, mut acc1, mut c0)) = parts.next() {
            for (a0, a1, d0) in parts {
                acc0.add_assign(&a0, None)?;
                acc1.add_assign(&a1, None)?;
                c0.add_assign(&d0)?;
            }
            let (mut d0, d1) = (acc0.mod_down()?, acc1.mod_down()?);
            d0.add_assign(&c0)?;
            let rotated = Ciphertext { params: cts[0].params.clone(), c: vec![d0, d1], scale: cts[0].scale };
            match out.as_mut() {
                Some(acc) => self.add_assign(acc, &rotated)?,
                None => out = Some(rotated),
            }
        }
        Ok(out.expect("at least one term"))
    }

    /// Rotations of `a` by every step in `rotations`, hoisted: the expensive decomposition of
    /// `c_1` (inverse NTTs, ModUp, forward NTTs) is done once and each rotation only permutes
    /// it, takes the inner product with its key and runs ModDown. Results are in the order of
    /// `rotations`; a step of 0 returns a copy.
    pub fn rotate_hoisted(&self, a: &Ciphertext, rotations: &[i64]) -> Result<Vec<Ciphertext>, SchemeError> {
        self.check_ct("rotate_hoisted", a)?;
        if a.size() != 2 {
            return Err(SchemeError::Degree { op: "rotate_hoisted", expected: 2, found: a.size() });
        }
        // Look every key up first, so a missing key fails before any work.
        let keys = rotations
            .iter()
            .map(|&r| {
                let k = rotation_element(&self.params, r);
                if k == 1 {
                    return Ok((k, None));
                }
                Ok((k, Some(self.galois_key("rotate_hoisted", k, Some(r))?)))
            })
            .collect::<Result<Vec<_>, SchemeError>>()?;
        let decomposition = Decomposition::new(&self.params, &a.c[1])?;
        keys.into_iter()
            .map(|(k, key)| {
                let Some(key) = key else { return Ok(a.clone()) };
                let table = self.params.galois_table(k)?;
                let (mut d0, d1) = key.switch_decomposed(&decomposition, Some(&table))?;
                d0.add_automorphism_ntt_assign(&a.c[0], &table)?;
                Ok(Ciphertext { params: a.params.clone(), c: vec![d0, d1], scale: a.scale })
            })
            .collect()
    }

    /// `sum_k sigma_k(a)` over the Galois `elements`, where `1` stands for `a` itself (no key
    /// switch), hoisted and lazy: one decomposition of `c_1`, one inner product per other
    /// element read through its automorphism, summed over `Q_l * P`, and one ModDown pair.
    /// Against `m` automorphisms in sequence this saves `m - 1` decompositions and ModDowns for
    /// nothing: at `N = 2^16` and the top of `BootstrapN16` a decomposition costs about 1.4x an
    /// inner product and a ModDown pair 0.9x, so a sum over `1` and 3 elements (a radix-4 step
    /// of a trace) costs about 0.8x the two sequential steps of `(1 + sigma)(1 + sigma^2)`.
    /// Bootstrapping also sums two rotations `r` and `r + n` this way (without `1`): a lagging
    /// rotation and the projection onto `n` slots in one step. No level consumed; same scale.
    /// Errors: a missing key (before any work), size other than 2, an element that is even or
    /// not below `2N` (not an automorphism of the slots), repeated, or no element at all.
    pub fn galois_sum_hoisted(&self, a: &Ciphertext, elements: &[usize]) -> Result<Ciphertext, SchemeError> {
        const OP: &str = "galois_sum_hoisted";
        self.check_ct(OP, a)?;
        if a.size() != 2 {
            return Err(SchemeError::Degree { op: OP, expected: 2, found: a.size() });
        }
        let distinct: BTreeSet<usize> = elements.iter().copied().collect();
        if elements.is_empty() || distinct.len() != elements.len() {
            return Err(SchemeError::InvalidParameters {
                reason: format!("{OP}: {elements:?} is not a non-empty list of distinct Galois elements"),
            });
        }
        let keys = elements
            .iter()
            .filter(|&&k| k != 1)
            .map(|&k| {
                if k.is_multiple_of(2) || k >= 2 * self.params.degree() {
                    return Err(SchemeError::InvalidParameters {
                        reason: format!(
                            "{OP}: {k} is not a Galois element (odd, below 2N = {})",
                            2 * self.params.degree()
                        ),
                    });
                }
                Ok((self.galois_key(OP, k, None)?, self.params.galois_table(k)?))
            })
            .collect::<Result<Vec<_>, SchemeError>>()?;
        let with_identity = distinct.contains(&1);
        let Some(((first_key, first_table), rest)) = keys.split_first() else { return Ok(a.clone()) };
        let decomposition = Decomposition::new(&self.params, &a.c[1])?;
        let (mut acc0, mut acc1) = first_key.switch_lazy(&decomposition, Some(first_table))?;
        for (key, table) in rest {
            let (e0, e1) = key.switch_lazy(&decomposition, Some(table))?;
            acc0.add_assign(&e0, None)?;
            acc1.add_assign(&e1, None)?;
        }
        drop(decomposition);
        let (mut c0, mut c1) = (acc0.mod_down()?, acc1.mod_down()?);
        for (_, table) in &keys {
            c0.add_automorphism_ntt_assign(&a.c[0], table)?;
        }
        if with_identity {
            c0.add_assign(&a.c[0])?;
            c1.add_assign(&a.c[1])?;
        }
        Ok(Ciphertext { params: a.params.clone(), c: vec![c0, c1], scale: a.scale })
    }

    /// Sum of all slots, replicated in every slot: `log2(slots)` rotations by `1, 2, 4, ...`
    /// (their keys are needed: [`power_of_two_rotations`]). No level consumed.
    pub fn sum_slots(&self, a: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        let mut acc = a.clone();
        let mut step = 1usize;
        while step < self.params.slots() {
            let r = self.rotate(&acc, step as i64)?;
            self.add_assign(&mut acc, &r)?;
            step <<= 1;
        }
        Ok(acc)
    }

    /// `a * i` (every slot times the imaginary unit): multiplication by the monomial
    /// `X^(N/2)`, exact, no scale change, no level consumed. `mul_by_i` twice is `neg`.
    pub fn mul_by_i(&self, a: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.check_ct("mul_by_i", a)?;
        let mut out = a.clone();
        for p in out.c.iter_mut() {
            let basis = p.basis().clone();
            for i in 0..p.limbs() {
                let m = *basis.modulus(i);
                let w = monomial_half_ntt(&basis, i);
                let limb = p.limb_mut(i);
                for (x, &sign) in limb.iter_mut().zip(w.iter()) {
                    *x = m.mul(*x, sign);
                }
            }
        }
        Ok(out)
    }

    /// `a + c` for a complex constant `c` in every slot (the polynomial
    /// `round(Re c * scale) + round(Im c * scale) X^(N/2)`). No level consumed.
    pub fn add_complex_const(&self, a: &Ciphertext, c: Complex) -> Result<Ciphertext, SchemeError> {
        self.check_ct("add_complex_const", a)?;
        let re = round_const("add_complex_const", c.re * a.scale(), a)?;
        let im = round_const("add_complex_const", c.im * a.scale(), a)?;
        let mut out = a.clone();
        let k = const_poly(&out.c[0], re, im);
        out.c[0].add_assign(&k)?;
        Ok(out)
    }

    /// `a * c` for a complex constant, encoded at scale `q_l` like [`Evaluator::mul_const`], so
    /// that the following rescale restores the scale of `a` exactly.
    pub fn mul_complex_const(&self, a: &Ciphertext, c: Complex) -> Result<Ciphertext, SchemeError> {
        self.check_ct("mul_complex_const", a)?;
        if a.level() == 0 {
            return Err(SchemeError::OutOfLevels { op: "mul_complex_const", level: 0, needed: 1 });
        }
        let q_last = a.c[0].basis().modulus(a.level()).value() as f64;
        let re = round_const("mul_complex_const", c.re * q_last, a)?;
        let im = round_const("mul_complex_const", c.im * q_last, a)?;
        let mut out = a.clone();
        let k = const_poly(&out.c[0], re, im);
        for p in out.c.iter_mut() {
            p.mul_assign(&k)?;
        }
        out.scale = a.scale.mul(Scale::new(q_last));
        Ok(out)
    }

    /// Complex conjugation of every slot. Needs the conjugation key.
    pub fn conjugate(&self, a: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.galois_with(a, conjugation_galois_element(self.params.degree()), None, "conjugate")
    }
}

/// The rotations `1, 2, 4, ..., slots/2` that [`Evaluator::sum_slots`] needs.
pub fn power_of_two_rotations(params: &Parameters) -> Vec<i64> {
    (0..params.slots().trailing_zeros()).map(|i| 1i64 << i).collect()
}

/// `round(v)` as an integer, refused (like [`crate::Encoder::encode`]) unless it lies below
/// `Q_l / 2` (and `2^126`) at the level of `a`: a larger constant would wrap modulo `Q_l`.
fn round_const(op: &'static str, v: f64, a: &Ciphertext) -> Result<i128, SchemeError> {
    round_const_at(op, v, a.c[0].basis(), a.level())
}

/// [`round_const`] for a ciphertext at `level` over `basis`.
fn round_const_at(op: &'static str, v: f64, basis: &ckks_math::RnsBasis, level: usize) -> Result<i128, SchemeError> {
    let log_half_q = basis.log_product(level + 1) - 1.0;
    let bound = 2f64.powf(log_half_q.min(126.0));
    let r = v.round();
    if !r.is_finite() || r.abs() >= bound {
        return Err(SchemeError::InvalidScale {
            op,
            log2: r.abs().log2(),
            reason: "constant times scale does not fit below Q_l / 2 at this level",
        });
    }
    Ok(r as i128)
}

/// The NTT values of `X^(N/2)` for limb `i`: slot `j` holds `psi^((2 brv(j) + 1) N/2)`, which
/// is `r` or `-r` for the fourth root of unity `r = psi^(N/2)`, by `(2 brv(j) + 1) mod 4`.
fn monomial_half_ntt(basis: &ckks_math::RnsBasis, i: usize) -> Vec<u64> {
    let n = basis.degree();
    let m = basis.modulus(i);
    let table = basis.ntt(i);
    let r = m.pow(table.psi(), (n / 2) as u64);
    let log_n = n.trailing_zeros();
    (0..n)
        .map(|j| {
            let e = 2 * ckks_math::ntt::bit_reverse(j, log_n) + 1;
            if n == 1 || e % 4 == 1 {
                r
            } else {
                m.neg(r)
            }
        })
        .collect()
}

/// The polynomial `re + im X^(N/2)` in NTT form with the shape of `like`.
fn const_poly(like: &RnsPoly, re: i128, im: i128) -> RnsPoly {
    let mut out = like.clone();
    let basis = like.basis().clone();
    for i in 0..like.limbs() {
        let m = *basis.modulus(i);
        let (a, b) = (m.reduce_i128(re), m.reduce_i128(im));
        let w = monomial_half_ntt(&basis, i);
        for (x, &wj) in out.limb_mut(i).iter_mut().zip(&w) {
            *x = m.add(a, m.mul(b, wj));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decryptor, Encoder, Encryptor, KeyGenerator, Preset, SecretKey};

    struct Fixture {
        params: Parameters,
        sk: SecretKey,
        eval: Evaluator,
        enc: Encoder,
    }

    fn fixture(rotations: &[i64]) -> Fixture {
        let params = Preset::InsecureTestN11.build().unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [3; 32]);
        let sk = kg.secret_key().unwrap();
        let keys = kg.evaluation_keys(&sk, rotations, true).unwrap();
        Fixture { eval: Evaluator::new(Arc::new(keys)), enc: Encoder::new(&params), params, sk }
    }

    fn values(n: usize, seed: u64) -> Vec<Complex> {
        (0..n)
            .map(|j| Complex::new(((j as u64 * 7 + seed) as f64).sin(), ((j as u64 * 3 + seed) as f64).cos()))
            .collect()
    }

    fn encrypt(f: &Fixture, z: &[Complex]) -> Ciphertext {
        let pt = f.enc.encode(z, f.params.max_level(), f.params.default_scale()).unwrap();
        Encryptor::from_seed(&f.eval.keys().unwrap().public, [5; 32]).encrypt(&pt).unwrap()
    }

    fn decrypt(f: &Fixture, ct: &Ciphertext) -> Vec<Complex> {
        f.enc.decode(&Decryptor::new(&f.sk).decrypt(ct).unwrap()).unwrap()
    }

    fn max_err(a: &[Complex], b: &[Complex]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (*x - *y).norm()).fold(0.0, f64::max)
    }

    /// The evaluator is shared across threads (`&self` everywhere).
    #[test]
    fn evaluator_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Evaluator>();
        check::<Ciphertext>();
        check::<EvaluationKeys>();
    }

    /// Sums of unrelinearized products (size-3 ciphertexts) relinearized once: the lazy
    /// multiply-accumulate of inner products.
    #[test]
    fn lazy_multiply_accumulate() {
        let f = fixture(&[]);
        let slots = f.params.slots();
        let xs: Vec<Vec<Complex>> = (0..4).map(|k| values(slots, k)).collect();
        let ys: Vec<Vec<Complex>> = (0..4).map(|k| values(slots, 10 + k)).collect();
        let mut acc: Option<Ciphertext> = None;
        for (x, y) in xs.iter().zip(&ys) {
            let prod = f.eval.mul(&encrypt(&f, x), &encrypt(&f, y)).unwrap();
            assert_eq!(prod.size(), 3);
            match acc.as_mut() {
                None => acc = Some(prod),
                Some(a) => f.eval.add_assign(a, &prod).unwrap(),
            }
        }
        let out = f.eval.rescale(&f.eval.relinearize(&acc.unwrap()).unwrap()).unwrap();
        let got = decrypt(&f, &out);
        let want: Vec<Complex> =
            (0..slots).map(|j| (0..4).fold(Complex::ZERO, |s, k| s + xs[k][j] * ys[k][j])).collect();
        assert!(max_err(&got, &want) < 1e-5, "{}", max_err(&got, &want));
        let (a, b) = f.eval.align_levels(&out, &encrypt(&f, &xs[0])).unwrap();
        assert_eq!((a.level(), b.level()), (out.level(), out.level()));
    }

    #[test]
    fn hoisted_rotations_equal_single_rotations() {
        let rots = [1i64, 2, 5, -3, 100, 0];
        let f = fixture(&rots);
        let z = values(f.params.slots(), 1);
        let ct = encrypt(&f, &z);
        let hoisted = f.eval.rotate_hoisted(&ct, &rots).unwrap();
        let slots = f.params.slots() as i64;
        for (&r, h) in rots.iter().zip(&hoisted) {
            let single = if r == 0 { ct.clone() } else { f.eval.rotate(&ct, r).unwrap() };
            let want: Vec<Complex> = (0..slots).map(|j| z[((j + r).rem_euclid(slots)) as usize]).collect();
            let (dh, ds) = (decrypt(&f, h), decrypt(&f, &single));
            assert!(max_err(&dh, &want) < 1e-6, "hoisted rotation by {r}: {}", max_err(&dh, &want));
            assert!(max_err(&ds, &want) < 1e-6, "rotation by {r}");
        }
        let missing = f.eval.rotate_hoisted(&ct, &[1, 7]).unwrap_err();
        assert!(matches!(missing, SchemeError::MissingGaloisKey { rotation: Some(7), .. }), "{missing}");
    }

    /// The hoisted sum of automorphisms against the plaintext sum of the rotated slots (with
    /// and without `1`, the ciphertext itself), and against the same automorphisms applied one
    /// by one (with conjugation among them).
    #[test]
    fn hoisted_galois_sum_equals_the_sum_of_rotations() {
        let rots = [1i64, 2, 5, 100];
        let f = fixture(&rots);
        let conj = ckks_math::automorphism::conjugation_galois_element(f.params.degree());
        let slots = f.params.slots() as i64;
        let z = values(f.params.slots(), 3);
        let ct = encrypt(&f, &z);
        let elements: Vec<usize> = rots.iter().map(|&r| rotation_element(&f.params, r)).collect();
        let rotated_sum =
            |start: Complex, j: i64| rots.iter().fold(start, |s, &r| s + z[(j + r).rem_euclid(slots) as usize]);
        let with_identity: Vec<usize> = std::iter::once(1).chain(elements.iter().copied()).collect();
        let got = decrypt(&f, &f.eval.galois_sum_hoisted(&ct, &with_identity).unwrap());
        let want: Vec<Complex> = (0..slots).map(|j| rotated_sum(z[j as usize], j)).collect();
        assert!(max_err(&got, &want) < 1e-5, "{}", max_err(&got, &want));
        let got = decrypt(&f, &f.eval.galois_sum_hoisted(&ct, &elements).unwrap());
        let want: Vec<Complex> = (0..slots).map(|j| rotated_sum(Complex::ZERO, j)).collect();
        assert!(max_err(&got, &want) < 1e-5, "without the identity: {}", max_err(&got, &want));
        // With conjugation: the same as sequential automorphisms.
        let with_conj = [1, elements[0], conj];
        let got = decrypt(&f, &f.eval.galois_sum_hoisted(&ct, &with_conj).unwrap());
        let mut seq = ct.clone();
        for &k in &with_conj[1..] {
            f.eval.add_assign(&mut seq, &f.eval.apply_galois(&ct, k).unwrap()).unwrap();
        }
        assert!(max_err(&got, &decrypt(&f, &seq)) < 1e-5);
        assert_eq!(decrypt(&f, &f.eval.galois_sum_hoisted(&ct, &[1]).unwrap()), decrypt(&f, &ct));
        let missing = f.eval.galois_sum_hoisted(&ct, &[1, rotation_element(&f.params, 7)]).unwrap_err();
        assert!(matches!(missing, SchemeError::MissingGaloisKey { .. }), "{missing}");
        for bad in [&[][..], &[2], &[1, 1], &[elements[0], elements[0]]] {
            let err = f.eval.galois_sum_hoisted(&ct, bad).unwrap_err();
            assert!(matches!(err, SchemeError::InvalidParameters { .. }), "{bad:?}: {err}");
        }
    }

    /// A real mask lands on the asked scale exactly, one level down, with the masked values;
    /// level 0 is refused.
    #[test]
    fn real_mask_lands_on_the_asked_scale() {
        let f = fixture(&[]);
        let z = values(f.params.slots(), 4);
        let ct = encrypt(&f, &z);
        let mask: Vec<f64> = (0..f.params.slots()).map(|j| (j % 3) as f64 - 0.5).collect();
        let scale = f.params.default_scale() * 1.5;
        let out = f.eval.mul_real_to(&ct, &mask, scale).unwrap();
        assert_eq!((out.level(), out.scale()), (ct.level() - 1, scale));
        let want: Vec<Complex> = z.iter().zip(&mask).map(|(x, &m)| x.scale(m)).collect();
        assert!(max_err(&decrypt(&f, &out), &want) < 1e-6);
        let bottom = f.eval.drop_to_level(&ct, 0).unwrap();
        assert!(matches!(f.eval.mul_real_to(&bottom, &mask, scale), Err(SchemeError::OutOfLevels { .. })));
    }

    #[test]
    fn imaginary_unit_and_complex_constants() {
        let f = fixture(&power_of_two_rotations(&Preset::InsecureTestN11.build().unwrap()));
        let z = values(f.params.slots(), 2);
        let ct = encrypt(&f, &z);
        let i = Complex::new(0.0, 1.0);
        let got = decrypt(&f, &f.eval.mul_by_i(&ct).unwrap());
        let want: Vec<Complex> = z.iter().map(|&x| x * i).collect();
        assert!(max_err(&got, &want) < 1e-6);

        let c = Complex::new(0.25, -1.5);
        let got = decrypt(&f, &f.eval.add_complex_const(&ct, c).unwrap());
        let want: Vec<Complex> = z.iter().map(|&x| x + c).collect();
        assert!(max_err(&got, &want) < 1e-6);

        let prod = f.eval.rescale(&f.eval.mul_complex_const(&ct, c).unwrap()).unwrap();
        assert_eq!(prod.scale(), ct.scale(), "constant at scale q_l restores the scale exactly");
        let got = decrypt(&f, &prod);
        let want: Vec<Complex> = z.iter().map(|&x| x * c).collect();
        assert!(max_err(&got, &want) < 1e-5);

        let total = z.iter().fold(Complex::ZERO, |acc, &x| acc + x);
        let got = decrypt(&f, &f.eval.sum_slots(&ct).unwrap());
        assert!(got.iter().all(|&g| (g - total).norm() < 1e-4), "{:?} vs {total:?}", got[0]);

        let conj = decrypt(&f, &f.eval.conjugate(&ct).unwrap());
        let want: Vec<Complex> = z.iter().map(|x| x.conj()).collect();
        assert!(max_err(&conj, &want) < 1e-6);
    }
}
