//! The client's session: encrypting a data set into a job, answering each epoch from the
//! decrypted validation outputs, decrypting the model, and the plaintext run with the same
//! schedule to compare against. Everything the client keeps private goes to the job's
//! `client/` folder (mode 0600); everything else is for the server.

use super::error::ProtocolError;
use super::job::{read_history, AnswerFile, ClientState, HistoryEntry, JobManifest, JobPaths, JOB_FORMAT, JOB_VERSION};
use super::keys::SecretKeyFile;
use super::task::{training_bootstrap, Hyper};
use crate::data::{max_row_norm, one_hot, scale_features, with_bias, Dataset, FeatureScale};
use crate::encrypted::plan::check_softmax;
use crate::encrypted::release::{round_for_release, RELEASE_BITS};
use crate::matrix::Matrix;
use crate::plain::{metrics, train, Decision, EarlyStopping, SoftmaxKind, TrainConfig, TrainReport};
use crate::schedule::{derived_seed, derived_word, initial_model, Schedule};
use crate::softmax::SoftmaxId;
use crate::store::{read_matrices, refuse_overwrite, write_json, write_matrices, Binding, FileError, Fingerprint};
use ckks_scheme::{Decryptor, Encoder, SymmetricEncryptor};
use hetal_linalg::{BlockLayout, EncryptedMatrix, Tiling, UnitShape};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::path::{Path, PathBuf};

/// The seeds of a job: which rows go together, the initial weights, the public batch order,
/// the job's fingerprint and the encryption randomness.
#[derive(Clone, Debug)]
pub struct JobSeeds {
    /// The batch schedule: its batch seed is the client's secret, its shuffle seed is public
    /// (in `job.json`).
    pub schedule: Schedule,
    /// Seed of the initial weights.
    pub init: u64,
    /// The job's fingerprint.
    pub job: Fingerprint,
    /// Seed of the encryption randomness.
    pub encryption: [u8; 32],
}

impl JobSeeds {
    /// Seeds derived from `seed` (reproducible, so predictable: tests and demos), or from OS
    /// entropy.
    pub fn derive(seed: Option<u64>) -> Self {
        let entropy = || ChaCha20Rng::from_entropy().next_u64();
        let (schedule, init) = match seed {
            Some(s) => (Schedule::from_seed(s), derived_word(s, 3)),
            None => (Schedule { batch_seed: entropy(), shuffle_seed: entropy() }, entropy()),
        };
        let (job, encryption) = match seed {
            Some(s) => (Fingerprint(derived_seed(s, 6)[..16].try_into().expect("16 bytes")), derived_seed(s, 5)),
            None => {
                let mut e = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut e);
                (Fingerprint::random(&mut rand::rngs::OsRng), e)
            }
        };
        Self { schedule, init, job, encryption }
    }
}

/// The data of a job, as the client loaded it (features not yet scaled).
pub struct JobData {
    /// The data set.
    pub dataset: Dataset,
    /// Where it came from (shown to the client, kept in `client.json`).
    pub source: String,
    /// Class names, if known.
    pub class_names: Vec<String>,
}

/// What [`encrypt_job`] did.
#[derive(Clone, Debug)]
pub struct EncryptSummary {
    /// The job's manifest.
    pub manifest: JobManifest,
    /// The feature scaling applied.
    pub scale: FeatureScale,
    /// The largest validation or test row norm after scaling (above 2, logits may leave the
    /// softmax approximation's domain as the weights grow).
    pub max_other_norm: f64,
    /// The unit shape of every matrix.
    pub unit: UnitShape,
    /// Bytes written.
    pub bytes: u64,
}

/// Row-major blocks of `m` encrypted with the secret key, as seeded ciphertext bytes (half
/// the size of public-key ones, about 30 bits of precision at scale 2^40 instead of 24).
fn encrypt_blocks(
    m: &Matrix,
    layout: &BlockLayout,
    level: usize,
    encoder: &Encoder,
    enc: &mut SymmetricEncryptor,
    scale: f64,
) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let mut out = Vec::with_capacity(layout.blocks());
    for v in layout.pack(m)? {
        out.push(enc.encrypt(&encoder.encode_real(&v, level, scale)?)?.to_bytes()?);
    }
    Ok(out)
}

