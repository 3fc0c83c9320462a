//! Bootstrapping: refreshes a ciphertext at level 0 to [`Bootstrapper::output_level`] without
//! the secret key, assembled from the public pieces (see `docs/BOOTSTRAPPING.md`).
//!
//! For an input at level 0 with scale `Delta`, decrypting to `t = Delta m + e` (`|t| < q_0/2`),
//! under the dense main key `s`:
//!
//! 0. Sparse-secret encapsulation (eprint 2022/024), when configured: switch to an ephemeral
//!    sparse key `s'` (Hamming weight `h`, typically 32) with a key that lives at `q_0 p_0`
//!    only ([`Parameters::encapsulation_parameters`]), so that step 1's `I` stays small.
//! 1. ModRaise to the top of the chain (then, with encapsulation, switch back from `s'` to
//!    `s` with a key at the full `Q P`) and read the result at scale `q_0`: the slots are
//!    `decode((t + q_0 I) / q_0)`, `|I| <= K` with overwhelming probability.
//! 2. For sparse slots (`n < N/2`), the trace over the automorphisms fixing `X^(N/2n)`
//!    projects onto the subring of the encoding. It commutes with CoeffToSlot's matrices
//!    whose diagonals repeat every `n` slots, so it runs before the last one (over
//!    `cts_depth - 1` fewer primes than at the top), in hoisted steps of radix 4
//!    ([`Evaluator::galois_sum_hoisted`]; `log2(N/2n)` key switches in sequence otherwise).
//! 3. CoeffToSlot: slot `j` holds `c w_j`, `w_j = x_j + i y_j` the coefficients `t / q_0 + I`
//!    (bit-reversed), where `c = 1 / (2 (K + 1))` (and the trace's factor) is folded into the
//!    last matrix.
//! 4. `x / (K+1) = c w + conj(c w)` and `y / (K+1) = (c w - conj(c w)) / i`, in `[-1, 1]`.
//!    For sparse slots `n <= N/4` both halves share one ciphertext of `2n` slots
//!    ([`Bootstrapper::packs_halves`]).
//! 5. EvalMod on both ([`EvalMod::sine`]): `sin(2 pi x) ~ 2 pi t / q_0`.
//! 6. `x' + i y'`, SlotToCoeff with `1 / (2 pi)` folded in, and read the result at scale
//!    `S Delta / q_0`: the slots are `m` again.
//!
//! Every stage runs at a scale equal to the primes it rescales by, so the Chebyshev evaluation
//! keeps full precision; the error of steps 3-5, relative to `t / q_0`, is amplified by
//! `q_0 / Delta` in step 6, which is why `q_0 / Delta` is a parameter of the contract.
//!
//! With [`BootstrapConfig::slots_to_coeff_first`] ([`BootstrapConfig::slim`]) SlotToCoeff runs
//! first, on the input at level `stc_depth` (its primes are few there, so it is about 3x
//! cheaper), and brings the slot values into the coefficients at scale
//! `q_0 / SLIM_MESSAGE_RATIO`; steps 0-5 follow, EvalMod ends at the scale that reads its
//! output `sin(2 pi x)` as `m` at the input's scale, and the result is `x' + i y'`, at a level
//! `stc_depth` higher than step 6 would leave.

use super::eval_mod::EvalMod;
use super::homomorphic_dft::{DftDirection, DftSpec, HomomorphicDft};
use super::linear_transform::rotate_plain;
use super::mod_raise::mod_raise;
use crate::ciphertext::Plaintext;
use crate::keys::GaloisKeys;
use crate::security::SecretDistribution;
use crate::{
    Ciphertext, Complex, Encoder, Evaluator, KeyGenerator, Parameters, ParametersBuilder, SchemeError, SecretKey,
    SwitchingKey,
};
use ckks_math::automorphism::conjugation_galois_element;
use ckks_math::{Representation, RnsPoly};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::f64::consts::PI;
use std::fmt;
use std::time::{Duration, Instant};

/// The shape of the bootstrapping circuit. Levels consumed:
/// `cts_depth + ceil(log2(degree + 1)) + double_angles + stc_depth`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Levels of CoeffToSlot (the DFT's `log2(slots)` butterfly layers merged into this many
    /// matrices; more levels, fewer rotations).
    pub cts_depth: usize,
    /// Levels of SlotToCoeff.
    pub stc_depth: usize,
    /// Bound `K` on the integer part `|I|` that EvalMod removes.
    pub k: usize,
    /// Degree of the Chebyshev interpolant of the scaled cosine.
    pub degree: usize,
    /// Double-angle steps `r` after the interpolant.
    pub double_angles: usize,
    /// Hamming weight of the ephemeral sparse key of sparse-secret encapsulation, or `None` to
    /// bootstrap under the main key directly (then `K` must cover its `||s||_1`).
    pub ephemeral_hamming_weight: Option<usize>,
    /// SlotToCoeff first, on the input at its low level, before ModRaise ("slim"
    /// bootstrapping, Chen-Chillotti-Song eprint 2018/1043): the input must keep `stc_depth`
    /// levels ([`Bootstrapper::input_level`]) and comes out `stc_depth` levels higher, so a
    /// computation between two bootstrappings has the same levels either way, but SlotToCoeff's
    /// key switches run over a few primes instead of the middle of the chain, its keys are
    /// truncated to them, and its errors are not amplified by `q_0 / Delta`.
    #[serde(default)]
    pub slots_to_coeff_first: bool,
    /// Baby steps of every CoeffToSlot and SlotToCoeff matrix (`None`: each matrix's
    /// time-optimal default, [`crate::LinearTransform::default_baby_steps`]). Fewer baby steps,
    /// fewer Galois keys, more key switches in sequence: at `BootstrapN16`, full slots, `Some(8)`
    /// needs 27 keys (3.85 GB) where the default needs 43 (6.13 GB), for about 10-13 % more
    /// time on one thread (docs/BENCHMARKS.md).
    #[serde(default)]
    pub dft_baby_steps: Option<usize>,
}

impl BootstrapConfig {
    /// The default: CoeffToSlot and SlotToCoeff of depth 3, `K = 16`, degree 31, 4 double
    /// angles (EvalMod depth 9, approximation error about `2^-43`), encapsulation with `h = 32`.
    /// 15 levels in all.
    pub fn standard() -> Self {
        Self {
            cts_depth: 3,
            stc_depth: 3,
            k: 16,
            degree: 31,
            double_angles: 4,
            ephemeral_hamming_weight: Some(32),
            slots_to_coeff_first: false,
            dft_baby_steps: None,
        }
    }

    /// [`BootstrapConfig::standard`] with SlotToCoeff first ([`BootstrapConfig::slots_to_coeff_first`]):
    /// input at level 3 or above, output 15 levels below the top, the same 15 levels in all.
    pub fn slim() -> Self {
        Self { slots_to_coeff_first: true, ..Self::standard() }
    }

    /// The lowest input level: `stc_depth` with SlotToCoeff first, else 0
    /// ([`Bootstrapper::input_level`], known without building the circuit).
    pub fn input_level(&self) -> usize {
        if self.slots_to_coeff_first {
            self.stc_depth
        } else {
            0
        }
    }

    /// The output level under parameters whose top level is `max_level`: `max_level - depth +
    /// input_level` ([`Bootstrapper::output_level`]), `None` if the chain is too short. For
    /// full slots, and sparse slots in the standard order: sparse slots `n <= N/4` with
    /// SlotToCoeff first keep one level fewer ([`Bootstrapper::packs_halves`]).
    pub fn output_level(&self, max_level: usize) -> Option<usize> {
        max_level.checked_sub(self.depth()).map(|l| l + self.input_level())
    }

    /// The level EvalMod starts at under parameters whose top level is `max_level`, below
    /// CoeffToSlot: its prime is the scale SlotToCoeff's retargeting assumes in the standard
    /// order, so EvalMod must end there.
    fn eval_mod_level(&self, max_level: usize) -> usize {
        max_level - self.cts_depth
    }

    /// Levels consumed by the circuit (one more for sparse slots `n <= N/4` with SlotToCoeff
    /// first, [`Bootstrapper::depth`]).
    pub fn depth(&self) -> usize {
        self.cts_depth + self.eval_mod_depth() + self.stc_depth
    }

    /// Levels of EvalMod: the Chebyshev interpolant's `ceil(log2(degree + 1))` and the double
    /// angles.
    fn eval_mod_depth(&self) -> usize {
        ceil_log2(self.degree + 1) + self.double_angles
    }

    /// Bit sizes of the primes the circuit consumes, in chain order from the bottom (what
    /// [`BootstrapConfig::extend_chain`] appends above a residual chain): `stc_depth` primes of
    /// `log_scale` bits for SlotToCoeff (it runs at the residual scale), then
    /// [`EVAL_MOD_PRIME_BITS`]-bit primes for EvalMod's levels and
    /// [`COEFF_TO_SLOT_PRIME_BITS`]-bit ones for CoeffToSlot, which run at the scale of their
    /// primes (the large ones keep the Chebyshev evaluation precise). [`BootstrapConfig::depth`]
    /// primes in all.
    pub fn chain_extension(&self, log_scale: u32) -> Vec<u32> {
        let mut bits = vec![log_scale; self.stc_depth];
        bits.extend(std::iter::repeat_n(EVAL_MOD_PRIME_BITS, self.eval_mod_depth()));
        bits.extend(std::iter::repeat_n(COEFF_TO_SLOT_PRIME_BITS, self.cts_depth));
        bits
    }

