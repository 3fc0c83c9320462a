//! Keys and their generation.
//!
//! The secret key lives only with the client ([`SecretKey`], deliberately not `Serialize`
//! through the public-key types). What the server gets is [`EvaluationKeys`]: a public key, a
//! relinearization key and Galois keys, none of which contains or derives the secret; an
//! [`crate::Evaluator`] is built from `EvaluationKeys` alone, so server code cannot decrypt by
//! construction.

use crate::keyswitch::{KeyDigit, SwitchingKey};
use crate::{Parameters, SchemeError};
use ckks_math::automorphism::conjugation_galois_element;
use ckks_math::sampling::{Sampler, SIGMA};
use ckks_math::{Representation, RnsBasis, RnsPoly};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The secret key `s`, a small polynomial (ternary or sparse ternary), kept in NTT form over
/// `Q` and `P`. Only the client holds one; its memory is wiped on drop.
pub struct SecretKey {
    pub(crate) params: Parameters,
    pub(crate) coeffs: Vec<i64>,
    pub(crate) s_q: RnsPoly,
    pub(crate) s_p: RnsPoly,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        // Best effort: overwrite the secret before the allocation is returned (black_box keeps
        // the compiler from dropping the stores as dead).
        self.coeffs.fill(0);
        self.s_q.data_mut().fill(0);
        self.s_p.data_mut().fill(0);
        std::hint::black_box((&self.coeffs, self.s_q.data(), self.s_p.data()));
    }
}

impl SecretKey {
    /// The parameters of the key.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// Rebuilds a secret key from its small coefficients (the client's key file).
    pub fn from_coeffs(params: &Parameters, coeffs: Vec<i64>) -> Result<Self, SchemeError> {
        if coeffs.len() != params.degree() || coeffs.iter().any(|c| c.abs() > 1) {
            return Err(SchemeError::InvalidParameters {
                reason: format!(
                    "secret key must have {} ternary coefficients, got {} values",
                    params.degree(),
                    coeffs.len()
                ),
            });
        }
        let to_ntt = |b: &Arc<RnsBasis>| -> Result<RnsPoly, SchemeError> {
            let mut p = RnsPoly::from_signed(b, b.len(), &coeffs)?;
            p.to_ntt();
            Ok(p)
        };
        let s_q = to_ntt(params.q_basis())?;
        let s_p = to_ntt(params.p_basis())?;
        Ok(Self { params: params.clone(), coeffs, s_q, s_p })
    }

    /// The small coefficients of `s`, for saving the client's key.
    pub fn coeffs(&self) -> &[i64] {
        &self.coeffs
    }
}

/// The public encryption key `(b, a) = (-a*s + e, a)` over `Q`, NTT form.
#[derive(Clone, Debug)]
pub struct PublicKey {
    pub(crate) params: Parameters,
    pub(crate) b: RnsPoly,
    pub(crate) a: RnsPoly,
    /// `a` is the expansion of this seed (stored instead of `a`).
    pub(crate) a_seed: [u8; 32],
}

impl PublicKey {
    /// The parameters of the key.
    pub fn params(&self) -> &Parameters {
        &self.params
    }
}

/// Switches `s^2` to `s` after a ciphertext product.
#[derive(Clone, Debug)]
pub struct RelinearizationKey(pub(crate) SwitchingKey);

/// Switching keys from `s(X^k)` to `s`, by Galois element `k`.
#[derive(Clone, Debug, Default)]
pub struct GaloisKeys {
    pub(crate) keys: BTreeMap<usize, SwitchingKey>,
}

impl GaloisKeys {
    /// The Galois elements that have keys.
    pub fn elements(&self) -> impl Iterator<Item = usize> + '_ {
        self.keys.keys().copied()
    }

    /// The key of element `k`, if present.
    pub fn get(&self, k: usize) -> Option<&SwitchingKey> {
        self.keys.get(&k)
    }

    /// Total size in bytes.
    pub fn size_bytes(&self) -> usize {
        self.keys.values().map(|k| k.size_bytes()).sum()
    }
}

/// Everything the server needs and nothing it must not have: public key, relinearization key
/// and Galois keys.
#[derive(Clone, Debug)]
pub struct EvaluationKeys {
    /// Parameters of all keys.
    pub params: Parameters,
    /// Public key (lets the server encrypt constants and fresh values).
    pub public: PublicKey,
    /// Relinearization key, if products are needed.
    pub relinearization: Option<RelinearizationKey>,
    /// Rotation and conjugation keys.
    pub galois: GaloisKeys,
}

/// Generates keys from a ChaCha20 stream (OS entropy, or a seed for reproducible tests).
pub struct KeyGenerator {
    params: Parameters,
    sampler: Sampler,
}

impl KeyGenerator {
    /// A generator seeded from OS entropy.
    pub fn new(params: &Parameters) -> Self {
        Self { params: params.clone(), sampler: Sampler::from_entropy() }
    }

    /// A deterministic generator, for tests and reproducible examples only.
    pub fn from_seed(params: &Parameters, seed: [u8; 32]) -> Self {
        Self { params: params.clone(), sampler: Sampler::from_seed(seed) }
    }

