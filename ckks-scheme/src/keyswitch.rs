//! Hybrid key switching (Han-Ki, eprint 2019/688).
//!
//! A [`SwitchingKey`] from `s'` to `s` holds, for every digit `j` (a range of consecutive
//! primes of `Q` whose product stays below `P`, [`Parameters::digits`]), a pair over `Q * P`:
//!
//! ```text
//! (b_j, a_j),   b_j = -a_j * s + e_j + P * g_j * s'     (mod Q * P)
//! ```
//!
//! where `g_j = 1 mod q_i` for the primes `q_i` of digit `j` and `0 mod` every other prime of
//! `Q`. Switching `c` (modulo `Q_l`) computes, per digit, `c_j = [c]_{Q_j}` raised to
//! `Q_l * P` (ModUp, fast basis conversion), the inner products
//! `(sum_j c_j * b_j, sum_j c_j * a_j)` over `Q_l * P`, and divides both by `P` (ModDown):
//! the result `(d_0, d_1)` satisfies `d_0 + d_1 * s = c * s' + e_ks` with a small `e_ks`.
//!
//! Cost at level `l` with `d = digits_at(l)` digits ([`Parameters::digits_at`]) and `alpha`
//! special primes: `d` fast conversions, about
//! `d * (l + 1 + alpha)` forward NTTs, `2 * d * (l + 1 + alpha)` pointwise products, and the
//! ModDown (`2 * alpha` inverse and `2 * (l+1)` forward NTTs). No level is consumed.
//!
//! # Hoisted and lazy key switching
//!
//! [`SwitchingKey::switch`] does the three steps at once. Circuits that switch one
//! polynomial under many keys, or sum many switched results, run them apart (as Lattigo's
//! `GadgetProductHoistedLazy` and `ModDown`):
//!
//! 1. **Decompose once** ([`Decomposition::new`]): ModUp of `c`, shared by every key and every
//!    automorphism `sigma_k` of `c` (hoisting).
//! 2. **Inner products over `Q_l * P`, no ModDown**: [`SwitchingKey::switch_lazy`] gives the
//!    pair of [`ExtendedPoly`]s `(acc_0, acc_1)` with `acc_0 + acc_1 s = P sigma_k(c) s' + e`
//!    (mod `Q_l P`); [`SwitchingKey::limb_products`] gives the same limb by limb, to be
//!    computed block by block ([`LimbProduct::compute`]) and consumed while in cache.
//!    [`p_times_block`] gives the matching blocks of `P u` for a polynomial `u` that needs no
//!    key switching (the rotation by 0).
//! 3. **Accumulate** over `Q_l * P` ([`ExtendedPoly::add_assign`], optionally through an
//!    automorphism) and **ModDown once** ([`ExtendedPoly::mod_down`]): the sum of `n`
//!    switched results costs one ModDown instead of `n`, and its rounding error is that of
//!    one.
//!
//! Lazy ranges: a [`Decomposition`] holds values in `[0, 4q)` (lazy forward NTTs); keys,
//! [`ExtendedPoly`] limbs and every output are reduced, in `[0, q)` for the limb's prime `q`.
//! Automorphisms are the NTT-domain gather tables of [`Parameters::galois_table`].
//!
//! The per-level basis-conversion constants (`LevelKeySwitch`) are built on first use and
//! cached in the parameters' type-erased per-level slots ([`Parameters`] names no type of
//! this module; this module depends on the parameters, not the other way round).

use crate::{Parameters, SchemeError};
use ckks_math::parallel::zeroed;
use ckks_math::rns::key_product::{KeyProduct, Source};
use ckks_math::rns::sub_scale::sub_scale;
use ckks_math::{BasisConverter, MathError, ModUpDown, Modulus, Representation, RnsBasis, RnsPoly};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Arc;

/// Where a converted limb goes: a prime of `Q` (by index) or of `P`.
#[derive(Clone, Copy, Debug)]
enum Target {
    Q(usize),
    P(usize),
}

/// ModUp constants of one digit at one level.
#[derive(Debug)]
struct DigitUp {
    /// The digit's primes are `q_start..q_end` (clipped to the level).
    start: usize,
    end: usize,
    conv: BasisConverter,
    targets: Vec<Target>,
}

/// Basis-conversion constants of key switching at one level: built once per parameter set
/// and level, on first use, and kept in the parameters' per-level cache
/// ([`LevelKeySwitch::of`]).
#[derive(Debug)]
struct LevelKeySwitch {
    digits: Vec<DigitUp>,
    down: ModUpDown,
    /// `[P]_{q_i}` and Shoup, for `i <= l`: lifts a `Q_l` polynomial to `P` times itself over
    /// `Q_l * P` (its `P` limbs are zero).
    p_mod_q: Vec<(u64, u64)>,
    /// ModDown fused with a rescale (level >= 1): see [`FusedDown`].
    fused: Option<FusedDown>,
}

