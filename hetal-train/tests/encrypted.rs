//! Encrypted training on a subset of the real `digits8x8_raw` at small insecure parameters
//! (N = 2^12, 9 levels), with the decrypt-and-re-encrypt refresh double: step-by-step agreement
//! with the plaintext reference trainer (approximate softmax), the early-stopping round trip,
//! protocol checks and checkpoints.

mod enc_common;

use ckks_scheme::{Parameters, ParametersBuilder};
use enc_common::*;
use hetal_train::data::{one_hot, with_bias, Dataset};
use hetal_train::encrypted::{checkpoint, run_in_process, TrainingClient, TrainingServer, TrainingSetup};
use hetal_train::plain::{Decision, Optimizer};
use hetal_train::softmax::{InsecureDecryptReencryptRefresh, SoftmaxId};
use hetal_train::store::{Binding, Fingerprint};

/// Weights max abs difference allowed between the encrypted run and the plaintext reference
/// after each step. Sources: encryption noise at scale 2^40 (about 1e-7 on the softmax output,
/// see docs/SOFTMAX.md) times `lr` (1), summed over the batch and the steps; measured ~1e-7.
const STEP_TOLERANCE: f64 = 1e-5;

/// `N = 2^12` (2048 slots), `q_0` 60 bits and 9 levels of 40 bits: insecure, tests only.
fn params() -> Parameters {
    params_with(9)
}

/// [`params`] with `levels` levels of 40 bits.
fn params_with(levels: usize) -> Parameters {
    ParametersBuilder::new(12)
        .q_bits(std::iter::once(60).chain(std::iter::repeat_n(40, levels)).collect())
        .p_bits(vec![60, 60])
        .log_scale(40)
        .name("enctrain-test-insecure")
        .build_insecure()
        .unwrap()
}

struct Run {
    client: TrainingClient,
    server: TrainingServer<InsecureDecryptReencryptRefresh>,
    setup: TrainingSetup,
    ds: Dataset,
    params: Parameters,
}

fn start(ds: Dataset, lr: f64, batch: usize, optimizer: Optimizer) -> Run {
    start_with(ds, lr, batch, optimizer, SoftmaxId::Hetal)
}

fn start_with(ds: Dataset, lr: f64, batch: usize, optimizer: Optimizer, softmax: SoftmaxId) -> Run {
    start_above(ds, lr, batch, optimizer, softmax, 0)
}

/// A run whose refresh takes nothing below level `floor` (as bootstrapping with SlotToCoeff
/// first takes nothing below 3), over `floor` more levels, so that the levels for computation
/// are [`params`]'s.
fn start_above(ds: Dataset, lr: f64, batch: usize, optimizer: Optimizer, softmax: SoftmaxId, floor: usize) -> Run {
    start_as(ds, lr, batch, optimizer, softmax, floor, false)
}

/// [`start_above`], with the compact softmax (its keys and a second double) when `compact`.
fn start_as(
    ds: Dataset,
    lr: f64,
    batch: usize,
    optimizer: Optimizer,
    softmax: SoftmaxId,
    floor: usize,
    compact: bool,
) -> Run {
    // The logistic softmax's sigmoid takes 10 levels in one stage.
    let window = softmax.build(Default::default()).unwrap().refresh_window(ds.classes);
    let params = params_with(window.max(9) + floor);
    let mut setup = setup(&ds, &params, lr, batch, optimizer, params.max_level());
    setup.softmax_id = softmax;
    let mut kg = ckks_scheme::KeyGenerator::from_seed(&params, [9; 32]);
    let sk = kg.secret_key().unwrap();
    let mut steps = setup.rotation_steps().unwrap();
    if compact {
        steps.extend(setup.compact_rotation_steps(&params).unwrap());
    }
    let keys = std::sync::Arc::new(kg.evaluation_keys(&sk, &steps, true).unwrap());
    let double = |seed: u8| {
        InsecureDecryptReencryptRefresh::new(&sk, &keys.public, [seed; 32], 1.0 + 1e-6)
            .unwrap()
            .with_floor(floor)
            .unwrap()
    };
    let (full, sparse) = (double(4), double(5));
    let mut client =
        TrainingClient::new(copy_sk(&sk), &keys.public, setup.clone(), &ds.train, &ds.val, client_config()).unwrap();
    let (init, _) = client.initial_model().unwrap();
    let val = client.encrypted_validation().unwrap();
    let mut server = TrainingServer::with_insecure_refresh(evaluator(&keys), full, setup.clone(), init, val).unwrap();
    if compact {
        server = server.with_compact_softmax(sparse).unwrap();
    }
    Run { client, server, setup, ds, params }
}