    /// A generator for other parameters (for instance the encapsulation parameters of
    /// bootstrapping), seeded from this one's stream: deterministic when this one is.
    pub fn fork(&mut self, params: &Parameters) -> KeyGenerator {
        Self { params: params.clone(), sampler: Sampler::from_seed(self.sampler.fresh_seed()) }
    }

    /// A fresh secret key from the parameters' distribution.
    pub fn secret_key(&mut self) -> Result<SecretKey, SchemeError> {
        use crate::security::SecretDistribution::*;
        let n = self.params.degree();
        let coeffs = match self.params.secret_distribution() {
            Ternary => self.sampler.ternary(n),
            SparseTernary { hamming_weight } => self.sampler.ternary_hamming(n, hamming_weight)?,
            Gaussian => {
                return Err(SchemeError::InvalidParameters {
                    reason: "Gaussian secrets are not supported by the key generator; use a ternary secret".into(),
                })
            }
        };
        SecretKey::from_coeffs(&self.params, coeffs)
    }

    /// Uniform polynomials over each of `bases`, directly in NTT form (the NTT of a uniform
    /// polynomial is uniform), expanded from one fresh 32-byte seed so that the key can be
    /// stored as the seed alone ([`expand_seeded`]).
    fn uniform_seeded(&mut self, bases: &[&Arc<RnsBasis>]) -> Result<([u8; 32], Vec<RnsPoly>), SchemeError> {
        let seed = self.sampler.fresh_seed();
        Ok((seed, expand_seeded(seed, bases)?))
    }

    /// Gaussian error (sigma = 3.2) reduced over `basis`, NTT form.
    fn error(&mut self, bases: &[&Arc<RnsBasis>]) -> Result<Vec<RnsPoly>, SchemeError> {
        let e = self.sampler.gaussian(self.params.degree(), SIGMA)?;
        bases
            .iter()
            .map(|b| {
                let mut p = RnsPoly::from_signed(b, b.len(), &e)?;
                p.to_ntt();
                Ok(p)
            })
            .collect()
    }

    /// The public key `(-a*s + e, a)`.
    pub fn public_key(&mut self, sk: &SecretKey) -> Result<PublicKey, SchemeError> {
        self.params.check_same("public_key", &sk.params)?;
        let q = self.params.q_basis().clone();
        let (a_seed, mut a) = self.uniform_seeded(&[&q])?;
        let a = a.remove(0);
        let mut b = self.error(&[&q])?.remove(0);
        let mut as_ = a.clone();
        as_.mul_assign(&sk.s_q)?;
        b.sub_assign(&as_)?;
        Ok(PublicKey { params: self.params.clone(), b, a, a_seed })
    }

    /// A switching key from `s'` (given in NTT form over `Q` and `P`) to `sk`.
    fn switching_key(&mut self, sk: &SecretKey, sp_q: &RnsPoly) -> Result<SwitchingKey, SchemeError> {
        let params = self.params.clone();
        let (q, p) = (params.q_basis().clone(), params.p_basis().clone());
        let n = params.degree();
        // [P]_{q_i} for every prime of Q.
        let p_mod_q: Vec<u64> = q.moduli().iter().map(|m| m.product_of(p.moduli())).collect();
        let mut digits = Vec::with_capacity(params.dnum());
        for j in 0..params.dnum() {
            let (a_seed, mut a) = self.uniform_seeded(&[&q, &p])?;
            let (a_q, a_p) = (a.remove(0), a.remove(0));
            let mut e = self.error(&[&q, &p])?;
            let (mut b_q, mut b_p) = (e.remove(0), e.remove(0));
            let mut t = a_q.clone();
            t.mul_assign(&sk.s_q)?;
            b_q.sub_assign(&t)?;
            let mut t = a_p.clone();
            t.mul_assign(&sk.s_p)?;
            b_p.sub_assign(&t)?;
            // + P * g_j * s': only the limbs of digit j of Q change (P * s' vanishes mod P).
            for i in params.digits()[j].clone() {
                let m = *q.modulus(i);
                let src = sp_q.limb(i).to_vec();
                let (w, ws) = (p_mod_q[i], m.shoup(p_mod_q[i]));
                for (x, s) in b_q.limb_mut(i).iter_mut().zip(src) {
                    *x = m.add(*x, m.mul_shoup(s, w, ws));
                }
            }
            debug_assert_eq!(b_q.degree(), n);
            digits.push(KeyDigit { b_q, b_p, a_q, a_p, a_seed });
        }
        SwitchingKey::from_digits(params, digits)
    }

    /// A key that switches ciphertexts under `from` to ciphertexts under `to` (both keys of
    /// these parameters), for [`crate::Evaluator::switch_key`]. Bootstrapping uses it to move
    /// between the dense main key and an ephemeral sparse key. The key is an encryption of
    /// `from` under `to`: it is as secure as `to` is at `log QP` of these parameters.
    pub fn switching_key_between(&mut self, from: &SecretKey, to: &SecretKey) -> Result<SwitchingKey, SchemeError> {
        self.params.check_same("switching_key_between", &from.params)?;
        self.params.check_same("switching_key_between", &to.params)?;
        self.switching_key(to, &from.s_q)
    }

