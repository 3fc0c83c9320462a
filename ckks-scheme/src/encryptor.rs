//! Public-key encryption and secret-key decryption.

use crate::ciphertext::{Ciphertext, Plaintext};
use crate::keys::{expand_seeded, PublicKey, SecretKey};
use crate::serialize::SeededCiphertext;
use crate::{Parameters, SchemeError};
use ckks_math::sampling::{Sampler, SIGMA};
use ckks_math::RnsPoly;

/// Encrypts plaintexts under a public key: `(v*b + e_0 + m, v*a + e_1)` with ternary `v` and
/// Gaussian `e_0, e_1` (sigma = 3.2). Either side may hold one.
pub struct Encryptor {
    pk: PublicKey,
    sampler: Sampler,
}

impl Encryptor {
    /// An encryptor with randomness from OS entropy.
    pub fn new(pk: &PublicKey) -> Self {
        Self { pk: pk.clone(), sampler: Sampler::from_entropy() }
    }

    /// A deterministic encryptor, for reproducible tests only.
    pub fn from_seed(pk: &PublicKey, seed: [u8; 32]) -> Self {
        Self { pk: pk.clone(), sampler: Sampler::from_seed(seed) }
    }

    /// Encrypts `pt` at its level and scale. Cost: `3 (l + 1)` NTTs and `2 (l + 1)` pointwise
    /// products.
    pub fn encrypt(&mut self, pt: &Plaintext) -> Result<Ciphertext, SchemeError> {
        let params = &self.pk.params;
        params.check_same("encrypt", &pt.params)?;
        let q = params.q_basis();
        let limbs = pt.level() + 1;
        let n = params.degree();
        let small = |coeffs: &[i64]| -> Result<RnsPoly, SchemeError> {
            let mut p = RnsPoly::from_signed(q, limbs, coeffs)?;
            p.to_ntt();
            Ok(p)
        };
        let v = small(&self.sampler.ternary(n))?;
        let e0 = small(&self.sampler.gaussian(n, SIGMA)?)?;
        let e1 = small(&self.sampler.gaussian(n, SIGMA)?)?;
        let mut b = self.pk.b.clone();
        b.drop_to_limbs(limbs)?;
        let mut a = self.pk.a.clone();
        a.drop_to_limbs(limbs)?;
        let mut c0 = e0;
        c0.add_mul_assign(&v, &b)?;
        c0.add_assign(&pt.poly)?;
        let mut c1 = e1;
        c1.add_mul_assign(&v, &a)?;
        Ok(Ciphertext { params: params.clone(), c: vec![c0, c1], scale: crate::scale::Scale::new(pt.scale) })
    }
}

/// Decrypts with the secret key: `m = c_0 + c_1 s [+ c_2 s^2]`. Client side only.
pub struct Decryptor<'a> {
    sk: &'a SecretKey,
}

impl<'a> Decryptor<'a> {
    /// A decryptor borrowing the secret key.
    pub fn new(sk: &'a SecretKey) -> Self {
        Self { sk }
    }

    /// The plaintext of `ct` (its level and scale). Cost: `size - 1` pointwise products.
    pub fn decrypt(&self, ct: &Ciphertext) -> Result<Plaintext, SchemeError> {
        let params: &Parameters = &self.sk.params;
        params.check_same("decrypt", &ct.params)?;
        let limbs = ct.level() + 1;
        let mut s = self.sk.s_q.clone();
        s.drop_to_limbs(limbs)?;
        let mut m = ct.c[0].clone();
        let mut s_pow = s.clone();
        for (i, c) in ct.c.iter().enumerate().skip(1) {
            if i > 1 {
                s_pow.mul_assign(&s)?;
            }
            m.add_mul_assign(c, &s_pow)?;
        }
        Ok(Plaintext { params: params.clone(), poly: m, scale: ct.scale() })
    }
}

/// Secret-key encryption (client side): `(-a*s + e + m, a)` with `a` expanded from a fresh
/// 32-byte seed, so the result can be stored and sent as `(c_0, seed)`
/// ([`SeededCiphertext`]), half the size of a public-key ciphertext. Its fresh noise is also
/// smaller (one Gaussian instead of `v*e_pk + e_0 + e_1 s`).
pub struct SymmetricEncryptor<'a> {
    sk: &'a SecretKey,
    sampler: Sampler,
}

impl<'a> SymmetricEncryptor<'a> {
    /// An encryptor with randomness from OS entropy.
    pub fn new(sk: &'a SecretKey) -> Self {
        Self { sk, sampler: Sampler::from_entropy() }
    }

    /// A deterministic encryptor, for reproducible tests only.
    pub fn from_seed(sk: &'a SecretKey, seed: [u8; 32]) -> Self {
        Self { sk, sampler: Sampler::from_seed(seed) }
    }

    /// Encrypts `pt` at its level and scale.
    pub fn encrypt(&mut self, pt: &Plaintext) -> Result<SeededCiphertext, SchemeError> {
        let params = &self.sk.params;
        params.check_same("encrypt", &pt.params)?;
        let q = params.q_basis();
        let limbs = pt.level() + 1;
        let seed = self.sampler.fresh_seed();
        let mut a = expand_seeded(seed, &[q])?.remove(0);
        a.drop_to_limbs(limbs)?;
        let mut e = RnsPoly::from_signed(q, limbs, &self.sampler.gaussian(params.degree(), SIGMA)?)?;
        e.to_ntt();
        let mut s = self.sk.s_q.clone();
        s.drop_to_limbs(limbs)?;
        a.mul_assign(&s)?;
        e.sub_assign(&a)?;
        e.add_assign(&pt.poly)?;
        Ok(SeededCiphertext { params: params.clone(), c0: e, seed, scale: pt.scale })
    }
}