    /// A bootstrappable parameter literal: the residual chain of `residual` (`q_0` and the
    /// computation primes, which bootstrapping's output keeps: [`Bootstrapper::output_level`]
    /// is `residual.q_bits.len() - 1`, plus `stc_depth` with SlotToCoeff first) with [`BootstrapConfig::chain_extension`] (at the
    /// residual's `log_scale`) appended on top. Everything else of `residual` is kept: its
    /// special primes must cover the digits of the extended chain, and its `q_0` fixes the
    /// message ratio `q_0 / Delta` of the bootstrapping contract.
    pub fn extend_chain(&self, mut residual: ParametersBuilder) -> ParametersBuilder {
        let extension = self.chain_extension(residual.log_scale);
        residual.q_bits.extend(extension);
        residual
    }
}

/// Bits of the primes of EvalMod's levels in [`BootstrapConfig::chain_extension`].
pub const EVAL_MOD_PRIME_BITS: u32 = 60;

/// Bits of the primes of CoeffToSlot's levels in [`BootstrapConfig::chain_extension`].
pub const COEFF_TO_SLOT_PRIME_BITS: u32 = 60;

/// `q_0 / Delta'` for SlotToCoeff first: the scale of the coefficients ModRaise sees. Each
/// slot value becomes one coefficient (not spread over `N` as in an encoding), so the sine's
/// nonlinearity, `(2 pi m / ratio)^2 / 6` relative, needs a larger ratio than the standard
/// `q_0 / Delta` (`2^-23` at `|m| = 1` here); EvalMod's error reaches the slots without the
/// `sqrt(N)` gain of a SlotToCoeff after it, which leaves room for the larger ratio.
const SLIM_MESSAGE_RATIO: f64 = 8192.0;

/// The widest ratio between the scales of the two halves of a pair
/// ([`Bootstrapper::bootstrap_pair`]): `2^(1/4)`. Values that took different paths through a
/// circuit differ in scale by the primes' distances to `2^bits`, compounded by squarings: far
/// more than sums accept ([`crate::SCALE_TOLERANCE`]), and up to `2^0.09` measured at
/// `BootstrapN16` in HETAL's Goldschmidt inverse (11 steps between refreshes). The half of the
/// smaller scale is read at the larger one, so its values shrink and it loses at most a quarter
/// of a bit against the bootstrapping error.
pub const PAIR_SCALE_RATIO: f64 = 1.189_207_115_002_721;

/// Whether two ciphertexts of scales `a` and `b` can be refreshed as one pair: their ratio is
/// within [`PAIR_SCALE_RATIO`] either way. A NaN scale pairs with none.
pub fn pair_scales(a: f64, b: f64) -> bool {
    let r = a / b;
    (1.0 / PAIR_SCALE_RATIO..=PAIR_SCALE_RATIO).contains(&r)
}

fn ceil_log2(x: usize) -> usize {
    x.next_power_of_two().trailing_zeros() as usize
}

/// The public keys bootstrapping needs beyond the [`crate::EvaluationKeys`] (whose Galois keys
/// must include [`Bootstrapper::galois_elements`]): the two switching keys of sparse-secret
/// encapsulation. Made by the client ([`Bootstrapper::generate_keys`]); holds no secret.
#[derive(Clone, Debug)]
pub struct BootstrapKeys {
    /// Dense main key to the ephemeral sparse key, at `q_0 p_0` (encapsulation parameters).
    pub(crate) to_sparse: Option<SwitchingKey>,
    /// Ephemeral sparse key back to the main key, at the full `Q P`.
    pub(crate) to_dense: Option<SwitchingKey>,
}

impl BootstrapKeys {
    /// Keys for a configuration without encapsulation (nothing beyond the Galois keys).
    pub fn none() -> Self {
        Self { to_sparse: None, to_dense: None }
    }

    /// The dense-to-sparse key, whose modulus is the lowest of the chain (`q_0 p_0`).
    pub fn to_sparse(&self) -> Option<&SwitchingKey> {
        self.to_sparse.as_ref()
    }

    /// The sparse-to-dense key (full `Q P`).
    pub fn to_dense(&self) -> Option<&SwitchingKey> {
        self.to_dense.as_ref()
    }

    /// Size in bytes of the key material.
    pub fn size_bytes(&self) -> usize {
        self.to_sparse.iter().chain(&self.to_dense).map(|k| k.size_bytes()).sum()
    }
}

/// What a bootstrapper promises (see the [module documentation](self)): inputs at
/// `input_level` or above (higher levels are dropped; `input_level` is 0 unless SlotToCoeff
/// runs first) with scale `Delta < q_0 / 2` and `|m| <= 1` for the stated precision, output at
/// `output_level` on `slots` slots.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapContract {
    /// Slots per ciphertext.
    pub slots: usize,
    /// Lowest level of an input (0, or SlotToCoeff's depth when it runs first).
    pub input_level: usize,
    /// Level of the result.
    pub output_level: usize,
    /// Levels the circuit consumes (from the top of the chain).
    pub depth: usize,
    /// `log2(q_0)`: the ratio `q_0 / Delta` amplifies the circuit's error, and the sine's
    /// nonlinearity costs about `(2 pi Delta m / q_0)^2 / 6` relative error.
    pub log_q0: f64,
    /// The bound `K` on `|I|`.
    pub k: usize,
    /// Secret that `I` is computed under: the ephemeral sparse key, or the main key.
    pub secret: SecretDistribution,
    /// `log2` of the probability that some coefficient of `I` exceeds `K` in one
    /// bootstrapping (Gaussian tail of a sum of `h + 1` uniforms on `[-1/2, 1/2]`, union bound
    /// over the `N` coefficients).
    pub log2_failure_probability: f64,
}

impl fmt::Display for BootstrapContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bootstrapping: {} slots, level {} -> level {} ({} levels consumed), K = {} under a {}, \
             failure probability 2^{:.0} per bootstrap, q_0 = 2^{:.1} (message ratio q_0 / Delta)",
            self.slots,
            self.input_level,
            self.output_level,
            self.depth,
            self.k,
            self.secret,
            self.log2_failure_probability,
            self.log_q0
        )
    }
}

/// The bootstrapping circuit for one parameter set: pre-encoded CoeffToSlot and SlotToCoeff
/// matrices, the EvalMod polynomial, and the encapsulation parameters. Holds no key.
#[derive(Clone, Debug)]
pub struct Bootstrapper {
    params: Parameters,
    /// The slot count of the ciphertexts it refreshes: the parameters' or fewer
    /// ([`Bootstrapper::with_slots`]).
    slots: usize,
    config: BootstrapConfig,
    encapsulation: Option<Parameters>,
    coeff_to_slot: HomomorphicDft,
    eval_mod: EvalMod,
    slot_to_coeff: HomomorphicDft,
    /// Sparse slots `n <= N/4`: the real and imaginary halves share one ciphertext of `2n`
    /// slots through EvalMod ([`Bootstrapper::packs_halves`]).
    packed: bool,
    /// With SlotToCoeff first and packed halves, the mask `[1, i]` (on `2n` slots, at EvalMod's
    /// output level, scale its prime) that turns `[x, y]` into `x + i y` once summed with its
    /// rotation by `n`, rotated by CoeffToSlot's lag `p` to meet the lagging `[x, y]`.
    merge_mask: Option<Plaintext>,
    /// The Galois elements of the merge's rotations by `p` and `p + n` (the lag taken with
    /// the merge, in one hoisted step); empty without a merge.
    merge_elements: Vec<usize>,
}

/// The keys a [`Bootstrapper`] needs, as a list (from [`Bootstrapper::key_plan`]): Galois
/// elements with full keys, elements with keys truncated to SlotToCoeff's level, and the
/// encapsulation parameters.
#[derive(Clone, Debug)]
pub struct BootstrapKeyPlan {
    params: Parameters,
    full: Vec<usize>,
    truncated: Vec<usize>,
    truncated_level: usize,
    encapsulation: Option<Parameters>,
}

impl BootstrapKeyPlan {
    /// The Galois elements whose keys cover the whole chain (CoeffToSlot's, near the top).
    pub fn full_elements(&self) -> &[usize] {
        &self.full
    }

    /// The Galois elements whose keys are truncated to [`Self::truncated_level`] (SlotToCoeff's).
    pub fn truncated_elements(&self) -> &[usize] {
        &self.truncated
    }

    /// The highest level SlotToCoeff switches keys at.
    pub fn truncated_level(&self) -> usize {
        self.truncated_level
    }

