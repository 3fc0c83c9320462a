//! The encrypted softmax against the `f64` mirror (through the [`SoftmaxApproximation`] trait
//! object) at small insecure parameters, with the decrypt-and-re-encrypt refresh double.

use super::*;
use crate::matrix::Matrix;
use ckks_scheme::{Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator, Parameters, ParametersBuilder, SecretKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::sync::{Arc, OnceLock};

/// Largest error of the decrypted softmax against the mirror, over all slots (every copy,
/// padded classes included). Measured about 1e-8 to 1e-7 at scale 2^40 (fresh-encryption
/// noise, amplified by the comparison polynomials); the bound leaves a wide margin while still
/// far below the approximation error itself (~1e-2).
const TOLERANCE: f64 = 1e-5;

/// `N = 2^11` (1024 slots), eight 40-bit levels: insecure, for tests only.
struct Fixture {
    params: Parameters,
    sk: SecretKey,
    eval: Evaluator,
    encryptor: std::sync::Mutex<Encryptor>,
    public: ckks_scheme::PublicKey,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let params = ParametersBuilder::new(11)
            .q_bits(std::iter::once(60).chain(std::iter::repeat_n(40, 8)).collect())
            .p_bits(vec![60, 60])
            .log_scale(40)
            .name("softmax-test-insecure")
            .build_insecure()
            .unwrap();
        let mut keygen = KeyGenerator::from_seed(&params, [5; 32]);
        let sk = keygen.secret_key().unwrap();
        let rotations: Vec<i64> = (0..4).flat_map(|t| [1i64 << t, -(1i64 << t)]).collect();
        let keys = Arc::new(keygen.evaluation_keys(&sk, &rotations, false).unwrap());
        let encryptor = std::sync::Mutex::new(Encryptor::from_seed(&keys.public, [6; 32]));
        Fixture { public: keys.public.clone(), eval: Evaluator::new(keys), params, sk, encryptor }
    })
}

/// HETAL's pipeline with the default constants, as the trait object the training code holds.
fn hetal() -> Box<dyn SoftmaxApproximation> {
    SoftmaxId::Hetal.build(SoftmaxConfig::default()).unwrap()
}

/// Runs the encrypted softmax of `approx` on random rows (`rows` of them, logits uniform in
/// `[-range, range]`) and returns (max error against its mirror, the run, the largest
/// refreshed magnitude).
fn run(
    approx: &dyn SoftmaxApproximation,
    s0: usize,
    s1: usize,
    classes: usize,
    rows: usize,
    range: f64,
    seed: u64,
) -> (f64, SoftmaxRun, f64) {
    let f = fixture();
    let layout = TiledLayout::new(s0, s1, classes).unwrap();
    let softmax = EncryptedSoftmax::with_approximation(approx.clone_box(), layout, &f.params).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let logits =
        Matrix::from_vec(rows, classes, (0..rows * classes).map(|_| rng.gen_range(-range..range)).collect()).unwrap();
    let encoder = Encoder::new(&f.params);
    let pt =
        encoder.encode_real(&layout.tile(&logits).unwrap(), f.params.max_level(), f.params.default_scale()).unwrap();
    let ct = f.encryptor.lock().unwrap().encrypt(&pt).unwrap();
    let refresh = InsecureDecryptReencryptRefresh::new(&f.sk, &f.public, [7; 32], 1.0 + 1e-6).unwrap();
    let (out, report) = softmax.evaluate(&f.eval, &refresh, &ct).unwrap();
    let got = encoder.decode_real(&Decryptor::new(&f.sk).decrypt(&out).unwrap()).unwrap();
    // Expected: the mirror on every row (zero rows beyond `rows`), tiled like the input.
    let mut all = Matrix::zeros(s0, classes);
    all.data[..rows * classes].copy_from_slice(&logits.data);
    let expected = layout.tile(&approx.rows(&all)).unwrap();
    let err = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    (err, report, refresh.largest_seen())
}

