//! Homomorphic operations. An [`Evaluator`] holds only [`EvaluationKeys`] (public material):
//! the server side never touches a secret key.

use crate::ciphertext::{check_scale, Ciphertext, Plaintext};
use crate::keys::{rotation_element, EvaluationKeys};
use crate::keyswitch::SwitchingKey;
use crate::{Parameters, SchemeError};
use ckks_math::automorphism::{conjugation_galois_element, ntt_permutation};
use ckks_math::RnsPoly;
use std::sync::Arc;

/// Largest relative difference `|s_1 / s_2 - 1|` between scales that additions accept: only
/// floating-point noise of the scale bookkeeping. Adding values whose scales differ by `r`
/// silently adds a relative error `r`, and scales of ciphertexts that took different paths
/// differ by about `2^-20` per rescale (primes are only close to `2^bits`), so such sums are
/// refused with [`SchemeError::ScaleMismatch`]; bring them to one scale with
/// [`Evaluator::mul_const`] or accept the error explicitly with [`Ciphertext::set_scale`].
pub const SCALE_TOLERANCE: f64 = 1.0 / (1u64 << 40) as f64;

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
        if ((a / b) - 1.0).abs() > SCALE_TOLERANCE {
            return Err(SchemeError::ScaleMismatch { op, left_log2: a.log2(), right_log2: b.log2() });
        }
        Ok(())
    }

    /// `a + b`; levels equal, scales equal up to [`SCALE_TOLERANCE`]. No level consumed.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        let mut out = a.clone();
        self.add_assign(&mut out, b)?;
        Ok(out)
    }

    /// `a += b`.
    pub fn add_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<(), SchemeError> {
        self.check_pair("add", a, b)?;
        Self::check_scales("add", a.scale, b.scale)?;
        self.combine(a, b, |x, y| x.add_assign(y))
    }

    /// `a - b`.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        let mut out = a.clone();
        self.sub_assign(&mut out, b)?;
        Ok(out)
    }

    /// `a -= b`.
    pub fn sub_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<(), SchemeError> {
        self.check_pair("sub", a, b)?;
        Self::check_scales("sub", a.scale, b.scale)?;
        self.combine(a, b, |x, y| x.sub_assign(y))
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
        Self::check_scales("add_plain", a.scale, p.scale)?;
        let mut out = a.clone();
        out.c[0].add_assign(&p.poly)?;
        Ok(out)
    }

    /// `a - p` for a plaintext at the same level and scale.
    pub fn sub_plain(&self, a: &Ciphertext, p: &Plaintext) -> Result<Ciphertext, SchemeError> {
        self.check_plain("sub_plain", a, p)?;
        Self::check_scales("sub_plain", a.scale, p.scale)?;
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
        out.scale = a.scale * p.scale;
        Ok(out)
    }

    /// `a + c` for a real constant `c` in every slot (adds `round(c * scale)` to the constant
    /// coefficient). No level consumed.
    pub fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, SchemeError> {
        self.check_ct("add_const", a)?;
        let v = (c * a.scale).round();
        if !v.is_finite() || v.abs() >= 2f64.powi(126) {
            return Err(SchemeError::InvalidScale {
                op: "add_const",
                log2: v.abs().log2(),
                reason: "constant * scale too large",
            });
        }
        let v = v as i128;
        let mut out = a.clone();
        let limbs = out.c[0].limbs();
        let basis = out.c[0].basis().clone();
        for i in 0..limbs {
            let m = *basis.modulus(i);
            let r = m.reduce_u128(v.unsigned_abs());
            let r = if v < 0 { m.neg(r) } else { r };
            // The constant polynomial is `r` in every NTT slot.
            out.c[0].limb_mut(i).iter_mut().for_each(|x| *x = m.add(*x, r));
        }
        Ok(out)
    }

    /// `a * c` for a real constant, encoded at scale `q_l` (the prime the next rescale divides
    /// by), so that `rescale(mul_const(a, c))` has exactly the scale of `a`. Needs level >= 1
    /// to be followed by a rescale.
    pub fn mul_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, SchemeError> {
        self.check_ct("mul_const", a)?;
        let basis = a.c[0].basis().clone();
        let q_last = basis.modulus(a.level()).value() as f64;
        let v = (c * q_last).round();
        if !v.is_finite() || v.abs() >= 2f64.powi(126) {
            return Err(SchemeError::InvalidScale {
                op: "mul_const",
                log2: v.abs().log2(),
                reason: "constant too large",
            });
        }
        let v = v as i128;
        let residues: Vec<u64> = (0..=a.level())
            .map(|i| {
                let m = basis.modulus(i);
                let r = m.reduce_u128(v.unsigned_abs());
                if v < 0 {
                    m.neg(r)
                } else {
                    r
                }
            })
            .collect();
        let mut out = a.clone();
        for p in out.c.iter_mut() {
            p.mul_rns_scalar_assign(&residues)?;
        }
        out.scale = a.scale * q_last;
        Ok(out)
    }

    /// `a * k` for an integer `k` (scale unchanged, no level consumed).
    pub fn mul_int(&self, a: &Ciphertext, k: i64) -> Result<Ciphertext, SchemeError> {
        self.check_ct("mul_int", a)?;
        let mut out = a.clone();
        for p in out.c.iter_mut() {
            p.mul_scalar_assign(k.unsigned_abs());
            if k < 0 {
                p.neg_assign();
            }
        }
        Ok(out)
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
        let mut d0 = a.c[0].clone();
        d0.mul_assign(&b.c[0])?;
        let mut d1 = a.c[0].clone();
        d1.mul_assign(&b.c[1])?;
        d1.add_mul_assign(&a.c[1], &b.c[0])?;
        let mut d2 = a.c[1].clone();
        d2.mul_assign(&b.c[1])?;
        Ok(Ciphertext { params: a.params.clone(), c: vec![d0, d1, d2], scale: a.scale * b.scale })
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

    /// Rescale: divides every component by the last prime `q_l` (rounded), scale `/ q_l`,
    /// level `l -> l - 1`.
    pub fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.check_ct("rescale", a)?;
        if a.level() == 0 {
            return Err(SchemeError::OutOfLevels { op: "rescale", level: 0, needed: 1 });
        }
        let q_last = a.c[0].basis().modulus(a.level()).value() as f64;
        let mut out = a.clone();
        for p in out.c.iter_mut() {
            p.rescale()?;
        }
        out.scale = a.scale / q_last;
        check_scale("rescale", out.scale)?;
        Ok(out)
    }

    /// `rescale(relinearize(a * b))`: one level consumed.
    pub fn mul_relin_rescale(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        let t = self.mul(a, b)?;
        let t = self.relinearize(&t)?;
        self.rescale(&t)
    }

    /// Drops primes down to `level` without dividing (the message and scale are unchanged).
    pub fn drop_to_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext, SchemeError> {
        self.check_ct("drop_to_level", a)?;
        if level > a.level() {
            return Err(SchemeError::OutOfLevels { op: "drop_to_level", level: a.level(), needed: level });
        }
        let mut out = a.clone();
        for p in out.c.iter_mut() {
            p.drop_to_limbs(level + 1)?;
        }
        Ok(out)
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
        let key = self.keys.as_ref().and_then(|keys| keys.galois.get(k)).ok_or(SchemeError::MissingGaloisKey {
            op,
            galois_element: k,
            rotation,
        })?;
        let table = ntt_permutation(self.params.degree(), k)?;
        let mut c0 = a.c[0].clone();
        a.c[0].automorphism_ntt_into(&table, &mut c0)?;
        let mut c1 = a.c[1].clone();
        a.c[1].automorphism_ntt_into(&table, &mut c1)?;
        let (d0, d1) = key.switch(&c1)?;
        c0.add_assign(&d0)?;
        Ok(Ciphertext { params: a.params.clone(), c: vec![c0, d1], scale: a.scale })
    }

    /// Rotates the slots left by `r` (negative: right): slot `j` of the result is slot
    /// `j + r mod slots` of `a`. Needs the Galois key of that rotation.
    pub fn rotate(&self, a: &Ciphertext, r: i64) -> Result<Ciphertext, SchemeError> {
        let k = rotation_element(&self.params, r);
        self.galois_with(a, k, Some(r), "rotate")
    }

    /// Complex conjugation of every slot. Needs the conjugation key.
    pub fn conjugate(&self, a: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.galois_with(a, conjugation_galois_element(self.params.degree()), None, "conjugate")
    }
}
