//! `hetal encrypt` (client): checks the data against the keys' task shape, scales the
//! features, appends the bias column, cuts the training rows into fixed batches and encrypts
//! them, the validation features and the initial weights into a job directory.
//!
//! Ciphertexts are fresh secret-key encryptions stored as `(c_0, seed of c_1)`: half the size
//! of public-key ones, and about 30 bits of precision at scale 2^40 instead of 24.

use crate::bundle::SecretKeyFile;
use crate::data_args::{describe, DataArgs};
use crate::files::{refuse_overwrite, write_matrices, Fingerprint};
use crate::global::Global;
use crate::job::{ClientState, JobManifest, JobPaths, JOB_FORMAT, JOB_VERSION};
use crate::keygen::derived_seed;
use crate::progress::Progress;
use crate::schedule::{initial_model, partition};
use crate::task::Hyper;
use ckks_scheme::circuits::bootstrap::BootstrapConfig;
use ckks_scheme::security::SecurityLevel;
use ckks_scheme::{Encoder, SymmetricEncryptor};
use hetal_linalg::{BlockLayout, Tiling, UnitShape};
use hetal_train::data::{max_row_norm, one_hot, scale_features, with_bias};
use hetal_train::matrix::Matrix;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
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
    /// Most epochs to train.
    #[arg(long, default_value_t = 20)]
    pub max_epochs: usize,
    /// Replace an existing job directory's files.
    #[arg(long)]
    pub force: bool,
}

/// Row-major blocks of `m` encrypted with the secret key, as seeded ciphertext bytes.
fn encrypt_blocks(
    m: &Matrix,
    layout: &BlockLayout,
    level: usize,
    encoder: &Encoder,
    enc: &mut SymmetricEncryptor,
    scale: f64,
) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error>> {
    let lm = hetal_linalg::Matrix::new(m.rows, m.cols, m.data.clone())?;
    let mut out = Vec::with_capacity(layout.blocks());
    for v in layout.pack(&lm)? {
        out.push(enc.encrypt(&encoder.encode_real(&v, level, scale)?)?.to_bytes()?);
    }
    Ok(out)
}

