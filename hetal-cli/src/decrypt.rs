//! `hetal decrypt` (client): the validation outputs of an epoch (computing the validation
//! loss and accuracy and writing the early-stopping answer for the server), or the model.

use crate::bundle::SecretKeyFile;
use crate::files::{read_matrices, refuse_overwrite, write_atomic, write_json, Binding, FileError};
use crate::global::Global;
use crate::job::{read_history, AnswerFile, ClientState, HistoryEntry, JobManifest, JobPaths};
use ckks_scheme::{Decryptor, Encoder};
use hetal_linalg::EncryptedMatrix;
use hetal_train::encrypted::release::{round_for_release, RELEASE_BITS};
use hetal_train::matrix::Matrix;
use hetal_train::plain::{metrics, Decision, EarlyStopping};
use npyz::WriterBuilder;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Options of `hetal decrypt`.
#[derive(Debug, clap::Args)]
pub struct DecryptArgs {
    /// What to decrypt.
    #[command(subcommand)]
    pub what: What,
}

/// What `hetal decrypt` decrypts.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// The validation logits of the latest (or a given) epoch: prints the validation loss and
    /// accuracy, decides continue or stop (early stopping), and writes the answer file the
    /// server reads (`job/client/answer-EEEE.json`).
    ///
    /// Example: hetal decrypt validation --job job --secret-key keys/secret.hkey
    Validation(ValidationArgs),
    /// The trained model: writes the weights (classes x (features + 1), bias last) as .npy
    /// and JSON.
    ///
    /// Example: hetal decrypt model --job job --secret-key keys/secret.hkey --out model.npy
    Model(ModelArgs),
}

/// Options of `hetal decrypt validation`.
#[derive(Debug, clap::Args)]
pub struct ValidationArgs {
    /// The job directory.
    #[arg(long, default_value = "job")]
    pub job: PathBuf,
    /// The client's secret key.
    #[arg(long, default_value = "keys/secret.hkey")]
    pub secret_key: PathBuf,
    /// The epoch (default: the latest with validation outputs).
    #[arg(long)]
    pub epoch: Option<usize>,
}

/// Options of `hetal decrypt model`.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// The job directory.
    #[arg(long, default_value = "job")]
    pub job: PathBuf,
    /// The client's secret key.
    #[arg(long, default_value = "keys/secret.hkey")]
    pub secret_key: PathBuf,
    /// Output .npy file (a .json with the same stem is written beside it).
    #[arg(long, default_value = "model.npy")]
    pub out: PathBuf,
    /// Decrypt this encrypted model file instead of the job's `server/model.hmat`.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
    /// Write the exact decrypted weights instead of rounding them to 2^-16. Exact decryptions
    /// carry the encryption noise, which depends on the secret key: do not share them
    /// (IND-CPA-D, docs/SECURITY.md).
    #[arg(long)]
    pub exact: bool,
}

/// Runs `hetal decrypt`.
pub fn run(args: &DecryptArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    match &args.what {
        What::Validation(a) => validation(a, g, out),
        What::Model(a) => model(a, g, out),
    }
}

/// Decrypts an encrypted matrix with the client's key.
pub fn decrypt_matrix(key: &SecretKeyFile, m: &EncryptedMatrix) -> Result<Matrix, Box<dyn std::error::Error>> {
    let d = m.decrypt(&Encoder::new(&key.params), &Decryptor::new(&key.sk))?;
    Ok(Matrix { rows: d.rows(), cols: d.cols(), data: d.data().to_vec() })
}

fn latest_validation(paths: &JobPaths) -> Option<usize> {
    (1..10_000).take_while(|&e| paths.validation(e).exists()).last()
}

/// The job's manifest and the client's key, checked to belong together.
fn job_and_key(job_dir: &Path, secret_key: &Path) -> Result<(JobManifest, SecretKeyFile), Box<dyn std::error::Error>> {
    let job = JobManifest::read(job_dir)?;
    let key = SecretKeyFile::read(secret_key)?;
    if key.key != job.key {
        return Err(
            FileError::Mismatch { path: secret_key.into(), what: "key", expected: job.key, found: key.key }.into()
        );
    }
    Ok((job, key))
}

