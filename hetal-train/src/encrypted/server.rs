//! The server of encrypted training: public material only (evaluation keys, a refresher,
//! encrypted data and weights). It runs the steps of spec section 6, answers each epoch with
//! the encrypted validation logits and keeps the weights of the best epoch the client names.

use super::messages::{
    ClientAnswer, EncryptedBatch, EncryptedModel, EncryptedValidation, InitialModel, ValidationOutputs,
};
use super::plan::{
    check_softmax, check_softmax_window, logits_level, plan_backward, weights_level, BackwardLevels, MIN_LEVEL,
    WEIGHT_ENTRY_LEVEL,
};
use super::report::{RefreshCounts, StepLevels, StepReport, StepTimings};
use super::scale::linear_combination;
use super::timed_refresh::TimedRefresh;
use super::{EncryptedTrainError, TrainingSetup};
use crate::plain::{Decision, NesterovSchedule, Optimizer};
use crate::softmax::{EncryptedSoftmax, InsecureDecryptReencryptRefresh, PublicRefresh, Refresh};
use ckks_scheme::{Ciphertext, Evaluator};
use hetal_linalg::{
    diag_abt, diag_atb, pack_copies, packed_count, unpack_copies, CompactRows, EncryptedMatrix, Tiling, DIAG_ABT_DEPTH,
};
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// The training state the server carries from step to step (and checkpoints): encrypted
/// weights and momentum, counters, the Nesterov schedule and the best model so far.
#[derive(Clone, Debug)]
pub struct ServerState {
    /// `W_t`, `c x b`, tiled vertically.
    pub w: EncryptedMatrix,
    /// The momentum `v_t` (Nesterov; equal to `W_0` before the first step, unused by GD).
    pub v: EncryptedMatrix,
    /// Epochs completed (answered by the client).
    pub epoch: usize,
    /// Steps done over all epochs.
    pub step: usize,
    /// `lambda_t` of the Nesterov schedule.
    pub schedule: NesterovSchedule,
    /// The weights of the best epoch so far (epoch 0: the initial weights).
    pub best: EncryptedModel,
    /// Whether the client answered stop.
    pub stopped: bool,
}

/// The server. Generic over its refresher; [`TrainingServer::new`] accepts only a
/// [`PublicRefresh`] (bootstrapping), and the secret-holding test double goes through the
/// separately named [`TrainingServer::with_insecure_refresh`]. No constructor, field or method
/// takes a `SecretKey`, a `Decryptor` or a `KeyGenerator`; the `Evaluator` it holds is built
/// from public evaluation keys.
///
/// ```compile_fail,E0277
/// # fn demo(eval: ckks_scheme::Evaluator, double: hetal_train::softmax::InsecureDecryptReencryptRefresh,
/// #         setup: hetal_train::encrypted::TrainingSetup, init: hetal_train::encrypted::InitialModel,
/// #         val: hetal_train::encrypted::EncryptedValidation) {
/// // The decrypt-and-re-encrypt double holds the secret key: not a PublicRefresh.
/// let server = hetal_train::encrypted::TrainingServer::new(eval, double, setup, init, val);
/// # }
/// ```
pub struct TrainingServer<R: Refresh> {
    eval: Evaluator,
    refresh: R,
    /// The compact softmax, when set ([`TrainingServer::with_compact_softmax`]).
    compact: Option<CompactSoftmax<R>>,
    setup: TrainingSetup,
    softmax: EncryptedSoftmax,
    validation: EncryptedValidation,
    state: ServerState,
}

/// The compact softmax of a step: the fold of the logits' rows and the refresher of their
/// `n` sparse slots.
struct CompactSoftmax<R> {
    rows: CompactRows,
    refresh: R,
}

impl<R: PublicRefresh> TrainingServer<R> {
    /// A server with a public refresher (bootstrapping), from the client's setup, initial
    /// weights and validation features. Errors if the setup is invalid or a message does not
    /// fit it.
    pub fn new(
        eval: Evaluator,
        refresh: R,
        setup: TrainingSetup,
        initial: InitialModel,
        validation: EncryptedValidation,
    ) -> Result<Self, EncryptedTrainError> {
        Self::build(eval, refresh, setup, initial, validation)
    }

