//! DiagABT: `A * B^T` for `A` (`a x b`, plain block layout) and `B` (`c x b`, tiled vertically),
//! without forming a transpose (HETAL's forward pass, `logits = X * W^T`).

use crate::counts::{Algorithm, OpCounts};
use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling};
use crate::matrix::EncryptedMatrix;
use crate::operands::{abt_operands, top_level};
use crate::ops::{block_values, pair_value, Ops};
use crate::rotations::{check_keys, rotation_steps};
use ckks_scheme::{Ciphertext, Evaluator};
use rayon::prelude::*;

/// Levels DiagABT consumes: the product, the column-0 mask and the placement mask.
pub const DIAG_ABT_DEPTH: usize = 3;

/// `A * B^T`, result `a x c` tiled horizontally (`s1 / c` copies), ready for a row-wise
/// softmax and for [`crate::diag_atb`].
///
/// `A` has [`Tiling::None`]; `B` (`c' <= c` rows) has [`Tiling::Vertical`] with period `c`, the
/// padded class count, and the same unit shape and column blocks as `A`. With
/// `Z = B~ + i rot(B~, s1)` (two diagonals per slot), for each pair `m < c/2`: rotate `Z` up by
/// `2m` rows, multiply with every block of `A` and sum across block columns, sum each row
/// (rotations `1, 2, .., s1/2`), keep column 0, replicate it along the row (rotations
/// `-1, .., -s1/2`), and place real and imaginary parts with a complex mask on columns
/// `(i + 2m) mod c` and `(i + 2m + 1) mod c`; the sum over pairs plus its conjugate is the
/// result. Cost: `(c/2) A'B'` Mult, `c A'` CMult, `(c/2)(B' + 2 A' log s1)` Rot, `A'`
/// conjugations ([`crate::predicted_counts`]); [`DIAG_ABT_DEPTH`] = 3 levels below
/// `min(level(A), level(B))`. Keys: [`crate::rotation_steps`] of [`Algorithm::DiagAbt`] and
/// conjugation.
pub fn diag_abt(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    let op = "diag_abt";
    let (unit, c) = abt_operands(op, a, b)?;
    check_keys(op, eval, &rotation_steps(Algorithm::DiagAbt, unit, c)?, true)?;
    let top = top_level(op, a.level(), b.level(), DIAG_ABT_DEPTH)?;
    let (la, lb) = (a.layout(), b.layout());
    let out_layout = BlockLayout::new(la.rows, lb.rows, unit, Tiling::Horizontal { period: c })?;
    let ops = Ops::new(eval);
    let (ap, bp, h) = (la.block_rows, la.block_cols, c / 2);
    let (s0, s1) = (unit.s0, unit.s1);

    // Z_q = B~_q + i rot(B~_q, s1): row i holds B row i mod c (real) and i + 1 mod c (imaginary).
    let z: Vec<Ciphertext> = (0..bp)
        .into_par_iter()
        .map(|q| {
            let bq = ops.drop_to(b.block(0, q), top)?;
            let up = ops.rot(&bq, s1 as i64)?;
            Ok(eval.add(&bq, &eval.mul_by_i(&up)?)?)
        })
        .collect::<Result<_, LinalgError>>()?;

    // For every block column q: rotate Z_q up by 2m rows for all m at once (hoisted), multiply
    // with A_{p,q} and accumulate the tensor products per (m, p); summed over q per thread.
    let pair_steps: Vec<i64> = (0..h).map(|m| (2 * m * s1) as i64).collect();
    let products: Vec<Ciphertext> = (0..bp)
        .into_par_iter()
        .try_fold(Vec::new, |acc: Vec<Ciphertext>, q| {
            let rotated = ops.rot_hoisted(&z[q], &pair_steps)?;
            let mut local = Vec::with_capacity(h * ap);
            for zm in &rotated {
                for p in 0..ap {
                    local.push(ops.mul(&ops.drop_to(a.block(p, q), top)?, zm)?);
                }
            }
            ops.add_vecs(acc, local)
        })
        .try_reduce(Vec::new, |x, y| ops.add_vecs(x, y))?;

    let col0 = ops.real_mask(&block_values(s0, s1, |_, j| if j == 0 { 1.0 } else { 0.0 }), top - 1)?;
    let row_sum: Vec<i64> = (0..unit.log_s1()).map(|t| 1i64 << t).collect();
    let replicate: Vec<i64> = row_sum.iter().map(|r| -r).collect();
    let placed: Vec<Ciphertext> = products
        .par_iter()
        .enumerate()
        .map(|(idx, t)| {
            let m = idx / ap;
            let mut y = ops.relin_rescale(t)?;
            ops.rot_sum(&mut y, row_sum.iter().copied())?;
            let mut y = ops.mul_mask(&y, &col0)?;
            ops.rot_sum(&mut y, replicate.iter().copied())?;
            let place = ops.mask(&block_values(s0, s1, |i, j| pair_value(j, i, 2 * m, c)), y.level())?;
            ops.mul_mask(&y, &place)
        })
        .collect::<Result<_, LinalgError>>()?;

    let blocks: Vec<Ciphertext> = (0..ap)
        .into_par_iter()
        .map(|p| {
            let acc = ops.sum((0..h).map(|m| placed[m * ap + p].clone()).collect())?;
            ops.twice_real(&acc)
        })
        .collect::<Result<_, LinalgError>>()?;
    let out = EncryptedMatrix::from_blocks(out_layout, blocks)?;
    let levels = top - out.level();
    Ok((out, ops.counts(levels)))
}
