//! The compact form of vertically tiled matrices (the weights and the momentum): one copy of
//! each block, packed side by side, so that refreshing them costs one bootstrap per
//! `s0 / c` blocks instead of one per block.
//!
//! A block of a matrix tiled vertically with period `c` holds `s0 / c` copies of the same
//! `c x s1` slice, copy `m` in the slots `[m L, (m + 1) L)`, `L = c s1` (row-major slots). So
//! block `i` of a group keeps only its copy `i` ([`pack_copies`], one mask, one level, no
//! rotation) and the group's blocks add up without overlapping; [`unpack_copies`] takes copy `i`
//! back (one mask, one level) and replicates it over the `s0 / c` copies with the rotations
//! `L, 2L, .., (s0 / (2c)) L` ([`unpack_rotations`]; the slot vector is cyclic and the copies
//! fill it).
//!
//! A group of `B < s0 / c` blocks leaves copies empty, and the unpacking uses them: the packed
//! ciphertext is first repeated with period `Q = next_pow2(B)` copies (the rotations `Q L, ..,
//! (s0 / (2c)) L`, shared by the whole group), so that each block's mask keeps `s0 / (c Q)`
//! copies of it and only `log2 Q` rotations per block remain: `log2(s0 / (c Q)) + B log2 Q`
//! rotations instead of `B log2(s0 / c)`, with the same keys and still one level. Blocks are
//! unpacked in parallel (rayon): they are independent, and the rotations of one block use the
//! cores only through its RNS limbs.
//!
//! Where the packed ciphertexts sit levels above the blocks' level (a refresh gives more than
//! the next step uses), those levels pay for splits ([`unpack_copies_at_depth`]): a mask takes
//! the lower half of a ciphertext's blocks and the difference the upper half, each half doubles
//! its copies with one rotation, and after `d` splits each block needs `log2 Q - d` doublings
//! instead of `log2 Q`. The splits' rotations run a level or more higher, where key switching
//! weighs more ([`ckks_scheme::Parameters::key_switch_weight`]); [`unpack_depth`] weighs both
//! and picks.
//!
//! The ciphertexts left at the last depth then take baby steps: rotated by `j L`, `j < 8`,
//! hoisted (one decomposition for all seven), each block is a sum of eight masked rotations,
//! so its first three doublings cost no key switch of its own ([`UNPACK_BABY_LOG2`], four keys
//! more: `3L, 5L, 6L, 7L`; with the doublings' keys only, two baby steps).
//!
//! At the paper's Face Mask shape (unit `512 x 64`, `c = 4`, 13 blocks of weights and 13 of
//! momentum) the 26 blocks fit one packed ciphertext of 128 copies' room (`Q = 32`): 2 + 26 x 5
//! = 132 rotations with doublings only, 2 + 7 hoisted + 26 x 2 = 61 with the baby steps. At the
//! 2-class Face Mask set (`c = 2`, 21 + 21 blocks, 256 copies, `Q = 64`, from level 12 to 8):
//! 254 rotations with doublings only, 142 with 3 splits (126 of them at level 8), and 2 + 11 +
//! 6 x 7 hoisted = 55 with the baby steps (none per block).

use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling};
use crate::matrix::EncryptedMatrix;
use crate::ops::Ops;
use ckks_scheme::{Ciphertext, Evaluator};
use rayon::prelude::*;

/// `(copies, L)`: the copies per block of a vertically tiled layout (`s0 / c`) and the slots of
/// one copy (`L = c s1`), the unit of every rotation and mask of the compact form.
fn copies(layout: &BlockLayout, op: &'static str) -> Result<(usize, usize), LinalgError> {
    match layout.tiling {
        Tiling::Vertical { period } => Ok((layout.unit.s0 / period, period * layout.unit.s1)),
        t => Err(LinalgError::InvalidLayout { op, reason: format!("needs a vertically tiled matrix, not {t:?}") }),
    }
}

/// The number of packed ciphertexts for `matrices` matrices of `layout`:
/// `ceil(matrices * blocks / (s0 / c))`.
pub fn packed_count(layout: &BlockLayout, matrices: usize) -> Result<usize, LinalgError> {
    let (copies, _) = copies(layout, "packed_count")?;
    Ok((matrices * layout.blocks()).div_ceil(copies))
}