fn extra(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Encrypts `data` into a new job at `dir` under `key`, to be trained with the softmax
/// approximation `softmax` (recorded in the manifest; `None`: [`SoftmaxId::for_classes`] of
/// the task): scales the features by the largest
/// training-row norm, appends the bias column, cuts the training rows into the fixed batches
/// of the schedule, and writes the encrypted batches, validation features and initial weights,
/// the manifest (for the server) and the client's private state. An existing job is replaced
/// only with `force`, and then wholly (no old checkpoint, model or answer carries over).
/// `progress(done, total)` hears each file written.
pub fn encrypt_job(
    dir: &Path,
    force: bool,
    key: &SecretKeyFile,
    data: JobData,
    hyper: Hyper,
    softmax: Option<SoftmaxId>,
    seeds: &JobSeeds,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<EncryptSummary, ProtocolError> {
    let paths = JobPaths(dir.into());
    for p in [paths.manifest(), paths.server(), paths.client(), paths.batch(0)] {
        refuse_overwrite(&p, force).map_err(|_| {
            ProtocolError::usage(format!(
                "{} holds a job ({} exists); pass --force to replace the whole job",
                dir.display(),
                p.display()
            ))
        })?;
    }
    hyper.check()?;
    let _lock = paths.lock()?;
    paths.clear()?;
    let task = &key.task;
    let mut ds = data.dataset;
    if ds.features() != task.features || ds.classes != task.classes {
        return Err(ProtocolError::mismatch(format!(
            "the data ({}: {} features, {} classes) does not match the keys' task ({} features, {} classes); \
             make keys for this data with `hetal keygen`",
            data.source,
            ds.features(),
            ds.classes,
            task.features,
            task.classes
        )));
    }
    let scale = scale_features(&mut ds)?;
    let max_other_norm = max_row_norm(&ds.val.x).max(max_row_norm(&ds.test.x));
    if max_other_norm > 2.0 {
        tracing::warn!(
            norm = max_other_norm,
            "after scaling, a validation or test row has L2 norm {max_other_norm:.2} (> 2): its logits may leave the \
             softmax approximation's domain [-128, 128] as the weights grow; check that the splits come from the \
             same distribution"
        );
    }
    let params = &key.params;
    let data_level = training_bootstrap()
        .output_level(params.max_level())
        .ok_or_else(|| ProtocolError::usage(format!("parameters of {} levels cannot bootstrap", params.max_level())))?;
    let mut setup = task.setup(params, data_level, &hyper)?;
    setup.softmax_id = softmax.unwrap_or(SoftmaxId::for_classes(task.classes));
    check_softmax(setup.softmax_approximation()?.as_ref(), task.classes)?;
    let unit = setup.unit()?;
    let c = setup.padded_classes();
    let binding = Binding { params: Fingerprint::of_parameters(params)?, key: key.key, job: seeds.job };
    let encoder = Encoder::new(params);
    let mut enc = SymmetricEncryptor::from_seed(&key.sk, seeds.encryption);
    let delta = params.default_scale();

    let batches = seeds.schedule.batches(ds.train.len(), task.batch);
    let total = batches.len() + 2;
    let xb = with_bias(&ds.train.x);
    let y = one_hot(&ds.train.y, c);
    let mut bytes = 0u64;
    for (k, idx) in batches.iter().enumerate() {
        let (x, yb) = (xb.select_rows(idx), y.select_rows(idx));
        let lx = BlockLayout::new(x.rows, x.cols, unit, Tiling::None)?;
        let ly = BlockLayout::new(yb.rows, c, unit, Tiling::Horizontal { period: c })?;
        let bx = encrypt_blocks(&x, &lx, data_level, &encoder, &mut enc, delta)?;
        let by = encrypt_blocks(&yb, &ly, data_level, &encoder, &mut enc, delta)?;
        let meta = extra(&[("role", "batch".into()), ("index", k.into()), ("rows", idx.len().into())]);
        bytes += write_matrices(&paths.batch(k), binding, &[("x", &lx, bx), ("y", &ly, by)], meta)?;
        tracing::info!(batch = k, rows = idx.len(), "encrypted batch {k} of {}", batches.len());
        progress(k + 1, total);
    }
    let xv = with_bias(&ds.val.x);
    let lv = BlockLayout::new(xv.rows, xv.cols, unit, Tiling::None)?;
    let bv = encrypt_blocks(&xv, &lv, data_level, &encoder, &mut enc, delta)?;
    bytes += write_matrices(&paths.val(), binding, &[("x", &lv, bv)], extra(&[("role", "validation".into())]))?;
    progress(total - 1, total);
    let w0 = initial_model(task.classes, setup.inputs, seeds.init);
    let lw = setup.weight_layout()?;
    let bw = encrypt_blocks(&w0.w, &lw, data_level, &encoder, &mut enc, delta)?;
    bytes += write_matrices(&paths.init(), binding, &[("w", &lw, bw)], extra(&[("role", "initial model".into())]))?;
    progress(total, total);

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
        shuffle_seed: seeds.schedule.shuffle_seed,
        data_level,
        params: binding.params,
        key: key.key,
        job: seeds.job,
        softmax: setup.softmax_id,
    };
    let client = ClientState {
        data: data.source,
        feature_scale: scale.divisor,
        batch_seed: seeds.schedule.batch_seed,
        init_seed: seeds.init,
        val_labels: ds.val.y.clone(),
        class_names: data.class_names,
    };
    client.write(&paths)?;
    // The manifest last: a job without one is incomplete, and the server refuses it.
    manifest.write(dir)?;
    Ok(EncryptSummary { manifest, scale, max_other_norm, unit, bytes })
}

/// The job's manifest and the client's key, checked to belong together.
pub fn job_and_key(dir: &Path, key: &SecretKeyFile, key_path: &Path) -> Result<JobManifest, ProtocolError> {
    let job = JobManifest::read(dir)?;
    if key.key != job.key {
        return Err(
            FileError::Mismatch { path: key_path.into(), what: "key", expected: job.key, found: key.key }.into()
        );
    }
    let params = Fingerprint::of_parameters(&key.params)?;
    if params != job.params {
        let (expected, found) = (job.params, params);
        return Err(FileError::Mismatch { path: key_path.into(), what: "parameters", expected, found }.into());
    }
    Ok(job)
}

/// Decrypts an encrypted matrix with the client's key.
pub fn decrypt_matrix(key: &SecretKeyFile, m: &EncryptedMatrix) -> Result<Matrix, ProtocolError> {
    Ok(m.decrypt(&Encoder::new(&key.params), &Decryptor::new(&key.sk))?)
}

/// The client's answer to one epoch.
#[derive(Clone, Debug)]
pub struct ValidationAnswer {
    /// The epoch.
    pub epoch: usize,
    /// Validation cross-entropy (exact softmax over the real classes).
    pub loss: f64,
    /// Validation accuracy.
    pub accuracy: f64,
    /// The answer written for the server.
    pub answer: AnswerFile,
    /// Where it was written.
    pub path: PathBuf,
    /// The best epoch so far.
    pub best_epoch: Option<usize>,
}

/// Decrypts the validation logits of `epoch` (default: the latest), computes the validation
/// loss and accuracy, replays early stopping over the history (so answering twice is
/// harmless), and writes the answer for the server and the history (private).
pub fn answer_validation(
    dir: &Path,
    key: &SecretKeyFile,
    key_path: &Path,
    epoch: Option<usize>,
) -> Result<ValidationAnswer, ProtocolError> {
    let paths = JobPaths(dir.into());
    let _lock = paths.lock()?;
    let job = job_and_key(dir, key, key_path)?;
    let client = ClientState::read(&paths)?;
    let epoch = epoch.or_else(|| paths.latest_validation()).ok_or_else(|| {
        ProtocolError::usage(format!(
            "no validation outputs in {} yet: run `hetal train` first",
            paths.server().display()
        ))
    })?;
    let path = paths.validation(epoch);
    let mut f = read_matrices(&path, &key.params, &job.binding())?;
    let all = decrypt_matrix(key, &f.take(&path, "logits")?)?;
    let classes = job.task.classes;
    if all.rows != client.val_labels.len() || all.cols < classes {
        return Err(ProtocolError::mismatch(format!(
            "{}: {} x {} logits for {} validation rows",
            path.display(),
            all.rows,
            all.cols,
            client.val_labels.len()
        )));
    }
    let m = metrics(&all.leading_columns(classes), &client.val_labels);
    let mut history: Vec<HistoryEntry> = read_history(&paths)?.into_iter().filter(|h| h.epoch < epoch).collect();
    if history.len() + 1 != epoch {
        return Err(ProtocolError::usage(format!(
            "the history has {} epochs before epoch {epoch}: answer the epochs in order",
            history.len()
        )));
    }
    history.push(HistoryEntry { epoch, loss: m.loss, accuracy: m.accuracy });
    let mut early = EarlyStopping::new(job.hyper.patience, job.hyper.monitor);
    let mut decision = Decision::Continue;
    for h in &history {
        decision = early.observe(h.epoch, h.loss, h.accuracy);
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
    Ok(ValidationAnswer {
        epoch,
        loss: m.loss,
        accuracy: m.accuracy,
        answer,
        path: paths.answer(epoch),
        best_epoch: early.best_epoch(),
    })
}

/// The decrypted model.
#[derive(Clone, Debug)]
pub struct DecryptedModel {
    /// Weights, `classes x (features + 1)`, bias last.
    pub w: Matrix,
    /// The epoch it is from.
    pub epoch: usize,
    /// Features (without the bias).
    pub features: usize,
    /// The divisor the client applied to every feature, if the client state is there.
    pub feature_scale: Option<f64>,
    /// Fractional bits kept ([`RELEASE_BITS`]), or `None` for exact decryptions.
    pub precision_bits: Option<u32>,
}

/// Decrypts the job's encrypted model (or the one at `model`), keeping the real classes, and
/// rounds it to [`RELEASE_BITS`] fractional bits unless `exact` (IND-CPA-D, see
/// [`crate::encrypted::release`]).
pub fn decrypt_model(
    dir: &Path,
    key: &SecretKeyFile,
    key_path: &Path,
    model: Option<&Path>,
    exact: bool,
) -> Result<DecryptedModel, ProtocolError> {
    let paths = JobPaths(dir.into());
    let _lock = paths.lock()?;
    let job = job_and_key(dir, key, key_path)?;
    let path = model.map(Path::to_path_buf).unwrap_or_else(|| paths.model());
    if !path.exists() {
        return Err(ProtocolError::usage(format!(
            "{} does not exist: training has not ended (run `hetal train --resume`)",
            path.display()
        )));
    }
    let mut f = read_matrices(&path, &key.params, &Binding::key(job.params, job.key))?;
    let epoch: usize = f.field(&path, "epoch").unwrap_or(0);
    let w = decrypt_matrix(key, &f.take(&path, "w")?)?;
    let (classes, inputs) = (job.task.classes, job.task.features + 1);
    if w.rows < classes || w.cols != inputs {
        return Err(ProtocolError::mismatch(format!(
            "{}: a {} x {} model, expected {classes} x {inputs}",
            path.display(),
            w.rows,
            w.cols
        )));
    }
    let mut real = Matrix { rows: classes, cols: inputs, data: w.data[..classes * inputs].to_vec() };
    let precision_bits = (!exact).then_some(RELEASE_BITS);
    if let Some(bits) = precision_bits {
        round_for_release(&mut real.data, bits);
    }
    let feature_scale = ClientState::read(&paths).ok().map(|c| c.feature_scale);
    Ok(DecryptedModel { w: real, epoch, features: job.task.features, feature_scale, precision_bits })
}

/// The plaintext run of a job's exact schedule (initial weights, fixed batches, batch order,
/// early stopping) on `ds`, already scaled as the client scaled it: the oracle of the
/// encrypted run. `approx` uses the job's softmax approximation (its `f64` mirror) instead of
/// the exact softmax.
pub fn plaintext_run(
    job: &JobManifest,
    client: &ClientState,
    ds: &Dataset,
    approx: bool,
) -> Result<TrainReport, ProtocolError> {
    let softmax = if approx {
        SoftmaxKind::Approx(job.softmax.build(crate::softmax::SoftmaxConfig::default())?)
    } else {
        SoftmaxKind::Exact
    };
    let cfg = TrainConfig {
        optimizer: job.hyper.optimizer()?,
        max_epochs: job.hyper.max_epochs,
        softmax,
        seed: client.init_seed,
        schedule: Some(Schedule { batch_seed: client.batch_seed, shuffle_seed: job.shuffle_seed }),
        patience: Some(job.hyper.patience),
        monitor: job.hyper.monitor,
        ..TrainConfig::new(job.hyper.lr, job.task.batch)
    };
    Ok(train(ds, &cfg)?)
}