/// Constants of "ModDown then rescale" in one division by `P * q_l` (level `l >= 1`):
/// from `E` over `Q_l * P` to `round(E / (P q_l))` over `Q_{l-1}`.
#[derive(Debug)]
struct FusedDown {
    /// `[p_0, ..., p_{alpha-1}, q_l]` -> `[q_0, ..., q_{l-1}]`, exact centered conversion.
    conv: BasisConverter,
    /// `(P q_l)^-1 mod q_i` and Shoup, for `i < l`.
    inv: Vec<(u64, u64)>,
}

impl LevelKeySwitch {
    /// The constants of `params` at `level`, from the parameters' per-level cache (built on
    /// first use). Errors above the top level.
    fn of(params: &Parameters, level: usize) -> Result<&LevelKeySwitch, SchemeError> {
        params
            .level_cache(level, || Ok(LevelKeySwitch::new(params.q_basis(), params.p_basis(), params.digits(), level)?))
    }

    fn new(q: &Arc<RnsBasis>, p: &Arc<RnsBasis>, key_digits: &[Range<usize>], level: usize) -> Result<Self, MathError> {
        let alpha = p.len();
        let limbs = level + 1;
        let mut digits = Vec::new();
        for range in key_digits.iter().take_while(|d| d.start < limbs) {
            let (start, end) = (range.start, range.end.min(limbs));
            let mut targets: Vec<Target> = (0..limbs).filter(|i| !(start..end).contains(i)).map(Target::Q).collect();
            targets.extend((0..alpha).map(Target::P));
            let to: Vec<_> = targets
                .iter()
                .map(|t| match *t {
                    Target::Q(i) => *q.modulus(i),
                    Target::P(j) => *p.modulus(j),
                })
                .collect();
            let conv = BasisConverter::new(&q.moduli()[start..end], &to)?;
            digits.push(DigitUp { start, end, conv, targets });
        }
        let p_mod_q: Vec<(u64, u64)> = q.moduli()[..limbs]
            .iter()
            .map(|qi| {
                let v = qi.product_of(p.moduli());
                (v, qi.shoup(v))
            })
            .collect();
        let fused = if level >= 1 {
            let mut from: Vec<_> = p.moduli().to_vec();
            from.push(*q.modulus(level));
            let conv = BasisConverter::new(&from, &q.moduli()[..level])?;
            let ql = q.modulus(level).value();
            let inv = (0..level)
                .map(|i| {
                    let qi = q.modulus(i);
                    let v = qi.mul(p_mod_q[i].0, qi.reduce(ql));
                    let inv = qi.inv(v).expect("coprime primes");
                    (inv, qi.shoup(inv))
                })
                .collect();
            Some(FusedDown { conv, inv })
        } else {
            None
        };
        Ok(Self { digits, down: ModUpDown::new(q, limbs, p)?, p_mod_q, fused })
    }
}

/// One digit of a switching key as key generation and deserialisation produce it:
/// `(b_j, a_j)` over the key's primes of `Q` and over `P`, NTT form.
#[derive(Clone, Debug)]
pub(crate) struct KeyDigit {
    pub(crate) b_q: RnsPoly,
    pub(crate) b_p: RnsPoly,
    pub(crate) a_q: RnsPoly,
    pub(crate) a_p: RnsPoly,
    /// `(a_q, a_p)` is the expansion of this seed.
    pub(crate) a_seed: [u8; 32],
}

/// A key that switches ciphertext components from a secret `s'` to the secret `s`
/// (relinearization: `s' = s^2`; rotation by Galois element `k`: `s' = s(X^k)`).
///
/// Public: it reveals nothing about `s` or `s'` under RLWE. Size: `2 * dnum * (L + 1 + alpha)`
/// limbs of `N` words.
///
/// Layout: per limb `t` of `Q * P` (the key's primes of `Q`, then `P`), `N` groups of
/// `2 * dnum` words `b_0[c], a_0[c], b_1[c], a_1[c], ...`. The inner product of key switching
/// then reads one sequential stream of key words per limb instead of `2 * dnum` interleaved
/// ones: on a 2-core Zen 3 VM the digit-major layout ran at 54 ms against 17 ms for this one
/// (`N = 2^15`, 35 limbs, 5 digits, keys in RAM), since one core reads one stream at 5-8 GB/s
/// and a dozen at 1.4-4 GB/s.
#[derive(Clone, Debug)]
pub struct SwitchingKey {
    pub(crate) params: Parameters,
    /// Primes of `Q` covered (`max_level + 1`).
    limbs: usize,
    /// The seed of each `a_j` (what files store instead of `a_j`), one per digit stored
    /// ([`Parameters::digits_at`] the key's top level): their number is the key's `dnum`.
    seeds: Vec<[u8; 32]>,
    /// `limbs + alpha` limbs of `N * 2 * dnum` words (see the layout above).
    packed: Vec<Vec<u64>>,
}

