//! The in-memory client of encrypted training (tests, examples and benchmarks that keep both
//! parties in one process without files; the two-party protocol over a job store is
//! [`crate::protocol`]): holds the secret key and the plaintext data, encrypts the initial
//! weights, the validation features and each mini-batch (in the one schedule of
//! [`crate::schedule`], as the plaintext trainer visits them), decrypts the validation logits
//! after each epoch, runs [`EarlyStopping`] and decrypts the final model.

use super::messages::{
    ClientAnswer, EncryptedBatch, EncryptedModel, EncryptedValidation, InitialModel, ValidationOutputs,
};
use super::{EncryptedTrainError, TrainingSetup};
use crate::data::{one_hot, with_bias, Split};
use crate::matrix::Matrix;
use crate::plain::{metrics, EarlyStopping, LinearModel, Metrics, Monitor};
use crate::schedule::Schedule;
use ckks_scheme::{Decryptor, Encoder, Encryptor, PublicKey, SecretKey};
use hetal_linalg::{EncryptedMatrix, Tiling};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The client: secret key, data, the seeded ChaCha20 stream (initialisation, then one
/// permutation per epoch, exactly as [`crate::plain::train`] draws them), and early stopping.
pub struct TrainingClient {
    sk: SecretKey,
    encoder: Encoder,
    encryptor: Encryptor,
    setup: TrainingSetup,
    train_x: Matrix,
    train_y: Vec<usize>,
    val: Split,
    rng: ChaCha20Rng,
    early: EarlyStopping,
    initialised: bool,
    epoch: usize,
    schedule: Schedule,
    batches: Vec<Vec<usize>>,
}

/// Settings only the client knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Seed of the initial weights and of the schedule ([`Schedule::from_seed`]), as
    /// [`crate::plain::TrainConfig::seed`] (spec: 0).
    pub seed: u64,
    /// Early-stopping patience (3 by default).
    pub patience: usize,
    /// What early stopping watches (the validation loss by default).
    pub monitor: Monitor,
    /// Seed of the encryption randomness.
    pub encryption_seed: [u8; 32],
}

impl Default for ClientConfig {
    /// Seed 0, patience 3 on the validation loss, encryption seed all 1s.
    fn default() -> Self {
        Self { seed: 0, patience: 3, monitor: Monitor::Loss, encryption_seed: [1; 32] }
    }
}

fn to_linalg(m: &Matrix) -> Result<hetal_linalg::Matrix, EncryptedTrainError> {
    Ok(hetal_linalg::Matrix::new(m.rows, m.cols, m.data.clone())?)
}

impl TrainingClient {
    /// A client for `train` and `val` (features already scaled; the bias column is added
    /// here). Errors if the setup is invalid or does not match the data or the keys.
    pub fn new(
        sk: SecretKey,
        public: &PublicKey,
        setup: TrainingSetup,
        train: &Split,
        val: &Split,
        config: ClientConfig,
    ) -> Result<Self, EncryptedTrainError> {
        setup.check()?;
        if train.is_empty() || val.is_empty() {
            return Err(EncryptedTrainError::config("empty training or validation split"));
        }
        if train.x.cols + 1 != setup.inputs || val.x.cols != train.x.cols {
            return Err(EncryptedTrainError::config(format!(
                "{} features (+ bias) do not match the setup's {} inputs",
                train.x.cols, setup.inputs
            )));
        }
        if let Some(&l) = train.y.iter().chain(&val.y).find(|&&l| l >= setup.classes) {
            return Err(EncryptedTrainError::config(format!("label {l} is not below {} classes", setup.classes)));
        }
        if sk.params().slots() != setup.slots || public.params() != sk.params() {
            return Err(EncryptedTrainError::config("keys and setup disagree on the parameters"));
        }
        let encoder = Encoder::new(sk.params());
        let encryptor = Encryptor::from_seed(public, config.encryption_seed);
        Ok(Self {
            sk,
            encoder,
            encryptor,
            train_x: with_bias(&train.x),
            train_y: train.y.clone(),
            val: val.clone(),
            rng: ChaCha20Rng::seed_from_u64(config.seed),
            early: EarlyStopping::new(config.patience, config.monitor),
            initialised: false,
            epoch: 0,
            schedule: Schedule::from_seed(config.seed),
            batches: Vec::new(),
            setup,
        })
    }

    /// The setup (sent to the server).
    pub fn setup(&self) -> &TrainingSetup {
        &self.setup
    }

    fn encrypt(&mut self, m: &Matrix, tiling: Tiling) -> Result<EncryptedMatrix, EncryptedTrainError> {
        let scale = self.sk.params().default_scale();
        Ok(EncryptedMatrix::encrypt(
            &to_linalg(m)?,
            self.setup.unit()?,
            tiling,
            self.setup.data_level,
            scale,
            &self.encoder,
            &mut self.encryptor,
        )?)
    }

