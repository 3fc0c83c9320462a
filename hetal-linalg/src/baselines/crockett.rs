//! Crockett (eprint 2020/1483), ColMajor `A * B^T` and RowMajor `A^T * B`, as in the HETAL
//! authors' benchmark driver: one row (or column) of the small matrix at a time, masked,
//! replicated by rotations, multiplied with every block and summed.

use crate::counts::{Algorithm, OpCounts};
use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling};
use crate::matrix::EncryptedMatrix;
use crate::operands::{abt_operands, atb_operands, top_level};
use crate::ops::{block_values, Ops};
use crate::rotations::{check_keys, rotation_steps};
use ckks_scheme::{Ciphertext, Evaluator};
use rayon::prelude::*;

/// ColMajor `A * B^T` for `A` (`a x b`, untiled) and `B` (`c' x b`, tiled vertically with
/// period `c`); result `a x c'` untiled, column `k` of each block row holding `(A B^T)[., k]`.
///
/// For each `k < c`: mask row `k` of every block of `B` and replicate it down the block
/// (rotations `s1, .., s0/2 s1`), multiply with the blocks of `A`, sum across block columns
/// and along rows (rotations `1, .., s1/2`), keep column 0 and rotate it right by `k`. Costs
/// ([`crate::predicted_counts`]): Mult `c A'B'`, CMult `c (A' + B')`, Rot
/// `c (B' log s0 + A' log s1) + (c - 1) A'`; 3 levels.
pub fn col_major(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    let op = "col_major";
    let (unit, c) = abt_operands(op, a, b)?;
    check_keys(op, eval, &rotation_steps(Algorithm::ColMajor, unit, c)?, false)?;
    let top = top_level(op, a.level(), b.level(), 3)?;
    let (la, lb) = (a.layout(), b.layout());
    let ops = Ops::new(eval);
    let (ap, bp) = (la.block_rows, la.block_cols);
    let (s0, s1) = (unit.s0, unit.s1);
    let fill: Vec<i64> = (0..unit.log_s0()).map(|t| (s1 << t) as i64).collect();
    let row_sum: Vec<i64> = (0..unit.log_s1()).map(|t| 1i64 << t).collect();
    // Row mask on B, then the product: column 0 is kept two levels below the top.
    let col0 = ops.real_mask(&block_values(s0, s1, |_, j| if j == 0 { 1.0 } else { 0.0 }), top - 2)?;
    let mut result: Vec<Ciphertext> = Vec::new();
    for k in 0..c {
        let row_k = ops.real_mask(&block_values(s0, s1, |i, _| if i == k { 1.0 } else { 0.0 }), top)?;
        let products: Vec<Ciphertext> = (0..bp)
            .into_par_iter()
            .try_fold(Vec::new, |acc: Vec<Ciphertext>, q| {
                let mut v = ops.mul_mask(&ops.drop_to(b.block(0, q), top)?, &row_k)?;
                ops.rot_sum(&mut v, fill.iter().copied())?;
                let local = (0..ap).map(|p| ops.mul(a.block(p, q), &v)).collect::<Result<Vec<_>, LinalgError>>()?;
                ops.add_vecs(acc, local)
            })
            .try_reduce(Vec::new, |x, y| ops.add_vecs(x, y))?;
        let parts: Vec<Ciphertext> = products
            .par_iter()
            .map(|t| {
                let mut y = ops.relin_rescale(t)?;
                ops.rot_sum(&mut y, row_sum.iter().copied())?;
                let y = ops.mul_mask(&y, &col0)?;
                ops.rot(&y, -(k as i64))
            })
            .collect::<Result<_, LinalgError>>()?;
        result = ops.add_vecs(result, parts)?;
    }
    let out = EncryptedMatrix::from_blocks(BlockLayout::new(la.rows, lb.rows, unit, Tiling::None)?, result)?;
    let levels = top - out.level();
    Ok((out, ops.counts(levels)))
}

/// RowMajor `A^T * B` for `A` (`a x c'`, tiled horizontally with period `c`) and `B` (`a x b`,
/// untiled); result `c' x b` untiled, row `k` of each block column holding `(A^T B)[k, .]`.
///
/// For each `k < c`: mask column `k` of `A`, rotate it to column 0 and replicate it along the
/// row (rotations `-1, .., -s1/2`), multiply with every block of `B`, sum over block rows and
/// down the columns (rotations `s1, .., s0/2 s1`), keep row `k`. Costs: Mult `c A'B'`, CMult
/// `c (A' + B')`, Rot `c (A' log s1 + B' log s0) + (c - 1) A'`; 3 levels.
pub fn row_major(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    let op = "row_major";
    let (unit, c) = atb_operands(op, a, b)?;
    check_keys(op, eval, &rotation_steps(Algorithm::RowMajor, unit, c)?, false)?;
    let top = top_level(op, a.level(), b.level(), 3)?;
    let (la, lb) = (a.layout(), b.layout());
    let ops = Ops::new(eval);
    let (ap, bp) = (la.block_rows, lb.block_cols);
    let (s0, s1) = (unit.s0, unit.s1);
    let replicate: Vec<i64> = (0..unit.log_s1()).map(|t| -(1i64 << t)).collect();
    let col_sum: Vec<i64> = (0..unit.log_s0()).map(|t| (s1 << t) as i64).collect();
    let mut result: Vec<Ciphertext> = Vec::new();
    for k in 0..c {
        let col_k = ops.real_mask(&block_values(s0, s1, |_, j| if j == k { 1.0 } else { 0.0 }), top)?;
        let columns: Vec<Ciphertext> = (0..ap)
            .into_par_iter()
            .map(|p| {
                let masked = ops.mul_mask(&ops.drop_to(a.block(p, 0), top)?, &col_k)?;
                let mut u = ops.rot(&masked, k as i64)?;
                ops.rot_sum(&mut u, replicate.iter().copied())?;
                Ok(u)
            })
            .collect::<Result<_, LinalgError>>()?;
        let parts: Vec<Ciphertext> = (0..bp)
            .into_par_iter()
            .map(|q| {
                let terms =
                    (0..ap).map(|p| ops.mul(&columns[p], b.block(p, q))).collect::<Result<Vec<_>, LinalgError>>()?;
                let mut y = ops.relin_rescale(&ops.sum(terms)?)?;
                ops.rot_sum(&mut y, col_sum.iter().copied())?;
                let row_k = ops.real_mask(&block_values(s0, s1, |i, _| if i == k { 1.0 } else { 0.0 }), y.level())?;
                ops.mul_mask(&y, &row_k)
            })
            .collect::<Result<_, LinalgError>>()?;
        result = ops.add_vecs(result, parts)?;
    }
    let out = EncryptedMatrix::from_blocks(BlockLayout::new(la.cols, lb.cols, unit, Tiling::None)?, result)?;
    let levels = top - out.level();
    Ok((out, ops.counts(levels)))
}