/// The groups of `matrices` matrices of `layout`, in order: each one's block count `B` (`s0 /
/// c`, the last one what is left) and `log2 Q`, `Q = next_pow2(B)`.
fn groups(layout: &BlockLayout, matrices: usize, op: &'static str) -> Result<Vec<(usize, usize)>, LinalgError> {
    let (copies, _) = copies(layout, op)?;
    let total = matrices * layout.blocks();
    Ok((0..total.div_ceil(copies))
        .map(|g| {
            let blocks = (total - g * copies).min(copies);
            (blocks, blocks.next_power_of_two().trailing_zeros() as usize)
        })
        .collect())
}

/// The baby steps of the unpacking's leaves: `2^UNPACK_BABY_LOG2` rotations `j L` of one
/// ciphertext, hoisted, replace the first `UNPACK_BABY_LOG2` doublings of each of its blocks
/// ([`unpack_copies_at_depth`]). 3: four keys more than the doublings' own (`3L, 5L, 6L, 7L`).
pub const UNPACK_BABY_LOG2: usize = 3;

/// The rotations [`unpack_copies`] uses: the doublings `L 2^j` for `2^j < s0 / c` and the
/// baby steps `j L` for `j < 2^min(UNPACK_BABY_LOG2, log2(s0 / c))`, `L = c s1`, sorted.
pub fn unpack_rotations(layout: &BlockLayout) -> Result<Vec<i64>, LinalgError> {
    let (copies, l) = copies(layout, "unpack_rotations")?;
    let l = l as i64;
    let log = copies.trailing_zeros() as usize;
    let mut steps: Vec<i64> =
        (0..log).map(|j| l << j).chain((1..1i64 << UNPACK_BABY_LOG2.min(log)).map(|j| j * l)).collect();
    steps.sort_unstable();
    steps.dedup();
    Ok(steps)
}

/// How many of the baby steps `eval`'s keys allow: the largest `a <= UNPACK_BABY_LOG2` (and
/// `<= log2(s0 / c)`) with a key for every `j L`, `0 < j < 2^a`. A bundle made before the
/// baby steps (only the doublings' keys) gives 1.
pub fn unpack_baby_log2(eval: &Evaluator, layout: &BlockLayout) -> Result<usize, LinalgError> {
    let (copies, l) = copies(layout, "unpack_copies")?;
    let l = l as i64;
    let has =
        |r: i64| eval.keys().is_some_and(|k| k.galois.get(ckks_scheme::rotation_element(eval.params(), r)).is_some());
    let most = UNPACK_BABY_LOG2.min(copies.trailing_zeros() as usize);
    Ok((0..=most).take_while(|&a| (1..1i64 << a).all(|j| has(j * l))).last().unwrap_or(0))
}

/// The mask of the copies `j` with `keep(j)`: 1 on the slots `[j L, (j + 1) L)` of those copies.
fn copy_mask(layout: &BlockLayout, l: usize, keep: impl Fn(usize) -> bool) -> Vec<f64> {
    (0..layout.unit.slots()).map(|k| if keep(k / l) { 1.0 } else { 0.0 }).collect()
}

