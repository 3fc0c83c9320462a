//! DiagATB: `A^T * B` for `A` (`a x c`, tiled horizontally) and `B` (`a x b`, plain block
//! layout), result in the vertically tiled weight layout (HETAL's backward pass,
//! `grad = (P - Y)^T * X`).

use crate::counts::{Algorithm, OpCounts};
use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling};
use crate::matrix::EncryptedMatrix;
use crate::operands::{atb_operands, layout_error};
use crate::ops::{block_values, pair_value, Ops};
use crate::rotations::{check_keys, rotation_steps};
use ckks_scheme::{Ciphertext, Complex, Evaluator};
use rayon::prelude::*;

/// Which schedule of DiagATB to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtbVariant {
    /// Masked in-row shifts of `A`: two levels of masks on `A`, then product and placement.
    /// Output level `min(level(A) - 2, level(B)) - 2`: best when `A` is two levels above `B`.
    Plain,
    /// PRotUp: `A` is shifted by plain rotations and the row-end wrap is repaired on `B`
    /// (mask the last `k` columns and rotate them up one row). One level less on `A`, more
    /// rotations and constant products. Output level `min(level(A) - 1, level(B) - 1) - 2`.
    PRotUp,
}

impl AtbVariant {
    /// The variant that leaves the higher output level for inputs at `level_a`, `level_b`
    /// (the plain one on a tie: fewer operations).
    pub fn best_for(level_a: usize, level_b: usize) -> Self {
        let plain = (level_a.saturating_sub(2)).min(level_b);
        let rot_up = level_a.saturating_sub(1).min(level_b.saturating_sub(1));
        if plain >= rot_up {
            AtbVariant::Plain
        } else {
            AtbVariant::PRotUp
        }
    }

    /// The algorithm tag used by the count and key functions.
    pub fn algorithm(self) -> Algorithm {
        match self {
            AtbVariant::Plain => Algorithm::DiagAtb,
            AtbVariant::PRotUp => Algorithm::DiagAtbPRotUp,
        }
    }
}

/// `A^T * B` with the variant chosen by [`AtbVariant::best_for`] from the operands' levels.
/// See [`diag_atb_with`].
pub fn diag_atb(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    diag_atb_with(eval, a, b, AtbVariant::best_for(a.level(), b.level()))
}

