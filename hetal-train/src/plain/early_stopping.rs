//! Client-side early stopping (spec section 1): the client decrypts the validation outputs
//! after each epoch, computes the validation loss and answers stop or continue. It is a
//! separate type from anything the server holds; the server learns only the answers.

/// The client's answer after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Train another epoch.
    Continue,
    /// Stop; the model of [`EarlyStopping::best_epoch`] is the result.
    Stop,
}

/// Patience-based early stopping on the validation loss: stop once `patience` epochs in a row
/// brought no improvement over the best loss so far. Keeps the best epoch and loss.
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    patience: usize,
    best: Option<(usize, f64)>,
    since_best: usize,
}

impl Default for EarlyStopping {
    /// Patience 3, the paper's default.
    fn default() -> Self {
        Self::new(3)
    }
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement (`patience = 0` behaves like 1).
    pub fn new(patience: usize) -> Self {
        Self { patience: patience.max(1), best: None, since_best: 0 }
    }

    /// Records the validation loss of `epoch` and decides. A loss improves when it is strictly
    /// below the best so far; a non-finite loss never improves.
    pub fn observe(&mut self, epoch: usize, val_loss: f64) -> Decision {
        let improves = val_loss.is_finite() && self.best.is_none_or(|(_, best)| val_loss < best);
        if improves {
            self.best = Some((epoch, val_loss));
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

    /// The epoch with the lowest validation loss so far, if any.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.map(|(e, _)| e)
    }

    /// The lowest validation loss so far, if any.
    pub fn best_loss(&self) -> Option<f64> {
        self.best.map(|(_, l)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let mut es = EarlyStopping::default();
        let losses = [1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.7];
        let decisions: Vec<Decision> = losses.iter().enumerate().map(|(e, &l)| es.observe(e, l)).collect();
        assert_eq!(decisions[..6], [Decision::Continue; 6]);
        assert_eq!(decisions[6], Decision::Stop);
        assert_eq!((es.best_epoch(), es.best_loss()), (Some(3), Some(0.7)));
    }

    proptest::proptest! {
        /// The best epoch is the first argmin of the losses seen, and the run stops exactly
        /// `patience` epochs after it.
        #[test]
        fn best_epoch_is_the_argmin(losses in proptest::collection::vec(0.0..10.0f64, 1..30), patience in 1..5usize) {
            let mut es = EarlyStopping::new(patience);
            for (e, &l) in losses.iter().enumerate() {
                let stop = es.observe(e, l) == Decision::Stop;
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
        let mut es = EarlyStopping::new(2);
        assert_eq!(es.observe(0, f64::NAN), Decision::Continue);
        assert_eq!(es.best_epoch(), None);
        assert_eq!(es.observe(1, 2.0), Decision::Continue);
        assert_eq!(es.observe(2, f64::INFINITY), Decision::Continue);
        assert_eq!(es.observe(3, f64::NAN), Decision::Stop);
        assert_eq!(es.best_epoch(), Some(1));
    }
}
