//! What one encrypted training step did: time per part, refreshes per place, levels.

use hetal_linalg::OpCounts;
use std::time::Duration;

/// Wall-clock time of one step by part.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTimings {
    /// DiagABT and DiagATB.
    pub matmul: Duration,
    /// The encrypted softmax, without the refreshes it called.
    pub softmax: Duration,
    /// Every refresh of the step (inside the softmax, of `D`, of the weights).
    pub refresh: Duration,
    /// Everything else: `P - Y`, the update, the pre- and post-scaling of refreshes.
    pub other: Duration,
}

impl StepTimings {
    /// The whole step.
    pub fn total(&self) -> Duration {
        self.matmul + self.softmax + self.refresh + self.other
    }
}

/// Ciphertexts refreshed in one step, by place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshCounts {
    /// Inside the softmax.
    pub softmax: usize,
    /// `D = P - Y` before DiagATB.
    pub difference: usize,
    /// The new weights and momentum.
    pub weights: usize,
}

impl RefreshCounts {
    /// All refreshes of the step.
    pub fn total(&self) -> usize {
        self.softmax + self.difference + self.weights
    }
}

/// Levels of the step's ciphertexts (the lowest block of each matrix).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepLevels {
    /// `W` when the step starts.
    pub weights_in: usize,
    /// The batch features `X`.
    pub features: usize,
    /// The logits `X W^T`.
    pub logits: usize,
    /// Levels the softmax consumed (its depth; refreshes restore levels in between).
    pub softmax_depth: usize,
    /// The softmax output `P`.
    pub probabilities: usize,
    /// `D = P - Y` as it enters DiagATB (after a refresh, if any).
    pub difference: usize,
    /// The gradient `G = D^T X`.
    pub gradient: usize,
    /// The update's output (before a refresh of the weights, if any).
    pub update: usize,
    /// `W` when the step ends (the next step's `weights_in`).
    pub weights_out: usize,
}

/// The report of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Index of the batch in the epoch.
    pub index: usize,
    /// Rows of the batch.
    pub rows: usize,
    /// `eta_t` of Nesterov's update (0 for GD).
    pub eta: f64,
    /// Time per part.
    pub timings: StepTimings,
    /// Refreshes per place.
    pub refreshes: RefreshCounts,
    /// Levels.
    pub levels: StepLevels,
    /// Operations of DiagABT.
    pub forward_ops: OpCounts,
    /// Operations of DiagATB.
    pub backward_ops: OpCounts,
}
