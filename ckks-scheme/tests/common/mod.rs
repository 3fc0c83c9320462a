//! Shared fixture of the integration tests: parameter sets and keys built once per test binary
//! (`OnceLock`) from fixed seeds, strategies for slot vectors, and precision measurement.
//!
//! Precision is `-log2` of the largest absolute slot error, for messages of magnitude at most 1:
//! `b` bits means every slot is within `2^-b` of the expected value.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use ckks_scheme::{
    Ciphertext, Complex, Decryptor, Encoder, Encryptor, EvaluationKeys, Evaluator, KeyGenerator, Parameters, Preset,
    SecretKey,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::sync::{Arc, OnceLock};

/// Slots of [`n12`] (`N = 2^12`, full packing).
pub const N12_SLOTS: usize = 2048;
/// Slots of [`sparse`] (`N = 2^11` with sparse packing).
pub const SPARSE_SLOTS: usize = 64;
/// Bits of precision of a fresh encryption at `N = 2^12`, scale `2^40`. The decryption noise
/// `v e + e_0 + e_1 s` (ternary `v`, `s` with density 2/3, Gaussian errors with sigma 3.2) has
/// coefficients of standard deviation `sqrt(2 * N * 2/3) * 3.2 ~ 2^7.9`, hence slot errors of
/// standard deviation `sqrt(N) * 2^7.9 ~ 2^13.9` and a maximum over 2048 slots near `2^15.5`:
/// about 24.5 bits at scale `2^40` (23.7 to 24.4 measured). The bound leaves one bit of margin.
pub const N12_FRESH_BITS: f64 = 23.0;
/// Rotations whose keys every fixture has (besides conjugation).
pub const FIXED_ROTATIONS: [i64; 3] = [1, -1, 5];

/// Parameters, secret key, evaluation keys, encoder and evaluator of one parameter set.
pub struct Fixture {
    pub params: Parameters,
    pub sk: SecretKey,
    pub keys: Arc<EvaluationKeys>,
    pub encoder: Encoder,
    pub eval: Evaluator,
}

impl Fixture {
    /// Keys from `KeyGenerator::from_seed([seed; 32])`: relinearization, conjugation and the
    /// [`FIXED_ROTATIONS`].
    fn new(params: Parameters, seed: u8) -> Self {
        let mut keygen = KeyGenerator::from_seed(&params, [seed; 32]);
        let sk = keygen.secret_key().expect("secret key");
        let keys = Arc::new(keygen.evaluation_keys(&sk, &FIXED_ROTATIONS, true).expect("evaluation keys"));
        let encoder = Encoder::new(&params);
        let eval = Evaluator::new(keys.clone());
        Self { params, sk, keys, encoder, eval }
    }

    /// The top level `L`.
    pub fn top(&self) -> usize {
        self.params.max_level()
    }

    /// The default scale `2^40`.
    pub fn scale(&self) -> f64 {
        self.params.default_scale()
    }

    /// A deterministic encryptor (seed spread over the 32 bytes).
    pub fn encryptor(&self, seed: u64) -> Encryptor {
        Encryptor::from_seed(&self.keys.public, seed_bytes(seed))
    }

    /// Encodes `values` at `level` and the default scale and encrypts them.
    pub fn encrypt_at(&self, values: &[Complex], level: usize, seed: u64) -> Ciphertext {
        let pt = self.encoder.encode(values, level, self.scale()).expect("encode");
        self.encryptor(seed).encrypt(&pt).expect("encrypt")
    }

    /// [`Fixture::encrypt_at`] the top level.
    pub fn encrypt(&self, values: &[Complex], seed: u64) -> Ciphertext {
        self.encrypt_at(values, self.top(), seed)
    }

    /// Decrypts and decodes all slots.
    pub fn decrypt(&self, ct: &Ciphertext) -> Vec<Complex> {
        let pt = Decryptor::new(&self.sk).decrypt(ct).expect("decrypt");
        self.encoder.decode(&pt).expect("decode")
    }