    /// A server resumed from a checkpointed [`ServerState`].
    pub fn resume(
        eval: Evaluator,
        refresh: R,
        setup: TrainingSetup,
        validation: EncryptedValidation,
        state: ServerState,
    ) -> Result<Self, EncryptedTrainError> {
        Self::resume_inner(eval, refresh, setup, validation, state)
    }
}

impl TrainingServer<InsecureDecryptReencryptRefresh> {
    /// **Tests and experiments only**: a server whose refresher is the decrypt-and-re-encrypt
    /// double, which holds the secret key. Same protocol as [`TrainingServer::new`].
    pub fn with_insecure_refresh(
        eval: Evaluator,
        refresh: InsecureDecryptReencryptRefresh,
        setup: TrainingSetup,
        initial: InitialModel,
        validation: EncryptedValidation,
    ) -> Result<Self, EncryptedTrainError> {
        Self::build(eval, refresh, setup, initial, validation)
    }

    /// **Tests only**: [`TrainingServer::resume`] with the double.
    pub fn resume_with_insecure_refresh(
        eval: Evaluator,
        refresh: InsecureDecryptReencryptRefresh,
        setup: TrainingSetup,
        validation: EncryptedValidation,
        state: ServerState,
    ) -> Result<Self, EncryptedTrainError> {
        Self::resume_inner(eval, refresh, setup, validation, state)
    }
}

impl<R: Refresh> TrainingServer<R> {
    fn build(
        eval: Evaluator,
        refresh: R,
        setup: TrainingSetup,
        initial: InitialModel,
        validation: EncryptedValidation,
    ) -> Result<Self, EncryptedTrainError> {
        let state = ServerState {
            v: initial.w.clone(),
            best: EncryptedModel { epoch: 0, w: initial.w.clone() },
            w: initial.w,
            epoch: 0,
            step: 0,
            schedule: NesterovSchedule::default(),
            stopped: false,
        };
        Self::resume_inner(eval, refresh, setup, validation, state)
    }

    fn resume_inner(
        eval: Evaluator,
        refresh: R,
        setup: TrainingSetup,
        validation: EncryptedValidation,
        state: ServerState,
    ) -> Result<Self, EncryptedTrainError> {
        setup.check()?;
        if refresh.output_level() < setup.data_level {
            return Err(EncryptedTrainError::config(format!(
                "the refresh gives level {}, below the data level {}",
                refresh.output_level(),
                setup.data_level
            )));
        }
        let floor = refresh.input_level();
        if setup.data_level < floor + MIN_LEVEL {
            return Err(EncryptedTrainError::config(format!(
                "data level {} leaves {} levels above the refresh's input level {floor}, a step needs {MIN_LEVEL}",
                setup.data_level,
                setup.data_level.saturating_sub(floor)
            )));
        }
        if eval.params().slots() != setup.slots {
            return Err(EncryptedTrainError::config("the setup's slot count differs from the parameters'"));
        }
        let approximation = setup.softmax_approximation()?;
        check_softmax(approximation.as_ref(), setup.classes)?;
        check_softmax_window(approximation.as_ref(), setup.classes, refresh.output_level() - floor)?;
        let softmax = EncryptedSoftmax::with_approximation(approximation, setup.softmax_layout()?, eval.params())?;
        let server = Self { eval, refresh, compact: None, setup, softmax, validation, state };
        let wl = server.setup.weight_layout()?;
        for (name, m) in [("weights", &server.state.w), ("momentum", &server.state.v), ("best", &server.state.best.w)] {
            if *m.layout() != wl {
                return Err(EncryptedTrainError::protocol(format!("{name}: layout {:?}, expected {wl:?}", m.layout())));
            }
            if m.level() < floor + WEIGHT_ENTRY_LEVEL {
                return Err(EncryptedTrainError::protocol(format!(
                    "{name} at level {}, at least {} needed",
                    m.level(),
                    floor + WEIGHT_ENTRY_LEVEL
                )));
            }
        }
        server.check_features("validation", &server.validation.x)?;
        Ok(server)
    }

