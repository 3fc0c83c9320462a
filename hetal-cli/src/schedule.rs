//! The batch schedule of the file workflow, shared by the client (which encrypts fixed
//! batches once) and the server (which visits them in a fresh order every epoch), and the
//! plaintext replay of that schedule for comparisons.
//!
//! The client cuts a seeded permutation of the training rows into batches once
//! ([`partition`]); the server draws each epoch's batch order from the job's public shuffle
//! seed and the epoch number ([`epoch_order`]). The in-process `demo` uses
//! `hetal_train::encrypted`'s per-epoch reshuffle of rows instead.

use hetal_train::data::{one_hot, with_bias, Dataset};
use hetal_train::matrix::Matrix;
use hetal_train::plain::{
    epoch_batches, Decision, EarlyStopping, LinearModel, Metrics, SoftmaxKind, TrainConfig, Trainer,
};
use hetal_train::softmax::{SoftmaxApprox, SoftmaxConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The rows of each fixed batch: a permutation of `0..rows` from `seed`, cut into chunks of
/// `batch` (the last may be shorter).
pub fn partition(rows: usize, batch: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    epoch_batches(rows, batch, &mut rng)
}

/// The order in which epoch `epoch` (from 1) visits `batches` fixed batches.
pub fn epoch_order(batches: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    let mut order: Vec<usize> = (0..batches).collect();
    order.shuffle(&mut rng);
    order
}

/// The Kaiming-He initial weights of a run, drawn from `seed` as the plaintext trainer draws
/// them.
pub fn initial_model(classes: usize, inputs: usize, seed: u64) -> LinearModel {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    LinearModel::kaiming_he(classes, hetal_train::data::padded_classes(classes), inputs, &mut rng)
}

/// One epoch of a plaintext replay.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReplayEpoch {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Validation loss.
    pub loss: f64,
    /// Validation accuracy.
    pub accuracy: f64,
}

/// The result of [`replay`].
pub struct Replay {
    /// Per-epoch validation figures.
    pub epochs: Vec<ReplayEpoch>,
    /// The model of the best epoch.
    pub model: LinearModel,
    /// The best epoch.
    pub best_epoch: usize,
}

/// Plaintext training with exactly the file workflow's schedule (same initial weights, fixed
/// batches, per-epoch batch order, early stopping); `approx` picks the softmax approximation
/// of the encrypted run instead of the exact softmax. `ds` must be scaled as the client scaled
/// it.
pub fn replay(
    ds: &Dataset,
    cfg: &TrainConfig,
    patience: usize,
    batch_seed: u64,
    shuffle_seed: u64,
    approx: bool,
) -> Result<Replay, String> {
    let cfg = TrainConfig {
        softmax: if approx {
            SoftmaxKind::Approx(Box::new(SoftmaxApprox::new(SoftmaxConfig::default()).map_err(|e| e.to_string())?))
        } else {
            SoftmaxKind::Exact
        },
        ..cfg.clone()
    };
    let inputs = ds.features() + 1;
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let mut trainer = Trainer::new(&cfg, ds.classes, inputs, &mut rng);
    let xb = with_bias(&ds.train.x);
    let y = one_hot(&ds.train.y, ds.padded_classes());
    let batches = partition(ds.train.len(), cfg.batch, batch_seed);
    let parts: Vec<(Matrix, Matrix)> = batches.iter().map(|idx| (xb.select_rows(idx), y.select_rows(idx))).collect();
    let mut early = EarlyStopping::new(patience);
    let (mut epochs, mut best) = (Vec::new(), (trainer.model.clone(), 0));
    for epoch in 1..=cfg.max_epochs {
        for b in epoch_order(parts.len(), shuffle_seed, epoch) {
            trainer.step(&parts[b].0, &parts[b].1);
        }
        let Metrics { loss, accuracy } = trainer.model.evaluate(&ds.val);
        epochs.push(ReplayEpoch { epoch, loss, accuracy });
        let decision = early.observe(epoch, loss);
        if early.best_epoch() == Some(epoch) {
            best = (trainer.model.clone(), epoch);
        }
        if decision == Decision::Stop {
            break;
        }
    }
    Ok(Replay { epochs, model: best.0, best_epoch: best.1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_covers_every_row_once_and_orders_are_permutations() {
        let p = partition(103, 16, 7);
        assert_eq!(p.len(), 7);
        let mut all: Vec<usize> = p.concat();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert_eq!(partition(103, 16, 7), p);
        let (a, b) = (epoch_order(9, 1, 1), epoch_order(9, 1, 2));
        assert_ne!(a, b, "epochs draw different orders");
        let mut s = a.clone();
        s.sort_unstable();
        assert_eq!(s, (0..9).collect::<Vec<_>>());
        assert_eq!(epoch_order(9, 1, 1), a);
    }
}
