//! One encrypted training step with real bootstrapping ([`BootstrapRefresh`]) at insecure
//! `N = 2^12`: the chain of `Preset::InsecureBootstrapN12` with 6 computation levels instead of
//! 2 (a step needs at least 4, see `hetal_train::encrypted::plan`, and normalize-and-square's
//! deepest stage 5), in both bootstrapping orders. Fourteen bootstraps: about 6 s with the
//! optimised test profile.

mod enc_common;

use ckks_scheme::circuits::bootstrap::{BootstrapConfig, Bootstrapper};
use ckks_scheme::{KeyGenerator, Parameters, Preset};
use enc_common::*;
use hetal_train::data::{one_hot, with_bias};
use hetal_train::encrypted::{TrainingClient, TrainingServer};
use hetal_train::plain::Optimizer;
use hetal_train::softmax::BootstrapRefresh;
use std::sync::Arc;
use std::time::Instant;

/// `InsecureBootstrapN12` with `levels` computation levels: `q_0` 50 bits, `levels + 3` primes
/// of 40 bits, 12 of 60 bits (EvalMod, CoeffToSlot).
fn bootstrap_params(levels: usize) -> Parameters {
    let mut q = vec![50];
    q.extend(std::iter::repeat_n(40, levels + 3));
    q.extend(std::iter::repeat_n(60, 12));
    Preset::InsecureBootstrapN12.builder().q_bits(q).name("InsecureBootstrapN12-4levels").build_insecure().unwrap()
}

#[test]
fn one_step_with_real_bootstrapping_matches_the_reference() {
    // The standard order (data at level 6) and SlotToCoeff first (data at 9, refreshed from 3).
    for (config, output) in [(BootstrapConfig::standard(), 6), (BootstrapConfig::slim(), 9)] {
        one_step(config, output, 16, false);
    }
}

/// The compact softmax: the logits' rows folded into 128 sparse slots of the 2048 (batch 32,
/// `c = 4`: unit `32 x 64`, 16 copies of a row), refreshed by a bootstrapper of 128 slots,
/// `D` unfolded before DiagATB.
#[test]
fn one_compact_step_with_sparse_bootstrapping_matches_the_reference() {
    one_step(BootstrapConfig::standard(), 6, 32, true);
}

fn one_step(config: BootstrapConfig, output: usize, batch: usize, compact: bool) {
    let params = bootstrap_params(6);
    let bootstrapper = Bootstrapper::new(&params, config.clone()).unwrap();
    assert_eq!(bootstrapper.output_level(), output);
    let floor = bootstrapper.input_level();
    let ds = digits_subset(batch, 16, 3);
    let setup = setup(&ds, &params, 1.0, batch, Optimizer::Nesterov, bootstrapper.output_level());
    let rows = setup.compact_rows();
    let sparse = compact.then(|| Bootstrapper::with_slots(&params, config, rows.as_ref().unwrap().slots()).unwrap());

    // Client: keys for the step and for bootstrapping.
    let mut kg = KeyGenerator::from_seed(&params, [21; 32]);
    let sk = kg.secret_key().unwrap();
    let mut steps = setup.rotation_steps().unwrap();
    if compact {
        steps.extend(setup.compact_rotation_steps(&params).unwrap());
    }
    let mut keys = kg.evaluation_keys(&sk, &steps, true).unwrap();
    let bkeys = bootstrapper.generate_keys(&mut kg, &sk, &mut keys.galois).unwrap();
    let sparse_keys = sparse.as_ref().map(|b| b.generate_keys(&mut kg, &sk, &mut keys.galois).unwrap());
    let keys = Arc::new(keys);
    let mut client = TrainingClient::new(sk, &keys.public, setup.clone(), &ds.train, &ds.val, client_config()).unwrap();
    let (init, _) = client.initial_model().unwrap();
    let val = client.encrypted_validation().unwrap();

    // Server: public keys only.
    let refresh = BootstrapRefresh::new(evaluator(&keys), bootstrapper, bkeys).unwrap();
    let mut server = TrainingServer::new(evaluator(&keys), refresh, setup.clone(), init, val).unwrap();
    if let (Some(b), Some(k)) = (sparse, sparse_keys) {
        server = server.with_compact_softmax(BootstrapRefresh::new(evaluator(&keys), b, k).unwrap()).unwrap();
    }

    let (mut trainer, schedule) = reference(&setup, 0);
    let idx = schedule.epoch(ds.train.len(), setup.batch, 1).remove(0);
    client.begin_epoch().unwrap();
    let batch = client.encrypt_batch(0).unwrap();
    let t = Instant::now();
    let report = server.step(&batch).unwrap();
    let xb = with_bias(&ds.train.x);
    trainer.step(&xb.select_rows(&idx), &one_hot(&ds.train.y, setup.padded_classes()).select_rows(&idx));
    let w = client.decrypt(server.weights()).unwrap();
    let diff = w.max_abs_diff(&trainer.model.w);
    eprintln!(
        "bootstrapped step: {:.1} s, max |W_enc - W_ref| = {diff:.2e}, refreshes {:?} ({} in all), levels {:?}, {:?}",
        t.elapsed().as_secs_f64(),
        report.refreshes,
        server.refreshes(),
        report.levels,
        report.timings
    );
    assert_eq!(server.refreshes(), report.refreshes.total());
    assert!(report.levels.weights_out >= floor + 3, "{:?}", report.levels);
    // Bootstrapping error through ~30 refreshes; measured 1.5e-5.
    assert!(diff < 1e-3, "{diff:e}");
    let outputs = server.validation_outputs().unwrap();
    let (_, metrics) = client.answer(&outputs).unwrap();
    let reference = trainer.model.evaluate(&ds.val);
    eprintln!("validation: encrypted {metrics:?}, reference {reference:?}");
    assert!((metrics.loss - reference.loss).abs() < 1e-2);
}
