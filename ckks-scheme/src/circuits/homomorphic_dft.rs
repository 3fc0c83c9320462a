//! The homomorphic special FFT of bootstrapping: CoeffToSlot (the inverse special FFT) and
//! SlotToCoeff (the forward special FFT) as products of sparse [`LinearTransform`]s.
//!
//! # Factorisation
//! With `n = slots`, `xi = e^(2 pi i / 4n)` and `F[j][t] = xi^(5^j t)` the special FFT
//! ([`SpecialFft::special_fft`]), the decimation-in-time algorithm is
//!
//! ```text
//! F = L_{n/2} ... L_2 L_1 P                     P: bit reversal of the indices (P = P^-1)
//! ```
//!
//! where the butterfly layer `L_h` (half-size `h = 1, 2, ..., n/2`, blocks of `2h`) maps, for
//! `i = 2h b + r`,
//!
//! ```text
//! r < h:   out_i = v_i + w_r v_{i+h}            w_r = e^(2 pi i (5^r mod 8h) / 8h)
//! r >= h:  out_i = v_{i-h} - w_{r-h} v_i
//! ```
//!
//! so its only non-zero generalized diagonals (`diag_k[j] = M[j][(j + k) mod n]`) are `0`,
//! `+h` and `-h = n - h` (two when `h = n/2`, where `+h = -h`). The inverse layer is
//! `L_h^-1`: `out_i = (v_i + v_{i+h}) / 2` for `r < h`, `out_i = conj(w_{r-h}) (v_{i-h} - v_i) / 2`
//! for `r >= h` (same diagonals); the factors `1/2` make up the `1/n` of the inverse.
//!
//! **Convention.** The layers are listed in the order they are applied (first one first):
//!
//! * [`fft_layers`]: `[L_1, L_2, ..., L_{n/2}]`, product `L_{n/2} ... L_1 = F P`, i.e. applying
//!   the layers to `v` gives `special_fft(bitrev(v))`;
//! * [`ifft_layers`]: `[L_{n/2}^-1, ..., L_1^-1]`, product `P F^-1`, i.e. applying the layers
//!   to `z` gives `bitrev(special_ifft(z))`.
//!
//! In bootstrapping, CoeffToSlot (`P F^-1`), the slot-wise EvalMod, then SlotToCoeff (`F P`)
//! compose to `F P (mod) P F^-1 = F (mod) F^-1`: the two bit reversals cancel because EvalMod
//! commutes with any permutation of the slots. Between the two, the slots hold the (complex
//! folded) coefficients `w_t = m_t + i m_{n+t}` in bit-reversed order `t = bitrev(j)`.
//!
//! # Merging and cost
//! Each layer as a [`LinearTransform`] costs 2 rotations (1 for `h = n/2`) and one level.
//! [`merge_layers`] multiplies `g` consecutive layers of strides `h, 2h, ..., 2^(g-1) h` into one
//! matrix with at most `2^(g+1) - 1` diagonals (indices `sum_t e_t 2^t h`, `e_t in {-1, 0, 1}`,
//! i.e. a window of `[-(2^g - 1) h, (2^g - 1) h]` in steps of `h`), which BSGS evaluates with
//! about `2 sqrt(2^(g+1))` rotations: depth `d` for `log2 n` layers costs `d` levels and about
//! `sum_groups 2^(g/2 + 1.5)` rotations, against `2 log2 n` rotations for `d = log2 n`.
//! Where `log2 n` does not split evenly into `d` runs, a cost model picks which runs are the
//! longer (`cheapest_runs`: the rotations each matrix would run, weighed at its level; see
//! docs/BOOTSTRAPPING.md).

use super::linear_transform::{rotate_plain, window, LinearTransform, GIANT_STEP_COST};
use crate::encoding::SpecialFft;
use crate::{Ciphertext, Complex, Evaluator, Parameters, SchemeError};
use ckks_math::ntt::bit_reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// A sparse `n x n` matrix by its non-zero generalized diagonals `diag_k[j] = M[j][(j + k) mod n]`.
pub type Diagonals = BTreeMap<usize, Vec<Complex>>;

/// Which homomorphic DFT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DftDirection {
    /// The inverse special FFT with the output bit-reversed: `z -> bitrev(special_ifft(z))`
    /// ([`ifft_layers`]).
    CoeffToSlot,
    /// The forward special FFT with the input bit-reversed: `v -> special_fft(bitrev(v))`
    /// ([`fft_layers`]).
    SlotToCoeff,
}

/// Permutes `vals` (length a power of two) by bit reversal of the indices: `P`, an involution.
pub fn bit_reverse_permute(vals: &mut [Complex]) {
    let n = vals.len();
    assert!(n.is_power_of_two(), "bit reversal of a length that is not a power of two");
    let log = n.trailing_zeros();
    for i in 0..n {
        let r = bit_reverse(i, log);
        if i < r {
            vals.swap(i, r);
        }
    }
}

/// `w_r = e^(2 pi i (5^r mod 8h) / 8h)` for `r < h`, the twiddles of the layer of half-size `h`
/// (each computed from its own angle).
fn twiddles(h: usize) -> Vec<Complex> {
    let m = 8 * h;
    let mut k = 1usize;
    (0..h)
        .map(|_| {
            let w = Complex::from_polar(1.0, 2.0 * std::f64::consts::PI * k as f64 / m as f64);
            k = (k * 5) % m;
            w
        })
        .collect()
}

/// Adds `d` to the diagonal `k` (two diagonals coincide when `h = n/2`).
fn add_diagonal(out: &mut Diagonals, k: usize, d: Vec<Complex>) {
    match out.get_mut(&k) {
        Some(acc) => acc.iter_mut().zip(d).for_each(|(a, b)| *a += b),
        None => {
            out.insert(k, d);
        }
    }
}

/// One butterfly layer of half-size `h` on `n` slots, forward (`L_h`) or inverse (`L_h^-1`).
fn layer(n: usize, h: usize, inverse: bool) -> Diagonals {
    let w = twiddles(h);
    let (mut d0, mut dp, mut dm) = (vec![Complex::ZERO; n], vec![Complex::ZERO; n], vec![Complex::ZERO; n]);
    for i in 0..n {
        let r = i % (2 * h);
        match (r < h, inverse) {
            (true, false) => (d0[i], dp[i]) = (Complex::ONE, w[r]),
            (false, false) => (d0[i], dm[i]) = (-w[r - h], Complex::ONE),
            (true, true) => (d0[i], dp[i]) = (Complex::new(0.5, 0.0), Complex::new(0.5, 0.0)),
            (false, true) => {
                let c = w[r - h].conj().scale(0.5);
                (d0[i], dm[i]) = (-c, c)
            }
        }
    }
    let mut out = Diagonals::new();
    add_diagonal(&mut out, 0, d0);
    add_diagonal(&mut out, h % n, dp);
    add_diagonal(&mut out, (n - h) % n, dm);
    out
}

fn check_slots(n: usize) {
    assert!(n.is_power_of_two(), "the slot count {n} is not a power of two");
}

/// The `log2 n` sparse layers of the special FFT on `n` slots (a power of two), in the order
/// of application: `[L_1, L_2, ..., L_{n/2}]`, whose product is `special_fft ∘ bitrev` (see the
/// [module documentation](self)). Each has the diagonals `{0, h, n - h}`. Empty for `n = 1`.
pub fn fft_layers(n: usize) -> Vec<Diagonals> {
    check_slots(n);
    (0..n.trailing_zeros()).map(|e| layer(n, 1 << e, false)).collect()
}

