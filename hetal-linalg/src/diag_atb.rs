//! DiagATB: `A^T * B` for `A` (`a x c`, tiled horizontally) and `B` (`a x b`, plain block
//! layout), result in the vertically tiled weight layout (HETAL's backward pass,
//! `grad = (P - Y)^T * X`).

use crate::counts::{Algorithm, OpCounts};
use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling, UnitShape};
use crate::matrix::EncryptedMatrix;
use crate::operands::{atb_operands, layout_error};
use crate::ops::{block_values, pair_value, Ops};
use crate::rotations::{check_keys, rotation_steps};
use ckks_scheme::{Ciphertext, Complex, Evaluator, Plaintext};
use rayon::prelude::*;

/// How DiagATB shifts `A` into diagonal pairs.
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

/// How DiagATB sums the products of each diagonal pair over the rows of a block and places
/// them in the output rows (same levels either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowSum {
    /// The paper's schedule: each pair `m` is summed over all `s0` rows (`log s0` rotations)
    /// and then placed with its mask, `(c/2) log s0` rotations per output block. PRotUp
    /// repairs the row-end wrap with one rotation per pair and block.
    PerPair,
    /// Placed first, summed once (the default of [`diag_atb`]). The placement masks are
    /// periodic in the rows with period `c`, so they commute with the sum over rows `c` apart,
    /// `S_c`: with `y_m` pair `m`'s product, `P_m` its placement mask, `rho_k` the rotation by
    /// `k` rows and `g` = [`shared_group`],
    /// `R = S_c(sum_{b < c/g} rho_{gb}(sum_m rho_{-gb}(P_m) V_m))`, `V_m = sum_{a < g}
    /// rho_a(y_m)`. Per output block: `(c/2) log g` rotations for the `V_m`, `c/g - 1` for the
    /// sum over `b` (a binary tree) and `log(s0 / c)` for `S_c`, instead of `(c/2) log s0`;
    /// `(c/2)(c/g)` constant products with one rescale per `b`. PRotUp's wrap takes one
    /// rotation per block of `B` (`B + L_m (rho_1(B) - B)`, `L_m` the last `2m` columns), and `A`
    /// and `B` are dropped to the levels the product needs before they are rotated. The same
    /// levels and rotation keys as [`RowSum::PerPair`].
    Shared,
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

    /// The algorithm tag of this variant with row sum `row_sum`, used by the count and key
    /// functions.
    pub fn algorithm(self, row_sum: RowSum) -> Algorithm {
        match (self, row_sum) {
            (AtbVariant::Plain, RowSum::PerPair) => Algorithm::DiagAtb,
            (AtbVariant::PRotUp, RowSum::PerPair) => Algorithm::DiagAtbPRotUp,
            (AtbVariant::Plain, RowSum::Shared) => Algorithm::DiagAtbShared,
            (AtbVariant::PRotUp, RowSum::Shared) => Algorithm::DiagAtbPRotUpShared,
        }
    }
}

/// `A^T * B` with the variant chosen by [`AtbVariant::best_for`] from the operands' levels
/// and the shared row sum ([`RowSum::Shared`]). See [`diag_atb_with`].
pub fn diag_atb(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    diag_atb_with(eval, a, b, AtbVariant::best_for(a.level(), b.level()), RowSum::Shared)
}

