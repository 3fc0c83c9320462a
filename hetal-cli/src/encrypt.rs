//! `hetal encrypt` (client): checks the data against the keys' task shape, scales the
//! features, appends the bias column, cuts the training rows into fixed batches and encrypts
//! them, the validation features and the initial weights into a job directory
//! ([`hetal_train::protocol::client::encrypt_job`]).
//!
//! Ciphertexts are fresh secret-key encryptions stored as `(c_0, seed of c_1)`: half the size
//! of public-key ones, and about 30 bits of precision at scale 2^40 instead of 24.

use crate::data_args::{describe, DataArgs};
use crate::global::Global;
use crate::progress::Progress;
use ckks_scheme::security::SecurityLevel;
use hetal_train::protocol::client::{encrypt_job, JobData, JobSeeds};
use hetal_train::protocol::keys::SecretKeyFile;
use hetal_train::protocol::task::Hyper;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `hetal encrypt`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  hetal encrypt --secret-key keys/secret.hkey --embedded --job job\n  hetal encrypt --secret-key keys/secret.hkey --data ./mnist --lr 2.0 --job job\n  hetal encrypt --secret-key keys/secret.hkey --train-csv train.csv --val-csv val.csv --job job"
)]
pub struct EncryptArgs {
    /// The client's secret key (from `hetal keygen`).
    #[arg(long, default_value = "keys/secret.hkey")]
    pub secret_key: PathBuf,
    /// The data to encrypt.
    #[command(flatten)]
    pub data: DataArgs,
    /// The job directory to create (send it to the server, except its `client/` folder).
    #[arg(long, default_value = "job")]
    pub job: PathBuf,
    /// Learning rate.
    #[arg(long, default_value_t = 1.0)]
    pub lr: f64,
    /// Update rule: nesterov or gd.
    #[arg(long, default_value = "nesterov")]
    pub optimizer: String,
    /// Early-stopping patience in epochs.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// What early stopping watches on the validation split (recorded in job.json).
    #[arg(long, value_parser = crate::preset::monitor(), default_value = "loss")]
    pub monitor: hetal_train::plain::Monitor,
    /// Most epochs to train.
    #[arg(long, default_value_t = 20)]
    pub max_epochs: usize,
    /// Replace an existing job directory's files.
    #[arg(long)]
    pub force: bool,
    /// Softmax approximation the server trains with (recorded in job.json); by default `logistic` for 2 classes and `normalize-and-square` otherwise.
    #[arg(long, value_parser = crate::preset::softmax())]
    pub softmax: Option<hetal_train::softmax::SoftmaxId>,
}

/// Runs `hetal encrypt`.
pub fn run(args: &EncryptArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let key = SecretKeyFile::read(&args.secret_key)?;
    let hyper = Hyper {
        lr: args.lr,
        optimizer: args.optimizer.clone(),
        patience: args.patience,
        monitor: args.monitor,
        max_epochs: args.max_epochs,
    };
    hyper.check()?;
    if key.params.security() == SecurityLevel::Insecure && g.text() {
        writeln!(out, "WARNING: the keys' parameters are INSECURE (tests only); never use them for real data")?;
    }
    let dataset = args.data.load(key.task.classes)?;
    let class_names =
        if args.data.given() && !args.data.embedded { Vec::new() } else { crate::embedded::class_names() };
    let data = JobData { dataset, source: describe(&args.data), class_names };
    let (train_rows, val_rows) = (data.dataset.train.len(), data.dataset.val.len());
    let bar = Progress::bar(g, 0, "encrypting");
    let seeds = JobSeeds::derive(g.seed);
    let s = encrypt_job(&args.job, args.force, &key, data, hyper, args.softmax, &seeds, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set(done as u64);
    })?;
    bar.finish();
    let m = &s.manifest;
    if g.text() {
        writeln!(
            out,
            "data {}: {train_rows} train / {val_rows} validation rows, {} features, {} classes; features divided by \
             {:.4} (largest training-row L2 norm), so training rows have norm <= 1",
            describe(&args.data),
            m.task.features,
            m.task.classes,
            s.scale.divisor
        )?;
    }
    if g.json {
        let v = serde_json::json!({ "job": args.job, "batches": m.batches, "bytes": s.bytes,
            "unit": [s.unit.s0, s.unit.s1], "softmax": m.softmax, "seconds": start.elapsed().as_secs_f64() });
        writeln!(out, "{v}")?;
    } else if !g.quiet {
        writeln!(
            out,
            "job {}: {} batches of <= {} rows (unit {} x {}), softmax {}{}, validation, W_0: {:.1} MB encrypted in \
             {:.1} s\n\
             send {} to the server without its client/ folder (that one is yours)",
            args.job.display(),
            m.batches,
            m.task.batch,
            s.unit.s0,
            s.unit.s1,
            m.softmax,
            if args.softmax.is_none() {
                format!(" (the default for {} classes)", m.task.classes)
            } else {
                String::new()
            },
            s.bytes as f64 / 1e6,
            start.elapsed().as_secs_f64(),
            args.job.display()
        )?;
    }
    Ok(())
}