/// The `log2 n` sparse layers of the inverse special FFT (division by `n` included), in the
/// order of application: `[L_{n/2}^-1, ..., L_1^-1]`, whose product is `bitrev ∘ special_ifft`.
pub fn ifft_layers(n: usize) -> Vec<Diagonals> {
    check_slots(n);
    (0..n.trailing_zeros()).rev().map(|e| layer(n, 1 << e, true)).collect()
}

/// [`ifft_layers`] for [`DftDirection::CoeffToSlot`], [`fft_layers`] for
/// [`DftDirection::SlotToCoeff`].
pub fn dft_layers(n: usize, direction: DftDirection) -> Vec<Diagonals> {
    match direction {
        DftDirection::CoeffToSlot => ifft_layers(n),
        DftDirection::SlotToCoeff => fft_layers(n),
    }
}

/// `M z` for a matrix by diagonals: `out[j] = sum_k diag_k[j] z[(j + k) mod n]`.
pub fn apply_diagonals(m: &Diagonals, z: &[Complex]) -> Vec<Complex> {
    let n = z.len();
    let mut out = vec![Complex::ZERO; n];
    for (&k, d) in m {
        for (j, o) in out.iter_mut().enumerate() {
            *o += d[j] * z[(j + k) % n];
        }
    }
    out
}

/// The product `B A` (apply `A` first, then `B`) in diagonal form:
/// `c_k = sum_{i + j = k mod n} b_i ⊙ rot(a_j, i)` with `rot(x, i)[m] = x[(m + i) mod n]`.
/// Diagonals that come out exactly zero are dropped. Cost: `|A| |B| n` complex products.
pub fn compose(a: &Diagonals, b: &Diagonals, n: usize) -> Diagonals {
    let mut out = Diagonals::new();
    for (&i, bi) in b {
        for (&j, aj) in a {
            let d: Vec<Complex> = (0..n).map(|m| bi[m] * aj[(m + i) % n]).collect();
            add_diagonal(&mut out, (i + j) % n, d);
        }
    }
    out.retain(|_, d| d.iter().any(|&x| x != Complex::ZERO));
    out
}

/// Groups the `layers` (in order of application, `n` = the length of their diagonals) into
/// runs of `runs[t]` consecutive layers and multiplies each run: the result, again in order of
/// application, has the same product. Errors unless the runs are positive and add up to
/// `layers.len()`.
pub fn merge_layers(layers: &[Diagonals], runs: &[usize]) -> Result<Vec<Diagonals>, SchemeError> {
    let count = layers.len();
    if runs.is_empty() || runs.contains(&0) || runs.iter().sum::<usize>() != count {
        return Err(SchemeError::InvalidParameters {
            reason: format!("merge_layers: runs {runs:?} are not positive lengths adding up to the {count} layers"),
        });
    }
    let n = layers[0].values().next().map_or(0, Vec::len);
    let mut rest = layers;
    Ok(runs
        .iter()
        .map(|&size| {
            let (run, tail) = rest.split_at(size);
            rest = tail;
            run[1..].iter().fold(run[0].clone(), |acc, next| compose(&acc, next, n))
        })
        .collect())
}

/// The diagonal indices of the product of layers with these indices, `{i + j mod n}` over
/// the pairs: [`compose`]'s, where no diagonal cancels (as for the DFT's layers).
fn compose_indices(a: &BTreeSet<usize>, b: &BTreeSet<usize>, n: usize) -> BTreeSet<usize> {
    a.iter().flat_map(|&i| b.iter().map(move |&j| (i + j) % n)).collect()
}

/// Where and how a merged DFT is evaluated, for [`cheapest_runs`].
struct RunCost<'a> {
    params: &'a Parameters,
    /// Slots of the view.
    n: usize,
    /// Level of the first matrix; matrix `t` runs at `level - t`.
    level: usize,
    baby_steps: Option<usize>,
    /// The matrix lifted to the `2n`-slot view of packed halves, if any.
    boundary: Option<usize>,
    /// Whether the last matrix lags too ([`DftSpec::lagging_output`], or packed halves'
    /// projection takes its lag): then no matrix pays a final rotation, otherwise only the
    /// last (the others are [`LinearTransform::lagging`]).
    lagging_output: bool,
}

impl RunCost<'_> {
    /// Modelled cost of matrix `t` with diagonals at `indices`, in inner products at the top
    /// level, and its rotations (keys): `(baby + GIANT_STEP_COST giant) (l + 1 + alpha)
    /// digits(l)` at its level `l` (a key switch's inner product and decomposition grow with
    /// the primes and the digits). Only the `last` matrix may pay a final rotation. Its
    /// diagonals move by the lags before it, a cyclic shift that leaves the counts alone.
    fn matrix(&self, t: usize, last: bool, indices: &BTreeSet<usize>) -> (usize, usize) {
        let lagging = !last || self.lagging_output;
        let (baby, giant) = if self.boundary == Some(t) {
            let at = Lifted::of(indices.iter().copied(), self.n);
            let lifted = indices.iter().map(|&k| at.index(k)).collect();
            LinearTransform::rotation_plan(&lifted, 2 * self.n, self.baby_steps, lagging)
        } else {
            LinearTransform::rotation_plan(indices, self.n, self.baby_steps, lagging)
        };
        let l = self.level - t;
        let weight = self.params.key_switch_weight(l);
        ((baby + GIANT_STEP_COST * giant) * weight, baby + giant)
    }

    /// [`RunCost::matrix`] summed over the matrices of the split `runs`: (cost, rotations).
    fn split(&self, runs: &[usize], indices: &RunIndices) -> (usize, usize) {
        let mut first = 0;
        runs.iter().enumerate().fold((0, 0), |(cost, keys), (t, &size)| {
            let (c, k) = self.matrix(t, t + 1 == runs.len(), indices.get(first, first + size));
            first += size;
            (cost + c, keys + k)
        })
    }
}

/// The diagonal indices of every run `i..j` of at most `longest` layers, composed once
/// ([`compose_indices`]).
struct RunIndices(BTreeMap<(usize, usize), BTreeSet<usize>>);

impl RunIndices {
    fn new(layers: &[BTreeSet<usize>], n: usize, longest: usize) -> Self {
        let mut runs = BTreeMap::new();
        for i in 0..layers.len() {
            let mut acc = layers[i].clone();
            runs.insert((i, i + 1), acc.clone());
            for (j, layer) in layers.iter().enumerate().skip(i + 1).take(longest - 1) {
                acc = compose_indices(&acc, layer, n);
                runs.insert((i, j + 1), acc.clone());
            }
        }
        Self(runs)
    }

    /// The indices of the product of layers `i..j`.
    fn get(&self, i: usize, j: usize) -> &BTreeSet<usize> {
        &self.0[&(i, j)]
    }
}