    /// The keys of two circuits on the same parameters and encapsulation (a full-slot
    /// bootstrapper and one of fewer slots, [`Bootstrapper::with_slots`]): an element either
    /// keeps whole is whole, the others are truncated to the higher of the two levels. The
    /// encapsulation keys serve both circuits. Errors if the parameters or the encapsulation
    /// differ.
    pub fn union(&self, other: &BootstrapKeyPlan) -> Result<BootstrapKeyPlan, SchemeError> {
        if self.params != other.params || self.encapsulation != other.encapsulation {
            return Err(SchemeError::InvalidParameters {
                reason: "BootstrapKeyPlan::union: the circuits' parameters or encapsulation differ".into(),
            });
        }
        let full: BTreeSet<usize> = self.full.iter().chain(&other.full).copied().collect();
        let truncated: BTreeSet<usize> =
            self.truncated.iter().chain(&other.truncated).copied().filter(|k| !full.contains(k)).collect();
        Ok(BootstrapKeyPlan {
            params: self.params.clone(),
            full: full.into_iter().collect(),
            truncated: truncated.into_iter().collect(),
            truncated_level: self.truncated_level.max(other.truncated_level),
            encapsulation: self.encapsulation.clone(),
        })
    }

    /// Every Galois element of the plan (as [`Bootstrapper::galois_elements`]).
    pub fn galois_elements(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self.full.iter().chain(&self.truncated).copied().collect();
        all.sort_unstable();
        all
    }

    /// Client side: see [`Bootstrapper::generate_keys`].
    pub fn generate_keys(
        &self,
        kg: &mut KeyGenerator,
        sk: &SecretKey,
        galois: &mut GaloisKeys,
    ) -> Result<BootstrapKeys, SchemeError> {
        self.generate_keys_with(kg, sk, galois, &[], 0)
    }

    /// [`Self::generate_keys`] and the caller's own keys for the Galois elements `extra`,
    /// truncated to `extra_level` (the highest level the caller switches them at): an element
    /// this plan keeps whole stays whole, and one SlotToCoeff shares gets the higher of the two
    /// levels. Since a key already made is left as it is, the order is what makes each key
    /// reach far enough, and it is kept here: whole keys, the extra keys, SlotToCoeff's.
    pub fn generate_keys_with(
        &self,
        kg: &mut KeyGenerator,
        sk: &SecretKey,
        galois: &mut GaloisKeys,
        extra: &[usize],
        extra_level: usize,
    ) -> Result<BootstrapKeys, SchemeError> {
        kg.extend_galois_keys(sk, galois, &self.full)?;
        let (shared, own): (Vec<usize>, Vec<usize>) = extra.iter().copied().partition(|k| self.truncated.contains(k));
        kg.extend_galois_keys_at(sk, galois, &shared, extra_level.max(self.truncated_level))?;
        kg.extend_galois_keys_at(sk, galois, &own, extra_level)?;
        kg.extend_galois_keys_at(sk, galois, &self.truncated, self.truncated_level)?;
        let Some(enc) = &self.encapsulation else {
            return Ok(BootstrapKeys::none());
        };
        let mut small = kg.fork(enc);
        let sparse = small.secret_key()?;
        let dense_small = SecretKey::from_coeffs(enc, sk.coeffs().to_vec())?;
        let to_sparse = small.switching_key_between(&dense_small, &sparse)?;
        let sparse_big = SecretKey::from_coeffs(&self.params, sparse.coeffs().to_vec())?;
        let to_dense = kg.switching_key_between(&sparse_big, sk)?;
        Ok(BootstrapKeys { to_sparse: Some(to_sparse), to_dense: Some(to_dense) })
    }
}

impl Bootstrapper {
    /// Builds the circuit for `params` (full or sparse slots). Errors if the chain is too short
    /// for [`BootstrapConfig::depth`], or if encapsulation is asked at secure parameters whose
    /// `q_0 p_0` exceeds the sparse-key bound. Cost: encoding the DFT matrices (seconds at
    /// `N = 2^16`).
    pub fn new(params: &Parameters, config: BootstrapConfig) -> Result<Self, SchemeError> {
        Self::with_slots(params, config, params.slots())
    }

