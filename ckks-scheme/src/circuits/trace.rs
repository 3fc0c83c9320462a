//! The trace onto sparse slots: `Tr(x) = sum_{k < N/2n} rot(x, k n)`, which turns any slot
//! vector into one that repeats every `n` slots (a valid encoding of `n` sparse slots), each
//! block of `n` holding the sum of all blocks.
//!
//! It is a product of hoisted steps ([`Evaluator::galois_sum_hoisted`]): radix 4
//! (`x + rot(x, s) + rot(x, 2s) + rot(x, 3s)`) while two or more factors of 2 are left, then
//! radix 2; `s` runs `n, 4n, 16n, ..`. At `N = 2^16` and 2^10 slots that is 3 steps and 7 key
//! switches sharing 3 decompositions and ModDowns, where `log2(N/2n) = 5` sequential steps need
//! 5 of each. Sparse bootstrapping runs it inside CoeffToSlot; training folds the softmax's
//! rows with it (`hetal_linalg::CompactRows`), on the same keys. No level.

use crate::{Ciphertext, Evaluator, SchemeError};
use ckks_math::automorphism::rotation_galois_element;

/// The rotation steps of each hoisted step of the trace from `degree / 2` slots (ring degree
/// `degree`) onto `slots` slots, in order: `[n, 2n, 3n], [4n, 8n, 12n], ..`. Empty when
/// `slots = degree / 2`.
pub fn trace_steps(degree: usize, slots: usize) -> Vec<Vec<i64>> {
    let mut factors = (degree / (2 * slots)).trailing_zeros();
    let mut step = slots as i64;
    let mut stages = Vec::new();
    while factors > 0 {
        let radix = if factors >= 2 { 4 } else { 2 };
        stages.push((1..radix).map(|j| j * step).collect());
        step *= radix;
        factors -= radix.trailing_zeros();
    }
    stages
}

/// The Galois elements of [`trace_steps`], stage by stage.
pub fn trace_stages(degree: usize, slots: usize) -> Vec<Vec<usize>> {
    trace_steps(degree, slots)
        .into_iter()
        .map(|stage| stage.into_iter().map(|r| rotation_galois_element(r, degree)).collect())
        .collect()
}

/// Every Galois element of [`trace_stages`].
pub fn trace_elements(degree: usize, slots: usize) -> Vec<usize> {
    trace_stages(degree, slots).concat()
}

/// [`trace_stages`] with a last stage of radix 2 split off when a stage comes before it: the
/// stages before it, and that stage's one element `sigma`, a rotation by `4^k n` with `k >= 1`,
/// so by a multiple of `2n` (`None`, with every stage, when the last stage has radix 4 or is
/// the only one). Sparse bootstrapping runs `1 + sigma` later, after CoeffToSlot's last matrix
/// (whose diagonals repeat every `2n`, so it commutes with `sigma`), with the conjugation:
/// `(1 + conj)(1 + sigma)` as one hoisted sum of four automorphisms costs one decomposition
/// and one ModDown pair fewer, for one inner product more, than the two steps.
pub fn trace_stages_but_radix2(degree: usize, slots: usize) -> (Vec<Vec<usize>>, Option<usize>) {
    let mut stages = trace_stages(degree, slots);
    match stages.last().map(Vec::as_slice) {
        Some(&[sigma]) if stages.len() >= 2 => {
            stages.pop();
            (stages, Some(sigma))
        }
        _ => (stages, None),
    }
}

/// The Galois elements of `rot(., lag) + rot(., lag + n)` on a vector of `2n` slots (ring degree
/// `degree`): the fold onto `n` slots with a lag taken in the same hoisted step (`1` where
/// `lag = 0`). SlotToCoeff's projection of packed halves and bootstrapping's merge use it.
pub fn fold_elements(degree: usize, slots: usize, lag: i64) -> Vec<usize> {
    [lag, lag + slots as i64].iter().map(|&r| rotation_galois_element(r, degree)).collect()
}