impl SwitchingKey {
    /// Packs the digits (all over the same primes of `Q`, at least one) into the inner
    /// product's layout.
    pub(crate) fn from_digits(params: Parameters, digits: Vec<KeyDigit>) -> Result<Self, SchemeError> {
        let bad = |reason: String| SchemeError::InvalidParameters { reason };
        let first = digits.first().ok_or_else(|| bad("switching key without digits".into()))?;
        let (limbs, alpha, n) = (first.b_q.limbs(), params.alpha(), params.degree());
        if digits.len() != params.digits_at(limbs - 1) {
            return Err(bad(format!("switching key over {limbs} primes has {} digits", digits.len())));
        }
        if let Some(d) = digits.iter().find(|d| {
            d.a_q.limbs() != limbs || d.b_q.limbs() != limbs || d.b_p.limbs() != alpha || d.a_p.limbs() != alpha
        }) {
            return Err(bad(format!(
                "switching key digits over different primes: {} / {} limbs of Q, {} / {} of P",
                d.b_q.limbs(),
                d.a_q.limbs(),
                d.b_p.limbs(),
                d.a_p.limbs()
            )));
        }
        let dnum = digits.len();
        let packed = (0..limbs + alpha)
            .into_par_iter()
            .map(|t| {
                let mut v = vec![0u64; n * 2 * dnum];
                for (j, d) in digits.iter().enumerate() {
                    let (b, a) = if t < limbs {
                        (d.b_q.limb(t), d.a_q.limb(t))
                    } else {
                        (d.b_p.limb(t - limbs), d.a_p.limb(t - limbs))
                    };
                    for ((g, &bc), &ac) in v.chunks_exact_mut(2 * dnum).zip(b).zip(a) {
                        g[2 * j] = bc;
                        g[2 * j + 1] = ac;
                    }
                }
                v
            })
            .collect();
        let seeds = digits.iter().map(|d| d.a_seed).collect();
        Ok(Self { params, limbs, seeds, packed })
    }

    /// The parameters the key was made for.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// Number of digits (`dnum`).
    pub fn dnum(&self) -> usize {
        self.seeds.len()
    }

    /// The highest level the key switches at: the top of the chain, or lower after
    /// [`SwitchingKey::truncate`].
    pub fn max_level(&self) -> usize {
        self.limbs - 1
    }

    /// The key material, for tests that compare keys.
    #[cfg(test)]
    pub(crate) fn packed(&self) -> &[Vec<u64>] {
        &self.packed
    }

    /// The seed of `a_j`.
    pub(crate) fn seed(&self, j: usize) -> [u8; 32] {
        self.seeds[j]
    }

    /// The words of `b_j` over the key's primes of `Q` (`over_p = false`, limb-major) or over
    /// `P`, with their number: the digit-major form that files store.
    pub(crate) fn b_words(&self, j: usize, over_p: bool) -> (usize, impl Iterator<Item = u64> + '_) {
        let (first, count) = if over_p { (self.limbs, self.params.alpha()) } else { (0, self.limbs) };
        let stride = 2 * self.dnum();
        let words = self.packed[first..first + count]
            .iter()
            .flat_map(move |limb| limb.iter().skip(2 * j).step_by(stride).copied());
        (count * self.params.degree(), words)
    }

    /// Keeps only what switching at levels `<= level` reads: the first `level + 1` primes of
    /// `Q` and the [`Parameters::digits_at`] digits covering them. A key used only low in the
    /// chain (SlotToCoeff's rotations in bootstrapping) shrinks to
    /// `2 * digits_at(level) * (level + 1 + alpha)` limbs. Using it higher is an
    /// [`SchemeError::OutOfLevels`] error. No-op if `level >= max_level()`.
    pub fn truncate(&mut self, level: usize) -> Result<(), SchemeError> {
        if level >= self.max_level() {
            return Ok(());
        }
        let limbs = level + 1;
        let dnum = self.params.digits_at(level);
        self.packed.drain(limbs..self.limbs);
        if dnum < self.dnum() {
            let (old, new) = (2 * self.dnum(), 2 * dnum);
            self.packed.par_iter_mut().for_each(|v| {
                let kept: Vec<u64> = v.chunks_exact(old).flat_map(|g| g[..new].iter().copied()).collect();
                *v = kept;
            });
        }
        self.seeds.truncate(dnum);
        self.limbs = limbs;
        Ok(())
    }

