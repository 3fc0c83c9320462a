//! ModRaise, the first step of bootstrapping.
//!
//! A ciphertext `(c_0, c_1)` at level 0 decrypts to `t = c_0 + c_1 s mod q_0`. Reading its
//! coefficients as centered integers in `(-q_0/2, q_0/2]` and reducing them modulo every prime
//! of the chain gives a ciphertext at the top level that decrypts to
//!
//! ```text
//! c_0 + c_1 s = t + q_0 I      (mod Q_L)
//! ```
//!
//! for an integer polynomial `I` with `|I_j| <= (||s||_1 + 1) / 2` (each coefficient of
//! `c_1 s` is a sum of at most `||s||_1` terms in `(-q_0/2, q_0/2]`). The rest of bootstrapping
//! (CoeffToSlot, EvalMod, SlotToCoeff) removes `q_0 I` homomorphically.
//!
//! Built on the public API only: ciphertext components and `ckks-math` polynomials.

use crate::{Ciphertext, SchemeError};
use ckks_math::RnsPoly;

/// Raises a level-0 ciphertext to the top of the chain (see the module documentation).
/// Scale unchanged. Cost per component: one inverse NTT of one limb and `L + 1` forward NTTs.
pub fn mod_raise(ct: &Ciphertext) -> Result<Ciphertext, SchemeError> {
    if ct.level() != 0 {
        return Err(SchemeError::LevelMismatch { op: "mod_raise", left: ct.level(), right: 0 });
    }
    let params = ct.params();
    let q = params.q_basis();
    let q0 = *q.modulus(0);
    let components = ct
        .components()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.to_coeff();
            let centered: Vec<i64> = c.limb(0).iter().map(|&x| q0.center(x)).collect();
            let mut raised = RnsPoly::from_signed(q, q.len(), &centered)?;
            raised.to_ntt();
            Ok(raised)
        })
        .collect::<Result<Vec<_>, SchemeError>>()?;
    Ciphertext::from_components(params, components, ct.scale())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decryptor, Encoder, Evaluator, KeyGenerator, Preset};
    use num_bigint::BigInt;
    use num_integer::Integer;
    use std::sync::Arc;

    /// The raised ciphertext decrypts to the level-0 plaintext plus `q_0 I`, with `I` within
    /// its bound, for several inputs.
    #[test]
    fn raised_decryption_is_the_old_one_plus_a_small_multiple_of_q0() {
        let params = Preset::InsecureTestN11.build().unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [4; 32]);
        let sk = kg.secret_key().unwrap();
        let keys = Arc::new(kg.evaluation_keys(&sk, &[], false).unwrap());
        let eval = Evaluator::new(keys.clone());
        let enc = Encoder::new(&params);
        let dec = Decryptor::new(&sk);
        let l1 = sk.coeffs().iter().map(|c| c.unsigned_abs()).sum::<u64>();
        let bound = BigInt::from(l1.div_ceil(2) + 1);
        let q0 = BigInt::from(params.q_basis().modulus(0).value());
        for seed in 0..3u8 {
            let z: Vec<f64> = (0..params.slots()).map(|j| ((j as f64) * 0.37 + seed as f64).sin()).collect();
            let pt = enc.encode_real(&z, params.max_level(), params.default_scale()).unwrap();
            let ct = crate::Encryptor::from_seed(&keys.public, [seed; 32]).encrypt(&pt).unwrap();
            let low = eval.drop_to_level(&ct, 0).unwrap();
            let raised = mod_raise(&low).unwrap();
            assert_eq!((raised.level(), raised.scale()), (params.max_level(), low.scale()));

            let mut t = dec.decrypt(&low).unwrap().poly().clone();
            t.to_coeff();
            let mut u = dec.decrypt(&raised).unwrap().poly().clone();
            u.to_coeff();
            let (t, u) = (t.to_bigint_centered().unwrap(), u.to_bigint_centered().unwrap());
            let mut max_i = BigInt::from(0);
            for (a, b) in t.iter().zip(&u) {
                let diff = b - a;
                assert!(diff.is_multiple_of(&q0), "difference not a multiple of q_0");
                let i = (diff / &q0).magnitude().clone();
                max_i = max_i.max(BigInt::from(i));
            }
            assert!(max_i <= bound, "|I| = {max_i} above the bound {bound}");
            assert!(max_i > BigInt::from(0), "a dense key gives a nonzero I");
        }
        let not_low = mod_raise(
            &eval
                .drop_to_level(
                    &Encoder::new(&params)
                        .encode_real(&[1.0], 1, 2f64.powi(40))
                        .map(|p| crate::Encryptor::from_seed(&keys.public, [9; 32]).encrypt(&p).unwrap())
                        .unwrap(),
                    1,
                )
                .unwrap(),
        );
        assert!(matches!(not_low, Err(SchemeError::LevelMismatch { op: "mod_raise", .. })));
    }
}
