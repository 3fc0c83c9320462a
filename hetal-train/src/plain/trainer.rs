//! The plaintext reference trainer: the schedule of spec section 6 on `f64`.

use super::{EarlyStopping, LinearModel, Monitor, Optimizer, OptimizerState};
use crate::data::{one_hot, padded_classes, with_bias, Dataset, Split};
use crate::matrix::Matrix;
use crate::schedule::Schedule;
use crate::softmax::{exact_softmax_row, SoftmaxApproximation};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use thiserror::Error;

/// Which softmax the forward pass uses.
#[derive(Clone, Debug)]
pub enum SoftmaxKind {
    /// `exp(x_j - max) / sum exp`, over the real classes.
    Exact,
    /// An approximation's `f64` mirror ([`SoftmaxApproximation::row`], the oracle of its
    /// encrypted circuit), e.g. `Approx(Box::new(HetalSoftmax::new(config)?))` or
    /// `Approx(id.build(config)?)`; logits should stay in its input bound (`[-R_max, R_max]`
    /// for HETAL, see [`EpochReport::max_abs_logit`]).
    Approx(Box<dyn SoftmaxApproximation>),
}

/// Settings of a training run.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Learning rate.
    pub lr: f64,
    /// Mini-batch size.
    pub batch: usize,
    /// Epochs at most (early stopping may end sooner).
    pub max_epochs: usize,
    /// Update rule.
    pub optimizer: Optimizer,
    /// Softmax of the forward pass.
    pub softmax: SoftmaxKind,
    /// Seed of the ChaCha20 stream of the initial weights (spec: 0).
    pub seed: u64,
    /// The batch schedule ([`crate::schedule`]); `None`: [`Schedule::from_seed`] of `seed`.
    pub schedule: Option<Schedule>,
    /// Early-stopping patience (`None`: train all `max_epochs`).
    pub patience: Option<usize>,
    /// What early stopping watches.
    pub monitor: Monitor,
}

impl TrainConfig {
    /// Nesterov, exact softmax, seed 0, patience 3 on the validation loss, at most 100 epochs.
    pub fn new(lr: f64, batch: usize) -> Self {
        Self {
            lr,
            batch,
            max_epochs: 100,
            optimizer: Optimizer::Nesterov,
            softmax: SoftmaxKind::Exact,
            seed: 0,
            schedule: None,
            patience: Some(3),
            monitor: Monitor::Loss,
        }
    }

    /// The schedule of the run: [`Self::schedule`], or the one `seed` derives.
    pub fn schedule(&self) -> Schedule {
        self.schedule.unwrap_or_else(|| Schedule::from_seed(self.seed))
    }
}

/// A configuration the trainer refuses.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// Non-positive or non-finite learning rate, zero batch or epochs, empty training split.
    #[error("invalid training configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

/// What one epoch produced.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training cross-entropy over the epoch's batches (before each update).
    pub train_loss: f64,
    /// Validation cross-entropy after the epoch (exact softmax: what the client computes).
    pub val_loss: f64,
    /// Validation accuracy after the epoch.
    pub val_accuracy: f64,
    /// Largest `|logit|` seen in the epoch's forward passes (the approximation needs
    /// `<= R_max`).
    pub max_abs_logit: f64,
}

/// The result of [`train`].
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// Every epoch run.
    pub epochs: Vec<EpochReport>,
    /// The epoch whose model is returned (lowest validation loss; the last one without early
    /// stopping).
    pub best_epoch: usize,
    /// The model of `best_epoch`.
    pub model: LinearModel,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
}

/// One mini-batch step's state: the model, the optimiser and the softmax. Exposed so that an
/// encrypted run can be compared with it step by step.
#[derive(Clone, Debug)]
pub struct Trainer {
    /// The current model.
    pub model: LinearModel,
    optimizer: OptimizerState,
    softmax: SoftmaxKind,
    lr: f64,
}

impl Trainer {
    /// A trainer for `classes` classes and `b` inputs (features + bias), Kaiming-He
    /// initialised from `rng`.
    pub fn new(cfg: &TrainConfig, classes: usize, b: usize, rng: &mut ChaCha20Rng) -> Self {
        let model = LinearModel::kaiming_he(classes, padded_classes(classes), b, rng);
        Self { model, optimizer: OptimizerState::new(cfg.optimizer), softmax: cfg.softmax.clone(), lr: cfg.lr }
    }

