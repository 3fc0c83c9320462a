//! Polynomials in the Chebyshev basis: interpolation, plaintext evaluation (Clenshaw) and
//! depth-optimal homomorphic evaluation.
//!
//! A [`Chebyshev`] is `p(x) = sum_k c_k T_k(y)` with `y = (2x - a - b) / (b - a)`, the affine
//! map of `[a, b]` onto `[-1, 1]`.
//!
//! # Homomorphic evaluation
//!
//! [`Chebyshev::evaluate`] consumes exactly [`Chebyshev::depth`] levels and returns a ciphertext
//! at the input's scale (exactly: `scale(out) == scale(in)`):
//!
//! * degree 0: no level (the constant is added to `0 * x`);
//! * degree 1: one level (`c_1 alpha * x + (c_0 + c_1 beta)`, the affine map folded into the
//!   constant);
//! * degree `d >= 2`: `ceil(log2(d + 1))` levels, plus one when the interval's width `b - a` is
//!   not exactly 2. `T_1 = alpha x + beta` with `alpha = 2 / (b - a)` then costs one constant
//!   multiplication and rescale; with `alpha = 1` it is an `add_const` (free). The affine map is
//!   not folded into the coefficients because the power-of-two squarings `T_{2k} = 2 T_k^2 - 1`
//!   need `T_1` itself as a ciphertext of scale about `2^40` (relabelling the scale of `x` by
//!   `1/alpha` makes the scale of `T_{2^j}` grow like `alpha^{-2^j}`).
//!
//! The structure: powers `T_j` from `T_{2k} = 2 T_k^2 - 1` and
//! `T_{2k+1} = 2 T_{k+1} T_k - T_1`, so `T_j` sits `ceil(log2 j)` levels below `T_1`; the
//! polynomial is split recursively by Chebyshev division `p = q T_{2^k} + r` (`2^k` the largest
//! power of two `<= deg p`), the quotient evaluated one level above the product. A part is
//! evaluated directly as `sum c_j T_j` (baby steps, one constant multiplication and rescale per
//! term) when its degree is at most the baby-step bound and the level budget allows it, so that
//! the total depth stays `ceil(log2(d + 1))` (a direct leaf of degree `e` costs
//! `ceil(log2 e) + 1` levels; remainders have one level of slack that quotients lack).
//!
//! Scales: every part is produced at a prescribed level and scale. A coefficient times a power
//! is `rescale(mul_const(T_j, c * s / scale(T_j)))` relabelled to the target scale `s`, which is
//! exact because `mul_const` encodes the constant at scale `q_l`. The quotient's target scale is
//! chosen so that its product with `T_{2^k}`, after the rescale, has the target scale. Hence all
//! additions are between ciphertexts of identical level and scale, whatever the drift of the
//! primes away from `2^40`.

use crate::{Ciphertext, Evaluator, SchemeError};

/// `p(x) = sum_k coeffs[k] T_k((2x - a - b) / (b - a))` on the interval `[a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chebyshev {
    /// Coefficients `c_0, ..., c_d` in the Chebyshev basis.
    pub coeffs: Vec<f64>,
    /// Lower end of the interval.
    pub a: f64,
    /// Upper end of the interval.
    pub b: f64,
}

fn invalid(reason: String) -> SchemeError {
    SchemeError::InvalidParameters { reason }
}

fn check_interval(a: f64, b: f64) -> Result<(), SchemeError> {
    if !a.is_finite() || !b.is_finite() || a >= b || !(b - a).is_finite() {
        return Err(invalid(format!("Chebyshev interval [{a}, {b}] must be finite with a < b")));
    }
    Ok(())
}

/// `ceil(log2(n))` for `n >= 1`.
fn ceil_log2(n: usize) -> usize {
    n.next_power_of_two().trailing_zeros() as usize
}

impl Chebyshev {
    /// A polynomial from its Chebyshev coefficients on `[a, b]`. Errors with
    /// [`SchemeError::InvalidParameters`] for an empty or non-finite coefficient list or an
    /// interval that is not finite with `a < b`.
    pub fn new(coeffs: Vec<f64>, a: f64, b: f64) -> Result<Self, SchemeError> {
        check_interval(a, b)?;
        if coeffs.is_empty() {
            return Err(invalid("Chebyshev polynomial without coefficients".into()));
        }
        if let Some(k) = coeffs.iter().position(|c| !c.is_finite()) {
            return Err(invalid(format!("Chebyshev coefficient {k} is not finite ({})", coeffs[k])));
        }
        Ok(Self { coeffs, a, b })
    }

