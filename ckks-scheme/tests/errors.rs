//! Every error path returns its typed variant, with a message naming the values that caused
//! it, and never panics.

mod common;

use ckks_scheme::encoding::EncodingError;
use ckks_scheme::security::SecurityError;
use ckks_scheme::{Complex, Decryptor, Encoder, EvaluationKeys, Evaluator, Preset, SchemeError};
use common::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Runs `op`, which must return an error without panicking, and returns the error.
fn error_of<T>(op: impl FnOnce() -> Result<T, SchemeError>) -> SchemeError {
    match catch_unwind(AssertUnwindSafe(op)) {
        Ok(Err(e)) => e,
        Ok(Ok(_)) => panic!("expected an error, got a value"),
        Err(_) => panic!("the operation panicked instead of returning an error"),
    }
}

/// Asserts that the message of `err` contains every one of `parts`.
fn assert_message(err: &SchemeError, parts: &[&str]) {
    let msg = err.to_string();
    for part in parts {
        assert!(msg.contains(part), "message {msg:?} does not contain {part:?}");
    }
}

fn values(n: usize) -> Vec<Complex> {
    (0..n).map(|j| Complex::new((j as f64).sin() * 0.5, (j as f64).cos() * 0.5)).collect()
}

#[test]
fn level_mismatch() {
    let f = n12();
    let v = values(8);
    let (a, b) = (f.encrypt(&v, 1), f.encrypt_at(&v, 4, 2));
    let err = error_of(|| f.eval.add(&a, &b));
    assert_eq!(err, SchemeError::LevelMismatch { op: "add", left: 6, right: 4 });
    assert_message(&err, &["add", "6 vs 4", "drop_to_level"]);
    let err = error_of(|| f.eval.sub(&b, &a));
    assert_eq!(err, SchemeError::LevelMismatch { op: "sub", left: 4, right: 6 });
    let err = error_of(|| f.eval.mul(&a, &b));
    assert_eq!(err, SchemeError::LevelMismatch { op: "mul", left: 6, right: 4 });
    let mut acc = a.clone();
    assert!(matches!(error_of(|| f.eval.add_assign(&mut acc, &b)), SchemeError::LevelMismatch { .. }));
    let pt = f.encoder.encode(&v, 3, f.scale()).unwrap();
    for (op, err) in [
        ("add_plain", error_of(|| f.eval.add_plain(&a, &pt))),
        ("sub_plain", error_of(|| f.eval.sub_plain(&a, &pt))),
        ("mul_plain", error_of(|| f.eval.mul_plain(&a, &pt))),
    ] {
        assert_eq!(err, SchemeError::LevelMismatch { op, left: 6, right: 3 });
        assert_message(&err, &[op, "6 vs 3"]);
    }
}

#[test]
fn scale_mismatch() {
    let f = n12();
    let v = values(8);
    let a = f.encrypt(&v, 1);
    let pt = f.encoder.encode(&v, f.top(), f.scale()).unwrap();
    let prod = f.eval.mul_plain(&a, &pt).unwrap(); // scale 2^80, not rescaled
    let err = error_of(|| f.eval.add(&a, &prod));
    assert!(
        matches!(err, SchemeError::ScaleMismatch { op: "add", left_log2, right_log2 } if left_log2 == 40.0 && right_log2 == 80.0),
        "{err:?}"
    );
    assert_message(&err, &["add", "2^40.0000", "2^80.0000"]);
    assert!(matches!(error_of(|| f.eval.sub(&prod, &a)), SchemeError::ScaleMismatch { op: "sub", .. }));
    let pt30 = f.encoder.encode(&v, f.top(), 2f64.powi(30)).unwrap();
    let err = error_of(|| f.eval.add_plain(&a, &pt30));
    assert_message(&err, &["add_plain", "2^40.0000", "2^30.0000"]);
    assert!(matches!(error_of(|| f.eval.sub_plain(&a, &pt30)), SchemeError::ScaleMismatch { op: "sub_plain", .. }));

    // A product rescaled by q_6 (about 2^40, not exactly) against a fresh ciphertext at the same
    // level: the scales differ by about 2^-20 relative, far above the tolerance.
    let sq = f.eval.mul_relin_rescale(&a, &a).unwrap();
    let fresh = f.encrypt_at(&v, sq.level(), 2);
    assert!((sq.scale() / fresh.scale() - 1.0).abs() > ckks_scheme::SCALE_TOLERANCE);
    assert!(matches!(error_of(|| f.eval.add(&sq, &fresh)), SchemeError::ScaleMismatch { .. }));
    // Accepting the difference explicitly makes the sum go through.
    let mut declared = sq.clone();
    declared.set_scale(fresh.scale());
    assert!(f.eval.add(&declared, &fresh).is_ok());
}