    /// Softmax outputs `P` (`n x c`, padded classes 0) of logits (`n x classes`).
    pub fn probabilities(&self, logits: &Matrix) -> Matrix {
        let c = self.model.w.rows;
        let mut p = Matrix::zeros(logits.rows, c);
        for i in 0..logits.rows {
            let out = &mut p.row_mut(i)[..logits.cols];
            match &self.softmax {
                SoftmaxKind::Exact => exact_softmax_row(logits.row(i), out),
                SoftmaxKind::Approx(a) => a.row(logits.row(i), out),
            }
        }
        p
    }

    /// One step on a batch (`xb`: bias-augmented, `y`: one-hot `n x c`):
    /// `grad = (P - Y)^T X / n`, then the optimiser's update. Returns the batch's
    /// cross-entropy (of `P`) and largest `|logit|`.
    ///
    /// # Panics
    /// If `xb` does not have `b` columns or `y` not `c` columns and as many rows as `xb`.
    pub fn step(&mut self, xb: &Matrix, y: &Matrix) -> (f64, f64) {
        let logits = self.model.logits_biased(xb);
        let max_abs = logits.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut p = self.probabilities(&logits);
        let n = xb.rows as f64;
        let mut loss = 0.0;
        for (pv, &yv) in p.data.iter_mut().zip(&y.data) {
            if yv > 0.0 {
                loss -= pv.max(1e-300).ln();
            }
            *pv = (*pv - yv) / n;
        }
        let grad = p.transposed_mul(xb);
        self.optimizer.step(&mut self.model.w, &grad, self.lr);
        (loss / n, max_abs)
    }
}

fn check(cfg: &TrainConfig, train: &Split) -> Result<(), TrainError> {
    let reason = if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        format!("learning rate {} must be positive", cfg.lr)
    } else if cfg.batch == 0 || cfg.max_epochs == 0 {
        "batch size and epochs must be positive".into()
    } else if train.is_empty() {
        "empty training split".into()
    } else {
        return Ok(());
    };
    Err(TrainError::Config { reason })
}

/// Trains on `ds` (features already scaled, see [`crate::data::scale_features`]): Kaiming-He
/// initialisation, then per epoch the schedule's fixed batches in that epoch's order
/// ([`TrainConfig::schedule`], the encrypted protocol's schedule) and the optimiser's steps, the
/// validation loss and accuracy, and the client's early-stopping decision. Returns the model of
/// the best epoch.
pub fn train(ds: &Dataset, cfg: &TrainConfig) -> Result<TrainReport, TrainError> {
    check(cfg, &ds.train)?;
    let c = ds.padded_classes();
    let xb = with_bias(&ds.train.x);
    let y = one_hot(&ds.train.y, c);
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let mut trainer = Trainer::new(cfg, ds.classes, xb.cols, &mut rng);
    let mut client = cfg.patience.map(|p| EarlyStopping::new(p, cfg.monitor));
    let (mut epochs, mut best) = (Vec::new(), (0, trainer.model.clone()));
    let schedule = cfg.schedule();
    let batches = schedule.batches(ds.train.len(), cfg.batch);
    for epoch in 1..=cfg.max_epochs {
        let (mut loss_sum, mut max_abs) = (0.0, 0.0f64);
        for b in schedule.order(batches.len(), epoch) {
            let idx = &batches[b];
            let (loss, m) = trainer.step(&xb.select_rows(idx), &y.select_rows(idx));
            loss_sum += loss;
            max_abs = max_abs.max(m);
        }
        let val = trainer.model.evaluate(&ds.val);
        epochs.push(EpochReport {
            epoch,
            train_loss: loss_sum / batches.len() as f64,
            val_loss: val.loss,
            val_accuracy: val.accuracy,
            max_abs_logit: max_abs,
        });
        let Some(client) = client.as_mut() else {
            best = (epoch, trainer.model.clone());
            continue;
        };
        let decision = client.observe(epoch, val.loss, val.accuracy);
        if client.best_epoch() == Some(epoch) {
            best = (epoch, trainer.model.clone());
        }
        if decision == super::Decision::Stop {
            return Ok(TrainReport { epochs, best_epoch: best.0, model: best.1, stopped_early: true });
        }
    }
    Ok(TrainReport { epochs, best_epoch: best.0, model: best.1, stopped_early: false })
}
