//! Rotations and conjugation against the permuted (conjugated) slot vectors, with keys made for
//! the steps drawn: slot `j` of `rotate(x, r)` is slot `(j + r) mod slots` of `x`.

mod common;

use ckks_scheme::{rotation_element, Complex};
use common::*;
use proptest::prelude::*;

/// A key switch adds little to a fresh ciphertext's noise.
const ROTATE_BITS: f64 = 22.0;

proptest! {
    #![proptest_config(config(8))]

    #[test]
    fn rotation_by_random_steps(values in slots(N12_SLOTS), r in -(N12_SLOTS as i64 - 1)..N12_SLOTS as i64,
                                level in 0..=6usize, seed in any::<u64>()) {
        let f = n12();
        let ev = f.evaluator_with_rotations(&[r], false, seed);
        let ct = f.encrypt_at(&values, level, seed);
        let out = ev.rotate(&ct, r).unwrap();
        prop_assert_eq!((out.level(), out.scale(), out.size()), (level, ct.scale(), 2));
        check_precision("rotate", &rotated(&values, r), &f.decrypt(&out), ROTATE_BITS);
        // The key of `r` serves every step congruent to it modulo the slot count.
        let r2 = r + 3 * N12_SLOTS as i64;
        check_precision("rotate (r + 3 slots)", &rotated(&values, r), &f.decrypt(&ev.rotate(&ct, r2).unwrap()),
            ROTATE_BITS);
        // `apply_galois` with the rotation's element is the same operation.
        let k = rotation_element(&f.params, r);
        let by_element = ev.apply_galois(&ct, k).unwrap();
        prop_assert_eq!(by_element.components()[1].data(), out.components()[1].data());
    }

    #[test]
    fn rotations_compose(values in slots(N12_SLOTS), a in -300i64..300, b in -300i64..300, seed in any::<u64>()) {
        let f = n12();
        let ev = f.evaluator_with_rotations(&[a, b, a + b], false, seed);
        let ct = f.encrypt(&values, seed);
        let twice = ev.rotate(&ev.rotate(&ct, a).unwrap(), b).unwrap();
        let once = ev.rotate(&ct, a + b).unwrap();
        let expected = rotated(&values, a + b);
        let (twice, once) = (f.decrypt(&twice), f.decrypt(&once));
        check_precision("rotate a then b", &expected, &twice, ROTATE_BITS);
        check_precision("rotate a+b", &expected, &once, ROTATE_BITS);
        check_precision("rotate a then b vs a+b", &once, &twice, ROTATE_BITS);
    }

    #[test]
    fn conjugation_of_complex_slots(values in slots(N12_SLOTS), level in 0..=6usize, seed in any::<u64>()) {
        let f = n12();
        let ct = f.encrypt_at(&values, level, seed);
        let out = f.eval.conjugate(&ct).unwrap();
        prop_assert_eq!((out.level(), out.scale()), (level, ct.scale()));
        let expected: Vec<Complex> = values.iter().map(|z| z.conj()).collect();
        check_precision("conjugate", &expected, &f.decrypt(&out), ROTATE_BITS);
        // Conjugating twice gives the input back; x + conj(x) is real.
        let back = f.eval.conjugate(&out).unwrap();
        check_precision("conjugate twice", &values, &f.decrypt(&back), ROTATE_BITS);
        let re: Vec<Complex> = values.iter().map(|z| Complex::new(2.0 * z.re, 0.0)).collect();
        check_precision("x + conj(x)", &re, &f.decrypt(&f.eval.add(&ct, &out).unwrap()), ROTATE_BITS);
    }

    #[test]
    fn sparse_slot_rotation(values in slots(SPARSE_SLOTS), r in -(SPARSE_SLOTS as i64 - 1)..SPARSE_SLOTS as i64,
                            seed in any::<u64>()) {
        let f = sparse();
        let ev = f.evaluator_with_rotations(&[r], true, seed);
        let ct = f.encrypt(&values, seed);
        let out = ev.rotate(&ct, r).unwrap();
        check_precision("sparse rotate", &rotated(&values, r), &f.decrypt(&out), ROTATE_BITS);
        let r2 = r - 2 * SPARSE_SLOTS as i64;
        check_precision("sparse rotate (r - 2 slots)", &rotated(&values, r),
            &f.decrypt(&ev.rotate(&ct, r2).unwrap()), ROTATE_BITS);
        let expected: Vec<Complex> = values.iter().map(|z| z.conj()).collect();
        check_precision("sparse conjugate", &expected, &f.decrypt(&ev.conjugate(&ct).unwrap()), ROTATE_BITS);
    }
}