fn extra(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Runs `hetal encrypt`.
pub fn run(args: &EncryptArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let key = SecretKeyFile::read(&args.secret_key)?;
    let paths = JobPaths(args.job.clone());
    for p in [paths.manifest(), paths.server(), paths.client(), paths.batch(0)] {
        refuse_overwrite(&p, args.force).map_err(|_| {
            format!(
                "{} holds a job ({} exists); pass --force to replace the whole job",
                args.job.display(),
                p.display()
            )
        })?;
    }
    let hyper =
        Hyper { lr: args.lr, optimizer: args.optimizer.clone(), patience: args.patience, max_epochs: args.max_epochs };
    hyper.check()?;
    let _lock = paths.lock()?;
    // A new job starts clean: an old job's checkpoint, model or answers never carry over.
    paths.clear()?;
    let task = &key.task;
    let mut ds = args.data.load(task.classes)?;
    if ds.features() != task.features || ds.classes != task.classes {
        return Err(format!(
            "the data ({}: {} features, {} classes) does not match the keys' task ({} features, {} classes); \
             make keys for this data with `hetal keygen`",
            describe(&args.data),
            ds.features(),
            ds.classes,
            task.features,
            task.classes
        )
        .into());
    }
    let scale = scale_features(&mut ds)?;
    let max_norm = max_row_norm(&ds.val.x).max(max_row_norm(&ds.test.x));
    if g.text() {
        writeln!(
            out,
            "data {}: {} train / {} validation rows, {} features, {} classes; features divided by {:.4} \
             (largest training-row L2 norm), so training rows have norm <= 1",
            describe(&args.data),
            ds.train.len(),
            ds.val.len(),
            ds.features(),
            ds.classes,
            scale.divisor
        )?;
    }
    if max_norm > 2.0 {
        eprintln!(
            "warning: after scaling, a validation or test row has L2 norm {max_norm:.2} (> 2): its logits may leave \
             the softmax approximation's domain [-128, 128] as the weights grow; check that the splits come from the \
             same distribution"
        );
    }
    let params = &key.params;
    if params.security() == SecurityLevel::Insecure && g.text() {
        writeln!(out, "WARNING: the keys' parameters are INSECURE (tests only); never use them for real data")?;
    }
    let data_level = params.max_level() - BootstrapConfig::standard().depth();
    let setup = task.setup(params, data_level, &hyper)?;
    let unit: UnitShape = setup.unit()?;
    let c = setup.padded_classes();

    let seed_of = |tag: u64| -> u64 {
        match g.seed {
            Some(s) => u64::from_le_bytes(derived_seed(s, tag)[..8].try_into().expect("8 bytes")),
            None => ChaCha20Rng::from_entropy().next_u64(),
        }
    };
    let (batch_seed, init_seed, shuffle_seed) = (seed_of(2), seed_of(3), seed_of(4));
    let job_id = match g.seed {
        Some(s) => Fingerprint(derived_seed(s, 6)[..16].try_into().expect("16 bytes")),
        None => Fingerprint::random(&mut rand::rngs::OsRng),
    };
    let binding = crate::files::Binding { key: key.key, job: job_id };
    let encoder = Encoder::new(params);
    let mut enc = match g.seed {
        Some(s) => SymmetricEncryptor::from_seed(&key.sk, derived_seed(s, 5)),
        None => SymmetricEncryptor::new(&key.sk),
    };
    let delta = params.default_scale();

    let batches = partition(ds.train.len(), task.batch, batch_seed);
    let xb = with_bias(&ds.train.x);
    let y = one_hot(&ds.train.y, c);
    let bar = Progress::bar(g, batches.len() as u64 + 2, "encrypting");
    let mut bytes = 0u64;
    for (k, idx) in batches.iter().enumerate() {
        let (x, yb) = (xb.select_rows(idx), y.select_rows(idx));
        let lx = BlockLayout::new(x.rows, x.cols, unit, Tiling::None)?;
        let ly = BlockLayout::new(yb.rows, c, unit, Tiling::Horizontal { period: c })?;
        let bx = encrypt_blocks(&x, &lx, data_level, &encoder, &mut enc, delta)?;
        let by = encrypt_blocks(&yb, &ly, data_level, &encoder, &mut enc, delta)?;
        let meta = extra(&[("role", "batch".into()), ("index", k.into()), ("rows", idx.len().into())]);
        bytes += write_matrices(&paths.batch(k), binding, &[("x", &lx, bx), ("y", &ly, by)], meta)?;
        bar.inc();
    }
    let xv = with_bias(&ds.val.x);
    let lv = BlockLayout::new(xv.rows, xv.cols, unit, Tiling::None)?;
    let bv = encrypt_blocks(&xv, &lv, data_level, &encoder, &mut enc, delta)?;
    bytes += write_matrices(&paths.val(), binding, &[("x", &lv, bv)], extra(&[("role", "validation".into())]))?;
    bar.inc();
    let w0 = initial_model(task.classes, setup.inputs, init_seed);
    let lw = BlockLayout::new(c, setup.inputs, unit, Tiling::Vertical { period: c })?;
    let bw = encrypt_blocks(&w0.w, &lw, data_level, &encoder, &mut enc, delta)?;
    bytes += write_matrices(&paths.init(), binding, &[("w", &lw, bw)], extra(&[("role", "initial model".into())]))?;
    bar.finish();

    let manifest = JobManifest {
        format: JOB_FORMAT.into(),
        version: JOB_VERSION,
        preset: key.preset,
        parameters: params.builder().name.clone(),
        task: task.clone(),
        hyper,
        train_rows: ds.train.len(),
        val_rows: ds.val.len(),
        batches: batches.len(),
        shuffle_seed,
        data_level,
        key: key.key,
        job: job_id,
    };
    let class_names =
        if args.data.given() && !args.data.embedded { Vec::new() } else { crate::embedded::class_names() };
    let client = ClientState {
        data: describe(&args.data),
        feature_scale: scale.divisor,
        batch_seed,
        init_seed,
        val_labels: ds.val.y.clone(),
        class_names,
    };
    client.write(&paths)?;
    // The manifest last: a job without one is incomplete, and the server refuses it.
    manifest.write(&args.job)?;
    if g.json {
        let v = serde_json::json!({ "job": args.job, "batches": batches.len(), "bytes": bytes,
            "unit": [unit.s0, unit.s1], "seconds": start.elapsed().as_secs_f64() });
        writeln!(out, "{v}")?;
    } else if !g.quiet {
        writeln!(
            out,
            "job {}: {} batches of <= {} rows (unit {} x {}), validation, W_0: {:.1} MB encrypted in {:.1} s\n\
             send {} to the server without its client/ folder (that one is yours)",
            args.job.display(),
            batches.len(),
            task.batch,
            unit.s0,
            unit.s1,
            bytes as f64 / 1e6,
            start.elapsed().as_secs_f64(),
            args.job.display()
        )?;
    }
    Ok(())
}