/// One epoch of 3 batches of 32 rows (16 padded classes, unit shape 32 x 64, 2 weight blocks):
/// after every step the decrypted weights equal the reference trainer's within
/// [`STEP_TOLERANCE`]; every step keeps the weights at level >= `WEIGHT_ENTRY_LEVEL` (3) for the
/// next one.
fn steps_agree(optimizer: Optimizer) {
    steps_agree_with(optimizer, SoftmaxId::Hetal, 10, STEP_TOLERANCE);
}

fn steps_agree_with(optimizer: Optimizer, softmax: SoftmaxId, classes: usize, tolerance: f64) {
    steps_agree_above(optimizer, softmax, classes, tolerance, 0);
}

fn steps_agree_above(optimizer: Optimizer, softmax: SoftmaxId, classes: usize, tolerance: f64, floor: usize) {
    steps_agree_as(optimizer, softmax, classes, tolerance, floor, false);
}

fn steps_agree_as(
    optimizer: Optimizer,
    softmax: SoftmaxId,
    classes: usize,
    tolerance: f64,
    floor: usize,
    compact: bool,
) {
    let mut run = start_as(digits_subset(96, 40, classes), 1.0, 32, optimizer, softmax, floor, compact);
    let (mut trainer, schedule) = reference(&run.setup, 0);
    let w0 = run.client.decrypt(run.server.weights()).unwrap();
    assert!(w0.max_abs_diff(&trainer.model.w) < 1e-6);
    let xb = with_bias(&run.ds.train.x);
    let y = one_hot(&run.ds.train.y, run.setup.padded_classes());
    let batches = run.client.begin_epoch().unwrap();
    let expected = schedule.epoch(run.ds.train.len(), run.setup.batch, 1);
    assert_eq!(batches, expected.len());
    for (k, idx) in expected.iter().enumerate() {
        assert_eq!(run.client.batch_indices(k).unwrap(), &idx[..], "batch {k} order");
        let batch = run.client.encrypt_batch(k).unwrap();
        let report = run.server.step(&batch).unwrap();
        trainer.step(&xb.select_rows(idx), &y.select_rows(idx));
        let w = run.client.decrypt(run.server.weights()).unwrap();
        let diff = w.max_abs_diff(&trainer.model.w);
        eprintln!(
            "{optimizer:?} step {k}: max |W_enc - W_ref| = {diff:.2e}, refreshes {:?}, levels {:?}, {:?}",
            report.refreshes, report.levels, report.timings
        );
        assert!(diff < tolerance, "step {k}: {diff:e}");
        assert!(report.levels.weights_out >= floor + hetal_train::encrypted::plan::WEIGHT_ENTRY_LEVEL);
        assert_eq!(report.levels.softmax_depth, run.setup.softmax_approximation().unwrap().depth(classes));
        assert!(report.refreshes.softmax > 0);
        // Padded classes stay exactly zero in the reference, and near zero encrypted.
        let padded = w.data[classes * w.cols..].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(padded < tolerance / 10.0, "padded weights up to {padded:e}");
    }
}