#[test]
fn fixture_rotations_and_trivial_steps() {
    let f = n12();
    let values: Vec<Complex> = (0..N12_SLOTS).map(|j| Complex::new(j as f64 / N12_SLOTS as f64, 0.0)).collect();
    let ct = f.encrypt(&values, 9);
    for r in FIXED_ROTATIONS {
        let out = f.eval.rotate(&ct, r).unwrap();
        check_precision(&format!("rotate {r}"), &rotated(&values, r), &f.decrypt(&out), ROTATE_BITS);
    }
    // Rotations by multiples of the slot count need no key and change nothing.
    for r in [0, N12_SLOTS as i64, -(N12_SLOTS as i64)] {
        let out = f.eval.rotate(&ct, r).unwrap();
        assert_eq!(out.components()[0].data(), ct.components()[0].data(), "rotation by {r}");
    }
    // Rotating left by 1 then right by 1.
    let back = f.eval.rotate(&f.eval.rotate(&ct, 1).unwrap(), -1).unwrap();
    check_precision("rotate 1 then -1", &values, &f.decrypt(&back), ROTATE_BITS);
}

#[test]
fn rotation_after_a_product() {
    // Rotation of a relinearized, rescaled product (size 2, lower level, non-power-of-two scale).
    let f = n12();
    let a: Vec<Complex> = (0..N12_SLOTS).map(|j| Complex::from_polar(1.0, j as f64 * 0.01)).collect();
    let ct = f.encrypt(&a, 21);
    let sq = f.eval.mul_relin_rescale(&ct, &ct).unwrap();
    let out = f.eval.rotate(&sq, 5).unwrap();
    let expected: Vec<Complex> = a.iter().map(|&z| z * z).collect();
    check_precision("rotate after product", &rotated(&expected, 5), &f.decrypt(&out), 20.0);
}

/// `sum_of_rotations` (one shared ModDown) equals the sum of separate rotations, including a
/// zero step and repeated steps, and names a missing key.
#[test]
fn sum_of_rotations_matches_separate_rotations() {
    use ckks_scheme::*;
    use std::sync::Arc;
    let params = Preset::InsecureTestN12.build().unwrap();
    let mut kg = KeyGenerator::from_seed(&params, [31; 32]);
    let sk = kg.secret_key().unwrap();
    let keys = Arc::new(kg.evaluation_keys(&sk, &[1, 5, -7], false).unwrap());
    let eval = Evaluator::new(keys.clone());
    let enc = Encoder::new(&params);
    let n = params.slots();
    let vecs: Vec<Vec<f64>> = (0..4).map(|v| (0..n).map(|j| ((j * (v + 2)) as f64 * 0.013).cos()).collect()).collect();
    let cts: Vec<Ciphertext> = vecs
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let pt = enc.encode_real(z, 3, params.default_scale()).unwrap();
            Encryptor::from_seed(&keys.public, [i as u8; 32]).encrypt(&pt).unwrap()
        })
        .collect();
    let steps = [1i64, 0, 5, -7];
    let got = eval.sum_of_rotations(&cts, &steps).unwrap();
    let got = enc.decode_real(&Decryptor::new(&sk).decrypt(&got).unwrap()).unwrap();
    let worst = (0..n)
        .map(|j| {
            let want: f64 = vecs.iter().zip(steps).map(|(z, r)| z[(j as i64 + r).rem_euclid(n as i64) as usize]).sum();
            (got[j] - want).abs()
        })
        .fold(0.0, f64::max);
    assert!(worst < 1e-6, "{worst}");
    let err = eval.sum_of_rotations(&cts[..1], &[3]).unwrap_err();
    assert!(matches!(err, SchemeError::MissingGaloisKey { .. }), "{err}");
    assert!(eval.sum_of_rotations(&cts[..2], &[1]).is_err());
}
