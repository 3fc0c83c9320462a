//! The normalize-and-square softmax of Cho, Hanrot, Kim, Park and Stehlé ("Fast and Accurate
//! Homomorphic Softmax Evaluation", CCS 2024) as a [`SoftmaxApproximation`]: no maximum, no
//! domain extension, no Goldschmidt inverse.
//!
//! `softmax(x)` is `exp(x / 2^k)` normalised and then `k` times squared and normalised again,
//! because squaring a normalised `exp(x / 2^j)` gives `exp(x / 2^(j-1))` up to a factor per
//! row. The exponential is only needed on a small interval, and the normalisations need only
//! keep the values in range, because every row-constant error cancels at the next one; only
//! the last normalisation must be accurate.
//!
//! With `R = R_max` (128), `k` squarings (7) and `cl` real classes:
//!
//! | stage | formula | levels |
//! |---|---|---|
//! | normalise | `w = x/(2R) + 1/2` on real classes (`[0, 1]`), `-1` on padded ones (a mask) | 1 |
//! | exp | `p = E(w) = (w + 1) Q(w)` of degree 7, `Q ~ exp(2R/2^k (w - 1)) / (cl (w + 1))`: `exp((x - R)/2^k) / cl` in `[e^-2, 1] / cl`, 0 on padded classes | 3 |
//! | square, `k` times | `s` = the row sum; `p = p^2 g(s)`, `g ~ 1/s^2` on `[lo, hi]` | [`NormalizeSquarePlan::square_levels`] |
//! | inverse | `s` = the row sum; `p = p h(s)`, `h ~ 1/s` of degree 15 | [`NormalizeSquarePlan::inverse_levels`] |
//!
//! * The row sum is HETAL's window sum, copy-start mask (one level) and replication; padded
//!   classes are 0 from the exp stage on (`E(-1) = 0`), so it sums the real classes, and the
//!   rotations are HETAL's.
//! * `g` is the near-minimax *relative* approximation of `1/s^2`, scaled so that
//!   `gamma <= g(s) s^2 <= 1`. After a squaring the row sum is `g(s) s^2 theta` with the
//!   concentration `theta = sum p^2 / s^2` in `[1/cl, 1]`, so it stays in `[gamma / cl, 1]`.
//!   `lo` is the largest value with `gamma(lo) / cl >= 1.05 lo` and `lo <= 0.9 e^(-2R/2^k)` (the
//!   smallest first row sum), so the sums never leave the interval `g` and `h` are fitted on.
//!   The degree of `g` is the smallest of 3, 7, 15 for which such a `lo` exists: 3 for up to 3
//!   classes, 7 up to 10, 15 up to 16.
//! * [`Normaliser`]: `p^2 g(s)` is one product tree (`product_tree.rs`) of `p`, `p` and
//!   the factors of `g` ([`RootForm`]), the sum entering one level below `p`: 3 levels for
//!   degree 3, 4 for degree 7, where the Chebyshev form and a product would take 4 and 5. A root
//!   form whose factors can lose more than 11 bits (degree 15) is evaluated in the Chebyshev
//!   basis instead. The same for `p h(s)`: 5 levels, or 6.
//!
//! Depth: **30 levels for 2 or 3 classes, 37 for 4 to 10, 51 or 52 for 11 to 16**, against
//! HETAL's 62 (`c = 4`) and 82 (`c = 16`). Every value is in `[0, 1]` at every stage boundary
//! (bootstrapping's range), with no headroom constant.

use super::encrypted::{check_refresh_window, Ctx};
use super::memo::{memoized, Memo};
use super::product_tree::{self, Operand};
use super::root_form::{fit_relative, Leaf, RootForm};
use super::{
    padded_classes, Refresh, SoftmaxApproximation, SoftmaxConfig, SoftmaxError, SoftmaxId, SoftmaxInput, SoftmaxRun,
    Stage,
};
use ckks_scheme::{Chebyshev, Ciphertext, Encoder};
use std::sync::{Arc, OnceLock};