/// The run lengths of least modelled cost ([`RunCost::matrix`] summed over the matrices),
/// then of fewest rotations, then with the longer runs first, among the balanced splits:
/// `depth` runs of `floor` or `ceil` of `layers / depth` layers, in every order. Each layer has
/// 2 or 3 diagonals, so only index sets are composed (milliseconds even for the 15 layers of
/// `2^15` slots).
///
/// Why a model and not a rule: where the layers do not split evenly, which runs should be the
/// longer depends on the level of each matrix, its baby steps and the packed halves' boundary.
/// At `BootstrapN16` with 2^10 slots the model picks CoeffToSlot 4, 3, 3 and SlotToCoeff 3, 3,
/// 4, where the rule before it took 3, 3, 4 and 4, 3, 3: 0.90x and 0.91x their time on one
/// thread, 0.95x the bootstrap (docs/BENCHMARKS.md). Unbalanced splits are left out: they can be a little faster
/// but need many more keys (SlotToCoeff 4, 5, 6 at full slots: 0.96x its time, 59 Galois keys
/// instead of 43).
fn cheapest_runs(layers: &[BTreeSet<usize>], depth: usize, cost: &RunCost) -> Vec<usize> {
    let count = layers.len();
    let (base, extra) = (count / depth, count % depth);
    let indices = RunIndices::new(layers, cost.n, base + 1);
    // The positions of the `extra` longer runs: every `extra`-subset of `0..depth`, in
    // lexicographic order of the runs they give.
    let splits = (0u32..1 << depth)
        .rev()
        .filter(|m| m.count_ones() as usize == extra)
        .map(|m| (0..depth).map(|g| base + usize::from(m & (1 << (depth - 1 - g)) != 0)).collect::<Vec<usize>>());
    let mut best: Option<((usize, usize), Vec<usize>)> = None;
    for runs in splits {
        let total = cost.split(&runs, &indices);
        if best.as_ref().is_none_or(|(b, _)| total < *b) {
            best = Some((total, runs));
        }
    }
    best.expect("1 <= depth <= count").1
}

/// CoeffToSlot or SlotToCoeff as `depth` pre-encoded [`LinearTransform`]s (merged layers, see
/// the [module documentation](self)), each followed by a rescale.
#[derive(Clone, Debug)]
pub struct HomomorphicDft {
    direction: DftDirection,
    /// In order of application; transform `t` is encoded at `level - t`.
    transforms: Vec<LinearTransform>,
    /// The halves packing of sparse slots ([`HomomorphicDft::retargeted`]): SlotToCoeff's
    /// projection back onto `n` slots, which also absorbs its last matrix's lag `p`: the
    /// Galois elements of the rotations by `p` and `p + n` (`1` for `p = 0`), whose sum is the
    /// result. Empty without packing.
    projection: Vec<usize>,
}

/// A homomorphic DFT as bootstrapping builds it ([`HomomorphicDft::retargeted`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DftSpec {
    /// CoeffToSlot or SlotToCoeff.
    pub direction: DftDirection,
    /// Levels it consumes: the factors of the FFT merged into `depth` matrices.
    pub depth: usize,
    /// The level of its input.
    pub level: usize,
    /// A constant folded into one matrix (no level): CoeffToSlot's last, SlotToCoeff's first.
    pub factor: f64,
    /// `(input_scale, output_scale)`: the scale an input arrives at and the one it leaves at.
    pub scales: (f64, f64),
    /// Baby steps of every matrix (`None`: each matrix's default).
    pub baby_steps: Option<usize>,
    /// Whether the halves of sparse slots are packed for one EvalMod (`n <= N/4` slots).
    pub halves: bool,
    /// The slot count `n` of the view it works in: the parameters' (`None`), or fewer, for
    /// ciphertexts of the parameters whose slots repeat every `n` ([`crate::Encoder::with_slots`]).
    pub slots: Option<usize>,
    /// The rotation by which the input lags its true value, in the first matrix's view: the
    /// true input is `rot(ct, input_lag)`, and the first matrix absorbs it (its diagonal
    /// `k + input_lag` is the DFT's diagonal `k`), at no cost. Bootstrapping's SlotToCoeff
    /// takes CoeffToSlot's [`HomomorphicDft::output_lag`] here: EvalMod between them works
    /// slot by slot, so it commutes with the rotation.
    pub input_lag: i64,
    /// Whether the last matrix also leaves out its final rotation, so that the result lags
    /// by [`HomomorphicDft::output_lag`]. The matrices before it always do
    /// ([`LinearTransform::lagging`]): each absorbs the lag of the one before.
    pub lagging_output: bool,
}

/// What `HomomorphicDft::build` makes of the merged matrices: the scale of each (`None`:
/// its prime, times `scale_ratio`), the factor (of CoeffToSlot's last matrix, SlotToCoeff's
/// first), the baby steps, and whether the
/// halves of sparse slots are packed.
struct Shape {
    /// The slot count of the view.
    slots: usize,
    scale: Option<f64>,
    factor: f64,
    scale_ratio: f64,
    baby_steps: Option<usize>,
    halves: bool,
    input_lag: i64,
    lagging_output: bool,
}

/// `m rot(z, r)` as a matrix on `n` slots: diagonal `k` moves to `k + r (mod n)`.
fn shift(m: Diagonals, r: i64, n: usize) -> Diagonals {
    let r = r.rem_euclid(n as i64) as usize;
    m.into_iter().map(|(k, d)| ((k + r) % n, d)).collect()
}

/// The `n x n` matrix `m` as a matrix on `2n` slots whose input is `n` slots read twice
/// (`z[j + n] = z[j]`): diagonal `k` moves to an index `K = k (mod n)` (chosen in the cyclic
/// window of `m`'s indices, so that BSGS needs the same rotations as in `n` slots), with the
/// values `values(K, diag_k)` (`2n` of them).
fn lift(m: Diagonals, n: usize, values: impl Fn(usize, &[Complex]) -> Vec<Complex>) -> Diagonals {
    let at = Lifted::of(m.keys().copied(), n);
    m.into_iter()
        .map(|(k, d)| {
            let lifted = at.index(k);
            (lifted, values(lifted, &d))
        })
        .collect()
}

/// Where the diagonals of a matrix of `n` slots land in the `2n`-slot view ([`lift`]).
struct Lifted {
    /// The start of the indices' smallest cyclic window.
    start: usize,
    n: usize,
}

impl Lifted {
    fn of(indices: impl Iterator<Item = usize>, n: usize) -> Self {
        Self { start: window(indices, n).0, n }
    }

    /// Diagonal `k`'s index in the `2n`-slot view: `start + ((k - start) mod n)`.
    fn index(&self, k: usize) -> usize {
        self.start + (k + self.n - self.start) % self.n
    }
}

impl HomomorphicDft {
    /// The transform of `direction` on `params.slots()` slots (at least 2) in `depth` levels
    /// (`1 <= depth <= log2 slots`), the first matrix encoded at `level` (`depth <= level <=
    /// max_level`) and matrix `t` at `level - t`. Each matrix is encoded with `scale`, or with
    /// `None` with the prime `q_{level - t}` that the rescale after it drops, which leaves the
    /// ciphertext's scale unchanged.
    ///
    /// Cost of building: the matrix products ([`merge_layers`]) and one encoding per diagonal.
    pub fn new(
        params: &Parameters,
        direction: DftDirection,
        depth: usize,
        level: usize,
        scale: Option<f64>,
    ) -> Result<Self, SchemeError> {
        Self::with_factor(params, direction, depth, level, scale, 1.0)
    }

    /// The same transform multiplied by the constant `factor` (folded into the diagonals of
    /// CoeffToSlot's last matrix or SlotToCoeff's first, so it costs no level). Bootstrapping folds its normalisations here: the
    /// interval of EvalMod into CoeffToSlot, `1 / (2 pi)` into SlotToCoeff.
    pub fn with_factor(
        params: &Parameters,
        direction: DftDirection,
        depth: usize,
        level: usize,
        scale: Option<f64>,
        factor: f64,
    ) -> Result<Self, SchemeError> {
        let shape = Shape {
            slots: params.slots(),
            scale,
            factor,
            scale_ratio: 1.0,
            baby_steps: None,
            halves: false,
            input_lag: 0,
            lagging_output: false,
        };
        Self::build(params, direction, depth, level, shape)
    }

