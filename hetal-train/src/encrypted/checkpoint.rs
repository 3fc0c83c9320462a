//! Resumable training: the server's [`ServerState`] (encrypted weights, momentum and best
//! model, epoch, step, `lambda`) in a [`FileKind::Checkpoint`] container of the file store,
//! written atomically and checksummed, bound to the key and the job it was made for.
//!
//! Metadata: `epoch`, `step`, `lambda`, `stopped`, `best_epoch` and the layouts of `w`, `v`,
//! `best`; parts: their blocks (`Ciphertext::to_bytes`, each with its own header naming the
//! parameters, so loading under other parameters fails). The client's side of a resume is its
//! seed and epoch: its ChaCha20 stream is replayed by [`super::TrainingClient`] drawing the
//! same permutations.

use super::{EncryptedModel, EncryptedTrainError, ServerState};
use crate::plain::NesterovSchedule;
use crate::store::matrices::{block_bytes, matrices_container, matrices_of};
use crate::store::{Binding, Container, FileError, FileKind, ReadContainer};
use ckks_scheme::Parameters;
use std::path::Path;

/// Writes `state` to `path` atomically, bound to `binding`: `path` is either the old file or
/// the complete new one.
pub fn save(path: &Path, state: &ServerState, binding: Binding) -> Result<(), EncryptedTrainError> {
    container(path, state, binding)?.write(path, false)?;
    Ok(())
}

/// The checkpoint of `state` as a container in memory (the ciphertexts serialised now), for
/// [`save`] or for a caller that writes it (`Container::write`) while it goes on computing:
/// the server overlaps each step's checkpoint with the next step. `path` only names the file
/// in errors.
pub fn container(path: &Path, state: &ServerState, binding: Binding) -> Result<Container, EncryptedTrainError> {
    let bytes = |m| block_bytes(m).map_err(|e| FileError::scheme(path, e));
    let meta = serde_json::json!({
        "epoch": state.epoch,
        "step": state.step,
        "lambda": state.schedule.lambda(),
        "stopped": state.stopped,
        "best_epoch": state.best.epoch,
    });
    let serde_json::Value::Object(meta) = meta else { unreachable!("a JSON object literal") };
    let matrices = [
        ("w", state.w.layout(), bytes(&state.w)?),
        ("v", state.v.layout(), bytes(&state.v)?),
        ("best", state.best.w.layout(), bytes(&state.best.w)?),
    ];
    Ok(matrices_container(FileKind::Checkpoint, binding, &matrices, meta))
}

/// Reads a state written by [`save`], its ciphertexts under `params`; refuses a checkpoint of
/// another key or job than `binding`, a damaged one (checksum), and counters that do not fit
/// together.
pub fn load(path: &Path, params: &Parameters, binding: &Binding) -> Result<ServerState, EncryptedTrainError> {
    let read = || -> Result<ServerState, FileError> {
        let c = ReadContainer::read(path, FileKind::Checkpoint)?;
        c.check_binding(path, binding)?;
        let epoch: usize = c.meta_field(path, "epoch")?;
        let step: usize = c.meta_field(path, "step")?;
        let lambda: f64 = c.meta_field(path, "lambda")?;
        let stopped: bool = c.meta_field(path, "stopped")?;
        let best_epoch: usize = c.meta_field(path, "best_epoch")?;
        if !(lambda.is_finite() && lambda >= 1.0) {
            return Err(FileError::format(path, format!("lambda {lambda} is not a value of the schedule")));
        }
        if best_epoch > epoch {
            return Err(FileError::format(path, format!("best epoch {best_epoch} after the epoch {epoch}")));
        }
        let mut f = matrices_of(path, &c, params)?;
        let (w, v, best) = (f.take(path, "w")?, f.take(path, "v")?, f.take(path, "best")?);
        Ok(ServerState {
            w,
            v,
            epoch,
            step,
            schedule: NesterovSchedule::resume(lambda),
            best: EncryptedModel { epoch: best_epoch, w: best },
            stopped,
        })
    };
    Ok(read()?)
}
