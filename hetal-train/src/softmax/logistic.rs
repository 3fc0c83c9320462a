//! The softmax of two classes as one polynomial: `softmax(x)_j = sigma(x_j - x_(1-j))`, the
//! logistic function `sigma(d) = 1 / (1 + e^-d)` of the difference of the two logits.
//!
//! With `R = R_max` (128) the difference lies in `[-2R, 2R]`; in `u = d / (2R)`, on `[-1, 1]`:
//!
//! | stage | formula | levels |
//! |---|---|---|
//! | difference | `u = (x_0 - x_1) / (2R)` at class 0 (left rotation by 1, copy-start mask), `-u` at class 1 (right rotation by 1, no level) | 1 |
//! | sigmoid | `p(u) ~ sigma(2R u)`, Chebyshev interpolant of degree [`DEGREE`] | 10 |
//!
//! `sigma(2R u)` has poles at `u = +-i pi / (2R)`, so no polynomial of low degree follows it on
//! `[-1, 1]`: the interpolant's error falls like `rho^-deg` with `rho = 1 + pi / (2R)`. Degree
//! 1023 (10 levels, the depth-optimal evaluation of [`Chebyshev::evaluate`], 63
//! ciphertext products) errs by 2.2e-6 on `[-1, 1]`, ten times below normalize-and-square's
//! 2e-5, in 11 levels against its 30. One refresh window (12 levels at the secure preset) holds
//! the whole sigmoid, so a training step refreshes the softmax once where normalize-and-square
//! refreshes two or three times.
//!
//! `p` keeps only the constant `1/2` and the odd terms, so `p(-u) = 1 - p(u)` exactly and the
//! two outputs of a row sum to 1 in the mirror; it is scaled about `1/2` so that it stays in
//! `[0, 1]` (bootstrapping's range for `D = P - Y` after it).

use super::encrypted::{check_refresh_window, Ctx};
use super::memo::{memoized, Memo};
use super::{Refresh, SoftmaxApproximation, SoftmaxConfig, SoftmaxError, SoftmaxId, SoftmaxInput, SoftmaxRun, Stage};
use ckks_scheme::{Chebyshev, Ciphertext, Encoder};
use std::sync::{Arc, OnceLock};

/// The degree of the sigmoid's interpolant: 10 levels.
pub const DEGREE: usize = 1023;
/// The only class count this approximation runs.
pub const CLASSES: usize = 2;

/// Interpolants by the bits of `R`, shared by every instance (an interpolation of degree 1023
/// takes about a million cosines).
static SIGMOIDS: Memo<u64, Chebyshev> = OnceLock::new();

/// The logistic softmax of two classes ([`SoftmaxId::Logistic`]).
#[derive(Clone, Debug)]
pub struct LogisticSoftmax {
    r_max: f64,
    sigmoid: Arc<Chebyshev>,
}

impl LogisticSoftmax {
    /// The approximation for logits in `[-R, R]`, `R = config.r_max()` (128 by default; the
    /// other constants of `config` are HETAL's and unused). Errors on a bound that is not
    /// finite and positive.
    pub fn new(config: &SoftmaxConfig) -> Result<Self, SoftmaxError> {
        let r_max = config.r_max();
        if !(r_max.is_finite() && r_max > 0.0) {
            return Err(SoftmaxError::Config { reason: format!("input bound {r_max} must be finite and positive") });
        }
        let sigmoid = memoized(&SIGMOIDS, r_max.to_bits(), || Self::fit(r_max))?;
        Ok(Self { r_max, sigmoid })
    }

    /// `p(u) ~ sigma(2R u)` on `[-1, 1]`: the interpolant with its even terms but the constant
    /// dropped (they are rounding noise of an odd function plus 1/2), and its odd part scaled
    /// so that `|p - 1/2| <= 1/2 - 1e-8` on a grid of 65536 points.
    fn fit(r_max: f64) -> Result<Chebyshev, SoftmaxError> {
        let b = 2.0 * r_max;
        let raw = Chebyshev::interpolate(|u| 1.0 / (1.0 + (-b * u).exp()), DEGREE, -1.0, 1.0)?;
        let mut coeffs: Vec<f64> =
            raw.coeffs.iter().enumerate().map(|(k, &c)| if k % 2 == 1 { c } else { 0.0 }).collect();
        coeffs[0] = 0.5;
        let odd =
            Chebyshev::new(coeffs.iter().enumerate().map(|(k, &c)| if k == 0 { 0.0 } else { c }).collect(), -1.0, 1.0)?;
        // The interpolant oscillates by its error (2e-6) near 0 and 1; between the grid's
        // points it can rise above the grid's peak by about 1e-9.
        let bound = 0.5 - 1e-8;
        let peak = odd.max_abs(1 << 16);
        if peak > bound {
            coeffs.iter_mut().skip(1).for_each(|c| *c *= bound / peak);
        }
        Ok(Chebyshev::new(coeffs, -1.0, 1.0)?)
    }

    /// The interpolant the mirror and the circuit evaluate.
    pub fn sigmoid(&self) -> &Chebyshev {
        &self.sigmoid
    }

    /// `u = scale (x_0 - x_1)`, `scale = 1/(2R)`.
    fn input_scale(&self) -> f64 {
        1.0 / (2.0 * self.r_max)
    }

