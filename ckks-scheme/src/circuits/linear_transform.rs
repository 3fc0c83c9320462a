//! Homomorphic matrix-vector products on the slot vector: the baby-step giant-step (BSGS)
//! diagonal method of Halevi-Shoup, with hoisted baby-step rotations.
//!
//! An `n x n` complex matrix `M` acting on the `n = slots` slot vector `z` is described by its
//! generalized diagonals `diag_k[j] = M[j][(j + k) mod n]`, so that
//!
//! ```text
//! M z = sum_k diag_k ⊙ rot(z, k)          (rot(z, r)[j] = z[(j + r) mod n])
//! ```
//!
//! With the diagonal indices written `k = s + g n1 + b` (`s` the start of the smallest cyclic
//! window holding every non-zero diagonal, `0 <= b < n1` the baby step, `0 <= g < n2` the giant
//! step) and the diagonals pre-rotated by the giant step,
//! `diag'_k = rot(diag_k, -(s + g n1))`,
//!
//! ```text
//! M z = sum_g rot( sum_b diag'_{s + g n1 + b} ⊙ rot(z, b), s + g n1 )
//! ```
//!
//! The `n1` baby-step rotations of `z` share one decomposition and stay over `Q * P` until the
//! giant steps (double hoisting, see [`LinearTransform::apply`]). The giant steps are summed by
//! Horner's rule, `S_0 + rot(S_1 + rot(S_2 + ..., n1), n1)` then one rotation by `s`, so that
//! they need two keys (`n1` and `s`) instead of one each: at `N = 2^16` bootstrapping's DFT
//! needs 43 Galois keys of 143 MB instead of 47 with the default baby steps, and 27 with 8
//! ([`crate::circuits::bootstrap::BootstrapConfig::dft_baby_steps`]). Cost: at most `n1 - 1` inner products with
//! keys and `n2` key switches (`n2 - 1` if `s = 0`) in sequence, `n1 n2` plaintext products
//! (only for the non-zero diagonals), one level. Keys: the baby steps, the distinct gaps
//! between non-empty giant steps (one for a contiguous window), and `s`.

use super::periodic::{self, Orbits};
use crate::ciphertext::{Ciphertext, Plaintext};
use crate::keyswitch::{p_times_block, Decomposition, ExtendedPoly, LimbProduct};
use crate::{Complex, Encoder, Evaluator, Parameters, SchemeError, SwitchingKey};
use ckks_math::rns::product_sums::{add_product_sums, Factor, Term};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A plaintext `n x n` complex matrix (`n = slots`), pre-encoded for a homomorphic
/// matrix-vector product by the baby-step giant-step diagonal method (see the
/// [module documentation](self)).
///
/// The diagonals are encoded once, at a fixed `level` and `scale`; [`LinearTransform::apply`]
/// returns a ciphertext of scale `scale(ct) * scale` that is **not** rescaled: the caller
/// rescales once afterwards, so the product consumes one level. Choosing `scale` equal to the
/// prime `q_level` dropped by that rescale keeps the ciphertext's scale unchanged.
#[derive(Clone, Debug)]
pub struct LinearTransform {
    params: Parameters,
    /// The slot count `n` the matrix acts on: `params.slots()`, or another view of the same
    /// ring ([`LinearTransform::with_slots`]).
    slots: usize,
    level: usize,
    scale: f64,
    /// The non-zero diagonals, by index `k` in `0..n`, as given, each for one `period`.
    diagonals: BTreeMap<usize, Vec<Complex>>,
    /// The smallest power of two every diagonal repeats with (`n` if none below it).
    period: usize,
    /// Start `s` of the cyclic window of diagonal indices.
    start: usize,
    /// Common stride `t` of the indices (`k = s + t (g n1 + b)`): the FFT layers of
    /// bootstrapping have diagonals at multiples of a power of two, and BSGS runs on the
    /// quotient, with baby steps `t b` and giant steps `s + t g n1`.
    stride: usize,
    /// Baby steps `n1`.
    n1: usize,
    /// Giant step `g` -> baby step `b` -> `diag'_{s + g n1 + b}` encoded over `Q_level * P`.
    groups: BTreeMap<usize, BTreeMap<usize, DiagonalPlaintext>>,
    /// Whether [`LinearTransform::apply`] leaves out Horner's last rotation
    /// ([`LinearTransform::lagging`]).
    lagging: bool,
}

/// A diagonal encoded over `Q_l * P`: the products with baby steps run before their ModDown.
#[derive(Clone, Debug)]
enum DiagonalPlaintext {
    /// Every NTT value.
    Dense { q: Plaintext, p: ckks_math::RnsPoly },
    /// A diagonal of period `p < n`: one NTT value per cycle of `orbits`, limb after limb
    /// (`q_limbs` limbs of `Q_l`, then those of `P`; see [`super::periodic`]).
    Periodic { values: Vec<u64>, q_limbs: usize, orbits: Arc<Orbits> },
}

impl DiagonalPlaintext {
    /// `diag` (rotated by its giant step) at `level` and `scale`: stored once per cycle of
    /// `periodic` where given and where the integer polynomial is invariant up to rounding.
    fn encode(
        encoder: &Encoder,
        diag: &[Complex],
        level: usize,
        scale: f64,
        periodic: Option<&Arc<Orbits>>,
    ) -> Result<Self, SchemeError> {
        let ints = encoder.scaled_coefficients(diag, level, scale)?;
        if let Some(orbits) = periodic {
            let mut fixed = ints.clone();
            if periodic::within_rounding(periodic::symmetrize(&mut fixed, orbits.galois()), scale) {
                let (q, p) = encoder.extended_from_ints(&fixed, level, scale)?;
                if let Some(values) = orbits.compress(&[&q.poly, &p]) {
                    return Ok(Self::Periodic { values, q_limbs: level + 1, orbits: orbits.clone() });
                }
            }
        }
        let (q, p) = encoder.extended_from_ints(&ints, level, scale)?;
        Ok(Self::Dense { q, p })
    }

    /// Limb `t` of `Q_l * P` (`t < limbs`: `q_t`, else `p_{t - limbs}`) of the diagonal on the
    /// coefficients `range`, as the factor of a product sum: a periodic diagonal is read through
    /// its cycle index, never expanded.
    fn factor(&self, t: usize, limbs: usize, range: std::ops::Range<usize>) -> Factor<'_> {
        match self {
            Self::Dense { q, p } => Factor::Dense(&(if t < limbs { q.poly.limb(t) } else { p.limb(t - limbs) })[range]),
            Self::Periodic { values, q_limbs, orbits } => {
                let count = orbits.count();
                let row = if t < limbs { t } else { q_limbs + t - limbs };
                Factor::Indexed { values: &values[row * count..(row + 1) * count], index: orbits.index(range) }
            }
        }
    }

    /// Bytes held.
    fn size_bytes(&self) -> usize {
        match self {
            Self::Dense { q, p } => (q.poly.limbs() + p.limbs()) * q.poly.degree() * 8,
            Self::Periodic { values, .. } => values.len() * 8,
        }
    }
}

