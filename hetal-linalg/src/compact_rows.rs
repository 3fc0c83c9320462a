//! The compact form of horizontally tiled rows (the logits, the softmax and `D = P - Y`): one
//! copy of each row, folded into `n = s0 c` slots that repeat over the ciphertext, so that the
//! softmax's refreshes bootstrap `n` sparse slots instead of all of them.
//!
//! A block of an `a x c` matrix tiled horizontally (`Tiling::Horizontal { period: c }`) holds
//! row `r` in slots `r s1 .. (r + 1) s1`, repeated `f = s1 / c` times: copy `k` of row `r` at
//! `r s1 + k c + j`. Number the rows `r = a g + b` with `g = s0 / f` rows per group
//! (`0 <= a < f`, `0 <= b < g`); then `g s1 = n` and copy `a` of row `a g + b` sits at
//! `a n + b s1 + a c + j`. Those slots are distinct modulo `n`, and they cover `0 .. n`:
//!
//! * [`CompactRows::fold`] keeps copy `a` of every row of group `a` (one plaintext mask, one
//!   level) and sums the `N / 2n` blocks of `n` slots by the trace
//!   ([`ckks_scheme::circuits::trace`], no level): slot `b s1 + a c + j` of every block holds
//!   entry `(a g + b, j)`. The result repeats every `n` slots, a valid encoding of `n` sparse
//!   slots, and inside it every row is still a window of `c` aligned slots, so the softmax runs
//!   on it unchanged (its masks depend on the column modulo `c` only).
//! * [`CompactRows::unfold`] goes back (one level): copy `k` of row `a g + b` takes the slot
//!   `c (a - k)` further on, a linear transform with the `2 f - 1` generalized diagonals
//!   `c d`, `|d| < f`, each a 0/1 mask ([`ckks_scheme::LinearTransform`], baby-step giant-step).
//!   Its input must repeat every `n` slots (what [`CompactRows::fold`] and sparse
//!   bootstrapping give).
//!
//! At the Face Mask shape (unit `512 x 64`, `c = 2`): `f = 32`, `n = 1024`; the fold is one mask
//! and 3 hoisted steps, the unfold 63 diagonals on 8 baby steps (8 giant steps).

