//! The job directory: what the client hands the server, what the server writes back, and the
//! client's private folder inside it.
//!
//! ```text
//! job/.lock                    held by the one hetal process working on the job
//! job/job.json                 public manifest (preset, task shape, hyperparameters, counts, shuffle
//!                              seed, the key's and the job's fingerprints)
//! job/init.hmat                W_0, encrypted (Kaiming-He from the client's seed)
//! job/val.hmat                 [X_val | 1], encrypted
//! job/batches/batch-NNNN.hmat  fixed mini-batches [X_B | 1] and one-hot Y_B, encrypted
//! job/server/state.hckpt       the server's checkpoint (after every step)
//! job/server/validation-EEEE.hmat   encrypted validation logits of epoch EEEE (for the client)
//! job/server/model.hmat        the encrypted model of the best epoch (when training ends)
//! job/server/report.json       timings, refreshes, levels per step and epoch
//! job/client/                  the client's private folder (never read by `hetal train`):
//!   client.json                data source, feature scale, seeds, validation labels
//!   answer-EEEE.json           the client's answer to epoch EEEE (continue or stop, best)
//!   history.json               validation loss and accuracy per epoch
//! ```
//!
//! Every binary file of the job carries the key's and the job's fingerprints in its header; a
//! file of another key or job is refused. Every JSON file is read with a size bound, and the
//! manifest's counts are checked against each other before anything is sized by them.

use super::task::{Hyper, TaskShape, TrainPreset};
use super::ProtocolError;
use crate::store::{read_json, write_json, Binding, FileError, Fingerprint, JobLock};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format name of `job.json`.
pub const JOB_FORMAT: &str = "hetal-job";
/// Its version (2: the key's and the job's fingerprints).
pub const JOB_VERSION: u32 = 2;
/// Most training or validation rows a job may declare (far above any real feature set; a bound
/// so that no count read from a file sizes an allocation unchecked).
pub const MAX_ROWS: usize = 1 << 26;

/// `job.json`: everything the server may know.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobManifest {
    /// [`JOB_FORMAT`].
    pub format: String,
    /// [`JOB_VERSION`].
    pub version: u32,
    /// Parameter preset.
    pub preset: TrainPreset,
    /// Name of the parameter literal.
    pub parameters: String,
    /// Task shape.
    pub task: TaskShape,
    /// Hyperparameters.
    pub hyper: Hyper,
    /// Training rows.
    pub train_rows: usize,
    /// Validation rows.
    pub val_rows: usize,
    /// Number of fixed batches.
    pub batches: usize,
    /// Seed of the server's per-epoch batch order (public).
    pub shuffle_seed: u64,
    /// Level the data is encrypted at.
    pub data_level: usize,
    /// The fingerprint of the parameters ([`Fingerprint::of_parameters`]).
    pub params: Fingerprint,
    /// The fingerprint of the key the job is encrypted under.
    pub key: Fingerprint,
    /// The job's own fingerprint (random, drawn by `hetal encrypt`).
    pub job: Fingerprint,
    /// The softmax approximation the job trains with (HETAL's when absent: the manifests that
    /// predate the field).
    #[serde(default = "crate::softmax::SoftmaxId::legacy")]
    pub softmax: crate::softmax::SoftmaxId,
}

/// `client/client.json`: the client's private state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientState {
    /// Where the data came from.
    pub data: String,
    /// The divisor applied to every feature (largest training-row norm).
    pub feature_scale: f64,
    /// Seed of the fixed batches (which rows go together).
    pub batch_seed: u64,
    /// Seed of the initial weights.
    pub init_seed: u64,
    /// Validation labels (for the loss and accuracy of each epoch).
    pub val_labels: Vec<usize>,
    /// Class names, if known.
    pub class_names: Vec<String>,
}

/// One epoch as the client saw it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HistoryEntry {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Validation cross-entropy.
    pub loss: f64,
    /// Validation accuracy.
    pub accuracy: f64,
}

/// The client's answer file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AnswerFile {
    /// Epoch answered.
    pub epoch: usize,
    /// `continue` or `stop`.
    pub decision: String,
    /// Whether this epoch's model is the best so far.
    pub best_so_far: bool,
}

impl AnswerFile {
    /// The decision, if the file says `continue` or `stop` (the only two it may say).
    pub fn decision(&self) -> Option<crate::plain::Decision> {
        match self.decision.as_str() {
            "continue" => Some(crate::plain::Decision::Continue),
            "stop" => Some(crate::plain::Decision::Stop),
            _ => None,
        }
    }
}

/// Paths inside a job directory.
pub struct JobPaths(pub PathBuf);

