//! Shared setup of the hetal-train tests: the real `digits8x8_raw` committed in
//! `data/digits8x8_raw` (whole, or a subset for encrypted training), keys with exactly the
//! rotations of a step, the client and a server with the decrypt-and-re-encrypt double, and the
//! plaintext reference trainer with the same seed. Tests read only committed data, never
//! `shared/` (see `data/digits8x8_raw/README.md`).

#![allow(dead_code)]

use ckks_scheme::{EvaluationKeys, Evaluator, KeyGenerator, Parameters, SecretKey};
use hetal_train::data::{load_npy_dir, scale_features, Dataset, Split};
use hetal_train::encrypted::{ClientConfig, TrainingSetup};
use hetal_train::plain::{Optimizer, SoftmaxKind, TrainConfig, Trainer};
use hetal_train::schedule::Schedule;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::Path;
use std::sync::Arc;

/// The committed copy of `digits8x8_raw` (`data/digits8x8_raw` of hetal-train).
pub const DIGITS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits8x8_raw");

/// The whole of digits, unscaled, from [`DIGITS_DIR`].
pub fn digits() -> Dataset {
    load_npy_dir(Path::new(DIGITS_DIR)).unwrap_or_else(|e| panic!("{e} (the committed test data)"))
}

/// The first `train_rows` / `val_rows` rows of digits (scaled on the full training split),
/// keeping only labels below `classes`.
pub fn digits_subset(train_rows: usize, val_rows: usize, classes: usize) -> Dataset {
    let mut ds = digits();
    scale_features(&mut ds).unwrap();
    let pick = |s: &Split, n: usize| {
        let idx: Vec<usize> = (0..s.len()).filter(|&i| s.y[i] < classes).take(n).collect();
        s.select(&idx)
    };
    ds.train = pick(&ds.train, train_rows);
    ds.val = pick(&ds.val, val_rows);
    ds.classes = classes;
    ds
}

/// The setup for `ds` with the given learning rate, batch and optimiser.
pub fn setup(
    ds: &Dataset,
    params: &Parameters,
    lr: f64,
    batch: usize,
    optimizer: Optimizer,
    data_level: usize,
) -> TrainingSetup {
    TrainingSetup::new(ds.classes, ds.features(), batch, lr, optimizer, params, data_level).unwrap()
}

/// Keys: the secret key, and the evaluation keys with the rotations of a step and conjugation.
pub fn keys(params: &Parameters, setup: &TrainingSetup, seed: u8) -> (SecretKey, Arc<EvaluationKeys>) {
    let mut kg = KeyGenerator::from_seed(params, [seed; 32]);
    let sk = kg.secret_key().unwrap();
    let keys = kg.evaluation_keys(&sk, &setup.rotation_steps().unwrap(), true).unwrap();
    (sk, Arc::new(keys))
}

/// A copy of `sk` (for the double, which needs its own).
pub fn copy_sk(sk: &SecretKey) -> SecretKey {
    SecretKey::from_coeffs(sk.params(), sk.coeffs().to_vec()).unwrap()
}

/// The plaintext reference trainer with the approximate softmax and its ChaCha20 stream, in
/// the state the client starts from (initial weights drawn).
pub fn reference(setup: &TrainingSetup, seed: u64) -> (Trainer, Schedule) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let cfg = TrainConfig {
        optimizer: setup.optimizer,
        softmax: SoftmaxKind::Approx(setup.softmax_approximation().unwrap()),
        seed,
        ..TrainConfig::new(setup.lr, setup.batch)
    };
    let trainer = Trainer::new(&cfg, setup.classes, setup.inputs, &mut rng);
    (trainer, cfg.schedule())
}

/// The client configuration of the tests.
pub fn client_config() -> ClientConfig {
    ClientConfig { encryption_seed: [3; 32], ..ClientConfig::default() }
}

/// An evaluator over `keys`.
pub fn evaluator(keys: &Arc<EvaluationKeys>) -> Evaluator {
    Evaluator::new(keys.clone())
}