/// Squarings `k`: `exp` is evaluated on `(x - R) / 2^k`, in `[-2, 0]` for `R = 128`.
pub const SQUARINGS: u32 = 7;
/// The most classes supported (`g` of degree 15).
pub const MAX_CLASSES: usize = 16;
/// Degree of `E`, the exponential on `[-1, 1]` (3 levels).
const EXP_DEGREE: usize = 7;
/// Degree of `h ~ 1/s`, the last normalisation (5 levels with the masked sum).
const INVERSE_DEGREE: usize = 15;
/// Degrees tried for `g`, in order.
const G_DEGREES: [usize; 3] = [3, 7, 15];
/// Margin of the fixed point: the row sums stay 5% above `lo`.
const LO_MARGIN: f64 = 1.05;
/// The normalise stage's shift: real classes to `w = x/(2R) + 1/2` in `[0, 1]`.
const INPUT_SHIFT: f64 = 0.5;
/// Where the padded classes go: the root of `E`.
const PADDED_W: f64 = -1.0;

/// What the approximation uses for one number of real classes.
#[derive(Debug)]
pub struct NormalizeSquarePlan {
    /// Real classes `cl`.
    pub classes: usize,
    /// `E(w) = exp(B (w - 1)) / cl` on `[-1, 1]`.
    pub exp: Chebyshev,
    /// The interval `[lo, hi]` of the row sums.
    pub interval: (f64, f64),
    /// `g ~ 1/s^2` with `gamma <= g(s) s^2 <= 1` on the interval.
    pub g: Normaliser,
    /// `gamma`.
    pub gamma: f64,
    /// `h ~ 1/s` on the interval.
    pub h: Normaliser,
    /// `max |h(s) s - 1|` on the interval: the relative error of the last normalisation.
    pub h_error: f64,
}

impl NormalizeSquarePlan {
    fn new(classes: usize, r_max: f64) -> Result<Self, SoftmaxError> {
        if classes == 0 || classes > MAX_CLASSES {
            return Err(SoftmaxError::Config {
                reason: format!("normalize-and-square supports 1 to {MAX_CLASSES} classes, not {classes}"),
            });
        }
        let cl = classes as f64;
        // w = x/(2R) + 1/2 in [0, 1] (padded classes at -1): E(w) = exp((x - R)/2^k) / cl =
        // exp(b (w - 1)) / cl with b = 2R/2^k, written (w + 1) Q(w) so that E(-1) = 0 exactly.
        let b = 2.0 * r_max / f64::powi(2.0, SQUARINGS as i32);
        let q = Chebyshev::interpolate(|w| (b * (w - 1.0)).exp() / (cl * (w + 1.0)), EXP_DEGREE - 1, 0.0, 1.0)?;
        let exp = Chebyshev::interpolate(|w| (w + 1.0) * q.eval_plain(w), EXP_DEGREE, -1.0, 1.0)?;
        // Every real class starts at E(0) = e^-b / cl or above, so the first row sum is e^-b or more.
        let first = (-b).exp();
        let hi = 1.0 + 1.0 / 64.0;
        for degree in G_DEGREES {
            // gamma <= 1, so lo <= 1 / (1.05 cl); eight steps of 0.8 reach a sixth of the start.
            let mut lo = (0.9 * first).min(1.0 / (LO_MARGIN * cl));
            for _ in 0..8 {
                let (g, err) = fit_relative(|s| 1.0 / (s * s), degree, lo, hi)?;
                let gamma = (1.0 - err) / (1.0 + err);
                if gamma / cl >= LO_MARGIN * lo {
                    let g = Chebyshev::new(g.coeffs.iter().map(|c| c / (1.0 + err)).collect(), lo, hi)?;
                    let (h, h_error) = fit_relative(|s| 1.0 / s, INVERSE_DEGREE, lo, hi)?;
                    return Ok(Self {
                        classes,
                        exp,
                        interval: (lo, hi),
                        g: Normaliser::new(g)?,
                        gamma,
                        h: Normaliser::new(h)?,
                        h_error,
                    });
                }
                lo *= 0.8;
            }
        }
        Err(SoftmaxError::Config { reason: format!("no normalisation polynomial keeps {classes} classes in range") })
    }