impl JobPaths {
    /// `job.json`.
    pub fn manifest(&self) -> PathBuf {
        self.0.join("job.json")
    }
    /// `init.hmat`.
    pub fn init(&self) -> PathBuf {
        self.0.join("init.hmat")
    }
    /// `val.hmat`.
    pub fn val(&self) -> PathBuf {
        self.0.join("val.hmat")
    }
    /// Batch `k`.
    pub fn batch(&self, k: usize) -> PathBuf {
        self.0.join("batches").join(format!("batch-{k:04}.hmat"))
    }
    /// The server's folder.
    pub fn server(&self) -> PathBuf {
        self.0.join("server")
    }
    /// The checkpoint.
    pub fn checkpoint(&self) -> PathBuf {
        self.server().join("state.hckpt")
    }
    /// Validation outputs of `epoch`.
    pub fn validation(&self, epoch: usize) -> PathBuf {
        self.server().join(format!("validation-{epoch:04}.hmat"))
    }
    /// The latest epoch with validation outputs, if any.
    pub fn latest_validation(&self) -> Option<usize> {
        (1..10_000).take_while(|&e| self.validation(e).exists()).last()
    }
    /// The final encrypted model.
    pub fn model(&self) -> PathBuf {
        self.server().join("model.hmat")
    }
    /// The server's report.
    pub fn report(&self) -> PathBuf {
        self.server().join("report.json")
    }
    /// The client's folder.
    pub fn client(&self) -> PathBuf {
        self.0.join("client")
    }
    /// `client/client.json`.
    pub fn client_state(&self) -> PathBuf {
        self.client().join("client.json")
    }
    /// The client's answer to `epoch`.
    pub fn answer(&self, epoch: usize) -> PathBuf {
        self.client().join(format!("answer-{epoch:04}.json"))
    }
    /// `client/history.json`.
    pub fn history(&self) -> PathBuf {
        self.client().join("history.json")
    }
}

impl JobPaths {
    /// Locks the job directory for this process (refused while another holds it) and removes
    /// the temporary files interrupted writes left in its folders.
    pub fn lock(&self) -> Result<JobLock, FileError> {
        JobLock::acquire(&self.0, &["batches", "server", "client"])
    }

    /// Removes everything `hetal` writes into a job directory (the manifest, the encrypted data,
    /// the server's and the client's folders), for `hetal encrypt --force`: a new job never
    /// inherits an old one's checkpoint, model or answers. Other files are left alone.
    pub fn clear(&self) -> Result<(), FileError> {
        let dirs = [self.0.join("batches"), self.server(), self.client()];
        let files = [self.manifest(), self.init(), self.val()];
        let removals = dirs.iter().map(|d| (d, std::fs::remove_dir_all(d)));
        for (path, result) in removals.chain(files.iter().map(|f| (f, std::fs::remove_file(f)))) {
            match result {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(FileError::io(path, e)),
                _ => {}
            }
        }
        Ok(())
    }
}

impl ClientState {
    /// Reads `client/client.json`.
    pub fn read(paths: &JobPaths) -> Result<Self, FileError> {
        read_json(&paths.client_state(), "client state")
    }

    /// Writes `client/client.json` with mode 0600: it holds the client's seeds and labels.
    pub fn write(&self, paths: &JobPaths) -> Result<(), FileError> {
        write_json(&paths.client_state(), self, true)
    }
}

impl JobManifest {
    /// Reads and checks `job.json`.
    pub fn read(dir: &Path) -> Result<Self, FileError> {
        let path = JobPaths(dir.into()).manifest();
        let m: JobManifest = read_json(&path, "job manifest")?;
        if m.format != JOB_FORMAT || m.version != JOB_VERSION {
            return Err(FileError::format(
                &path,
                format!(
                    "format {} version {} (this hetal reads {JOB_FORMAT} version {JOB_VERSION}; encrypt the job again)",
                    m.format, m.version
                ),
            ));
        }
        m.check().map_err(|e| FileError::format(&path, e.to_string()))?;
        Ok(m)
    }

    /// Checks that the counts fit together and within bounds: the batches are those of the
    /// training rows, the hyperparameters are usable.
    pub fn check(&self) -> Result<(), ProtocolError> {
        let t = &self.task;
        t.check()?;
        if !(1..=MAX_ROWS).contains(&self.train_rows) || !(1..=MAX_ROWS).contains(&self.val_rows) {
            return Err(ProtocolError::usage(format!(
                "{} training and {} validation rows (each 1..={MAX_ROWS})",
                self.train_rows, self.val_rows
            )));
        }
        if t.batch == 0 || self.batches != self.train_rows.div_ceil(t.batch) {
            return Err(ProtocolError::usage(format!(
                "{} batches for {} training rows in batches of {}",
                self.batches, self.train_rows, t.batch
            )));
        }
        self.hyper.check()?;
        if self.params.is_none() || self.key.is_none() || self.job.is_none() {
            return Err(ProtocolError::usage("the job lacks a parameter, key or job fingerprint"));
        }
        Ok(())
    }

    /// What every binary file of the job is bound to.
    pub fn binding(&self) -> Binding {
        Binding { params: self.params, key: self.key, job: self.job }
    }

    /// Writes `job.json`.
    pub fn write(&self, dir: &Path) -> Result<(), FileError> {
        write_json(&JobPaths(dir.into()).manifest(), self, false)
    }
}

/// Reads the client's history (empty if none yet).
pub fn read_history(paths: &JobPaths) -> Result<Vec<HistoryEntry>, FileError> {
    let p = paths.history();
    if p.exists() {
        read_json(&p, "validation history")
    } else {
        Ok(Vec::new())
    }
}