/// The compact softmax ([`TrainingServer::with_compact_softmax`]): 16 padded classes in a
/// `32 x 64` unit fold into 512 of the 2048 slots (4 copies of a row), both approximations,
/// and above a refresh floor; then what it refuses.
#[test]
fn compact_softmax_steps_match_the_plaintext_reference() {
    steps_agree_as(Optimizer::Nesterov, SoftmaxId::Hetal, 10, STEP_TOLERANCE, 0, true);
    steps_agree_as(Optimizer::Nesterov, SoftmaxId::NormalizeAndSquare, 3, 1e-4, 3, true);

    // A sparse refresher with other levels than the server's, then keys without the fold's and
    // the unfold's rotations (the doubles are never called: any key pair will do).
    let run = || start(digits_subset(32, 8, 10), 1.0, 32, Optimizer::Nesterov);
    let params = run().params;
    let mut kg = ckks_scheme::KeyGenerator::from_seed(&params, [1; 32]);
    let sk = kg.secret_key().unwrap();
    let pk = kg.public_key(&sk).unwrap();
    let double = || InsecureDecryptReencryptRefresh::new(&sk, &pk, [6; 32], 2.0).unwrap();
    let err = run().server.with_compact_softmax(double().with_floor(2).unwrap()).err().unwrap().to_string();
    assert!(err.contains("compact softmax's refresh gives levels"), "{err}");
    let err = run().server.with_compact_softmax(double()).err().expect("keys are missing").to_string();
    assert!(err.contains("the compact softmax") && err.contains("no rotation key for step"), "{err}");
}

#[test]
fn nesterov_steps_match_the_plaintext_reference() {
    steps_agree(Optimizer::Nesterov);
}

/// Normalize-and-square, the Chebyshev form (10 classes) and the root form (3 classes): its 7
/// squarings amplify the softmax's CKKS noise 128 times (docs/SOFTMAX.md), so the weights
/// follow the reference to 1e-4 instead of 1e-5 (measured below 3e-5).
#[test]
fn normalize_and_square_steps_match_the_plaintext_reference() {
    steps_agree_with(Optimizer::Nesterov, SoftmaxId::NormalizeAndSquare, 10, 1e-4);
    steps_agree_with(Optimizer::Nesterov, SoftmaxId::NormalizeAndSquare, 3, 1e-4);
}

/// The logistic softmax of 2 classes (a window of 10 levels, since its sigmoid takes 10 in one
/// stage), in the tiled layout and compact, above a refresh floor.
#[test]
fn logistic_steps_match_the_plaintext_reference() {
    steps_agree_as(Optimizer::Nesterov, SoftmaxId::Logistic, 2, STEP_TOLERANCE, 3, false);
    steps_agree_as(Optimizer::Nesterov, SoftmaxId::Logistic, 2, STEP_TOLERANCE, 3, true);
}

/// The plans above a floor (SlotToCoeff-first bootstrapping refreshes nothing below level 3):
/// the double refuses anything below it, so every refresh, the softmax's (pairs included in
/// HETAL's), `D`'s and the weights', must come from level 3 or above, and the steps still
/// follow the reference.
#[test]
fn steps_match_the_reference_above_a_refresh_floor() {
    steps_agree_above(Optimizer::Nesterov, SoftmaxId::Hetal, 10, STEP_TOLERANCE, 3);
    steps_agree_above(Optimizer::Nesterov, SoftmaxId::NormalizeAndSquare, 10, 1e-4, 3);
}

#[test]
fn gradient_descent_steps_match_the_plaintext_reference() {
    steps_agree(Optimizer::GradientDescent);
}