    /// Size in bytes of the key material.
    pub fn size_bytes(&self) -> usize {
        self.packed.iter().map(|v| 8 * v.len()).sum()
    }

    /// Switches `c` (NTT form, over the first `l + 1` primes of `Q`) from `s'` to `s`:
    /// returns `(d_0, d_1)` with `d_0 + d_1 * s = c * s' + e_ks` (mod `Q_l`), both NTT form.
    pub fn switch(&self, c: &RnsPoly) -> Result<(RnsPoly, RnsPoly), SchemeError> {
        let d = Decomposition::new(&self.params, c)?;
        self.switch_decomposed(&d, None)
    }

    /// The inner product and ModDown of key switching on a [`Decomposition`]; with `perm` (an
    /// NTT-domain automorphism table) it switches `sigma_k(c)` instead of `c`, reading the
    /// decomposition through the permutation. This is what hoisting shares between rotations:
    /// `sigma_k` commutes with ModUp up to the multiple of `Q_j` that key switching absorbs.
    pub fn switch_decomposed(
        &self,
        d: &Decomposition,
        perm: Option<&[usize]>,
    ) -> Result<(RnsPoly, RnsPoly), SchemeError> {
        let (acc0, acc1) = self.inner_products(d, perm, [None, None])?;
        Ok((mod_down(&self.params, d.level, acc0)?, mod_down(&self.params, d.level, acc1)?))
    }

    /// The gadget product of key switching without its ModDown (hoisted and lazy): for the
    /// decomposition `x_j` of `c` at level `l` and the key's digits `(b_j, a_j)`,
    ///
    /// ```text
    /// acc_0 = sum_j sigma(x_j) b_j,   acc_1 = sum_j sigma(x_j) a_j      (mod Q_l * P)
    /// ```
    ///
    /// with `sigma` the automorphism whose NTT-domain table is `perm`
    /// ([`Parameters::galois_table`]; the identity when `None`). Then
    /// `acc_0 + acc_1 s = P sigma(c) s' + e_ks` (mod `Q_l P`): sums of such pairs (and of `P u`
    /// for polynomials `u` that need no switching) are divided by `P` once,
    /// [`ExtendedPoly::mod_down`], which gives what [`SwitchingKey::switch_decomposed`] gives.
    ///
    /// Cost: `2 * dnum_l * (l + 1 + alpha) * N` modular products (`dnum_l` =
    /// [`Parameters::digits_at`] `l`), one reduction per output word, no NTT. Level: the
    /// decomposition's, no level consumed. Output reduced, in `[0, q)`. Errors if the key does
    /// not reach the decomposition's level (a truncated key), if the decomposition is not of
    /// the key's parameters, or if `perm` does not have `N` entries.
    pub fn switch_lazy(
        &self,
        d: &Decomposition,
        perm: Option<&[usize]>,
    ) -> Result<(ExtendedPoly, ExtendedPoly), SchemeError> {
        let (acc0, acc1) = self.inner_products(d, perm, [None, None])?;
        let extended = |data| ExtendedPoly { params: self.params.clone(), level: d.level, data };
        Ok((extended(acc0), extended(acc1)))
    }

    /// Key switching of `c` fused with the rescale that follows a relinearization: returns
    /// `(round((P c0 + acc_0) / (P q_l)), round((P c1 + acc_1) / (P q_l)))` over `Q_{l-1}`,
    /// where `(acc_0, acc_1)` is the inner product of the decomposition of `c` with the key.
    /// This equals `rescale(c0 + d0, c1 + d1)` up to rounding, with one division instead of
    /// two: the ModDown's `alpha` limbs and the rescale's limb `q_l` are converted together,
    /// saving `l` forward and one inverse NTT per component. Needs level `l >= 1`.
    ///
    /// `c`, `c0`, `c1`: NTT form over `Q_l`, reduced; output NTT form over `Q_{l-1}`, reduced.
    /// Cost: a [`Decomposition`], the inner products with the lifts folded in, and per
    /// component `alpha + 1` inverse and `l` forward NTTs with one exact basis conversion.
    /// Errors: level 0 ([`SchemeError::OutOfLevels`]), a key that does not reach level `l`,
    /// `c0` or `c1` not at `c`'s level in NTT form.
    pub fn switch_add_rescale(
        &self,
        c: &RnsPoly,
        c0: &RnsPoly,
        c1: &RnsPoly,
    ) -> Result<(RnsPoly, RnsPoly), SchemeError> {
        let params = &self.params;
        let d = Decomposition::new(params, c)?;
        let ks = LevelKeySwitch::of(params, d.level)?;
        let fused = ks.fused.as_ref().ok_or(SchemeError::OutOfLevels { op: "rescale", level: 0, needed: 1 })?;
        let (acc0, acc1) = self.inner_products(&d, None, [Some(c0), Some(c1)])?;
        Ok((fused_down(params, fused, d.level, acc0)?, fused_down(params, fused, d.level, acc1)?))
    }