impl LinearTransform {
    /// A transform from its non-zero generalized diagonals `diag_k[j] = M[j][(j + k) mod n]`,
    /// keyed by `k` in `0..slots`, each of length `slots`; all-zero diagonals are dropped.
    /// The number of baby steps is the default of [`LinearTransform::default_baby_steps`].
    ///
    /// The diagonals are encoded at `level` with `scale` (see the type's documentation).
    /// Errors if a key is `>= slots`, a diagonal has the wrong length, every diagonal is zero,
    /// or encoding fails (level above the chain, invalid scale, non-finite values).
    pub fn from_diagonals(
        params: &Parameters,
        diagonals: BTreeMap<usize, Vec<Complex>>,
        level: usize,
        scale: f64,
    ) -> Result<Self, SchemeError> {
        Self::with_baby_steps(params, diagonals, level, scale, None)
    }

    /// A transform from a dense `slots x slots` matrix (rows of `slots` values); all-zero
    /// diagonals are dropped. See [`LinearTransform::from_diagonals`].
    pub fn from_dense(
        params: &Parameters,
        matrix: &[Vec<Complex>],
        level: usize,
        scale: f64,
    ) -> Result<Self, SchemeError> {
        let n = params.slots();
        if matrix.len() != n {
            return Err(SchemeError::SlotCount { op: "LinearTransform::from_dense", slots: n, found: matrix.len() });
        }
        if let Some(row) = matrix.iter().find(|row| row.len() != n) {
            return Err(SchemeError::SlotCount { op: "LinearTransform::from_dense", slots: n, found: row.len() });
        }
        let diagonals = (0..n).map(|k| (k, (0..n).map(|j| matrix[j][(j + k) % n]).collect())).collect();
        Self::from_diagonals(params, diagonals, level, scale)
    }

    /// As [`LinearTransform::from_diagonals`] with `n1` baby steps (`None`: the default). Any
    /// `n1 >= 1` is valid; values above the diagonal span are clamped to it.
    pub fn with_baby_steps(
        params: &Parameters,
        diagonals: BTreeMap<usize, Vec<Complex>>,
        level: usize,
        scale: f64,
        n1: Option<usize>,
    ) -> Result<Self, SchemeError> {
        Self::with_slots(params, params.slots(), diagonals, level, scale, n1)
    }

    /// As [`LinearTransform::with_baby_steps`] for a matrix on `slots` slots, another view of
    /// the ring than `params.slots()` ([`Encoder::with_slots`]): the diagonals have `slots`
    /// values, are encoded in that view, and a rotation by `r` is the automorphism
    /// `5^(r mod slots)`. On a ciphertext of `n` slots read as `2n` (each slot twice), a
    /// diagonal `k < n` may carry other values in its upper half: the product then leaves the
    /// subring of `n` slots, which is how sparse bootstrapping packs two halves into one
    /// ciphertext. Errors as [`LinearTransform::from_diagonals`], and if `slots` is not a
    /// power of two at most `N/2`.
    pub fn with_slots(
        params: &Parameters,
        slots: usize,
        diagonals: BTreeMap<usize, Vec<Complex>>,
        level: usize,
        scale: f64,
        n1: Option<usize>,
    ) -> Result<Self, SchemeError> {
        const OP: &str = "LinearTransform";
        let n = slots;
        let encoder = Encoder::with_slots(params, n)?;
        let mut kept = BTreeMap::new();
        for (k, d) in diagonals {
            if k >= n {
                return Err(SchemeError::InvalidParameters {
                    reason: format!("{OP}: diagonal index {k} is not below the slot count {n}"),
                });
            }
            if d.len() != n {
                return Err(SchemeError::SlotCount { op: OP, slots: n, found: d.len() });
            }
            if d.iter().any(|x| !x.is_finite()) {
                return Err(SchemeError::InvalidParameters { reason: format!("{OP}: diagonal {k} is not finite") });
            }
            if d.iter().any(|&x| x != Complex::ZERO) {
                kept.insert(k, d);
            }
        }
        if kept.is_empty() {
            return Err(SchemeError::InvalidParameters {
                reason: format!("{OP}: the matrix has no non-zero diagonal"),
            });
        }
        if n1 == Some(0) {
            return Err(SchemeError::InvalidParameters { reason: format!("{OP}: zero baby steps") });
        }
        if level > params.max_level() {
            return Err(SchemeError::OutOfLevels { op: OP, level, needed: params.max_level() });
        }
        let Bsgs { base, stride, start: start_r, n1, .. } = Bsgs::of(kept.keys().copied(), n, n1);
        let start = (base + start_r * stride) % n;
        let period = periodic::period(kept.values(), n).unwrap_or(n);
        let periodic = if period < n { Orbits::of_period(params, period)?.map(Arc::new) } else { None };
        let items: Vec<(usize, usize, &Vec<Complex>)> = kept
            .iter()
            .map(|(&k, d)| {
                let offset = ((k + n - start) % n) / stride;
                (offset / n1, offset % n1, d)
            })
            .collect();
        let encoded = items
            .par_iter()
            .map(|&(g, b, d)| {
                let shift = (start + g * n1 * stride) % n;
                // diag'[j] = diag[(j - shift) mod n]
                let rotated: Vec<Complex> = (0..n).map(|j| d[(j + n - shift) % n]).collect();
                Ok((g, b, DiagonalPlaintext::encode(&encoder, &rotated, level, scale, periodic.as_ref())?))
            })
            .collect::<Result<Vec<_>, SchemeError>>()?;
        let mut groups: BTreeMap<usize, BTreeMap<usize, DiagonalPlaintext>> = BTreeMap::new();
        for (g, b, pt) in encoded {
            groups.entry(g).or_default().insert(b, pt);
        }
        // The plain reference keeps one period of each diagonal.
        kept.values_mut().for_each(|d| d.truncate(period));
        Ok(Self {
            params: params.clone(),
            slots: n,
            level,
            scale,
            diagonals: kept,
            period,
            start,
            stride,
            n1,
            groups,
            lagging: false,
        })
    }

    /// The same transform, leaving out Horner's last rotation (by `s + g_0 n1 t`, see
    /// [`LinearTransform::rotations`]): [`LinearTransform::apply`] then returns
    /// `rot(M z, -lag)` with `lag =` [`LinearTransform::lag`], one key switch fewer, and that
    /// rotation's key is no longer needed. The next matrix of a product absorbs the lag at no
    /// cost: `M' rot(z, lag)` is the matrix whose diagonal `k + lag` is `M'`'s diagonal `k`.
    /// That is how the matrices of a homomorphic DFT pay one such rotation between them instead
    /// of one each ([`super::homomorphic_dft::DftSpec`]).
    pub fn lagging(mut self) -> Self {
        self.lagging = true;
        self
    }

    /// The rotation `lag` in `(-n/2, n/2]` of the view by which [`LinearTransform::apply`]'s
    /// result lags `M z` (`rot(M z, -lag)`): 0 unless [`LinearTransform::lagging`].
    pub fn lag(&self) -> i64 {
        if self.lagging {
            self.horner_rotations().1
        } else {
            0
        }
    }

    /// Horner's last rotation as [`LinearTransform::apply`] runs it: 0 (none) when lagging.
    fn final_rotation(&self) -> i64 {
        if self.lagging {
            0
        } else {
            self.horner_rotations().1
        }
    }