    /// Levels of one squaring `p^2 g(s)`.
    pub fn square_levels(&self) -> usize {
        self.g.levels(2)
    }

    /// Levels of the last normalisation `p h(s)`.
    pub fn inverse_levels(&self) -> usize {
        self.h.levels(1)
    }
}

/// Root forms whose factors' bounds exceed the polynomial by more than this many bits are
/// evaluated in the Chebyshev basis instead (the product tree's rescaling error grows with it).
const ROOT_FORM_MAX_LOSS_BITS: f64 = 11.0;

/// A normalising polynomial `q(s)` on `[lo, hi]` and how the circuit multiplies it into `p`.
#[derive(Debug)]
pub enum Normaliser {
    /// `prod(p) * q(s)` as one product tree with the factors of `q` (`product_tree.rs`):
    /// `ceil(log2(extra + 2 linear + 4 quadratic))` levels. Used when its rescaling error is
    /// small (degree 3: up to 3 classes; degree 7: up to 10).
    Roots {
        /// `q` as `lambda` times its factors (the mirror evaluates it).
        form: RootForm,
        /// The factors with their magnitudes on the interval (the circuit's leaves).
        leaves: Vec<Leaf>,
    },
    /// `q(u)`, `u = alpha s + beta` in `[-1, 1]` (the affine map folded into the row sum's
    /// mask), by [`Chebyshev::evaluate`], then one product with `prod(p)`:
    /// `1 + ceil(log2(deg + 1)) + 1` levels. Well conditioned at any degree.
    Chebyshev {
        /// `q` on `[lo, hi]` (the mirror's form).
        on_interval: Chebyshev,
        /// The same coefficients on `[-1, 1]` (the circuit's form).
        on_unit: Chebyshev,
    },
}

impl Normaliser {
    /// The root form of `q` if it is well conditioned, else the Chebyshev form.
    fn new(q: Chebyshev) -> Result<Self, SoftmaxError> {
        let form = RootForm::from_chebyshev(&q)?;
        let (lo, hi) = (q.a, q.b);
        let leaves = Leaf::of(&form, (lo, hi));
        // Bits a partial product of leaves can lose: leaves below their typical magnitude.
        let loss = super::root_form::dense(lo, hi)
            .map(|s| leaves.iter().map(|l| (l.typical / l.factor.eval(s).abs()).log2().max(0.0)).sum::<f64>())
            .fold(0.0, f64::max);
        if loss <= ROOT_FORM_MAX_LOSS_BITS {
            Ok(Normaliser::Roots { form, leaves })
        } else {
            Self::chebyshev(q)
        }
    }

    /// The Chebyshev form of `q`.
    fn chebyshev(q: Chebyshev) -> Result<Self, SoftmaxError> {
        let on_unit = Chebyshev::new(q.coeffs.clone(), -1.0, 1.0)?;
        Ok(Normaliser::Chebyshev { on_interval: q, on_unit })
    }

    /// `q(s)`.
    pub fn eval(&self, s: f64) -> f64 {
        match self {
            Normaliser::Roots { form, .. } => form.eval(s),
            Normaliser::Chebyshev { on_interval, .. } => on_interval.eval_plain(s),
        }
    }

    /// Levels of `p^extra q(s)` from `p`.
    pub fn levels(&self, extra: usize) -> usize {
        match self {
            Normaliser::Roots { leaves, .. } => product_tree::root_product_depth(extra, leaves),
            Normaliser::Chebyshev { on_unit, .. } => on_unit.depth() + 2,
        }
    }
}

/// The normalize-and-square softmax ([`SoftmaxId::NormalizeAndSquare`]). Its polynomials
/// depend on the number of real classes; they are fitted on first use (milliseconds) and kept
/// for the process.
#[derive(Clone, Debug)]
pub struct NormalizeSquareSoftmax {
    r_max: f64,
}

