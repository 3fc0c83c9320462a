//! The server's session: the epoch state machine of encrypted training on a job directory,
//! with the public bundle only.
//!
//! [`ServerSession::open`] checks the bundle against the job (task, parameters, key
//! fingerprint, levels), loads the encrypted validation set, and resumes from the checkpoint or
//! starts from the initial weights. [`ServerSession::advance`] then does what the job's state
//! calls for: apply the client's answer to a finished epoch (and end training on "stop" or at
//! the epoch limit, writing the best epoch's encrypted model), or train (the rest of) the
//! current epoch, one checkpoint after every step, and write its encrypted validation outputs
//! for the client. It reads nothing from the job's `client/` folder except the answers.

use super::error::ProtocolError;
use super::job::{AnswerFile, JobManifest, JobPaths};
use super::keys::PublicBundle;
use super::report::{record, StepRecord, TrainReport};
use super::task::{job_bootstrapper, sparse_bootstrapper};
use crate::encrypted::{
    checkpoint, ClientAnswer, EncryptedBatch, EncryptedValidation, InitialModel, ServerState, TrainingServer,
};
use crate::plain::Decision;
use crate::schedule::epoch_order;
use crate::softmax::BootstrapRefresh;
use crate::store::{
    block_bytes, read_json, read_matrices, write_json, write_matrices, Binding, FileError, Fingerprint,
};
use ckks_scheme::{Evaluator, Parameters};
use hetal_linalg::EncryptedMatrix;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What a call to [`ServerSession::advance`] ended with.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// An epoch's steps are done and its encrypted validation outputs written; the client's
    /// answer is awaited at `answer`.
    AwaitingAnswer {
        /// The epoch (from 1).
        epoch: usize,
        /// Steps trained in this call (0 if the epoch was already done).
        steps: usize,
        /// Server seconds of this epoch's steps, and bootstraps in them.
        seconds: f64,
        /// Bootstraps of this epoch's steps.
        bootstraps: usize,
        /// Bootstraps per step, averaged over every step of the epoch (also those of earlier
        /// calls).
        bootstraps_per_step: f64,
        /// The encrypted validation outputs for the client.
        validation: PathBuf,
        /// Where the client's answer is expected.
        answer: PathBuf,
    },
    /// `max_steps` were trained; the checkpoint holds them.
    Paused {
        /// Steps trained in this call.
        steps: usize,
    },
    /// Training has ended (the client said stop, or the epoch limit was reached); the best
    /// epoch's encrypted model is at `model`.
    Finished {
        /// The last epoch trained.
        epoch: usize,
        /// The epoch of the model.
        best_epoch: usize,
        /// The encrypted model.
        model: PathBuf,
        /// Bootstraps of the whole run.
        bootstraps: usize,
        /// Bootstraps per step, averaged over the whole run.
        bootstraps_per_step: f64,
        /// Server seconds of the whole run.
        seconds: f64,
        /// Whether it had ended before this call.
        already: bool,
    },
}

/// Progress of [`ServerSession::advance`], for front ends.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// Training of `epoch` goes on from step `done` of `total`.
    Epoch {
        /// The epoch.
        epoch: usize,
        /// Steps done before this call.
        done: usize,
        /// Steps in the epoch.
        total: usize,
    },
    /// A step is done.
    Step(&'a StepRecord),
}

/// The server's side of one job, open and locked.
pub struct ServerSession {
    paths: JobPaths,
    job: JobManifest,
    binding: Binding,
    params: Parameters,
    server: TrainingServer<BootstrapRefresh>,
    report: TrainReport,
}

/// `server` with the compact softmax when `sparse` (its refresher) is given.
fn compact(
    server: TrainingServer<BootstrapRefresh>,
    sparse: Option<BootstrapRefresh>,
) -> Result<TrainingServer<BootstrapRefresh>, ProtocolError> {
    Ok(match sparse {
        Some(refresh) => server.with_compact_softmax(refresh)?,
        None => server,
    })
}

/// Steps done in the current epoch: `step - epoch * n`, which must lie in `0..=n` (a checkpoint
/// of another job could say anything).
fn steps_done_in_epoch(step: usize, epoch: usize, n: usize) -> Option<usize> {
    step.checked_sub(epoch.checked_mul(n)?).filter(|&d| d <= n)
}