    /// Draws the Kaiming-He weights from the stream (first, as the plaintext trainer does) and
    /// encrypts them in the weight layout. Returns the message and the plaintext model. Errors
    /// if called twice.
    pub fn initial_model(&mut self) -> Result<(InitialModel, LinearModel), EncryptedTrainError> {
        if self.initialised {
            return Err(EncryptedTrainError::protocol("the initial model was already drawn"));
        }
        let c = self.setup.padded_classes();
        let model = LinearModel::kaiming_he(self.setup.classes, c, self.setup.inputs, &mut self.rng);
        self.initialised = true;
        let w = self.encrypt(&model.w, Tiling::Vertical { period: c })?;
        Ok((InitialModel { w }, model))
    }

    /// The validation features with the bias column, encrypted.
    pub fn encrypted_validation(&mut self) -> Result<EncryptedValidation, EncryptedTrainError> {
        let x = with_bias(&self.val.x);
        Ok(EncryptedValidation { x: self.encrypt(&x, Tiling::None)? })
    }

    /// Starts the next epoch: the fixed batches in the epoch's order. Returns the number of
    /// batches. Errors before [`Self::initial_model`].
    pub fn begin_epoch(&mut self) -> Result<usize, EncryptedTrainError> {
        if !self.initialised {
            return Err(EncryptedTrainError::protocol("draw the initial model before the first epoch"));
        }
        self.epoch += 1;
        self.batches = self.schedule.epoch(self.train_y.len(), self.setup.batch, self.epoch);
        Ok(self.batches.len())
    }

    /// The current epoch (from 1 after [`Self::begin_epoch`]).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The training rows of batch `index` of the current epoch.
    pub fn batch_indices(&self, index: usize) -> Option<&[usize]> {
        self.batches.get(index).map(Vec::as_slice)
    }

    /// Batch `index` of the current epoch, encrypted: `[X_B | 1]` untiled and `Y_B` one-hot,
    /// tiled horizontally.
    pub fn encrypt_batch(&mut self, index: usize) -> Result<EncryptedBatch, EncryptedTrainError> {
        let idx = self
            .batch_indices(index)
            .ok_or_else(|| EncryptedTrainError::protocol(format!("no batch {index} in epoch {}", self.epoch)))?
            .to_vec();
        let c = self.setup.padded_classes();
        let xb = self.train_x.select_rows(&idx);
        let y = one_hot(&idx.iter().map(|&i| self.train_y[i]).collect::<Vec<_>>(), c);
        let x = self.encrypt(&xb, Tiling::None)?;
        let y = self.encrypt(&y, Tiling::Horizontal { period: c })?;
        Ok(EncryptedBatch { epoch: self.epoch, index, x, y })
    }

    /// Decrypts an encrypted matrix (client side).
    pub fn decrypt(&self, m: &EncryptedMatrix) -> Result<Matrix, EncryptedTrainError> {
        let d = m.decrypt(&self.encoder, &Decryptor::new(&self.sk))?;
        Ok(Matrix { rows: d.rows(), cols: d.cols(), data: d.data().to_vec() })
    }

    /// Decrypts the validation logits of the epoch, computes the validation cross-entropy and
    /// accuracy (exact softmax over the real classes) and answers with [`EarlyStopping`].
    pub fn answer(&mut self, outputs: &ValidationOutputs) -> Result<(ClientAnswer, Metrics), EncryptedTrainError> {
        if outputs.epoch != self.epoch {
            return Err(EncryptedTrainError::protocol(format!(
                "validation outputs of epoch {}, the client is in epoch {}",
                outputs.epoch, self.epoch
            )));
        }
        let all = self.decrypt(&outputs.logits)?;
        if all.rows != self.val.len() || all.cols < self.setup.classes {
            return Err(EncryptedTrainError::protocol(format!("{} x {} validation logits", all.rows, all.cols)));
        }
        let m = metrics(&all.leading_columns(self.setup.classes), &self.val.y);
        let decision = self.early.observe(self.epoch, m.loss, m.accuracy);
        let best_so_far = self.early.best_epoch() == Some(self.epoch);
        Ok((ClientAnswer { epoch: self.epoch, decision, best_so_far }, m))
    }

    /// The early-stopping state.
    pub fn early_stopping(&self) -> &EarlyStopping {
        &self.early
    }

    /// Decrypts the final model (padded rows included, as the plaintext trainer keeps them).
    pub fn decrypt_model(&self, model: &EncryptedModel) -> Result<LinearModel, EncryptedTrainError> {
        let w = self.decrypt(&model.w)?;
        if w.rows != self.setup.padded_classes() || w.cols != self.setup.inputs {
            return Err(EncryptedTrainError::protocol(format!("{} x {} model", w.rows, w.cols)));
        }
        Ok(LinearModel { w, classes: self.setup.classes })
    }
}