/// Plans by (classes, bits of `R`), shared by every instance.
static PLANS: Memo<(usize, u64), NormalizeSquarePlan> = OnceLock::new();

impl NormalizeSquareSoftmax {
    /// The approximation for inputs in `[-R, R]`, `R = config.r_max()` (128 by default; the
    /// other constants of `config` are HETAL's and unused). Errors on a bound that is not
    /// finite and positive.
    pub fn new(config: &SoftmaxConfig) -> Result<Self, SoftmaxError> {
        let r_max = config.r_max();
        if !(r_max.is_finite() && r_max > 0.0) {
            return Err(SoftmaxError::Config { reason: format!("input bound {r_max} must be finite and positive") });
        }
        Ok(Self { r_max })
    }

    /// The plan of `classes` real classes (fitted once). Errors for 0 or more than
    /// [`MAX_CLASSES`] classes.
    pub fn plan(&self, classes: usize) -> Result<Arc<NormalizeSquarePlan>, SoftmaxError> {
        memoized(&PLANS, (classes, self.r_max.to_bits()), || NormalizeSquarePlan::new(classes, self.r_max))
    }

    /// `w = scale x + 1/2`, `scale = 1/(2R)`: the normalise stage's map of `[-R, R]` onto
    /// `[0, 1]` (padded classes go to `PADDED_W`).
    fn input_scale(&self) -> f64 {
        1.0 / (2.0 * self.r_max)
    }

    fn row_with(&self, plan: &NormalizeSquarePlan, logits: &[f64], out: &mut [f64]) {
        let scale = self.input_scale();
        // normalise and exp (the padded classes, at w = -1, are 0 and absent here).
        for (o, &x) in out.iter_mut().zip(logits) {
            *o = plan.exp.eval_plain(scale * x + INPUT_SHIFT);
        }
        for _ in 0..SQUARINGS {
            let s: f64 = out.iter().sum();
            let g = plan.g.eval(s);
            out.iter_mut().for_each(|p| *p = *p * *p * g);
        }
        let s: f64 = out.iter().sum();
        let h = plan.h.eval(s);
        out.iter_mut().for_each(|p| *p *= h);
    }
}

impl Ctx<'_> {
    /// `value * sum_j p_j` at every column of every copy: the window sum, the copy-start mask
    /// (one level) and the replication. Padded classes of `p` are 0, so this is the sum over
    /// the real classes.
    fn row_sum(&self, p: &Ciphertext, value: f64) -> Result<Ciphertext, SoftmaxError> {
        self.broadcast(&self.window_sum(p)?, value)
    }
}

impl NormalizeSquareSoftmax {
    /// `p^2 g(s)`: at most 1, since `p <= s` and `g(s) s^2 <= 1`.
    pub(super) fn square(ctx: &Ctx, p: &Ciphertext, plan: &NormalizeSquarePlan) -> Result<Ciphertext, SoftmaxError> {
        Self::normalise_with(ctx, p, 2, &plan.g, 1.0)
    }

    /// `p h(s)`: at most `1 + h_error`.
    pub(super) fn inverse(ctx: &Ctx, p: &Ciphertext, plan: &NormalizeSquarePlan) -> Result<Ciphertext, SoftmaxError> {
        Self::normalise_with(ctx, p, 1, &plan.h, 1.0 + plan.h_error)
    }

