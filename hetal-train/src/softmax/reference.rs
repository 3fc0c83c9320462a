//! The softmax approximation written as in the authors' numpy model (unnormalised `y`, monomial
//! Horner evaluation), to check the mirror against, and to measure the spurious `c_8 x^9` term
//! of that model.

use super::{padded_classes, HetalSoftmax, SoftmaxConfig};

/// How the numpy model evaluates `p` of `exp(y) ~ p(y/8)^8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpEvaluation {
    /// The correct degree-8 Horner evaluation `sum_j p_j x^j`.
    Degree8,
    /// The authors' loop `r = p_8; for i = 8..=0 { r = r x + p_i }`, which multiplies once too
    /// often: `p_8 x^9 + p_8 x^8 + p_7 x^7 + ... + p_0`, a spurious `c_8 x^9` term (and `p_8`
    /// counted again at `x^8`).
    AuthorsSpurious,
}

/// `p(x)` evaluated as `how` says (0 for an empty coefficient list).
pub fn exp_poly(coeffs: &[f64], x: f64, how: ExpEvaluation) -> f64 {
    let Some(&last) = coeffs.last() else { return 0.0 };
    match how {
        ExpEvaluation::Degree8 => coeffs.iter().rev().skip(1).fold(last, |r, &c| r * x + c),
        ExpEvaluation::AuthorsSpurious => coeffs.iter().rev().fold(last, |r, &c| r * x + c),
    }
}

/// `exp(y) ~ p(y / 2^s)^(2^s)` (the numpy model's `approx_exp`).
pub fn approx_exp(cfg: &SoftmaxConfig, y: f64, how: ExpEvaluation) -> f64 {
    let x = y / f64::powi(2.0, cfg.exp_squarings as i32);
    (0..cfg.exp_squarings).fold(exp_poly(&cfg.exp_coeffs, x, how), |e, _| e * e)
}

/// The domain-extension polynomials in `y` (spec section 5 step 4).
pub fn domain_extension(cfg: &SoftmaxConfig, mut y: f64) -> f64 {
    let (r, l) = (cfg.r, cfg.extension_ratio);
    for i in (0..cfg.extension_steps).rev() {
        y -= 4.0 / 27.0 / (r * r * l.powi(2 * i as i32)) * y * y * y;
    }
    if cfg.precise {
        let k = cfg.precise_k();
        y = y + k / (r * r) * y.powi(3) - k / r.powi(4) * y.powi(5);
    }
    y
}

/// The approximate softmax of one row as the numpy model computes it (`approx_softmax_wide`):
/// the approximate max of the normalised, padded row (through `mirror`'s comparison tree),
/// then domain extension, `exp`, the row sum over the real classes and the Goldschmidt inverse
/// in unnormalised variables.
pub fn numpy_model_row(mirror: &HetalSoftmax, logits: &[f64], how: ExpEvaluation, out: &mut [f64]) {
    let cfg = mirror.config();
    let two_r_max = 2.0 * cfg.r_max();
    let mut x: Vec<f64> = logits.iter().map(|v| v / two_r_max).collect();
    x.resize(padded_classes(logits.len()), -0.5);
    let m = mirror.approx_max(&x) * two_r_max;
    for (o, &v) in out.iter_mut().zip(logits) {
        *o = approx_exp(cfg, domain_extension(cfg, v - m), how);
    }
    let s: f64 = out.iter().sum();
    let (big_r, mut y) = (cfg.inverse_r, 2.0 - s / cfg.inverse_r);
    let mut t = y - 1.0;
    for _ in 0..cfg.inverse_iters {
        t *= t;
        y *= 1.0 + t;
    }
    out.iter_mut().for_each(|o| *o *= y / big_r);
}