    /// The compact softmax: each step folds the rows of the logits into their compact form
    /// ([`TrainingSetup::compact_rows`], `n = s0 c` sparse slots) with the softmax's first mask,
    /// runs the softmax and `D = P - Y` there, refreshing through `refresh` (a bootstrapper of
    /// `n` slots, [`ckks_scheme::circuits::bootstrap::Bootstrapper::with_slots`]), and unfolds
    /// `D` before DiagATB (one level, which the refresh plan counts). The evaluator needs the
    /// keys of [`TrainingSetup::compact_rotation_steps`]. Errors if `refresh` gives other levels
    /// than the server's refresher, if the unit shape has no compact form, or on a missing key.
    pub fn with_compact_softmax(mut self, refresh: R) -> Result<Self, EncryptedTrainError> {
        if (refresh.output_level(), refresh.input_level()) != (self.refresh.output_level(), self.refresh.input_level())
        {
            return Err(EncryptedTrainError::config(format!(
                "the compact softmax's refresh gives levels {} from {}, the server's {} from {}",
                refresh.output_level(),
                refresh.input_level(),
                self.refresh.output_level(),
                self.refresh.input_level()
            )));
        }
        let rows = self.setup.compact_rows()?;
        rows.check_keys(&self.eval).map_err(|e| {
            EncryptedTrainError::config(format!("the compact softmax: {e} (TrainingSetup::compact_rotation_steps)"))
        })?;
        self.compact = Some(CompactSoftmax { rows, refresh });
        Ok(self)
    }

    /// The setup.
    pub fn setup(&self) -> &TrainingSetup {
        &self.setup
    }

    /// The current state (what a checkpoint stores).
    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// The current encrypted weights.
    pub fn weights(&self) -> &EncryptedMatrix {
        &self.state.w
    }

    /// Ciphertexts refreshed so far by this server's refreshers.
    pub fn refreshes(&self) -> usize {
        self.refresh.count() + self.compact.as_ref().map_or(0, |c| c.refresh.count())
    }

    fn check_features(&self, name: &str, x: &EncryptedMatrix) -> Result<(), EncryptedTrainError> {
        let l = x.layout();
        if l.tiling != Tiling::None || l.unit != self.setup.unit()? || l.cols != self.setup.inputs {
            return Err(EncryptedTrainError::protocol(format!(
                "{name} features: layout {l:?} does not fit {} inputs in the run's unit shape",
                self.setup.inputs
            )));
        }
        Ok(())
    }

    fn check_batch(&self, batch: &EncryptedBatch) -> Result<(), EncryptedTrainError> {
        if self.state.stopped {
            return Err(EncryptedTrainError::protocol("the client has stopped training"));
        }
        if batch.epoch != self.state.epoch + 1 {
            return Err(EncryptedTrainError::protocol(format!(
                "batch of epoch {}, but the server is in epoch {}",
                batch.epoch,
                self.state.epoch + 1
            )));
        }
        self.check_features("batch", &batch.x)?;
        let (lx, ly) = (batch.x.layout(), batch.y.layout());
        let c = self.setup.padded_classes();
        if batch.rows() == 0 || batch.rows() > self.setup.batch {
            return Err(EncryptedTrainError::protocol(format!(
                "batch of {} rows (at most {})",
                batch.rows(),
                self.setup.batch
            )));
        }
        if ly.tiling != (Tiling::Horizontal { period: c }) || ly.rows != lx.rows || ly.cols != c || ly.unit != lx.unit {
            return Err(EncryptedTrainError::protocol(format!("labels: layout {ly:?} does not fit the batch")));
        }
        let floor = self.refresh.input_level();
        if batch.x.level() < floor + WEIGHT_ENTRY_LEVEL || batch.y.level() < floor + 1 {
            return Err(EncryptedTrainError::protocol(format!(
                "batch encrypted at too low a level: features at {}, labels at {}, at least {} and {} needed",
                batch.x.level(),
                batch.y.level(),
                floor + WEIGHT_ENTRY_LEVEL,
                floor + 1
            )));
        }
        Ok(())
    }

