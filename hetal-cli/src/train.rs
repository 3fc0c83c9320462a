//! `hetal train` (server): encrypted training on a job directory with the public bundle only,
//! through [`hetal_train::protocol::server::ServerSession`].
//!
//! One call runs (the rest of) one epoch: every step is checkpointed atomically, and after the
//! last step the encrypted validation logits are written for the client. The next call first
//! applies the client's answer to that epoch (`hetal decrypt validation` writes it): on
//! "continue" it trains the next epoch, on "stop" it writes the encrypted model of the best
//! epoch and ends. `--resume` continues from the checkpoint, also after a crash mid-epoch.
//!
//! With `--follow` one call keeps the keys loaded and runs every epoch: after writing an
//! epoch's validation outputs it waits for the client's answer file to appear, applies it and
//! goes on, until the client says stop. Loading the public bundle costs tens of seconds at the
//! secure preset (44 s for the 4 GB Face Mask bundle), which `--follow` pays once per run
//! instead of once per epoch. Interrupting it loses nothing: every step is checkpointed.
//!
//! The server refuses a secret-key file, and reads nothing from the job's `client/` folder
//! except the client's answers.

use crate::global::Global;
use crate::progress::Progress;
use ckks_scheme::security::SecurityLevel;
use hetal_train::protocol::job::{JobManifest, JobPaths};
use hetal_train::protocol::keys::PublicBundle;
use hetal_train::protocol::memory::{job_memory_estimate, total_memory};
use hetal_train::protocol::report::step_line;
use hetal_train::protocol::server::{Outcome, Progress as Event, ServerSession};
use hetal_train::protocol::ProtocolError;
use hetal_train::store::FileError;
use std::io::Write;
use std::path::PathBuf;
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
    /// Keep running across epochs: after each epoch wait for the client's answer file (polled
    /// every `--poll` seconds), apply it and go on, until the client says stop. The keys are
    /// loaded once.
    #[arg(long, conflicts_with = "max_steps")]
    pub follow: bool,
    /// Seconds between looks for the client's answer with `--follow`.
    #[arg(long, default_value_t = 2.0, value_parser = positive_seconds)]
    pub poll: f64,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds in (0, 3600]")),
    }
}

/// Runs `hetal train`.
pub fn run(args: &TrainArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    if g.text() {
        memory_note(args, g, out)?;
    }
    let spin = Progress::spinner(g, "loading the public bundle");
    let t_load = Instant::now();
    let bundle = PublicBundle::read(&args.keys)?;
    spin.message("building the bootstrapping circuit".into());
    let mut session = ServerSession::open(args.job.clone(), bundle, args.resume)?;
    spin.finish();
    if g.verbose {
        writeln!(out, "loaded keys and job in {:.1} s", t_load.elapsed().as_secs_f64())?;
    }
    if session.params().security() == SecurityLevel::Insecure && g.text() {
        writeln!(
            out,
            "WARNING: the bundle's parameters ({}) are INSECURE (tests only)",
            session.params().builder().name
        )?;
    }
    loop {
        let outcome = match advance_once(&mut session, args, g, out) {
            // The client may still hold the job's lock for the moment after its answer appears.
            Err(e) if args.follow && is_busy(e.as_ref()) => {
                std::thread::sleep(std::time::Duration::from_secs_f64(args.poll));
                continue;
            }
            r => r?,
        };
        let waiting = match outcome {
            Outcome::AwaitingAnswer { answer, .. } if args.follow => answer,
            _ => return Ok(()),
        };
        if g.text() {
            writeln!(out, "waiting for the client's answer {} (--follow)", waiting.display())?;
        }
        while !waiting.exists() {
            std::thread::sleep(std::time::Duration::from_secs_f64(args.poll));
        }
    }
}

