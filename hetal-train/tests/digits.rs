//! Plaintext training on the real `digits8x8_raw` feature set, committed in
//! `data/digits8x8_raw` (a byte copy of `shared/datasets/digits8x8_raw`; its README holds the
//! checksums that the first test verifies).

mod enc_common;

use enc_common::DIGITS_DIR;
use hetal_train::data::{scale_features, Dataset};
use hetal_train::plain::{train, Optimizer, SoftmaxKind, TrainConfig};
use hetal_train::softmax::{SoftmaxApprox, SoftmaxConfig};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Every file of the committed folder is listed in its README with its SHA-256 (lines in
/// `sha256sum` format) and has that SHA-256; every file besides the README and
/// `.gitattributes` is listed. A damaged or partial copy fails here, not as a training result.
#[test]
fn committed_digits_files_match_their_checksums() {
    let dir = Path::new(DIGITS_DIR);
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let listed: BTreeMap<&str, &str> = readme
        .lines()
        .filter_map(|line| line.split_once("  "))
        .filter(|(hash, _)| hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .map(|(hash, name)| (name, hash))
        .collect();
    let mut present: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "README.md" && name != ".gitattributes")
        .collect();
    present.sort();
    assert_eq!(listed.keys().copied().collect::<Vec<_>>(), present, "files listed in the README against {DIGITS_DIR}");
    for (name, hash) in &listed {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&digest, hash, "SHA-256 of {DIGITS_DIR}/{name} differs from its README's");
    }
}

/// Digits, scaled, with the shape and scale of its manifest.
fn digits() -> Dataset {
    let mut ds = enc_common::digits();
    let scale = scale_features(&mut ds).unwrap();
    // The manifest's feature_scale_divisor (largest train-row norm).
    assert!((scale.divisor - 4.789718806986481).abs() < 1e-5, "{scale:?}");
    assert_eq!((ds.classes, ds.padded_classes(), ds.features()), (10, 16, 64));
    assert_eq!((ds.train.len(), ds.val.len(), ds.test.len()), (1097, 300, 400));
    ds
}

/// The manifest's NAG baseline reaches 0.960 test accuracy. Nesterov (Kim et al. form), lr 1,
/// batch 128, seed 0, patience 3 must reach it within 2 points (8 of the 400 test samples).
#[test]
fn nesterov_reaches_the_baseline_test_accuracy() {
    let ds = digits();
    let report = train(&ds, &TrainConfig::new(1.0, 128)).unwrap();
    let test = report.model.evaluate(&ds.test);
    eprintln!("best epoch {} of {}: test accuracy {:.4}", report.best_epoch, report.epochs.len(), test.accuracy);
    assert!(test.accuracy >= 0.96 - 0.02, "test accuracy {}", test.accuracy);
    assert!(report.stopped_early, "early stopping should end the run before 100 epochs");
    let best = &report.epochs[report.best_epoch - 1];
    assert!(report.epochs.iter().all(|e| e.val_loss >= best.val_loss));
}

/// Plain gradient descent converges too, more slowly (fixed 30 epochs).
#[test]
fn gradient_descent_learns() {
    let ds = digits();
    let cfg = TrainConfig {
        optimizer: Optimizer::GradientDescent,
        max_epochs: 30,
        patience: None,
        ..TrainConfig::new(1.0, 128)
    };
    let report = train(&ds, &cfg).unwrap();
    assert_eq!(report.epochs.len(), 30);
    assert!(report.model.evaluate(&ds.test).accuracy > 0.9);
}

/// The approximate softmax (the mirror of the encrypted pipeline) tracks the exact one: same
/// seed, same batches, 20 epochs without early stopping. Per epoch the validation accuracy
/// differs by at most 1 point (3 samples) and the loss by at most 0.01; the final weights
/// differ by less than 2% (relative Frobenius norm).
#[test]
fn approximate_softmax_tracks_the_exact_one() {
    let ds = digits();
    let base = TrainConfig { max_epochs: 20, patience: None, ..TrainConfig::new(1.0, 128) };
    let approx = SoftmaxKind::Approx(Box::new(SoftmaxApprox::new(SoftmaxConfig::default()).unwrap()));
    let exact = train(&ds, &base).unwrap();
    let approx = train(&ds, &TrainConfig { softmax: approx, ..base }).unwrap();
    for (e, a) in exact.epochs.iter().zip(&approx.epochs) {
        assert!((e.val_accuracy - a.val_accuracy).abs() <= 0.01 + 1e-12, "epoch {}: {e:?} vs {a:?}", e.epoch);
        assert!((e.val_loss - a.val_loss).abs() <= 0.01, "epoch {}: {e:?} vs {a:?}", e.epoch);
        assert!(a.max_abs_logit < 128.0);
    }
    let (we, wa) = (&exact.model.w.data, &approx.model.w.data);
    let diff = we.iter().zip(wa).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt();
    let norm = we.iter().map(|x| x * x).sum::<f64>().sqrt();
    eprintln!("relative weight difference after 20 epochs: {:.3e}", diff / norm);
    assert!(diff / norm < 0.02, "{}", diff / norm);
}
