//! Homomorphic arithmetic against complex `f64` arithmetic on the slots, with explicit
//! precision bounds (bits of `-log2` max absolute error, messages of magnitude at most 1).

mod common;

use ckks_scheme::Complex;
use common::*;
use proptest::prelude::*;

/// Linear operations on fresh ciphertexts: the noise of (at most) two fresh encryptions
/// (about 24 bits each at `N = 2^12`, see [`N12_FRESH_BITS`]).
const LINEAR_BITS: f64 = N12_FRESH_BITS - 1.0;
/// One product (plaintext or ciphertext) followed by a rescale.
const PRODUCT_BITS: f64 = 20.0;
/// A chain of products down to level 0.
const CHAIN_BITS: f64 = 15.0;

fn halve(z: &[Complex]) -> Vec<Complex> {
    z.iter().map(|&x| x * 0.5).collect()
}

fn zip(a: &[Complex], b: &[Complex], f: impl Fn(Complex, Complex) -> Complex) -> Vec<Complex> {
    a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
}

proptest! {
    #![proptest_config(config(8))]

    #[test]
    fn add_sub_neg(a in slots(N12_SLOTS), b in slots(N12_SLOTS), seed in any::<u64>()) {
        let (f, ev) = (n12(), &n12().eval);
        let (a, b) = (halve(&a), halve(&b));
        let (ca, cb) = (f.encrypt(&a, seed), f.encrypt(&b, seed ^ 1));
        let sum = ev.add(&ca, &cb).unwrap();
        prop_assert_eq!((sum.level(), sum.scale()), (ca.level(), ca.scale()));
        check_precision("add", &zip(&a, &b, |x, y| x + y), &f.decrypt(&sum), LINEAR_BITS);
        let diff = ev.sub(&ca, &cb).unwrap();
        check_precision("sub", &zip(&a, &b, |x, y| x - y), &f.decrypt(&diff), LINEAR_BITS);
        let neg = ev.neg(&ca).unwrap();
        check_precision("neg", &a.iter().map(|&x| -x).collect::<Vec<_>>(), &f.decrypt(&neg), LINEAR_BITS);
        let mut acc = ca.clone();
        ev.add_assign(&mut acc, &cb).unwrap();
        ev.sub_assign(&mut acc, &ca).unwrap();
        check_precision("add_assign/sub_assign", &b, &f.decrypt(&acc), LINEAR_BITS);
    }

    #[test]
    fn add_plain_sub_plain(a in slots(N12_SLOTS), b in slots(N12_SLOTS), level in 0..=6usize, seed in any::<u64>()) {
        let (f, ev) = (n12(), &n12().eval);
        let (a, b) = (halve(&a), halve(&b));
        let ca = f.encrypt_at(&a, level, seed);
        let pb = f.encoder.encode(&b, level, f.scale()).unwrap();
        let sum = ev.add_plain(&ca, &pb).unwrap();
        prop_assert_eq!((sum.level(), sum.scale()), (level, f.scale()));
        check_precision("add_plain", &zip(&a, &b, |x, y| x + y), &f.decrypt(&sum), LINEAR_BITS);
        let diff = ev.sub_plain(&ca, &pb).unwrap();
        check_precision("sub_plain", &zip(&a, &b, |x, y| x - y), &f.decrypt(&diff), LINEAR_BITS);
    }

    #[test]
    fn mul_plain_then_rescale(a in slots(N12_SLOTS), b in slots(N12_SLOTS), level in 1..=6usize, seed in any::<u64>()) {
        let (f, ev) = (n12(), &n12().eval);
        let ca = f.encrypt_at(&a, level, seed);
        let pb = f.encoder.encode(&b, level, f.scale()).unwrap();
        let prod = ev.mul_plain(&ca, &pb).unwrap();
        prop_assert_eq!((prod.level(), prod.scale()), (level, f.scale() * f.scale()));
        let expected = zip(&a, &b, |x, y| x * y);
        // Before the rescale the product is already decodable at scale 2^80.
        check_precision("mul_plain (no rescale)", &expected, &f.decrypt(&prod), PRODUCT_BITS);
        let out = ev.rescale(&prod).unwrap();
        prop_assert_eq!(out.level(), level - 1);
        let q_l = f.params.q_basis().modulus(level).value() as f64;
        prop_assert_eq!(out.scale(), f.scale() * f.scale() / q_l);
        check_precision("mul_plain+rescale", &expected, &f.decrypt(&out), PRODUCT_BITS);
    }

    #[test]
    fn add_const_mul_const_mul_int(
        a in slots(N12_SLOTS),
        c in -1.0..1.0f64,
        k in -8i64..=8,
        seed in any::<u64>(),
    ) {
        let (f, ev) = (n12(), &n12().eval);
        let a = halve(&a);
        let ca = f.encrypt(&a, seed);
        let plus = ev.add_const(&ca, c * 0.5).unwrap();
        prop_assert_eq!((plus.level(), plus.scale()), (ca.level(), ca.scale()));
        check_precision("add_const", &a.iter().map(|&x| x + (c * 0.5).into()).collect::<Vec<_>>(), &f.decrypt(&plus),
            LINEAR_BITS);

        let times = ev.rescale(&ev.mul_const(&ca, c).unwrap()).unwrap();
        prop_assert_eq!(times.level(), ca.level() - 1);
        prop_assert_eq!(times.scale(), ca.scale(), "mul_const + rescale must keep the scale exactly");
        check_precision("mul_const+rescale", &a.iter().map(|&x| x * c).collect::<Vec<_>>(), &f.decrypt(&times),
            PRODUCT_BITS);

        let a8: Vec<Complex> = a.iter().map(|&x| x / 8.0).collect();
        let ca8 = f.encrypt(&a8, seed ^ 2);
        let times_k = ev.mul_int(&ca8, k).unwrap();
        prop_assert_eq!((times_k.level(), times_k.scale()), (ca8.level(), ca8.scale()));
        // The noise is multiplied by |k| <= 8 too: 3 bits fewer than a fresh ciphertext.
        check_precision("mul_int", &a8.iter().map(|&x| x * k as f64).collect::<Vec<_>>(), &f.decrypt(&times_k),
            LINEAR_BITS - 3.0);
    }

    #[test]
    fn mul_const_keeps_any_scale_to_one_ulp(
        a in slots(16),
        c in -1.0..1.0f64,
        log_scale in 30.0..45.0f64,
        level in 1..=6usize,
        seed in any::<u64>(),
    ) {
        // After products, scales are not powers of two. `(s * q_l) / q_l` is within one ulp of
        // `s` always, and equal to `s` except for about one scale in 3 million at these primes
        // (see `mul_const_rescale_keeps_the_scale_exactly_for_every_scale`).
        let (f, ev) = (n12(), &n12().eval);
        let mut ca = f.encrypt_at(&a, level, seed);
        ca.set_scale(2f64.powf(log_scale));
        let out = ev.rescale(&ev.mul_const(&ca, c).unwrap()).unwrap();
        prop_assert_eq!(out.level(), level - 1);
        prop_assert!((out.scale() / ca.scale() - 1.0).abs() <= f64::EPSILON, "scale 2^{} at level {}", log_scale, level);
    }

    #[test]
    fn mul_relinearize_rescale(a in slots(N12_SLOTS), b in slots(N12_SLOTS), level in 1..=6usize, seed in any::<u64>()) {
        let (f, ev) = (n12(), &n12().eval);
        let (ca, cb) = (f.encrypt_at(&a, level, seed), f.encrypt_at(&b, level, seed ^ 1));
        let expected = zip(&a, &b, |x, y| x * y);
        let t = ev.mul(&ca, &cb).unwrap();
        prop_assert_eq!((t.size(), t.level(), t.scale()), (3, level, f.scale() * f.scale()));
        check_precision("mul (size 3, no relin)", &expected, &f.decrypt(&t), PRODUCT_BITS);
        let r = ev.relinearize(&t).unwrap();
        prop_assert_eq!((r.size(), r.level(), r.scale()), (2, level, t.scale()));
        check_precision("mul+relinearize", &expected, &f.decrypt(&r), PRODUCT_BITS);
        let out = ev.rescale(&r).unwrap();
        prop_assert_eq!((out.size(), out.level()), (2, level - 1));
        check_precision("mul+relinearize+rescale", &expected, &f.decrypt(&out), PRODUCT_BITS);
        // The fused operation is the same computation.
        let fused = ev.mul_relin_rescale(&ca, &cb).unwrap();
        prop_assert_eq!((fused.level(), fused.scale()), (out.level(), out.scale()));
        prop_assert_eq!(fused.components()[0].data(), out.components()[0].data());
        // Squaring.
        let sq = ev.mul_relin_rescale(&ca, &ca).unwrap();
        check_precision("square", &a.iter().map(|&x| x * x).collect::<Vec<_>>(), &f.decrypt(&sq), PRODUCT_BITS);
    }

    #[test]
    fn product_chain_down_to_level_0(values in proptest::collection::vec(slots(N12_SLOTS), 7), seed in any::<u64>()) {
        // values on the unit disk; the running product of the first factors and of fresh ones
        // encrypted at the running level, one level per product, until level 0.
        let (f, ev) = (n12(), &n12().eval);
        let mut expected = values[0].clone();
        let mut acc = f.encrypt(&values[0], seed);
        for (i, v) in values.iter().enumerate().skip(1) {
            let ct = f.encrypt_at(v, acc.level(), seed.wrapping_add(i as u64));
            acc = ev.mul_relin_rescale(&acc, &ct).unwrap();
            expected = zip(&expected, v, |x, y| x * y);
            check_precision(&format!("product chain at level {}", acc.level()), &expected, &f.decrypt(&acc),
                CHAIN_BITS);
        }
        prop_assert_eq!(acc.level(), 0);
        check_precision("product chain (level 0)", &expected, &f.decrypt(&acc), CHAIN_BITS);
        prop_assert!(ev.rescale(&acc).is_err());
    }

    #[test]
    fn unit_modulus_product_chain_down_to_level_0(
        values in proptest::collection::vec(proptest::collection::vec(unit(), N12_SLOTS), 7),
        seed in any::<u64>(),
    ) {
        // |x| = 1 in every slot: the product keeps magnitude 1, so the error is not hidden by
        // messages that shrink towards zero.
        let (f, ev) = (n12(), &n12().eval);
        let mut expected = values[0].clone();
        let mut acc = f.encrypt(&values[0], seed);
        for (i, v) in values.iter().enumerate().skip(1) {
            let fresh = f.encrypt(v, seed.wrapping_add(i as u64));
            let ct = ev.drop_to_level(&fresh, acc.level()).unwrap();
            acc = ev.mul_relin_rescale(&acc, &ct).unwrap();
            expected = zip(&expected, v, |x, y| x * y);
        }
        prop_assert_eq!(acc.level(), 0);
        check_precision("unit product chain (level 0)", &expected, &f.decrypt(&acc), CHAIN_BITS);
    }

    #[test]
    fn drop_to_level_then_add(a in slots(N12_SLOTS), b in slots(N12_SLOTS), level in 0..=5usize, seed in any::<u64>()) {
        let (f, ev) = (n12(), &n12().eval);
        let (a, b) = (halve(&a), halve(&b));
        let high = f.encrypt(&a, seed);
        let low = f.encrypt_at(&b, level, seed ^ 1);
        prop_assert!(ev.add(&high, &low).is_err());
        let dropped = ev.drop_to_level(&high, level).unwrap();
        prop_assert_eq!((dropped.level(), dropped.scale()), (level, high.scale()));
        check_precision("drop_to_level", &a, &f.decrypt(&dropped), LINEAR_BITS);
        let sum = ev.add(&dropped, &low).unwrap();
        check_precision("drop_to_level+add", &zip(&a, &b, |x, y| x + y), &f.decrypt(&sum), LINEAR_BITS);
    }

    /// `mul_const_to` lands on the level and the exact scale asked for, from any scale, with
    /// the constant applied; it refuses a level at or above the ciphertext's.
    #[test]
    fn mul_const_to_lands_on_the_level_and_scale(
        a in slots(N12_SLOTS),
        c in -2.0..2.0f64,
        drift in 0.9..1.1f64,
        level in 0..=4usize,
        seed in any::<u64>(),
    ) {
        let (f, ev) = (n12(), &n12().eval);
        // One or two levels above the target, up to the top (6).
        let mut ca = f.encrypt_at(&halve(&a), level + 1 + (seed % 2) as usize, seed);
        ca.set_scale(f.scale() * drift);
        let out = ev.mul_const_to(&ca, c, level, f.scale()).unwrap();
        prop_assert_eq!((out.level(), out.scale()), (level, f.scale()));
        let expected: Vec<Complex> = a.iter().map(|&z| z * (0.5 * c / drift)).collect();
        check_precision("mul_const_to", &expected, &f.decrypt(&out), PRODUCT_BITS);
        prop_assert!(ev.mul_const_to(&ca, c, ca.level(), f.scale()).is_err());
    }

    /// The fused sum of constant multiples equals the per-term `mul_const_at_scale` sum
    /// bit for bit, reads terms from higher levels, and decrypts to `sum c_j z_j`.
    #[test]
    fn sum_mul_const_at_scale_matches_the_per_term_sum(
        values in proptest::collection::vec(slots(N12_SLOTS), 1..5),
        consts in proptest::collection::vec(-2.0..2.0f64, 4),
        level in 1..=5usize,
        seed in any::<u64>(),
    ) {
        let (f, ev) = (n12(), &n12().eval);
        let target = f.scale() * f.params.q_basis().modulus(level).value() as f64;
        let cts: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(j, v)| f.encrypt_at(&halve(v), level + j % 2, seed ^ j as u64))
            .collect();
        let terms: Vec<_> = cts.iter().zip(&consts).map(|(ct, &c)| (ct, c, target / ct.scale())).collect();
        let fused = ev.sum_mul_const_at_scale(&terms, level).unwrap();
        let mut expected: Option<ckks_scheme::Ciphertext> = None;
        for &(ct, c, s) in &terms {
            let t = ev.mul_const_at_scale(&ev.drop_to_level(ct, level).unwrap(), c, s).unwrap();
            match expected.as_mut() {
                Some(acc) => ev.add_assign(acc, &t).unwrap(),
                None => expected = Some(t),
            }
        }
        let expected = expected.unwrap();
        prop_assert_eq!((fused.level(), fused.scale()), (level, expected.scale()));
        prop_assert_eq!(f.decrypt(&fused), f.decrypt(&expected));
        let plain: Vec<Complex> = (0..N12_SLOTS)
            .map(|i| values.iter().zip(&consts).map(|(v, &c)| v[i] * 0.5 * c).fold(Complex::ZERO, |a, b| a + b))
            .collect();
        let out = ev.rescale(&fused).unwrap();
        check_precision("sum_mul_const_at_scale", &plain, &f.decrypt(&out), PRODUCT_BITS);
        // A term below the level, or no term at all, is refused.
        prop_assert!(ev.sum_mul_const_at_scale(&terms, level + 2).is_err());
        prop_assert!(ev.sum_mul_const_at_scale(&[], level).is_err());
    }
}

