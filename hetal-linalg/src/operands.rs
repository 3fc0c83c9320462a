//! Validation shared by the block products: layouts, tilings, shapes and levels of the two
//! operands, checked before any homomorphic work.

use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling, UnitShape};
use crate::matrix::EncryptedMatrix;

/// A layout error with a fixed reason.
pub(crate) fn layout_error(op: &'static str, reason: &str) -> LinalgError {
    LinalgError::InvalidLayout { op, reason: reason.to_string() }
}

fn shape_mismatch(op: &'static str, la: &BlockLayout, lb: &BlockLayout, reason: &'static str) -> LinalgError {
    LinalgError::ShapeMismatch {
        op,
        left_rows: la.rows,
        left_cols: la.cols,
        right_rows: lb.rows,
        right_cols: lb.cols,
        reason,
    }
}

/// Operands of `A * B^T`: `A` untiled, `B` tiled vertically with period `c`, equal unit shapes,
/// columns and block columns. Returns the unit shape and `c`.
pub(crate) fn abt_operands(
    op: &'static str,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
) -> Result<(UnitShape, usize), LinalgError> {
    let (la, lb) = (a.layout(), b.layout());
    let Tiling::Vertical { period: c } = lb.tiling else {
        return Err(layout_error(op, "B must be tiled vertically (the weight layout)"));
    };
    if la.tiling != Tiling::None {
        return Err(layout_error(op, "A must be untiled"));
    }
    if la.unit != lb.unit || la.cols != lb.cols || la.block_cols != lb.block_cols {
        return Err(shape_mismatch(op, la, lb, "A * B^T needs equal column counts and unit shapes"));
    }
    Ok((la.unit, c))
}

/// Operands of `A^T * B`: `A` tiled horizontally with period `c`, `B` untiled, equal unit
/// shapes, rows and block rows. Returns the unit shape and `c`.
pub(crate) fn atb_operands(
    op: &'static str,
    a: &EncryptedMatrix,
    b: &EncryptedMatrix,
) -> Result<(UnitShape, usize), LinalgError> {
    let (la, lb) = (a.layout(), b.layout());
    let Tiling::Horizontal { period: c } = la.tiling else {
        return Err(layout_error(op, "A must be tiled horizontally (the softmax-output layout)"));
    };
    if lb.tiling != Tiling::None {
        return Err(layout_error(op, "B must be untiled"));
    }
    if la.unit != lb.unit || la.rows != lb.rows || la.block_rows != lb.block_rows {
        return Err(shape_mismatch(op, la, lb, "A^T * B needs equal row counts and unit shapes"));
    }
    Ok((la.unit, c))
}

/// `min(level(A), level(B))`, refused unless it is at least `needed`.
pub(crate) fn top_level(op: &'static str, left: usize, right: usize, needed: usize) -> Result<usize, LinalgError> {
    let top = left.min(right);
    if top < needed {
        return Err(LinalgError::LevelTooLow { op, left, right, needed });
    }
    Ok(top)
}