/// `A^T * B`, result `c' x b` (`c'` = columns of `A`) tiled vertically with period `c`.
///
/// `A` has [`Tiling::Horizontal`] with period `c` (padded classes), `B` is untiled, both with
/// the same unit shape and block rows. With `Z_0 = A~ + i shift(A~, 1)` (row-wise cyclic
/// shift, two rotations and one mask), for each pair `m < c/2` take `Z_m` = `Z_0` shifted by
/// `2m` in every row, multiply it with every block of `B`, sum over block rows and over all
/// rows (rotations `s1, 2 s1, .., s0/2 s1`), and place real and imaginary parts with a complex
/// mask on rows `(j + 2m) mod c` and `(j + 2m + 1) mod c`; the sum over pairs plus its
/// conjugate is the result. Costs ([`crate::predicted_counts`]) with [`RowSum::PerPair`]:
/// Mult `(c/2) A'B'`; plain: Rot `c A' + (c/2) B' log s0`, CMult `(c/2)(A' + B')`, 4 levels
/// (3 if `c = 2`); PRotUp: Rot and CMult `(c/2 - 1)(B' - 1) A'` more (for `A' = 1`), 3 levels;
/// `B'` conjugations. [`RowSum::Shared`] replaces the `(c/2) B' log s0` rotations by
/// `B' (c - 1 + log(s0 / c))` and PRotUp's `(c/2 - 1) A'B'` wrap rotations by `A'B'`.
pub fn diag_atb_with(
    eval: &Evaluator,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
    variant: AtbVariant,
    row_sum: RowSum,
) -> Result<(EncryptedMatrix, OpCounts), LinalgError> {
    let op = "diag_atb";
    let (unit, c) = atb_operands(op, a, b)?;
    check_keys(op, eval, &rotation_steps(variant.algorithm(row_sum), unit, c)?, true)?;
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
    let ap = la.block_rows;

    // The shared schedule rotates A at the level the product needs, not above.
    let a_level = if row_sum == RowSum::Shared { product_level + pre_a } else { level_a };

    // Z_0 = A~ + i shift(A~, 1), per block row, one level below A.
    let z0: Vec<Ciphertext> = (0..ap)
        .into_par_iter()
        .map(|p| {
            let ap_ = &ops.drop_to(a.block(p, 0), a_level)?;
            let r = ops.rot_hoisted(ap_, &[1, 1 - c as i64])?;
            let diff = eval.sub(&r[1], &r[0])?;
            let im_last: Vec<Complex> = last_cols(unit, 1).iter().map(|&x| Complex::new(0.0, x)).collect::<Vec<_>>();
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
                        let mask = ops.real_mask(&last_cols(unit, 2 * m), diff.level())?;
                        let fix = ops.mul_mask(&diff, &mask)?;
                        out.push(ops.add(&pair[0], &fix)?);
                    }
                }
            }
            Ok(out)
        })
        .collect::<Result<_, LinalgError>>()?;

    let back = Backward { ops: &ops, b, shifted: &shifted, variant, product_level, c };
    let blocks: Vec<Ciphertext> = match row_sum {
        RowSum::PerPair => back.per_pair_blocks()?,
        RowSum::Shared => back.shared_blocks()?,
    };
    let out = EncryptedMatrix::from_blocks(out_layout, blocks)?;
    let levels = level_a.min(level_b) - out.level();
    Ok((out, ops.counts(levels)))
}

/// A block's mask of its last `k` columns.
fn last_cols(unit: UnitShape, k: usize) -> Vec<f64> {
    block_values(unit.s0, unit.s1, |_, j| if j + k >= unit.s1 { 1.0 } else { 0.0 })
}

/// The rows `g` that the shared row sum adds up per pair before it places the pairs
/// ([`RowSum::Shared`]): a power of two `g <= c` minimising `4 (h log g + c/g - 1) + h c/g`,
/// its rotations per output block weighted 4 to its constant products (a key switch costs
/// about four constant products and rescales at the levels DiagATB runs, measured at
/// `N = 2^16`), the smaller on a tie. 2 for `c = 4` and 8, 4 for `c = 16`, 8 for `c = 32`.
pub fn shared_group(c: usize, s0: usize) -> usize {
    let h = c / 2;
    let cost = |g: usize| 4 * (h * g.trailing_zeros() as usize + c / g - 1) + h * c / g;
    (0..=c.min(s0).trailing_zeros()).map(|t| 1usize << t).min_by_key(|&g| (cost(g), g)).unwrap_or(1)
}

/// What both row sums of DiagATB start from: `B`, the shifted pairs of `A` per block row, the
/// variant, the level of the products and the padded classes.
struct Backward<'a> {
    ops: &'a Ops<'a>,
    b: &'a EncryptedMatrix,
    shifted: &'a [Vec<Ciphertext>],
    variant: AtbVariant,
    product_level: usize,
    c: usize,
}