    /// `(sum_j x_j b_j + P u_0, sum_j x_j a_j + P u_1)` over `Q_l * P` (limb-major, `Q_l` limbs
    /// then `P`), with `x_j` (and the `u_i`) read through `perm` when given. The lifts `u_0`,
    /// `u_1` (NTT form over `Q_l`, zero when absent; `u_1` only with `u_0`) are how ciphertext
    /// components that need no key switching join the result before ModDown; `P u` vanishes
    /// modulo `P`, so they are one more term of the `Q_l` limbs' sums.
    fn inner_products(
        &self,
        d: &Decomposition,
        perm: Option<&[usize]>,
        lift: [Option<&RnsPoly>; 2],
    ) -> Result<(Vec<u64>, Vec<u64>), SchemeError> {
        let n = self.params.degree();
        if perm.is_some_and(|perm| perm.len() != n) {
            return Err(SchemeError::InvalidParameters {
                reason: format!(
                    "key switch: an automorphism table of {} entries for N = {n}",
                    perm.map_or(0, <[usize]>::len)
                ),
            });
        }
        let limbs = self.limb_products(d, lift)?;
        let mut acc0 = zeroed(limbs.len() * n, n);
        let mut acc1 = zeroed(limbs.len() * n, n);
        acc0.par_chunks_exact_mut(n)
            .zip(acc1.par_chunks_exact_mut(n))
            .zip(limbs.par_iter())
            .for_each(|((o0, o1), limb)| limb.compute(perm, 0..n, o0, o1));
        Ok((acc0, acc1))
    }

    /// The inner products of [`SwitchingKey::switch_lazy`] split by limb of `Q_l * P`
    /// (`Q_l` limbs, then `P`: element `t` is limb `t` of the result), to be computed block by
    /// block ([`LimbProduct::compute`]): hoisted linear transforms consume each block of a
    /// rotation while it is in cache instead of writing the whole rotation out.
    ///
    /// With lifts `u_0`, `u_1` (NTT form over `Q_l`, reduced; `u_1` only with `u_0`), limb `t`
    /// computes `(sum_j x_j b_j + [P]_t u_0, sum_j x_j a_j + [P]_t u_1)`: `P u` is zero modulo
    /// the primes of `P`, so a component that needs no switching joins the sum before the
    /// ModDown (`[P]_t = P mod q_t`). Building the list costs nothing but bookkeeping (no
    /// arithmetic); the cost is in [`LimbProduct::compute`]. Level: the decomposition's.
    /// Errors if the key does not reach the decomposition's level, if the decomposition is not
    /// of the key's parameters, or if a lift is not at that level in NTT form.
    pub fn limb_products<'a>(
        &'a self,
        d: &'a Decomposition,
        lift: [Option<&'a RnsPoly>; 2],
    ) -> Result<Vec<LimbProduct<'a>>, SchemeError> {
        if d.level > self.max_level() {
            return Err(SchemeError::OutOfLevels {
                op: "key switch (truncated key)",
                level: self.max_level(),
                needed: d.level,
            });
        }
        if let Some(u) =
            lift.iter().flatten().find(|u| u.level() != d.level || u.representation() != Representation::Ntt)
        {
            return Err(SchemeError::LevelMismatch { op: "key switch (lift)", left: d.level, right: u.level() });
        }
        let params = &self.params;
        let (q, p) = (params.q_basis(), params.p_basis());
        let n = params.degree();
        let limbs = d.level + 1;
        if d.digits.len() != params.digits_at(d.level) || d.digits.iter().any(|x| x.len() != (limbs + p.len()) * n) {
            return Err(SchemeError::ParameterMismatch {
                op: "key switch",
                detail: "the decomposition is not of the key's parameters".into(),
            });
        }
        let p_mod_q = &LevelKeySwitch::of(params, d.level)?.p_mod_q;
        Ok((0..limbs + p.len())
            .map(|t| {
                // Limb t of the extended basis Q_l * P: key limb t of Q, or limb t - limbs of P.
                let (m, key) = if t < limbs {
                    (q.modulus(t), &self.packed[t])
                } else {
                    (p.modulus(t - limbs), &self.packed[self.limbs + t - limbs])
                };
                let lifts = if t < limbs { lift.map(|u| u.map(|u| (u.limb(t), p_mod_q[t].0))) } else { [None, None] };
                LimbProduct {
                    m,
                    xs: d.digits.iter().map(|dig| &dig[t * n..(t + 1) * n]).collect(),
                    key,
                    stride: 2 * self.dnum(),
                    lifts,
                }
            })
            .collect())
    }
}

