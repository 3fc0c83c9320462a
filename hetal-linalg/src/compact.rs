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
//! half of the group's blocks and the difference the other half, each half doubles its copies
//! with one rotation, and after `d` splits each block is masked out with `2^d` copies and needs
//! `log2 Q - d` rotations instead of `log2 Q`. The splits' rotations run a level or more
//! higher, where key switching weighs more ([`ckks_scheme::Parameters::key_switch_weight`]);
//! [`unpack_depth`] weighs both and picks.
//!
//! At the paper's Face Mask shape (unit `512 x 64`, `c = 4`, 13 blocks of weights and 13 of
//! momentum) the 26 blocks fit one packed ciphertext of 128 copies' room (`Q = 32`: 2 + 26 x 5
//! = 132 rotations instead of 182); at the 2-class Face Mask set (`c = 2`, 21 + 21 blocks, 256
//! copies, `Q = 64`) 254 instead of 336, and with 3 splits (from level 12 to 8) 2 + 14 + 42 x 3
//! = 142, of which 126 at level 8.

use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling};
use crate::matrix::EncryptedMatrix;
use crate::ops::Ops;
use ckks_scheme::{Ciphertext, Evaluator};
use rayon::prelude::*;

/// `(c, copies)`: the period and the copies per block of a vertically tiled layout.
fn copies(layout: &BlockLayout, op: &'static str) -> Result<(usize, usize), LinalgError> {
    match layout.tiling {
        Tiling::Vertical { period } => Ok((period, layout.unit.s0 / period)),
        t => Err(LinalgError::InvalidLayout { op, reason: format!("needs a vertically tiled matrix, not {t:?}") }),
    }
}

/// The number of packed ciphertexts for `matrices` matrices of `layout`:
/// `ceil(matrices * blocks / (s0 / c))`.
pub fn packed_count(layout: &BlockLayout, matrices: usize) -> Result<usize, LinalgError> {
    let (_, copies) = copies(layout, "packed_count")?;
    Ok((matrices * layout.blocks()).div_ceil(copies))
}

/// The groups of `matrices` matrices of `layout`, in order: each one's block count `B` (`s0 /
/// c`, the last one what is left) and `log2 Q`, `Q = next_pow2(B)`.
fn groups(layout: &BlockLayout, matrices: usize, op: &'static str) -> Result<Vec<(usize, usize)>, LinalgError> {
    let (_, copies) = copies(layout, op)?;
    let total = matrices * layout.blocks();
    Ok((0..total.div_ceil(copies))
        .map(|g| {
            let blocks = (total - g * copies).min(copies);
            (blocks, blocks.next_power_of_two().trailing_zeros() as usize)
        })
        .collect())
}

/// The rotations [`unpack_copies`] uses: `L 2^j` for `2^j < s0 / c`, `L = c s1`.
pub fn unpack_rotations(layout: &BlockLayout) -> Result<Vec<i64>, LinalgError> {
    let (c, copies) = copies(layout, "unpack_rotations")?;
    let l = (c * layout.unit.s1) as i64;
    Ok((0..copies.trailing_zeros()).map(|j| l << j).collect())
}

/// The mask of the copies `j` with `keep(j)`: 1 on the slots `[j L, (j + 1) L)` of those copies.
fn copy_mask(layout: &BlockLayout, c: usize, keep: impl Fn(usize) -> bool) -> Vec<f64> {
    let l = c * layout.unit.s1;
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
    let (c, copies) = copies(&layout, op)?;
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
        .map(|m| ops.real_mask(&copy_mask(&layout, c, |j| j == m), level))
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
/// ciphertexts (all at one level, above `level`), every block at `level`. Splits each group's
/// blocks [`unpack_depth`] times before masking them one by one (see
/// [`unpack_copies_at_depth`]): the split that the key-switching weights of the levels at hand
/// make cheapest. Errors as [`unpack_copies_at_depth`].
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
    let depth = unpack_depth(eval.params(), layout, matrices, from, level)?;
    unpack_copies_at_depth(eval, packed, layout, matrices, level, depth)
}

