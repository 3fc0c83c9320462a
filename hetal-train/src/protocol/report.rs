//! The server's report of a run (`job/server/report.json`): every step's time, bootstraps and
//! levels, the validation time per epoch, and the client's answers.

use super::job::AnswerFile;
use crate::encrypted::StepReport;
use serde::{Deserialize, Serialize};

/// One step in the report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepRecord {
    /// Epoch.
    pub epoch: usize,
    /// Position in the epoch.
    pub position: usize,
    /// The fixed batch used.
    pub batch: usize,
    /// Rows.
    pub rows: usize,
    /// Seconds: total, matmul, softmax (without refreshes), refresh, other.
    pub seconds: [f64; 5],
    /// Bootstraps: softmax, P - Y, weights.
    pub bootstraps: [usize; 3],
    /// Levels: W in, logits, P, D, G, W out.
    pub levels: [usize; 6],
}

/// `server/report.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrainReport {
    /// Preset.
    pub preset: String,
    /// Every step so far.
    pub steps: Vec<StepRecord>,
    /// Seconds spent on validation products per epoch.
    pub validation_seconds: Vec<f64>,
    /// Epochs answered by the client.
    pub epochs_answered: usize,
    /// The client's answers, in order (all the server learns of the validation figures).
    #[serde(default)]
    pub answers: Vec<AnswerFile>,
    /// Whether training has ended.
    pub finished: bool,
    /// The epoch of the returned model.
    pub best_epoch: usize,
}

impl TrainReport {
    /// Total bootstraps.
    pub fn bootstraps(&self) -> usize {
        self.steps.iter().map(|s| s.bootstraps.iter().sum::<usize>()).sum()
    }

    /// Bootstraps per step averaged over the steps of `epoch`, or over the whole run for
    /// `None`: the honest count, since the weights' periodic refresh hides from a single step.
    pub fn bootstraps_per_step(&self, epoch: Option<usize>) -> f64 {
        let steps: Vec<&StepRecord> = self.steps.iter().filter(|s| epoch.is_none_or(|e| s.epoch == e)).collect();
        let total: usize = steps.iter().map(|s| s.bootstraps.iter().sum::<usize>()).sum();
        total as f64 / steps.len().max(1) as f64
    }

    /// Total seconds of steps and validation.
    pub fn seconds(&self) -> f64 {
        self.steps.iter().map(|s| s.seconds[0]).sum::<f64>() + self.validation_seconds.iter().sum::<f64>()
    }
}

/// A step report as a record.
pub fn record(r: &StepReport, position: usize, batch: usize) -> StepRecord {
    let t = &r.timings;
    let l = &r.levels;
    StepRecord {
        epoch: r.epoch,
        position,
        batch,
        rows: r.rows,
        seconds: [t.total(), t.matmul, t.softmax, t.refresh, t.other].map(|d| d.as_secs_f64()),
        bootstraps: [r.refreshes.softmax, r.refreshes.difference, r.refreshes.weights],
        levels: [l.weights_in, l.logits, l.probabilities, l.difference, l.gradient, l.weights_out],
    }
}

/// A one-line summary of a step.
pub fn step_line(r: &StepRecord) -> String {
    format!(
        "epoch {} step {} (batch {}, {} rows): {:.1} s = matmul {:.1} + softmax {:.1} + bootstrap {:.1} + other {:.1}; \
         {} bootstraps; levels W {} -> logits {} -> P {} -> D {} -> G {} -> W {}",
        r.epoch,
        r.position + 1,
        r.batch,
        r.rows,
        r.seconds[0],
        r.seconds[1],
        r.seconds[2],
        r.seconds[3],
        r.seconds[4],
        r.bootstraps.iter().sum::<usize>(),
        r.levels[0],
        r.levels[1],
        r.levels[2],
        r.levels[3],
        r.levels[4],
        r.levels[5]
    )
}
