//! Softmax circuits on ciphertexts in the horizontally tiled layout ([`TiledLayout`]): the
//! [`EncryptedSoftmax`] that runs any [`SoftmaxApproximation`], and HETAL's circuit, with a
//! [`Refresh`] between stages whenever the next stage needs more levels than are left.
//!
//! HETAL's levels: the stages of [`SoftmaxConfig::stages`] (82 for `c = 16`, 62 for `c = 4`
//! with the defaults). Each stage checks the levels it needs and refreshes its operands first if
//! they are too low; a stage deeper than [`Refresh::output_level`] is refused.
//!
//! Scales: plaintext masks are encoded so that the rescale after them lands on the default
//! scale exactly ([`Ctx::mul_mask`], which pins a drifted scale for free), and constants go
//! through `mul_const`, so they leave the scale unchanged; polynomials keep the
//! scale of their input. Sums of ciphertexts that took different paths (`b + d comp` in the max,
//! `x' - m` in the shift) first bring the higher operand to the level and scale of the lower one
//! with one constant product ([`Evaluator::mul_const_to`]), which costs no level on the critical path.

use super::{
    HetalSoftmax, Refresh, SoftmaxApproximation, SoftmaxConfig, SoftmaxError, SoftmaxId, SoftmaxInput, Stage,
    TiledLayout,
};
use ckks_scheme::circuits::bootstrap::pair_scales;
use ckks_scheme::{scales_match, Chebyshev, Ciphertext, Encoder, Evaluator, Parameters};
use hetal_linalg::CompactRows;

/// What one encrypted softmax did: the levels each stage consumed (measured on the
/// ciphertexts) and the refreshes it called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftmaxRun {
    /// Stages in order with the levels they consumed.
    pub stages: Vec<Stage>,
    /// Ciphertexts refreshed during this evaluation.
    pub refreshes: usize,
}

impl SoftmaxRun {
    /// Total levels consumed (the multiplicative depth of the run).
    pub fn depth(&self) -> usize {
        self.stages.iter().map(|s| s.levels).sum()
    }
}

/// A softmax circuit ready to run on one layout and parameter set: a
/// [`SoftmaxApproximation`] and the [`TiledLayout`] of its blocks, checked against the
/// ciphertexts' slot count once. What the server evaluates every step.
#[derive(Clone, Debug)]
pub struct EncryptedSoftmax {
    approximation: Box<dyn SoftmaxApproximation>,
    layout: TiledLayout,
}

impl EncryptedSoftmax {
    /// HETAL's pipeline ([`SoftmaxId::Hetal`]) of `config` on `layout`; errors unless the
    /// layout fills the ciphertexts of `params`, or on constants that cannot work.
    pub fn new(config: SoftmaxConfig, layout: TiledLayout, params: &Parameters) -> Result<Self, SoftmaxError> {
        Self::with_approximation(SoftmaxId::Hetal.build(config)?, layout, params)
    }

    /// `approximation` on `layout`; errors unless the layout fills the ciphertexts of `params`.
    pub fn with_approximation(
        approximation: Box<dyn SoftmaxApproximation>,
        layout: TiledLayout,
        params: &Parameters,
    ) -> Result<Self, SoftmaxError> {
        layout.check_slots(params.slots())?;
        Ok(Self { approximation, layout })
    }

    /// The approximation this circuit evaluates.
    pub fn approximation(&self) -> &dyn SoftmaxApproximation {
        self.approximation.as_ref()
    }

    /// The layout.
    pub fn layout(&self) -> &TiledLayout {
        &self.layout
    }

    /// Rotation keys the evaluator needs ([`SoftmaxApproximation::rotations`] on the layout;
    /// for HETAL `±2^t`, `t < log2 c`).
    pub fn rotations(&self) -> Vec<i64> {
        self.approximation.rotations(&self.layout)
    }

    /// The approximate softmax of every row of `x` (tiled logits within the approximation's
    /// input bound), in the same tiled layout, padded classes 0
    /// ([`SoftmaxApproximation::evaluate`]). Consumes the levels of
    /// [`SoftmaxApproximation::stages`], refreshing through `refresh` whenever a stage needs
    /// more levels than its operands have. Needs relinearization and [`Self::rotations`] keys.
    pub fn evaluate(
        &self,
        eval: &Evaluator,
        refresh: &dyn Refresh,
        x: &Ciphertext,
    ) -> Result<(Ciphertext, SoftmaxRun), SoftmaxError> {
        self.approximation.evaluate(SoftmaxInput { eval, refresh, layout: &self.layout, x, fold: None })
    }

