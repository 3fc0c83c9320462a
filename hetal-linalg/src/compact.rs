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
//! At the paper's Face Mask shape (unit `512 x 64`, `c = 4`, 13 blocks of weights and 13 of
//! momentum) the 26 blocks fit one packed ciphertext of 128 copies' room (`Q = 32`: 2 + 26 x 5
//! = 132 rotations instead of 182); at the 2-class Face Mask set (`c = 2`, 21 + 21 blocks, 256
//! copies, `Q = 64`) 254 instead of 336.

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

/// The rotations [`unpack_copies`] uses: `L 2^j` for `2^j < s0 / c`, `L = c s1`.
pub fn unpack_rotations(layout: &BlockLayout) -> Result<Vec<i64>, LinalgError> {
    let (c, copies) = copies(layout, "unpack_rotations")?;
    let l = (c * layout.unit.s1) as i64;
    Ok((0..copies.trailing_zeros()).map(|j| l << j).collect())
}

/// The mask of the copies `j` with `j = m (mod period)`: 1 on the slots `[j L, (j + 1) L)` of
/// those copies (`period = s0 / c`: copy `m` alone).
fn copy_mask(layout: &BlockLayout, c: usize, m: usize, period: usize) -> Vec<f64> {
    let l = c * layout.unit.s1;
    (0..layout.unit.slots()).map(|k| if (k / l) % period == m { 1.0 } else { 0.0 }).collect()
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
        .map(|m| ops.real_mask(&copy_mask(&layout, c, m, copies), level))
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
/// ciphertexts (all at one level, at least 1). One level (a mask); for a group of `B` blocks,
/// `log2(s0 / (c Q))` rotations shared by the group and `log2 Q` per block, `Q =
/// next_pow2(B)` (all from [`unpack_rotations`]; see the module documentation). Errors on
/// another tiling or a count of packed ciphertexts that does not match.
pub fn unpack_copies(
    eval: &Evaluator,
    packed: &[Ciphertext],
    layout: &BlockLayout,
    matrices: usize,
) -> Result<Vec<EncryptedMatrix>, LinalgError> {
    let op = "unpack_copies";
    let (c, copies) = copies(layout, op)?;
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
    let total = matrices * layout.blocks();
    // Per group: its block count's power of two `Q`, and the packed ciphertext repeated with
    // period `Q` copies.
    let spread = packed
        .par_iter()
        .enumerate()
        .map(|(g, p)| {
            let q = (total - g * copies).min(copies).next_power_of_two();
            let split = q.trailing_zeros() as usize;
            let mut spread = p.clone();
            ops.rot_sum(&mut spread, rotations[split..].iter().copied())?;
            Ok((q, split, spread))
        })
        .collect::<Result<Vec<_>, LinalgError>>()?;
    let blocks = (0..total)
        .into_par_iter()
        .map(|i| {
            let (q, split, spread) = &spread[i / copies];
            let m = i % copies;
            let mask = ops.real_mask(&copy_mask(layout, c, m, *q), spread.level())?;
            let mut block = ops.mul_mask(spread, &mask)?;
            ops.rot_sum(&mut block, rotations[..*split].iter().copied())?;
            Ok(block)
        })
        .collect::<Result<Vec<_>, LinalgError>>()?;
    let mut blocks = blocks.into_iter();
    (0..matrices)
        .map(|_| EncryptedMatrix::from_blocks(*layout, blocks.by_ref().take(layout.blocks()).collect()))
        .collect()
}