    /// One training step on `batch` (spec section 6):
    ///
    /// 1. `Z = DiagABT(X, W)` ([`DIAG_ABT_DEPTH`] levels), `Z` tiled horizontally, on `W`
    ///    dropped to the lowest level at which the softmax refreshes at the same points
    ///    ([`super::plan::logits_level`]).
    /// 2. `P = softmax(Z)` block by block, padded classes masked (the softmax's depth, with
    ///    refreshes inside).
    /// 3. `D = P - Y`, `Y` brought to the level and scale of `P` (no level of `P`).
    /// 4. `G = DiagATB(D, X)` (3 levels), `c x b` tiled vertically.
    /// 5. GD: `W' = W - (lr/n) G`; Nesterov: `V' = W - (lr/n) G`,
    ///    `W' = (1 - eta) V' + eta V`, both as one linear combination of `W, G, V` (1 level).
    ///
    /// Refreshes follow [`super::plan`]: `D` and/or the new weights, whichever costs fewer
    /// ciphertexts, so that the weights start the next step at level `>=`
    /// [`WEIGHT_ENTRY_LEVEL`].
    pub fn step(&mut self, batch: &EncryptedBatch) -> Result<StepReport, EncryptedTrainError> {
        self.check_batch(batch)?;
        let start = Instant::now();
        let timed = TimedRefresh::new(&self.refresh);
        let compact = self.compact.as_ref();
        // The compact softmax's refreshes: sparse slots, timed and counted apart.
        let timed_compact = compact.map(|c| TimedRefresh::new(&c.refresh));
        let rows_refresh: &dyn Refresh = match &timed_compact {
            Some(t) => t,
            None => &timed,
        };
        let refreshed = || timed.count() + timed_compact.as_ref().map_or(0, |t| t.count());
        let refresh_time = || timed.elapsed() + timed_compact.as_ref().map_or(Duration::ZERO, |t| t.elapsed());
        let eval = &self.eval;
        let mut timings = StepTimings::default();
        let mut levels =
            StepLevels { weights_in: self.state.w.level(), features: batch.x.level(), ..Default::default() };

        // 1. Forward, at the lowest level that leaves the softmax's refreshes where they are.
        let t = Instant::now();
        let logits_at = logits_level(
            self.softmax.approximation(),
            self.setup.classes,
            levels.weights_in.saturating_sub(DIAG_ABT_DEPTH),
            rows_refresh.input_level(),
        );
        let forward_weights = drop_matrix(eval, &self.state.w, logits_at + DIAG_ABT_DEPTH)?;
        let (logits, forward_ops) = diag_abt(eval, &batch.x, &forward_weights)?;
        drop(forward_weights);
        timings.matmul += t.elapsed();
        levels.logits = logits.level();

        // 2. Softmax per block row of the logits.
        let t = Instant::now();
        let mut p_blocks = Vec::with_capacity(logits.blocks().len());
        for block in logits.blocks() {
            let (p, run) = match compact {
                Some(c) => self.softmax.evaluate_folded(eval, rows_refresh, block, &c.rows)?,
                None => self.softmax.evaluate(eval, &timed, block)?,
            };
            levels.softmax_depth = levels.softmax_depth.max(run.depth());
            p_blocks.push(p);
        }
        let softmax_refreshes = refreshed();
        timings.softmax += t.elapsed() - refresh_time();
        levels.probabilities = p_blocks.iter().map(Ciphertext::level).min().unwrap_or(0);

        // 3. D = P - Y (compact: Y folded like the logits, one level of Y).
        let d_blocks = p_blocks
            .iter()
            .zip(batch.y.blocks())
            .map(|(p, y)| match compact {
                Some(c) => compact_difference(eval, &c.rows, p, y),
                None => Ok(eval.sub(p, &match_to(eval, y, p)?)?),
            })
            .collect::<Result<Vec<_>, EncryptedTrainError>>()?;
        // The unfold of compact blocks takes a level of D before DiagATB.
        let unfold = usize::from(compact.is_some());

        // Refresh plan for the backward half.
        let nesterov = self.setup.optimizer == Optimizer::Nesterov;
        let weight_level = if nesterov { self.state.w.level().min(self.state.v.level()) } else { self.state.w.level() };
        let backward_levels = BackwardLevels {
            difference: d_blocks.iter().map(Ciphertext::level).min().unwrap_or(0).saturating_sub(unfold),
            features: batch.x.level(),
            weights: weight_level,
            refreshed: self.refresh.output_level() - unfold,
            floor: self.refresh.input_level(),
            c: self.setup.padded_classes(),
            difference_blocks: d_blocks.len(),
            // The compact refresh: one bootstrap per s0 / c blocks of weights and momentum.
            weight_blocks: packed_count(self.state.w.layout(), if nesterov { 2 } else { 1 })?,
            weight_blocks_unpacked: self.state.w.blocks().len() * if nesterov { 2 } else { 1 },
            sparse_difference: compact.is_some(),
        };
        let plan = plan_backward(backward_levels)
            .ok_or_else(|| EncryptedTrainError::config("no refresh plan reaches the levels of a step"))?;
        let d_blocks = if plan.refresh_difference { rows_refresh.refresh_all(&d_blocks)? } else { d_blocks };
        let difference_refreshes = refreshed() - softmax_refreshes;
        levels.difference = d_blocks.iter().map(Ciphertext::level).min().unwrap_or(0);
        // DiagATB at the plan's level of D: a refreshed D would otherwise run it at the top,
        // for a G above the weights' level. Compact blocks are unfolded first, where they are:
        // the refresh's output level or the softmax's, so that the unfold's diagonals (0.5 GB a
        // level at Face Mask) are encoded at those two levels only, not at every level the
        // plan may drop to.
        let d_blocks = d_blocks
            .iter()
            .map(|b| {
                let b = match compact {
                    Some(c) => c.rows.unfold(eval, b)?,
                    None => b.clone(),
                };
                Ok(eval.drop_to_level(&b, plan.difference_level)?)
            })
            .collect::<Result<Vec<_>, EncryptedTrainError>>()?;
        let d = EncryptedMatrix::from_blocks(*logits.layout(), d_blocks)?;

        // 4. Backward.
        let t = Instant::now();
        let (g, backward_ops) = diag_atb(eval, &d, &batch.x)?;
        timings.matmul += t.elapsed();
        levels.gradient = g.level();
        if g.layout() != self.state.w.layout() {
            return Err(EncryptedTrainError::protocol("gradient and weights have different layouts"));
        }

        // 5. Update, pre-scaled by 2^-k when the weights are refreshed next.
        let mu = self.setup.lr / batch.rows() as f64;
        let pre = if plan.refresh_weights { (-(self.setup.weight_bound_log2 as f64)).exp2() } else { 1.0 };
        let mut schedule = self.state.schedule;
        let eta = if nesterov { schedule.next_eta() } else { 0.0 };
        let scale = eval.params().default_scale();
        let level = plan.update_level;
        let mut w_new = Vec::with_capacity(g.blocks().len());
        let mut v_new = Vec::with_capacity(g.blocks().len());
        for ((w, gq), v) in self.state.w.blocks().iter().zip(g.blocks()).zip(self.state.v.blocks()) {
            if nesterov {
                v_new.push(linear_combination(eval, &[(w, pre), (gq, -pre * mu)], level, scale)?);
                let (a, e) = (pre * (1.0 - eta), pre * eta);
                w_new.push(linear_combination(eval, &[(w, a), (gq, -a * mu), (v, e)], level, scale)?);
            } else {
                w_new.push(linear_combination(eval, &[(w, pre), (gq, -pre * mu)], level, scale)?);
            }
        }
        levels.update = level;
        let layout = *self.state.w.layout();
        let mut w_new = EncryptedMatrix::from_blocks(layout, w_new)?;
        let mut v_new = if nesterov { EncryptedMatrix::from_blocks(layout, v_new)? } else { w_new.clone() };
        if plan.refresh_weights {
            let mats: Vec<&EncryptedMatrix> = if nesterov { vec![&w_new, &v_new] } else { vec![&w_new] };
            let level = weights_level(
                self.softmax.approximation(),
                self.setup.classes,
                self.refresh.output_level(),
                &backward_levels,
            );
            let mut refreshed = refresh_weights(eval, &timed, &mats, self.setup.weight_bound_log2, level)?.into_iter();
            w_new = refreshed.next().expect("the weights");
            v_new = refreshed.next().unwrap_or_else(|| w_new.clone());
        }
        levels.weights_out = w_new.level();
        self.state.w = w_new;
        self.state.v = v_new;
        self.state.step += 1;
        self.state.schedule = schedule;

        timings.refresh = refresh_time();
        timings.other = start.elapsed().saturating_sub(timings.matmul + timings.softmax + timings.refresh);
        // As the refreshers counted them (a pair once).
        let refreshes = RefreshCounts {
            softmax: softmax_refreshes,
            difference: difference_refreshes,
            weights: refreshed() - softmax_refreshes - difference_refreshes,
        };
        Ok(StepReport {
            epoch: batch.epoch,
            index: batch.index,
            rows: batch.rows(),
            eta,
            timings,
            refreshes,
            levels,
            forward_ops,
            backward_ops,
        })
    }