/// Says, before anything large is loaded, what the session will need in memory
/// ([`job_memory_estimate`], which errs high) where the machine has less (a warning), or always
/// with `-v`. Silent where the job or the bundle cannot be read: opening the session then says
/// what is wrong.
fn memory_note(args: &TrainArgs, g: &Global, out: &mut dyn Write) -> std::io::Result<()> {
    let Ok(manifest) = JobManifest::read(&args.job) else { return Ok(()) };
    let Some(need) = job_memory_estimate(&manifest, &args.keys, &JobPaths(args.job.clone()).init()) else {
        return Ok(());
    };
    let have = total_memory();
    let gb = |b: u64| b as f64 / 1e9;
    match have {
        Some(have) if need > have => writeln!(
            out,
            "WARNING: this job needs about {:.1} GB of memory at its peak (an estimate that errs high), and this \
             machine has {:.1} GB: training may be stopped for lack of memory.{}",
            gb(need),
            gb(have),
            if manifest.task.compact_softmax {
                " Keys made with --no-compact-softmax need about 2.5 GB less (for slower steps)."
            } else {
                ""
            }
        ),
        Some(have) if g.verbose => {
            writeln!(out, "memory: about {:.1} GB at the peak (estimate), of {:.1} GB here", gb(need), gb(have))
        }
        None if g.verbose => writeln!(out, "memory: about {:.1} GB at the peak (estimate)", gb(need)),
        _ => Ok(()),
    }
}

/// Whether `e` is the job lock held by another process (which `--follow` waits out).
fn is_busy(e: &(dyn std::error::Error + 'static)) -> bool {
    matches!(e.downcast_ref::<ProtocolError>(), Some(ProtocolError::File(FileError::Busy { .. })))
}

/// One [`ServerSession::advance`] with its progress and its result printed; returns the outcome.
fn advance_once(
    session: &mut ServerSession,
    args: &TrainArgs,
    g: &Global,
    out: &mut dyn Write,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let mut bar = None;
    let outcome = session.advance(args.max_steps, &mut |event| match event {
        Event::Epoch { epoch, done, total } => {
            let b = Progress::bar(g, total as u64, &format!("epoch {epoch}"));
            b.set(done as u64);
            bar = Some(b);
        }
        Event::Step(rec) => {
            if let Some(b) = &bar {
                b.message(format!("{} bootstraps, {:.1} s/step", rec.bootstraps.iter().sum::<usize>(), rec.seconds[0]));
                b.inc();
            }
            if g.verbose {
                // Live, as steps finish (minutes apart at the secure preset); a failed write
                // to the terminal must not stop training.
                let _ = writeln!(out, "{}", step_line(rec));
            }
        }
        _ => {}
    });
    if let Some(b) = bar {
        b.finish();
    }
    let outcome = outcome?;
    match &outcome {
        Outcome::Paused { steps } => {
            writeln!(out, "stopped after {steps} steps (--max-steps); continue with --resume")?;
        }
        Outcome::AwaitingAnswer { epoch, steps: 0, answer, .. } => {
            writeln!(
                out,
                "epoch {epoch} is done; waiting for the client's answer {} (client: `hetal decrypt validation`)",
                answer.display()
            )?;
        }
        Outcome::AwaitingAnswer { epoch, steps, seconds, bootstraps, bootstraps_per_step, validation, answer } => {
            if g.json {
                let v = serde_json::json!({ "epoch": epoch, "steps": steps, "seconds": seconds,
                    "bootstraps": bootstraps, "bootstraps_per_step": bootstraps_per_step,
                    "validation": validation, "waiting_for": answer });
                writeln!(out, "{v}")?;
            } else if !g.quiet {
                writeln!(
                    out,
                    "epoch {epoch}: {steps} steps in {seconds:.1} s ({bootstraps} bootstraps, \
                     {bootstraps_per_step:.2} per step over the epoch); validation outputs {}\n\
                     next: the client runs `hetal decrypt validation`{}",
                    validation.display(),
                    if args.follow { "" } else { ", then `hetal train --resume`" }
                )?;
            }
        }
        Outcome::Finished { already: true, model, .. } => {
            writeln!(out, "training has ended; the encrypted model is {}", model.display())?;
        }
        Outcome::Finished { epoch, best_epoch, model, bootstraps, bootstraps_per_step, seconds, .. } => {
            if g.json {
                let v = serde_json::json!({ "finished": true, "best_epoch": best_epoch,
                    "model": model, "bootstraps": bootstraps, "bootstraps_per_step": bootstraps_per_step,
                    "seconds": seconds });
                writeln!(out, "{v}")?;
            } else if !g.quiet {
                writeln!(
                    out,
                    "training ended after epoch {epoch} (client's answer); model of epoch {best_epoch} written to {} \
                     ({bootstraps} bootstraps, {bootstraps_per_step:.2} per step over the run, {seconds:.1} s of \
                     server time)",
                    model.display()
                )?;
            }
        }
        _ => {}
    }
    Ok(outcome)
}