#[test]
fn out_of_levels() {
    let f = n12();
    let v = values(8);
    let bottom = f.encrypt_at(&v, 0, 1);
    let err = error_of(|| f.eval.rescale(&bottom));
    assert_eq!(err, SchemeError::OutOfLevels { op: "rescale", level: 0, needed: 1 });
    assert_message(&err, &["rescale", "level 0", "at least 1"]);
    assert!(matches!(
        error_of(|| f.eval.mul_relin_rescale(&bottom, &bottom)),
        SchemeError::OutOfLevels { level: 0, .. }
    ));
    // A constant product at level 0 could never be rescaled: refused up front.
    let err = error_of(|| f.eval.mul_const(&bottom, 0.5));
    assert_eq!(err, SchemeError::OutOfLevels { op: "mul_const", level: 0, needed: 1 });
    // Dropping "down" to a higher level, and encoding above the chain.
    let mid = f.encrypt_at(&v, 2, 2);
    let err = error_of(|| f.eval.drop_to_level(&mid, 5));
    assert!(matches!(err, SchemeError::OutOfLevels { op: "drop_to_level", .. }), "{err:?}");
    assert_message(&err, &["drop_to_level", "2", "5"]);
    let err = error_of(|| f.encoder.encode(&v, 7, f.scale()));
    assert!(matches!(err, SchemeError::OutOfLevels { op: "encode", level: 7, .. }), "{err:?}");
}

#[test]
fn missing_galois_key_names_the_rotation() {
    let f = n12();
    let ct = f.encrypt(&values(8), 1);
    let err = error_of(|| f.eval.rotate(&ct, 3));
    // 5^3 mod 2N = 125.
    assert_eq!(err, SchemeError::MissingGaloisKey { op: "rotate", galois_element: 125, rotation: Some(3) });
    assert_message(&err, &["rotate", "125", "3"]);
    let err = error_of(|| f.eval.rotate(&ct, -7));
    assert!(matches!(err, SchemeError::MissingGaloisKey { rotation: Some(-7), .. }), "{err:?}");
    assert_message(&err, &["-7"]);
    let err = error_of(|| f.eval.apply_galois(&ct, 25));
    assert!(matches!(err, SchemeError::MissingGaloisKey { op: "apply_galois", galois_element: 25, .. }), "{err:?}");
    assert_message(&err, &["25"]);
    // No keys at all: neither rotations nor conjugation.
    let bare = Evaluator::without_keys(&f.params);
    assert!(matches!(error_of(|| bare.rotate(&ct, 1)), SchemeError::MissingGaloisKey { galois_element: 5, .. }));
    let err = error_of(|| bare.conjugate(&ct));
    assert!(matches!(err, SchemeError::MissingGaloisKey { op: "conjugate", galois_element: 8191, .. }), "{err:?}");
    assert_message(&err, &["conjugate", "8191"]);
}

#[test]
fn missing_relinearization_key() {
    let f = n12();
    let ct = f.encrypt(&values(8), 1);
    let bare = Evaluator::without_keys(&f.params);
    let t = bare.mul(&ct, &ct).expect("the tensor product needs no key");
    let err = error_of(|| bare.relinearize(&t));
    assert_eq!(err, SchemeError::MissingRelinearizationKey { op: "relinearize" });
    assert_message(&err, &["relinearize", "relinearization key"]);
    assert!(matches!(error_of(|| bare.mul_relin_rescale(&ct, &ct)), SchemeError::MissingRelinearizationKey { .. }));
    // A key bundle without the relinearization key.
    let keys = EvaluationKeys { relinearization: None, ..(*f.keys).clone() };
    let ev = Evaluator::new(Arc::new(keys));
    assert!(matches!(error_of(|| ev.relinearize(&t)), SchemeError::MissingRelinearizationKey { .. }));
    // Linear operations, plaintext products and rescaling work without keys.
    let pt = f.encoder.encode(&values(8), f.top(), f.scale()).unwrap();
    let r = bare.rescale(&bare.mul_plain(&bare.add(&ct, &ct).unwrap(), &pt).unwrap()).unwrap();
    assert_eq!(r.level(), f.top() - 1);
}