/// Two epochs through the protocol (batches, validation logits, the client's answers): the
/// validation metrics the client computes from the decrypted logits equal the reference
/// model's, the server keeps the model the client names best, and a stop ends the run.
#[test]
fn early_stopping_round_trip() {
    let mut run = start(digits_subset(64, 40, 10), 1.0, 32, Optimizer::Nesterov);
    let (mut trainer, schedule) = reference(&run.setup, 0);
    let xb = with_bias(&run.ds.train.x);
    let y = one_hot(&run.ds.train.y, run.setup.padded_classes());
    let mut best = (0, f64::INFINITY, trainer.model.clone());
    for epoch in 1..=2 {
        for idx in schedule.epoch(run.ds.train.len(), run.setup.batch, epoch) {
            trainer.step(&xb.select_rows(&idx), &y.select_rows(&idx));
        }
        let n = run.client.begin_epoch().unwrap();
        for k in 0..n {
            let batch = run.client.encrypt_batch(k).unwrap();
            run.server.step(&batch).unwrap();
        }
        let outputs = run.server.validation_outputs().unwrap();
        assert_eq!(outputs.epoch, epoch);
        let (answer, metrics) = run.client.answer(&outputs).unwrap();
        let reference = trainer.model.evaluate(&run.ds.val);
        eprintln!("epoch {epoch}: encrypted {metrics:?}, reference {reference:?}");
        assert!((metrics.loss - reference.loss).abs() < 1e-5);
        assert_eq!(metrics.accuracy, reference.accuracy);
        if reference.loss < best.1 {
            best = (epoch, reference.loss, trainer.model.clone());
        }
        assert_eq!(answer.best_so_far, best.0 == epoch);
        // A stale or repeated answer is refused.
        let mut stale = answer;
        stale.epoch += 1;
        assert!(run.server.answer(&stale).is_err());
        assert_eq!(run.server.answer(&answer).unwrap(), answer.decision);
    }
    let model = run.client.decrypt_model(&run.server.final_model()).unwrap();
    assert_eq!(run.server.final_model().epoch, best.0);
    assert!(model.w.max_abs_diff(&best.2.w) < STEP_TOLERANCE);

    // A stop: the server refuses further batches.
    let n = run.client.begin_epoch().unwrap();
    assert!(n > 0);
    let batch = run.client.encrypt_batch(0).unwrap();
    let stop = hetal_train::encrypted::ClientAnswer { epoch: 3, decision: Decision::Stop, best_so_far: false };
    run.server.answer(&stop).unwrap();
    assert!(run.server.step(&batch).is_err());
}

/// `run_in_process` with patience 1 ends at the first epoch without improvement or at the cap,
/// and returns the best epoch's model.
#[test]
fn in_process_run_returns_the_best_model() {
    let mut run = start(digits_subset(32, 24, 10), 1.0, 32, Optimizer::Nesterov);
    let report = run_in_process(&mut run.client, &mut run.server, 2, |_| {}).unwrap();
    assert!(!report.epochs.is_empty() && report.epochs.len() <= 2);
    let best = report.epochs.iter().min_by(|a, b| a.validation.loss.total_cmp(&b.validation.loss)).unwrap();
    assert_eq!(report.best_epoch, best.epoch);
    assert_eq!(report.model.evaluate(&run.ds.val).accuracy, best.validation.accuracy);
}

/// Batches of a wrong epoch or shape are refused before any work.
#[test]
fn refuses_mismatched_messages() {
    let mut run = start(digits_subset(64, 24, 10), 1.0, 32, Optimizer::Nesterov);
    run.client.begin_epoch().unwrap();
    let mut batch = run.client.encrypt_batch(0).unwrap();
    batch.epoch = 2;
    assert!(run.server.step(&batch).is_err());
    batch.epoch = 1;
    std::mem::swap(&mut batch.x, &mut batch.y);
    assert!(run.server.step(&batch).is_err());
    assert!(run.client.encrypt_batch(7).is_err());
    assert_eq!(run.server.state().step, 0);
}