/// One limb of a key switch's inner products (see [`SwitchingKey::limb_products`]): the
/// decomposition's digits, the packed key and the lifted components at that limb.
pub struct LimbProduct<'a> {
    m: &'a Modulus,
    xs: Vec<&'a [u64]>,
    key: &'a [u64],
    stride: usize,
    lifts: [Option<(&'a [u64], u64)>; 2],
}

impl LimbProduct<'_> {
    /// Coefficients `range` of this limb's `(sum_j x_j b_j + [P] u_0, sum_j x_j a_j + [P] u_1)`
    /// into `o0`, `o1` (of `range.len()` words), with coefficient `c` reading the digits and
    /// lifts at `perm[c]` (`perm`: the NTT-domain table of the automorphism of a rotation,
    /// [`Parameters::galois_table`]) or at `c`.
    ///
    /// Ranges: digits in `[0, 4q)`, key and lifts in `[0, q)`; the sums are accumulated
    /// unreduced in `u128` (up to 16 digits per reduction) and the outputs are reduced, in
    /// `[0, q)`. Cost: `2 * dnum_l * range.len()` products and `2 * range.len()` reductions.
    ///
    /// Panics if `range` is not within `0..N`, if `o0` or `o1` is not `range.len()` words
    /// long, or if `perm` has fewer than `range.end` entries.
    pub fn compute(&self, perm: Option<&[usize]>, range: Range<usize>, o0: &mut [u64], o1: &mut [u64]) {
        assert!(
            o0.len() == range.len() && o1.len() == range.len(),
            "LimbProduct::compute: output blocks of another length"
        );
        let key = &self.key[range.start * self.stride..range.end * self.stride];
        let src = match perm {
            Some(perm) => Source::Perm(&perm[range]),
            None => Source::Offset(range.start),
        };
        KeyProduct { m: self.m, xs: &self.xs, key, stride: self.stride, src, lifts: self.lifts }.compute(o0, o1);
    }
}

/// Coefficients `range` of limb `t` of `P c` over `Q_l * P` (`c` over `Q_l`, NTT form, reduced,
/// `l` its level) into `out`: `[P]_{q_t} c_t` for a limb of `Q_l`, zero for a limb of `P`
/// (`t > l`). The term of a polynomial that needs no key switching in a lazy sum (the baby
/// step of rotation 0 in a hoisted linear transform), the counterpart of
/// [`LimbProduct::compute`] for the identity key.
///
/// Output reduced, in `[0, q_t)`; cost one Shoup product per coefficient. Errors if `c`'s
/// level is above the top of the chain. Panics if `range` is not within `0..N` or `out` is
/// shorter than `range.len()` (only the first `range.len()` words are written).
pub fn p_times_block(
    params: &Parameters,
    c: &RnsPoly,
    t: usize,
    range: Range<usize>,
    out: &mut [u64],
) -> Result<(), SchemeError> {
    let level = c.level();
    if t > level {
        out.fill(0);
        return Ok(());
    }
    let (w, ws) = LevelKeySwitch::of(params, level)?.p_mod_q[t];
    let m = params.q_basis().modulus(t);
    for (o, &y) in out.iter_mut().zip(&c.limb(t)[range]) {
        *o = m.mul_shoup(y, w, ws);
    }
    Ok(())
}

/// ModDown of one extended-basis polynomial at `level`: `round(acc / P)` over `Q_l` (NTT
/// form), for `acc` over `Q_l * P` (limb-major, reduced, NTT form).
fn mod_down(params: &Parameters, level: usize, mut acc: Vec<u64>) -> Result<RnsPoly, SchemeError> {
    let (q, p) = (params.q_basis(), params.p_basis());
    let limbs = level + 1;
    let acc_p = acc.split_off(limbs * params.degree());
    let mut d = RnsPoly::from_data(q, limbs, Representation::Ntt, acc)?;
    LevelKeySwitch::of(params, level)?
        .down
        .mod_down(&mut d, RnsPoly::from_data(p, p.len(), Representation::Ntt, acc_p)?)?;
    Ok(d)
}