/// HETAL's encrypted run against its mirror, and the levels it consumed against its stage
/// table (what the refresh plan and the step report read), which is the configuration's.
fn check(s0: usize, s1: usize, classes: usize, rows: usize, range: f64) {
    let approx = hetal();
    let c = padded_classes(classes);
    assert_eq!(approx.stages(c), SoftmaxConfig::default().stages(c));
    let (err, report, largest) = run(approx.as_ref(), s0, s1, classes, rows, range, classes as u64);
    eprintln!(
        "{} c = {c} ({classes} classes), {s0} x {s1}, range {range}: max error {err:.2e}, depth {}, refreshes {}, largest refreshed {largest:.3}",
        approx.id(),
        report.depth(),
        report.refreshes
    );
    assert!(err < TOLERANCE, "max error {err:e}");
    // Measured levels per stage are those of the approximation's table.
    assert_eq!(report.stages, approx.stages(c));
    assert_eq!(report.depth(), approx.depth(c));
    assert!(report.refreshes > 0);
}

#[test]
fn c4_three_classes_padded_matches_the_mirror() {
    check(32, 32, 3, 32, 128.0);
}

#[test]
fn c16_ten_classes_padded_two_copies_matches_the_mirror() {
    check(32, 32, 10, 20, 32.0);
}

#[test]
fn c16_full_one_copy_per_row_matches_the_mirror() {
    check(64, 16, 16, 64, 128.0);
}

#[test]
fn refuses_a_layout_that_does_not_fill_the_ciphertext() {
    let f = fixture();
    let layout = TiledLayout::new(16, 16, 4).unwrap();
    assert!(matches!(
        EncryptedSoftmax::new(SoftmaxConfig::default(), layout, &f.params),
        Err(SoftmaxError::Layout { .. })
    ));
    // The trait's circuit checks it too.
    let pt = Encoder::new(&f.params).encode_real(&[0.0], f.params.max_level(), f.params.default_scale()).unwrap();
    let ct = f.encryptor.lock().unwrap().encrypt(&pt).unwrap();
    let refresh = InsecureDecryptReencryptRefresh::new(&f.sk, &f.public, [7; 32], 1.0).unwrap();
    assert!(matches!(
        hetal().evaluate(SoftmaxInput { eval: &f.eval, refresh: &refresh, layout: &layout, x: &ct }),
        Err(SoftmaxError::Layout { .. })
    ));
}

/// The double's modelled bootstrapping error has the requested spread: refreshing zeros
/// leaves Gaussian values of standard deviation `2^-bits` (fresh encryption adds ~2^-30, far
/// below 2^-12), centred, and a non-positive precision is refused.
#[test]
fn modelled_refresh_error_has_the_requested_spread() {
    let f = fixture();
    let encoder = Encoder::new(&f.params);
    let zeros = vec![0.0; f.params.slots()];
    let pt = encoder.encode_real(&zeros, 3, f.params.default_scale()).unwrap();
    let ct = f.encryptor.lock().unwrap().encrypt(&pt).unwrap();
    let double = InsecureDecryptReencryptRefresh::new(&f.sk, &f.public, [7; 32], 2.0)
        .unwrap()
        .with_modelled_error(12.0, 3)
        .unwrap();
    let mut samples = Vec::new();
    for _ in 0..4 {
        let out = double.refresh(&ct).unwrap();
        samples.extend(
            encoder.decode(&Decryptor::new(&f.sk).decrypt(&out).unwrap()).unwrap().iter().flat_map(|z| [z.re, z.im]),
        );
    }
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let std = (samples.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let want = (-12.0f64).exp2();
    assert!((std / want - 1.0).abs() < 0.05, "std {std:e} against {want:e}");
    assert!(mean.abs() < 5.0 * want / n.sqrt(), "mean {mean:e}");
    for bad in [0.0, -3.0, f64::NAN] {
        let d = InsecureDecryptReencryptRefresh::new(&f.sk, &f.public, [7; 32], 2.0).unwrap();
        assert!(matches!(d.with_modelled_error(bad, 0), Err(SoftmaxError::Refresh { .. })));
    }
}