/// The blocks of `matrices` (same vertically tiled layout, all blocks at one level and scale),
/// in order, `s0 / c` to a ciphertext: block `i` of a group contributes its copy `i`. One level
/// (a mask), no rotation. Errors on another tiling, different layouts, mixed levels or scales,
/// or level 0.
pub fn pack_copies(eval: &Evaluator, matrices: &[&EncryptedMatrix]) -> Result<Vec<Ciphertext>, LinalgError> {
    let op = "pack_copies";
    let first = matrices.first().ok_or_else(|| LinalgError::InvalidLayout { op, reason: "no matrix".into() })?;
    let layout = *first.layout();
    let (copies, l) = copies(&layout, op)?;
    if matrices.iter().any(|m| *m.layout() != layout) {
        return Err(LinalgError::InvalidLayout { op, reason: "the matrices have different layouts".into() });
    }
    let blocks: Vec<&Ciphertext> = matrices.iter().flat_map(|m| m.blocks()).collect();
    let (level, scale) = (blocks[0].level(), blocks[0].scale());
    if blocks.iter().any(|b| b.level() != level || !ckks_scheme::scales_match(b.scale(), scale)) {
        return Err(LinalgError::InvalidLayout { op, reason: "the blocks differ in level or scale".into() });
    }
    let ops = Ops::new(eval);
    let masks = (0..copies.min(blocks.len()))
        .map(|m| ops.real_mask(&copy_mask(&layout, l, |j| j == m), level))
        .collect::<Result<Vec<_>, _>>()?;
    blocks
        .chunks(copies)
        .map(|group| {
            let mut acc: Option<Ciphertext> = None;
            for (m, block) in group.iter().enumerate() {
                let part = ops.mul_mask(block, &masks[m])?;
                match acc.as_mut() {
                    Some(a) => eval.add_assign(a, &part)?,
                    None => acc = Some(part),
                }
            }
            Ok(acc.expect("a group has a block"))
        })
        .collect()
}

/// The inverse of [`pack_copies`]: `matrices` matrices of `layout` from their packed
/// ciphertexts (all at one level, above `level`), every block at `level`. Takes the baby steps
/// `eval`'s keys allow ([`unpack_baby_log2`]) and splits each group's blocks [`unpack_depth`]
/// times: the split that the key-switching weights of the levels at hand make cheapest. Errors
/// as [`unpack_copies_at_depth`].
pub fn unpack_copies(
    eval: &Evaluator,
    packed: &[Ciphertext],
    layout: &BlockLayout,
    matrices: usize,
    level: usize,
) -> Result<Vec<EncryptedMatrix>, LinalgError> {
    let Some(from) = packed.iter().map(Ciphertext::level).min() else {
        return Err(LinalgError::InvalidLayout { op: "unpack_copies", reason: "no packed ciphertext".into() });
    };
    let baby = unpack_baby_log2(eval, layout)?;
    let depth = unpack_depth(eval.params(), layout, matrices, from, level, baby)?;
    unpack_copies_at_depth(eval, packed, layout, matrices, level, depth)
}

