//! Scale-exact linear combinations of ciphertexts that took different paths (the optimiser's
//! update); one operand is matched to another's level and scale with
//! [`ckks_scheme::Evaluator::mul_const_to`].

use super::EncryptedTrainError;
use ckks_scheme::{Ciphertext, Evaluator};

/// `sum_k coeff_k ct_k` at `level` and scale `scale`: each term costs one constant product
/// ([`Evaluator::mul_const_to`], which also corrects its scale), so terms of any levels and
/// scales can be added. Every term must lie above `level` (one level is consumed below the
/// lowest term at best). Errors on an empty list or a term too low.
pub fn linear_combination(
    eval: &Evaluator,
    terms: &[(&Ciphertext, f64)],
    level: usize,
    scale: f64,
) -> Result<Ciphertext, EncryptedTrainError> {
    let mut acc: Option<Ciphertext> = None;
    for (ct, coeff) in terms {
        let t = eval.mul_const_to(ct, *coeff, level, scale)?;
        acc = Some(match acc {
            None => t,
            Some(a) => eval.add(&a, &t)?,
        });
    }
    acc.ok_or_else(|| EncryptedTrainError::config("empty sum"))
}