#[test]
fn parameter_mismatch_between_presets() {
    let (f, g) = (n12(), n11());
    let v = values(8);
    let a = f.encrypt_at(&v, 2, 1);
    let b = g.encrypt_at(&v, 2, 2);
    let err = error_of(|| f.eval.add(&a, &b));
    assert!(matches!(err, SchemeError::ParameterMismatch { op: "add", .. }), "{err:?}");
    assert_message(&err, &["add", "InsecureTestN12", "InsecureTestN11"]);
    assert!(matches!(error_of(|| f.eval.mul(&a, &b)), SchemeError::ParameterMismatch { op: "mul", .. }));
    assert!(matches!(error_of(|| f.eval.rescale(&b)), SchemeError::ParameterMismatch { op: "rescale", .. }));
    assert!(matches!(error_of(|| f.eval.rotate(&b, 1)), SchemeError::ParameterMismatch { .. }));
    let pt_g = g.encoder.encode(&v, 2, g.scale()).unwrap();
    for (op, err) in [
        ("add_plain", error_of(|| f.eval.add_plain(&a, &pt_g))),
        ("mul_plain", error_of(|| f.eval.mul_plain(&a, &pt_g))),
        ("decrypt", error_of(|| Decryptor::new(&f.sk).decrypt(&b))),
        ("encrypt", error_of(|| f.encryptor(3).encrypt(&pt_g))),
        ("decode", error_of(|| f.encoder.decode(&pt_g))),
    ] {
        assert!(matches!(err, SchemeError::ParameterMismatch { op: o, .. } if o == op), "{op}: {err:?}");
        assert_message(&err, &[op, "InsecureTestN12", "InsecureTestN11"]);
    }
    // Same N, different slot counts.
    let s = sparse();
    let c = s.encrypt_at(&v, 2, 4);
    let err = error_of(|| g.eval.add(&b, &c));
    assert_message(&err, &["sparse64", "InsecureTestN11"]);
    // A second build of the same preset is the same parameter set.
    let again = Preset::InsecureTestN12.build().unwrap();
    let pt = Encoder::new(&again).encode(&v, 2, f.scale()).unwrap();
    assert!(f.eval.add_plain(&a, &pt).is_ok());
}

#[test]
fn too_many_values() {
    let f = n12();
    let err = error_of(|| f.encoder.encode(&values(N12_SLOTS + 1), f.top(), f.scale()));
    assert_eq!(err, SchemeError::SlotCount { op: "encode", slots: N12_SLOTS, found: N12_SLOTS + 1 });
    assert_message(&err, &["encode", "2049", "2048"]);
    let s = sparse();
    let err = error_of(|| s.encoder.encode_real(&[0.0; SPARSE_SLOTS + 1], s.top(), s.scale()));
    assert_eq!(err, SchemeError::SlotCount { op: "encode", slots: SPARSE_SLOTS, found: SPARSE_SLOTS + 1 });
    assert_message(&err, &["65", "64"]);
}