/// The inverse of [`pack_copies`] with `depth` splits: `matrices` matrices of `layout` from
/// their packed ciphertexts, every block at `level`, the packed ones dropped first to `level +
/// 1 + depth` (they must sit there or above). For a group of `B` blocks, `Q = next_pow2(B)`:
///
/// 1. the packed ciphertext is repeated with period `Q` copies (rotations `Q L, ..,
///    (s0 / (2c)) L`), so that copy `k` holds block `k mod Q`;
/// 2. `depth` times, every ciphertext of depth `t` (the blocks `[h P, (h + 1) P)`, `P = Q /
///    2^t`, block `m` in the copies `k = m (mod P)`) splits in halves of `P / 2` blocks: a mask
///    keeps the lower half, the upper half is the difference (no mask), and each doubles its
///    copies with one rotation `(P / 2) L` (one level; an empty upper half costs neither);
/// 3. each ciphertext left with several blocks is rotated by the baby steps `j L`, `j < 2^a`,
///    hoisted (`a` as the keys allow, [`unpack_baby_log2`], at most `log2 P`), and block `m` is
///    `sum_j mask_(m - j) * rot(ct, j L)` (one level; `mask_r` keeps the copies `k = r (mod
///    P)`), which holds it in `2^a` copies out of every `P`; the rotations `2^a L, .., (P / 2) L`
///    replicate it. A ciphertext left with one block is replicated at `level` without a mask,
///    its baby steps summed hoisted.
///
/// So each block's doublings at the bottom are `log2 Q - depth - a` instead of `log2 Q`: at
/// Face Mask (42 blocks, `Q = 64`) depth 3 makes 11 rotations for the splits and 6 x 7 hoisted
/// ones at the leaves, against 252 rotations without splits or baby steps. Ciphertexts of one
/// depth, and blocks, are independent and run in parallel (rayon). Errors on another tiling, a
/// count of packed ciphertexts that does not match, packed ciphertexts below `level + 1 +
/// depth`, or a missing key.
pub fn unpack_copies_at_depth(
    eval: &Evaluator,
    packed: &[Ciphertext],
    layout: &BlockLayout,
    matrices: usize,
    level: usize,
    depth: usize,
) -> Result<Vec<EncryptedMatrix>, LinalgError> {
    let op = "unpack_copies";
    let (copies, l) = copies(layout, op)?;
    if matrices == 0 {
        return Err(LinalgError::InvalidLayout { op, reason: "no matrix".into() });
    }
    if packed.len() != packed_count(layout, matrices)? {
        return Err(LinalgError::InvalidLayout {
            op,
            reason: format!(
                "{} packed ciphertexts for {matrices} matrices of {} blocks",
                packed.len(),
                layout.blocks()
            ),
        });
    }
    let ops = Ops::new(eval);
    let baby = unpack_baby_log2(eval, layout)?;
    let log_copies = copies.trailing_zeros() as usize;
    let groups = packed
        .par_iter()
        .zip(groups(layout, matrices, op)?)
        .map(|(p, (blocks, split))| {
            let depth = depth.min(split);
            let top = level + 1 + depth;
            if p.level() < top {
                return Err(LinalgError::LevelTooLow { op, left: p.level(), right: top, needed: 1 + depth });
            }
            let mut spread = ops.drop_to(p, top)?;
            ops.rot_sum(&mut spread, (split..log_copies).map(|j| (l << j) as i64))?;
            let unpacking = Unpacking { ops: &ops, layout, l, split, baby, level, depth };
            unpacking.group(spread, blocks)
        })
        .collect::<Result<Vec<_>, LinalgError>>()?;
    let mut blocks = groups.into_iter().flatten();
    (0..matrices)
        .map(|_| EncryptedMatrix::from_blocks(*layout, blocks.by_ref().take(layout.blocks()).collect()))
        .collect()
}

/// The share of a key switch (in hundredths) that a rotation hoisted after the first costs:
/// its inner product and ModDown without the decomposition. Measured at `N = 2^16`
/// (`examples/unpack_bench.rs`): 7 rotations hoisted cost 0.79x as many single ones at level 9
/// on one thread, 0.90x at level 12 on two. The masks' products are left out: a sum of 8 with
/// its rescale costs about 0.6 of a key switch at those levels.
const HOISTED_SHARE: usize = 85;

/// Weight of `2^a - 1` rotations of one ciphertext hoisted, in hundredths of a key switch.
fn hoisted_weight(a: usize) -> usize {
    if a == 0 {
        0
    } else {
        100 + HOISTED_SHARE * ((1 << a) - 2)
    }
}

/// The splits for [`unpack_copies`] from packed ciphertexts at level `from` to blocks at
/// `level`, with `2^baby` baby steps at the leaves ([`unpack_baby_log2`]): of the depths the
/// levels allow (`from - level - 1`, at most `log2 Q` of the largest group), the one of least
/// key-switching weight ([`Parameters::key_switch_weight`] summed over the rotations of
/// [`unpack_copies_at_depth`], hoisted ones at `HOISTED_SHARE` = 0.85 of one; the first of
/// equals). Errors on another tiling or `from <= level`.
///
/// [`Parameters::key_switch_weight`]: ckks_scheme::Parameters::key_switch_weight
pub fn unpack_depth(
    params: &ckks_scheme::Parameters,
    layout: &BlockLayout,
    matrices: usize,
    from: usize,
    level: usize,
    baby: usize,
) -> Result<usize, LinalgError> {
    let op = "unpack_copies";
    let (copies, _) = copies(layout, op)?;
    if from <= level {
        return Err(LinalgError::LevelTooLow { op, left: from, right: level + 1, needed: 1 });
    }
    let groups = groups(layout, matrices, op)?;
    let log_copies = copies.trailing_zeros() as usize;
    let deepest = groups.iter().map(|&(_, split)| split).max().unwrap_or(0);
    let w = |l: usize| params.key_switch_weight(l);
    let weight = |depth: usize| -> usize {
        groups
            .iter()
            .map(|&(blocks, split)| {
                let depth = depth.min(split);
                let top = level + 1 + depth;
                let mut cost = (log_copies - split) * 100 * w(top);
                let mut spans = vec![Span::root(blocks)];
                for t in 0..=depth {
                    let a = baby.min(split - t);
                    let doublings = (split - t - a) * 100 * w(level);
                    for s in &spans {
                        cost += match s.role(depth) {
                            Role::Alone => hoisted_weight(a) * w(level) + doublings,
                            Role::Leaf => hoisted_weight(a) * w(level + 1) + s.len() * doublings,
                            Role::Split => s.halves(split).len() * 100 * w(top - t - 1),
                        };
                    }
                    spans =
                        spans.iter().filter(|s| s.role(depth) == Role::Split).flat_map(|s| s.halves(split)).collect();
                }
                cost
            })
            .sum()
    };
    let most = (from - level - 1).min(deepest);
    Ok((0..=most).min_by_key(|&d| (weight(d), d)).unwrap_or(0))
}