    /// Interpolation of `f` at the `degree + 1` Chebyshev nodes of `[a, b]`
    /// (`x_i = cos(pi (i + 1/2) / n)` mapped to `[a, b]`), coefficients by the discrete cosine
    /// transform `c_k = (2 / n) sum_i f(x_i) cos(pi k (i + 1/2) / n)` (`c_0` halved).
    pub fn interpolate(f: impl Fn(f64) -> f64, degree: usize, a: f64, b: f64) -> Result<Self, SchemeError> {
        check_interval(a, b)?;
        let n = degree + 1;
        let theta = |i: usize| std::f64::consts::PI * (i as f64 + 0.5) / n as f64;
        let values: Vec<f64> = (0..n).map(|i| f(0.5 * (b - a) * theta(i).cos() + 0.5 * (a + b))).collect();
        let coeffs = (0..n)
            .map(|k| {
                let s: f64 = values.iter().enumerate().map(|(i, v)| v * (k as f64 * theta(i)).cos()).sum();
                let c = 2.0 * s / n as f64;
                if k == 0 {
                    c / 2.0
                } else {
                    c
                }
            })
            .collect();
        Self::new(coeffs, a, b)
    }

    /// The degree `coeffs.len() - 1` (trailing zero coefficients included).
    pub fn degree(&self) -> usize {
        self.coeffs.len() - 1
    }

    /// `alpha, beta` with `y = alpha x + beta` mapping `[a, b]` onto `[-1, 1]`.
    pub fn affine(&self) -> (f64, f64) {
        let alpha = 2.0 / (self.b - self.a);
        (alpha, -(self.a + self.b) / (self.b - self.a))
    }

    /// Whether `T_1` costs a level: `b - a != 2` (then `alpha != 1`).
    fn affine_levels(&self) -> usize {
        usize::from(self.affine().0 != 1.0)
    }

    /// Levels [`Chebyshev::evaluate`] consumes: 0 for degree 0, 1 for degree 1, and
    /// `ceil(log2(degree + 1)) + (1 if b - a != 2)` for degree `>= 2`.
    pub fn depth(&self) -> usize {
        match self.degree() {
            0 => 0,
            1 => 1,
            d => ceil_log2(d + 1) + self.affine_levels(),
        }
    }

    /// `p(x)` by Clenshaw's recurrence.
    pub fn eval_plain(&self, x: f64) -> f64 {
        let (alpha, beta) = self.affine();
        let y = alpha * x + beta;
        let (mut b1, mut b2) = (0.0, 0.0);
        for &c in self.coeffs.iter().skip(1).rev() {
            let b0 = 2.0 * y * b1 - b2 + c;
            b2 = b1;
            b1 = b0;
        }
        y * b1 - b2 + self.coeffs[0]
    }

    /// `max |p(x)|` over a grid of `samples` points of `[a, b]` (a cheap estimate of the sup norm).
    pub fn max_abs(&self, samples: usize) -> f64 {
        let n = samples.max(2);
        (0..n)
            .map(|i| self.eval_plain(self.a + (self.b - self.a) * i as f64 / (n - 1) as f64).abs())
            .fold(0.0, f64::max)
    }

    /// `p(x)` slot-wise, for `x` encrypting values in `[a, b]`. Consumes exactly
    /// [`Chebyshev::depth`] levels; the output has the input's scale. Errors with
    /// [`SchemeError::OutOfLevels`] (`needed` = the depth) when `x` is below that level, and
    /// with the evaluator's errors (a missing relinearization key, scale overflow).
    pub fn evaluate(&self, eval: &Evaluator, x: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.evaluate_at_scale(eval, x, x.scale())
    }