#[test]
fn non_finite_values() {
    let f = n12();
    let mut v = values(16);
    v[5] = Complex::new(f64::NAN, 0.0);
    let err = error_of(|| f.encoder.encode(&v, f.top(), f.scale()));
    assert_eq!(err, SchemeError::Encoding(EncodingError::NonFinite { input: "slot value", index: 5 }));
    assert_message(&err, &["slot value", "index 5", "not finite"]);
    v[5] = Complex::new(0.0, f64::INFINITY);
    assert!(matches!(
        error_of(|| f.encoder.encode(&v, 0, f.scale())),
        SchemeError::Encoding(EncodingError::NonFinite { .. })
    ));
    let err = error_of(|| f.encoder.encode_real(&[0.0, 1.0, f64::NAN], f.top(), f.scale()));
    assert_message(&err, &["index 2"]);
    // Non-finite constants and scales.
    let ct = f.encrypt(&values(8), 1);
    assert!(matches!(error_of(|| f.eval.add_const(&ct, f64::NAN)), SchemeError::InvalidScale { op: "add_const", .. }));
    assert!(matches!(
        error_of(|| f.eval.mul_const(&ct, f64::INFINITY)),
        SchemeError::InvalidScale { op: "mul_const", .. }
    ));
    for scale in [f64::NAN, 0.0, -1.0, f64::INFINITY] {
        let err = error_of(|| f.encoder.encode(&values(4), f.top(), scale));
        assert!(matches!(err, SchemeError::InvalidScale { op: "encode", .. }), "scale {scale}: {err:?}");
    }
}

#[test]
fn too_large_value_at_level_0() {
    let f = n12();
    // q_0 has 55 bits: at scale 2^40 the coefficients must stay below 2^54, i.e. |m| < 2^14.
    let big = vec![Complex::from(1.0e5); N12_SLOTS];
    let err = error_of(|| f.encoder.encode(&big, 0, f.scale()));
    assert!(matches!(err, SchemeError::Encoding(EncodingError::Overflow { index: 0, .. })), "{err:?}");
    assert_message(&err, &["index 0", "2^56.6", "2^54.0"]);
    // The same value fits one level up.
    let pt = f.encoder.encode(&big, 1, f.scale()).unwrap();
    assert!((f.encoder.decode(&pt).unwrap()[7].re - 1.0e5).abs() < 1e-6);
    // Far beyond every level (2^126 cap).
    let err = error_of(|| f.encoder.encode(&[Complex::from(1e30)], f.top(), f.scale()));
    assert!(matches!(err, SchemeError::Encoding(EncodingError::Overflow { .. })), "{err:?}");
}

#[test]
fn insecure_parameters_are_refused_by_build() {
    let err = error_of(|| Preset::InsecureTestN12.builder().build());
    assert!(
        matches!(err, SchemeError::Security(SecurityError::ModulusTooLarge { n: 4096, bound: 109, .. })),
        "{err:?}"
    );
    assert_message(&err, &["N = 4096", "109", "log2(QP)"]);
    let err = error_of(|| Preset::InsecureTestN11.builder().slots(SPARSE_SLOTS).build());
    assert!(matches!(err, SchemeError::Security(_)), "{err:?}");
    assert_message(&err, &["N = 2048"]);
    // The secure preset of the same family builds.
    assert!(Preset::LeveledN14.build().is_ok());
}

#[test]
fn wrong_degree_and_scale() {
    let f = n12();
    let ct = f.encrypt(&values(8), 1);
    let t = f.eval.mul(&ct, &ct).unwrap();
    let err = error_of(|| f.eval.mul(&t, &ct));
    assert_eq!(err, SchemeError::Degree { op: "mul", expected: 2, found: 3 });
    assert_message(&err, &["mul", "3 components", "expected 2"]);
    assert!(matches!(error_of(|| f.eval.rotate(&t, 1)), SchemeError::Degree { op: "rotate", found: 3, .. }));
    // A rescale that would leave a scale below 1.
    let mut small = ct.clone();
    small.set_scale(2.0);
    let err = error_of(|| f.eval.rescale(&small));
    assert!(matches!(err, SchemeError::InvalidScale { op: "rescale", .. }), "{err:?}");
}

#[test]
fn add_const_too_large_for_the_level_is_refused() {
    let f = n12();
    let ct = f.encrypt_at(&values(8), 0, 1);
    // The same constant in every slot is the constant polynomial 1e5 * scale, too large for q_0.
    assert!(f.encoder.encode(&vec![Complex::from(1.0e5); f.params.slots()], 0, f.scale()).is_err());
    let result = catch_unwind(AssertUnwindSafe(|| f.eval.add_const(&ct, 1.0e5))).expect("no panic");
    match result {
        Err(err) => assert_message(&err, &["add_const"]),
        Ok(sum) => panic!("add_const accepted a constant beyond Q_0 / 2: slot 0 decrypts to {:?}", f.decrypt(&sum)[0]),
    }
}