    /// Ends the epoch: the validation logits `X_val W^T` (DiagABT, [`DIAG_ABT_DEPTH`] levels on
    /// `W`), for the client to decrypt. They run at the bottom, level 0: the client only
    /// decrypts them, and the file carries one prime.
    pub fn validation_outputs(&self) -> Result<ValidationOutputs, EncryptedTrainError> {
        let w = drop_matrix(&self.eval, &self.state.w, DIAG_ABT_DEPTH)?;
        let (logits, _) = diag_abt(&self.eval, &self.validation.x, &w)?;
        Ok(ValidationOutputs { epoch: self.state.epoch + 1, logits })
    }

    /// Takes the client's answer for the epoch just ended: keeps the weights if they are the
    /// best so far, moves to the next epoch, and returns the decision.
    pub fn answer(&mut self, answer: &ClientAnswer) -> Result<Decision, EncryptedTrainError> {
        if answer.epoch != self.state.epoch + 1 {
            return Err(EncryptedTrainError::protocol(format!(
                "answer for epoch {}, but epoch {} has just ended",
                answer.epoch,
                self.state.epoch + 1
            )));
        }
        self.state.epoch += 1;
        if answer.best_so_far {
            self.state.best = EncryptedModel { epoch: self.state.epoch, w: self.state.w.clone() };
        }
        self.state.stopped = answer.decision == Decision::Stop;
        Ok(answer.decision)
    }