impl Backward<'_> {
    /// The output blocks by the paper's schedule ([`RowSum::PerPair`]): for each block column
    /// `q` of `B` and pair `m`, the product summed over block rows, over all rows
    /// (`log s0` rotations), and placed with its pair mask.
    fn per_pair_blocks(&self) -> Result<Vec<Ciphertext>, LinalgError> {
        let Self { ops, b, shifted, variant, product_level, c } = *self;
        let (eval, unit) = (ops.eval, b.unit());
        let (s0, s1, h) = (unit.s0, unit.s1, c / 2);
        let (ap, bp) = (shifted.len(), b.layout().block_cols);
        let col_sum: Vec<i64> = (0..unit.log_s0()).map(|t| (s1 << t) as i64).collect();
        (0..bp)
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
                            let t = ops.mul_mask(bpq, &ops.real_mask(&last_cols(unit, 2 * m), bpq.level())?)?;
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
                let acc = acc.ok_or_else(|| layout_error("diag_atb", "no diagonal pairs"))?;
                ops.twice_real(&acc)
            })
            .collect::<Result<_, LinalgError>>()
    }

    /// The output blocks by the shared row sum ([`RowSum::Shared`]).
    fn shared_blocks(&self) -> Result<Vec<Ciphertext>, LinalgError> {
        let Self { ops, b, shifted, variant, product_level, c } = *self;
        let (eval, unit) = (ops.eval, b.unit());
        let (s0, s1, h) = (unit.s0, unit.s1, c / 2);
        let (ap, bp) = (shifted.len(), b.layout().block_cols);
        let wrap = variant == AtbVariant::PRotUp && h > 1;
        // B at the level its wrap repair (one mask level) or the product needs.
        let b_level = product_level + usize::from(wrap);
        // Masks shared by every block: the wrap's last 2m columns, and the placement of pair m
        // shifted back by k rows, rho_{-k}(P_m)[r, j] = P_m[r - k, j].
        let last_cols: Vec<Plaintext> = if wrap {
            (1..h).map(|m| ops.real_mask(&last_cols(unit, 2 * m), b_level)).collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let g = shared_group(c, unit.s0);
        let place: Vec<Vec<Plaintext>> = (0..c / g)
            .into_par_iter()
            .map(|b| {
                let k = g * b;
                (0..h)
                    .map(|m| {
                        ops.mask(&block_values(s0, s1, |r, j| pair_value(r + c - k, j, 2 * m, c)), product_level - 1)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        let group: Vec<i64> = (0..g.trailing_zeros()).map(|t| (s1 << t) as i64).collect();
        let row_sum: Vec<i64> = (c.trailing_zeros()..unit.log_s0() as u32).map(|t| (s1 << t) as i64).collect();
        (0..bp)
            .into_par_iter()
            .map(|q| {
                // rhs[p][m]: block (p, q) of B with its row ends repaired for the shift of pair m.
                let rhs: Vec<Vec<Ciphertext>> = (0..ap)
                    .map(|p| {
                        let bpq = ops.drop_to(b.block(p, q), b_level)?;
                        if !wrap {
                            return Ok(vec![bpq]);
                        }
                        let e = eval.sub(&ops.rot(&bpq, s1 as i64)?, &bpq)?;
                        let base = ops.drop_to(&bpq, product_level)?;
                        let mut out = vec![base.clone()];
                        for mask in &last_cols {
                            out.push(eval.add(&base, &ops.mul_mask(&e, mask)?)?);
                        }
                        Ok(out)
                    })
                    .collect::<Result<_, LinalgError>>()?;
                // V_m: pair m's product summed over block rows and over g consecutive rows.
                let v: Vec<Ciphertext> = (0..h)
                    .map(|m| {
                        let terms = (0..ap)
                            .map(|p| {
                                let lhs = ops.drop_to(&shifted[p][m], product_level)?;
                                ops.mul(&lhs, &rhs[p][if wrap { m } else { 0 }])
                            })
                            .collect::<Result<Vec<_>, LinalgError>>()?;
                        let mut y = ops.relin_rescale(&ops.sum(terms)?)?;
                        ops.rot_sum(&mut y, group.iter().copied())?;
                        Ok(y)
                    })
                    .collect::<Result<_, LinalgError>>()?;
                // Q_b = sum_m rho_{-gb}(P_m) V_m, then sum_b rho_{gb}(Q_b) by a tree of row rotations.
                let q_b: Vec<Ciphertext> =
                    place.iter().map(|masks| ops.mul_masks_sum(&v, masks)).collect::<Result<_, LinalgError>>()?;
                let mut acc = ops.rot_tree(q_b, (g * s1) as i64)?;
                ops.rot_sum(&mut acc, row_sum.iter().copied())?;
                ops.twice_real(&acc)
            })
            .collect::<Result<_, LinalgError>>()
    }
}
