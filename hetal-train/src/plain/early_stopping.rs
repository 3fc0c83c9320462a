//! Client-side early stopping (spec section 1): the client decrypts the validation outputs
//! after each epoch, computes the validation loss and accuracy and answers stop or continue. It
//! is a separate type from anything the server holds; the server learns only the answers.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The client's answer after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Train another epoch.
    Continue,
    /// Stop; the model of [`EarlyStopping::best_epoch`] is the result.
    Stop,
}

/// What early stopping watches on the validation split (Keras's `monitor`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Monitor {
    /// The validation loss, lower is better: the paper's rule, and the default.
    #[default]
    Loss,
    /// The validation accuracy, higher is better. It stops sooner on data that a linear layer
    /// separates well, where the loss keeps falling slowly for tens of epochs while no
    /// prediction changes (the embedded demo's digits: 9 epochs instead of 100).
    Accuracy,
}

impl Monitor {
    /// Every monitor, in the order the command line lists them.
    pub const ALL: [Monitor; 2] = [Monitor::Loss, Monitor::Accuracy];

    /// The name in job files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
        }
    }

    /// The watched value as a score to minimise: the loss, or minus the accuracy.
    fn score(self, loss: f64, accuracy: f64) -> f64 {
        match self {
            Monitor::Loss => loss,
            Monitor::Accuracy => -accuracy,
        }
    }
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Monitor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            format!("unknown early-stopping monitor {s:?} (known: {})", Self::ALL.map(Monitor::as_str).join(", "))
        })
    }
}

/// Patience-based early stopping: stop once `patience` epochs in a row brought no improvement
/// of the monitored validation value (strictly lower loss, or strictly higher accuracy) over
/// the best so far. Keeps the best epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    patience: usize,
    monitor: Monitor,
    /// The best epoch and its score ([`Monitor::score`], lower is better).
    best: Option<(usize, f64)>,
    since_best: usize,
}

impl Default for EarlyStopping {
    /// Patience 3 on the validation loss, the paper's default.
    fn default() -> Self {
        Self::new(3, Monitor::Loss)
    }
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement of `monitor` (`patience = 0` behaves
    /// like 1).
    pub fn new(patience: usize, monitor: Monitor) -> Self {
        Self { patience: patience.max(1), monitor, best: None, since_best: 0 }
    }

    /// Records the validation loss and accuracy of `epoch` and decides. A non-finite value
    /// never improves.
    pub fn observe(&mut self, epoch: usize, loss: f64, accuracy: f64) -> Decision {
        let score = self.monitor.score(loss, accuracy);
        let improves = score.is_finite() && self.best.is_none_or(|(_, best)| score < best);
        if improves {
            self.best = Some((epoch, score));
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        if self.since_best >= self.patience {
            Decision::Stop
        } else {
            Decision::Continue
        }
    }

    /// The epoch with the best monitored value so far, if any.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.map(|(e, _)| e)
    }

    /// What is watched.
    pub fn monitor(&self) -> Monitor {
        self.monitor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let mut es = EarlyStopping::default();
        let losses = [1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.7];
        let decisions: Vec<Decision> = losses.iter().enumerate().map(|(e, &l)| es.observe(e, l, 0.5)).collect();
        assert_eq!(decisions[..6], [Decision::Continue; 6]);
        assert_eq!(decisions[6], Decision::Stop);
        assert_eq!(es.best_epoch(), Some(3));
    }

    proptest::proptest! {
        /// The best epoch is the first argmin of the losses seen, and the run stops exactly
        /// `patience` epochs after it.
        #[test]
        fn best_epoch_is_the_argmin(losses in proptest::collection::vec(0.0..10.0f64, 1..30), patience in 1..5usize) {
            let mut es = EarlyStopping::new(patience, Monitor::Loss);
            for (e, &l) in losses.iter().enumerate() {
                let stop = es.observe(e, l, 0.5) == Decision::Stop;
                let best = (0..=e).fold(0, |b, k| if losses[k] < losses[b] { k } else { b });
                proptest::prop_assert_eq!(es.best_epoch(), Some(best));
                proptest::prop_assert_eq!(stop, e - best >= patience);
                if stop {
                    break;
                }
            }
        }
    }

    #[test]
    fn non_finite_losses_never_improve() {
        let mut es = EarlyStopping::new(2, Monitor::Loss);
        assert_eq!(es.observe(0, f64::NAN, 0.5), Decision::Continue);
        assert_eq!(es.best_epoch(), None);
        assert_eq!(es.observe(1, 2.0, 0.5), Decision::Continue);
        assert_eq!(es.observe(2, f64::INFINITY, 0.5), Decision::Continue);
        assert_eq!(es.observe(3, f64::NAN, 0.5), Decision::Stop);
        assert_eq!(es.best_epoch(), Some(1));
    }

    proptest::proptest! {
        /// Watching the accuracy, the best epoch is the first argmax of the accuracies (ties
        /// keep the earlier epoch, whatever the losses do), and the run stops exactly
        /// `patience` epochs after it.
        #[test]
        fn accuracy_best_epoch_is_the_first_argmax(
            accs in proptest::collection::vec(0..10u32, 1..30),
            patience in 1..5usize,
        ) {
            let mut es = EarlyStopping::new(patience, Monitor::Accuracy);
            for (e, &a) in accs.iter().enumerate() {
                let stop = es.observe(e, 1.0 / (e as f64 + 1.0), f64::from(a) / 10.0) == Decision::Stop;
                let best = (0..=e).fold(0, |b, k| if accs[k] > accs[b] { k } else { b });
                proptest::prop_assert_eq!(es.best_epoch(), Some(best));
                proptest::prop_assert_eq!(stop, e - best >= patience);
                if stop {
                    break;
                }
            }
        }
    }

    #[test]
    fn monitor_names_round_trip() {
        for m in Monitor::ALL {
            assert_eq!(m.as_str().parse::<Monitor>(), Ok(m));
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
        assert!("val_loss".parse::<Monitor>().unwrap_err().contains("loss, accuracy"));
    }
}
