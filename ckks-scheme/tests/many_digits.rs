//! Parameters with more key-switching digits than the unrolled inner product handles (one
//! 40-bit prime per digit under a single 60-bit special prime): rotation, relinearization with
//! its fused rescale, and a hoisted linear transform still match their plaintext results.

mod common;

use ckks_scheme::*;
use common::{max_error, rotated};
use std::collections::BTreeMap;
use std::sync::Arc;

#[test]
fn more_than_eight_digits() {
    let q: Vec<u32> = std::iter::once(50).chain(std::iter::repeat_n(40, 9)).collect();
    let params =
        Preset::InsecureTestN11.builder().q_bits(q).p_bits(vec![60]).name("many-digits").build_insecure().unwrap();
    assert_eq!(params.dnum(), 10, "{:?}", params.digits());
    let n = params.slots();
    let mut kg = KeyGenerator::from_seed(&params, [31; 32]);
    let sk = kg.secret_key().unwrap();
    let z: Vec<Complex> = (0..n).map(|j| Complex::new((j as f64 * 0.1).sin(), (j as f64 * 0.23).cos()) * 0.5).collect();
    // A transform with two baby and two giant steps (diagonals 0, 1, 8, 9 with n1 = 2).
    let diagonals: BTreeMap<usize, Vec<Complex>> = [0usize, 1, 8, 9]
        .into_iter()
        .map(|k| (k, (0..n).map(|j| Complex::new(0.25, 0.01 * ((j + k) % 7) as f64)).collect()))
        .collect();
    let top = params.max_level();
    let scale = params.q_basis().modulus(top).value() as f64;
    let lt = LinearTransform::with_baby_steps(&params, diagonals, top, scale, Some(2)).unwrap();
    let mut rotations = lt.rotations();
    rotations.push(3);
    let keys = Arc::new(kg.evaluation_keys(&sk, &rotations, false).unwrap());
    let eval = Evaluator::new(keys.clone());
    let enc = Encoder::new(&params);
    let pt = enc.encode(&z, top, params.default_scale()).unwrap();
    let ct = Encryptor::from_seed(&keys.public, [32; 32]).encrypt(&pt).unwrap();
    let dec = |c: &Ciphertext| enc.decode(&Decryptor::new(&sk).decrypt(c).unwrap()).unwrap();

    let e = max_error(&rotated(&z, 3), &dec(&eval.rotate(&ct, 3).unwrap()));
    assert!(e < 1e-5, "rotation error {e}");

    let sq = eval.mul_relin_rescale(&ct, &ct).unwrap();
    let want: Vec<Complex> = z.iter().map(|&v| v * v).collect();
    let e = max_error(&want, &dec(&sq));
    assert!(e < 1e-5, "square error {e}");

    let got = dec(&eval.rescale(&lt.apply(&eval, &ct).unwrap()).unwrap());
    let e = max_error(&lt.apply_plain(&z).unwrap(), &got);
    assert!(e < 1e-5, "linear transform error {e}");
}