    /// `p^extra q(s)`, 0 on the padded classes, `s` the row sum over the real classes.
    fn normalise_with(
        ctx: &Ctx,
        p: &Ciphertext,
        extra: usize,
        q: &Normaliser,
        bound: f64,
    ) -> Result<Ciphertext, SoftmaxError> {
        match q {
            Normaliser::Roots { form, leaves } => {
                let s = ctx.row_sum(p, 1.0)?;
                let mut ops =
                    (0..extra).map(|_| Operand::new(ctx.eval, p.clone(), 1.0, 1.0)).collect::<Result<Vec<_>, _>>()?;
                ops.extend(product_tree::operands(ctx.eval, &s, leaves)?);
                product_tree::product(ctx.eval, ops, form.lambda, bound)
            }
            Normaliser::Chebyshev { on_interval, on_unit } => {
                // u = alpha s + beta in [-1, 1]: alpha in the mask, beta added (free).
                let (alpha, beta) = on_interval.affine();
                let u = ctx.eval.add_const(&ctx.row_sum(p, alpha)?, beta)?;
                let y = on_unit.evaluate(ctx.eval, &u)?;
                // p^extra with the padded classes zeroed exactly (their noise would otherwise
                // reach the gradient of the padded weights), off the critical path: y is deeper.
                let mut prod = ctx.mul_mask(p, &ctx.layout.class_mask(1.0, 0.0))?;
                for _ in 1..extra {
                    let (a, c) = ctx.eval.align_levels(&prod, p)?;
                    prod = ctx.eval.mul_relin_rescale(&a, &c)?;
                }
                let (a, c) = ctx.eval.align_levels(&prod, &y)?;
                Ok(ctx.eval.mul_relin_rescale(&a, &c)?)
            }
        }
    }
}

impl SoftmaxApproximation for NormalizeSquareSoftmax {
    /// [`SoftmaxId::NormalizeAndSquare`].
    fn id(&self) -> SoftmaxId {
        SoftmaxId::NormalizeAndSquare
    }

    /// Normalise, `E`, `k` squarings `p = p^2 g(s)` and `p h(s)`, the same root forms as the
    /// circuit. Inputs in `[-R, R]`. For an unsupported class count (see
    /// [`SoftmaxApproximation::supports`]) the output is NaN.
    fn row(&self, logits: &[f64], out: &mut [f64]) {
        match self.plan(logits.len()) {
            Ok(plan) => self.row_with(&plan, logits, out),
            Err(_) => out.iter_mut().for_each(|o| *o = f64::NAN),
        }
    }

    /// Errors for 0 or more than [`MAX_CLASSES`] classes.
    fn supports(&self, classes: usize) -> Result<(), SoftmaxError> {
        self.plan(classes).map(|_| ())
    }

    /// `normalise` 1, `exp` 3, `square` x `k` and `inverse` 5 (see the module table). For an
    /// unsupported class count, one stage deeper than any chain.
    fn stages(&self, classes: usize) -> Vec<Stage> {
        let Ok(plan) = self.plan(classes) else {
            return vec![Stage { name: "unsupported", levels: usize::MAX / 4 }];
        };
        let mut out = vec![Stage { name: "normalise", levels: 1 }, Stage { name: "exp", levels: plan.exp.depth() }];
        out.extend((0..SQUARINGS).map(|_| Stage { name: "square", levels: plan.square_levels() }));
        out.push(Stage { name: "inverse", levels: plan.inverse_levels() });
        out
    }