    /// The encrypted weights of the best epoch, for the client.
    pub fn final_model(&self) -> EncryptedModel {
        self.state.best.clone()
    }
}

/// The weights (and momentum), pre-scaled by `2^-k` into bootstrapping's range, refreshed and
/// multiplied back by `2^k` (an integer product, exact): packed one copy per block
/// ([`hetal_linalg::pack_copies`], one bootstrap per `s0 / c` blocks, one level before it and
/// one after) when they have a level to spare, else block by block, two ciphertexts to a
/// refresh ([`Refresh::refresh_all`]). Packed, they are unpacked to `level`
/// ([`super::plan::weights_level`]: the rotations run over no more primes than the next step
/// uses), spending the levels the refresh gives above it on splits where those make the
/// unpacking cheaper ([`hetal_linalg::unpack_copies`]). Returns the matrices.
fn refresh_weights(
    eval: &Evaluator,
    refresh: &dyn Refresh,
    mats: &[&EncryptedMatrix],
    k: u32,
    level: usize,
) -> Result<Vec<EncryptedMatrix>, EncryptedTrainError> {
    let layout = *mats[0].layout();
    // The compact refresh's mask takes a level above the refresh's input level.
    let refreshed = if mats[0].level() > refresh.input_level() {
        let start = std::time::Instant::now();
        let packed = pack_copies(eval, mats)?;
        let pack_s = start.elapsed().as_secs_f64();
        let packed = refresh.refresh_all(&packed)?;
        let unpacking = std::time::Instant::now();
        let level = level.min(refresh.output_level().saturating_sub(1));
        let unpacked = unpack_copies(eval, &packed, &layout, mats.len(), level)?;
        tracing::info!(
            packed = packed.len(),
            level,
            pack_s,
            bootstrap_s = (unpacking - start).as_secs_f64() - pack_s,
            unpack_s = unpacking.elapsed().as_secs_f64(),
            "weights refreshed in compact form"
        );
        unpacked
    } else {
        // Every block of every matrix, in pairs across the matrices.
        let all: Vec<Ciphertext> = mats.iter().flat_map(|m| m.blocks().iter().cloned()).collect();
        let mut blocks = refresh.refresh_all(&all)?.into_iter();
        mats.iter()
            .map(|m| EncryptedMatrix::from_blocks(layout, blocks.by_ref().take(m.blocks().len()).collect()))
            .collect::<Result<Vec<_>, _>>()?
    };
    refreshed
        .iter()
        .map(|m| {
            let blocks = m.blocks().iter().map(|ct| eval.mul_int(ct, 1i64 << k)).collect::<Result<Vec<_>, _>>()?;
            Ok(EncryptedMatrix::from_blocks(layout, blocks)?)
        })
        .collect()
}