    /// The default number of baby steps for these diagonal indices: of the powers of two
    /// near `sqrt(span)` (`span` = the smallest cyclic window holding every index), the one of
    /// least cost `baby + 4 giant` rotations (a baby step is far cheaper than a giant step
    /// under double hoisting), then of fewest rotations (keys).
    pub fn default_baby_steps(indices: &[usize], slots: usize) -> usize {
        Bsgs::of(indices.iter().copied(), slots, None).n1
    }

    /// The rotations a transform with diagonals at `indices` (each below `slots`) and `n1`
    /// baby steps (`None`: [`LinearTransform::default_baby_steps`]) would run, known without
    /// encoding anything: `(baby, giant)`, the non-trivial baby steps (one hoisted inner
    /// product each) and giant steps (one whole key switch each, in sequence). Their cost is
    /// about `baby + GIANT_STEP_COST giant` inner products ([`GIANT_STEP_COST`]), which
    /// [`super::homomorphic_dft`] weighs to choose its run lengths. A `lagging` transform
    /// ([`LinearTransform::lagging`]) leaves out the last giant rotation: the next one absorbs it.
    pub fn rotation_plan(indices: &BTreeSet<usize>, slots: usize, n1: Option<usize>, lagging: bool) -> (usize, usize) {
        let Bsgs { base, stride, reduced, start, n1 } = Bsgs::of(indices.iter().copied(), slots, n1);
        let m = slots / stride;
        let offsets = reduced.iter().map(|&k| (k + m - start) % m);
        let babies: BTreeSet<usize> = offsets.clone().map(|o| o % n1).filter(|&b| b != 0).collect();
        let giants: BTreeSet<usize> = offsets.map(|o| o / n1).collect();
        // Horner's rule: a gap between consecutive giant steps, then the first one's rotation.
        let first = giants.first().map_or(0, |&g| (base + (start + g * n1) * stride) % slots);
        (babies.len(), giants.len() - 1 + usize::from(first != 0 && !lagging))
    }

    /// The parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// The slot count the matrix acts on (`params.slots()` unless built
    /// [`LinearTransform::with_slots`]).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The level of the encoded diagonals.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The scale of the encoded diagonals: the result of [`LinearTransform::apply`] has scale
    /// `scale(ct) * scale()`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The number of baby steps `n1`.
    pub fn baby_steps(&self) -> usize {
        self.n1
    }

    /// The number of non-empty giant steps `n2`.
    pub fn giant_steps(&self) -> usize {
        self.groups.len()
    }

    /// The non-zero diagonals, by index `k` (`diag_k[j] = M[j][(j + k) mod n]`), each for one
    /// [`LinearTransform::period`]: `diag_k[j]` is `diagonals()[k][j mod period]`.
    pub fn diagonals(&self) -> &BTreeMap<usize, Vec<Complex>> {
        &self.diagonals
    }

    /// The smallest power of two `p` with `diag_k[j + p] = diag_k[j]` for every diagonal and
    /// slot (`slots` if none below it). Diagonals of period `p < slots` are stored `2p` words per
    /// limb ([`LinearTransform::size_bytes`]).
    pub fn period(&self) -> usize {
        self.period
    }

    /// Bytes of the encoded diagonals: `(level + 1 + alpha) N` words for each, or `2p` words
    /// per limb for diagonals of period `p` (see [`super::periodic`]).
    pub fn size_bytes(&self) -> usize {
        self.groups.values().flat_map(|g| g.values()).map(DiagonalPlaintext::size_bytes).sum()
    }

    /// The baby steps `b` in use (the rotations are `stride * b`).
    fn baby_indices(&self) -> Vec<usize> {
        let set: BTreeSet<usize> = self.groups.values().flat_map(|g| g.keys().copied()).collect();
        set.into_iter().collect()
    }

    fn baby_rotations(&self) -> Vec<i64> {
        self.baby_indices().into_iter().map(|b| (b * self.stride) as i64).collect()
    }

    fn giant_rotation(&self, g: usize) -> i64 {
        let n = self.slots;
        signed((self.start + g * self.n1 * self.stride) % n, n)
    }

    /// The giant steps' rotations in Horner form: with the non-empty giant steps
    /// `g_0 < g_1 < ... < g_m` and their sums `S_i`,
    ///
    /// ```text
    /// sum_i rot(S_i, s + g_i n1 t) = rot(S_0 + rot(S_1 + rot(S_2 + ..., (g_2 - g_1) n1 t), (g_1 - g_0) n1 t), s + g_0 n1 t)
    /// ```
    ///
    /// Returns the gaps `(g_{i+1} - g_i) n1 t` in order, then the last rotation
    /// `s + g_0 n1 t`. Contiguous giant steps share one gap: two keys serve every giant step.
    fn horner_rotations(&self) -> (Vec<i64>, i64) {
        let n = self.slots;
        let giants: Vec<usize> = self.groups.keys().copied().collect();
        let gaps = giants.windows(2).map(|w| signed(((w[1] - w[0]) * self.n1 * self.stride) % n, n)).collect();
        (gaps, self.giant_rotation(giants[0]))
    }

    /// The slot rotations [`LinearTransform::apply`] performs (baby steps, then giant steps),
    /// without 0 and without repetitions: exactly the Galois keys the client must generate
    /// ([`crate::KeyGenerator::galois_keys`]) when the transform acts on `params.slots()`
    /// slots. Rotations are given in `(-n/2, n/2]` of the transform's [`LinearTransform::slots`]:
    /// in another view, take [`LinearTransform::galois_elements`].
    pub fn rotations(&self) -> Vec<i64> {
        let n = self.slots;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let (gaps, _) = self.horner_rotations();
        let all = self.baby_rotations().into_iter().chain(gaps).chain([self.final_rotation()]);
        for r in all {
            let r = signed(r.rem_euclid(n as i64) as usize, n);
            if r != 0 && seen.insert(r) {
                out.push(r);
            }
        }
        out
    }

    /// The Galois elements of [`LinearTransform::rotations`] (`5^(r mod slots) mod 2N`), in any
    /// view: the keys [`LinearTransform::apply`] needs.
    pub fn galois_elements(&self) -> Vec<usize> {
        self.rotations().into_iter().map(|r| self.element(r)).collect()
    }

    /// The automorphism of the rotation by `r` slots of the transform's view.
    fn element(&self, r: i64) -> usize {
        crate::keys::rotation_element_in(self.params.degree(), self.slots, r)
    }

