//! DiagABT: `A * B^T` for `A` (`a x b`, plain block layout) and `B` (`c x b`, tiled vertically),
//! without forming a transpose (HETAL's forward pass, `logits = X * W^T`).

use crate::counts::{Algorithm, OpCounts};
use crate::diag_atb::RowSum;
use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling};
use crate::matrix::EncryptedMatrix;
use crate::operands::{abt_operands, top_level};
use crate::ops::{block_values, pair_value, Ops};
use crate::rotations::{check_keys, rotation_steps};
use ckks_scheme::{Ciphertext, Complex, Evaluator, Plaintext};
use rayon::prelude::*;

/// Levels [`diag_abt`] consumes ([`RowSum::Shared`]): the product and one mask that keeps
/// column 0 and places the pairs at once. The paper's schedule ([`RowSum::PerPair`]) takes
/// 3: the column-0 mask and the placement mask apart.
pub const DIAG_ABT_DEPTH: usize = 2;

/// Levels DiagABT consumes with `row_sum`.
pub fn diag_abt_depth(row_sum: RowSum) -> usize {
    match row_sum {
        RowSum::PerPair => 3,
        RowSum::Shared => DIAG_ABT_DEPTH,
    }
}

/// `A * B^T` by [`diag_abt_with`] with the shared placement ([`RowSum::Shared`],
/// [`DIAG_ABT_DEPTH`] = 2 levels).
pub fn diag_abt(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    diag_abt_with(eval, a, b, RowSum::Shared)
}

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
/// result. Cost ([`RowSum::PerPair`], the paper's): `(c/2) A'B'` Mult, `c A'` CMult, `(c/2)(B' +
/// 2 A' log s1)` Rot, `A'` conjugations ([`crate::predicted_counts`]); 3 levels below
/// `min(level(A), level(B))`.
///
/// [`RowSum::Shared`] places before it replicates: the placement masks `P_m` are periodic in
/// the columns with period `c`, so they commute with the replication over columns `c` apart
/// `R_c`, and with `rho_k` the rotation by `k` columns,
/// `sum_m P_m R(col0 Y_m) = R_c(sum_{k<c} rho_{-k}(sum_m (col0 rho_k(P_m)) Y_m))`, `Y_m` the
/// row sums of pair `m`. One mask per `(m, k)` keeps column 0 and places at once: 2 levels, and
/// per block row `(c/2) log s1 + c - 1 + log(s1 / c)` rotations instead of `c log s1`, with
/// `c (c/2)` CMult instead of `c`. Keys: [`crate::rotation_steps`] of [`Algorithm::DiagAbt`]
/// (both) and conjugation.
pub fn diag_abt_with(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
    row_sum: RowSum,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    let op = "diag_abt";
    let (unit, c) = abt_operands(op, a, b)?;
    check_keys(op, eval, &rotation_steps(Algorithm::DiagAbt, unit, c)?, true)?;
    let top = top_level(op, a.level(), b.level(), diag_abt_depth(row_sum))?;
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

    let row_sum_steps: Vec<i64> = (0..unit.log_s1()).map(|t| 1i64 << t).collect();
    let blocks: Vec<Ciphertext> = match row_sum {
        RowSum::PerPair => {
            let col0 = ops.real_mask(&block_values(s0, s1, |_, j| if j == 0 { 1.0 } else { 0.0 }), top - 1)?;
            let replicate: Vec<i64> = row_sum_steps.iter().map(|r| -r).collect();
            let placed: Vec<Ciphertext> = products
                .par_iter()
                .enumerate()
                .map(|(idx, t)| {
                    let m = idx / ap;
                    let mut y = ops.relin_rescale(t)?;
                    ops.rot_sum(&mut y, row_sum_steps.iter().copied())?;
                    let mut y = ops.mul_mask(&y, &col0)?;
                    ops.rot_sum(&mut y, replicate.iter().copied())?;
                    let place = ops.mask(&block_values(s0, s1, |i, j| pair_value(j, i, 2 * m, c)), y.level())?;
                    ops.mul_mask(&y, &place)
                })
                .collect::<Result<_, LinalgError>>()?;
            (0..ap)
                .into_par_iter()
                .map(|p| {
                    let acc = ops.sum((0..h).map(|m| placed[m * ap + p].clone()).collect())?;
                    ops.twice_real(&acc)
                })
                .collect::<Result<_, LinalgError>>()?
        }
        RowSum::Shared => {
            // Y_m: each row's sum at its column 0, per (m, p).
            let sums: Vec<Ciphertext> = products
                .par_iter()
                .map(|t| {
                    let mut y = ops.relin_rescale(t)?;
                    ops.rot_sum(&mut y, row_sum_steps.iter().copied())?;
                    Ok(y)
                })
                .collect::<Result<_, LinalgError>>()?;
            // The masks of shift k, col0 rho_k(P_m) (column 0 of row i gets P_m at (i, k)), made
            // when Q_k is: c (c/2) of them at the top level would hold hundreds of MB at once.
            let masks_of = |k: usize| {
                (0..h)
                    .map(|m| {
                        let v = block_values(s0, s1, |i, j| {
                            if j == 0 {
                                pair_value(k, i, 2 * m, c)
                            } else {
                                Complex::new(0.0, 0.0)
                            }
                        });
                        ops.mask(&v, top - 1)
                    })
                    .collect::<Result<Vec<Plaintext>, LinalgError>>()
            };
            let spread: Vec<i64> = (c.trailing_zeros()..unit.log_s1() as u32).map(|t| -(1i64 << t)).collect();
            (0..ap)
                .into_par_iter()
                .map(|p| {
                    let y: Vec<Ciphertext> = (0..h).map(|m| sums[m * ap + p].clone()).collect();
                    let q: Vec<Ciphertext> = (0..c)
                        .into_par_iter()
                        .map(|k| ops.mul_masks_sum(&y, &masks_of(k)?))
                        .collect::<Result<_, LinalgError>>()?;
                    // sum_k rho_{-k}(Q_k), then R_c.
                    let mut acc = ops.rot_tree(q, -1)?;
                    ops.rot_sum(&mut acc, spread.iter().copied())?;
                    ops.twice_real(&acc)
                })
                .collect::<Result<_, LinalgError>>()?
        }
    };
    let out = EncryptedMatrix::from_blocks(out_layout, blocks)?;
    let levels = top - out.level();
    Ok((out, ops.counts(levels)))
}