/// `m` with its blocks dropped to `level`, borrowed as it is when it sits there or below: a
/// product on it then runs over fewer primes.
fn drop_matrix<'a>(
    eval: &Evaluator,
    m: &'a EncryptedMatrix,
    level: usize,
) -> Result<Cow<'a, EncryptedMatrix>, EncryptedTrainError> {
    if m.level() <= level {
        return Ok(Cow::Borrowed(m));
    }
    let blocks = m.blocks().iter().map(|b| eval.drop_to_level(b, level)).collect::<Result<Vec<_>, _>>()?;
    Ok(Cow::Owned(EncryptedMatrix::from_blocks(*m.layout(), blocks)?))
}

/// `D = P - Y` in compact form: `y` (a full tiled block of labels) folded like the logits
/// ([`CompactRows::fold`], one level of `y`) onto the level and exact scale of `p`, a compact
/// block; `p` is first dropped below `y` if `y` does not sit above it. Errors if `y` is at level 0.
fn compact_difference(
    eval: &Evaluator,
    rows: &CompactRows,
    p: &Ciphertext,
    y: &Ciphertext,
) -> Result<Ciphertext, EncryptedTrainError> {
    if y.level() == 0 {
        return Err(EncryptedTrainError::protocol("labels at level 0 cannot be folded"));
    }
    let level = p.level().min(y.level() - 1);
    let p = eval.drop_to_level(p, level)?;
    let ones = vec![1.0; eval.params().slots()];
    let y = rows.fold(eval, &eval.drop_to_level(y, level + 1)?, &ones, p.scale())?;
    Ok(eval.sub(&p, &y)?)
}

/// `y` at the level and exact scale of `like` (a constant product when `y` is higher, which
/// costs `y` one level below its own and `like` nothing). Errors if `y` sits below `like`.
fn match_to(eval: &Evaluator, y: &Ciphertext, like: &Ciphertext) -> Result<Ciphertext, EncryptedTrainError> {
    let same_scale = ckks_scheme::scales_match(y.scale(), like.scale());
    if y.level() == like.level() && same_scale {
        return Ok(y.clone());
    }
    Ok(eval.mul_const_to(y, 1.0, like.level(), like.scale())?)
}