    /// The circuit for ciphertexts of `params` that carry `slots` slots, fewer than the
    /// parameters' (`slots` a power of two, `2 <= slots <= params.slots()`): their slot vectors
    /// repeat every `slots` ([`Encoder::with_slots`]), so sparse bootstrapping applies on the
    /// same ring, keys and chain: the trace, DFTs of `slots` points, and EvalMod once on both
    /// halves up to `N/4` slots. `with_slots(p, c, p.slots())` is [`Bootstrapper::new`].
    ///
    /// An input whose slots do not repeat every `slots` comes out as the mean of its
    /// `N / 2 slots` blocks (the trace, divided by its factor), which repeats: slot `j` of
    /// the result is `(2 slots / N) sum_k z[j + k slots]`. That is how a ciphertext whose
    /// information sits in a fraction of its slots is folded and refreshed at once.
    /// Errors as [`Bootstrapper::new`], and if `slots` is not such a power of two.
    pub fn with_slots(params: &Parameters, config: BootstrapConfig, slots: usize) -> Result<Self, SchemeError> {
        if !slots.is_power_of_two() || slots < 2 || slots > params.slots() {
            return Err(SchemeError::InvalidParameters {
                reason: format!(
                    "Bootstrapper: {slots} slots (a power of two from 2 to the parameters' {})",
                    params.slots()
                ),
            });
        }
        let eval_mod = EvalMod::sine(config.k, config.degree, config.double_angles, 1.0 / (config.k as f64 + 1.0))?;
        let top = params.max_level();
        let packed = 4 * slots <= params.degree();
        let merge_level = usize::from(packed && config.slots_to_coeff_first);
        let needed = config.cts_depth + eval_mod.depth() + config.stc_depth + merge_level;
        if needed > top {
            return Err(SchemeError::OutOfLevels { op: "Bootstrapper::new", level: top, needed });
        }
        let encapsulation = config.ephemeral_hamming_weight.map(|h| params.encapsulation_parameters(h)).transpose()?;
        let gap = params.degree() / (2 * slots);
        // Fold 1 / (2 (K + 1)) and the trace's factor `gap` into CoeffToSlot; 1 / (2 pi) into
        // SlotToCoeff.
        let cts_factor = 1.0 / (2.0 * (config.k as f64 + 1.0) * gap as f64);
        // CoeffToSlot reads the raised ciphertext at scale q_0 and hands EvalMod the scale of
        // the prime its first product drops.
        let q = params.q_basis();
        let eval_mod_level = config.eval_mod_level(top);
        let n1 = config.dft_baby_steps;
        let coeff_to_slot = HomomorphicDft::retargeted(
            params,
            &DftSpec {
                direction: DftDirection::CoeffToSlot,
                depth: config.cts_depth,
                level: top,
                factor: cts_factor,
                scales: (q.modulus(0).value() as f64, q.modulus(eval_mod_level).value() as f64),
                baby_steps: n1,
                halves: packed,
                slots: Some(slots),
                // In the standard order SlotToCoeff absorbs CoeffToSlot's last rotation: all
                // between them works slot by slot. SlotToCoeff first, the merge of packed
                // halves takes it; without packing the result is the output.
                input_lag: 0,
                lagging_output: !config.slots_to_coeff_first || packed,
            },
        )?;
        let slot_to_coeff = if config.slots_to_coeff_first {
            // On the input (nominally at the default scale) down to level 0 at
            // q_0 / SLIM_MESSAGE_RATIO: the coefficients ModRaise sees are the slot values.
            HomomorphicDft::retargeted(
                params,
                &DftSpec {
                    direction: DftDirection::SlotToCoeff,
                    depth: config.stc_depth,
                    level: config.stc_depth,
                    factor: 1.0,
                    scales: (params.default_scale(), q.modulus(0).value() as f64 / SLIM_MESSAGE_RATIO),
                    baby_steps: n1,
                    halves: false,
                    slots: Some(slots),
                    // ModRaise reads coefficients: aligned.
                    input_lag: 0,
                    lagging_output: false,
                },
            )?
        } else {
            // EvalMod leaves a scale close to its primes; SlotToCoeff brings it back to q_0 so
            // that the result, read at `scale * Delta / q_0`, is at about `Delta`.
            HomomorphicDft::retargeted(
                params,
                &DftSpec {
                    direction: DftDirection::SlotToCoeff,
                    depth: config.stc_depth,
                    level: eval_mod_level - eval_mod.depth(),
                    factor: 1.0 / (2.0 * PI),
                    scales: (q.modulus(eval_mod_level).value() as f64, q.modulus(0).value() as f64),
                    baby_steps: n1,
                    halves: packed,
                    slots: Some(slots),
                    input_lag: coeff_to_slot.output_lag(),
                    lagging_output: false,
                },
            )?
        };
        let (merge_mask, merge_elements) = if packed && config.slots_to_coeff_first {
            let n = slots;
            let mask: Vec<Complex> =
                (0..2 * n).map(|j| if j < n { Complex::ONE } else { Complex::new(0.0, 1.0) }).collect();
            // rot(w, p) ⊙ mask = rot(w ⊙ rot(mask, -p), p), and the merge sums that with its
            // rotation by n: rot(., p) + rot(., p + n) of the lagging w times the rotated mask.
            let lag = coeff_to_slot.output_lag();
            let mask = rotate_plain(&mask, -lag);
            let level = eval_mod_level - eval_mod.depth();
            let elements = super::trace::fold_elements(params.degree(), n, lag);
            (Some(Encoder::with_slots(params, 2 * n)?.encode(&mask, level, q.modulus(level).value() as f64)?), elements)
        } else {
            (None, Vec::new())
        };
        Ok(Self {
            params: params.clone(),
            slots,
            config,
            encapsulation,
            coeff_to_slot,
            eval_mod,
            slot_to_coeff,
            packed,
            merge_mask,
            merge_elements,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BootstrapConfig {
        &self.config
    }

    /// The encapsulation parameters (`q_0 p_0`, sparse secret), if configured.
    pub fn encapsulation_parameters(&self) -> Option<&Parameters> {
        self.encapsulation.as_ref()
    }

    /// Bytes of the encoded CoeffToSlot and SlotToCoeff diagonals ([`LinearTransform::size_bytes`]):
    /// at `N = 2^16` with three levels each, one of each transform's matrices is stored whole
    /// and the other two by their period.
    ///
    /// [`LinearTransform::size_bytes`]: crate::LinearTransform::size_bytes
    pub fn precomputed_bytes(&self) -> usize {
        let dft = |d: &HomomorphicDft| d.transforms().iter().map(|t| t.size_bytes()).sum::<usize>();
        dft(&self.coeff_to_slot) + dft(&self.slot_to_coeff)
    }

    /// Whether EvalMod runs once, on the real and imaginary halves packed into one ciphertext
    /// of `2n` slots: for sparse slots `n <= N/4`, where they fit. CoeffToSlot's last matrix
    /// writes the packing and SlotToCoeff's first reads it ([`HomomorphicDft::retargeted`]),
    /// so EvalMod, half the time of full slots, is paid once instead of twice. With
    /// SlotToCoeff first there is no matrix after EvalMod to read it: a product by a mask and
    /// one rotation merge the halves, and the circuit keeps **one level fewer** than for full
    /// slots ([`Bootstrapper::depth`]).
    pub fn packs_halves(&self) -> bool {
        self.packed
    }

    /// The slot count of the ciphertexts it refreshes ([`Bootstrapper::with_slots`]).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Levels consumed: the DFTs, EvalMod, and the merge of packed halves with SlotToCoeff
    /// first ([`Bootstrapper::packs_halves`]).
    pub fn depth(&self) -> usize {
        self.coeff_to_slot.depth()
            + self.eval_mod.depth()
            + self.slot_to_coeff.depth()
            + usize::from(self.merge_mask.is_some())
    }

    /// Level of the refreshed ciphertext: `stc_depth` levels more with SlotToCoeff first,
    /// which the next bootstrapping's input needs ([`Bootstrapper::input_level`]).
    pub fn output_level(&self) -> usize {
        self.params.max_level() - self.depth() + self.input_level()
    }

    /// The lowest level an input may have: 0, or SlotToCoeff's depth when it runs first
    /// ([`BootstrapConfig::slots_to_coeff_first`]). Levels above it are dropped.
    pub fn input_level(&self) -> usize {
        self.config.input_level()
    }

    /// The promises of this circuit (see [`BootstrapContract`]).
    pub fn contract(&self) -> BootstrapContract {
        let n = self.params.degree();
        let secret = match self.encapsulation.as_ref() {
            Some(e) => e.secret_distribution(),
            None => self.params.secret_distribution(),
        };
        // The number of +-1 terms in each coefficient of c_1 s.
        let weight = match secret {
            SecretDistribution::SparseTernary { hamming_weight } => hamming_weight as f64,
            SecretDistribution::Ternary => 2.0 * n as f64 / 3.0,
            SecretDistribution::Gaussian => 3.2 * 3.2 * n as f64,
        };
        let sigma = ((weight + 1.0) / 12.0).sqrt();
        let z = (self.config.k as f64 + 0.5) / sigma;
        // log2 of N * P(|N(0,1)| > z), by the Gaussian tail bound 2 phi(z) / z.
        let log2_tail = (-z * z / 2.0) / std::f64::consts::LN_2 - (z * (PI / 2.0).sqrt()).log2();
        BootstrapContract {
            slots: self.slots,
            input_level: self.input_level(),
            output_level: self.output_level(),
            depth: self.depth(),
            log_q0: (self.params.q_basis().modulus(0).value() as f64).log2(),
            k: self.config.k,
            secret,
            log2_failure_probability: (log2_tail + (n as f64).log2()).min(0.0),
        }
    }

    /// Level of SlotToCoeff's first matrix (the highest level its rotations run at).
    fn stc_level(&self) -> usize {
        if self.config.slots_to_coeff_first {
            self.slot_to_coeff.depth()
        } else {
            self.params.max_level() - self.coeff_to_slot.depth() - self.eval_mod.depth()
        }
    }

    /// Galois elements of SlotToCoeff's rotations.
    fn stc_elements(&self) -> BTreeSet<usize> {
        self.slot_to_coeff.galois_elements().into_iter().collect()
    }

    /// Galois elements of the trace for sparse slots ([`super::trace::trace_elements`]), and
    /// with packed halves whose trace ends with a stage of radix 2, `conj sigma` of the step
    /// `(1 + conj)(1 + sigma)` that takes that stage ([`Bootstrapper::trace_plan`]).
    fn trace_elements(&self) -> Vec<usize> {
        let mut elements = super::trace::trace_elements(self.params.degree(), self.slots);
        if let (_, Some([.., conj_sigma])) = self.trace_plan() {
            elements.push(conj_sigma);
        }
        elements
    }

    /// The trace's stages that run before CoeffToSlot's last matrix, and when the halves are
    /// packed and the trace ends with a stage `1 + sigma` of radix 2
    /// ([`super::trace::trace_stages_but_radix2`]), the terms `[1, conj, sigma, conj sigma]` of
    /// the step `(1 + conj)(1 + sigma)` that takes it after that matrix.
    fn trace_plan(&self) -> (Vec<Vec<usize>>, Option<[usize; 4]>) {
        let degree = self.params.degree();
        if !self.packed {
            return (super::trace::trace_stages(degree, self.slots), None);
        }
        let (stages, sigma) = super::trace::trace_stages_but_radix2(degree, self.slots);
        let conj = conjugation_galois_element(degree);
        (stages, sigma.map(|sigma| [1, conj, sigma, conj * sigma % (2 * degree)]))
    }

    /// Every Galois element bootstrapping needs: the rotations, conjugation, and the trace of
    /// sparse slots. Give them to [`KeyGenerator::extend_galois_keys`].
    pub fn galois_elements(&self) -> Vec<usize> {
        let n = self.params.degree();
        let mut set: BTreeSet<usize> =
            self.coeff_to_slot.galois_elements().into_iter().chain(self.slot_to_coeff.galois_elements()).collect();
        set.insert(conjugation_galois_element(n));
        set.extend(self.trace_elements());
        set.extend(self.merge_elements.iter().copied());
        set.remove(&1);
        set.into_iter().collect()
    }

    /// Client side: the Galois keys of [`Bootstrapper::galois_elements`] (added to `galois`)
    /// and the encapsulation keys, from the main secret key. The ephemeral sparse key is drawn
    /// here and dropped: nobody keeps it. Rotations that only SlotToCoeff uses get keys
    /// truncated to its level (about 40% of a full key at `BootstrapN16`): add your own
    /// rotation keys to `galois` *before* calling this, or a rotation you share with
    /// SlotToCoeff would get the truncated key. Same as `self.key_plan().generate_keys(..)`.
    pub fn generate_keys(
        &self,
        kg: &mut KeyGenerator,
        sk: &SecretKey,
        galois: &mut GaloisKeys,
    ) -> Result<BootstrapKeys, SchemeError> {
        self.key_plan().generate_keys(kg, sk, galois)
    }

    /// What key generation needs of the circuit, without its encoded DFT matrices (GBs at
    /// `N = 2^16`): a client can drop the `Bootstrapper` before making the keys.
    pub fn key_plan(&self) -> BootstrapKeyPlan {
        // Used above SlotToCoeff's level: CoeffToSlot, the trace, the merge of packed halves and
        // the conjugation.
        let high: BTreeSet<usize> = self
            .coeff_to_slot
            .galois_elements()
            .into_iter()
            .chain(self.trace_elements())
            .chain(self.merge_elements.iter().copied())
            .collect();
        let stc = self.stc_elements();
        let (full, truncated) = self.galois_elements().into_iter().partition(|k| high.contains(k) || !stc.contains(k));
        BootstrapKeyPlan {
            params: self.params.clone(),
            full,
            truncated,
            truncated_level: self.stc_level(),
            encapsulation: self.encapsulation.clone(),
        }
    }

    /// Refreshes `ct` (dropped to level 0 first if higher): the result, at
    /// [`Bootstrapper::output_level`] and at `ct`'s scale exactly, decrypts to the same slots
    /// within the precision of the [`BootstrapContract`]. Errors if the scale is not below `q_0 / 2`, if keys are missing
    /// (Galois or encapsulation), or on parameter mismatches.
    pub fn bootstrap(
        &self,
        eval: &Evaluator,
        keys: &BootstrapKeys,
        ct: &Ciphertext,
    ) -> Result<Ciphertext, SchemeError> {
        Ok(self.bootstrap_timed(eval, keys, ct)?.0)
    }

    /// Two ciphertexts of real slots refreshed by one bootstrapping: `z = a + i b` (a monomial
    /// product and a sum, no level; the higher input is dropped to the lower's level), `z' =
    /// bootstrap(z) / 2` (the half folded into EvalMod's last double angle, so no product),
    /// then `a' = z' + conj(z')` and `b' = i (conj(z') - z')`: one conjugation at
    /// [`Bootstrapper::output_level`], no level. Both come out at that level, each at its
    /// input's scale exactly (as [`Bootstrapper::bootstrap`]), each within its error.
    ///
    /// The scales may differ within [`PAIR_SCALE_RATIO`] ([`pair_scales`]): both are read at
    /// the larger scale `s = max(s_a, s_b)` (the other half's values shrink by `s_x / s`, so
    /// none leaves bootstrapping's range), and each output is labelled with its own scale
    /// again, which is exact (the integers encrypted are the same; only their reading changes).
    /// So two values whose scales drifted apart on different paths still share a bootstrap.
    ///
    /// Only for real slots: an imaginary part of `b` would land in `a'` and one of `a` in `b'`.
    /// Errors as [`Bootstrapper::bootstrap`], if the two differ in parameters, or with
    /// [`SchemeError::ScaleMismatch`] if their scales are not [`pair_scales`].
    pub fn bootstrap_pair(
        &self,
        eval: &Evaluator,
        keys: &BootstrapKeys,
        a: &Ciphertext,
        b: &Ciphertext,
    ) -> Result<(Ciphertext, Ciphertext), SchemeError> {
        let (s_a, s_b) = (a.scale(), b.scale());
        if !pair_scales(s_a, s_b) {
            return Err(SchemeError::ScaleMismatch {
                op: "bootstrap_pair",
                left_log2: s_a.log2(),
                right_log2: s_b.log2(),
            });
        }
        let (mut a, mut b) = eval.align_levels(a, b)?;
        let s = s_a.max(s_b);
        a.set_scale(s);
        b.set_scale(s);
        let z = eval.add(&a, &eval.mul_by_i(&b)?)?;
        let (z, _) = self.run(eval, keys, &z, true)?;
        let conj = eval.conjugate(&z)?;
        let (mut a_out, mut b_out) = (eval.add(&z, &conj)?, eval.mul_by_i(&eval.sub(&conj, &z)?)?);
        // Each holds its input read at s: back to its own scale (the output's is s exactly, up
        // to the rounding of the circuit's scale bookkeeping).
        a_out.set_scale(a_out.scale() / s * s_a);
        b_out.set_scale(b_out.scale() / s * s_b);
        Ok((a_out, b_out))
    }

    /// [`Bootstrapper::bootstrap`] with the wall-clock time of each stage.
    pub fn bootstrap_timed(
        &self,
        eval: &Evaluator,
        keys: &BootstrapKeys,
        ct: &Ciphertext,
    ) -> Result<(Ciphertext, BootstrapTimings), SchemeError> {
        self.run(eval, keys, ct, false)
    }

    /// The circuit, its result halved when `half` ([`EvalMod`]'s last double angle).
    fn run(
        &self,
        eval: &Evaluator,
        keys: &BootstrapKeys,
        ct: &Ciphertext,
        half: bool,
    ) -> Result<(Ciphertext, BootstrapTimings), SchemeError> {
        let mut timings = BootstrapTimings::default();
        let mut clock = Instant::now();
        let mut lap = |slot: &mut Duration| {
            let now = Instant::now();
            *slot += now - clock;
            clock = now;
        };
        let params = eval.params();
        params.check_same("bootstrap", &self.params)?;
        let q0 = params.q_basis().modulus(0).value() as f64;
        let delta = ct.scale();
        if delta >= q0 / 2.0 {
            return Err(SchemeError::InvalidScale {
                op: "bootstrap",
                log2: delta.log2(),
                reason: "the input scale must be below q_0 / 2",
            });
        }
        let slim = self.config.slots_to_coeff_first;
        let ct = if slim {
            if ct.level() < self.input_level() {
                return Err(SchemeError::OutOfLevels {
                    op: "bootstrap (SlotToCoeff first)",
                    level: ct.level(),
                    needed: self.input_level(),
                });
            }
            let t = self.slot_to_coeff.apply(eval, ct)?;
            lap(&mut timings.slot_to_coeff);
            t
        } else if ct.level() > 0 {
            eval.drop_to_level(ct, 0)?
        } else {
            ct.clone()
        };
        // The scale ModRaise sees: the message's, or SlotToCoeff's output.
        let delta_raised = ct.scale();
        if slim && delta_raised >= q0 / 2.0 {
            return Err(SchemeError::InvalidScale {
                op: "bootstrap (SlotToCoeff first)",
                log2: delta_raised.log2(),
                reason: "the input scale is too large for q_0 after SlotToCoeff",
            });
        }
        let mut raised = match &self.encapsulation {
            Some(enc) => {
                let missing = |which| SchemeError::InvalidParameters {
                    reason: format!("bootstrapping with encapsulation needs the {which} key (BootstrapKeys)"),
                };
                let to_sparse = keys.to_sparse.as_ref().ok_or_else(|| missing("dense-to-sparse"))?;
                let to_dense = keys.to_dense.as_ref().ok_or_else(|| missing("sparse-to-dense"))?;
                let small = Evaluator::without_keys(enc).switch_key(&rebase(&ct, enc)?, to_sparse)?;
                let raised = mod_raise(&rebase(&small, params)?)?;
                eval.switch_key(&raised, to_dense)?
            }
            None => mod_raise(&ct)?,
        };
        lap(&mut timings.mod_raise);
        raised.set_scale(q0);
        // The trace commutes with every CoeffToSlot matrix whose diagonals repeat every n
        // slots, all but the last of packed halves (2n): so it runs before that one, over
        // `cts_depth - 1` fewer primes than at the top.
        let last = self.coeff_to_slot.depth() - 1;
        let traced = self.coeff_to_slot.apply_part(eval, &raised, 0..last)?;
        lap(&mut timings.coeff_to_slot);
        let (stages, fold) = self.trace_plan();
        let traced = super::trace::apply_stages(eval, traced, &stages)?;
        lap(&mut timings.trace);
        let w = self.coeff_to_slot.apply_part(eval, &traced, last..last + 1)?;
        // Full slots: x = Re(w) / (K + 1) and y = Im(w) / (K + 1), two ciphertexts. Packed
        // halves: w is [u, -i u] on 2n slots and w + conj(w) = [x, y], one ciphertext; a
        // trace's last factor 1 + sigma (a rotation by a multiple of 2n, which commutes with
        // the last matrix) joins that sum: (1 + conj)(1 + sigma) in one hoisted step.
        let (x, y) = match fold {
            Some(terms) => (eval.galois_sum_hoisted(&w, &terms)?, None),
            None => {
                let w_conj = eval.conjugate(&w)?;
                let y = if self.packed { None } else { Some(eval.neg(&eval.mul_by_i(&eval.sub(&w, &w_conj)?)?)?) };
                (eval.add(&w, &w_conj)?, y)
            }
        };
        lap(&mut timings.coeff_to_slot);
        // With SlotToCoeff first, sin(2 pi x) ~ 2 pi delta_raised m / q_0: EvalMod ends at the
        // scale that reads as m at the input's scale, so no product is left after it. In the
        // standard order it ends at the prime SlotToCoeff's retargeting assumes, which then
        // hands over exactly q_0. Either way the output's scale is the input's exactly: a
        // scale a few per mille off would be squared by every product after the refresh (2^11
        // squarings take 0.5 % to 2^15).
        let target = if slim {
            delta * q0 / (2.0 * PI * delta_raised)
        } else {
            params.q_basis().modulus(self.config.eval_mod_level(params.max_level())).value() as f64
        };
        let eval_mod = |c: &Ciphertext| self.eval_mod.evaluate_with(eval, c, Some(target), half);
        let mut w = match y {
            // Independent: on two or more threads they run side by side.
            Some(y) => {
                let (x, y) = rayon::join(|| eval_mod(&x), || eval_mod(&y));
                eval.add(&x?, &eval.mul_by_i(&y?)?)?
            }
            None => eval_mod(&x)?,
        };
        lap(&mut timings.eval_mod);
        if slim {
            if let Some(mask) = &self.merge_mask {
                // [x, i y] + rot([x, i y], n) = [x + i y, x + i y]: n slots again. With
                // CoeffToSlot's lag p taken here: rot(m, p) + rot(m, p + n), one hoisted step.
                let mut masked = eval.mul_plain(&w, mask)?;
                eval.rescale_assign(&mut masked)?;
                w = eval.galois_sum_hoisted(&masked, &self.merge_elements)?;
                lap(&mut timings.slot_to_coeff);
            }
            w.set_scale(w.scale() * 2.0 * PI * delta_raised / q0);
            return Ok((w, timings));
        }
        let mut out = self.slot_to_coeff.apply(eval, &w)?;
        out.set_scale(out.scale() * delta / q0);
        lap(&mut timings.slot_to_coeff);
        Ok((out, timings))
    }
}

/// Wall-clock time of each stage of one bootstrapping.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BootstrapTimings {
    /// Encapsulation (two key switches) and ModRaise.
    pub mod_raise: Duration,
    /// The trace of sparse slots.
    pub trace: Duration,
    /// CoeffToSlot and the conjugation that splits real and imaginary parts.
    pub coeff_to_slot: Duration,
    /// EvalMod (twice) and the recombination.
    pub eval_mod: Duration,
    /// SlotToCoeff, and the merge of packed halves ([`Bootstrapper::packs_halves`]) with
    /// SlotToCoeff first.
    pub slot_to_coeff: Duration,
}

impl BootstrapTimings {
    /// The sum of the stages.
    pub fn total(&self) -> Duration {
        self.mod_raise + self.trace + self.coeff_to_slot + self.eval_mod + self.slot_to_coeff
    }
}

/// The same level-0 ciphertext over other parameters that share `q_0` (the encapsulation
/// parameters and the main ones).
fn rebase(ct: &Ciphertext, to: &Parameters) -> Result<Ciphertext, SchemeError> {
    if ct.level() != 0 || to.q_basis().modulus(0).value() != ct.params().q_basis().modulus(0).value() {
        return Err(SchemeError::ParameterMismatch {
            op: "bootstrap (encapsulation)",
            detail: "the encapsulation parameters must share q_0 with a level-0 ciphertext".into(),
        });
    }
    let components = ct
        .components()
        .iter()
        .map(|c| Ok(RnsPoly::from_data(to.q_basis(), 1, Representation::Ntt, c.data().to_vec())?))
        .collect::<Result<Vec<_>, SchemeError>>()?;
    Ciphertext::from_components(to, components, ct.scale())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Complex, Decryptor, Encoder, Encryptor, KeyGenerator, PrecisionStats, Preset};
    use std::sync::Arc;

    /// Bootstraps uniform values in the unit disk (real ones if `real`) at `params` and returns
    /// the output level and the precision.
    fn run(params: &Parameters, config: BootstrapConfig, seed: u8) -> (Bootstrapper, usize, PrecisionStats) {
        let boot = Bootstrapper::new(params, config).unwrap();
        let mut kg = KeyGenerator::from_seed(params, [seed; 32]);
        let sk = kg.secret_key().unwrap();
        let mut keys = kg.evaluation_keys(&sk, &[], false).unwrap();
        let bkeys = boot.generate_keys(&mut kg, &sk, &mut keys.galois).unwrap();
        let keys = Arc::new(keys);
        let eval = Evaluator::new(keys.clone());
        let enc = Encoder::new(params);
        let n = params.slots();
        let z: Vec<Complex> = (0..n)
            .map(|j| {
                let (r, a) = ((((j * 7919) % 1000) as f64 / 1000.0).sqrt(), j as f64 * 2.39996);
                Complex::new(r * a.cos(), r * a.sin())
            })
            .collect();
        let pt = enc.encode(&z, boot.input_level(), params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&keys.public, [seed ^ 0x55; 32]).encrypt(&pt).unwrap();
        let before = enc.decode(&Decryptor::new(&sk).decrypt(&ct).unwrap()).unwrap();
        eprintln!("input ciphertext: {}", PrecisionStats::compare(&z, &before));
        let out = boot.bootstrap(&eval, &bkeys, &ct).unwrap();
        let got = enc.decode(&Decryptor::new(&sk).decrypt(&out).unwrap()).unwrap();
        let level = out.level();
        // The output keeps computing: its scale is the input's.
        assert!(
            (out.scale() / ct.scale() - 1.0).abs() < 1e-12,
            "scale 2^{} from 2^{}",
            out.scale().log2(),
            ct.scale().log2()
        );
        (boot, level, PrecisionStats::compare(&z, &got))
    }

    /// Full slots with a dense main key and sparse-secret encapsulation (the layout of the
    /// secure preset, at N = 2^12).
    #[test]
    fn bootstraps_full_slots_with_encapsulation() {
        let params = Preset::InsecureBootstrapN12.build().unwrap();
        let (boot, level, stats) = run(&params, BootstrapConfig::standard(), 1);
        eprintln!("full slots, N = 2^12: {stats}");
        assert_eq!(level, 4);
        assert_eq!(boot.output_level(), 4);
        assert!(stats.mean_bits >= 20.0 && stats.min_bits >= 15.0, "{stats}");
    }

    /// Fewer baby steps in the DFT: fewer Galois keys, the same precision.
    #[test]
    fn fewer_baby_steps_need_fewer_keys() {
        let params = Preset::InsecureBootstrapN12.build().unwrap();
        let keys = |config: BootstrapConfig| Bootstrapper::new(&params, config).unwrap().galois_elements().len();
        let few = BootstrapConfig { dft_baby_steps: Some(4), ..BootstrapConfig::standard() };
        let (default, fewer) = (keys(BootstrapConfig::standard()), keys(few.clone()));
        assert!(fewer < default, "{fewer} keys with 4 baby steps, {default} by default");
        let (_, level, stats) = run(&params, few, 1);
        eprintln!("full slots, N = 2^12, 4 baby steps ({fewer} keys, {default} by default): {stats}");
        assert_eq!(level, 4);
        assert!(stats.mean_bits >= 20.0 && stats.min_bits >= 15.0, "{stats}");
    }

    /// SlotToCoeff first: the input keeps 3 levels and the output has 3 more (2 for sparse
    /// slots with packed halves, which spend one merging them); full and sparse slots at the
    /// precision of the standard order; an input below level 3 is refused.
    #[test]
    fn bootstraps_with_slots_to_coeff_first() {
        for (slots, packed, output) in [(2048, false, 7), (64, true, 6)] {
            let params = Preset::InsecureBootstrapN12.builder().slots(slots).build_insecure().unwrap();
            let (boot, level, stats) = run(&params, BootstrapConfig::slim(), 4);
            eprintln!("SlotToCoeff first, {slots} slots, N = 2^12: {stats}");
            assert_eq!(boot.packs_halves(), packed);
            assert_eq!((boot.input_level(), level, boot.output_level()), (3, output, output));
            assert_eq!(boot.contract().input_level, 3);
            assert!(stats.mean_bits >= 20.0 && stats.min_bits >= 15.0, "{slots} slots: {stats}");
            // SlotToCoeff's own rotations run at levels 3..1 only: their keys stop there.
            assert_eq!(boot.key_plan().truncated_level, 3);
        }
        let params = Preset::InsecureBootstrapN12.build().unwrap();
        let boot = Bootstrapper::new(&params, BootstrapConfig::slim()).unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [5; 32]);
        let sk = kg.secret_key().unwrap();
        let keys = Arc::new(kg.evaluation_keys(&sk, &[], false).unwrap());
        let pt = Encoder::new(&params).encode_real(&[0.5], 2, params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&keys.public, [6; 32]).encrypt(&pt).unwrap();
        let err = boot.bootstrap(&Evaluator::new(keys), &BootstrapKeys::none(), &ct).unwrap_err();
        assert!(matches!(err, SchemeError::OutOfLevels { level: 2, needed: 3, .. }), "{err}");
    }