/// A polynomial over the extended basis `Q_l * P` in NTT form: a key-switching result before
/// its ModDown ([`SwitchingKey::switch_lazy`]), or a sum of such results.
///
/// Layout: limb-major, `l + 1` limbs of `N` words for `q_0..q_l`, then `alpha` limbs for the
/// primes of `P` ([`ExtendedPoly::data`]); every word reduced, in `[0, q)` for its limb's
/// prime. Memory: `(l + 1 + alpha) * N` words.
#[derive(Clone, Debug)]
pub struct ExtendedPoly {
    params: Parameters,
    level: usize,
    data: Vec<u64>,
}

impl ExtendedPoly {
    /// The zero polynomial over `Q_level * P`. Errors above the top of the chain.
    pub fn zero(params: &Parameters, level: usize) -> Result<Self, SchemeError> {
        if level > params.max_level() {
            return Err(SchemeError::OutOfLevels {
                op: "ExtendedPoly::zero",
                level: params.max_level(),
                needed: level,
            });
        }
        let words = (level + 1 + params.alpha()) * params.degree();
        Ok(Self { params: params.clone(), level, data: zeroed(words, params.degree()) })
    }

    /// The level `l` of its `Q_l` part.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The parameters it is over.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// The words, limb-major: `l + 1` limbs of `Q_l`, then `alpha` of `P`, `N` words each.
    pub fn data(&self) -> &[u64] {
        &self.data
    }

    /// The words, to write (limb-major as [`ExtendedPoly::data`]). Writers keep every word
    /// reduced modulo its limb's prime: the other operations rely on it.
    pub fn data_mut(&mut self) -> &mut [u64] {
        &mut self.data
    }

    /// `self += other` limb by limb over `Q_l * P`, or `self += sigma(other)` with `perm` the
    /// NTT-domain table of the automorphism `sigma` ([`Parameters::galois_table`], the same
    /// for every prime): `self[t][c] += other[t][perm[c]]`. Both reduced, result reduced
    /// (`[0, q)`). Cost: `(l + 1 + alpha) * N` modular additions, in parallel over the limbs;
    /// no level consumed. Errors if the two are not over the same parameters and level, or if
    /// `perm` does not have `N` entries.
    pub fn add_assign(&mut self, other: &ExtendedPoly, perm: Option<&[usize]>) -> Result<(), SchemeError> {
        const OP: &str = "ExtendedPoly::add_assign";
        self.params.check_same(OP, &other.params)?;
        if self.level != other.level {
            return Err(SchemeError::LevelMismatch { op: OP, left: self.level, right: other.level });
        }
        let n = self.params.degree();
        if let Some(perm) = perm.filter(|perm| perm.len() != n) {
            return Err(SchemeError::InvalidParameters {
                reason: format!("{OP}: an automorphism table of {} entries for N = {n}", perm.len()),
            });
        }
        let (q, p) = (self.params.q_basis(), self.params.p_basis());
        let limbs = self.level + 1;
        self.data.par_chunks_exact_mut(n).zip(other.data.par_chunks_exact(n)).enumerate().for_each(|(t, (x, y))| {
            let m = if t < limbs { q.modulus(t) } else { p.modulus(t - limbs) };
            match perm {
                Some(perm) => x.iter_mut().zip(perm).for_each(|(u, &s)| *u = m.add(*u, y[s])),
                None => x.iter_mut().zip(y).for_each(|(u, &v)| *u = m.add(*u, v)),
            }
        });
        Ok(())
    }

    /// ModDown: `round(self / P)` over `Q_l`, NTT form, reduced. For a sum of lazy key-switching
    /// results this completes the key switch: `d_0 + d_1 s = sigma(c) s' + e_ks` (mod `Q_l`)
    /// for the pair. Cost: `alpha` inverse NTTs, a fast basis conversion from `P` to `Q_l`,
    /// `l + 1` forward NTTs and `(l + 1) * N` Shoup products. Level `l` is kept (nothing is
    /// consumed; the division by `P` only removes the special primes).
    pub fn mod_down(self) -> Result<RnsPoly, SchemeError> {
        mod_down(&self.params, self.level, self.data)
    }
}