    /// An evaluator whose Galois keys are generated now for `rotations` (and conjugation if
    /// asked), under the fixture's secret key; relinearization key of the fixture.
    pub fn evaluator_with_rotations(&self, rotations: &[i64], conjugation: bool, seed: u64) -> Evaluator {
        let mut keygen = KeyGenerator::from_seed(&self.params, seed_bytes(seed));
        let galois = keygen.galois_keys(&self.sk, rotations, conjugation).expect("galois keys");
        Evaluator::new(Arc::new(EvaluationKeys {
            params: self.params.clone(),
            public: self.keys.public.clone(),
            relinearization: self.keys.relinearization.clone(),
            galois,
        }))
    }
}

/// `InsecureTestN12`: `N = 2^12`, 2048 slots, 6 levels, scale `2^40`.
pub fn n12() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let f = Fixture::new(Preset::InsecureTestN12.build().expect("N12 parameters"), 12);
        assert_eq!(f.params.slots(), N12_SLOTS);
        f
    })
}

/// `InsecureTestN11`: `N = 2^11`, 1024 slots, 4 levels (a second preset, for mismatches).
pub fn n11() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture::new(Preset::InsecureTestN11.build().expect("N11 parameters"), 11))
}

/// `N = 2^11` with 64 slots (sparse packing), otherwise `InsecureTestN11`.
pub fn sparse() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let params = Preset::InsecureTestN11
            .builder()
            .slots(SPARSE_SLOTS)
            .name("sparse64")
            .build_insecure()
            .expect("sparse parameters");
        let f = Fixture::new(params, 64);
        assert_eq!(f.params.slots(), SPARSE_SLOTS);
        f
    })
}

/// 32 seed bytes from a `u64` (little-endian, repeated).
pub fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    out
}

/// Few cases (each does real cryptography) and a bounded shrink.
pub fn config(cases: u32) -> Config {
    // No regression files: integration tests have no lib.rs for proptest to anchor them to, and
    // a failure prints its minimal input anyway.
    Config { cases, max_shrink_iters: 32, failure_persistence: None, ..Config::default() }
}

/// A complex number in the unit disk (`|z| <= 1`).
pub fn complex() -> impl Strategy<Value = Complex> {
    (0.0..1.0f64, 0.0..std::f64::consts::TAU).prop_map(|(r, theta)| Complex::from_polar(r, theta))
}

/// A complex number on the unit circle (`|z| = 1`): products of them keep magnitude 1.
pub fn unit() -> impl Strategy<Value = Complex> {
    (0.0..std::f64::consts::TAU).prop_map(|theta| Complex::from_polar(1.0, theta))
}

/// Exactly `n` slot values in the unit disk.
pub fn slots(n: usize) -> impl Strategy<Value = Vec<Complex>> {
    proptest::collection::vec(complex(), n)
}

/// `values` padded with zeros to `n` slots.
pub fn padded(values: &[Complex], n: usize) -> Vec<Complex> {
    let mut v = values.to_vec();
    v.resize(n, Complex::ZERO);
    v
}

/// `z` rotated left by `r`: slot `j` is `z[(j + r) mod n]`.
pub fn rotated(z: &[Complex], r: i64) -> Vec<Complex> {
    let n = z.len() as i64;
    (0..n).map(|j| z[(j + r).rem_euclid(n) as usize]).collect()
}

/// Largest absolute slot error.
pub fn max_error(expected: &[Complex], got: &[Complex]) -> f64 {
    assert_eq!(expected.len(), got.len(), "slot counts differ");
    expected.iter().zip(got).map(|(e, g)| (*e - *g).norm()).fold(0.0, f64::max)
}

/// `-log2(max_error)` (capped at 60 bits for exact results).
pub fn precision_bits(expected: &[Complex], got: &[Complex]) -> f64 {
    (-max_error(expected, got).log2()).min(60.0)
}

/// Measures the precision of `op`, prints it (`PRECISION <op> <bits>`, shown with
/// `--nocapture`) and asserts it is at least `min_bits`.
pub fn check_precision(op: &str, expected: &[Complex], got: &[Complex], min_bits: f64) -> f64 {
    let bits = precision_bits(expected, got);
    eprintln!("PRECISION {op} {bits:.2}");
    assert!(bits >= min_bits, "{op}: {bits:.2} bits of precision, below the required {min_bits}");
    bits
}