    /// The relinearization key (switches `s^2` to `s`).
    pub fn relinearization_key(&mut self, sk: &SecretKey) -> Result<RelinearizationKey, SchemeError> {
        self.params.check_same("relinearization_key", &sk.params)?;
        let mut s2 = sk.s_q.clone();
        s2.mul_assign(&sk.s_q)?;
        Ok(RelinearizationKey(self.switching_key(sk, &s2)?))
    }

    /// The Galois key of element `k` (switches `s(X^k)` to `s`).
    pub fn galois_key(&mut self, sk: &SecretKey, k: usize) -> Result<SwitchingKey, SchemeError> {
        self.params.check_same("galois_key", &sk.params)?;
        let sk_k = sk.s_q.automorphism(k)?;
        self.switching_key(sk, &sk_k)
    }

    /// Galois keys for slot rotations by each of `rotations` (left, negative = right) and, if
    /// asked, for conjugation.
    pub fn galois_keys(
        &mut self,
        sk: &SecretKey,
        rotations: &[i64],
        conjugation: bool,
    ) -> Result<GaloisKeys, SchemeError> {
        let mut keys = GaloisKeys::default();
        let mut elements: Vec<usize> = rotations.iter().map(|&r| rotation_element(&self.params, r)).collect();
        if conjugation {
            elements.push(conjugation_galois_element(self.params.degree()));
        }
        for k in elements {
            if k != 1 && !keys.keys.contains_key(&k) {
                let key = self.galois_key(sk, k)?;
                keys.keys.insert(k, key);
            }
        }
        Ok(keys)
    }

    /// Adds the Galois keys of `elements` that `keys` lacks (element 1, the identity, needs
    /// none). Bootstrapping lists its elements with `Bootstrapper::galois_elements`.
    pub fn extend_galois_keys(
        &mut self,
        sk: &SecretKey,
        keys: &mut GaloisKeys,
        elements: &[usize],
    ) -> Result<(), SchemeError> {
        self.extend_galois_keys_at(sk, keys, elements, self.params.max_level())
    }

    /// [`KeyGenerator::extend_galois_keys`] with the new keys truncated to `level`
    /// ([`SwitchingKey::truncate`]): smaller keys for rotations that are only ever needed at or
    /// below `level`. Keys already in `keys` are left as they are.
    pub fn extend_galois_keys_at(
        &mut self,
        sk: &SecretKey,
        keys: &mut GaloisKeys,
        elements: &[usize],
        level: usize,
    ) -> Result<(), SchemeError> {
        for &k in elements {
            if k != 1 && !keys.keys.contains_key(&k) {
                let mut key = self.galois_key(sk, k)?;
                key.truncate(level)?;
                keys.keys.insert(k, key);
            }
        }
        Ok(())
    }

    /// The server's bundle: public key, relinearization key, Galois keys for `rotations`
    /// (and conjugation if asked).
    pub fn evaluation_keys(
        &mut self,
        sk: &SecretKey,
        rotations: &[i64],
        conjugation: bool,
    ) -> Result<EvaluationKeys, SchemeError> {
        Ok(EvaluationKeys {
            params: self.params.clone(),
            public: self.public_key(sk)?,
            relinearization: Some(self.relinearization_key(sk)?),
            galois: self.galois_keys(sk, rotations, conjugation)?,
        })
    }
}

/// The Galois element of a left rotation by `r` slots (negative: right), canonical modulo the
/// slot count so that one key serves every equivalent rotation.
pub fn rotation_element(params: &Parameters, r: i64) -> usize {
    rotation_element_in(params.degree(), params.slots(), r)
}

/// [`rotation_element`] for a view of `slots` slots of the ring of degree `degree` (another
/// slot count than the parameters', [`crate::Encoder::with_slots`]): `5^(r mod slots) mod 2N`.
pub(crate) fn rotation_element_in(degree: usize, slots: usize, r: i64) -> usize {
    ckks_math::automorphism::rotation_galois_element(r.rem_euclid(slots as i64), degree)
}

/// The uniform polynomials (NTT form) over each of `bases`, expanded from `seed` as one
/// ChaCha20 stream over the concatenated primes. Deterministic: the serialized form of keys
/// stores only the seed.
pub(crate) fn expand_seeded(seed: [u8; 32], bases: &[&Arc<RnsBasis>]) -> Result<Vec<RnsPoly>, SchemeError> {
    let moduli: Vec<_> = bases.iter().flat_map(|b| b.moduli().iter().copied()).collect();
    let n = bases[0].degree();
    let mut data = ckks_math::sampling::expand_uniform(seed, &moduli, n);
    let mut out = Vec::with_capacity(bases.len());
    for b in bases {
        let rest = data.split_off(b.len() * n);
        out.push(RnsPoly::from_data(b, b.len(), Representation::Ntt, data)?);
        data = rest;
    }
    Ok(out)
}
