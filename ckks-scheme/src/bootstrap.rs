//! Full-slot bootstrapping assembled from the public pieces: ModRaise, CoeffToSlot, EvalMod,
//! SlotToCoeff (see `docs/BOOTSTRAPPING.md`).
//!
//! Status: a first working pipeline for full slots, exercised at small insecure parameters with
//! a sparse secret; the secure N = 2^16 preset, sparse-secret encapsulation and sparse slot
//! counts are not done yet.
//!
//! For an input at level 0 with scale `Delta`, decrypting to `t = Delta m + e` (`|t| < q_0/2`):
//!
//! 1. ModRaise and read the result at scale `q_0`: the slots are `decode((t + q_0 I) / q_0)`.
//! 2. CoeffToSlot: slot `j` holds `w_j = x_j + i y_j` with `x_j = I_j + t_j / q_0`,
//!    `y_j = I_{N/2+j} + t_{N/2+j} / q_0` (bit-reversed order).
//! 3. `2x = w + conj w` and `2y = (w - conj w) / i`.
//! 4. EvalMod on `2x` and `2y` (the factor 2 folded into its interpolant, so the scale stays at
//!    the prime size): `sin(2 pi x) / (2 pi) ~ t / q_0`.
//! 5. `x' + i y'`, SlotToCoeff, and read the result at scale `S Delta / q_0`: the slots are `m`.
//!
//! The whole chain runs at the scale of the primes, which should be close to `q_0`, so that the
//! EvalMod error, multiplied by `q_0 / Delta` in step 5, stays small.

use crate::eval_mod::EvalMod;
use crate::homomorphic_dft::{DftDirection, HomomorphicDft};
use crate::mod_raise::mod_raise;
use crate::{Ciphertext, Evaluator, Parameters, SchemeError};
use std::collections::BTreeSet;

/// The bootstrapping circuit for one parameter set (full slots).
#[derive(Clone, Debug)]
pub struct Bootstrapper {
    coeff_to_slot: HomomorphicDft,
    eval_mod: EvalMod,
    slot_to_coeff: HomomorphicDft,
}

impl Bootstrapper {
    /// A circuit with CoeffToSlot and SlotToCoeff of the given depths and an EvalMod for
    /// `|I| <= k` (interpolation degree, double angles). Consumes
    /// `cts_depth + EvalMod::depth() + stc_depth` levels from the top.
    pub fn new(
        params: &Parameters,
        cts_depth: usize,
        stc_depth: usize,
        k: usize,
        degree: usize,
        double_angles: usize,
    ) -> Result<Self, SchemeError> {
        if params.slots() != params.degree() / 2 {
            return Err(SchemeError::InvalidParameters {
                reason: "the bootstrapper supports full slots (N/2) only for now".into(),
            });
        }
        // The split below hands EvalMod 2 Re(w) and 2 Im(w).
        let eval_mod = EvalMod::with_input_factor(k, degree, double_angles, 2.0)?;
        let top = params.max_level();
        let needed = cts_depth + eval_mod.depth() + stc_depth;
        if needed > top {
            return Err(SchemeError::OutOfLevels { op: "Bootstrapper::new", level: top, needed });
        }
        let coeff_to_slot = HomomorphicDft::new(params, DftDirection::CoeffToSlot, cts_depth, top, None)?;
        let stc_level = top - cts_depth - eval_mod.depth();
        let slot_to_coeff = HomomorphicDft::new(params, DftDirection::SlotToCoeff, stc_depth, stc_level, None)?;
        Ok(Self { coeff_to_slot, eval_mod, slot_to_coeff })
    }

    /// Levels left after bootstrapping.
    pub fn output_level(&self, params: &Parameters) -> usize {
        params.max_level() - self.coeff_to_slot.depth() - self.eval_mod.depth() - self.slot_to_coeff.depth()
    }

    /// The rotations whose keys the server needs (conjugation is needed too).
    pub fn rotations(&self) -> Vec<i64> {
        let set: BTreeSet<i64> =
            self.coeff_to_slot.rotations().into_iter().chain(self.slot_to_coeff.rotations()).collect();
        set.into_iter().collect()
    }

    /// Refreshes a level-0 ciphertext: the result, at [`Bootstrapper::output_level`], decrypts
    /// to the same slots.
    pub fn bootstrap(&self, eval: &Evaluator, ct: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        let params = eval.params();
        let q0 = params.q_basis().modulus(0).value() as f64;
        let delta = ct.scale();
        if delta >= q0 / 2.0 {
            return Err(SchemeError::InvalidScale {
                op: "bootstrap",
                log2: delta.log2(),
                reason: "the input scale must be below q_0 / 2",
            });
        }
        let mut raised = mod_raise(ct)?;
        raised.set_scale(q0);
        let w = self.coeff_to_slot.apply(eval, &raised)?;
        let w_conj = eval.conjugate(&w)?;
        let x = eval.add(&w, &w_conj)?; // 2 Re(w)
        let y = eval.neg(&eval.mul_by_i(&eval.sub(&w, &w_conj)?)?)?; // 2 Im(w)
        let x = self.eval_mod.evaluate(eval, &x)?;
        let y = self.eval_mod.evaluate(eval, &y)?;
        let w = eval.add(&x, &eval.mul_by_i(&y)?)?;
        let mut out = self.slot_to_coeff.apply(eval, &w)?;
        out.set_scale(out.scale() * delta / q0);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::SecretDistribution;
    use crate::{Complex, Decryptor, Encoder, Encryptor, KeyGenerator, ParametersBuilder, PrecisionStats};
    use std::sync::Arc;

    /// Insecure N = 2^12 with a sparse secret (h = 32), 60-bit primes throughout, message scale
    /// 2^50: bootstrapping a level-0 ciphertext gives back the message at level 1.
    #[test]
    fn bootstraps_full_slots_at_small_parameters() {
        let params = ParametersBuilder::new(12)
            .q_bits(vec![60; 18])
            .p_bits(vec![61, 61, 61])
            .log_scale(50)
            .secret(SecretDistribution::SparseTernary { hamming_weight: 32 })
            .name("insecure-bootstrap-test")
            .build_insecure()
            .unwrap();
        let boot = Bootstrapper::new(&params, 3, 3, 12, 31, 3).unwrap();
        assert_eq!(boot.output_level(&params), 1);
        let mut kg = KeyGenerator::from_seed(&params, [11; 32]);
        let sk = kg.secret_key().unwrap();
        let keys = Arc::new(kg.evaluation_keys(&sk, &boot.rotations(), true).unwrap());
        let eval = Evaluator::new(keys.clone());
        let enc = Encoder::new(&params);
        let n = params.slots();
        let z: Vec<Complex> =
            (0..n).map(|j| Complex::new(((j as f64) * 0.1).sin(), ((j as f64) * 0.3).cos() * 0.5)).collect();
        let pt = enc.encode(&z, 0, params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&keys.public, [12; 32]).encrypt(&pt).unwrap();
        let out = boot.bootstrap(&eval, &ct).unwrap();
        assert_eq!(out.level(), 1);
        let got = enc.decode(&Decryptor::new(&sk).decrypt(&out).unwrap()).unwrap();
        let stats = PrecisionStats::compare(&z, &got);
        eprintln!("bootstrapping at N = 2^12: {stats}");
        assert!(stats.min_bits >= 15.0, "{stats}");
    }
}