    /// `M ct`, homomorphically, with double hoisting (Bossuat-Mouchet-Troncoso-Pastoriza-
    /// Hubaux, eprint 2020/1203, section 6): the baby-step rotations of `ct` share one
    /// decomposition and are **kept over `Q_l * P`** (no ModDown: each is `P sigma_b(ct)` plus
    /// key-switching noise); for each giant step the products with the diagonals, encoded over
    /// `Q_l * P`, are summed there in one lazily reduced pass; the `c_1` of that sum is divided
    /// by `P` once and key-switched for the giant-step rotation, while its `c_0` is only
    /// permuted. The giant steps are combined by Horner's rule (`S_0 + rot(S_1 + rot(..))`, see
    /// the module documentation), so contiguous giant steps need one key between them, not one
    /// each; the total is divided by `P` once. Scale
    /// `scale(ct) * self.scale()`, **not** rescaled: the caller rescales once (one level).
    ///
    /// A ciphertext above the transform's level is first dropped to it; below it, the
    /// diagonals are read at the ciphertext's level. Errors: parameter mismatch, a ciphertext
    /// that is not of degree 1, [`SchemeError::MissingGaloisKey`] for a rotation of
    /// [`LinearTransform::rotations`] without its key (before any key switch).
    ///
    /// Cost: one decomposition and `|baby steps| - 1` inner products with keys (no ModDown);
    /// per non-trivial Horner rotation (one per giant step after the first, and the final
    /// `s + g_0 n1`) one ModDown, one decomposition and one inner product, in sequence; one
    /// final ModDown pair; one multiply-accumulate per non-zero diagonal over `Q_l * P`.
    pub fn apply(&self, eval: &Evaluator, ct: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        const OP: &str = "LinearTransform::apply";
        let params = &self.params;
        params.check_same(OP, eval.params())?;
        params.check_same(OP, ct.params())?;
        if ct.size() != 2 {
            return Err(SchemeError::Degree { op: OP, expected: 2, found: ct.size() });
        }
        let level = ct.level().min(self.level);
        let ct = if ct.level() > level { eval.drop_to_level(ct, level)? } else { ct.clone() };
        // Every key first, so a missing one fails before the (expensive) key switches.
        let key_of = |r: i64| -> Result<Option<RotationKey<'_>>, SchemeError> {
            let k = self.element(r);
            if k == 1 {
                return Ok(None);
            }
            Ok(Some((eval.galois_key(OP, k, Some(r))?, params.galois_table(k)?)))
        };
        let baby_keys = self
            .baby_indices()
            .into_iter()
            .map(|b| Ok((b, key_of((b * self.stride) as i64)?)))
            .collect::<Result<Vec<_>, SchemeError>>()?;
        let (gaps, _) = self.horner_rotations();
        let gap_keys = gaps.into_iter().map(key_of).collect::<Result<Vec<_>, SchemeError>>()?;
        let last_key = key_of(self.final_rotation())?;

        let decomposition = Decomposition::new(params, &ct.c[1])?;
        // Baby step b -> the giant steps that use it, with their diagonals.
        let mut uses: BTreeMap<usize, Vec<(usize, &DiagonalPlaintext)>> = BTreeMap::new();
        for (g, diags) in self.groups.values().enumerate() {
            for (b, pt) in diags.iter() {
                uses.entry(*b).or_default().push((g, pt));
            }
        }
        let babies = baby_keys
            .iter()
            .filter_map(|(b, key)| uses.remove(b).map(|u| (key.as_ref(), u)))
            .map(|(key, uses)| {
                let products = match key {
                    None => None,
                    Some((key, table)) => {
                        Some((key.limb_products(&decomposition, [Some(&ct.c[0]), None])?, &table[..]))
                    }
                };
                Ok(BabyStep { products, uses })
            })
            .collect::<Result<Vec<_>, SchemeError>>()?;
        let sums = giant_sums(params, &ct, &babies, self.groups.len())?;
        drop(babies);
        drop(decomposition);
        // Horner's rule over the giant steps, last first (see `horner_rotations`).
        let mut sums = sums.into_iter().rev();
        let mut total = sums.next().expect("every transform has a giant step");
        for (sum, key) in sums.zip(gap_keys.iter().rev()) {
            total = rotate_extended(params, total, key.as_ref())?;
            total.c0.add_assign(&sum.c0, None)?;
            total.c1.add_assign(&sum.c1, None)?;
        }
        let total = rotate_extended(params, total, last_key.as_ref())?;
        let (d0, d1) = (total.c0.mod_down()?, total.c1.mod_down()?);
        let scale = ct.scale.mul(crate::scale::Scale::new(self.scale));
        Ok(Ciphertext { params: params.clone(), c: vec![d0, d1], scale })
    }

    /// The reference product `M z` in double precision: `out[j] = sum_k diag_k[j] z[(j + k) mod n]`,
    /// rotated by `-lag` as [`LinearTransform::apply`]'s ([`LinearTransform::lag`]).
    /// Errors if `z` does not have `slots` values.
    pub fn apply_plain(&self, z: &[Complex]) -> Result<Vec<Complex>, SchemeError> {
        let n = self.slots;
        if z.len() != n {
            return Err(SchemeError::SlotCount { op: "LinearTransform::apply_plain", slots: n, found: z.len() });
        }
        let mut out = vec![Complex::ZERO; n];
        for (&k, d) in &self.diagonals {
            for (j, o) in out.iter_mut().enumerate() {
                *o += d[j % self.period] * z[(j + k) % n];
            }
        }
        Ok(rotate_plain(&out, -self.lag()))
    }
}

/// `rot(z, r)[j] = z[(j + r) mod n]` on a plain slot vector: the reference of a rotation.
pub(crate) fn rotate_plain(z: &[Complex], r: i64) -> Vec<Complex> {
    let n = z.len();
    let r = r.rem_euclid(n.max(1) as i64) as usize;
    (0..n).map(|j| z[(j + r) % n]).collect()
}

/// A rotation's key and its NTT-domain permutation table.
type RotationKey<'a> = (&'a SwitchingKey, Arc<Vec<usize>>);

/// `e` (over `Q_l * P`, `P` times its value) rotated by `key` (`None`: the rotation by 0), still
/// over `Q_l * P`: only `c_1` is divided by `P` and key-switched; `c_0` is only permuted.
fn rotate_extended(params: &Parameters, e: Extended, key: Option<&RotationKey<'_>>) -> Result<Extended, SchemeError> {
    let Some((key, table)) = key else { return Ok(e) };
    let c1 = e.c1.mod_down()?;
    let (mut c0, c1) = key.switch_lazy(&Decomposition::new(params, &c1)?, Some(table))?;
    c0.add_assign(&e.c0, Some(table))?;
    Ok(Extended { c0, c1 })
}

/// A ciphertext over `Q_l * P` that decrypts to `P` times its message (a key-switching result
/// before ModDown).
struct Extended {
    c0: ExtendedPoly,
    c1: ExtendedPoly,
}

/// A baby step of [`LinearTransform::apply`]: how to compute its rotation over `Q_l * P`
/// (limb by limb, with the automorphism's table; `None`: the rotation by 0, `P ct` itself) and
/// the giant steps (by position) that multiply it by a diagonal.
struct BabyStep<'a> {
    products: Option<(Vec<LimbProduct<'a>>, &'a [usize])>,
    uses: Vec<(usize, &'a DiagonalPlaintext)>,
}