    /// [`Self::evaluate`] on a full tiled block of logits whose output is compact: the first
    /// stage's mask keeps one copy of each row and the trace folds them into `rows.slots()`
    /// sparse slots ([`CompactRows::fold`], no extra level), so every refresh `refresh` runs
    /// (a sparse bootstrapper) and the output are compact. [`CompactRows::unfold`] goes back.
    /// Needs the keys of [`Self::rotations`] and [`CompactRows::rotation_steps`].
    pub fn evaluate_folded(
        &self,
        eval: &Evaluator,
        refresh: &dyn Refresh,
        x: &Ciphertext,
        rows: &CompactRows,
    ) -> Result<(Ciphertext, SoftmaxRun), SoftmaxError> {
        self.approximation.evaluate(SoftmaxInput { eval, refresh, layout: &self.layout, x, fold: Some(rows) })
    }
}

/// Errors unless `refresh` gives at least `needed` levels (its output level less its input
/// level; [`SoftmaxApproximation::refresh_window`] of the circuit that runs).
pub(super) fn check_refresh_window(refresh: &dyn Refresh, needed: usize) -> Result<(), SoftmaxError> {
    if refresh.output_level() - refresh.input_level() < needed {
        return Err(SoftmaxError::Config {
            reason: format!(
                "refresh gives levels {} down to {}, a stage needs {needed}",
                refresh.output_level(),
                refresh.input_level()
            ),
        });
    }
    Ok(())
}

/// HETAL's circuit (the [`SoftmaxApproximation::evaluate`] of [`HetalSoftmax`]).
impl HetalSoftmax {
    /// The circuit on `x` tiled in `layout`: the stages of [`SoftmaxConfig::stages`], masks
    /// encoded for the evaluator's parameters.
    pub(super) fn evaluate_encrypted(
        &self,
        SoftmaxInput { eval, refresh, layout, x, fold }: SoftmaxInput<'_>,
    ) -> Result<(Ciphertext, SoftmaxRun), SoftmaxError> {
        layout.check_slots(eval.params().slots())?;
        check_refresh_window(refresh, self.refresh_window(layout.c))?;
        let before = refresh.count();
        let encoder = Encoder::new(eval.params());
        let mut ctx = Ctx::new(eval, refresh, &encoder, layout).with_fold(fold);
        let xn = self.normalise(&mut ctx, x)?;
        let m = self.encrypted_max(&mut ctx, &xn)?;
        let w = ctx.sub_aligned(&xn, &m)?;
        let v = self.domain_extension(&mut ctx, w)?;
        let e = self.exp(&mut ctx, v)?;
        let e = ctx.stage("mask", e, 1, |ctx, e| ctx.mul_mask(&e, &ctx.layout.class_mask(1.0, 0.0)))?;
        let s = self.row_sum_over_r(&mut ctx, &e)?;
        let u = self.inverse(&mut ctx, s)?;
        let (e, u) = (ctx.ensure(e, 1)?, ctx.ensure(u, 1)?);
        let entry = e.level().min(u.level());
        let (e, u) = eval.align_levels(&e, &u)?;
        let out = eval.mul_int(&eval.mul_relin_rescale(&e, &u)?, 1i64 << self.config.exp_headroom_log2)?;
        ctx.record("output", entry, out.level());
        let refreshes = refresh.count() - before;
        Ok((out, SoftmaxRun { stages: ctx.into_stages(), refreshes }))
    }

    /// `x' = x / (2 R_max)` on real classes and `-1/2` on padded ones: one plaintext product.
    fn normalise(&self, ctx: &mut Ctx, x: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let scale = 1.0 / (2.0 * self.config.r_max());
        ctx.stage("normalise", x.clone(), 1, |ctx, x| {
            let y = ctx.entry_mask(&x, &ctx.layout.class_mask(scale, 0.0))?;
            let pad = ctx.encoder.encode_real(&ctx.layout.class_mask(0.0, -0.5), y.level(), y.scale())?;
            Ok(ctx.eval.add_plain(&y, &pad)?)
        })
    }