impl ServerSession {
    /// Opens the job at `dir` with `bundle`. A checkpoint in progress needs `resume`; without
    /// one, training starts from the job's initial weights. The job is locked while it is
    /// read, and again during each [`Self::advance`], not in between, so that the client can
    /// answer in the same process (the demo).
    pub fn open(dir: PathBuf, bundle: PublicBundle, resume: bool) -> Result<Self, ProtocolError> {
        let paths = JobPaths(dir);
        let lock = paths.lock()?;
        let job = JobManifest::read(&paths.0)?;
        let binding = job.binding();
        if bundle.params.builder().name != job.parameters || bundle.task != job.task {
            return Err(ProtocolError::mismatch(format!(
                "the bundle {} was made for {} / {:?}, but the job is {} / {:?}",
                bundle.origin.display(),
                bundle.params.builder().name,
                bundle.task,
                job.parameters,
                job.task
            )));
        }
        if bundle.key != job.key {
            return Err(
                FileError::Mismatch { path: bundle.origin, what: "key", expected: job.key, found: bundle.key }.into()
            );
        }
        let params_fp = Fingerprint::of_parameters(&bundle.params)?;
        if params_fp != job.params {
            let (expected, found) = (job.params, params_fp);
            return Err(FileError::Mismatch { path: bundle.origin, what: "parameters", expected, found }.into());
        }
        let params = bundle.params.clone();
        let mut setup = job.task.setup(&params, job.data_level, &job.hyper)?;
        setup.softmax_id = job.softmax;
        if bundle.preset != job.preset {
            return Err(ProtocolError::mismatch(format!(
                "the bundle {} was made for preset {}, but the job is {}: their bootstrapping circuits need other \
                 keys; make the keys and the job with the same --preset",
                bundle.origin.display(),
                bundle.preset.name(),
                job.preset.name()
            )));
        }
        let boot = job_bootstrapper(job.preset, &params, job.data_level)?.ok_or_else(|| {
            ProtocolError::mismatch(format!(
                "the job's data level {} is no bootstrapping order's output level under {}",
                job.data_level,
                job.preset.name()
            ))
        })?;
        bundle.check_rotation_levels(&setup.rotation_steps()?, job.data_level)?;
        bundle.check_bootstrap_keys(&boot)?;
        // The compact softmax's circuit (sparse slots), checked like the full one.
        let sparse = if job.task.compact_softmax {
            let sparse = sparse_bootstrapper(&params, &boot, &setup)?;
            bundle.check_rotation_levels(&setup.compact_rotation_steps(&params)?, job.data_level)?;
            bundle.check_bootstrap_keys(&sparse)?;
            Some(sparse)
        } else {
            None
        };
        let keys = Arc::new(bundle.keys);
        let sparse = sparse
            .map(|b| BootstrapRefresh::new(Evaluator::new(keys.clone()), b, bundle.bootstrap.clone()))
            .transpose()?;
        let refresh = BootstrapRefresh::new(Evaluator::new(keys.clone()), boot, bundle.bootstrap)?;
        let eval = Evaluator::new(keys);
        let mut val = read_matrices(&paths.val(), &params, &binding)?;
        let validation = EncryptedValidation { x: val.take(&paths.val(), "x")? };
        let ckpt = paths.checkpoint();
        std::fs::create_dir_all(paths.server()).map_err(|e| FileError::io(&paths.server(), e))?;
        let fresh = TrainReport { preset: job.preset.name().into(), ..Default::default() };
        let (server, report) = if ckpt.exists() {
            if !resume {
                return Err(ProtocolError::usage(format!(
                    "{} exists (a run in progress): pass --resume to continue it, or remove {} to start over",
                    ckpt.display(),
                    paths.server().display()
                )));
            }
            let state = checkpoint::load(&ckpt, &params, &binding)?;
            let report = if paths.report().exists() { read_json(&paths.report(), "training report")? } else { fresh };
            (compact(TrainingServer::resume(eval, refresh, setup, validation, state)?, sparse)?, report)
        } else {
            // No checkpoint: a report left by an interrupted first step is stale.
            if paths.report().exists() {
                std::fs::remove_file(paths.report()).map_err(|e| FileError::io(&paths.report(), e))?;
            }
            let mut init = read_matrices(&paths.init(), &params, &binding)?;
            let w = init.take(&paths.init(), "w")?;
            (compact(TrainingServer::new(eval, refresh, setup, InitialModel { w }, validation)?, sparse)?, fresh)
        };
        drop(lock);
        let session = Self { paths, job, binding, params, server, report };
        session.steps_in_epoch(session.server.state())?;
        Ok(session)
    }

    /// The job's manifest.
    pub fn job(&self) -> &JobManifest {
        &self.job
    }

    /// The parameters of the bundle.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// The report so far.
    pub fn report(&self) -> &TrainReport {
        &self.report
    }

    /// The job's paths.
    pub fn paths(&self) -> &JobPaths {
        &self.paths
    }