    /// [`Chebyshev::evaluate`] with the output at exactly `scale` instead of the input's (every
    /// constant is encoded for it, so any scale costs the same levels): lets a caller plan the
    /// scales of the products that follow, as EvalMod does for its double angles
    /// ([`super::eval_mod::EvalMod::evaluate_to_scale`]). Errors as [`Chebyshev::evaluate`],
    /// and with [`SchemeError::InvalidScale`] for a scale that is not finite and positive.
    pub fn evaluate_at_scale(&self, eval: &Evaluator, x: &Ciphertext, scale: f64) -> Result<Ciphertext, SchemeError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(SchemeError::InvalidScale {
                op: "Chebyshev::evaluate_at_scale",
                log2: scale.log2(),
                reason: "the output scale must be finite and positive",
            });
        }
        let depth = self.depth();
        if x.level() < depth {
            return Err(SchemeError::OutOfLevels { op: "Chebyshev::evaluate", level: x.level(), needed: depth });
        }
        let (alpha, beta) = self.affine();
        let top = x.level();
        let t1_level = top - self.affine_levels().min(top);
        let baby = 1usize << ceil_log2(self.degree() + 1).div_ceil(2).max(1);
        let mut ctx = Context { eval, x, alpha, beta, t1_level, baby, powers: vec![None; self.degree() + 1] };
        let out = ctx.eval_at(&self.coeffs, top - depth, scale)?;
        debug_assert_eq!(out.level(), top - depth);
        Ok(out)
    }
}

struct Context<'a> {
    eval: &'a Evaluator,
    x: &'a Ciphertext,
    alpha: f64,
    beta: f64,
    /// Level of `T_1`: that of `x`, or one below when `alpha != 1`.
    t1_level: usize,
    /// Largest degree evaluated directly as `sum c_j T_j`.
    baby: usize,
    /// `powers[j] = T_j`, computed on demand.
    powers: Vec<Option<Ciphertext>>,
}