#[test]
fn mul_const_rescale_keeps_the_scale_exactly_along_a_product_chain() {
    // The scales a computation really meets: 2^40, then 2^80 / q_6, ... down to level 1.
    let f = n12();
    let v = vec![Complex::new(0.5, 0.25); 4];
    let mut ct = f.encrypt(&v, 1);
    while ct.level() >= 1 {
        let out = f.eval.rescale(&f.eval.mul_const(&ct, 0.75).unwrap()).unwrap();
        assert_eq!(out.scale(), ct.scale(), "level {}", ct.level());
        if ct.level() == 1 {
            break;
        }
        let fresh = f.encrypt_at(&v, ct.level(), 7);
        ct = f.eval.mul_relin_rescale(&ct, &fresh).unwrap();
    }
}

#[test]
fn mul_const_rescale_keeps_the_scale_exactly_for_every_scale() {
    let f = n12();
    // (level, scale) pairs found by search over random scales in [2^39, 2^41).
    for (level, scale) in [
        (1, 1550828437114.664),
        (2, 1359167978158.753),
        (3, 1767777284175.0557),
        (4, 913008972347.3424),
        (5, 2109531549829.7725),
        (6, 1896077264164.8179),
    ] {
        let mut ct = f.encrypt_at(&[Complex::ONE], level, 2);
        ct.set_scale(scale);
        let out = f.eval.rescale(&f.eval.mul_const(&ct, 0.5).unwrap()).unwrap();
        assert_eq!(out.scale(), scale, "level {level}: scale {scale:?} became {:?}", out.scale());
    }
}