    /// Refuses to go on if another process trained this job since the session read it: the
    /// report on disk must have the steps and answers this session knows.
    fn check_unmoved(&self) -> Result<(), ProtocolError> {
        if !self.paths.report().exists() {
            return Ok(());
        }
        let disk: TrainReport = read_json(&self.paths.report(), "training report")?;
        if (disk.steps.len(), disk.answers.len()) != (self.report.steps.len(), self.report.answers.len()) {
            return Err(ProtocolError::usage(format!(
                "{}: another process trained this job since this session opened it ({} steps and {} answers on \
                 disk, {} and {} here); open it again",
                self.paths.0.display(),
                disk.steps.len(),
                disk.answers.len(),
                self.report.steps.len(),
                self.report.answers.len()
            )));
        }
        Ok(())
    }

    fn steps_in_epoch(&self, s: &ServerState) -> Result<usize, ProtocolError> {
        let n = self.job.batches;
        steps_done_in_epoch(s.step, s.epoch, n).ok_or_else(|| {
            ProtocolError::from(FileError::format(
                &self.paths.checkpoint(),
                format!("step {} and epoch {} do not fit a job of {n} batches per epoch", s.step, s.epoch),
            ))
        })
    }

    fn save(&self) -> Result<(), ProtocolError> {
        checkpoint::save(&self.paths.checkpoint(), self.server.state(), self.binding)?;
        Ok(())
    }

    fn write_report(&self) -> Result<(), ProtocolError> {
        Ok(write_json(&self.paths.report(), &self.report, false)?)
    }

    /// Writes the best epoch's encrypted model and marks the report finished.
    fn finish(&mut self, already: bool) -> Result<Outcome, ProtocolError> {
        let model = self.server.final_model();
        let path = self.paths.model();
        let blocks = block_bytes(&model.w).map_err(|e| FileError::scheme(&path, e))?;
        let meta = [("role".to_string(), "model".into()), ("epoch".to_string(), model.epoch.into())];
        write_matrices(&path, self.binding, &[("w", model.w.layout(), blocks)], meta.into_iter().collect())?;
        self.report.finished = true;
        self.report.best_epoch = model.epoch;
        self.report.epochs_answered = self.server.state().epoch;
        self.write_report()?;
        Ok(Outcome::Finished {
            epoch: self.server.state().epoch,
            best_epoch: model.epoch,
            model: path,
            bootstraps: self.report.bootstraps(),
            bootstraps_per_step: self.report.bootstraps_per_step(None),
            seconds: self.report.seconds(),
            already,
        })
    }

    /// Writes the encrypted validation logits of `epoch`.
    fn write_validation(&mut self, epoch: usize) -> Result<(), ProtocolError> {
        let t = Instant::now();
        let v = self.server.validation_outputs()?;
        let path = self.paths.validation(epoch);
        let blocks = block_bytes(&v.logits).map_err(|e| FileError::scheme(&path, e))?;
        let meta = [("role".to_string(), "validation outputs".into()), ("epoch".to_string(), epoch.into())];
        write_matrices(&path, self.binding, &[("logits", v.logits.layout(), blocks)], meta.into_iter().collect())?;
        self.report.validation_seconds.push(t.elapsed().as_secs_f64());
        self.write_report()
    }

    fn awaiting(&self, epoch: usize, steps: usize) -> Outcome {
        let epoch_steps: Vec<&StepRecord> = self.report.steps.iter().filter(|s| s.epoch == epoch).collect();
        Outcome::AwaitingAnswer {
            epoch,
            steps,
            seconds: epoch_steps.iter().map(|s| s.seconds[0]).sum(),
            bootstraps: epoch_steps.iter().map(|s| s.bootstraps.iter().sum::<usize>()).sum(),
            bootstraps_per_step: self.report.bootstraps_per_step(Some(epoch)),
            validation: self.paths.validation(epoch),
            answer: self.paths.answer(epoch),
        }
    }