/// `A^T * B`, result `c' x b` (`c'` = columns of `A`) tiled vertically with period `c`.
///
/// `A` has [`Tiling::Horizontal`] with period `c` (padded classes), `B` is untiled, both with
/// the same unit shape and block rows. With `Z_0 = A~ + i shift(A~, 1)` (row-wise cyclic
/// shift, two rotations and one mask), for each pair `m < c/2` take `Z_m` = `Z_0` shifted by
/// `2m` in every row, multiply it with every block of `B`, sum over block rows and over all
/// rows (rotations `s1, 2 s1, .., s0/2 s1`), and place real and imaginary parts with a complex
/// mask on rows `(j + 2m) mod c` and `(j + 2m + 1) mod c`; the sum over pairs plus its
/// conjugate is the result. Costs ([`crate::predicted_counts`]): Mult `(c/2) A'B'`; plain:
/// Rot `c A' + (c/2) B' log s0`, CMult `(c/2)(A' + B')`, 4 levels (3 if `c = 2`); PRotUp: Rot
/// and CMult `(c/2 - 1)(B' - 1) A'` more (for `A' = 1`), 3 levels; `B'` conjugations.
pub fn diag_atb_with(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
    variant: AtbVariant,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    let op = "diag_atb";
    let (unit, c) = atb_operands(op, a, b)?;
    check_keys(op, eval, &rotation_steps(variant.algorithm(), unit, c)?, true)?;
    let (la, lb) = (a.layout(), b.layout());
    let (level_a, level_b) = (a.level(), b.level());
    let h = c / 2;
    // Levels of A spent before the product, and of B.
    let (pre_a, pre_b) = match variant {
        AtbVariant::Plain => (if h > 1 { 2 } else { 1 }, 0),
        AtbVariant::PRotUp => (1, usize::from(h > 1)),
    };
    if level_a < pre_a + 2 || level_b < pre_b + 2 {
        let needed = (pre_a + 2).max(pre_b + 2);
        return Err(LinalgError::LevelTooLow { op, left: level_a, right: level_b, needed });
    }
    let product_level = (level_a - pre_a).min(level_b - pre_b);
    let out_layout = BlockLayout::new(la.cols, lb.cols, unit, Tiling::Vertical { period: c })?;
    let ops = Ops::new(eval);
    let (ap, bp) = (la.block_rows, lb.block_cols);
    let (s0, s1) = (unit.s0, unit.s1);
    let last_cols = |k: usize| block_values(s0, s1, move |_, j| if j + k >= s1 { 1.0 } else { 0.0 });

    // Z_0 = A~ + i shift(A~, 1), per block row, one level below A.
    let z0: Vec<Ciphertext> = (0..ap)
        .into_par_iter()
        .map(|p| {
            let ap_ = a.block(p, 0);
            let r = ops.rot_hoisted(ap_, &[1, 1 - c as i64])?;
            let diff = eval.sub(&r[1], &r[0])?;
            let im_last: Vec<Complex> = last_cols(1).iter().map(|&x| Complex::new(0.0, x)).collect::<Vec<_>>();
            let fix = ops.mul_mask(&diff, &ops.mask(&im_last, diff.level())?)?;
            let base = eval.add(ap_, &eval.mul_by_i(&r[0])?)?;
            ops.add(&base, &fix)
        })
        .collect::<Result<_, LinalgError>>()?;

    // Shifted pairs of A per (m, p): Z_m (plain: masked shift) or rot(Z_0, 2m) (PRotUp).
    let shift_steps: Vec<i64> = match variant {
        AtbVariant::Plain => (1..h).flat_map(|m| [2 * m as i64, (2 * m) as i64 - c as i64]).collect(),
        AtbVariant::PRotUp => (1..h).map(|m| 2 * m as i64).collect(),
    };
    let shifted: Vec<Vec<Ciphertext>> = (0..ap)
        .into_par_iter()
        .map(|p| {
            let rots = if shift_steps.is_empty() { Vec::new() } else { ops.rot_hoisted(&z0[p], &shift_steps)? };
            let mut out = vec![z0[p].clone()];
            match variant {
                AtbVariant::PRotUp => out.extend(rots),
                AtbVariant::Plain => {
                    for (m, pair) in (1..h).zip(rots.chunks(2)) {
                        let diff = eval.sub(&pair[1], &pair[0])?;
                        let mask = ops.real_mask(&last_cols(2 * m), diff.level())?;
                        let fix = ops.mul_mask(&diff, &mask)?;
                        out.push(ops.add(&pair[0], &fix)?);
                    }
                }
            }
            Ok(out)
        })
        .collect::<Result<_, LinalgError>>()?;

    let col_sum: Vec<i64> = (0..unit.log_s0()).map(|t| (s1 << t) as i64).collect();
    let blocks: Vec<Ciphertext> = (0..bp)
        .into_par_iter()
        .map(|q| {
            let mut acc: Option<Ciphertext> = None;
            for m in 0..h {
                let mut terms = Vec::with_capacity(ap);
                for p in 0..ap {
                    let bpq = b.block(p, q);
                    let rhs = if variant == AtbVariant::PRotUp && m > 0 {
                        // Rows wrap at the row end of rot(Z_0, 2m): take the last 2m columns of
                        // B from the next row (mask, rotate up by one row).
                        let t = ops.mul_mask(bpq, &ops.real_mask(&last_cols(2 * m), bpq.level())?)?;
                        let up = ops.rot(&t, s1 as i64)?;
                        eval.add(&eval.sub(&ops.drop_to(bpq, t.level())?, &t)?, &up)?
                    } else {
                        bpq.clone()
                    };
                    let lhs = ops.drop_to(&shifted[p][m], product_level)?;
                    terms.push(ops.mul(&lhs, &ops.drop_to(&rhs, product_level)?)?);
                }
                let mut y = ops.relin_rescale(&ops.sum(terms)?)?;
                ops.rot_sum(&mut y, col_sum.iter().copied())?;
                let place = ops.mask(&block_values(s0, s1, |i, j| pair_value(i, j, 2 * m, c)), y.level())?;
                let y = ops.mul_mask(&y, &place)?;
                acc = Some(match acc {
                    None => y,
                    Some(x) => ops.add(&x, &y)?,
                });
            }
            let acc = acc.ok_or_else(|| layout_error(op, "no diagonal pairs"))?;
            ops.twice_real(&acc)
        })
        .collect::<Result<_, LinalgError>>()?;
    let out = EncryptedMatrix::from_blocks(out_layout, blocks)?;
    let levels = level_a.min(level_b) - out.level();
    Ok((out, ops.counts(levels)))
}