fn validation(args: &ValidationArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let paths = JobPaths(args.job.clone());
    let _lock = paths.lock()?;
    let (job, key) = job_and_key(&args.job, &args.secret_key)?;
    let client = ClientState::read(&paths)?;
    let epoch = match args.epoch.or_else(|| latest_validation(&paths)) {
        Some(e) => e,
        None => {
            return Err(
                format!("no validation outputs in {} yet: run `hetal train` first", paths.server().display()).into()
            )
        }
    };
    let path = paths.validation(epoch);
    let mut f = read_matrices(&path, &key.params, &job.binding())?;
    let all = decrypt_matrix(&key, &f.take(&path, "logits")?)?;
    let classes = job.task.classes;
    if all.rows != client.val_labels.len() || all.cols < classes {
        return Err(format!(
            "{}: {} x {} logits for {} validation rows",
            path.display(),
            all.rows,
            all.cols,
            client.val_labels.len()
        )
        .into());
    }
    let mut logits = Matrix::zeros(all.rows, classes);
    for i in 0..all.rows {
        logits.row_mut(i).copy_from_slice(&all.row(i)[..classes]);
    }
    let m = metrics(&logits, &client.val_labels);
    // The early-stopping state is replayed from the history, so answering twice is harmless.
    let mut history: Vec<HistoryEntry> = read_history(&paths)?.into_iter().filter(|h| h.epoch < epoch).collect();
    if history.len() + 1 != epoch {
        return Err(format!(
            "the history has {} epochs before epoch {epoch}: answer the epochs in order",
            history.len()
        )
        .into());
    }
    history.push(HistoryEntry { epoch, loss: m.loss, accuracy: m.accuracy });
    let mut early = EarlyStopping::new(job.hyper.patience);
    let mut decision = Decision::Continue;
    for h in &history {
        decision = early.observe(h.epoch, h.loss);
    }
    if epoch >= job.hyper.max_epochs {
        decision = Decision::Stop;
    }
    let best_so_far = early.best_epoch() == Some(epoch);
    let answer = AnswerFile {
        epoch,
        decision: if decision == Decision::Stop { "stop" } else { "continue" }.into(),
        best_so_far,
    };
    write_json(&paths.history(), &history, true)?;
    write_json(&paths.answer(epoch), &answer, false)?;
    if g.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "epoch": epoch, "loss": m.loss, "accuracy": m.accuracy,
            "decision": answer.decision, "best_so_far": best_so_far, "best_epoch": early.best_epoch() })
        )?;
    } else if !g.quiet {
        writeln!(
            out,
            "epoch {epoch}: validation loss {:.6}, accuracy {:.4}{}; answer: {} (best epoch so far {}) -> {}",
            m.loss,
            m.accuracy,
            if best_so_far { " (best so far)" } else { "" },
            answer.decision,
            early.best_epoch().unwrap_or(0),
            paths.answer(epoch).display()
        )?;
    }
    Ok(())
}

/// Refuses an output path inside the job directory: the job's files are hetal's, and a model
/// written over its manifest or the client's state would destroy the job.
fn outside_job(out: &Path, job: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let canonical_dir = |p: &Path| {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::canonicalize(dir).ok()
    };
    if let (Some(o), Ok(j)) = (canonical_dir(out), std::fs::canonicalize(job)) {
        if o.starts_with(&j) {
            return Err(format!(
                "{} is inside the job directory {}: write the model elsewhere",
                out.display(),
                job.display()
            )
            .into());
        }
    }
    Ok(())
}

/// Writes a 2-D float64 C-order .npy file.
pub fn write_npy(path: &Path, m: &Matrix) -> Result<(), Box<dyn std::error::Error>> {
    let mut bytes = Vec::new();
    {
        let mut w = npyz::WriteOptions::<f64>::new()
            .default_dtype()
            .shape(&[m.rows as u64, m.cols as u64])
            .writer(&mut bytes)
            .begin_nd()?;
        w.extend(m.data.iter().copied())?;
        w.finish()?;
    }
    write_atomic(path, &bytes, false)?;
    Ok(())
}

fn model(args: &ModelArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let paths = JobPaths(args.job.clone());
    let json_path = args.out.with_extension("json");
    if json_path == args.out {
        return Err(format!("--out {}: give a .npy name (the JSON goes beside it)", args.out.display()).into());
    }
    for p in [&args.out, &json_path] {
        outside_job(p, &args.job)?;
        refuse_overwrite(p, args.force)?;
    }
    let _lock = paths.lock()?;
    let (job, key) = job_and_key(&args.job, &args.secret_key)?;
    let path = args.model.clone().unwrap_or_else(|| paths.model());
    if !path.exists() {
        return Err(
            format!("{} does not exist: training has not ended (run `hetal train --resume`)", path.display()).into()
        );
    }
    let mut f = read_matrices(&path, &key.params, &Binding::key(job.key))?;
    let epoch: usize = f.field(&path, "epoch").unwrap_or(0);
    let w = decrypt_matrix(&key, &f.take(&path, "w")?)?;
    let (classes, inputs) = (job.task.classes, job.task.features + 1);
    if w.rows < classes || w.cols != inputs {
        return Err(
            format!("{}: a {} x {} model, expected {classes} x {inputs}", path.display(), w.rows, w.cols).into()
        );
    }
    let mut real = Matrix { rows: classes, cols: inputs, data: w.data[..classes * inputs].to_vec() };
    let precision_bits = (!args.exact).then_some(RELEASE_BITS);
    if let Some(bits) = precision_bits {
        round_for_release(&mut real.data, bits);
    }
    write_npy(&args.out, &real)?;
    let client = ClientState::read(&paths).ok();
    let weights: Vec<&[f64]> = (0..classes).map(|i| real.row(i)).collect();
    write_json(
        &json_path,
        &serde_json::json!({
            "format": "hetal-model", "version": 1, "epoch": epoch,
            "classes": classes, "features": job.task.features, "bias": "last column",
            "feature_scale": client.as_ref().map(|c| c.feature_scale),
            "note": "logits = (x / feature_scale) . w[:-1] + w[-1]",
            "precision_bits": precision_bits,
            "weights": weights,
        }),
        false,
    )?;
    if g.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "model": args.out, "json": json_path, "epoch": epoch, "shape": [classes, inputs] })
        )?;
    } else if !g.quiet {
        writeln!(
            out,
            "model of epoch {epoch} ({classes} x {inputs}, bias last) written to {} and {}",
            args.out.display(),
            json_path.display()
        )?;
    }
    Ok(())
}