    /// Advances the job as far as it can without the client: applies a waiting answer, then
    /// trains (the rest of) the current epoch, at most `max_steps` steps, reporting each step to
    /// `progress`.
    pub fn advance(
        &mut self,
        max_steps: Option<usize>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Outcome, ProtocolError> {
        let _lock = self.paths.lock()?;
        self.check_unmoved()?;
        if self.server.state().stopped {
            return self.finish(true);
        }
        let n = self.job.batches;
        if self.steps_in_epoch(self.server.state())? == n {
            // An epoch whose steps are all done waits for the client's answer.
            let epoch = self.server.state().epoch + 1;
            if !self.paths.validation(epoch).exists() {
                self.write_validation(epoch)?;
            }
            let answer_path = self.paths.answer(epoch);
            if !answer_path.exists() {
                return Ok(self.awaiting(epoch, 0));
            }
            let a: AnswerFile = read_json(&answer_path, "client answer")?;
            let decision = a.decision().ok_or_else(|| {
                FileError::format(&answer_path, format!("decision '{}' is neither continue nor stop", a.decision))
            })?;
            let decision =
                self.server.answer(&ClientAnswer { epoch: a.epoch, decision, best_so_far: a.best_so_far })?;
            self.report.epochs_answered = self.server.state().epoch;
            tracing::info!(epoch, decision = a.decision.as_str(), "client's answer applied");
            self.report.answers.push(a);
            self.save()?;
            if decision == Decision::Stop || self.server.state().epoch >= self.job.hyper.max_epochs {
                return self.finish(false);
            }
            self.write_report()?;
        }

        // Train (the rest of) the current epoch. Beside each step, a thread writes the previous
        // step's checkpoint and another reads the next batch: at the secure preset these are
        // seconds of disk and checksum work per step that would otherwise stop both cores. A
        // step counts as done (report, progress) once its checkpoint is on disk, so an
        // interruption loses at most the steps in flight, which `--resume` redoes.
        let epoch = self.server.state().epoch + 1;
        let order = epoch_order(self.job.shuffle_seed, n, epoch);
        let start = self.steps_in_epoch(self.server.state())?;
        progress(Progress::Epoch { epoch, done: start, total: n });
        let (paths, params, binding) = (&self.paths, &self.params, self.binding);
        let (server, report) = (&mut self.server, &mut self.report);
        let read = |b: usize| -> Result<(EncryptedMatrix, EncryptedMatrix), FileError> {
            let path = paths.batch(b);
            let mut f = read_matrices(&path, params, &binding)?;
            Ok((f.take(&path, "x")?, f.take(&path, "y")?))
        };
        let paused = std::thread::scope(|scope| -> Result<Option<usize>, ProtocolError> {
            let mut next = None;
            let mut pending: Option<PendingStep<'_>> = None;
            let mut settle = |pending: Option<PendingStep<'_>>| -> Result<(), ProtocolError> {
                let Some((handle, rec)) = pending else { return Ok(()) };
                joined(handle)?;
                tracing::info!(
                    epoch,
                    step = rec.position + 1,
                    of = n,
                    seconds = rec.seconds[0],
                    bootstraps = rec.bootstraps.iter().sum::<usize>(),
                    "step done"
                );
                progress(Progress::Step(&rec));
                report.steps.push(rec);
                Ok(write_json(&paths.report(), &*report, false)?)
            };
            for (steps_here, (pos, &b)) in order.iter().enumerate().skip(start).enumerate() {
                if max_steps.is_some_and(|m| steps_here >= m) {
                    settle(pending.take())?;
                    return Ok(Some(steps_here));
                }
                let batch = match next.take() {
                    Some(h) => joined(h),
                    None => read(b),
                };
                let prefetch = order.get(pos + 1).filter(|_| max_steps.is_none_or(|m| steps_here + 1 < m));
                next = prefetch.map(|&b| scope.spawn(move || read(b)));
                let stepped = batch.map_err(ProtocolError::from).and_then(|(x, y)| {
                    let r = server.step(&EncryptedBatch { epoch, index: pos, x, y })?;
                    let ckpt = checkpoint::container(&paths.checkpoint(), server.state(), binding)?;
                    Ok((r, ckpt))
                });
                // The previous step settles whatever this one did: an error here loses
                // nothing that reached the disk.
                let settled = settle(pending.take());
                let (r, ckpt) = stepped?;
                settled?;
                let path = paths.checkpoint();
                pending = Some((scope.spawn(move || ckpt.write(&path, false).map(|_| ())), record(&r, pos, b)));
            }
            settle(pending.take())?;
            Ok(None)
        })?;
        if let Some(steps) = paused {
            return Ok(Outcome::Paused { steps });
        }
        self.write_validation(epoch)?;
        Ok(self.awaiting(epoch, n - start))
    }
}

/// A step whose checkpoint a thread is writing, with its record for the report.
type PendingStep<'s> = (std::thread::ScopedJoinHandle<'s, Result<(), FileError>>, StepRecord);

/// The value of a finished scoped thread; a panic in it goes on in the caller.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use super::steps_done_in_epoch;

    #[test]
    fn steps_in_an_epoch_never_wrap() {
        assert_eq!(steps_done_in_epoch(7, 1, 5), Some(2));
        assert_eq!(steps_done_in_epoch(10, 1, 5), Some(5));
        // A checkpoint of another job: fewer steps than its epochs, or more than one epoch ahead.
        assert_eq!(steps_done_in_epoch(3, 1, 5), None);
        assert_eq!(steps_done_in_epoch(11, 1, 5), None);
        assert_eq!(steps_done_in_epoch(0, usize::MAX, 5), None);
    }
}
