//! Shared fixture of the integration tests: one secret key at `N = 2^11` (1024 slots, 4
//! levels, insecure test parameters), evaluators with exactly the rotation keys of a product
//! (cached per step set), encryption of a matrix, random matrices in `[-1, 1)`
//! (`hetal_linalg::testing`).
#![allow(dead_code)]

use hetal_linalg::ckks_scheme::{
    Decryptor, Encoder, Encryptor, EvaluationKeys, Evaluator, KeyGenerator, Parameters, Preset, PublicKey,
    RelinearizationKey, SecretKey,
};
pub use hetal_linalg::testing::random_matrix;
use hetal_linalg::{needs_conjugation, rotation_steps, Algorithm, EncryptedMatrix, Matrix, Tiling, UnitShape};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Largest absolute error accepted per unit of inner dimension (entries in `[-1, 1]`). A
/// result entry is a sum of up to `b` products; fresh encryption at scale `2^40` and
/// `N = 2^11` carries about `2^-26` of error per slot, and rescales, key switches, masks and
/// rotation ladders add a few dozen terms of that size: the tests measure at most `1.4e-7`
/// for inner dimensions up to 70. `1e-5 * max(b, 1)` leaves about two orders of magnitude of
/// margin and still catches any wrong diagonal, mask or wrap (errors of order 1).
pub const TOLERANCE_PER_TERM: f64 = 1e-5;

/// Evaluators by (rotation steps, conjugation key).
type EvaluatorCache = HashMap<(Vec<i64>, bool), Arc<Evaluator>>;

pub struct Fixture {
    pub params: Parameters,
    pub sk: SecretKey,
    pub public: PublicKey,
    pub relin: RelinearizationKey,
    pub encoder: Encoder,
    evaluators: Mutex<EvaluatorCache>,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let params = Preset::InsecureTestN11.build().expect("parameters");
        let mut kg = KeyGenerator::from_seed(&params, [11; 32]);
        let sk = kg.secret_key().expect("secret key");
        let public = kg.public_key(&sk).expect("public key");
        let relin = kg.relinearization_key(&sk).expect("relinearization key");
        let encoder = Encoder::new(&params);
        Fixture { params, sk, public, relin, encoder, evaluators: Mutex::new(HashMap::new()) }
    })
}

impl Fixture {
    pub fn slots(&self) -> usize {
        self.params.slots()
    }

    pub fn top(&self) -> usize {
        self.params.max_level()
    }

    pub fn scale(&self) -> f64 {
        self.params.default_scale()
    }

    /// An evaluator holding exactly the keys of `algs` for this unit shape and `c`.
    pub fn evaluator(&self, algs: &[Algorithm], unit: UnitShape, c: usize) -> Arc<Evaluator> {
        let mut steps: Vec<i64> = algs.iter().flat_map(|&a| rotation_steps(a, unit, c).expect("steps")).collect();
        steps.sort_unstable();
        steps.dedup();
        let conj = algs.iter().any(|&a| needs_conjugation(a));
        self.evaluator_with(steps, conj)
    }

    /// An evaluator with Galois keys for `steps` (and conjugation if asked).
    pub fn evaluator_with(&self, steps: Vec<i64>, conj: bool) -> Arc<Evaluator> {
        let mut cache = self.evaluators.lock().expect("lock");
        cache
            .entry((steps.clone(), conj))
            .or_insert_with(|| {
                let mut kg = KeyGenerator::from_seed(&self.params, [12; 32]);
                let galois = kg.galois_keys(&self.sk, &steps, conj).expect("galois keys");
                let keys = EvaluationKeys {
                    params: self.params.clone(),
                    public: self.public.clone(),
                    relinearization: Some(self.relin.clone()),
                    galois,
                };
                Arc::new(Evaluator::new(Arc::new(keys)))
            })
            .clone()
    }

    pub fn encryptor(&self, seed: u8) -> Encryptor {
        Encryptor::from_seed(&self.public, [seed; 32])
    }

    pub fn decryptor(&self) -> Decryptor<'_> {
        Decryptor::new(&self.sk)
    }

    /// `m` packed with `unit` and `tiling` and encrypted at `level` and the default scale.
    pub fn encrypt(
        &self,
        m: &Matrix,
        unit: UnitShape,
        tiling: Tiling,
        level: usize,
        enc: &mut Encryptor,
    ) -> EncryptedMatrix {
        EncryptedMatrix::encrypt(m, unit, tiling, level, self.scale(), &self.encoder, enc).expect("encrypt")
    }
}

/// The bound asserted for a product with inner dimension `inner`.
pub fn tolerance(inner: usize) -> f64 {
    TOLERANCE_PER_TERM * inner.max(1) as f64
}