/// The inverse of [`pack_copies`] with `depth` splits: `matrices` matrices of `layout` from
/// their packed ciphertexts, every block at `level`, the packed ones dropped first to `level +
/// 1 + depth` (they must sit there or above). For a group of `B` blocks and `Q =
/// next_pow2(B)`:
///
/// 1. the packed ciphertext is repeated with period `Q` copies (rotations `Q L, ..,
///    (s0 / (2c)) L`), so that copy `j` holds block `j mod Q`;
/// 2. `depth` times, every ciphertext holding the blocks `m = a (mod 2^t)` (`2^t` copies of each,
///    `m - r` for `r < 2^t`) splits by bit `t` of `m`: a mask keeps the half with bit `t`
///    clear, the other half is the difference (no mask), and each half gains the copies `m - r -
///    2^t` by one rotation `2^t L` (one level, two rotations per split);
/// 3. each block left with others is masked out alone (one level) and replicated by the
///    rotations `2^depth L, .., (Q / 2) L`; a ciphertext left with one block needs no mask.
///
/// Depth 0 is one level and `log2 Q` rotations per block. Each split halves the blocks' share
/// of rotations at the lowest level for two rotations per ciphertext split a level higher:
/// at Face Mask (42 blocks, `Q = 64`) depth 3 makes 14 + 126 rotations instead of 252.
/// A group of fewer than `2^depth` blocks splits `log2 Q` times, from `level + 1 + log2 Q`.
/// Ciphertexts of one depth, and blocks, are independent and run in parallel (rayon). Errors on
/// another tiling, a count of packed ciphertexts that does not match, or packed ciphertexts
/// below `level + 1 + depth`.
pub fn unpack_copies_at_depth(
    eval: &Evaluator,
    packed: &[Ciphertext],
    layout: &BlockLayout,
    matrices: usize,
    level: usize,
    depth: usize,
) -> Result<Vec<EncryptedMatrix>, LinalgError> {
    let op = "unpack_copies";
    let (c, _) = copies(layout, op)?;
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
    let rotations = unpack_rotations(layout)?;
    let groups = packed
        .par_iter()
        .zip(groups(layout, matrices, op)?)
        .map(|(p, (blocks, split))| {
            let q = 1 << split;
            let depth = depth.min(split);
            let top = level + 1 + depth;
            if p.level() < top {
                return Err(LinalgError::LevelTooLow { op, left: p.level(), right: top, needed: 1 + depth });
            }
            let mut spread = ops.drop_to(p, top)?;
            ops.rot_sum(&mut spread, rotations[split..].iter().copied())?;
            let unpacked = Unpacking { ops: &ops, layout, c, q, rotations: &rotations[..split], level };
            unpacked.group(spread, blocks, depth)
        })
        .collect::<Result<Vec<_>, LinalgError>>()?;
    let mut blocks = groups.into_iter().flatten();
    (0..matrices)
        .map(|_| EncryptedMatrix::from_blocks(*layout, blocks.by_ref().take(layout.blocks()).collect()))
        .collect()
}

/// The splits for [`unpack_copies`] from packed ciphertexts at level `from` to blocks at
/// `level`: of the depths the levels allow (`from - level - 1`, at most `log2 Q` of the largest
/// group), the one of least key-switching weight ([`Parameters::key_switch_weight`] summed over
/// the rotations of [`unpack_copies_at_depth`]; the first of equals). Errors on another tiling
/// or `from <= level`.
///
/// [`Parameters::key_switch_weight`]: ckks_scheme::Parameters::key_switch_weight
pub fn unpack_depth(
    params: &ckks_scheme::Parameters,
    layout: &BlockLayout,
    matrices: usize,
    from: usize,
    level: usize,
) -> Result<usize, LinalgError> {
    let op = "unpack_copies";
    let (_, copies) = copies(layout, op)?;
    if from <= level {
        return Err(LinalgError::LevelTooLow { op, left: from, right: level + 1, needed: 1 });
    }
    let groups = groups(layout, matrices, op)?;
    let log_copies = copies.trailing_zeros() as usize;
    let deepest = groups.iter().map(|&(_, split)| split).max().unwrap_or(0);
    let weight = |depth: usize| -> usize {
        let w = |l: usize| params.key_switch_weight(l);
        groups
            .iter()
            .map(|&(b, split)| {
                let depth = depth.min(split);
                let spread = (log_copies - split) * w(level + 1 + depth);
                // Nodes of depth t: the residues a < 2^t, holding the blocks m = a (mod 2^t).
                let mut cost = spread;
                let held = |a: usize, t: usize| if a < b { (b - a).div_ceil(1 << t) } else { 0 };
                for t in 0..=depth {
                    // The nodes made at depth t: those whose parent was split.
                    for a in (0..1usize << t).filter(|&a| t == 0 || held(a % (1 << (t - 1)), t - 1) > 1) {
                        cost += match held(a, t) {
                            0 => 0,
                            // Alone: replicated at the bottom, no mask.
                            1 => (split - t) * w(level),
                            // Split at level + depth - t, or masked block by block at the bottom.
                            _ if t < depth => 2 * w(level + depth - t),
                            k => k * (split - t) * w(level),
                        };
                    }
                }
                cost
            })
            .sum()
    };
    let most = (from - level - 1).min(deepest);
    Ok((0..=most).min_by_key(|&d| (weight(d), d)).unwrap_or(0))
}

