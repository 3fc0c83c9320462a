//! Level and scale alignment of ciphertexts that took different paths: scale-exact linear
//! combinations (the optimiser's update) and matching one operand to another's level and scale.

use super::EncryptedTrainError;
use ckks_scheme::{Ciphertext, Evaluator};

/// `ct` at `level` (below its own) with exactly `scale`, times `factor`:
/// `rescale(mul_const(drop(ct, level + 1), factor * scale / scale(ct)))`, relabelled to
/// `scale`. One level below `level + 1`; errors if `ct` is at or below `level`.
pub fn scaled_to(
    eval: &Evaluator,
    ct: &Ciphertext,
    factor: f64,
    level: usize,
    scale: f64,
) -> Result<Ciphertext, EncryptedTrainError> {
    if ct.level() <= level {
        return Err(EncryptedTrainError::config(format!(
            "scaled_to: a ciphertext at level {} cannot be brought to level {level} with a constant product",
            ct.level()
        )));
    }
    let t = eval.drop_to_level(ct, level + 1)?;
    let mut out = eval.rescale(&eval.mul_const(&t, factor * scale / t.scale())?)?;
    out.set_scale(scale);
    Ok(out)
}

/// `sum_k coeff_k ct_k` at `level` and scale `scale`: each term costs one constant product
/// (which also corrects its scale), so terms of any levels and scales can be added. Every term
/// must lie above `level` (one level is consumed below the lowest term at best). Errors on an
/// empty list or a term too low.
pub fn linear_combination(
    eval: &Evaluator,
    terms: &[(&Ciphertext, f64)],
    level: usize,
    scale: f64,
) -> Result<Ciphertext, EncryptedTrainError> {
    let mut acc: Option<Ciphertext> = None;
    for (ct, coeff) in terms {
        let t = scaled_to(eval, ct, *coeff, level, scale)?;
        acc = Some(match acc {
            None => t,
            Some(a) => eval.add(&a, &t)?,
        });
    }
    acc.ok_or_else(|| EncryptedTrainError::config("empty sum"))
}
