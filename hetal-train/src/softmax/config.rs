//! The constants of the softmax approximation (spec section 5) and the depth of each stage.

/// Coefficients `p_0..p_8` of the degree-8 polynomial `p` with `exp(y) ~ p(y/8)^8` on
/// `[-8, 0]` (the authors' near-Taylor fit, spec section 5 step 5).
pub const EXP_COEFFS: [f64; 9] = [
    1.000000001945585,
    0.9999999388932228,
    0.499999859398392,
    0.16666798775227673,
    0.04166711228500117,
    0.008328336039797088,
    0.0013881473292497602,
    0.00020492629147503022,
    2.551385701569812e-05,
];

/// Cheon-Kim-Kim `f(x) = (35x - 35x^3 + 21x^5 - 5x^7) / 16`, monomial coefficients `x^0..x^7`.
pub const COMP_F: [f64; 8] = [0.0, 35.0 / 16.0, 0.0, -35.0 / 16.0, 0.0, 21.0 / 16.0, 0.0, -5.0 / 16.0];

/// Cheon-Kim-Kim `g(x) = (4589x - 16577x^3 + 25614x^5 - 12860x^7) / 1024`, coefficients
/// `x^0..x^7`.
pub const COMP_G: [f64; 8] =
    [0.0, 4589.0 / 1024.0, 0.0, -16577.0 / 1024.0, 0.0, 25614.0 / 1024.0, 0.0, -12860.0 / 1024.0];

/// Every constant of the row-wise softmax approximation of HETAL (spec section 5). Defaults
/// are the paper's: `r = 8`, `L = 2`, `n = 5` (so `R_max = (r/2) L^n = 128`, inputs in
/// `[-128, 128]`), `fi = 1`, `gi = 2`, precise domain extension, `exp` as `p(y/8)^8`, and the
/// Goldschmidt inverse with `R = 100` and 16 iterations.
///
/// Stages and the levels each consumes on ciphertexts (all polynomials on `[-1, 1]`, where the
/// project's `Chebyshev` evaluation needs `ceil(log2(d + 1))` levels for degree `d`):
///
/// | stage | formula | levels |
/// |---|---|---|
/// | normalise | `x' = x / (2 R_max)`, padded classes `-1/2` | 1 (plaintext mask) |
/// | max, per round (`log2 c` rounds) | `d = m - rot(m, 2^t)`, `comp = (f^fi(g^gi(d)) + 1)/2`, `m = rot + d comp` | `3 (gi + fi) + 1` |
/// | max broadcast | keep column 0 of every copy, replicate with right rotations | 1 |
/// | domain extension, `n` steps | `w = L w - (4/27) L^3 w^3` (normalised form, below) | 2 each |
/// | precise correction | `v = v + k v^3 - k v^5` | 3 |
/// | exp | `e' = (K^(-1/8) p(v))^8 = exp(y) / K` (`exp_squarings` = 3 squarings) | 4 + 3 |
/// | class mask | zero the padded classes | 1 |
/// | row sum | rotations `1, 2, .., c/2`, keep column 0 (times `K/R`: `s = S/R`), replicate | 1 |
/// | inverse start | `t = 1 - S/R`, `u = (1 + t)/R` | 1 |
/// | inverse steps (`inv_iters`) | `t = t^2`, `u = u (1 + t)` (`t` runs one level above `u`) | 1 each |
/// | output | `K (e' u)` (`K` by an integer product) | 1 |
///
/// Normalised variables keep every intermediate value in `[-1, 1]` (bootstrapping-friendly):
/// with `y = x - max`, the domain-extension step `i` (`i = n-1 .. 0`) maps
/// `y -> y - (4/27) y^3 / (r^2 L^(2i))`; in `w = y / (r L^(i+1))` this is the same polynomial
/// `w -> L w - (4/27) L^3 w^3` for every `i`, and after the last step `w = y / r`, the input of
/// `p` (`r = 8 = 2^exp_squarings`). Before the first step `w = y / (r L^n) = x' - m`, so the
/// shift needs no multiplication.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxConfig {
    /// `r`: the domain extension lands in `[-r, 0]`.
    pub r: f64,
    /// `L`: the extension ratio of one domain-extension step.
    pub extension_ratio: f64,
    /// `n`: the number of domain-extension steps.
    pub extension_steps: usize,
    /// Whether to apply the "precise" correction `y + (k/r^2) y^3 - (k/r^4) y^5` after the
    /// domain extension, `k = (4/27)(L^(2n) - 1) / (L^(2n-2) (L^2 - 1))`.
    pub precise: bool,
    /// `gi`: applications of `g` in the comparison.
    pub comp_g_iters: usize,
    /// `fi`: applications of `f` in the comparison (after the `g`s).
    pub comp_f_iters: usize,
    /// Coefficients of `p` in `exp(y) ~ p(y / 2^s)^(2^s)`, lowest degree first.
    pub exp_coeffs: Vec<f64>,
    /// `s`: the squarings after `p` (the argument is divided by `2^s`).
    pub exp_squarings: usize,
    /// `k` with `K = 2^k`: the exp stage computes `exp(y) / K` (the factor `K^(-1/2^s)`
    /// folded into `p`), and the output multiplies `K` back with an integer product (exact, no
    /// level). The approximate max can undershoot the true max, so `exp(y)` reaches about 6
    /// (measured for `c = 4`); with `K = 16` every value that may be refreshed stays in
    /// `[-1, 1]`, the usual input range of bootstrapping.
    pub exp_headroom_log2: u32,
    /// `R` of the Goldschmidt inverse (an upper bound of the row sum, `S < 2R`).
    pub inverse_r: f64,
    /// Goldschmidt iterations.
    pub inverse_iters: usize,
}

