//! The `f64` mirror of HETAL's encrypted softmax: the same stages, the same polynomials
//! (evaluated by Clenshaw), the same order of the max tree and the same normalised variables.

use super::{padded_classes, HetalSoftmax, SoftmaxApproximation};
use crate::matrix::Matrix;

/// The `f64` mirror: stage for stage what the circuit ([`SoftmaxApproximation::evaluate`])
/// computes on ciphertexts, without encryption noise.
impl HetalSoftmax {
    /// `comp(a, b) ~ [a > b]` on `d = a - b` in `[-1, 1]`: the comparison chain.
    pub fn compare(&self, d: f64) -> f64 {
        self.polys.comparison.iter().fold(d, |v, p| p.eval_plain(v))
    }

    /// The approximate maximum of `x` (length `c`, a power of two) by the tree
    /// `m_j = max(m_j, m_(j + 2^t mod c))`, `t = 0..log2 c`, returning `m_0`, with
    /// `max(a, b) = b + (a - b) comp(a, b)`.
    pub fn approx_max(&self, x: &[f64]) -> f64 {
        let c = x.len();
        let mut m = x.to_vec();
        let mut step = 1;
        while step < c {
            let prev = m.clone();
            for j in 0..c {
                let (a, b) = (prev[j], prev[(j + step) % c]);
                m[j] = b + (a - b) * self.compare(a - b);
            }
            step <<= 1;
        }
        m[0]
    }

    /// `exp(y) / K` for `y = r v`, `v` in about `[-1, 0]`: the scaled `p` squared `s` times.
    pub fn exp_over_headroom(&self, v: f64) -> f64 {
        (0..self.config.exp_squarings).fold(self.polys.exp.eval_plain(v), |e, _| e * e)
    }

    /// `exp(y)` for `y = r v`: [`Self::exp_over_headroom`] times `K`.
    pub fn exp_normalised(&self, v: f64) -> f64 {
        self.exp_over_headroom(v) * self.config.exp_headroom()
    }

    /// `1 / S` from `s = S / R` by Goldschmidt: `t = 1 - s`, `u = (1 + t) / R`, then
    /// `inverse_iters` times `t = t^2`, `u = u (1 + t)`.
    pub fn inverse_of_ratio(&self, s: f64) -> f64 {
        let r = self.config.inverse_r;
        let mut t = 1.0 - s;
        let mut u = (1.0 + t) / r;
        for _ in 0..self.config.inverse_iters {
            t *= t;
            u *= 1.0 + t;
        }
        u
    }

    /// The approximate softmax of one row of `logits` (the real classes; padded internally to
    /// `c`), written to `out` (same length). Inputs are expected in `[-R_max, R_max]`.
    pub fn row(&self, logits: &[f64], out: &mut [f64]) {
        let classes = logits.len();
        let c = padded_classes(classes);
        let scale = 1.0 / (2.0 * self.config.r_max());
        // 1. normalise, padded classes at the minimum -1/2.
        let mut x: Vec<f64> = logits.iter().map(|v| v * scale).collect();
        x.resize(c, -0.5);
        // 2. approximate max.
        let m = self.approx_max(&x);
        for (o, &xj) in out.iter_mut().zip(&x) {
            // 3.-4. shift and domain extension in normalised variables.
            let mut w = xj - m;
            for _ in 0..self.config.extension_steps {
                w = self.polys.extension_step.eval_plain(w);
            }
            if self.config.precise {
                w = self.polys.precise.eval_plain(w);
            }
            // 5. exp, divided by K.
            *o = self.exp_over_headroom(w);
        }
        // 6.-8. row sum over the real classes (times K/R), inverse, product, times K.
        let k = self.config.exp_headroom();
        let inv = self.inverse_of_ratio(out.iter().sum::<f64>() * (k / self.config.inverse_r));
        out.iter_mut().for_each(|o| *o = (*o * inv) * k);
    }

    /// [`Self::row`] applied to every row of `logits` ([`SoftmaxApproximation::rows`]).
    pub fn rows(&self, logits: &Matrix) -> Matrix {
        SoftmaxApproximation::rows(self, logits)
    }
}

/// The exact softmax `exp(x_j - max x) / sum_k exp(x_k - max x)` of one row, into `out`.
pub fn exact_softmax_row(logits: &[f64], out: &mut [f64]) {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (o, &x) in out.iter_mut().zip(logits) {
        *o = (x - max).exp();
    }
    let sum: f64 = out.iter().sum();
    out.iter_mut().for_each(|o| *o /= sum);
}