    /// Two real ciphertexts in one bootstrapping, in both orders: each comes back at the output
    /// level and scale of a single bootstrapping, at its precision, from inputs at different
    /// levels, also when their scales drifted apart by 10 % either way (within
    /// [`PAIR_SCALE_RATIO`]); scales further apart are refused.
    #[test]
    fn bootstraps_a_pair_of_real_ciphertexts() {
        let params = Preset::InsecureBootstrapN12.build().unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [8; 32]);
        let sk = kg.secret_key().unwrap();
        let mut keys = kg.evaluation_keys(&sk, &[], false).unwrap();
        let (standard, slim) = (
            Bootstrapper::new(&params, BootstrapConfig::standard()).unwrap(),
            Bootstrapper::new(&params, BootstrapConfig::slim()).unwrap(),
        );
        let bkeys = standard.generate_keys(&mut kg, &sk, &mut keys.galois).unwrap();
        slim.generate_keys(&mut kg, &sk, &mut keys.galois).unwrap();
        let keys = Arc::new(keys);
        let eval = Evaluator::new(keys.clone());
        let enc = Encoder::new(&params);
        let dec = Decryptor::new(&sk);
        let mut encryptor = Encryptor::from_seed(&keys.public, [9; 32]);
        let n = params.slots();
        let a: Vec<f64> = (0..n).map(|j| ((j * 7919) % 1999) as f64 / 999.5 - 1.0).collect();
        let b: Vec<f64> = (0..n).map(|j| (j as f64 * 0.37).sin()).collect();
        for boot in [&standard, &slim] {
            let level = boot.input_level();
            let ct_a = encryptor.encrypt(&enc.encode_real(&a, level + 1, params.default_scale()).unwrap()).unwrap();
            let ct_b = encryptor.encrypt(&enc.encode_real(&b, level, params.default_scale()).unwrap()).unwrap();
            let single = boot.bootstrap(&eval, &bkeys, &ct_b).unwrap();
            // Drifts of b's scale both ways (b encrypted at the drifted scale): b' keeps it, and
            // a' keeps a's.
            let drifted = [1.1, 1.0 / 1.1].map(|r| params.default_scale() * r);
            let cts = drifted.map(|s| encryptor.encrypt(&enc.encode_real(&b, level, s).unwrap()).unwrap());
            for (ct_b, scale_b) in [(&ct_b, single.scale()), (&cts[0], drifted[0]), (&cts[1], drifted[1])] {
                let (out_a, out_b) = boot.bootstrap_pair(&eval, &bkeys, &ct_a, ct_b).unwrap();
                for (out, want, scale) in [(&out_a, &a, single.scale()), (&out_b, &b, scale_b)] {
                    assert_eq!(out.level(), boot.output_level());
                    assert!(crate::scales_match(out.scale(), scale), "{} against {scale}", out.scale());
                    let got = enc.decode_real(&dec.decrypt(out).unwrap()).unwrap();
                    let stats = PrecisionStats::compare_real(want, &got);
                    eprintln!("pair, SlotToCoeff first {}: {stats}", boot.config().slots_to_coeff_first);
                    assert!(stats.mean_bits >= 20.0 && stats.min_bits >= 15.0, "{stats}");
                }
            }
            let mut other = ct_b.clone();
            other.set_scale(ct_b.scale() * PAIR_SCALE_RATIO * 1.001);
            let err = boot.bootstrap_pair(&eval, &bkeys, &ct_a, &other).unwrap_err();
            assert!(matches!(err, SchemeError::ScaleMismatch { .. }), "{err}");
        }
    }

    /// Sparse slots (the trace before CoeffToSlot's last matrix).
    #[test]
    fn bootstraps_sparse_slots_with_encapsulation() {
        for slots in [64, 512, 1024] {
            let params = Preset::InsecureBootstrapN12.builder().slots(slots).build_insecure().unwrap();
            let (boot, level, stats) = run(&params, BootstrapConfig::standard(), 2);
            eprintln!("{slots} slots, N = 2^12: {stats}");
            // The trace in hoisted steps of radix 4 (then 2) whose radices multiply to N / 2n.
            let stages = crate::circuits::trace::trace_stages(params.degree(), boot.slots());
            assert_eq!(stages.iter().map(|s| s.len() + 1).product::<usize>(), 2048 / slots);
            assert!(stages.iter().rev().skip(1).all(|s| s.len() == 3), "{stages:?}");
            // Up to N/4 slots EvalMod runs once, on both halves; in the standard order the
            // packing costs no level.
            assert!(boot.packs_halves());
            assert_eq!(level, 4);
            assert!(stats.mean_bits >= 20.0 && stats.min_bits >= 15.0, "{slots} slots: {stats}");
        }
    }

    /// Sparse slots on full-slot parameters (`Bootstrapper::with_slots`): the precision of
    /// sparse parameters, for one ciphertext and for a pair of real ones, and an input that
    /// does not repeat every `n` slots comes out as the mean of its blocks (the trace folds it).
    #[test]
    fn bootstraps_fewer_slots_than_the_parameters() {
        let params = Preset::InsecureBootstrapN12.build().unwrap();
        let n = 64;
        let point = |j: usize| {
            let (r, a) = ((((j * 7919) % 1000) as f64 / 1000.0).sqrt(), j as f64 * 2.39996);
            Complex::new(r * a.cos(), r * a.sin())
        };
        for config in [BootstrapConfig::standard(), BootstrapConfig::slim()] {
            let slim = config.slots_to_coeff_first;
            let boot = Bootstrapper::with_slots(&params, config, n).unwrap();
            assert_eq!((boot.slots(), boot.contract().slots), (n, n));
            assert!(boot.packs_halves());
            let mut kg = KeyGenerator::from_seed(&params, [9; 32]);
            let sk = kg.secret_key().unwrap();
            let mut keys = kg.evaluation_keys(&sk, &[], false).unwrap();
            let bkeys = boot.generate_keys(&mut kg, &sk, &mut keys.galois).unwrap();
            let keys = Arc::new(keys);
            let eval = Evaluator::new(keys.clone());
            let (full, sparse) = (Encoder::new(&params), Encoder::with_slots(&params, n).unwrap());
            let mut encryptor = Encryptor::from_seed(&keys.public, [10; 32]);
            let dec = Decryptor::new(&sk);
            let level = boot.input_level();
            // n slots, encoded in their own view.
            let z: Vec<Complex> = (0..n).map(point).collect();
            let ct = encryptor.encrypt(&sparse.encode(&z, level, params.default_scale()).unwrap()).unwrap();
            let out = boot.bootstrap(&eval, &bkeys, &ct).unwrap();
            assert_eq!(out.level(), boot.output_level());
            let stats = PrecisionStats::compare(&z, &sparse.decode(&dec.decrypt(&out).unwrap()).unwrap());
            eprintln!("{n} of {} slots, SlotToCoeff first {slim}: {stats}", params.slots());
            assert!(stats.mean_bits >= 20.0 && stats.min_bits >= 15.0, "{stats}");
            // Two real vectors of n slots in one bootstrapping (the compact softmax refreshes
            // its pieces this way), at the levels and precision of one.
            let (a, b): (Vec<f64>, Vec<f64>) = (0..n).map(|j| (point(j).re, point(j + 1).im)).unzip();
            let [ct_a, ct_b] = [&a, &b]
                .map(|v| encryptor.encrypt(&sparse.encode_real(v, level, params.default_scale()).unwrap()).unwrap());
            let (out_a, out_b) = boot.bootstrap_pair(&eval, &bkeys, &ct_a, &ct_b).unwrap();
            for (out, want) in [(&out_a, &a), (&out_b, &b)] {
                assert_eq!(out.level(), boot.output_level());
                let stats =
                    PrecisionStats::compare_real(want, &sparse.decode_real(&dec.decrypt(out).unwrap()).unwrap());
                eprintln!("a pair of {n} real slots, SlotToCoeff first {slim}: {stats}");
                assert!(stats.mean_bits >= 20.0 && stats.min_bits >= 15.0, "{stats}");
            }
            // Every slot its own value: the mean of the blocks comes out, on n slots.
            let w: Vec<Complex> = (0..params.slots()).map(|j| point(j + 5)).collect();
            let blocks = params.slots() / n;
            let mean: Vec<Complex> = (0..n)
                .map(|j| (0..blocks).fold(Complex::ZERO, |s, k| s + w[j + k * n]).scale(1.0 / blocks as f64))
                .collect();
            let ct = encryptor.encrypt(&full.encode(&w, level, params.default_scale()).unwrap()).unwrap();
            let out = boot.bootstrap(&eval, &bkeys, &ct).unwrap();
            let got = full.decode(&dec.decrypt(&out).unwrap()).unwrap();
            let wanted: Vec<Complex> = (0..params.slots()).map(|j| mean[j % n]).collect();
            let stats = PrecisionStats::compare(&wanted, &got);
            eprintln!("mean of {blocks} blocks, SlotToCoeff first {slim}: {stats}");
            assert!(stats.mean_bits >= 20.0 && stats.min_bits >= 15.0, "{stats}");
        }
        for bad in [0, 3, 1, 2 * params.slots()] {
            assert!(Bootstrapper::with_slots(&params, BootstrapConfig::standard(), bad).is_err(), "{bad} slots");
        }
    }

    /// Without encapsulation under a sparse main key (the old, insecure-at-large-modulus way).
    #[test]
    fn bootstraps_under_a_sparse_main_key() {
        let params = Preset::InsecureBootstrapN12
            .builder()
            .secret(SecretDistribution::SparseTernary { hamming_weight: 32 })
            .build_insecure()
            .unwrap();
        let config = BootstrapConfig { ephemeral_hamming_weight: None, ..BootstrapConfig::standard() };
        let (_, level, stats) = run(&params, config, 3);
        assert_eq!(level, 4);
        assert!(stats.mean_bits >= 20.0, "{stats}");
    }

    /// The ephemeral key lives at the lowest modulus: `q_0` of the main chain and one special
    /// prime, within the sparse-key bound at the secure preset, and only there.
    #[test]
    fn encapsulation_key_lives_at_the_lowest_modulus() {
        let params = Preset::BootstrapN16.build().unwrap();
        assert!(params.log_qp() <= 1747.0, "{}", params.log_qp());
        let enc = params.encapsulation_parameters(32).unwrap();
        assert_eq!((enc.q_basis().len(), enc.p_basis().len()), (1, 1));
        assert_eq!(enc.q_basis().modulus(0).value(), params.q_basis().modulus(0).value());
        assert_eq!(enc.p_basis().modulus(0).value(), params.p_basis().modulus(0).value());
        assert!(enc.log_qp() <= 121.0, "{}", enc.log_qp());
        assert_eq!(enc.security(), crate::security::SecurityLevel::Classical128);
        assert_eq!(enc.secret_distribution(), SecretDistribution::SparseTernary { hamming_weight: 32 });
        // A lighter key is not covered by the bound.
        assert!(params.encapsulation_parameters(16).is_err());

        // The keys a client makes are over exactly those moduli (small parameters: key
        // generation at N = 2^16 is for the benchmark).
        let small = Preset::InsecureBootstrapN12.build().unwrap();
        let boot = Bootstrapper::new(&small, BootstrapConfig::standard()).unwrap();
        let mut kg = KeyGenerator::from_seed(&small, [9; 32]);
        let sk = kg.secret_key().unwrap();
        let mut galois = GaloisKeys::default();
        let keys = boot.generate_keys(&mut kg, &sk, &mut galois).unwrap();
        let to_sparse = keys.to_sparse().unwrap();
        assert_eq!(to_sparse.params().q_basis().len() + to_sparse.params().p_basis().len(), 2);
        assert_eq!(to_sparse.dnum(), 1);
        assert_eq!(keys.to_dense().unwrap().params(), &small);
        assert_eq!(galois.elements().count(), boot.galois_elements().len());
        // The plan (what a client keeps after dropping the circuit) lists the same keys and
        // makes the same ones from the same seed.
        let plan = boot.key_plan();
        assert_eq!(plan.galois_elements(), boot.galois_elements());
        drop(boot);
        let mut kg2 = KeyGenerator::from_seed(&small, [9; 32]);
        let sk2 = kg2.secret_key().unwrap();
        let mut galois2 = GaloisKeys::default();
        plan.generate_keys(&mut kg2, &sk2, &mut galois2).unwrap();
        assert_eq!(galois.to_bytes(&small).unwrap(), galois2.to_bytes(&small).unwrap());
        // Files: the keys come back over the same moduli; other parameters are refused.
        let bytes = keys.to_bytes(&small).unwrap();
        let back = BootstrapKeys::from_bytes(&small, &bytes).unwrap();
        assert_eq!(back.size_bytes(), keys.size_bytes());
        assert_eq!(back.to_sparse().unwrap().params().q_basis().len(), 1);
        let other = Preset::InsecureTestN12.build().unwrap();
        assert!(BootstrapKeys::from_bytes(&other, &bytes).is_err());
        assert!(BootstrapKeys::from_bytes(&small, &bytes[..bytes.len() / 2]).is_err());
    }

    /// The contract of the secure preset: 12 levels left, K = 16 under h = 32, negligible
    /// failure probability.
    #[test]
    fn contract_of_the_secure_preset() {
        let params = Preset::BootstrapN16.build().unwrap();
        let config = BootstrapConfig::standard();
        assert_eq!(params.max_level() - config.depth(), 12);
        // Building the circuit at N = 2^16 encodes ~100 diagonals of 2^15 slots: a few seconds.
        let boot = Bootstrapper::new(&params, config).unwrap();
        let c = boot.contract();
        assert_eq!((c.output_level, c.depth, c.slots, c.k), (12, 15, 1 << 15, 16));
        assert!(c.log2_failure_probability < -40.0, "{c}");
        // Strided BSGS with double hoisting: at most 4 giant steps (full key switches) and 18
        // rotations per DFT matrix, about 50 Galois keys.
        for t in boot.coeff_to_slot.transforms().iter().chain(boot.slot_to_coeff.transforms()) {
            assert!(t.giant_steps() <= 4, "{} giant steps at level {}", t.giant_steps(), t.level());
            assert!(t.rotations().len() <= 18, "{} rotations at level {}", t.rotations().len(), t.level());
        }
        assert!(boot.galois_elements().len() <= 50, "{}", boot.galois_elements().len());
        eprintln!("{c}; {} Galois keys", boot.galois_elements().len());
    }

    #[test]
    fn rejects_a_scale_too_large_for_q0() {
        let params = Preset::InsecureBootstrapN12.build().unwrap();
        let boot = Bootstrapper::new(&params, BootstrapConfig::standard()).unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [5; 32]);
        let sk = kg.secret_key().unwrap();
        let keys = Arc::new(kg.evaluation_keys(&sk, &[], false).unwrap());
        let eval = Evaluator::new(keys.clone());
        let pt = Encoder::new(&params).encode_real(&[0.5], 0, 2f64.powi(56)).unwrap();
        let ct = Encryptor::from_seed(&keys.public, [6; 32]).encrypt(&pt).unwrap();
        let err = boot.bootstrap(&eval, &BootstrapKeys::none(), &ct).unwrap_err();
        assert!(matches!(err, SchemeError::InvalidScale { .. }), "{err}");
        // Missing encapsulation keys are named.
        let ok = Encoder::new(&params).encode_real(&[0.5], 0, params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&keys.public, [7; 32]).encrypt(&ok).unwrap();
        let err = boot.bootstrap(&eval, &BootstrapKeys::none(), &ct).unwrap_err();
        assert!(err.to_string().contains("dense-to-sparse"), "{err}");
    }
}