/// The blocks a ciphertext of the unpacking holds: `[lo, hi)` at depth `t`, block `m` in the
/// copies `k = m (mod Q / 2^t)` (`lo` a multiple of `Q / 2^t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    lo: usize,
    hi: usize,
    t: usize,
}

/// What becomes of a ciphertext of the unpacking at its depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// One block: replicated without a mask.
    Alone,
    /// Several blocks at the last depth: masked out one by one after the baby steps.
    Leaf,
    /// Several blocks above the last depth: split in halves.
    Split,
}

impl Span {
    /// A whole group of `blocks` blocks.
    fn root(blocks: usize) -> Self {
        Self { lo: 0, hi: blocks, t: 0 }
    }

    fn len(&self) -> usize {
        self.hi - self.lo
    }

    fn role(&self, depth: usize) -> Role {
        match (self.len(), self.t == depth) {
            (1, _) => Role::Alone,
            (_, true) => Role::Leaf,
            _ => Role::Split,
        }
    }

    /// The halves of `P / 2` blocks, `P = Q / 2^t`, `Q = 2^split`, the upper one left out
    /// where empty.
    fn halves(&self, split: usize) -> Vec<Span> {
        let mid = self.lo + ((1 << split) >> (self.t + 1));
        let low = Span { lo: self.lo, hi: self.hi.min(mid), t: self.t + 1 };
        let high = Span { lo: mid, hi: self.hi, t: self.t + 1 };
        if mid < self.hi {
            vec![low, high]
        } else {
            vec![low]
        }
    }
}

/// One group's unpacking: `L`, `log2 Q`, the baby steps' `log2`, the output level and depth.
struct Unpacking<'a, 'e> {
    ops: &'a Ops<'e>,
    layout: &'a BlockLayout,
    l: usize,
    split: usize,
    baby: usize,
    level: usize,
    depth: usize,
}

/// A ciphertext of an unpacking and the blocks it holds.
struct Node {
    ct: Ciphertext,
    span: Span,
}

