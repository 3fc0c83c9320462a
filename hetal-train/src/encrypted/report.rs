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

/// One line: time by part (seconds), refreshes by place, the level chain of the step and the
/// rotations of both products:
///
/// ```text
/// step 1.0 (512 rows): 288.10 s = matmul 30.20 + softmax 9.90 + refresh 247.00 + other 1.00;
/// refreshes 9 (softmax 6, D 1, W/V 2); levels W 12 -> logits 9 -> P 3 -> D 12 -> G 9 -> W 8;
/// rotations 96 + 512
/// ```
impl std::fmt::Display for StepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, r, l) = (&self.timings, &self.refreshes, &self.levels);
        let s = |d: Duration| d.as_secs_f64();
        write!(
            f,
            "step {}.{} ({} rows): {:.2} s = matmul {:.2} + softmax {:.2} + refresh {:.2} + other {:.2}; \
             refreshes {} (softmax {}, D {}, W/V {}); levels W {} -> logits {} -> P {} -> D {} -> G {} -> W {}; \
             rotations {} + {}",
            self.epoch,
            self.index,
            self.rows,
            s(t.total()),
            s(t.matmul),
            s(t.softmax),
            s(t.refresh),
            s(t.other),
            r.total(),
            r.softmax,
            r.difference,
            r.weights,
            l.weights_in,
            l.logits,
            l.probabilities,
            l.difference,
            l.gradient,
            l.weights_out,
            self.forward_ops.rot,
            self.backward_ops.rot
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_names_every_part() {
        let r = StepReport {
            epoch: 2,
            index: 3,
            rows: 512,
            eta: 0.1,
            timings: StepTimings {
                matmul: Duration::from_millis(1500),
                softmax: Duration::from_millis(250),
                refresh: Duration::from_secs(10),
                other: Duration::from_millis(10),
            },
            refreshes: RefreshCounts { softmax: 6, difference: 1, weights: 2 },
            levels: StepLevels {
                weights_in: 12,
                logits: 9,
                probabilities: 3,
                difference: 12,
                gradient: 9,
                weights_out: 8,
                ..Default::default()
            },
            forward_ops: OpCounts { rot: 96, ..Default::default() },
            backward_ops: OpCounts { rot: 512, ..Default::default() },
        };
        assert_eq!(
            r.to_string(),
            "step 2.3 (512 rows): 11.76 s = matmul 1.50 + softmax 0.25 + refresh 10.00 + other 0.01; \
             refreshes 9 (softmax 6, D 1, W/V 2); levels W 12 -> logits 9 -> P 3 -> D 12 -> G 9 -> W 8; rotations 96 + 512"
        );
    }
}
