//! Encoding and encryption round trips against the plain slot values: full and partial slot
//! vectors, real and complex values, every level, sparse packing.

mod common;

use ckks_scheme::{Complex, Decryptor, SymmetricEncryptor};
use common::*;
use proptest::prelude::*;

/// Encoding at scale `2^40` loses only the rounding of the coefficients.
const ENCODE_BITS: f64 = 30.0;
/// A fresh encryption adds the encryption noise: 25 bits are out of reach at `N = 2^12` by the
/// max-error measure (see [`N12_FRESH_BITS`]), and reached at `N = 2^11` with 64 slots, where
/// only the projection of the noise on the sparse subring reaches the slots.
const FRESH_BITS: f64 = N12_FRESH_BITS;
/// A fresh encryption with sparse packing (64 slots of `N = 2^11`): about 27 bits expected.
const SPARSE_FRESH_BITS: f64 = 25.0;

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn encode_decode_round_trip(
        values in proptest::collection::vec(complex(), 0..=N12_SLOTS),
        level in 0..=6usize,
    ) {
        let f = n12();
        let pt = f.encoder.encode(&values, level, f.scale()).unwrap();
        prop_assert_eq!(pt.level(), level);
        prop_assert_eq!(pt.scale(), f.scale());
        let out = f.encoder.decode(&pt).unwrap();
        check_precision("encode/decode", &padded(&values, N12_SLOTS), &out, ENCODE_BITS);
    }

    #[test]
    fn fresh_encryption_decrypts_to_the_message(values in slots(N12_SLOTS), seed in any::<u64>()) {
        let f = n12();
        let ct = f.encrypt(&values, seed);
        prop_assert_eq!(ct.level(), f.top());
        prop_assert_eq!(ct.scale(), f.scale());
        prop_assert_eq!(ct.size(), 2);
        check_precision("encrypt/decrypt", &values, &f.decrypt(&ct), FRESH_BITS);
    }
}

/// Secret-key encryption (what the HETAL client uses): one Gaussian of noise instead of
/// `v e + e_0 + e_1 s`, so the 25 bits at scale `2^40` hold at `N = 2^12` too.
const SYMMETRIC_FRESH_BITS: f64 = 25.0;

proptest! {
    #![proptest_config(config(8))]

    #[test]
    fn secret_key_encryption_reaches_25_bits(values in slots(N12_SLOTS), seed in any::<u64>()) {
        let f = n12();
        let pt = f.encoder.encode(&values, f.top(), f.scale()).unwrap();
        let seeded = SymmetricEncryptor::from_seed(&f.sk, seed_bytes(seed)).encrypt(&pt).unwrap();
        let ct = seeded.expand().unwrap();
        check_precision("symmetric encrypt/decrypt", &values, &f.decrypt(&ct), SYMMETRIC_FRESH_BITS);
    }

    #[test]
    fn real_values_round_trip_with_zero_imaginary_parts(
        values in proptest::collection::vec(-1.0..1.0f64, 1..=N12_SLOTS),
        seed in any::<u64>(),
    ) {
        let f = n12();
        let pt = f.encoder.encode_real(&values, f.top(), f.scale()).unwrap();
        let expected: Vec<Complex> = padded(&values.iter().map(|&x| x.into()).collect::<Vec<_>>(), N12_SLOTS);
        check_precision("encode_real/decode", &expected, &f.encoder.decode(&pt).unwrap(), ENCODE_BITS);
        let ct = f.encryptor(seed).encrypt(&pt).unwrap();
        let dec = Decryptor::new(&f.sk).decrypt(&ct).unwrap();
        let real = f.encoder.decode_real(&dec).unwrap();
        prop_assert_eq!(real.len(), N12_SLOTS);
        let real: Vec<Complex> = real.into_iter().map(Complex::from).collect();
        check_precision("encrypt_real/decrypt_real", &expected, &real, FRESH_BITS);
    }

    #[test]
    fn sparse_slots_round_trip(values in slots(SPARSE_SLOTS), seed in any::<u64>()) {
        let f = sparse();
        let pt = f.encoder.encode(&values, f.top(), f.scale()).unwrap();
        let decoded = f.encoder.decode(&pt).unwrap();
        prop_assert_eq!(decoded.len(), SPARSE_SLOTS);
        check_precision("sparse encode/decode", &values, &decoded, ENCODE_BITS);
        let ct = f.encryptor(seed).encrypt(&pt).unwrap();
        check_precision("sparse encrypt/decrypt", &values, &f.decrypt(&ct), SPARSE_FRESH_BITS);
    }
}

#[test]
fn round_trips_at_every_level() {
    let f = n12();
    let values: Vec<Complex> = (0..N12_SLOTS).map(|j| Complex::from_polar(1.0 - j as f64 / 4096.0, j as f64)).collect();
    for level in 0..=f.top() {
        let pt = f.encoder.encode(&values, level, f.scale()).unwrap();
        assert_eq!(pt.level(), level);
        check_precision(&format!("encode/decode level {level}"), &values, &f.encoder.decode(&pt).unwrap(), ENCODE_BITS);
        let ct = f.encryptor(level as u64).encrypt(&pt).unwrap();
        assert_eq!((ct.level(), ct.scale()), (level, f.scale()));
        check_precision(&format!("encrypt/decrypt level {level}"), &values, &f.decrypt(&ct), FRESH_BITS);
    }
}

#[test]
fn encryption_is_randomized_but_reproducible_from_a_seed() {
    let f = n12();
    let values = vec![Complex::new(0.5, -0.25); 3];
    let a = f.encrypt(&values, 1);
    let b = f.encrypt(&values, 1);
    let c = f.encrypt(&values, 2);
    assert_eq!(a.components()[0].data(), b.components()[0].data());
    assert_ne!(a.components()[0].data(), c.components()[0].data());
    assert_ne!(a.components()[1].data(), c.components()[1].data());
    check_precision("encrypt/decrypt", &padded(&values, N12_SLOTS), &f.decrypt(&c), FRESH_BITS);
}
