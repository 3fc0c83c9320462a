//! `hetal decrypt` (client): the validation outputs of an epoch (computing the validation
//! loss and accuracy and writing the early-stopping answer for the server), or the model;
//! through [`hetal_train::protocol::client`].

use crate::exit::BadInput;
use crate::files::{refuse_overwrite, write_atomic, write_json};
use crate::global::Global;
use hetal_train::matrix::Matrix;
use hetal_train::protocol::client::{answer_validation, decrypt_model};
use hetal_train::protocol::keys::SecretKeyFile;
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

fn validation(args: &ValidationArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let key = SecretKeyFile::read(&args.secret_key)?;
    let v = answer_validation(&args.job, &key, &args.secret_key, args.epoch)?;
    if g.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "epoch": v.epoch, "loss": v.loss, "accuracy": v.accuracy,
            "decision": v.answer.decision, "best_so_far": v.answer.best_so_far, "best_epoch": v.best_epoch })
        )?;
    } else if !g.quiet {
        writeln!(
            out,
            "epoch {}: validation loss {:.6}, accuracy {:.4}{}; answer: {} (best epoch so far {}) -> {}",
            v.epoch,
            v.loss,
            v.accuracy,
            if v.answer.best_so_far { " (best so far)" } else { "" },
            v.answer.decision,
            v.best_epoch.unwrap_or(0),
            v.path.display()
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
            return Err(BadInput(format!(
                "{} is inside the job directory {}: write the model elsewhere",
                out.display(),
                job.display()
            ))
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
    let json_path = args.out.with_extension("json");
    if json_path == args.out {
        return Err(
            BadInput(format!("--out {}: give a .npy name (the JSON goes beside it)", args.out.display())).into()
        );
    }
    for p in [&args.out, &json_path] {
        outside_job(p, &args.job)?;
        refuse_overwrite(p, args.force)?;
    }
    let key = SecretKeyFile::read(&args.secret_key)?;
    let m = decrypt_model(&args.job, &key, &args.secret_key, args.model.as_deref(), args.exact)?;
    let (real, epoch, classes, inputs) = (&m.w, m.epoch, m.w.rows, m.w.cols);
    write_npy(&args.out, real)?;
    let weights: Vec<&[f64]> = (0..classes).map(|i| real.row(i)).collect();
    write_json(
        &json_path,
        &serde_json::json!({
            "format": "hetal-model", "version": 1, "epoch": epoch,
            "classes": classes, "features": m.features, "bias": "last column",
            "feature_scale": m.feature_scale,
            "note": "logits = (x / feature_scale) . w[:-1] + w[-1]",
            "precision_bits": m.precision_bits,
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
