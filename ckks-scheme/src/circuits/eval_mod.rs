//! EvalMod: the homomorphic reduction modulo 1 at the heart of bootstrapping.
//!
//! After ModRaise and CoeffToSlot the slots hold `x = I + e` with an integer `I`, `|I| <= K`,
//! and a small `e` (the message over `q_0`). EvalMod computes
//!
//! ```text
//! f(x) = sin(2 pi x) / (2 pi)  ~  e        (for |e| << 1)
//! ```
//!
//! by the scaled-cosine method (Han-Ki): a Chebyshev interpolant of
//! `cos(2 pi (x - 1/4) / 2^r)` on `[-(K + 1), K + 1]`, then `r` double-angle steps
//! `y <- 2 y^2 - 1`, which turn it into `cos(2 pi (x - 1/4)) = sin(2 pi x)`, and a final product
//! by `1 / (2 pi)`. The double angles keep the interpolated function slow, so a low degree
//! suffices; each step doubles the absolute error.
//!
//! Levels: `Chebyshev::depth() + r + 1` (one less with [`EvalMod::sine`]). Built on the public API (`Chebyshev`, `Evaluator`).

use super::polynomial::Chebyshev;
use crate::{Ciphertext, Evaluator, SchemeError};
use std::f64::consts::PI;

/// The EvalMod approximation: bound `K`, interpolation degree, and `r` double-angle steps.
#[derive(Clone, Debug)]
pub struct EvalMod {
    k: usize,
    double_angles: usize,
    poly: Chebyshev,
    /// Whether the final product by `1 / (2 pi)` is left to the caller (see [`EvalMod::sine`]).
    unnormalized: bool,
}

impl EvalMod {
    /// Approximation of `sin(2 pi x) / (2 pi)` for `|x - round(x)|` small and `|round(x)| <= k`.
    pub fn new(k: usize, degree: usize, double_angles: usize) -> Result<Self, SchemeError> {
        Self::with_input_factor(k, degree, double_angles, 1.0)
    }

