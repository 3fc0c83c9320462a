//! Both sides of the protocol in one process: the loop a transport would split in two.

use super::{EncryptedTrainError, StepReport, TrainingClient, TrainingServer};
use crate::plain::{Decision, LinearModel, Metrics};
use crate::softmax::Refresh;

/// One epoch of an encrypted run as the client sees it.
#[derive(Clone, Debug)]
pub struct EpochRecord {
    /// Epoch, from 1.
    pub epoch: usize,
    /// The server's report of every step.
    pub steps: Vec<StepReport>,
    /// Validation loss and accuracy from the decrypted validation logits.
    pub validation: Metrics,
    /// The client's answer.
    pub decision: Decision,
}

/// The result of [`run_in_process`].
#[derive(Clone, Debug)]
pub struct EncryptedRun {
    /// Every epoch run.
    pub epochs: Vec<EpochRecord>,
    /// The decrypted model of the best epoch.
    pub model: LinearModel,
    /// The best epoch (0: no epoch improved on nothing, which cannot happen with finite losses).
    pub best_epoch: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
}

/// Runs at most `max_epochs` epochs: per epoch the client encrypts each batch and the server
/// steps on it (`on_step` sees every report), then the server sends the validation logits and
/// the client answers. Ends on the client's stop or after `max_epochs`; returns the decrypted
/// model of the best epoch.
pub fn run_in_process<R: Refresh>(
    client: &mut TrainingClient,
    server: &mut TrainingServer<R>,
    max_epochs: usize,
    mut on_step: impl FnMut(&StepReport),
) -> Result<EncryptedRun, EncryptedTrainError> {
    let mut epochs = Vec::new();
    let mut stopped_early = false;
    for _ in 0..max_epochs {
        let batches = client.begin_epoch()?;
        let mut steps = Vec::with_capacity(batches);
        for index in 0..batches {
            let batch = client.encrypt_batch(index)?;
            let report = server.step(&batch)?;
            on_step(&report);
            steps.push(report);
        }
        let (answer, validation) = client.answer(&server.validation_outputs()?)?;
        let decision = server.answer(&answer)?;
        epochs.push(EpochRecord { epoch: answer.epoch, steps, validation, decision });
        if decision == Decision::Stop {
            stopped_early = true;
            break;
        }
    }
    let final_model = server.final_model();
    let model = client.decrypt_model(&final_model)?;
    Ok(EncryptedRun { epochs, model, best_epoch: final_model.epoch, stopped_early })
}