impl Context<'_> {
    fn q(&self, level: usize) -> f64 {
        self.x.params().q_basis().modulus(level).value() as f64
    }

    /// The level of `T_j` (`j >= 1`), known before computing it.
    fn power_level(&self, j: usize) -> usize {
        self.t1_level - ceil_log2(j)
    }

    /// `T_j`, computed on first use and kept.
    fn power(&mut self, j: usize) -> Result<&Ciphertext, SchemeError> {
        if self.powers[j].is_none() {
            let t = self.compute_power(j)?;
            debug_assert_eq!(t.level(), self.power_level(j));
            self.powers[j] = Some(t);
        }
        Ok(self.powers[j].as_ref().expect("just computed"))
    }

    fn compute_power(&mut self, j: usize) -> Result<Ciphertext, SchemeError> {
        let eval = self.eval;
        if j == 1 {
            let mut y = if self.alpha == 1.0 {
                self.x.clone()
            } else {
                self.eval.mul_const_to(self.x, self.alpha, self.x.level() - 1, self.x.scale())?
            };
            eval.add_const_assign(&mut y, self.beta)?;
            return Ok(y);
        }
        if j.is_multiple_of(2) {
            // T_{2k} = 2 T_k^2 - 1.
            let h = self.power(j / 2)?;
            let mut t = eval.mul_relin_rescale(h, h)?;
            eval.mul_int_assign(&mut t, 2)?;
            eval.add_const_assign(&mut t, -1.0)?;
            return Ok(t);
        }
        // T_{2k+1} = 2 T_{k+1} T_k - T_1.
        self.power(j / 2 + 1)?;
        self.power(j / 2)?;
        self.power(1)?;
        let [u, v, t1] = [j / 2 + 1, j / 2, 1].map(|i| self.powers[i].as_ref().expect("computed above"));
        let (u, v) = eval.align_levels(u, v)?;
        let mut p = eval.mul_relin_rescale(&u, &v)?;
        eval.mul_int_assign(&mut p, 2)?;
        eval.sub(&p, &self.eval.mul_const_to(t1, 1.0, p.level(), p.scale())?)
    }

    /// `0 * x + c` at `level` and `scale`.
    fn constant(&self, c: f64, level: usize, scale: f64) -> Result<Ciphertext, SchemeError> {
        let mut z = self.eval.drop_to_level(self.x, level)?;
        self.eval.mul_int_assign(&mut z, 0)?;
        z.set_scale(scale);
        self.eval.add_const_assign(&mut z, c)?;
        Ok(z)
    }

    /// `sum_j coeffs[j] T_j` at exactly `level` and `scale`; needs
    /// `level <= t1_level - ceil(log2(deg + 1))` (and `level < level(x)` for degree 1).
    fn eval_at(&mut self, coeffs: &[f64], level: usize, scale: f64) -> Result<Ciphertext, SchemeError> {
        let deg = coeffs.iter().rposition(|&c| c != 0.0).unwrap_or(0);
        let coeffs = &coeffs[..=deg];
        if deg == 0 {
            return self.constant(coeffs[0], level, scale);
        }
        if deg == 1 || (deg <= self.baby && self.power_level(deg) > level) {
            // c_1 T_1 = c_1 alpha x + c_1 beta: the affine map folded, from x itself. Every
            // term is multiplied at level + 1 by its constant encoded so that all products
            // share the scale `scale * q_{level+1}`: one rescale for the whole sum.
            let target = scale * self.q(level + 1);
            for (j, &c) in coeffs.iter().enumerate().skip(2) {
                if c != 0.0 {
                    self.power(j)?;
                }
            }
            let mut terms = vec![(self.x, coeffs[1] * self.alpha, target / self.x.scale())];
            for (j, &c) in coeffs.iter().enumerate().skip(2) {
                if c != 0.0 {
                    let t = self.powers[j].as_ref().expect("computed above");
                    terms.push((t, c, target / t.scale()));
                }
            }
            let constant = coeffs[0] + coeffs[1] * self.beta;
            let mut acc = self.eval.sum_mul_const_at_scale(&terms, level + 1)?;
            self.eval.rescale_assign(&mut acc)?;
            acc.set_scale(scale);
            self.eval.add_const_assign(&mut acc, constant)?;
            return Ok(acc);
        }
        // Chebyshev division by T_m, m = 2^k <= deg < 2^(k+1):
        // T_{m+i} = 2 T_m T_i - T_{m-i} (i >= 1), so q = c_m + sum_i 2 c_{m+i} T_i and
        // r = sum_{j<m} c_j T_j - sum_i c_{m+i} T_{m-i}.
        let m = 1usize << (usize::BITS - 1 - deg.leading_zeros());
        let mut q = vec![0.0; deg - m + 1];
        let mut r = coeffs[..m].to_vec();
        q[0] = coeffs[m];
        for i in 1..=deg - m {
            q[i] = 2.0 * coeffs[m + i];
            r[m - i] -= coeffs[m + i];
        }
        let tm = self.eval.drop_to_level(self.power(m)?, level + 1)?;
        let mut prod = if q.len() == 1 {
            self.eval.mul_const_to(&tm, q[0], level, scale)?
        } else {
            let q_scale = scale * self.q(level + 1) / tm.scale();
            let qct = self.eval_at(&q, level + 1, q_scale)?;
            self.eval.mul_relin_rescale(&qct, &tm)?
        };
        prod.set_scale(scale);
        let rct = self.eval_at(&r, level, scale)?;
        self.eval.add(&prod, &rct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decryptor, Encoder, Encryptor, KeyGenerator, Parameters, Preset, SecretKey};
    use std::sync::{Arc, OnceLock};

    fn naive(p: &Chebyshev, x: f64) -> f64 {
        let (alpha, beta) = p.affine();
        let y = alpha * x + beta;
        let (mut t0, mut t1) = (1.0, y);
        let mut s = p.coeffs[0];
        for (k, &c) in p.coeffs.iter().enumerate().skip(1) {
            if k > 1 {
                let t2 = 2.0 * y * t1 - t0;
                t0 = t1;
                t1 = t2;
            }
            s += c * t1;
        }
        s
    }

    type RealFn = fn(f64) -> f64;

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    fn max_err(p: &Chebyshev, f: impl Fn(f64) -> f64) -> f64 {
        (0..=1000)
            .map(|i| p.a + (p.b - p.a) * i as f64 / 1000.0)
            .map(|x| (p.eval_plain(x) - f(x)).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn polynomial_interpolation_error_decreases() {
        let fs: [(&str, RealFn); 3] = [("sin", f64::sin), ("exp", f64::exp), ("sigmoid", sigmoid)];
        for (name, f) in fs {
            let errs: Vec<f64> = [4, 8, 16, 32, 64]
                .iter()
                .map(|&d| max_err(&Chebyshev::interpolate(f, d, -8.0, 8.0).unwrap(), f))
                .collect();
            let scale = (-8.0f64..=8.0).max_abs(f);
            for w in errs.windows(2) {
                // Strictly decreasing until the f64 rounding floor.
                assert!(w[1] < w[0] || w[1] < 1e-12 * scale, "{name}: {errs:?}");
            }
            assert!(errs[4] / scale < 1e-9, "{name}: {errs:?}");
        }
    }

    trait MaxAbs {
        fn max_abs(&self, f: fn(f64) -> f64) -> f64;
    }
    impl MaxAbs for std::ops::RangeInclusive<f64> {
        fn max_abs(&self, f: fn(f64) -> f64) -> f64 {
            (0..=1000)
                .map(|i| f(self.start() + (self.end() - self.start()) * i as f64 / 1000.0).abs())
                .fold(0.0, f64::max)
        }
    }

    #[test]
    fn polynomial_clenshaw_matches_naive_sum() {
        let p =
            Chebyshev::new((0..20).map(|k| ((k * 7 % 11) as f64 - 5.0) / (k + 1) as f64).collect(), -3.0, 5.0).unwrap();
        for i in 0..=100 {
            let x = -3.0 + 8.0 * i as f64 / 100.0;
            assert!((p.eval_plain(x) - naive(&p, x)).abs() < 1e-12, "x = {x}");
        }
        // Interpolation reproduces polynomials exactly: x^3 - 2x on [-1, 1] is T_3/4 + T_1/4... up to rounding.
        let c = Chebyshev::interpolate(|x| x * x * x - 2.0 * x, 3, -1.0, 1.0).unwrap();
        let expect = [0.0, 0.75 - 2.0, 0.0, 0.25];
        for (a, b) in c.coeffs.iter().zip(expect) {
            assert!((a - b).abs() < 1e-14, "{:?}", c.coeffs);
        }
    }

    #[test]
    fn polynomial_invalid_parameters() {
        for (a, b) in [(1.0, 1.0), (2.0, 1.0), (f64::NAN, 1.0), (0.0, f64::INFINITY), (-f64::MAX, f64::MAX)] {
            assert!(matches!(Chebyshev::interpolate(f64::sin, 3, a, b), Err(SchemeError::InvalidParameters { .. })));
        }
        assert!(matches!(Chebyshev::new(vec![], -1.0, 1.0), Err(SchemeError::InvalidParameters { .. })));
        assert!(matches!(Chebyshev::new(vec![1.0, f64::NAN], -1.0, 1.0), Err(SchemeError::InvalidParameters { .. })));
    }

    #[test]
    fn polynomial_depth_formula() {
        let p = |d: usize, a: f64, b: f64| Chebyshev::new(vec![1.0; d + 1], a, b).unwrap().depth();
        assert_eq!([0, 1, 2, 3, 4, 5, 6, 7, 8].map(|d| p(d, -1.0, 1.0)), [0, 1, 2, 2, 3, 3, 3, 3, 4]);
        assert_eq!([0, 1, 2, 3, 7, 8, 15, 31].map(|d| p(d, -8.0, 8.0)), [0, 1, 3, 3, 4, 5, 5, 6]);
        assert_eq!(p(7, 0.0, 2.0), 3);
    }

    struct Fixture {
        params: Parameters,
        sk: SecretKey,
        encoder: Encoder,
        eval: Evaluator,
    }

    fn fixture(preset: Preset) -> Fixture {
        let params = preset.build().unwrap();
        let mut keygen = KeyGenerator::from_seed(&params, [3; 32]);
        let sk = keygen.secret_key().unwrap();
        let keys = Arc::new(keygen.evaluation_keys(&sk, &[], false).unwrap());
        Fixture { encoder: Encoder::new(&params), eval: Evaluator::new(keys), params, sk }
    }

    fn n12() -> &'static Fixture {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(|| fixture(Preset::InsecureTestN12))
    }

    fn n13() -> &'static Fixture {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(|| fixture(Preset::InsecureTestN13))
    }

    /// Encrypts pseudo-random points of `[a, b]` (both ends included), evaluates, and returns the
    /// precision in bits relative to `max |p|` after checking level and scale.
    fn check(fx: &Fixture, p: &Chebyshev, seed: u64) -> f64 {
        let n = fx.params.slots();
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let xs: Vec<f64> = (0..n)
            .map(|i| match i {
                0 => p.a,
                1 => p.b,
                _ => {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    p.a + (p.b - p.a) * (s >> 11) as f64 / (1u64 << 53) as f64
                }
            })
            .collect();
        let top = fx.params.max_level();
        let pt = fx.encoder.encode_real(&xs, top, fx.params.default_scale()).unwrap();
        let mut enc = Encryptor::from_seed(&fx.eval.keys().unwrap().public, [seed as u8; 32]);
        let ct = enc.encrypt(&pt).unwrap();
        let out = p.evaluate(&fx.eval, &ct).unwrap();
        assert_eq!(top - out.level(), p.depth(), "levels consumed, degree {}", p.degree());
        assert_eq!(out.scale(), ct.scale());
        let got = fx.encoder.decode_real(&Decryptor::new(&fx.sk).decrypt(&out).unwrap()).unwrap();
        let err = xs.iter().zip(&got).map(|(&x, &g)| (p.eval_plain(x) - g).abs()).fold(0.0, f64::max);
        // Relative to max |p| (at least 2^-10, for the near-zero degree-0 fits of odd functions).
        -(err / p.max_abs(2001).max(1.0 / 1024.0)).log2()
    }

    #[test]
    fn polynomial_homomorphic_degrees() {
        let fx = n12();
        let fs: [(&str, RealFn, f64, f64); 4] = [
            ("sigmoid", sigmoid, -8.0, 8.0),
            ("exp", f64::exp, -4.0, 0.0),
            ("sin", f64::sin, -1.0, 1.0),
            ("cos", |x| (3.0 * x).cos(), 0.0, 2.0),
        ];
        for (name, f, a, b) in fs {
            for d in [0, 1, 2, 3, 7, 8, 15] {
                let p = Chebyshev::interpolate(f, d, a, b).unwrap();
                if p.depth() > fx.params.max_level() {
                    let ct = fx.encoder.encode_real(&[0.0], fx.params.max_level(), fx.params.default_scale()).unwrap();
                    let ct = Encryptor::from_seed(&fx.eval.keys().unwrap().public, [1; 32]).encrypt(&ct).unwrap();
                    let e = p.evaluate(&fx.eval, &ct).unwrap_err();
                    assert_eq!(
                        e,
                        SchemeError::OutOfLevels {
                            op: "Chebyshev::evaluate",
                            level: fx.params.max_level(),
                            needed: p.depth()
                        }
                    );
                    continue;
                }
                let bits = check(fx, &p, d as u64 + 1);
                eprintln!("{name} [{a}, {b}] degree {d}: depth {} precision {bits:.1} bits", p.depth());
                assert!(bits > 18.0, "{name} degree {d}: {bits:.1} bits");
            }
        }
    }

    #[test]
    fn polynomial_homomorphic_random_coefficients_n13() {
        let fx = n13();
        for (d, a, b) in [(31, -8.0, 8.0), (31, -1.0, 1.0), (12, -1.0, 1.0), (21, -2.0, 6.0)] {
            let coeffs = (0..=d).map(|k| (((k * 37 + 11) % 19) as f64 - 9.0) / 9.0 / (1 + k) as f64).collect();
            let p = Chebyshev::new(coeffs, a, b).unwrap();
            let bits = check(fx, &p, d as u64);
            eprintln!("random [{a}, {b}] degree {d}: depth {} precision {bits:.1} bits", p.depth());
            assert!(bits > 15.0, "degree {d}: {bits:.1} bits");
        }
        // Softmax-style exponential on a wide interval, degree 31.
        let p = Chebyshev::interpolate(f64::exp, 31, -8.0, 0.0).unwrap();
        let bits = check(fx, &p, 99);
        eprintln!("exp [-8, 0] degree 31: depth {} precision {bits:.1} bits", p.depth());
        assert!(bits > 18.0);
    }

    #[test]
    fn polynomial_out_of_levels() {
        let fx = n12();
        let p = Chebyshev::interpolate(sigmoid, 7, -8.0, 8.0).unwrap();
        assert_eq!(p.depth(), 4);
        let pt = fx.encoder.encode_real(&[0.5], 3, fx.params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&fx.eval.keys().unwrap().public, [2; 32]).encrypt(&pt).unwrap();
        assert_eq!(
            p.evaluate(&fx.eval, &ct).unwrap_err(),
            SchemeError::OutOfLevels { op: "Chebyshev::evaluate", level: 3, needed: 4 }
        );
        // Exactly enough levels: output at level 0.
        let pt = fx.encoder.encode_real(&[0.5], 4, fx.params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&fx.eval.keys().unwrap().public, [2; 32]).encrypt(&pt).unwrap();
        let out = p.evaluate(&fx.eval, &ct).unwrap();
        assert_eq!(out.level(), 0);
        let got = fx.encoder.decode_real(&Decryptor::new(&fx.sk).decrypt(&out).unwrap()).unwrap();
        assert!((got[0] - p.eval_plain(0.5)).abs() < 1e-4);
    }
}