use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling, UnitShape};
use crate::rotations::check_keys;
use ckks_scheme::circuits::trace;
use ckks_scheme::{Ciphertext, Complex, Evaluator, LinearTransform, Parameters};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Baby steps of the unfold. The default for its `2 f - 1` diagonals at stride `c` (16 at Face
/// Mask) needs 15 baby-step keys; 8 need 7 and one more giant step per 8 diagonals: at Face Mask
/// 5 Galois keys beside a training step's instead of 12 (0.14 GB less in the bundle at
/// `N = 2^16`), for 4 more key switches a step.
const UNFOLD_BABY_STEPS: usize = 8;

/// The fold and unfold of one horizontally tiled unit shape (see the
/// [module documentation](self)). Cheap to clone; the unfold's encoded diagonals are built on
/// first use at each level and shared by the clones.
#[derive(Clone, Debug)]
pub struct CompactRows {
    unit: UnitShape,
    /// The tiling period (padded classes).
    c: usize,
    /// Copies of a row, `f = s1 / c`.
    copies: usize,
    /// Rows of a group, `g = s0 / f`.
    group: usize,
    unfold: Arc<Mutex<BTreeMap<usize, Arc<LinearTransform>>>>,
}

impl CompactRows {
    /// The compact form of `layout`'s blocks. Errors unless `layout` is tiled horizontally
    /// with at least two copies of a row (`s1 >= 2c`) and `s0 c >= s1` (a group has a row).
    pub fn new(layout: &BlockLayout) -> Result<Self, LinalgError> {
        let op = "CompactRows::new";
        let Tiling::Horizontal { period: c } = layout.tiling else {
            return Err(LinalgError::InvalidLayout {
                op,
                reason: format!("needs a horizontally tiled matrix, not {:?}", layout.tiling),
            });
        };
        let unit = layout.unit;
        let copies = unit.s1 / c;
        if copies < 2 || unit.s0 * c < unit.s1 {
            return Err(LinalgError::InvalidLayout {
                op,
                reason: format!(
                    "a {} x {} unit with c = {c} holds {copies} cop{} of each row in {} rows; the compact form needs \
                     at least 2 copies and at least as many rows as copies",
                    unit.s0,
                    unit.s1,
                    if copies == 1 { "y" } else { "ies" },
                    unit.s0
                ),
            });
        }
        Ok(Self { unit, c, copies, group: unit.s0 / copies, unfold: Arc::default() })
    }

    /// `f = s1 / c`: the copies of a row in a full block, which the fold keeps one of. The
    /// compact form holds `1 / f` of a block's slots, so its bootstraps save little when `f = 2`.
    pub fn copies(&self) -> usize {
        self.copies
    }

    /// `n = s0 c`: the slots of the compact form (a power of two).
    pub fn slots(&self) -> usize {
        self.unit.s0 * self.c
    }

    /// `(group a, copy k)` of slot `s` of a full block.
    fn group_and_copy(&self, s: usize) -> (usize, usize) {
        ((s / self.unit.s1) / self.group, (s % self.unit.s1) / self.c)
    }

    /// The slot values [`CompactRows::fold`] gives for a full block `full` (`s0 s1` values):
    /// copy `a` of each row of group `a`, summed over the blocks of `n`. The plaintext oracle.
    pub fn fold_plain(&self, full: &[f64]) -> Vec<f64> {
        let n = self.slots();
        let mut compact = vec![0.0; n];
        for (s, &v) in full.iter().enumerate() {
            let (a, k) = self.group_and_copy(s);
            if a == k {
                compact[s % n] += v;
            }
        }
        (0..full.len()).map(|s| compact[s % n]).collect()
    }

    /// The slot values [`CompactRows::unfold`] gives for `compact` (`s0 s1` values repeating
    /// every `n`): every copy of row `a g + b` from slot `b s1 + a c` of the first block.
    pub fn unfold_plain(&self, compact: &[f64]) -> Vec<f64> {
        let n = self.slots();
        (0..compact.len())
            .map(|s| {
                let (a, k) = self.group_and_copy(s);
                compact[(s + self.c * a - self.c * k) % n]
            })
            .collect()
    }

    /// `Tr(M ⊙ ct)`: the mask `M` keeps copy `a` of every row of group `a`, times `weights`
    /// (one value per slot, e.g. a normalisation folded in), and the trace onto `n` slots sums
    /// the blocks (see the [module documentation](self)). One level: the result sits at
    /// `level(ct) - 1` with scale exactly `scale`. Needs the Galois keys of
    /// [`CompactRows::galois_elements`]. Errors on level 0, a weight vector of the wrong length or a
    /// missing key.
    pub fn fold(
        &self,
        eval: &Evaluator,
        ct: &Ciphertext,
        weights: &[f64],
        scale: f64,
    ) -> Result<Ciphertext, LinalgError> {
        let op = "CompactRows::fold";
        let slots = eval.params().slots();
        if weights.len() != slots || self.unit.slots() != slots {
            return Err(LinalgError::InvalidLayout {
                op,
                reason: format!(
                    "{} weights for a {} x {} block in {slots} slots",
                    weights.len(),
                    self.unit.s0,
                    self.unit.s1
                ),
            });
        }
        if ct.level() == 0 {
            return Err(LinalgError::LevelTooLow { op, left: 0, right: 0, needed: 1 });
        }
        let mask: Vec<f64> = weights
            .iter()
            .enumerate()
            .map(|(s, &w)| {
                let (a, k) = self.group_and_copy(s);
                if a == k {
                    w
                } else {
                    0.0
                }
            })
            .collect();
        let kept = eval.mul_real_to(ct, &mask, scale)?;
        Ok(trace::trace(eval, kept, self.slots())?)
    }

    /// The diagonals of the unfold: `c d mod N/2` for `|d| < f`, 1 where `a - k = d`.
    fn unfold_diagonals(&self, slots: usize) -> BTreeMap<usize, Vec<Complex>> {
        let f = self.copies as i64;
        (-(f - 1)..f)
            .map(|d| {
                let index = (self.c as i64 * d).rem_euclid(slots as i64) as usize;
                let diagonal = (0..slots)
                    .map(|s| {
                        let (a, k) = self.group_and_copy(s);
                        Complex::new(if a as i64 - k as i64 == d { 1.0 } else { 0.0 }, 0.0)
                    })
                    .collect();
                (index, diagonal)
            })
            .collect()
    }

    /// The unfold's transform at `level`, built once per level. One per level, because its
    /// scale is the prime `q_level` its rescale drops (a transform read at a lower level would
    /// leave the scale off by `q_level / q_l`). At `N = 2^16` the 63 diagonals of the Face Mask
    /// shape take about 0.5 GB at level 11; a training step unfolds at one or two levels.
    fn unfold_transform(&self, params: &Parameters, level: usize) -> Result<Arc<LinearTransform>, LinalgError> {
        let mut cache = self.unfold.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cache.get(&level).filter(|t| t.params() == params) {
            return Ok(t.clone());
        }
        let q = params.q_basis().modulus(level).value() as f64;
        let diagonals = self.unfold_diagonals(params.slots());
        let t = Arc::new(LinearTransform::with_baby_steps(params, diagonals, level, q, Some(UNFOLD_BABY_STEPS))?);
        cache.insert(level, t.clone());
        Ok(t)
    }

    /// The full tiled block of a compact one: copy `k` of row `a g + b` from slot
    /// `b s1 + a c` (see the [module documentation](self)); `ct` must repeat every `n` slots.
    /// One level, scale unchanged. Needs the keys of [`CompactRows::rotations`]. Errors on level
    /// 0, a block of another slot count or a missing key.
    pub fn unfold(&self, eval: &Evaluator, ct: &Ciphertext) -> Result<Ciphertext, LinalgError> {
        let op = "CompactRows::unfold";
        if self.unit.slots() != eval.params().slots() {
            return Err(LinalgError::InvalidLayout {
                op,
                reason: format!("a {} x {} block in {} slots", self.unit.s0, self.unit.s1, eval.params().slots()),
            });
        }
        if ct.level() == 0 {
            return Err(LinalgError::LevelTooLow { op, left: 0, right: 0, needed: 1 });
        }
        let scale = ct.scale();
        let t = self.unfold_transform(eval.params(), ct.level())?;
        let mut out = eval.rescale(&t.apply(eval, ct)?)?;
        out.set_scale(scale);
        Ok(out)
    }

    /// The rotation steps the unfold uses (its baby steps, giant step and start).
    pub fn rotations(&self, params: &Parameters) -> Result<Vec<i64>, LinalgError> {
        Ok(self.unfold_transform(params, 1)?.rotations())
    }

    /// Errors with [`LinalgError::MissingRotationKey`] (or a missing relinearization key) unless
    /// `eval` holds the keys of [`CompactRows::rotation_steps`], before any work.
    pub fn check_keys(&self, eval: &Evaluator) -> Result<(), LinalgError> {
        check_keys("CompactRows", eval, &self.rotation_steps(eval.params())?, false)
    }

    /// The rotation steps of the fold's trace ([`trace::trace_steps`]) and of the unfold
    /// ([`CompactRows::rotations`]): what the client makes Galois keys for.
    pub fn rotation_steps(&self, params: &Parameters) -> Result<Vec<i64>, LinalgError> {
        let mut steps: Vec<i64> = trace::trace_steps(params.degree(), self.slots()).concat();
        steps.extend(self.rotations(params)?);
        Ok(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random_matrix;
    use ckks_scheme::{Decryptor, Encoder, Encryptor, KeyGenerator, Preset};

    fn layout(s0: usize, c: usize, slots: usize) -> BlockLayout {
        let unit = UnitShape::new(s0, slots).unwrap();
        BlockLayout::new(s0, c, unit, Tiling::Horizontal { period: c }).unwrap()
    }

    /// The plain fold and unfold: the fold keeps one copy of each row in distinct slots
    /// modulo `n`, and the unfold gives back the tiled block.
    #[test]
    fn fold_then_unfold_is_the_identity_on_tiled_blocks() {
        for (s0, c) in [(32, 2), (64, 4), (256, 2), (32, 8)] {
            let l = layout(s0, c, 1024);
            let rows = CompactRows::new(&l).unwrap();
            let m = random_matrix(s0, c, s0 as u64);
            let full = l.pack(&m).unwrap().remove(0);
            let compact = rows.fold_plain(&full);
            let n = rows.slots();
            assert!(compact.iter().enumerate().all(|(s, v)| *v == compact[s % n]));
            let mut sorted: Vec<f64> = compact[..n].to_vec();
            sorted.sort_by(f64::total_cmp);
            let mut want = m.data.clone();
            want.sort_by(f64::total_cmp);
            assert_eq!(sorted, want, "every entry once in the first n slots");
            assert_eq!(rows.unfold_plain(&compact), full, "s0 = {s0}, c = {c}");
        }
        let too_wide = layout(16, 2, 1024);
        assert!(CompactRows::new(&too_wide).is_err());
        let one_copy = BlockLayout::new(512, 2, UnitShape::new(512, 1024).unwrap(), Tiling::Horizontal { period: 2 });
        assert!(CompactRows::new(&one_copy.unwrap()).is_err());
        let vertical = BlockLayout::new(2, 8, UnitShape::new(16, 1024).unwrap(), Tiling::Vertical { period: 2 });
        assert!(CompactRows::new(&vertical.unwrap()).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3))]
        /// Encrypted fold (with weights) and unfold against the plaintext oracle, at
        /// `N = 2^11` (1024 slots), and the round trip back to the tiled block.
        #[test]
        fn encrypted_fold_and_unfold_match_the_oracle(shape in 0usize..3, seed in 0u64..1000) {
            let (s0, c) = [(32, 2), (64, 4), (128, 2)][shape];
            let params = Preset::InsecureTestN11.build().unwrap();
            let slots = params.slots();
            let l = layout(s0, c, slots);
            let rows = CompactRows::new(&l).unwrap();
            let mut kg = KeyGenerator::from_seed(&params, [7; 32]);
            let sk = kg.secret_key().unwrap();
            let keys = kg.evaluation_keys(&sk, &rows.rotation_steps(&params).unwrap(), false).unwrap();
            let eval = Evaluator::new(Arc::new(keys));
            let full = l.pack(&random_matrix(s0, c, seed)).unwrap().remove(0);
            let enc = Encoder::new(&params);
            let pt = enc.encode_real(&full, params.max_level(), params.default_scale()).unwrap();
            let ct = Encryptor::from_seed(&eval.keys().unwrap().public, [9; 32]).encrypt(&pt).unwrap();
            let weights: Vec<f64> = (0..slots).map(|s| 0.5 + (s % 3) as f64 / 4.0).collect();
            let weighted: Vec<f64> = full.iter().zip(&weights).map(|(x, w)| x * w).collect();
            let decrypt = |ct: &Ciphertext| -> Vec<f64> {
                enc.decode(&Decryptor::new(&sk).decrypt(ct).unwrap()).unwrap().iter().map(|z| z.re).collect()
            };
            let folded = rows.fold(&eval, &ct, &weights, params.default_scale()).unwrap();
            proptest::prop_assert_eq!(folded.level(), params.max_level() - 1);
            let want = rows.fold_plain(&weighted);
            let err = decrypt(&folded).iter().zip(&want).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            proptest::prop_assert!(err < 1e-4, "fold: {}", err);
            let plain_fold = rows.fold(&eval, &ct, &vec![1.0; slots], params.default_scale()).unwrap();
            let back = rows.unfold(&eval, &plain_fold).unwrap();
            proptest::prop_assert_eq!(back.level(), params.max_level() - 2);
            let err = decrypt(&back).iter().zip(&full).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            proptest::prop_assert!(err < 1e-4, "unfold: {}", err);
        }
    }
}