    /// `u` at class 0 of every copy and `-u` at class 1: `x - rot(x, 1)` is the difference at
    /// the copy starts (and a mixture of two copies at class 1), the copy-start mask (with the
    /// fold, if any) keeps it, and subtracting its right rotation by 1 writes `-u` at class 1
    /// (where the masked value is 0). One level.
    fn difference(ctx: &Ctx, x: &Ciphertext, scale: f64) -> Result<Ciphertext, SoftmaxError> {
        let next = ctx.eval.rotate(x, 1)?;
        let a = ctx.eval.sub(x, &next)?;
        let m = ctx.entry_mask(&a, &ctx.layout.copy_start_mask(scale))?;
        let prev = ctx.eval.rotate(&m, -1)?;
        Ok(ctx.eval.sub(&m, &prev)?)
    }
}

impl SoftmaxApproximation for LogisticSoftmax {
    /// [`SoftmaxId::Logistic`].
    fn id(&self) -> SoftmaxId {
        SoftmaxId::Logistic
    }

    /// `p(u)` and `p(-u)`, `u = (x_0 - x_1) / (2R)`. NaN for any class count but 2.
    fn row(&self, logits: &[f64], out: &mut [f64]) {
        if logits.len() != CLASSES || out.len() != CLASSES {
            out.iter_mut().for_each(|o| *o = f64::NAN);
            return;
        }
        let u = (logits[0] - logits[1]) * self.input_scale();
        out[0] = self.sigmoid.eval_plain(u);
        out[1] = self.sigmoid.eval_plain(-u);
    }

    /// Errors for any class count but 2.
    fn supports(&self, classes: usize) -> Result<(), SoftmaxError> {
        if classes == CLASSES {
            Ok(())
        } else {
            Err(SoftmaxError::Config {
                reason: format!(
                    "the logistic softmax runs {CLASSES} classes, not {classes} (use normalize-and-square)"
                ),
            })
        }
    }

    /// `difference` 1 and `sigmoid` 10. For another class count, one stage deeper than any
    /// chain.
    fn stages(&self, classes: usize) -> Vec<Stage> {
        if classes != CLASSES {
            return vec![Stage { name: "unsupported", levels: usize::MAX / 4 }];
        }
        vec![Stage { name: "difference", levels: 1 }, Stage { name: "sigmoid", levels: self.sigmoid.depth() }]
    }

    fn evaluate(
        &self,
        SoftmaxInput { eval, refresh, layout, x, fold }: SoftmaxInput<'_>,
    ) -> Result<(Ciphertext, SoftmaxRun), SoftmaxError> {
        layout.check_slots(eval.params().slots())?;
        self.supports(layout.classes)?;
        check_refresh_window(refresh, self.refresh_window(layout.classes))?;
        let before = refresh.count();
        let encoder = Encoder::new(eval.params());
        let mut ctx = Ctx::new(eval, refresh as &dyn Refresh, &encoder, layout).with_fold(fold);
        let scale = self.input_scale();
        let u = ctx.stage("difference", x.clone(), 1, |ctx, x| Self::difference(ctx, &x, scale))?;
        let out = ctx.poly("sigmoid", &self.sigmoid, u)?;
        let refreshes = refresh.count() - before;
        Ok((out, SoftmaxRun { stages: ctx.into_stages(), refreshes }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::softmax::exact_softmax_row;

    fn logistic() -> LogisticSoftmax {
        LogisticSoftmax::new(&SoftmaxConfig::default()).unwrap()
    }

    #[test]
    fn eleven_levels_two_classes_only() {
        let l = logistic();
        assert_eq!(l.depth(2), 11);
        assert_eq!(l.stages(2)[0].levels, 1);
        for classes in [0, 1, 3, 10] {
            assert!(l.supports(classes).is_err());
            assert!(l.stages(classes)[0].levels > 1000);
        }
        let mut out = [0.0; 3];
        l.row(&[1.0, 2.0, 3.0], &mut out);
        assert!(out.iter().all(|v| v.is_nan()));
        assert!(LogisticSoftmax::new(&SoftmaxConfig { r: f64::NAN, ..SoftmaxConfig::default() }).is_err());
    }

    /// The interpolant stays in `[0, 1]` (bootstrapping's range for `D`), is `1/2` plus odd
    /// terms, and errs by at most 3e-6 against `sigma` on a dense grid of `[-1, 1]`
    /// (measured 2.2e-6).
    #[test]
    fn the_interpolant_is_in_range_and_close() {
        let l = logistic();
        let p = l.sigmoid();
        assert_eq!((p.degree(), p.depth()), (DEGREE, 10));
        assert_eq!(p.coeffs[0], 0.5);
        assert!(p.coeffs.iter().skip(2).step_by(2).all(|&c| c == 0.0));
        let mut worst = 0.0f64;
        for i in 0..=100_000 {
            let u = -1.0 + 2.0 * i as f64 / 100_000.0;
            let v = p.eval_plain(u);
            assert!((0.0..=1.0).contains(&v), "p({u}) = {v}");
            worst = worst.max((v - 1.0 / (1.0 + (-256.0 * u).exp())).abs());
        }
        assert!(worst < 3e-6, "{worst:e}");
    }

    proptest::proptest! {
        /// The mirror is a probability vector within 3e-6 of the exact softmax on
        /// `[-128, 128]`.
        #[test]
        fn mirror_is_close_to_softmax(a in -128.0..128.0f64, b in -128.0..128.0f64) {
            let (mut approx, mut exact) = ([0.0; 2], [0.0; 2]);
            logistic().row(&[a, b], &mut approx);
            exact_softmax_row(&[a, b], &mut exact);
            proptest::prop_assert!((approx[0] + approx[1] - 1.0).abs() < 1e-12);
            for j in 0..2 {
                proptest::prop_assert!((approx[j] - exact[j]).abs() < 3e-6, "{a} {b}: {approx:?} {exact:?}");
            }
        }
    }
}
