//! The rotation keys each product needs: exactly the steps its schedule rotates by, so that a
//! client at `N = 2^16` (about 150 MB per key) generates no more than necessary.

use crate::counts::Algorithm;
use crate::error::LinalgError;
use crate::layout::{check_classes, UnitShape};
use ckks_scheme::{rotation_element, Evaluator, SchemeError};
use std::collections::BTreeSet;

/// The distinct left-rotation steps (negative: right) that `alg` uses for unit shape `unit`
/// and `c` padded classes, sorted. Generate their Galois keys, plus the conjugation key if
/// [`needs_conjugation`], and the relinearization key.
pub fn rotation_steps(alg: Algorithm, unit: UnitShape, c: usize) -> Result<Vec<i64>, LinalgError> {
    let slots = unit.slots();
    check_classes("rotation_steps", c, slots)?;
    let (s0, s1) = (unit.s0 as i64, unit.s1 as i64);
    let c = c as i64;
    let pow2 = |n: i64| (0..n.trailing_zeros()).map(|t| 1i64 << t).collect::<Vec<_>>();
    let mut steps = BTreeSet::new();
    match alg {
        // The shared placement rotates by -1, .., -c/2 in its tree, then -c, .., -s1/2.
        Algorithm::DiagAbt | Algorithm::DiagAbtShared => {
            steps.insert(s1);
            steps.extend((1..c / 2).map(|m| 2 * m * s1));
            steps.extend(pow2(s1));
            steps.extend(pow2(s1).into_iter().map(|r| -r));
        }
        // The shared row sum rotates by the same rows: 1, 2, .., c/2 in its tree, then c, 2c, ..
        Algorithm::DiagAtb | Algorithm::DiagAtbShared => {
            steps.extend([1, 1 - c]);
            steps.extend((1..c / 2).flat_map(|m| [2 * m, 2 * m - c]));
            steps.extend(pow2(s0).into_iter().map(|r| r * s1));
        }
        Algorithm::DiagAtbPRotUp | Algorithm::DiagAtbPRotUpShared => {
            steps.extend([1, 1 - c, s1]);
            steps.extend((1..c / 2).map(|m| 2 * m));
            steps.extend(pow2(s0).into_iter().map(|r| r * s1));
        }
        Algorithm::ColMajor => {
            steps.extend(pow2(s0).into_iter().map(|r| r * s1));
            steps.extend(pow2(s1));
            steps.extend((1..c).map(|k| -k));
        }
        Algorithm::RowMajor => {
            steps.extend(1..c);
            steps.extend(pow2(s1).into_iter().map(|r| -r));
            steps.extend(pow2(s0).into_iter().map(|r| r * s1));
        }
        Algorithm::JinAbt => {}
        Algorithm::JinAtb => steps.extend(pow2(slots as i64)),
    }
    steps.remove(&0);
    Ok(steps.into_iter().collect())
}

/// Whether `alg` needs the conjugation key (the complex-slot trick takes a real part at the end).
pub fn needs_conjugation(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::DiagAbt
            | Algorithm::DiagAbtShared
            | Algorithm::DiagAtb
            | Algorithm::DiagAtbPRotUp
            | Algorithm::DiagAtbShared
            | Algorithm::DiagAtbPRotUpShared
    )
}

/// Checks before any work that the evaluator holds the relinearization key, a Galois key for
/// every step of `steps`, and the conjugation key if `conjugation`.
pub(crate) fn check_keys(
    op: &'static str,
    eval: &Evaluator,
    steps: &[i64],
    conjugation: bool,
) -> Result<(), LinalgError> {
    let keys = eval.keys().ok_or(SchemeError::MissingRelinearizationKey { op })?;
    if keys.relinearization.is_none() {
        return Err(SchemeError::MissingRelinearizationKey { op }.into());
    }
    let params = eval.params();
    for &r in steps {
        let k = rotation_element(params, r);
        if k != 1 && keys.galois.get(k).is_none() {
            return Err(LinalgError::MissingRotationKey { op, rotation: r });
        }
    }
    if conjugation && keys.galois.get(2 * params.degree() - 1).is_none() {
        return Err(LinalgError::MissingConjugationKey { op });
    }
    Ok(())
}