    /// The transform of `spec` ([`DftSpec`]): times `factor`, retargeting the scale: an input at
    /// scale `input_scale` comes out at `output_scale` (matrix `t` is encoded at
    /// `q_{level - t} * rho` with `rho = (output_scale / input_scale)^(1 / depth)`, spreading the
    /// change so that no matrix is encoded at a small scale). Bootstrapping uses it to hand
    /// EvalMod a ciphertext whose scale is the prime its first product rescales by, whatever
    /// `q_0` is.
    ///
    /// Every matrix runs on `baby_steps` baby steps (`None`: each matrix's default,
    /// [`LinearTransform::default_baby_steps`]). Fewer baby steps mean fewer Galois keys and
    /// more key switches in sequence ([`LinearTransform::rotations`]).
    ///
    /// With `halves` (sparse bootstrapping, `n <= N/4` slots), the boundary with the `2n`-slot
    /// view where EvalMod runs once on both halves:
    /// * CoeffToSlot's last matrix writes `[u, -i u]` on `2n` slots for the `u` of `n` slots it
    ///   would write, so that `v + conj(v) = [2 Re u, 2 Im u]`;
    /// * SlotToCoeff's first matrix reads `[x, y]` (real) on `2n` slots as `x + i y` (the
    ///   factor `i` folded into its diagonals: `diag'_K[j] = diag_k[j mod n] D[(j + K) mod 2n]`,
    ///   `D = [1, i]`), and [`HomomorphicDft::apply`] ends with the sum of the result and its
    ///   rotation by `n` (one key switch at the lowest level, no level), which projects back
    ///   onto `n` slots: the later matrices commute with that rotation.
    ///
    /// The same rotations as without, one more key for SlotToCoeff (`5^n`, which the trace of
    /// sparse slots has). Errors if the scales are not positive and finite, if `halves` and
    /// `2n > N/2`, and as [`HomomorphicDft::new`].
    pub fn retargeted(params: &Parameters, spec: &DftSpec) -> Result<Self, SchemeError> {
        let &DftSpec {
            direction,
            depth,
            level,
            factor,
            scales: (input_scale, output_scale),
            baby_steps,
            halves,
            slots,
            input_lag,
            lagging_output,
        } = spec;
        let slots = slots.unwrap_or(params.slots());
        if !slots.is_power_of_two() || slots > params.slots() {
            return Err(SchemeError::InvalidParameters {
                reason: format!(
                    "HomomorphicDft: a view of {slots} slots (a power of two up to the parameters' {})",
                    params.slots()
                ),
            });
        }
        let ratio = output_scale / input_scale;
        if !(ratio.is_finite() && ratio > 0.0) {
            return Err(SchemeError::InvalidParameters {
                reason: format!("HomomorphicDft scales {input_scale:e} -> {output_scale:e}"),
            });
        }
        let scale_ratio = ratio.powf(1.0 / depth.max(1) as f64);
        let shape = Shape { slots, scale: None, factor, scale_ratio, baby_steps, halves, input_lag, lagging_output };
        Self::build(params, direction, depth, level, shape)
    }

    fn build(
        params: &Parameters,
        direction: DftDirection,
        depth: usize,
        level: usize,
        shape: Shape,
    ) -> Result<Self, SchemeError> {
        let Shape { slots: n, scale, factor, scale_ratio, baby_steps, halves, input_lag, lagging_output } = shape;
        if !(factor.is_finite() && factor != 0.0) {
            return Err(SchemeError::InvalidParameters { reason: format!("HomomorphicDft factor {factor}") });
        }
        if n < 2 {
            return Err(SchemeError::InvalidParameters { reason: "HomomorphicDft: fewer than 2 slots".into() });
        }
        if level > params.max_level() || level < depth {
            return Err(SchemeError::OutOfLevels { op: "HomomorphicDft::new", level, needed: depth });
        }
        if halves && 4 * n > params.degree() {
            return Err(SchemeError::InvalidParameters {
                reason: format!(
                    "HomomorphicDft: {n} slots are too many to pack in halves of 2n <= N/2 = {}",
                    params.degree() / 2
                ),
            });
        }
        let layers = dft_layers(n, direction);
        if depth == 0 || depth > layers.len() {
            return Err(SchemeError::InvalidParameters {
                reason: format!("HomomorphicDft: depth {depth} is not in 1..={} (log2 of {n} slots)", layers.len()),
            });
        }
        let boundary = match direction {
            DftDirection::CoeffToSlot => depth - 1,
            DftDirection::SlotToCoeff => 0,
        };
        let indices: Vec<BTreeSet<usize>> = layers.iter().map(|l| l.keys().copied().collect()).collect();
        // SlotToCoeff's projection of packed halves takes its last matrix's lag, so that matrix
        // lags as when the output does.
        let projects = halves && direction == DftDirection::SlotToCoeff;
        let last_lags = lagging_output || projects;
        let cost =
            RunCost { params, n, level, baby_steps, boundary: halves.then_some(boundary), lagging_output: last_lags };
        let mut groups = merge_layers(&layers, &cheapest_runs(&indices, depth, &cost))?;
        // `boundary`: the matrix at the boundary with the 2n-slot view, if packed, and the one
        // `factor` is folded into: CoeffToSlot's last, so that the values before it keep their
        // size (the trace of sparse slots runs there, and its key-switching noise is small
        // against them); SlotToCoeff's first.
        if factor != 1.0 {
            for diagonal in groups[boundary].values_mut() {
                diagonal.iter_mut().for_each(|c| *c = c.scale(factor));
            }
        }
        let i = Complex::new(0.0, 1.0);
        let count = groups.len();
        let mut transforms = Vec::with_capacity(count);
        // The lag the next matrix absorbs (see `DftSpec::input_lag`). Between views it is read
        // modulo the next one: a vector of `n` slots read as `2n` repeats every `n`, and one of
        // `2n` read as `n` (SlotToCoeff after its first matrix) is projected onto `n` slots at
        // the end, which forgets rotations by `n`.
        let mut lag = input_lag;
        for (t, m) in groups.into_iter().enumerate() {
            let l = level - t;
            let s = scale.unwrap_or_else(|| params.q_basis().modulus(l).value() as f64);
            let s = s * scale_ratio;
            let (view, m) = if !(halves && t == boundary) {
                (n, shift(m, lag, n))
            } else {
                match direction {
                    // [u, -i u]. Its input repeats every n: shifted before the lift, which
                    // then picks the window's indices as without packing (the same keys).
                    DftDirection::CoeffToSlot => (
                        2 * n,
                        lift(shift(m, lag, n), n, |_, d| {
                            d.iter().copied().chain(d.iter().map(|&c| -(i * c))).collect()
                        }),
                    ),
                    // Reads [x, y] as x + i y: D[(j + K) mod 2n] is i on the upper half. Its
                    // input has 2n slots, and so has its lag.
                    DftDirection::SlotToCoeff => {
                        let lifted = lift(m, n, |big_k, d| {
                            (0..2 * n)
                                .map(|j| if (j + big_k) % (2 * n) < n { d[j % n] } else { i * d[j % n] })
                                .collect()
                        });
                        (2 * n, shift(lifted, lag, 2 * n))
                    }
                }
            };
            let lt = LinearTransform::with_slots(params, view, m, l, s, baby_steps)?;
            let lt = if t + 1 < count || last_lags { lt.lagging() } else { lt };
            lag = lt.lag();
            transforms.push(lt);
        }
        let projection = if projects { super::trace::fold_elements(params.degree(), n, lag) } else { Vec::new() };
        Ok(Self { direction, transforms, projection })
    }