/// One group's unpacking: its `Q`, the rotations `L, .., (Q / 2) L`, and the output level.
struct Unpacking<'a, 'e> {
    ops: &'a Ops<'e>,
    layout: &'a BlockLayout,
    c: usize,
    q: usize,
    rotations: &'a [i64],
    level: usize,
}

/// A ciphertext of an unpacking: the blocks it holds (`m = a (mod 2^t)` at depth `t`).
struct Node {
    ct: Ciphertext,
    blocks: Vec<usize>,
}

impl Unpacking<'_, '_> {
    /// The blocks `0..blocks` of the spread group `spread`, in order, at `self.level`.
    fn group(&self, spread: Ciphertext, blocks: usize, depth: usize) -> Result<Vec<Ciphertext>, LinalgError> {
        let mut out: Vec<Option<Ciphertext>> = (0..blocks).map(|_| None).collect();
        let mut nodes = vec![Node { ct: spread, blocks: (0..blocks).collect() }];
        for t in 0..=depth {
            let (alone, many): (Vec<Node>, Vec<Node>) = nodes.into_iter().partition(|n| n.blocks.len() == 1);
            // Every block that finishes here, one task each: at depth 0 a single ciphertext
            // holds them all, and its blocks are what runs in parallel.
            let leaves: Vec<(&Node, usize)> = if t == depth {
                many.iter().flat_map(|n| n.blocks.iter().map(move |&m| (n, m))).collect()
            } else {
                Vec::new()
            };
            let finished = alone
                .par_iter()
                .map(|n| Ok((n.blocks[0], self.replicate(self.ops.drop_to(&n.ct, self.level)?, t)?)))
                .chain(
                    leaves
                        .into_par_iter()
                        .map(|(n, m)| Ok((m, self.replicate(self.keep(&n.ct, |k| self.holds(k, m, t))?, t)?))),
                )
                .collect::<Result<Vec<_>, LinalgError>>()?;
            for (m, ct) in finished {
                out[m] = Some(ct);
            }
            if t == depth {
                break;
            }
            nodes = many
                .into_par_iter()
                .map(|n| self.split(n, t))
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

    /// Whether copy `k` of a ciphertext at depth `t` holds block `m`: `m - k mod Q < 2^t`.
    fn holds(&self, k: usize, m: usize, t: usize) -> bool {
        (m + self.q - k % self.q) % self.q < 1 << t
    }

    /// `ct` masked to the copies `k` with `keep(k)`: one level.
    fn keep(&self, ct: &Ciphertext, keep: impl Fn(usize) -> bool) -> Result<Ciphertext, LinalgError> {
        let mask = self.ops.real_mask(&copy_mask(self.layout, self.c, keep), ct.level())?;
        self.ops.mul_mask(ct, &mask)
    }

    /// A block held at depth `t` (copies `m - r`, `r < 2^t`), replicated over every copy by the
    /// rotations `2^t L, .., (Q / 2) L`.
    fn replicate(&self, mut ct: Ciphertext, t: usize) -> Result<Ciphertext, LinalgError> {
        self.ops.rot_sum(&mut ct, self.rotations[t..].iter().copied())?;
        Ok(ct)
    }

    /// Node `n` of depth `t` split by bit `t` of its blocks, each half gaining the copies `2^t`
    /// below its own (one rotation `2^t L`): one level.
    fn split(&self, n: Node, t: usize) -> Result<Vec<Node>, LinalgError> {
        let clear: Vec<usize> = n.blocks.iter().copied().filter(|m| m >> t & 1 == 0).collect();
        let set: Vec<usize> = n.blocks.iter().copied().filter(|m| m >> t & 1 == 1).collect();
        let low = self.keep(&n.ct, |k| clear.iter().any(|&m| self.holds(k, m, t)))?;
        let high = self.ops.eval.sub(&self.ops.drop_to(&n.ct, low.level())?, &low)?;
        [(low, clear), (high, set)]
            .into_par_iter()
            .map(|(mut ct, blocks)| {
                self.ops.rot_sum(&mut ct, [self.rotations[t]])?;
                Ok(Node { ct, blocks })
            })
            .collect()
    }
}