    /// The same for an input that holds `factor * x` instead of `x` (the factor is folded into
    /// the interpolant). Bootstrapping uses `factor = 2` for `w + conj(w) = 2 Re(w)`: folding
    /// the factor keeps the ciphertext's scale at the prime size, which the Chebyshev
    /// evaluation needs for full precision (a scale of `2 q` squares away from the primes).
    pub fn with_input_factor(k: usize, degree: usize, double_angles: usize, factor: f64) -> Result<Self, SchemeError> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(SchemeError::InvalidParameters { reason: format!("EvalMod input factor {factor}") });
        }
        let bound = (k as f64 + 1.0) * factor;
        let scale = (1u64 << double_angles) as f64;
        let poly = Chebyshev::interpolate(|u| (2.0 * PI * (u / factor - 0.25) / scale).cos(), degree, -bound, bound)?;
        Ok(Self { k, double_angles, poly, unnormalized: false })
    }

    /// `sin(2 pi x)` (without the final `1 / (2 pi)`, which the caller folds into a later
    /// linear transform) for an input holding `factor * x`: one level less than
    /// [`EvalMod::with_input_factor`]. With `factor = 1 / (k + 1)` the interpolation interval
    /// is `[-1, 1]` and the affine map of the Chebyshev evaluation is free too, so the depth is
    /// `ceil(log2(degree + 1)) + double_angles`.
    pub fn sine(k: usize, degree: usize, double_angles: usize, factor: f64) -> Result<Self, SchemeError> {
        let mut em = Self::with_input_factor(k, degree, double_angles, factor)?;
        em.unnormalized = true;
        Ok(em)
    }

    /// The bound `K` on the integer part.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Levels consumed: interpolant depth, double angles, and the final constant product
    /// (absent for [`EvalMod::sine`]).
    pub fn depth(&self) -> usize {
        self.poly.depth() + self.double_angles + usize::from(!self.unnormalized)
    }

    /// The same computation in `f64` (interpolant, double angles, `1 / (2 pi)`), for tests and
    /// for estimating the approximation error.
    pub fn eval_plain(&self, x: f64) -> f64 {
        let mut y = self.poly.eval_plain(x);
        for _ in 0..self.double_angles {
            y = 2.0 * y * y - 1.0;
        }
        if self.unnormalized {
            y
        } else {
            y / (2.0 * PI)
        }
    }

    /// Evaluates on every slot of `ct`; the result is `depth()` levels lower, at the scale the
    /// double-angle products leave (close to the input's).
    pub fn evaluate(&self, eval: &Evaluator, ct: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.evaluate_with(eval, ct, None, false)
    }

    /// [`EvalMod::evaluate`] with the result at `scale` (up to floating-point rounding): the
    /// interpolant's output scale is chosen so that the double angles, each squaring its input
    /// and dividing by the prime it drops (`S_k = S_(k-1)^2 / q`), end at `scale`, i.e.
    /// `S_(k-1) = sqrt(S_k q)` backwards from the last step. Bootstrapping with SlotToCoeff first
    /// uses it to land on the caller's scale without a further product. Same levels and errors
    /// as [`EvalMod::evaluate`], plus [`SchemeError::InvalidScale`] for a scale that is not
    /// finite and positive.
    pub fn evaluate_to_scale(&self, eval: &Evaluator, ct: &Ciphertext, scale: f64) -> Result<Ciphertext, SchemeError> {
        self.evaluate_with(eval, ct, Some(scale), false)
    }

    /// [`EvalMod::evaluate`] (`scale = None`) or [`EvalMod::evaluate_to_scale`], with the result
    /// halved when `half`: the last double angle computes `cos^2 t - 1/2` instead of
    /// `2 cos^2 t - 1` (no product, no level, the same scale), which is how bootstrapping a pair
    /// `a + i b` comes out as `(a + i b) / 2` for its split. Halving needs a double angle.
    pub(crate) fn evaluate_with(
        &self,
        eval: &Evaluator,
        ct: &Ciphertext,
        scale: Option<f64>,
        half: bool,
    ) -> Result<Ciphertext, SchemeError> {
        if ct.level() < self.depth() {
            return Err(SchemeError::OutOfLevels { op: "EvalMod::evaluate", level: ct.level(), needed: self.depth() });
        }
        if half && self.double_angles == 0 {
            return Err(SchemeError::InvalidParameters {
                reason: "EvalMod halves its result in the last double angle, and has none".into(),
            });
        }
        let mut y = match scale {
            None => self.poly.evaluate(eval, ct)?,
            Some(target) => {
                // Double angle k (from 1) runs at level l_c - k + 1 and drops that prime.
                let q = ct.params().q_basis();
                let l_c = ct.level() - self.poly.depth();
                let start = (1..=self.double_angles)
                    .rev()
                    .fold(target, |s, k| (s * q.modulus(l_c - k + 1).value() as f64).sqrt());
                self.poly.evaluate_at_scale(eval, ct, start)?
            }
        };
        for step in 1..=self.double_angles {
            y = eval.mul_relin_rescale(&y, &y)?;
            if half && step == self.double_angles {
                eval.add_const_assign(&mut y, -0.5)?;
            } else {
                eval.mul_int_assign(&mut y, 2)?;
                eval.add_const_assign(&mut y, -1.0)?;
            }
        }
        if self.unnormalized {
            return Ok(y);
        }
        let mut y = eval.mul_const(&y, 1.0 / (2.0 * PI))?;
        eval.rescale_assign(&mut y)?;
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decryptor, Encoder, Encryptor, KeyGenerator, Preset};
    use std::sync::Arc;

    #[test]
    fn plain_approximation_is_close_to_the_sine() {
        let em = EvalMod::new(4, 15, 3).unwrap();
        let worst = (-500..=500)
            .map(|i| i as f64 / 100.0)
            .map(|x| (em.eval_plain(x) - (2.0 * PI * x).sin() / (2.0 * PI)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "worst error {worst}");
        assert_eq!(em.depth(), em.poly.depth() + 3 + 1);
        // With an input factor f the approximation reads f x and gives the same function of x.
        let em2 = EvalMod::with_input_factor(4, 15, 3, 2.0).unwrap();
        let worst2 = (-500..=500)
            .map(|i| i as f64 / 100.0)
            .map(|x| (em2.eval_plain(2.0 * x) - (2.0 * PI * x).sin() / (2.0 * PI)).abs())
            .fold(0.0, f64::max);
        assert!(worst2 < 1e-6, "worst error with factor 2: {worst2}");
        assert!(EvalMod::with_input_factor(4, 15, 3, 0.0).is_err());
    }

    /// Slots `I + e` with `|I| <= 4`, `|e| <= 0.01` come out as `sin(2 pi e) / (2 pi)`.
    #[test]
    fn removes_the_integer_part_homomorphically() {
        let params = Preset::InsecureTestN13.build().unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [6; 32]);
        let sk = kg.secret_key().unwrap();
        let keys = Arc::new(kg.evaluation_keys(&sk, &[], false).unwrap());
        let eval = Evaluator::new(keys.clone());
        let enc = Encoder::new(&params);
        let em = EvalMod::new(4, 15, 3).unwrap();
        assert!(em.depth() <= params.max_level(), "depth {}", em.depth());
        let n = params.slots();
        let x: Vec<f64> = (0..n).map(|j| ((j % 9) as f64 - 4.0) + 0.01 * ((j as f64) * 0.7).sin()).collect();
        let pt = enc.encode_real(&x, params.max_level(), params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&keys.public, [7; 32]).encrypt(&pt).unwrap();
        let out = em.evaluate(&eval, &ct).unwrap();
        assert_eq!(out.level(), params.max_level() - em.depth());
        let got = enc.decode_real(&Decryptor::new(&sk).decrypt(&out).unwrap()).unwrap();
        let want: Vec<f64> = x.iter().map(|&v| (2.0 * PI * v).sin() / (2.0 * PI)).collect();
        let stats = crate::PrecisionStats::compare_real(&want, &got);
        eprintln!("EvalMod at N = 2^13: {stats}");
        assert!(stats.min_bits >= 14.0, "{stats}");
        // And that is the small part e, up to the cubic term of the sine.
        let e_err = x.iter().zip(&got).map(|(&v, &g)| (v - v.round() - g).abs()).fold(0.0, f64::max);
        assert!(e_err < 1e-4, "{e_err}");
        let low = eval.drop_to_level(&ct, em.depth() - 1).unwrap();
        assert!(matches!(em.evaluate(&eval, &low), Err(SchemeError::OutOfLevels { .. })));
    }
}