    /// The approximate row max, replicated over every column of its copy: `log2 c` rounds of
    /// `m = b + (m - b) comp(m, b)` with `b = rot(m, 2^t)`, then the copy-start mask and right
    /// rotations (see the row-boundary note of [`TiledLayout`]).
    fn encrypted_max(&self, ctx: &mut Ctx, xn: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let mut m = xn.clone();
        for t in 0..ctx.layout.c.trailing_zeros() {
            let b = ctx.eval.rotate(&m, 1 << t)?;
            let d = ctx.eval.sub(&m, &b)?;
            let mut comp = d.clone();
            for p in &self.polys.comparison {
                comp = ctx.poly("max.compare", p, comp)?;
            }
            let comp = ctx.ensure(comp, 1)?;
            let (d, b) = ctx.ensure_pair(d, b, 1)?;
            let entry = d.level().min(comp.level());
            let (d, comp) = ctx.eval.align_levels(&d, &comp)?;
            let prod = ctx.eval.mul_relin_rescale(&d, &comp)?;
            let b = ctx.eval.mul_const_to(&b, 1.0, prod.level(), prod.scale())?;
            m = ctx.eval.add(&b, &prod)?;
            ctx.record("max.select", entry, m.level());
        }
        ctx.stage("max.broadcast", m, 1, |ctx, m| ctx.broadcast(&m, 1.0))
    }

    /// `n` domain-extension steps and the precise correction, in normalised variables.
    fn domain_extension(&self, ctx: &mut Ctx, mut w: Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        for _ in 0..self.config.extension_steps {
            w = ctx.poly("dep.step", &self.polys.extension_step, w)?;
        }
        if self.config.precise {
            w = ctx.poly("dep.precise", &self.polys.precise, w)?;
        }
        Ok(w)
    }

    /// `exp`: `p(v)` then `exp_squarings` squarings.
    fn exp(&self, ctx: &mut Ctx, v: Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let mut e = ctx.poly("exp.poly", &self.polys.exp, v)?;
        for _ in 0..self.config.exp_squarings {
            e = ctx.stage("exp.square", e, 1, |ctx, e| Ok(ctx.eval.mul_relin_rescale(&e, &e)?))?;
        }
        Ok(e)
    }

    /// `s = S / R` in every slot of a row, `S = K sum_j e'_j` the sum over the real classes
    /// (padded classes of `e'` already 0): window sum by left rotations, copy-start mask with
    /// value `K/R`, replication.
    fn row_sum_over_r(&self, ctx: &mut Ctx, e: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let acc = ctx.window_sum(e)?;
        let k_over_r = self.config.exp_headroom() / self.config.inverse_r;
        ctx.stage("sum.broadcast", acc, 1, |ctx, acc| ctx.broadcast(&acc, k_over_r))
    }

    /// Goldschmidt: `t = 1 - s`, `u = (1 + t) / R`, then `t = t^2`, `u = u (1 + t)`; returns
    /// `u ~ 1 / S` for `s = S / R`.
    fn inverse(&self, ctx: &mut Ctx, s: Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let s = ctx.ensure(s, 1)?;
        let entry = s.level();
        let t = ctx.eval.add_const(&ctx.eval.neg(&s)?, 1.0)?;
        let one_plus = ctx.eval.add_const(&t, 1.0)?;
        let mut u = ctx.eval.rescale(&ctx.eval.mul_const(&one_plus, 1.0 / self.config.inverse_r)?)?;
        ctx.record("inverse.start", entry, u.level());
        // Squaring t k times raises its scale's ratio to the primes to the power 2^k: a refreshed
        // scale 0.5% off the default reaches 2^15 times it after 11 squarings (12 levels between
        // refreshes, `BootstrapN16`), past what bootstrapping takes. So t is pinned to the
        // default scale before each refresh, with the level it has above u (a constant product;
        // the pair is refreshed from u's level anyway), and the refresh keeps that scale. Then t
        // starts at the output level and u one below, as without refreshes, pinned there too
        // (u's scale follows t's drift, 2^0.09 after 11 steps at `BootstrapN16`): u has
        // `output - input - 1` levels for the steps and the output product.
        let default_scale = s.params().default_scale();
        let mut t = t;
        for _ in 0..self.config.inverse_iters {
            let floor = ctx.refresh.input_level();
            if t.level() < floor + 2 || u.level() < floor + 1 {
                if t.level() > u.level() {
                    t = ctx.eval.mul_const_to(&t, 1.0, u.level(), default_scale)?;
                }
                (t, u) = ctx.refresh_two(&t, &u)?;
                u = ctx.eval.mul_const_to(&u, 1.0, t.level() - 1, default_scale)?;
            }
            let entry = u.level();
            t = ctx.eval.mul_relin_rescale(&t, &t)?;
            let one_plus = ctx.eval.add_const(&t, 1.0)?;
            let (a, b) = ctx.eval.align_levels(&u, &one_plus)?;
            u = ctx.eval.mul_relin_rescale(&a, &b)?;
            ctx.record("inverse.step", entry, u.level());
        }
        Ok(u)
    }
}