impl Unpacking<'_, '_> {
    /// The blocks `0..blocks` of the spread group `spread`, in order, at `self.level`.
    fn group(&self, spread: Ciphertext, blocks: usize) -> Result<Vec<Ciphertext>, LinalgError> {
        let mut out: Vec<Option<Ciphertext>> = (0..blocks).map(|_| None).collect();
        let mut nodes = vec![Node { ct: spread, span: Span::root(blocks) }];
        for t in 0..=self.depth {
            let a = self.baby.min(self.split - t);
            let role = |n: &Node| n.span.role(self.depth);
            let alone: Vec<&Node> = nodes.iter().filter(|n| role(n) == Role::Alone).collect();
            let leaves: Vec<&Node> = nodes.iter().filter(|n| role(n) == Role::Leaf).collect();
            let steps: Vec<i64> = (0..1usize << a).map(|j| (j * self.l) as i64).collect();
            let mut finished = alone
                .par_iter()
                .map(|n| {
                    let ct = self.ops.rot_sum_hoisted(&self.ops.drop_to(&n.ct, self.level)?, &steps)?;
                    Ok((n.span.lo, self.replicate(ct, t, a)?))
                })
                .collect::<Result<Vec<_>, LinalgError>>()?;
            let masks = if leaves.is_empty() { Vec::new() } else { self.residue_masks(t)? };
            let period = self.period(t);
            // One leaf at a time, its blocks in parallel: a leaf's 2^a rotations are the
            // unpacking's largest transient (at Face Mask 6 leaves of 8 ciphertexts, 0.5 GB if
            // all were held at once), and at depth 0 a single leaf holds every block.
            for n in &leaves {
                let rotated = self.ops.rot_hoisted(&n.ct, &steps)?;
                let blocks = (n.span.lo..n.span.hi).into_par_iter().map(|m| {
                    let terms: Vec<&_> = (0..steps.len()).map(|j| &masks[(m + period - j % period) % period]).collect();
                    Ok((m, self.replicate(self.ops.mul_masks_sum(&rotated, &terms)?, t, a)?))
                });
                finished.extend(blocks.collect::<Result<Vec<_>, LinalgError>>()?);
            }
            for (m, ct) in finished {
                out[m] = Some(ct);
            }
            if t == self.depth {
                break;
            }
            let splitting: Vec<Node> = nodes.into_iter().filter(|n| role(n) == Role::Split).collect();
            if splitting.is_empty() {
                break;
            }
            let mask = self
                .ops
                .real_mask(&copy_mask(self.layout, self.l, |k| k % period < period / 2), splitting[0].ct.level())?;
            nodes = splitting
                .into_par_iter()
                .map(|n| self.split(n, &mask))
                .collect::<Result<Vec<_>, LinalgError>>()?
                .into_iter()
                .flatten()
                .collect();
        }
        out.into_iter()
            .map(|b| {
                b.ok_or_else(|| LinalgError::InvalidLayout { op: "unpack_copies", reason: "a block was lost".into() })
            })
            .collect()
    }

    /// `P = Q / 2^t`: a block of a ciphertext of depth `t` sits in every `P`-th copy.
    fn period(&self, t: usize) -> usize {
        (1 << self.split) >> t
    }

    /// `mask_r` for `r < P` at the leaves' level: the copies `k = r (mod P)`.
    fn residue_masks(&self, t: usize) -> Result<Vec<ckks_scheme::Plaintext>, LinalgError> {
        let period = self.period(t);
        (0..period)
            .into_par_iter()
            .map(|r| self.ops.real_mask(&copy_mask(self.layout, self.l, |k| k % period == r), self.level + 1))
            .collect()
    }

    /// A block of depth `t` held in the copies `m - j (mod P)`, `j < 2^a`, replicated over every
    /// copy by the rotations `2^a L, .., (P / 2) L`.
    fn replicate(&self, mut ct: Ciphertext, t: usize, a: usize) -> Result<Ciphertext, LinalgError> {
        self.ops.rot_sum(&mut ct, (a..self.split - t).map(|j| (self.l << j) as i64))?;
        Ok(ct)
    }

    /// Node `n` split in halves ([`Span::halves`]) by `mask` (the lower half's copies), each
    /// half doubling its copies with one rotation `(P / 2) L`: one level.
    fn split(&self, n: Node, mask: &ckks_scheme::Plaintext) -> Result<Vec<Node>, LinalgError> {
        let halves = n.span.halves(self.split);
        let stride = (self.l * self.period(n.span.t) / 2) as i64;
        let parts = if let [low, high] = halves[..] {
            let lower = self.ops.mul_mask(&n.ct, mask)?;
            let upper = self.ops.eval.sub(&self.ops.drop_to(&n.ct, lower.level())?, &lower)?;
            vec![(lower, low), (upper, high)]
        } else {
            // The upper half is empty: the node is its lower half, with no mask.
            vec![(self.ops.drop_to(&n.ct, n.ct.level() - 1)?, halves[0])]
        };
        parts
            .into_par_iter()
            .map(|(mut ct, span)| {
                self.ops.rot_sum(&mut ct, [stride])?;
                Ok(Node { ct, span })
            })
            .collect()
    }
}
