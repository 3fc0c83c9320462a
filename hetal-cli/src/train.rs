//! `hetal train` (server): encrypted training on a job directory with the public bundle only.
//!
//! One call runs (the rest of) one epoch: every step is checkpointed atomically, and after the
//! last step the encrypted validation logits are written for the client. The next call first
//! applies the client's answer to that epoch (`hetal decrypt validation` writes it): on
//! "continue" it trains the next epoch, on "stop" it writes the encrypted model of the best
//! epoch and ends. `--resume` continues from the checkpoint, also after a crash mid-epoch.
//!
//! The server refuses a secret-key file, and reads nothing from the job's `client/` folder
//! except the client's answers.

use crate::bundle::PublicBundle;
use crate::files::{block_bytes, read_json, read_matrices, write_json, write_matrices, Binding, FileError};
use crate::global::Global;
use crate::job::{AnswerFile, JobManifest, JobPaths};
use crate::progress::Progress;
use crate::schedule::epoch_order;
use crate::task::bootstrapper;
use ckks_scheme::security::SecurityLevel;
use ckks_scheme::Evaluator;
use hetal_train::encrypted::{
    checkpoint, ClientAnswer, EncryptedBatch, EncryptedValidation, InitialModel, StepReport, TrainingServer,
};
use hetal_train::plain::Decision;
use hetal_train::softmax::BootstrapRefresh;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Options of `hetal train`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  hetal train --job job --keys keys/public.hbundle            # first epoch\n  hetal train --job job --keys keys/public.hbundle --resume   # after the client's answer, or a crash"
)]
pub struct TrainArgs {
    /// The job directory (from `hetal encrypt`).
    #[arg(long, default_value = "job")]
    pub job: PathBuf,
    /// The public bundle (from `hetal keygen`). A secret key is refused.
    #[arg(long, default_value = "keys/public.hbundle")]
    pub keys: PathBuf,
    /// Continue from the checkpoint in `job/server/` (needed whenever one exists).
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many steps in this call (the checkpoint keeps them; `--resume` goes on).
    #[arg(long)]
    pub max_steps: Option<usize>,
}

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