/// Evaluation state: the evaluator, the refresher, the encoder for masks and the levels
/// consumed per stage.
pub(super) struct Ctx<'a> {
    pub(super) eval: &'a Evaluator,
    refresh: &'a dyn Refresh,
    pub(super) encoder: &'a Encoder,
    pub(super) layout: &'a TiledLayout,
    /// The fold of the first stage's mask ([`SoftmaxInput::fold`]).
    fold: Option<&'a CompactRows>,
    stages: Vec<Stage>,
}

impl<'a> Ctx<'a> {
    /// A context for one evaluation.
    pub(super) fn new(
        eval: &'a Evaluator,
        refresh: &'a dyn Refresh,
        encoder: &'a Encoder,
        layout: &'a TiledLayout,
    ) -> Self {
        Self { eval, refresh, encoder, layout, fold: None, stages: Vec::new() }
    }

    /// The same context whose [`Ctx::entry_mask`] folds the rows into their compact form.
    pub(super) fn with_fold(self, fold: Option<&'a CompactRows>) -> Self {
        Self { fold, ..self }
    }

    /// The stages recorded so far.
    pub(super) fn into_stages(self) -> Vec<Stage> {
        self.stages
    }
}

impl Ctx<'_> {
    pub(super) fn record(&mut self, name: &'static str, entry: usize, exit: usize) {
        self.stages.push(Stage { name, levels: entry - exit });
    }

    fn refresh(&self, ct: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        self.refresh.refresh(ct)
    }

    /// `ct` if it has `levels` levels left above the refresh's input level, else its refresh.
    fn ensure(&self, ct: Ciphertext, levels: usize) -> Result<Ciphertext, SoftmaxError> {
        if ct.level() >= self.refresh.input_level() + levels {
            Ok(ct)
        } else {
            self.refresh(&ct)
        }
    }

    /// Both operands with at least `levels` levels: one refresh for both
    /// ([`Ctx::refresh_two`]) when both are short.
    fn ensure_pair(
        &self,
        a: Ciphertext,
        b: Ciphertext,
        levels: usize,
    ) -> Result<(Ciphertext, Ciphertext), SoftmaxError> {
        let needed = self.refresh.input_level() + levels;
        if a.level() < needed && b.level() < needed {
            return self.refresh_two(&a, &b);
        }
        Ok((self.ensure(a, levels)?, self.ensure(b, levels)?))
    }

    /// Both refreshed: as a pair ([`Refresh::refresh_pair`]) when their scales are close enough
    /// ([`pair_scales`]; every value of this circuit is real), else one by one.
    fn refresh_two(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext), SoftmaxError> {
        if pair_scales(a.scale(), b.scale()) {
            self.refresh.refresh_pair(a, b)
        } else {
            Ok((self.refresh(a)?, self.refresh(b)?))
        }
    }

    /// Runs `f` on `ct` (refreshed first if it has fewer than `levels` levels) and records the
    /// levels consumed under `name`.
    pub(super) fn stage(
        &mut self,
        name: &'static str,
        ct: Ciphertext,
        levels: usize,
        f: impl FnOnce(&Self, Ciphertext) -> Result<Ciphertext, SoftmaxError>,
    ) -> Result<Ciphertext, SoftmaxError> {
        let ct = self.ensure(ct, levels)?;
        let entry = ct.level();
        let out = f(self, ct)?;
        self.record(name, entry, out.level());
        Ok(out)
    }

    /// `p(ct)` slot-wise: [`Chebyshev::depth`] levels.
    pub(super) fn poly(
        &mut self,
        name: &'static str,
        p: &Chebyshev,
        ct: Ciphertext,
    ) -> Result<Ciphertext, SoftmaxError> {
        let eval = self.eval;
        self.stage(name, ct, p.depth(), |_, ct| Ok(p.evaluate(eval, &ct)?))
    }

    /// `ct * mask` slot-wise, landing at the default scale `Delta`: the mask is encoded at
    /// `q_l Delta / scale(ct)`, so the rescale that drops `q_l` leaves `Delta` exactly. One
    /// level. Every stage that masks thereby pins a scale that drifted in earlier products,
    /// for free: a drift doubles (in log2) at each squaring, and the 11 of Goldschmidt's loop
    /// took 2^0.003 to 2^6.2 before this (a refresh refused the result, MNIST shape).
    pub(super) fn mul_mask(&self, ct: &Ciphertext, mask: &[f64]) -> Result<Ciphertext, SoftmaxError> {
        Ok(self.eval.mul_real_to(ct, mask, ct.params().default_scale())?)
    }

    /// The first stage's mask on the input: [`Ctx::mul_mask`], or with a fold
    /// ([`SoftmaxInput::fold`]) the same mask times the fold's, then the trace onto the compact
    /// slots ([`CompactRows::fold`]). One level either way, default scale. The softmax's masks
    /// depend on the column modulo `c` only, so they are the same on the compact form and
    /// commute with the trace.
    pub(super) fn entry_mask(&self, ct: &Ciphertext, mask: &[f64]) -> Result<Ciphertext, SoftmaxError> {
        match self.fold {
            Some(rows) => Ok(rows.fold(self.eval, ct, mask, ct.params().default_scale())?),
            None => self.mul_mask(ct, mask),
        }
    }

    /// The window sum `sum_(j < c) x_(col + j)` by left rotations `1, 2, .., c/2`: the row sum
    /// at the first column of every copy (see [`TiledLayout`]), mixtures of two rows elsewhere.
    /// No level.
    pub(super) fn window_sum(&self, x: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let mut acc = x.clone();
        for t in 0..self.layout.c.trailing_zeros() {
            let r = self.eval.rotate(&acc, 1 << t)?;
            self.eval.add_assign(&mut acc, &r)?;
        }
        Ok(acc)
    }

    /// Keeps the first column of every copy (times `value`) and replicates it over the copy by
    /// right rotations `1, 2, .., c/2` (they never cross a row). One level.
    pub(super) fn broadcast(&self, ct: &Ciphertext, value: f64) -> Result<Ciphertext, SoftmaxError> {
        let mut acc = self.mul_mask(ct, &self.layout.copy_start_mask(value))?;
        for t in 0..self.layout.c.trailing_zeros() {
            let r = self.eval.rotate(&acc, -(1i64 << t))?;
            self.eval.add_assign(&mut acc, &r)?;
        }
        Ok(acc)
    }

    /// `a - b` for ciphertexts of any levels and scales: the higher one is matched to the
    /// lower (no level lost on the lower); at equal levels and different scales both go one
    /// level down.
    fn sub_aligned(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let same_scale = scales_match(a.scale(), b.scale());
        let (a, b) = if a.level() == b.level() && same_scale {
            (a.clone(), b.clone())
        } else if a.level() > b.level() {
            (self.eval.mul_const_to(a, 1.0, b.level(), b.scale())?, b.clone())
        } else if b.level() > a.level() {
            (a.clone(), self.eval.mul_const_to(b, 1.0, a.level(), a.scale())?)
        } else {
            let (a, b) = self.ensure_pair(a.clone(), b.clone(), 1)?;
            let b = self.eval.drop_to_level(&b, b.level().min(a.level()) - 1)?;
            (self.eval.mul_const_to(&a, 1.0, b.level(), b.scale())?, b)
        };
        Ok(self.eval.sub(&a, &b)?)
    }
}