/// A checkpoint after one step reads back to the same state; a server resumed from it takes
/// the next step like the original; corrupt files and other parameters are refused.
#[test]
fn checkpoint_round_trip_and_resume() {
    let mut run = start(digits_subset(64, 24, 10), 1.0, 32, Optimizer::Nesterov);
    run.client.begin_epoch().unwrap();
    let b0 = run.client.encrypt_batch(0).unwrap();
    run.server.step(&b0).unwrap();
    let dir = std::env::temp_dir().join(format!("hetal-enctrain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.ckpt");
    let params_fp = Fingerprint::of_parameters(&run.params).unwrap();
    let binding = Binding { params: params_fp, key: Fingerprint([1; 16]), job: Fingerprint([2; 16]) };
    checkpoint::save(&path, run.server.state(), binding).unwrap();
    let state = checkpoint::load(&path, &run.params, &binding).unwrap();
    assert_eq!((state.epoch, state.step, state.schedule), (0, 1, run.server.state().schedule));
    let w = run.client.decrypt(&state.w).unwrap();
    assert_eq!(w, run.client.decrypt(run.server.weights()).unwrap());

    // Resume on a second server (same keys) and compare the next step.
    let b1 = run.client.encrypt_batch(1).unwrap();
    run.server.step(&b1).unwrap();
    let (sk2, keys2) = keys(&run.params, &run.setup, 9);
    let double = InsecureDecryptReencryptRefresh::new(&sk2, &keys2.public, [5; 32], 1.0 + 1e-6).unwrap();
    let val = {
        // The validation set is part of the setup, not of the checkpoint: re-encrypt it.
        let mut c2 = TrainingClient::new(
            copy_sk(&sk2),
            &keys2.public,
            run.setup.clone(),
            &run.ds.train,
            &run.ds.val,
            client_config(),
        )
        .unwrap();
        c2.encrypted_validation().unwrap()
    };
    let mut resumed =
        TrainingServer::resume_with_insecure_refresh(evaluator(&keys2), double, run.setup.clone(), val, state).unwrap();
    resumed.step(&b1).unwrap();
    let diff =
        run.client.decrypt(resumed.weights()).unwrap().max_abs_diff(&run.client.decrypt(run.server.weights()).unwrap());
    assert!(diff < 1e-6, "{diff:e}");

    // Corruption and mismatches. A single flipped bit anywhere (the magic, the counters, a
    // ciphertext's residues) is refused: a checkpoint without a checksum once resumed into
    // weights of 1e149.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(checkpoint::load(&path, &run.params, &binding).is_err());
    for at in [0, 60, bytes.len() / 3, bytes.len() / 2, bytes.len() - 20] {
        let mut bad = bytes.clone();
        bad[at] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        let e = checkpoint::load(&path, &run.params, &binding).unwrap_err();
        assert!(e.to_string().contains("server.ckpt"), "bit {at}: {e}");
    }
    std::fs::write(&path, &bytes).unwrap();
    let other = ckks_scheme::Preset::InsecureTestN12.build().unwrap();
    assert!(checkpoint::load(&path, &other, &binding).is_err());
    let other_key = Binding { key: Fingerprint([3; 16]), ..binding };
    let e = checkpoint::load(&path, &run.params, &other_key).unwrap_err();
    assert!(e.to_string().contains("made under key"), "{e}");
    let other_job = Binding { job: Fingerprint([4; 16]), ..binding };
    let e = checkpoint::load(&path, &run.params, &other_job).unwrap_err();
    assert!(e.to_string().contains("made under job"), "{e}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "a temporary file was left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bad setups are typed errors, not panics.
#[test]
fn refuses_bad_setups() {
    let ds = digits_subset(32, 8, 10);
    let params = params();
    let good = setup(&ds, &params, 1.0, 32, Optimizer::Nesterov, params.max_level());
    assert!(good.check().is_ok());
    for bad in [
        TrainingSetup { lr: f64::NAN, ..good.clone() },
        TrainingSetup { batch: 0, ..good.clone() },
        TrainingSetup { data_level: 3, ..good.clone() },
        TrainingSetup { classes: 1, ..good.clone() },
        TrainingSetup { classes: 2000, ..good.clone() },
    ] {
        assert!(bad.check().is_err(), "{bad:?}");
    }
}