#[cfg(test)]
mod stage_tests {
    use super::*;
    use crate::{Complex, Decryptor, Encoder, Encryptor, KeyGenerator, PrecisionStats, Preset};
    use std::sync::Arc;

    /// Stage by stage against f64 (with the secret key): where the precision goes.
    #[test]
    fn stage_precision() {
        let params = Preset::InsecureBootstrapN12
            .builder()
            .secret(SecretDistribution::SparseTernary { hamming_weight: 32 })
            .build_insecure()
            .unwrap();
        let config = BootstrapConfig { ephemeral_hamming_weight: None, ..BootstrapConfig::standard() };
        let boot = Bootstrapper::new(&params, config).unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [3; 32]);
        let sk = kg.secret_key().unwrap();
        let mut keys = kg.evaluation_keys(&sk, &[], false).unwrap();
        boot.generate_keys(&mut kg, &sk, &mut keys.galois).unwrap();
        let keys = Arc::new(keys);
        let eval = Evaluator::new(keys.clone());
        let enc = Encoder::new(&params);
        let dec = Decryptor::new(&sk);
        let look = |ct: &Ciphertext| enc.decode(&dec.decrypt(ct).unwrap()).unwrap();
        let n = params.slots();
        let z: Vec<Complex> = (0..n).map(|j| Complex::new((j as f64 * 0.1).sin(), (j as f64 * 0.3).cos())).collect();
        let pt = enc.encode(&z, 0, params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&keys.public, [4; 32]).encrypt(&pt).unwrap();
        let q0 = params.q_basis().modulus(0).value() as f64;
        let mut raised = mod_raise(&ct).unwrap();
        raised.set_scale(q0);
        let r = look(&raised);
        let w = boot.coeff_to_slot.apply(&eval, &raised).unwrap();
        let want = boot.coeff_to_slot.apply_plain(&r).unwrap();
        let cts = PrecisionStats::compare(&want, &look(&w));
        eprintln!("CtS: {cts}");
        assert!(cts.min_bits >= 40.0, "CoeffToSlot {cts}");
        let w_conj = eval.conjugate(&w).unwrap();
        let x = eval.add(&w, &w_conj).unwrap();
        let want_x: Vec<Complex> = want.iter().map(|v| Complex::new(2.0 * v.re, 0.0)).collect();
        eprintln!("x: {}", PrecisionStats::compare(&want_x, &look(&x)));
        let fx = boot.eval_mod.evaluate(&eval, &x).unwrap();
        let want_fx: Vec<Complex> =
            want_x.iter().map(|v| Complex::new((2.0 * PI * v.re * (config_k(&boot) + 1.0)).sin(), 0.0)).collect();
        let got_fx = look(&fx);
        eprintln!(
            "EvalMod: {} (scale 2^{:.2}, level {})",
            PrecisionStats::compare(&want_fx, &got_fx),
            fx.scale().log2(),
            fx.level()
        );
        let plain_fx: Vec<Complex> = want_x.iter().map(|v| Complex::new(boot.eval_mod.eval_plain(v.re), 0.0)).collect();
        let em = PrecisionStats::compare(&plain_fx, &got_fx);
        eprintln!("EvalMod vs its f64 mirror: {em}");
        // Absolute error: sin(2 pi x) of the small part is about 2 pi t / q_0 ~ 2^-11 here.
        assert!(em.min_bits >= 32.0, "EvalMod {em}");
    }

    fn config_k(b: &Bootstrapper) -> f64 {
        b.config.k as f64
    }
}