/// `round(E / (P q_l))` over `Q_{l-1}` for `E` over `Q_l * P` (NTT, limb-major; key
/// switching's inner product with the lifted component `P c` already added): the `P` limbs
/// and limb `q_l` of `E` are taken to the coefficient domain, converted exactly (centered) to
/// `Q_{l-1}`, and subtracted: `(E - [E]_{P q_l}) * (P q_l)^-1 mod q_i`.
fn fused_down(params: &Parameters, f: &FusedDown, level: usize, mut acc: Vec<u64>) -> Result<RnsPoly, SchemeError> {
    let (q, p) = (params.q_basis(), params.p_basis());
    let n = params.degree();
    let (limbs, alpha) = (level + 1, p.len());
    // Source limbs [P..., q_l] in coefficient form.
    let mut src = vec![0u64; (alpha + 1) * n];
    src[..alpha * n].copy_from_slice(&acc[limbs * n..]);
    src[alpha * n..].copy_from_slice(&acc[level * n..limbs * n]);
    src.par_chunks_exact_mut(n).enumerate().for_each(|(j, l)| {
        if j < alpha {
            p.ntt(j).inverse(l)
        } else {
            q.ntt(level).inverse(l)
        }
    });
    acc.truncate(level * n);
    let mut corr = zeroed(level * n, n);
    f.conv.convert_centered(&src, &mut corr, n);
    acc.par_chunks_exact_mut(n).zip(corr.par_chunks_exact_mut(n)).enumerate().for_each(|(i, (e, k))| {
        let m = q.modulus(i);
        q.ntt(i).forward(k);
        let (inv, inv_s) = f.inv[i];
        sub_scale(m, e, k, inv, inv_s);
    });
    Ok(RnsPoly::from_data(q, level, Representation::Ntt, acc)?)
}

/// A polynomial `c` raised, digit by digit, to `Q_l * P` (ModUp) and put in NTT form: the
/// expensive half of key switching, computed once and shared by every key that switches `c`
/// or an automorphism of it (hoisting, Halevi-Shoup eprint 2018/244).
///
/// Layout: per digit, `l + 1 + alpha` limbs of `N` words (the `Q_l` limbs, then `P`), values
/// lazy in `[0, 4q)`.
/// Memory: `dnum * (l + 1 + alpha) * N` words.
#[derive(Clone, Debug)]
pub struct Decomposition {
    level: usize,
    digits: Vec<Vec<u64>>,
}

impl Decomposition {
    /// Decomposes `c` (NTT form over `Q_l`). Cost: one inverse NTT per limb, then per digit a
    /// fast basis conversion and `l + 1 + alpha - |digit|` forward NTTs.
    pub fn new(params: &Parameters, c: &RnsPoly) -> Result<Self, SchemeError> {
        let (q, p) = (params.q_basis(), params.p_basis());
        if !c.basis().same_as(q) {
            return Err(SchemeError::ParameterMismatch {
                op: "key switch",
                detail: "polynomial is not over the parameters' Q".into(),
            });
        }
        if c.representation() != Representation::Ntt {
            return Err(MathError::Representation { op: "key switch", expected: "NTT", found: "coefficient" }.into());
        }
        let level = c.level();
        let ks = LevelKeySwitch::of(params, level)?;
        let n = params.degree();
        let limbs = level + 1;
        let width = limbs + p.len();
        let mut c_coeff = c.clone();
        c_coeff.to_coeff();
        let mut digits = Vec::with_capacity(ks.digits.len());
        for digit in &ks.digits {
            let mut ext = zeroed(width * n, n);
            // The digit's own limbs are exact: copy them from c, already in NTT form.
            ext[digit.start * n..digit.end * n].copy_from_slice(&c.data()[digit.start * n..digit.end * n]);
            // Convert straight into the other limbs (targets are Q_l minus the digit, then P,
            // which is the order of the remaining limbs of `ext`), then transform them.
            let outputs: Vec<&mut [u64]> = ext
                .chunks_exact_mut(n)
                .enumerate()
                .filter(|(t, _)| !(digit.start..digit.end).contains(t))
                .map(|(_, l)| l)
                .collect();
            debug_assert!(digit.targets.iter().zip((0..width).filter(|t| !(digit.start..digit.end).contains(t))).all(
                |(tg, pos)| match *tg {
                    Target::Q(i) => i == pos,
                    Target::P(j) => limbs + j == pos,
                }
            ));
            // Fast (approximate) conversion: its excess u * Q_j is a multiple of Q_j, which the
            // gadget g_j annihilates modulo Q and which adds only u * Q_j * e_j / P (far below
            // one) to the noise, so the exact centered variant is not needed here.
            digit.conv.convert_into_limbs(&c_coeff.data()[digit.start * n..digit.end * n], outputs, n, false);
            ext.par_chunks_exact_mut(n).enumerate().for_each(|(t, limb)| {
                if (digit.start..digit.end).contains(&t) {
                    return;
                }
                if t < limbs {
                    q.ntt(t).forward_lazy(limb);
                } else {
                    p.ntt(t - limbs).forward_lazy(limb);
                }
            });
            digits.push(ext);
        }
        Ok(Self { level, digits })
    }

    /// Level of the decomposed polynomial.
    pub fn level(&self) -> usize {
        self.level
    }
}