/// `sum_{k < N/2n} rot(ct, k n)`, `n = slots`: [`trace_stages`] in hoisted steps (`ct` itself
/// when `slots` is the parameters' slot count). No level;
/// needs the Galois keys of [`trace_elements`]. Errors unless `slots` is a power of two at most
/// the parameters' slot count, or on a missing key.
pub fn trace(eval: &Evaluator, ct: Ciphertext, slots: usize) -> Result<Ciphertext, SchemeError> {
    let full = eval.params().slots();
    if !slots.is_power_of_two() || slots > full {
        return Err(SchemeError::InvalidParameters {
            reason: format!("trace onto {slots} slots: a power of two at most the parameters' {full} is needed"),
        });
    }
    apply_stages(eval, ct, &trace_stages(eval.params().degree(), slots))
}

/// The product of the hoisted steps `1 + sum_{k in stage} sigma_k` over `stages` (part of a
/// trace, see [`trace_stages_but_radix2`]). No level; needs the stages' keys.
pub fn apply_stages(eval: &Evaluator, ct: Ciphertext, stages: &[Vec<usize>]) -> Result<Ciphertext, SchemeError> {
    let mut out = ct;
    for stage in stages {
        let terms: Vec<usize> = std::iter::once(1).chain(stage.iter().copied()).collect();
        out = eval.galois_sum_hoisted(&out, &terms)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Complex, Decryptor, Encoder, Encryptor, KeyGenerator, Preset};
    use std::sync::Arc;

    /// A last stage of radix 2 is split off only after another stage, so that its rotation is
    /// by a multiple of `2n`; the stages before it are the trace's.
    #[test]
    fn a_last_radix_2_stage_splits_off_after_another() {
        let degree = 1 << 16;
        for (slots, split) in
            [(1024, Some(16 * 1024)), (4096, Some(4 * 4096)), (2048, None), (8192, None), (16384, None)]
        {
            let (stages, sigma) = trace_stages_but_radix2(degree, slots);
            let all = trace_stages(degree, slots);
            assert_eq!(sigma, split.map(|r: i64| rotation_galois_element(r, degree)), "{slots} slots");
            assert_eq!(stages, all[..all.len() - usize::from(split.is_some())], "{slots} slots");
        }
        assert_eq!(trace_stages_but_radix2(degree, degree / 2), (Vec::new(), None));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4))]
        /// Every block of `n` slots of the trace holds the sum of the input's blocks, for every
        /// `n` from the parameters' slot count down (radix 4, then 2), on the elements of
        /// `trace_elements` only.
        #[test]
        fn trace_sums_the_blocks(log_n in 0u32..=10, seed in 0u64..1000) {
            let params = Preset::InsecureTestN11.build().unwrap();
            let full = params.slots();
            let n = full >> log_n;
            let mut kg = KeyGenerator::from_seed(&params, [3; 32]);
            let sk = kg.secret_key().unwrap();
            let mut keys = kg.evaluation_keys(&sk, &[], false).unwrap();
            kg.extend_galois_keys(&sk, &mut keys.galois, &trace_elements(params.degree(), n)).unwrap();
            let eval = Evaluator::new(Arc::new(keys));
            let z: Vec<Complex> = (0..full)
                .map(|j| Complex::new(((j as u64 * 7 + seed) as f64).sin(), ((j as u64 * 3) as f64).cos()))
                .collect();
            let enc = Encoder::new(&params);
            let pt = enc.encode(&z, params.max_level(), params.default_scale()).unwrap();
            let ct = Encryptor::from_seed(&eval.keys().unwrap().public, [5; 32]).encrypt(&pt).unwrap();
            let out = trace(&eval, ct, n).unwrap();
            let got = enc.decode(&Decryptor::new(&sk).decrypt(&out).unwrap()).unwrap();
            for (j, g) in got.iter().enumerate() {
                let want = (0..full / n).fold(Complex::ZERO, |s, b| s + z[(j % n) + b * n]);
                proptest::prop_assert!((*g - want).norm() < 1e-5 * (full / n) as f64, "slot {j}: {g:?} vs {want:?}");
            }
            proptest::prop_assert!(trace(&eval, out, 3).is_err());
        }
    }
}
