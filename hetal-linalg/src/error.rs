//! The error type of `hetal-linalg`.

use ckks_scheme::SchemeError;
use thiserror::Error;

/// Everything a caller can get wrong with encrypted matrices, with the values that caused it.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LinalgError {
    /// An error of the CKKS layer (level, scale or parameter mismatch inside an operation).
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    /// Operand shapes that do not fit the product.
    #[error("{op}: shape mismatch, {left_rows}x{left_cols} against {right_rows}x{right_cols} ({reason})")]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// Rows of the left operand.
        left_rows: usize,
        /// Columns of the left operand.
        left_cols: usize,
        /// Rows of the right operand.
        right_rows: usize,
        /// Columns of the right operand.
        right_cols: usize,
        /// What does not fit.
        reason: &'static str,
    },
    /// A shape, unit shape or tiling that cannot be packed.
    #[error("{op}: invalid layout ({reason})")]
    InvalidLayout {
        /// The operation.
        op: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Operands whose levels are too low for the product's depth.
    #[error("{op}: operands at levels {left} and {right}, but {needed} levels are consumed")]
    LevelTooLow {
        /// The operation.
        op: &'static str,
        /// Level of the left operand.
        left: usize,
        /// Level of the right operand.
        right: usize,
        /// Levels the product consumes.
        needed: usize,
    },
    /// A rotation the product needs but the evaluation keys lack.
    #[error("{op}: no rotation key for step {rotation}; generate the keys of `rotation_steps` on the client")]
    MissingRotationKey {
        /// The operation.
        op: &'static str,
        /// The left rotation step (negative: right).
        rotation: i64,
    },
    /// The conjugation key is missing (the complex-slot trick needs it).
    #[error("{op}: no conjugation key in the evaluation keys")]
    MissingConjugationKey {
        /// The operation.
        op: &'static str,
    },
}