impl Default for SoftmaxConfig {
    fn default() -> Self {
        Self {
            r: 8.0,
            extension_ratio: 2.0,
            extension_steps: 5,
            precise: true,
            comp_g_iters: 2,
            comp_f_iters: 1,
            exp_coeffs: EXP_COEFFS.to_vec(),
            exp_squarings: 3,
            exp_headroom_log2: 4,
            inverse_r: 100.0,
            inverse_iters: 16,
        }
    }
}

/// One stage of the encrypted softmax and the levels it consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    /// Name of the stage (as in the table of [`SoftmaxConfig`]).
    pub name: &'static str,
    /// Levels consumed.
    pub levels: usize,
}

impl SoftmaxConfig {
    /// `K = 2^exp_headroom_log2`, the divisor of the exp stage's output.
    pub fn exp_headroom(&self) -> f64 {
        f64::powi(2.0, self.exp_headroom_log2 as i32)
    }

    /// `R_max = (r/2) L^n`: inputs must lie in `[-R_max, R_max]` (128 by default).
    pub fn r_max(&self) -> f64 {
        self.r / 2.0 * self.extension_ratio.powi(self.extension_steps as i32)
    }

    /// `k = (4/27)(L^(2n) - 1) / (L^(2n-2) (L^2 - 1))` of the precise correction.
    pub fn precise_k(&self) -> f64 {
        let l2 = self.extension_ratio * self.extension_ratio;
        let n = self.extension_steps as i32;
        4.0 / 27.0 * (l2.powi(n) - 1.0) / (l2.powi(n - 1) * (l2 - 1.0))
    }

    /// The stages of the encrypted softmax for `c` padded classes, in order, with their levels
    /// (see the table of [`SoftmaxConfig`]). A level-7 polynomial costs 3 levels, the cubic of
    /// a domain-extension step 2, the quintic correction 3 and `p` of degree 8 costs 4.
    pub fn stages(&self, c: usize) -> Vec<Stage> {
        let rounds = c.max(1).trailing_zeros() as usize;
        let mut out = vec![Stage { name: "normalise", levels: 1 }];
        for _ in 0..rounds {
            for _ in 0..self.comp_g_iters + self.comp_f_iters {
                out.push(Stage { name: "max.compare", levels: 3 });
            }
            if self.comp_g_iters + self.comp_f_iters == 0 {
                out.push(Stage { name: "max.compare", levels: 1 });
            }
            out.push(Stage { name: "max.select", levels: 1 });
        }
        out.push(Stage { name: "max.broadcast", levels: 1 });
        out.extend((0..self.extension_steps).map(|_| Stage { name: "dep.step", levels: 2 }));
        if self.precise {
            out.push(Stage { name: "dep.precise", levels: 3 });
        }
        let exp_levels = (self.exp_coeffs.len()).next_power_of_two().trailing_zeros() as usize;
        out.push(Stage { name: "exp.poly", levels: exp_levels });
        out.extend((0..self.exp_squarings).map(|_| Stage { name: "exp.square", levels: 1 }));
        out.push(Stage { name: "mask", levels: 1 });
        out.push(Stage { name: "sum.broadcast", levels: 1 });
        out.push(Stage { name: "inverse.start", levels: 1 });
        out.extend((0..self.inverse_iters).map(|_| Stage { name: "inverse.step", levels: 1 }));
        out.push(Stage { name: "output", levels: 1 });
        out
    }

    /// Total levels of the encrypted softmax for `c` padded classes (sum of [`Self::stages`]):
    /// 82 for `c = 16` and 62 for `c = 4` with the defaults.
    pub fn depth(&self, c: usize) -> usize {
        self.stages(c).iter().map(|s| s.levels).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let cfg = SoftmaxConfig::default();
        assert_eq!(cfg.r_max(), 128.0);
        assert!((cfg.precise_k() - 4.0 / 27.0 * 1023.0 / (256.0 * 3.0)).abs() < 1e-15);
        assert_eq!(cfg.depth(16), 82);
        assert_eq!(cfg.depth(4), 62);
    }
}