/// For every giant step `g`, `sum_b (P rot(ct, b)) ⊙ diag'_{g, b}` over `Q_l * P` (both
/// components; the diagonal sums), with the baby-step rotations computed block by block and
/// consumed at once: a rotation is never written out whole. Each giant step's sum is one
/// [`add_product_sums`] per block: exact sums in registers over its terms, reduced once.
///
/// Memory order: per limb, per block of [`ACCUMULATOR_BLOCK`] coefficients, baby step by baby
/// step: the block of its rotation (an inner product reading the key's block sequentially and
/// the decomposition's limb, which stays in cache for all baby steps, through the
/// automorphism); then, giant step by giant step, the sum of those blocks times its diagonals.
/// Against writing every rotation out and summing afterwards this saves, per baby step, a read
/// of the decomposition and a write and a read of the rotation (at `N = 2^16`, 34 limbs and 4
/// digits: 70 + 2 x 35 MB next to the key's 143 MB).
fn giant_sums(
    params: &Parameters,
    ct: &Ciphertext,
    babies: &[BabyStep<'_>],
    giants: usize,
) -> Result<Vec<Extended>, SchemeError> {
    let (q, p) = (params.q_basis(), params.p_basis());
    let n = params.degree();
    let limbs = ct.level() + 1;
    let zero = || ExtendedPoly::zero(params, ct.level());
    let mut out: Vec<Extended> =
        (0..giants).map(|_| Ok(Extended { c0: zero()?, c1: zero()? })).collect::<Result<_, SchemeError>>()?;
    // Limb t of every output, handed to the thread that computes limb t.
    let mut by_limb: Vec<Vec<(&mut [u64], &mut [u64])>> =
        (0..limbs + p.len()).map(|_| Vec::with_capacity(giants)).collect();
    for e in out.iter_mut() {
        for (t, (o0, o1)) in e.c0.data_mut().chunks_exact_mut(n).zip(e.c1.data_mut().chunks_exact_mut(n)).enumerate() {
            by_limb[t].push((o0, o1));
        }
    }
    // Giant step g -> (baby step index, diagonal) of its terms.
    let mut by_giant: Vec<Vec<(usize, &DiagonalPlaintext)>> = vec![Vec::new(); giants];
    for (b, baby) in babies.iter().enumerate() {
        for &(g, pt) in &baby.uses {
            by_giant[g].push((b, pt));
        }
    }
    let by_giant = &by_giant;
    by_limb.into_par_iter().enumerate().try_for_each(|(t, mut outs)| -> Result<(), SchemeError> {
        let m = if t < limbs { q.modulus(t) } else { p.modulus(t - limbs) };
        let block = ACCUMULATOR_BLOCK.min(n);
        // Every baby step's block of both components, then each giant step's sum over them.
        let mut ys = vec![0u64; 2 * babies.len() * block];
        for start in (0..n).step_by(block) {
            let range = start..(start + block).min(n);
            let len = range.len();
            for (baby, y) in babies.iter().zip(ys.chunks_exact_mut(2 * block)) {
                let (y0, y1) = y.split_at_mut(block);
                let (y0, y1) = (&mut y0[..len], &mut y1[..len]);
                match &baby.products {
                    Some((limb_products, table)) => limb_products[t].compute(Some(table), range.clone(), y0, y1),
                    None => {
                        p_times_block(params, &ct.c[0], t, range.clone(), y0)?;
                        p_times_block(params, &ct.c[1], t, range.clone(), y1)?;
                    }
                }
            }
            for (g, (o0, o1)) in outs.iter_mut().enumerate() {
                let terms: Vec<Term<'_>> = by_giant[g]
                    .iter()
                    .map(|&(b, pt)| {
                        let y = &ys[2 * b * block..2 * (b + 1) * block];
                        Term { y0: &y[..len], y1: &y[block..block + len], w: pt.factor(t, limbs, range.clone()) }
                    })
                    .collect();
                add_product_sums(m, &terms, &mut o0[range.clone()], &mut o1[range.clone()]);
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Coefficients of a block of [`giant_sums`]: every baby step's block of both components (`2 x
/// 4 KB` each, 128 KB for 16 baby steps) and a key block `2 dnum x 4 KB`: together in L2.
const ACCUMULATOR_BLOCK: usize = 512;

/// `r` in `(-n/2, n/2]` for `r` in `0..n`.
fn signed(r: usize, n: usize) -> i64 {
    if r > n / 2 {
        r as i64 - n as i64
    } else {
        r as i64
    }
}

/// `(base, t, r)`: the indices are `base + t r_i (mod n)` with `t` the largest common stride
/// (a divisor of `n`) and `r_i` in `0..n/t`.
fn reduce_by_stride(indices: impl Iterator<Item = usize>, n: usize) -> (usize, usize, Vec<usize>) {
    let indices: Vec<usize> = indices.collect();
    let Some(&base) = indices.first() else { return (0, 1, Vec::new()) };
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let stride = indices.iter().fold(n, |g, &k| gcd(g, (k + n - base) % n)).max(1);
    let reduced = indices.iter().map(|&k| ((k + n - base) % n) / stride).collect();
    (base, stride, reduced)
}

/// The smallest cyclic window `[start, start + span)` (mod `n`) holding every index: it
/// begins after the largest cyclic gap between consecutive indices.
pub(super) fn window(indices: impl Iterator<Item = usize>, n: usize) -> (usize, usize) {
    let sorted: Vec<usize> = indices.collect::<BTreeSet<_>>().into_iter().collect();
    let Some(&first) = sorted.first() else { return (0, 1) };
    let mut best_gap = first + n - sorted[sorted.len() - 1]; // wrap-around gap
    let mut start = first;
    for w in sorted.windows(2) {
        let gap = w[1] - w[0];
        if gap > best_gap {
            best_gap = gap;
            start = w[1];
        }
    }
    (start, n - best_gap + 1)
}

/// The baby-step giant-step shape of a set of diagonal indices on `n` slots.
struct Bsgs {
    /// The first index.
    base: usize,
    /// The gcd of the indices' distances from `base`.
    stride: usize,
    /// `(k - base) / stride` for each index `k`, on `n / stride` slots.
    reduced: Vec<usize>,
    /// The start of the smallest cyclic window holding `reduced`.
    start: usize,
    /// Baby steps: the given ones or the default, at most the window's span.
    n1: usize,
}

impl Bsgs {
    fn of(indices: impl Iterator<Item = usize>, n: usize, n1: Option<usize>) -> Self {
        let (base, stride, reduced) = reduce_by_stride(indices, n);
        let m = n / stride;
        let (start, span) = window(reduced.iter().copied(), m);
        let n1 = n1.unwrap_or_else(|| default_n1(reduced.iter().copied(), start, span, m)).min(span);
        Self { base, stride, reduced, start, n1 }
    }
}

/// The distinct non-trivial baby-step and giant-step rotations for `n1` baby steps.
fn rotation_counts(indices: &[usize], start: usize, n1: usize, n: usize) -> (usize, usize) {
    let mut baby = BTreeSet::new();
    let mut giant = BTreeSet::new();
    for &k in indices {
        let offset = (k + n - start) % n;
        baby.insert(offset % n1);
        giant.insert((start + (offset / n1) * n1) % n);
    }
    baby.remove(&0);
    giant.remove(&0);
    (baby.len(), giant.len())
}

/// Cost of a giant step relative to a baby step under double hoisting: a baby step is one
/// inner product with a key (no ModDown), a giant step adds a ModDown and a whole
/// decomposition. At `N = 2^15` (bootstrapping's CoeffToSlot, one thread) weights 3 and 8 ran
/// equally fast and 3-4 need fewer keys (`docs/BOOTSTRAPPING.md`), so the default takes 4.
pub(super) const GIANT_STEP_COST: usize = 4;

fn default_n1(indices: impl Iterator<Item = usize>, start: usize, span: usize, n: usize) -> usize {
    let indices: Vec<usize> = indices.collect();
    let root = (span as f64).sqrt();
    let lo = (root.floor().max(1.0) as usize).next_power_of_two().max(1);
    let candidates = [lo / 2, lo, lo * 2].into_iter().filter(|&c| c >= 1 && c <= span.next_power_of_two());
    let cost = |c: usize| {
        let (baby, giant) = rotation_counts(&indices, start, c.min(span), n);
        (baby + GIANT_STEP_COST * giant, baby + giant, c)
    };
    candidates.min_by_key(|&c| cost(c)).unwrap_or(1).min(span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decryptor, Encryptor, EvaluationKeys, KeyGenerator, Preset, SecretKey};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::f64::consts::PI;
    use std::sync::{Arc, OnceLock};

    /// Maximum error `2^-15` for matrices with entries of modulus at most `1 / n` and inputs in
    /// the unit disk (outputs in the unit disk).
    const TOLERANCE: f64 = 1.0 / (1u64 << 15) as f64;

    struct Ctx {
        params: Parameters,
        sk: SecretKey,
        keys: Arc<EvaluationKeys>,
    }

    impl Ctx {
        fn new(params: Parameters, rotations: &[i64]) -> Self {
            let mut keygen = KeyGenerator::from_seed(&params, [3; 32]);
            let sk = keygen.secret_key().unwrap();
            let keys = Arc::new(keygen.evaluation_keys(&sk, rotations, false).unwrap());
            Self { params, sk, keys }
        }

        fn with_keys(&self, rotations: &[i64]) -> Evaluator {
            let mut keygen = KeyGenerator::from_seed(&self.params, [4; 32]);
            let galois = keygen.galois_keys(&self.sk, rotations, false).unwrap();
            let keys = EvaluationKeys { galois, ..(*self.keys).clone() };
            Evaluator::new(Arc::new(keys))
        }

        fn encrypt(&self, z: &[Complex], level: usize) -> Ciphertext {
            let pt = Encoder::new(&self.params).encode(z, level, self.params.default_scale()).unwrap();
            Encryptor::from_seed(&self.keys.public, [5; 32]).encrypt(&pt).unwrap()
        }

        fn decrypt(&self, ct: &Ciphertext) -> Vec<Complex> {
            Encoder::new(&self.params).decode(&Decryptor::new(&self.sk).decrypt(ct).unwrap()).unwrap()
        }

        /// Scale of a transform at `level` that the rescale after it cancels.
        fn scale(&self, level: usize) -> f64 {
            self.params.q_basis().modulus(level).value() as f64
        }
    }

    /// A sparse-slot context with keys for every rotation (shared across cases).
    fn sparse_ctx(slots: usize) -> &'static Ctx {
        static CTX: OnceLock<Vec<Ctx>> = OnceLock::new();
        let all = CTX.get_or_init(|| {
            [16usize, 32, 64]
                .into_iter()
                .map(|n| {
                    let params = Preset::InsecureTestN11.builder().slots(n).build_insecure().unwrap();
                    Ctx::new(params, &(1..n as i64).collect::<Vec<_>>())
                })
                .collect()
        });
        all.iter().find(|c| c.params.slots() == slots).unwrap()
    }

    /// The full-slot `N = 2^11` context (1024 slots), without Galois keys.
    fn full_ctx() -> &'static Ctx {
        static CTX: OnceLock<Ctx> = OnceLock::new();
        CTX.get_or_init(|| Ctx::new(Preset::InsecureTestN11.build().unwrap(), &[]))
    }

    fn max_err(a: &[Complex], b: &[Complex]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (*x - *y).norm()).fold(0.0, f64::max)
    }

    fn disk(radius: f64) -> impl Strategy<Value = Complex> {
        (0.0..=radius, -PI..PI).prop_map(|(r, t)| Complex::from_polar(r, t))
    }

    /// `apply`, rescale, decrypt; checks against the dense reference.
    fn check(ctx: &Ctx, eval: &Evaluator, lt: &LinearTransform, z: &[Complex], ct_level: usize) -> f64 {
        let ct = ctx.encrypt(z, ct_level);
        let out = lt.apply(eval, &ct).unwrap();
        assert!((out.scale() / (ct.scale() * lt.scale()) - 1.0).abs() < 1e-12);
        let out = eval.rescale(&out).unwrap();
        assert_eq!(out.level(), ct_level.min(lt.level()) - 1);
        max_err(&ctx.decrypt(&out), &lt.apply_plain(z).unwrap())
    }

    fn dense_reference(m: &[Vec<Complex>], z: &[Complex]) -> Vec<Complex> {
        m.iter().map(|row| row.iter().zip(z).fold(Complex::ZERO, |acc, (&a, &b)| acc + a * b)).collect()
    }

    fn dense_case() -> impl Strategy<Value = (usize, Vec<Vec<Complex>>, Vec<Complex>)> {
        prop_oneof![Just(16usize), Just(32), Just(64)]
            .prop_flat_map(|n| (Just(n), vec(vec(disk(1.0 / n as f64), n), n), vec(disk(1.0), n)))
    }

    /// Diagonal offsets in `[-width, width]` (mod `n`), one of them possibly far away.
    fn banded_case(n: usize) -> impl Strategy<Value = (Vec<i64>, Vec<Vec<Complex>>, Vec<Complex>)> {
        (1i64..=24, vec(-24i64..=24, 1..6), proptest::option::of(0..n as i64)).prop_flat_map(
            move |(width, offsets, far)| {
                let mut ks: BTreeSet<i64> = offsets.into_iter().map(|o| o.clamp(-width, width)).collect();
                ks.extend(far);
                let ks: Vec<i64> = ks.into_iter().collect();
                let d = ks.len();
                (Just(ks), vec(vec(disk(1.0 / d as f64), n), d), vec(disk(1.0), n))
            },
        )
    }

    fn banded(ks: &[i64], diags: &[Vec<Complex>], n: usize) -> BTreeMap<usize, Vec<Complex>> {
        ks.iter().zip(diags).map(|(&k, d)| (k.rem_euclid(n as i64) as usize, d.clone())).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]

        #[test]
        fn dense_matches_plain((n, m, z) in dense_case()) {
            let ctx = sparse_ctx(n);
            let eval = Evaluator::new(ctx.keys.clone());
            let level = ctx.params.max_level();
            let lt = LinearTransform::from_dense(&ctx.params, &m, level, ctx.scale(level)).unwrap();
            // The diagonal form is the matrix.
            prop_assert!(max_err(&lt.apply_plain(&z).unwrap(), &dense_reference(&m, &z)) < 1e-12);
            let err = check(ctx, &eval, &lt, &z, level);
            prop_assert!(err < TOLERANCE, "n = {n}: error 2^{:.1}", err.log2());
        }

        #[test]
        fn banded_full_slots((ks, diags, z) in banded_case(1024), n1 in prop_oneof![Just(None), (0u32..6).prop_map(|e| Some(1usize << e))]) {
            let ctx = full_ctx();
            let n = ctx.params.slots();
            let level = ctx.params.max_level();
            let lt = LinearTransform::with_baby_steps(&ctx.params, banded(&ks, &diags, n), level, ctx.scale(level), n1).unwrap();
            let eval = ctx.with_keys(&lt.rotations());
            let err = check(ctx, &eval, &lt, &z, level);
            prop_assert!(err < TOLERANCE, "ks {ks:?}, n1 {:?}: error 2^{:.1}", n1, err.log2());
        }

        /// Diagonals of period `p < n` are stored once per cycle (`2p` values per limb) and give
        /// the same product, at the transform's level and below it.
        #[test]
        fn periodic_diagonals_are_stored_once_per_cycle((ks, diags, z) in banded_case(1024), log_p in 0u32..9) {
            let ctx = full_ctx();
            let (n, p) = (ctx.params.slots(), 1usize << log_p);
            let periodic: Vec<Vec<Complex>> = diags.iter().map(|d| (0..n).map(|j| d[j % p]).collect()).collect();
            let diagonals = banded(&ks, &periodic, n);
            let level = ctx.params.max_level();
            let lt = LinearTransform::from_diagonals(&ctx.params, diagonals.clone(), level, ctx.scale(level)).unwrap();
            let limbs = level + 1 + ctx.params.p_basis().len();
            prop_assert_eq!(lt.period(), p);
            prop_assert_eq!(lt.size_bytes(), lt.diagonals().len() * limbs * 2 * p * 8);
            let eval = ctx.with_keys(&lt.rotations());
            for ct_level in [level, level - 1] {
                let err = check(ctx, &eval, &lt, &z, ct_level);
                prop_assert!(err < TOLERANCE, "p {p}, ks {ks:?}, level {ct_level}: error 2^{:.1}", err.log2());
            }
        }

        /// On a wider view (`2n` slots of an `n`-slot ciphertext, which holds each slot twice)
        /// any matrix of `2n` diagonals gives its product on `[z, z]`, with the keys of
        /// `galois_elements` (the rotations of the view, not of `n` slots).
        #[test]
        fn a_wider_view_reads_each_slot_twice((ks, diags, z) in banded_case(64), n1 in prop_oneof![Just(None), Just(Some(2usize))]) {
            let ctx = sparse_ctx(32);
            let (n, wide) = (ctx.params.slots(), 64);
            let level = ctx.params.max_level();
            let lt = LinearTransform::with_slots(&ctx.params, wide, banded(&ks, &diags, wide), level, ctx.scale(level), n1).unwrap();
            prop_assert_eq!(lt.slots(), wide);
            let mut keygen = KeyGenerator::from_seed(&ctx.params, [4; 32]);
            let mut galois = crate::keys::GaloisKeys::default();
            keygen.extend_galois_keys(&ctx.sk, &mut galois, &lt.galois_elements()).unwrap();
            let eval = Evaluator::new(Arc::new(EvaluationKeys { galois, ..(*ctx.keys).clone() }));
            let ct = ctx.encrypt(&z[..n], level);
            let out = eval.rescale(&lt.apply(&eval, &ct).unwrap()).unwrap();
            let got = Encoder::with_slots(&ctx.params, wide).unwrap().decode(&Decryptor::new(&ctx.sk).decrypt(&out).unwrap()).unwrap();
            let twice: Vec<Complex> = z[..n].iter().chain(&z[..n]).copied().collect();
            let err = max_err(&got, &lt.apply_plain(&twice).unwrap());
            prop_assert!(err < TOLERANCE, "ks {ks:?}: error 2^{:.1}", err.log2());
        }

        /// Every `n1` gives the same product; the rotations are exactly the keys needed.
        #[test]
        fn baby_steps_agree_and_rotations_exact((ks, diags, z) in banded_case(64)) {
            let ctx = sparse_ctx(64);
            let n = ctx.params.slots();
            let level = ctx.params.max_level();
            let ct = ctx.encrypt(&z, level);
            let reference = LinearTransform::from_diagonals(&ctx.params, banded(&ks, &diags, n), level, ctx.scale(level)).unwrap();
            let expected = reference.apply_plain(&z).unwrap();
            for n1 in [1usize, 2, 4, 8, 16, 64] {
                let lt = LinearTransform::with_baby_steps(&ctx.params, banded(&ks, &diags, n), level, ctx.scale(level), Some(n1)).unwrap();
                let rotations = lt.rotations();
                let eval = ctx.with_keys(&rotations);
                let out = ctx.with_keys(&rotations).rescale(&lt.apply(&eval, &ct).unwrap()).unwrap();
                let err = max_err(&ctx.decrypt(&out), &expected);
                prop_assert!(err < TOLERANCE, "n1 {n1}: error 2^{:.1}", err.log2());
                for skip in 0..rotations.len() {
                    let fewer: Vec<i64> = rotations.iter().enumerate().filter(|&(i, _)| i != skip).map(|(_, &r)| r).collect();
                    let res = lt.apply(&ctx.with_keys(&fewer), &ct);
                    let missing = matches!(res, Err(SchemeError::MissingGaloisKey { rotation: Some(r), .. }) if r.rem_euclid(n as i64) == rotations[skip].rem_euclid(n as i64));
                    prop_assert!(missing, "n1 {n1}, without {}: {:?}", rotations[skip], res.map(|_| ()));
                }
            }
        }
    }

    #[test]
    fn levels_are_aligned() {
        let ctx = sparse_ctx(16);
        let eval = Evaluator::new(ctx.keys.clone());
        let n = 16;
        let m: Vec<Vec<Complex>> = (0..n)
            .map(|i| (0..n).map(|j| Complex::new((i * n + j) as f64 / 256.0 / n as f64, 0.1 / n as f64)).collect())
            .collect();
        let z: Vec<Complex> = (0..n).map(|i| Complex::from_polar(1.0, i as f64)).collect();
        let top = ctx.params.max_level();
        // Ciphertext above the transform.
        let lt = LinearTransform::from_dense(&ctx.params, &m, top - 1, ctx.scale(top - 1)).unwrap();
        assert!(check(ctx, &eval, &lt, &z, top) < TOLERANCE);
        // Transform above the ciphertext.
        let lt = LinearTransform::from_dense(&ctx.params, &m, top, ctx.scale(top - 1)).unwrap();
        assert!(check(ctx, &eval, &lt, &z, top - 1) < TOLERANCE);
    }

    #[test]
    fn rejects_bad_input() {
        let ctx = sparse_ctx(16);
        let p = &ctx.params;
        let s = ctx.scale(1);
        let one = |k: usize, len: usize| BTreeMap::from([(k, vec![Complex::ONE; len])]);
        assert!(LinearTransform::from_diagonals(p, one(16, 16), 1, s).is_err());
        assert!(matches!(LinearTransform::from_diagonals(p, one(3, 15), 1, s), Err(SchemeError::SlotCount { .. })));
        assert!(LinearTransform::from_diagonals(p, BTreeMap::from([(3, vec![Complex::ZERO; 16])]), 1, s).is_err());
        assert!(LinearTransform::with_baby_steps(p, one(3, 16), 1, s, Some(0)).is_err());
        assert!(matches!(LinearTransform::from_diagonals(p, one(3, 16), 9, s), Err(SchemeError::OutOfLevels { .. })));
        assert!(LinearTransform::from_dense(p, &vec![vec![Complex::ONE; 16]; 15], 1, s).is_err());
        // Other parameters.
        let lt = LinearTransform::from_diagonals(p, one(3, 16), 1, s).unwrap();
        let other = sparse_ctx(32);
        let ct = other.encrypt(&[Complex::ONE], 1);
        let res = lt.apply(&Evaluator::new(other.keys.clone()), &ct);
        assert!(matches!(res, Err(SchemeError::ParameterMismatch { .. })));
        // apply_plain length.
        assert!(lt.apply_plain(&[Complex::ONE; 3]).is_err());
    }

    #[test]
    fn window_and_rotations() {
        assert_eq!(window([0, 1, 63].into_iter(), 64), (63, 3));
        assert_eq!(window([5].into_iter(), 64), (5, 1));
        assert_eq!(window([0, 32].into_iter(), 64), (0, 33));
        let ctx = sparse_ctx(64);
        let diags: BTreeMap<usize, Vec<Complex>> =
            [62usize, 63, 0, 1, 2].into_iter().map(|k| (k, vec![Complex::ONE; 64])).collect();
        let lt = LinearTransform::with_baby_steps(&ctx.params, diags, 1, ctx.scale(1), Some(2)).unwrap();
        // Window [-2, 2]: baby steps {0, 1}, giant steps {-2, 0, 2}.
        let mut r = lt.rotations();
        r.sort();
        assert_eq!(r, vec![-2, 1, 2]);
        assert_eq!((lt.baby_steps(), lt.giant_steps()), (2, 3));
    }

    /// Horner's rule over the giant steps: a window of 63 diagonals `[-31, 31]` at stride 4 with
    /// 8 baby steps needs the 7 baby rotations, one gap `8 * 4` and the start `-31 * 4`: 9 keys,
    /// where one key per giant step took 15. A giant step left empty adds its gap.
    #[test]
    fn giant_steps_share_their_keys() {
        let ctx = full_ctx();
        let n = ctx.params.slots();
        let window = |ks: &mut dyn Iterator<Item = i64>| -> BTreeMap<usize, Vec<Complex>> {
            ks.map(|k| ((4 * k).rem_euclid(n as i64) as usize, vec![Complex::new(0.01, 0.0); n])).collect()
        };
        let lt =
            LinearTransform::with_baby_steps(&ctx.params, window(&mut (-31..=31)), 1, ctx.scale(1), Some(8)).unwrap();
        let mut r = lt.rotations();
        r.sort();
        assert_eq!(r, vec![-124, 4, 8, 12, 16, 20, 24, 28, 32]);
        assert_eq!(lt.giant_steps(), 8);
        // Without the diagonals of giant step 2 (offsets 16..24 from the start): gaps 32 and 64.
        let mut holes = (-31..=31).filter(|k| !(-15..=-8).contains(k));
        let lt = LinearTransform::with_baby_steps(&ctx.params, window(&mut holes), 1, ctx.scale(1), Some(8)).unwrap();
        let mut r = lt.rotations();
        r.sort();
        assert_eq!(r, vec![-124, 4, 8, 12, 16, 20, 24, 28, 32, 64]);
    }

    /// Diagonals at multiples of a stride (the FFT layers of bootstrapping) run BSGS on the
    /// quotient: 8 diagonals `8 j` need 2 baby and 4 giant steps (rotations 8, 16, 32, 48 in
    /// some arrangement), not one giant step each.
    #[test]
    fn strided_diagonals_use_bsgs_on_the_quotient() {
        assert_eq!(reduce_by_stride([8usize, 24, 40].into_iter(), 64), (8, 16, vec![0, 1, 2]));
        let ctx = sparse_ctx(64);
        let diags: BTreeMap<usize, Vec<Complex>> =
            (0..8).map(|j| (8 * j, vec![Complex::new(0.1 * j as f64, 0.05); 64])).collect();
        let lt = LinearTransform::from_diagonals(&ctx.params, diags, 1, ctx.scale(1)).unwrap();
        assert!(lt.rotations().len() <= 5, "{:?}", lt.rotations());
        assert!(lt.rotations().iter().all(|r| r % 8 == 0), "{:?}", lt.rotations());
        assert_eq!(lt.baby_steps() * lt.giant_steps(), 8);
    }

    /// The plan known without encoding is the transform's: its non-zero baby steps in use,
    /// and its Horner rotations (the gaps and a non-zero last one).
    #[test]
    fn rotation_plan_matches_the_built_transform() {
        let ctx = sparse_ctx(64);
        let cases: [(&[usize], Option<usize>); 5] = [
            (&[62, 63, 0, 1, 2], Some(2)),
            (&[0, 8, 16, 24, 32, 40, 48, 56], None),
            (&[3, 5, 7, 30, 31, 33], None),
            (&[10, 20, 30, 40, 50, 60, 1], Some(4)),
            (&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], Some(8)),
        ];
        for (indices, n1) in cases {
            let diags: BTreeMap<usize, Vec<Complex>> =
                indices.iter().map(|&k| (k, vec![Complex::new(0.01, 0.0); 64])).collect();
            let lt = LinearTransform::with_slots(&ctx.params, 64, diags, 1, ctx.scale(1), n1).unwrap();
            let set: BTreeSet<usize> = indices.iter().copied().collect();
            let (baby, giant) = LinearTransform::rotation_plan(&set, 64, n1, false);
            assert_eq!(baby, lt.baby_indices().into_iter().filter(|&b| b != 0).count(), "{indices:?}");
            let (gaps, last) = lt.horner_rotations();
            assert_eq!(giant, gaps.len() + usize::from(last != 0), "{indices:?}");
            assert_eq!(LinearTransform::rotation_plan(&set, 64, n1, true), (baby, gaps.len()), "{indices:?}");
        }
    }

    /// Timing of one banded 1024 x 1024 product at `N = 2^11` (`cargo test --release -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn time_banded_1024() {
        let ctx = full_ctx();
        let n = ctx.params.slots();
        let level = ctx.params.max_level();
        for width in [2usize, 8, 16] {
            let diags: BTreeMap<usize, Vec<Complex>> = (0..=2 * width)
                .map(|i| ((i + n - width) % n, vec![Complex::new(0.5 / (2 * width + 1) as f64, 0.0); n]))
                .collect();
            let lt = LinearTransform::from_diagonals(&ctx.params, diags, level, ctx.scale(level)).unwrap();
            let eval = ctx.with_keys(&lt.rotations());
            let ct = ctx.encrypt(&[Complex::ONE; 8], level);
            lt.apply(&eval, &ct).unwrap();
            let reps = 20;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                std::hint::black_box(lt.apply(&eval, &ct).unwrap());
            }
            let dt = t.elapsed() / reps;
            eprintln!(
                "{} diagonals, n1 = {}, n2 = {}, {} rotations: {:?} per apply",
                2 * width + 1,
                lt.baby_steps(),
                lt.giant_steps(),
                lt.rotations().len(),
                dt
            );
        }
    }
}