    /// The direction.
    pub fn direction(&self) -> DftDirection {
        self.direction
    }

    /// The levels consumed: the number of transforms.
    pub fn depth(&self) -> usize {
        self.transforms.len()
    }

    /// The transforms, in order of application.
    pub fn transforms(&self) -> &[LinearTransform] {
        &self.transforms
    }

    /// The rotation, in the last matrix's view, by which [`HomomorphicDft::apply`]'s result lags
    /// the product (`rot(product, -output_lag)`): 0 unless built with
    /// [`DftSpec::lagging_output`]. A next DFT takes it as its [`DftSpec::input_lag`].
    pub fn output_lag(&self) -> i64 {
        if self.projection.is_empty() {
            self.transforms.last().map_or(0, LinearTransform::lag)
        } else {
            0
        }
    }

    /// The union of the [`LinearTransform::rotations`] of the transforms (sorted), each in its
    /// transform's view: the Galois keys [`HomomorphicDft::apply`] needs when none is packed
    /// (else take [`HomomorphicDft::galois_elements`]).
    pub fn rotations(&self) -> Vec<i64> {
        let set: BTreeSet<i64> = self.transforms.iter().flat_map(|t| t.rotations()).collect();
        set.into_iter().collect()
    }

    /// The Galois elements [`HomomorphicDft::apply`] needs (sorted): the transforms' and the
    /// projection of packed halves.
    pub fn galois_elements(&self) -> Vec<usize> {
        let mut set: BTreeSet<usize> =
            self.transforms.iter().flat_map(|t| t.galois_elements()).chain(self.projection.iter().copied()).collect();
        set.remove(&1);
        set.into_iter().collect()
    }

    /// Applies each transform followed by a rescale: `depth` levels consumed. The result
    /// decrypts to `bitrev(special_ifft(z))` (CoeffToSlot) or `special_fft(bitrev(z))`
    /// (SlotToCoeff), with scale `scale(ct)` when built with `scale = None` (and
    /// `ct` at the transforms' level). Errors as [`LinearTransform::apply`] and
    /// [`Evaluator::rescale`].
    pub fn apply(&self, eval: &Evaluator, ct: &Ciphertext) -> Result<Ciphertext, SchemeError> {
        self.apply_part(eval, ct, 0..self.transforms.len())
    }

    /// The transforms of `range` (in order of application, each followed by a rescale; the
    /// projection of packed halves after the last transform), so that a caller can run an
    /// operation between two of them: `apply_part(0..t)` then `apply_part(t..depth)` is
    /// [`HomomorphicDft::apply`]. A part that ends before the last transform returns its
    /// product lagging by the lag of its last transform ([`LinearTransform::lag`]), which the
    /// next part absorbs: what runs between must commute with rotations, as the trace does. Bootstrapping runs the trace of sparse slots before
    /// CoeffToSlot's last transform, one level per transform lower than at the top.
    /// `ct` must be at the level of the range's first transform for the scales of
    /// [`HomomorphicDft::apply`]. Errors as `apply`, and if `range` is not within the depth.
    pub fn apply_part(
        &self,
        eval: &Evaluator,
        ct: &Ciphertext,
        range: Range<usize>,
    ) -> Result<Ciphertext, SchemeError> {
        let depth = self.transforms.len();
        if range.start > range.end || range.end > depth {
            return Err(SchemeError::InvalidParameters {
                reason: format!("HomomorphicDft::apply_part: transforms {range:?} of a depth of {depth}"),
            });
        }
        let mut ct = ct.clone();
        for t in &self.transforms[range.clone()] {
            ct = t.apply(eval, &ct)?;
            eval.rescale_assign(&mut ct)?;
        }
        if range.end < depth || range.is_empty() {
            return Ok(ct);
        }
        if !self.projection.is_empty() {
            // rot(ct, p) + rot(ct, p + n): the lag and the projection in one hoisted step.
            ct = eval.galois_sum_hoisted(&ct, &self.projection)?;
        }
        Ok(ct)
    }

    /// The same product in double precision (from the stored diagonals), lagging as
    /// [`HomomorphicDft::apply`]'s does ([`HomomorphicDft::output_lag`]); `z` is the input as
    /// given, lagging by [`DftSpec::input_lag`]. Packed halves: a
    /// transform on `2n` slots reads `n` values twice, and SlotToCoeff's `2n` values after its
    /// first matrix are folded (`v[j] + v[j + n]`), which the later matrices commute with.
    pub fn apply_plain(&self, z: &[Complex]) -> Result<Vec<Complex>, SchemeError> {
        let mut v = z.to_vec();
        for (t, lt) in self.transforms.iter().enumerate() {
            if lt.slots() == 2 * v.len() {
                v = v.iter().chain(&v).copied().collect();
            }
            v = lt.apply_plain(&v)?;
            if t == 0 && !self.projection.is_empty() {
                let n = v.len() / 2;
                v = (0..n).map(|j| v[j] + v[j + n]).collect();
            }
        }
        if !self.projection.is_empty() {
            let lag = self.transforms.last().map_or(0, LinearTransform::lag);
            v = rotate_plain(&v, lag);
        }
        Ok(v)
    }
}