    fn evaluate(
        &self,
        SoftmaxInput { eval, refresh, layout, x, fold }: SoftmaxInput<'_>,
    ) -> Result<(Ciphertext, SoftmaxRun), SoftmaxError> {
        layout.check_slots(eval.params().slots())?;
        debug_assert_eq!(layout.c, padded_classes(layout.classes));
        let plan = self.plan(layout.classes)?;
        check_refresh_window(refresh, self.refresh_window(layout.classes))?;
        let before = refresh.count();
        let encoder = Encoder::new(eval.params());
        let mut ctx = Ctx::new(eval, refresh as &dyn Refresh, &encoder, layout).with_fold(fold);
        let scale = self.input_scale();
        let w = ctx.stage("normalise", x.clone(), 1, |ctx, x| {
            let y = ctx.entry_mask(&x, &ctx.layout.class_mask(scale, 0.0))?;
            let shift = ctx.encoder.encode_real(&ctx.layout.class_mask(INPUT_SHIFT, PADDED_W), y.level(), y.scale())?;
            Ok(ctx.eval.add_plain(&y, &shift)?)
        })?;
        let mut p = ctx.poly("exp", &plan.exp, w)?;
        for _ in 0..SQUARINGS {
            p = ctx.stage("square", p, plan.square_levels(), |ctx, p| Self::square(ctx, &p, &plan))?;
        }
        let out = ctx.stage("inverse", p, plan.inverse_levels(), |ctx, p| Self::inverse(ctx, &p, &plan))?;
        let refreshes = refresh.count() - before;
        Ok((out, SoftmaxRun { stages: ctx.into_stages(), refreshes }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::softmax::{exact_softmax_row, TiledLayout};

    #[test]
    fn depth_and_degrees_per_class_count() {
        let ns = NormalizeSquareSoftmax::new(&SoftmaxConfig::default()).unwrap();
        for (classes, depth) in [(2, 30), (3, 30), (4, 37), (7, 37), (10, 37), (11, 51), (16, 52)] {
            assert_eq!(ns.depth(classes), depth, "{classes} classes");
            let plan = ns.plan(classes).unwrap();
            let (lo, hi) = plan.interval;
            // The fixed point: sums leave a squaring at or above gamma / cl >= lo.
            assert!(plan.gamma / classes as f64 >= LO_MARGIN * lo && lo <= (-2.0f64).exp());
            for i in 0..=200 {
                let s = lo + (hi - lo) * i as f64 / 200.0;
                let v = plan.g.eval(s) * s * s;
                assert!(v <= 1.0 + 1e-9 && v >= plan.gamma - 1e-9, "{classes}: g(s) s^2 = {v} at {s}");
            }
        }
        // Every class count up to 16 has a plan whose sums stay in range.
        for classes in 1..=MAX_CLASSES {
            let plan = ns.plan(classes).unwrap();
            assert!(plan.gamma / classes as f64 >= LO_MARGIN * plan.interval.0, "{classes} classes");
            assert!(ns.depth(classes) <= 52, "{classes} classes: {}", ns.depth(classes));
        }
        assert!(ns.supports(17).is_err() && ns.supports(0).is_err());
        assert!(ns.stages(17)[0].levels > 1000);
        let mut out = [0.0; 17];
        ns.row(&[0.0; 17], &mut out);
        assert!(out.iter().all(|v| v.is_nan()));
    }

    /// Both approximations need the same rotation keys, so a key bundle made for a task shape
    /// (`hetal keygen`, which names no softmax) serves either.
    #[test]
    fn rotations_are_hetals() {
        let ns = NormalizeSquareSoftmax::new(&SoftmaxConfig::default()).unwrap();
        let hetal = SoftmaxId::Hetal.build(SoftmaxConfig::default()).unwrap();
        for (s0, s1, classes) in [(512, 64, 3), (1024, 32, 10), (64, 16, 16), (32, 64, 4)] {
            let layout = TiledLayout::new(s0, s1, classes).unwrap();
            assert_eq!(ns.rotations(&layout), hetal.rotations(&layout));
        }
    }

    proptest::proptest! {
        /// The mirror is a probability vector close to the exact softmax on `[-128, 128]`.
        #[test]
        fn mirror_is_close_to_softmax(classes in 2usize..=10, seed in 0u64..10_000, range in proptest::sample::select(vec![4.0, 32.0, 128.0])) {
            let ns = NormalizeSquareSoftmax::new(&SoftmaxConfig::default()).unwrap();
            let logits: Vec<f64> = (0..classes).map(|j| ((seed.wrapping_mul(2654435761).wrapping_add(j as u64 * 40503) % 10_000) as f64 / 5000.0 - 1.0) * range).collect();
            let (mut approx, mut exact) = (vec![0.0; classes], vec![0.0; classes]);
            ns.row(&logits, &mut approx);
            exact_softmax_row(&logits, &mut exact);
            let err = approx.iter().zip(&exact).map(|(a, e)| (a - e).abs()).fold(0.0, f64::max);
            proptest::prop_assert!(err < 2e-3, "{logits:?}: {err}");
        }
    }
}