/// Runs `hetal train`.
pub fn run(args: &TrainArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let paths = JobPaths(args.job.clone());
    let _lock = paths.lock()?;
    let job = JobManifest::read(&args.job)?;
    let binding = job.binding();
    let spin = Progress::spinner(g, "loading the public bundle");
    let t_load = Instant::now();
    let bundle = PublicBundle::read(&args.keys)?;
    if bundle.params.builder().name != job.parameters || bundle.task != job.task {
        return Err(format!(
            "the bundle {} was made for {} / {:?}, but the job is {} / {:?}",
            args.keys.display(),
            bundle.params.builder().name,
            bundle.task,
            job.parameters,
            job.task
        )
        .into());
    }
    if bundle.key != job.key {
        return Err(
            FileError::Mismatch { path: args.keys.clone(), what: "key", expected: job.key, found: bundle.key }.into()
        );
    }
    let params = bundle.params.clone();
    let setup = job.task.setup(&params, job.data_level, &job.hyper)?;
    spin.message("building the bootstrapping circuit".into());
    let boot = bootstrapper(&params)?;
    if boot.output_level() != job.data_level {
        return Err(format!(
            "the job's data level {} is not bootstrapping's output level {}",
            job.data_level,
            boot.output_level()
        )
        .into());
    }
    let keys = Arc::new(bundle.keys);
    let refresh = BootstrapRefresh::new(Evaluator::new(keys.clone()), boot, bundle.bootstrap)?;
    let eval = Evaluator::new(keys);
    let mut val = read_matrices(&paths.val(), &params, &binding)?;
    let validation = EncryptedValidation { x: val.take(&paths.val(), "x")? };
    let ckpt = paths.checkpoint();
    std::fs::create_dir_all(paths.server()).map_err(|source| FileError::Io { path: paths.server(), source })?;
    let mut report: TrainReport = if paths.report().exists() {
        read_json(&paths.report(), "training report")?
    } else {
        TrainReport { preset: job.preset.name().into(), ..Default::default() }
    };
    let mut server = if ckpt.exists() {
        if !args.resume {
            return Err(format!(
                "{} exists (a run in progress): pass --resume to continue it, or remove {} to start over",
                ckpt.display(),
                paths.server().display()
            )
            .into());
        }
        let state = checkpoint::load(&ckpt, &params, &binding)?;
        TrainingServer::resume(eval, refresh, setup, validation, state)?
    } else {
        let mut init = read_matrices(&paths.init(), &params, &binding)?;
        let w = init.take(&paths.init(), "w")?;
        report = TrainReport { preset: job.preset.name().into(), ..Default::default() };
        TrainingServer::new(eval, refresh, setup, InitialModel { w }, validation)?
    };
    spin.finish();
    if g.verbose {
        writeln!(out, "loaded keys and job in {:.1} s", t_load.elapsed().as_secs_f64())?;
    }
    if params.security() == SecurityLevel::Insecure && g.text() {
        writeln!(out, "WARNING: the bundle's parameters ({}) are INSECURE (tests only)", params.builder().name)?;
    }
    let n = job.batches;
    let finish = |server: &TrainingServer<BootstrapRefresh>, report: &mut TrainReport| -> Result<(), FileError> {
        let model = server.final_model();
        write_matrices(
            &paths.model(),
            binding,
            &[("w", model.w.layout(), block_bytes(&model.w).map_err(|e| FileError::scheme(&paths.model(), e))?)],
            [("role".to_string(), "model".into()), ("epoch".to_string(), model.epoch.into())].into_iter().collect(),
        )?;
        report.finished = true;
        report.best_epoch = model.epoch;
        report.epochs_answered = server.state().epoch;
        write_json(&paths.report(), report, false)
    };
    if server.state().stopped {
        finish(&server, &mut report)?;
        writeln!(out, "training has ended; the encrypted model is {}", paths.model().display())?;
        return Ok(());
    }

    // An epoch whose steps are all done waits for the client's answer.
    let in_epoch = |s: &hetal_train::encrypted::ServerState| {
        steps_done_in_epoch(s.step, s.epoch, n).ok_or_else(|| {
            format!(
                "{}: step {} and epoch {} do not fit a job of {n} batches per epoch",
                ckpt.display(),
                s.step,
                s.epoch
            )
        })
    };
    let done_in_epoch = in_epoch(server.state())?;
    if done_in_epoch == n {
        let epoch = server.state().epoch + 1;
        if !paths.validation(epoch).exists() {
            write_validation(&server, &paths, binding, epoch, &mut report)?;
        }
        let answer_path = paths.answer(epoch);
        if !answer_path.exists() {
            writeln!(
                out,
                "epoch {epoch} is done; waiting for the client's answer {} (client: `hetal decrypt validation`)",
                answer_path.display()
            )?;
            return Ok(());
        }
        let a: AnswerFile = read_json(&answer_path, "client answer")?;
        let decision = match a.decision.as_str() {
            "continue" => Decision::Continue,
            "stop" => Decision::Stop,
            d => return Err(format!("{}: decision '{d}' is neither continue nor stop", answer_path.display()).into()),
        };
        let decision = server.answer(&ClientAnswer { epoch: a.epoch, decision, best_so_far: a.best_so_far })?;
        report.epochs_answered = server.state().epoch;
        report.answers.push(a);
        checkpoint::save(&ckpt, server.state(), binding)?;
        if decision == Decision::Stop || server.state().epoch >= job.hyper.max_epochs {
            finish(&server, &mut report)?;
            if g.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "finished": true, "best_epoch": report.best_epoch,
                    "model": paths.model(), "bootstraps": report.bootstraps(), "seconds": report.seconds() })
                )?;
            } else if !g.quiet {
                writeln!(
                    out,
                    "training ended after epoch {} (client's answer); model of epoch {} written to {} \
                     ({} bootstraps, {:.1} s of server time)",
                    server.state().epoch,
                    report.best_epoch,
                    paths.model().display(),
                    report.bootstraps(),
                    report.seconds()
                )?;
            }
            return Ok(());
        }
        write_json(&paths.report(), &report, false)?;
    }

    // Train (the rest of) the current epoch.
    let epoch = server.state().epoch + 1;
    let order = epoch_order(n, job.shuffle_seed, epoch);
    // Recomputed: an answer applied above moved the state into the next epoch.
    let start_pos = in_epoch(server.state())?;
    let bar = Progress::bar(g, n as u64, &format!("epoch {epoch}"));
    bar.set(start_pos as u64);
    for (steps_here, (pos, &b)) in order.iter().enumerate().skip(start_pos).enumerate() {
        if args.max_steps.is_some_and(|m| steps_here >= m) {
            bar.finish();
            writeln!(out, "stopped after {steps_here} steps (--max-steps); continue with --resume")?;
            return Ok(());
        }
        let path = paths.batch(b);
        let mut f = read_matrices(&path, &params, &binding)?;
        let batch = EncryptedBatch { epoch, index: pos, x: f.take(&path, "x")?, y: f.take(&path, "y")? };
        let r = server.step(&batch)?;
        checkpoint::save(&ckpt, server.state(), binding)?;
        let rec = record(&r, pos, b);
        bar.message(format!("{} bootstraps, {:.1} s/step", rec.bootstraps.iter().sum::<usize>(), rec.seconds[0]));
        bar.inc();
        if g.verbose {
            writeln!(out, "{}", step_line(&rec))?;
        }
        report.steps.push(rec);
        write_json(&paths.report(), &report, false)?;
    }
    bar.finish();
    write_validation(&server, &paths, binding, epoch, &mut report)?;
    let epoch_steps: Vec<&StepRecord> = report.steps.iter().filter(|s| s.epoch == epoch).collect();
    let secs: f64 = epoch_steps.iter().map(|s| s.seconds[0]).sum();
    let boots: usize = epoch_steps.iter().map(|s| s.bootstraps.iter().sum::<usize>()).sum();
    if g.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "epoch": epoch, "steps": epoch_steps.len(), "seconds": secs,
            "bootstraps": boots, "validation": paths.validation(epoch), "waiting_for": paths.answer(epoch) })
        )?;
    } else if !g.quiet {
        writeln!(
            out,
            "epoch {epoch}: {} steps in {secs:.1} s ({boots} bootstraps); validation outputs {}\n\
             next: the client runs `hetal decrypt validation`, then `hetal train --resume`",
            epoch_steps.len(),
            paths.validation(epoch).display()
        )?;
    }
    Ok(())
}

/// Steps done in the current epoch: `step - epoch * n`, which must lie in `0..=n` (a checkpoint
/// of another job could say anything).
fn steps_done_in_epoch(step: usize, epoch: usize, n: usize) -> Option<usize> {
    step.checked_sub(epoch.checked_mul(n)?).filter(|&d| d <= n)
}

/// Writes the encrypted validation logits of `epoch`.
fn write_validation(
    server: &TrainingServer<BootstrapRefresh>,
    paths: &JobPaths,
    binding: Binding,
    epoch: usize,
    report: &mut TrainReport,
) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let v = server.validation_outputs()?;
    let path = paths.validation(epoch);
    let meta = [("role".to_string(), "validation outputs".into()), ("epoch".to_string(), epoch.into())];
    write_matrices(
        &path,
        binding,
        &[("logits", v.logits.layout(), block_bytes(&v.logits)?)],
        meta.into_iter().collect(),
    )?;
    report.validation_seconds.push(t.elapsed().as_secs_f64());
    write_json(&paths.report(), report, false)?;
    Ok(())
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