/// The special FFT of `n` slots with the conventions of this module, as a reference:
/// `special_fft(bitrev(v))` (`forward`) or `bitrev(special_ifft(v))`.
pub fn reference_dft(fft: &SpecialFft, v: &[Complex], direction: DftDirection) -> Result<Vec<Complex>, SchemeError> {
    let mut w = v.to_vec();
    match direction {
        DftDirection::SlotToCoeff => {
            bit_reverse_permute(&mut w);
            fft.special_fft(&mut w)?;
        }
        DftDirection::CoeffToSlot => {
            fft.special_ifft(&mut w)?;
            bit_reverse_permute(&mut w);
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::MIN_DEGREE;
    use crate::{Decryptor, Encoder, Encryptor, KeyGenerator, Preset};
    use ckks_math::automorphism::rotation_galois_element;
    use std::sync::Arc;

    /// Deterministic pseudo-random points of the unit disk (splitmix64).
    fn random_vec(n: usize, seed: u64) -> Vec<Complex> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n).map(|_| Complex::from_polar(next().sqrt(), 2.0 * std::f64::consts::PI * next())).collect()
    }

    fn max_err(a: &[Complex], b: &[Complex]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (*x - *y).norm()).fold(0.0, f64::max)
    }

    fn max_norm(a: &[Complex]) -> f64 {
        a.iter().map(|x| x.norm()).fold(0.0, f64::max)
    }

    fn fft_for(n: usize) -> SpecialFft {
        SpecialFft::new((2 * n).max(MIN_DEGREE), n).unwrap()
    }

    fn apply_all(layers: &[Diagonals], z: &[Complex]) -> Vec<Complex> {
        layers.iter().fold(z.to_vec(), |v, m| apply_diagonals(m, &v))
    }

    #[test]
    fn layers_are_the_special_fft_up_to_bit_reversal() {
        for log_n in 1..=10 {
            let n = 1usize << log_n;
            let fft = fft_for(n);
            for direction in [DftDirection::SlotToCoeff, DftDirection::CoeffToSlot] {
                let layers = dft_layers(n, direction);
                assert_eq!(layers.len(), log_n);
                // Application order: strides 1, 2, ..., n/2 forward; n/2, ..., 1 inverse.
                for (t, m) in layers.iter().enumerate() {
                    let h = match direction {
                        DftDirection::SlotToCoeff => 1 << t,
                        DftDirection::CoeffToSlot => n >> (t + 1),
                    };
                    let expected: BTreeSet<usize> = [0, h, n - h].into_iter().collect();
                    assert_eq!(m.keys().copied().collect::<BTreeSet<_>>(), expected, "n {n}, layer {t}");
                }
                for seed in 0..3 {
                    let z = random_vec(n, seed + 17 * n as u64);
                    let got = apply_all(&layers, &z);
                    let want = reference_dft(&fft, &z, direction).unwrap();
                    let err = max_err(&got, &want);
                    assert!(err < 1e-9, "n {n}, {direction:?}: error {err:e}");
                }
            }
            // The two conventions are inverse to each other.
            let z = random_vec(n, 5);
            let back = apply_all(&fft_layers(n), &apply_all(&ifft_layers(n), &z));
            assert!(max_err(&back, &z) < 1e-9);
        }
        assert!(fft_layers(1).is_empty());
    }

    /// Balanced splits into runs, the longer ones first or last.
    fn balanced(count: usize, depth: usize, longer_last: bool) -> Vec<usize> {
        let (base, extra) = (count / depth, count % depth);
        (0..depth).map(|g| base + usize::from(if longer_last { g >= depth - extra } else { g < extra })).collect()
    }

    #[test]
    fn merged_layers_have_the_same_product() {
        for n in [4usize, 64, 256] {
            let log_n = n.trailing_zeros() as usize;
            for direction in [DftDirection::SlotToCoeff, DftDirection::CoeffToSlot] {
                let layers = dft_layers(n, direction);
                let z = random_vec(n, 99 + n as u64);
                let want = apply_all(&layers, &z);
                let mut splits: Vec<Vec<usize>> =
                    (1..=log_n).flat_map(|d| [balanced(log_n, d, false), balanced(log_n, d, true)]).collect();
                if log_n >= 3 {
                    splits.push(vec![1, log_n - 2, 1]);
                }
                for runs in splits {
                    let merged = merge_layers(&layers, &runs).unwrap();
                    assert_eq!(merged.len(), runs.len());
                    let err = max_err(&apply_all(&merged, &z), &want);
                    assert!(err < 1e-9, "n {n}, {direction:?}, runs {runs:?}: error {err:e}");
                    // A run of g layers has at most 2^(g+1) - 1 diagonals.
                    for (m, &g) in merged.iter().zip(&runs) {
                        assert!(m.len() < 1 << (g + 1), "n {n}, runs {runs:?}: {} diagonals", m.len());
                    }
                }
                for bad in [vec![], vec![0, log_n], vec![log_n + 1], vec![1; log_n + 1]] {
                    assert!(merge_layers(&layers, &bad).is_err(), "runs {bad:?}");
                }
            }
        }
    }

    /// The cost model composes index sets only: no diagonal of a run of DFT layers cancels, so
    /// they are the merged matrices' own.
    #[test]
    fn composed_indices_are_the_merged_diagonals() {
        for n in [4usize, 64, 256] {
            for direction in [DftDirection::SlotToCoeff, DftDirection::CoeffToSlot] {
                let layers = dft_layers(n, direction);
                for i in 0..layers.len() {
                    for j in i + 1..=layers.len() {
                        let merged = merge_layers(&layers[i..j], &[j - i]).unwrap().remove(0);
                        let composed = layers[i + 1..j].iter().fold(layers[i].keys().copied().collect(), |acc, l| {
                            compose_indices(&acc, &l.keys().copied().collect(), n)
                        });
                        assert_eq!(merged.keys().copied().collect::<BTreeSet<_>>(), composed, "n {n}, layers {i}..{j}");
                    }
                }
            }
        }
    }

    /// The run lengths the model picks at `BootstrapN16` (no keys: only the parameters): at 2^10
    /// slots CoeffToSlot's longer run first and SlotToCoeff's last, the splits measured fastest
    /// (docs/BENCHMARKS.md); at full slots the even 5, 5, 5. Every pick is a split of the
    /// layers into `depth` positive runs, and none costs more than the balanced splits with the
    /// longer runs first or last.
    #[test]
    fn the_cost_model_picks_the_measured_runs() {
        let params = Preset::BootstrapN16.builder().build().unwrap();
        let pick = |n: usize, direction, level, baby_steps, halves: bool| {
            let layers = dft_layers(n, direction);
            let indices: Vec<BTreeSet<usize>> = layers.iter().map(|l| l.keys().copied().collect()).collect();
            let boundary = if direction == DftDirection::CoeffToSlot { 2 } else { 0 };
            // Bootstrapping's: CoeffToSlot lags into SlotToCoeff, whose packed halves'
            // projection takes its last lag, and full slots rotate once at the end.
            let lagging_output = direction == DftDirection::CoeffToSlot || halves;
            let cost =
                RunCost { params: &params, n, level, baby_steps, boundary: halves.then_some(boundary), lagging_output };
            let runs = cheapest_runs(&indices, 3, &cost);
            assert_eq!((runs.len(), runs.iter().sum::<usize>()), (3, layers.len()));
            assert!(runs.iter().all(|&r| r > 0));
            let all = RunIndices::new(&indices, n, layers.len());
            for longer_last in [false, true] {
                let other = balanced(layers.len(), 3, longer_last);
                assert!(cost.split(&runs, &all).0 <= cost.split(&other, &all).0, "{runs:?} against {other:?}");
            }
            runs
        };
        for baby_steps in [None, Some(8)] {
            assert_eq!(pick(1024, DftDirection::CoeffToSlot, 27, baby_steps, true), [4, 3, 3]);
            assert_eq!(pick(1024, DftDirection::SlotToCoeff, 15, baby_steps, true), [3, 3, 4]);
            assert_eq!(pick(32768, DftDirection::CoeffToSlot, 27, baby_steps, false), [5, 5, 5]);
            assert_eq!(pick(32768, DftDirection::SlotToCoeff, 15, baby_steps, false), [5, 5, 5]);
        }
    }

    struct Ctx {
        params: Parameters,
        sk: crate::SecretKey,
        eval: Evaluator,
        public: crate::PublicKey,
    }

    fn ctx(params: Parameters, rotations: &[i64]) -> Ctx {
        let mut keygen = KeyGenerator::from_seed(&params, [11; 32]);
        let sk = keygen.secret_key().unwrap();
        let keys = Arc::new(keygen.evaluation_keys(&sk, rotations, false).unwrap());
        let public = keys.public.clone();
        Ctx { params, sk, eval: Evaluator::new(keys), public }
    }

    impl Ctx {
        fn encrypt(&self, z: &[Complex], level: usize) -> Ciphertext {
            let pt = Encoder::new(&self.params).encode(z, level, self.params.default_scale()).unwrap();
            Encryptor::from_seed(&self.public, [12; 32]).encrypt(&pt).unwrap()
        }

        fn decrypt(&self, ct: &Ciphertext) -> Vec<Complex> {
            Encoder::new(&self.params).decode(&Decryptor::new(&self.sk).decrypt(ct).unwrap()).unwrap()
        }
    }

    /// Both directions at depths 2 and 3 against the plain transform, then the round trip.
    fn check_homomorphic(params: Parameters, depths: &[usize], round_trip_depth: usize) {
        let n = params.slots();
        let top = params.max_level();
        let mut dfts = Vec::new();
        for &depth in depths {
            for direction in [DftDirection::CoeffToSlot, DftDirection::SlotToCoeff] {
                dfts.push(HomomorphicDft::new(&params, direction, depth, top, None).unwrap());
            }
        }
        let cts = HomomorphicDft::new(&params, DftDirection::CoeffToSlot, round_trip_depth, top, None).unwrap();
        let stc =
            HomomorphicDft::new(&params, DftDirection::SlotToCoeff, round_trip_depth, top - round_trip_depth, None)
                .unwrap();
        let rotations: BTreeSet<i64> = dfts.iter().chain([&cts, &stc]).flat_map(HomomorphicDft::rotations).collect();
        let c = ctx(params.clone(), &rotations.into_iter().collect::<Vec<_>>());
        let fft = params.fft();
        let z = random_vec(n, 2024);
        let ct = c.encrypt(&z, top);
        for dft in &dfts {
            let out = dft.apply(&c.eval, &ct).unwrap();
            assert_eq!(out.level(), top - dft.depth());
            assert!((out.scale() / ct.scale() - 1.0).abs() < 1e-9);
            let want = reference_dft(fft, &z, dft.direction()).unwrap();
            assert!(max_err(&dft.apply_plain(&z).unwrap(), &want) < 1e-9);
            // Precision relative to the largest output.
            let bits = -(max_err(&c.decrypt(&out), &want) / max_norm(&want)).log2();
            eprintln!("n {n}, {:?}, depth {}: {bits:.1} bits", dft.direction(), dft.depth());
            assert!(bits >= 15.0, "n {n}, {:?}, depth {}: {bits:.1} bits", dft.direction(), dft.depth());
        }
        let back = stc.apply(&c.eval, &cts.apply(&c.eval, &ct).unwrap()).unwrap();
        assert_eq!(back.level(), top - 2 * round_trip_depth);
        let bits = -max_err(&c.decrypt(&back), &z).log2();
        eprintln!("n {n}, SlotToCoeff(CoeffToSlot(z)), depth {round_trip_depth} + {round_trip_depth}: {bits:.1} bits");
        assert!(bits >= 15.0, "round trip: {bits:.1} bits");
    }

    #[test]
    fn homomorphic_sparse_slots() {
        let params = Preset::InsecureTestN11.builder().slots(64).build_insecure().unwrap();
        check_homomorphic(params, &[2, 3], 2);
    }

    /// Sparse slots packed in halves: CoeffToSlot writes `[u, -i u]` on `2n` slots (so that
    /// `v + conj(v) = [2 Re u, 2 Im u]`, one ciphertext), and SlotToCoeff reads `[x, y]` as
    /// `x + i y` and projects back onto `n` slots: the round trip gives `2 z`, homomorphically
    /// and in double precision, with the rotations of the unpacked transforms and `5^n`.
    #[test]
    fn packed_halves_round_trip() {
        let params = Preset::InsecureTestN11.builder().slots(64).build_insecure().unwrap();
        let (n, top) = (params.slots(), params.max_level());
        let scales = (1.0, 1.0);
        let dft = |direction, depth, level, halves| {
            let spec = DftSpec {
                direction,
                depth,
                level,
                factor: 1.0,
                scales,
                baby_steps: None,
                halves,
                slots: None,
                input_lag: 0,
                lagging_output: false,
            };
            HomomorphicDft::retargeted(&params, &spec).unwrap()
        };
        let (cts, stc) =
            (dft(DftDirection::CoeffToSlot, 2, top, true), dft(DftDirection::SlotToCoeff, 2, top - 2, true));
        let (cts_plain, stc_plain) =
            (dft(DftDirection::CoeffToSlot, 2, top, false), dft(DftDirection::SlotToCoeff, 2, top - 2, false));
        assert_eq!(cts.galois_elements(), cts_plain.galois_elements());
        // The projection rot(., p) + rot(., p + n) takes the last matrix's final rotation p:
        // one element more than without packing, p + n.
        let lag = stc.transforms().last().unwrap().lag();
        assert_eq!(stc.output_lag(), 0);
        let mut with_fold = stc_plain.galois_elements();
        with_fold.push(rotation_galois_element(lag + n as i64, params.degree()));
        with_fold.sort_unstable();
        assert_eq!(stc.galois_elements(), with_fold);

        let mut keygen = KeyGenerator::from_seed(&params, [11; 32]);
        let sk = keygen.secret_key().unwrap();
        let mut keys = keygen.evaluation_keys(&sk, &[], true).unwrap();
        let elements: Vec<usize> = cts.galois_elements().into_iter().chain(stc.galois_elements()).collect();
        keygen.extend_galois_keys(&sk, &mut keys.galois, &elements).unwrap();
        let keys = Arc::new(keys);
        let eval = Evaluator::new(keys.clone());
        let wide = Encoder::with_slots(&params, 2 * n).unwrap();
        let z = random_vec(n, 77);
        let pt = Encoder::new(&params).encode(&z, top, params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&keys.public, [12; 32]).encrypt(&pt).unwrap();
        let dec = Decryptor::new(&sk);

        let u = reference_dft(params.fft(), &z, DftDirection::CoeffToSlot).unwrap();
        let i = Complex::new(0.0, 1.0);
        let halves: Vec<Complex> = u.iter().copied().chain(u.iter().map(|&c| -(i * c))).collect();
        assert!(max_err(&cts.apply_plain(&z).unwrap(), &halves) < 1e-9);
        let w = cts.apply(&eval, &ct).unwrap();
        let got = wide.decode(&dec.decrypt(&w).unwrap()).unwrap();
        let bits = -(max_err(&got, &halves) / max_norm(&halves)).log2();
        assert!(bits >= 15.0, "CoeffToSlot in halves: {bits:.1} bits");

        let v = eval.add(&w, &eval.conjugate(&w).unwrap()).unwrap();
        let real: Vec<Complex> = u
            .iter()
            .map(|c| Complex::new(2.0 * c.re, 0.0))
            .chain(u.iter().map(|c| Complex::new(2.0 * c.im, 0.0)))
            .collect();
        let twice: Vec<Complex> = z.iter().map(|c| c.scale(2.0)).collect();
        assert!(max_err(&stc.apply_plain(&real).unwrap(), &twice) < 1e-9);
        let back = stc.apply(&eval, &v).unwrap();
        assert_eq!(back.level(), top - 4);
        let got = Encoder::new(&params).decode(&dec.decrypt(&back).unwrap()).unwrap();
        let bits = -(max_err(&got, &twice) / 2.0).log2();
        eprintln!("n {n} in halves of 2n, SlotToCoeff(CoeffToSlot(z)): {bits:.1} bits");
        assert!(bits >= 15.0, "round trip in halves: {bits:.1} bits");
        // And the result is on n slots again: read on 2n, each slot twice.
        let twice_wide = wide.decode(&dec.decrypt(&back).unwrap()).unwrap();
        assert!(max_err(&twice_wide[..n], &twice_wide[n..]) < 1e-3);
        // Halves of more than N/4 slots do not fit.
        let full = Preset::InsecureTestN11.build().unwrap();
        let spec = DftSpec {
            direction: DftDirection::CoeffToSlot,
            depth: 2,
            level: top,
            factor: 1.0,
            scales,
            baby_steps: None,
            halves: true,
            slots: None,
            input_lag: 0,
            lagging_output: false,
        };
        assert!(HomomorphicDft::retargeted(&full, &spec).is_err());
    }

    /// CoeffToSlot may end lagging ([`DftSpec::lagging_output`]): its result is the product
    /// rotated by `-output_lag`, homomorphically and in double precision, and SlotToCoeff built
    /// with that [`DftSpec::input_lag`] absorbs it, so the round trip is whole again, one key
    /// switch and (here) one key fewer. Full slots, and sparse slots packed in halves.
    #[test]
    fn a_lagging_coeff_to_slot_is_absorbed_by_slot_to_coeff() {
        for halves in [false, true] {
            let params = if halves {
                Preset::InsecureTestN11.builder().slots(64).build_insecure().unwrap()
            } else {
                Preset::InsecureTestN11.build().unwrap()
            };
            let (n, top) = (params.slots(), params.max_level());
            let spec = |direction, level, input_lag, lagging_output| DftSpec {
                direction,
                depth: 2,
                level,
                factor: 1.0,
                scales: (1.0, 1.0),
                baby_steps: None,
                halves,
                slots: None,
                input_lag,
                lagging_output,
            };
            let build = |s: DftSpec| HomomorphicDft::retargeted(&params, &s).unwrap();
            let aligned = build(spec(DftDirection::CoeffToSlot, top, 0, false));
            let cts = build(spec(DftDirection::CoeffToSlot, top, 0, true));
            let lag = cts.output_lag();
            assert_ne!(lag, 0, "halves {halves}");
            let stc = build(spec(DftDirection::SlotToCoeff, top - 2, lag, false));
            let (mine, theirs): (BTreeSet<usize>, BTreeSet<usize>) =
                (cts.galois_elements().into_iter().collect(), aligned.galois_elements().into_iter().collect());
            assert!(mine.is_subset(&theirs) && mine.len() < theirs.len(), "{mine:?} against {theirs:?}");

            let z = random_vec(n, 5);
            let aligned_plain = aligned.apply_plain(&z).unwrap();
            let want = rotate_plain(&aligned_plain, -lag);
            assert!(max_err(&cts.apply_plain(&z).unwrap(), &want) < 1e-12);

            let elements: Vec<usize> = mine.into_iter().chain(stc.galois_elements()).collect();
            let mut keygen = KeyGenerator::from_seed(&params, [13; 32]);
            let sk = keygen.secret_key().unwrap();
            let mut keys = keygen.evaluation_keys(&sk, &[], true).unwrap();
            keygen.extend_galois_keys(&sk, &mut keys.galois, &elements).unwrap();
            let keys = Arc::new(keys);
            let eval = Evaluator::new(keys.clone());
            let pt = Encoder::new(&params).encode(&z, top, params.default_scale()).unwrap();
            let ct = Encryptor::from_seed(&keys.public, [14; 32]).encrypt(&pt).unwrap();
            let dec = Decryptor::new(&sk);
            let view = Encoder::with_slots(&params, want.len()).unwrap();
            let w = cts.apply(&eval, &ct).unwrap();
            let bits = -(max_err(&view.decode(&dec.decrypt(&w).unwrap()).unwrap(), &want) / max_norm(&want)).log2();
            assert!(bits >= 15.0, "halves {halves}: lagging CoeffToSlot {bits:.1} bits");
            // Packed halves go through v + conj(v) (slot by slot, so the lag passes) and come
            // back doubled.
            let (v, factor) =
                if halves { (eval.add(&w, &eval.conjugate(&w).unwrap()).unwrap(), 2.0) } else { (w, 1.0) };
            let back = stc.apply(&eval, &v).unwrap();
            let twice: Vec<Complex> = z.iter().map(|c| c.scale(factor)).collect();
            let got = Encoder::new(&params).decode(&dec.decrypt(&back).unwrap()).unwrap();
            let bits = -(max_err(&got, &twice) / factor).log2();
            eprintln!("n {n}, halves {halves}, lag {lag}: round trip {bits:.1} bits");
            assert!(bits >= 15.0, "halves {halves}: round trip {bits:.1} bits");
        }
    }

    #[test]
    fn homomorphic_full_slots() {
        check_homomorphic(Preset::InsecureTestN11.build().unwrap(), &[3], 2);
    }

    /// A merged run of layers is block-diagonal with equal blocks of twice its largest half-size,
    /// so its diagonals repeat with that period and are stored once per cycle (`2 period`
    /// values per limb) unless the period is `n`.
    #[test]
    fn merged_layers_are_stored_by_their_period() {
        let params = Preset::InsecureTestN11.build().unwrap();
        let (n, top, words) = (params.slots(), params.max_level(), params.degree());
        assert_eq!(n, 1024);
        // A run of the layers of half-sizes h, 2h, ..., H has the diagonals sum e_i h_i
        // (|k| up to 2H - h) and repeats every 2H slots (n for the run with H = n/2). The model
        // picks the run lengths ([`cheapest_runs`]), so they are read back from the diagonals.
        for direction in [DftDirection::CoeffToSlot, DftDirection::SlotToCoeff] {
            let dft = HomomorphicDft::new(&params, direction, 3, top, None).unwrap();
            let mut covered = 0;
            let mut lag = 0;
            for (t, lt) in dft.transforms().iter().enumerate() {
                // Each matrix absorbs the lag of the one before: its diagonals moved by it.
                let before = std::mem::replace(&mut lag, lt.lag());
                let unshifted = lt.diagonals().keys().map(|&k| (k as i64 - before).rem_euclid(n as i64) as usize);
                let distances = unshifted.map(|k| k.min(n - k)).filter(|&d| d > 0);
                let (h, widest) = (distances.clone().min().unwrap(), distances.max().unwrap());
                let period = (widest + h).next_power_of_two().min(n);
                assert_eq!(lt.period(), period, "{direction:?} matrix {t}");
                covered += (period / h).trailing_zeros();
                let per_limb = if period < n { 2 * period } else { words };
                let limbs = top - t + 1 + params.p_basis().len();
                assert_eq!(lt.size_bytes(), lt.diagonals().len() * limbs * per_limb * 8, "{direction:?} matrix {t}");
            }
            assert_eq!(covered, 10, "{direction:?}: the runs cover the 10 layers");
        }
    }

    #[test]
    fn rejects_bad_input() {
        let params = Preset::InsecureTestN11.builder().slots(16).build_insecure().unwrap();
        let top = params.max_level();
        assert!(HomomorphicDft::new(&params, DftDirection::CoeffToSlot, 0, top, None).is_err());
        assert!(HomomorphicDft::new(&params, DftDirection::CoeffToSlot, 5, top, None).is_err());
        assert!(HomomorphicDft::new(&params, DftDirection::CoeffToSlot, 2, 1, None).is_err());
        assert!(HomomorphicDft::new(&params, DftDirection::CoeffToSlot, 2, top + 1, None).is_err());
        let dft = HomomorphicDft::new(&params, DftDirection::SlotToCoeff, 4, top, None).unwrap();
        // One layer per level: 2 rotations per layer (+-h), one for h = n/2; h = 1..8 -> {+-1, +-2, +-4, 8}.
        // One layer per level (diagonals 0 and +-h, one for h = n/2), each leaving its final
        // rotation to the next one (its lag, the start of its window): h = 1 needs {1} and lags
        // by -1; h = 2 then has diagonals {-3, -1, 1}, needs {2, 4} and lags by -3; h = 4 needs
        // {4, 8} and lags by -7; h = 8 ends aligned with {8, 1}. 4 keys, where 7 (+-h) served
        // the layers each aligned.
        let lags: Vec<i64> = dft.transforms().iter().map(LinearTransform::lag).collect();
        assert_eq!(lags, vec![-1, -3, -7, 0]);
        assert_eq!(dft.output_lag(), 0);
        assert_eq!(dft.rotations(), vec![1, 2, 4, 8]);
    }
}
