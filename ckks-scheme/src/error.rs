//! The error type of `ckks-scheme`.

use crate::encoding::EncodingError;
use crate::security::SecurityError;
use ckks_math::MathError;
use thiserror::Error;

/// Everything that can go wrong in `ckks-scheme`, with the values that caused it.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SchemeError {
    /// An error of the arithmetic layer.
    #[error(transparent)]
    Math(#[from] MathError),
    /// An encoding error (slot count, overflow, non-finite input).
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// Parameters above the security table.
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// Parameters that cannot be built.
    #[error("invalid parameters: {reason}")]
    InvalidParameters {
        /// What is wrong.
        reason: String,
    },
    /// Operands at different levels where the operation needs equal levels.
    #[error("{op}: level mismatch ({left} vs {right}); drop the higher one with `drop_to_level` first")]
    LevelMismatch {
        /// The operation.
        op: &'static str,
        /// Level of the left operand.
        left: usize,
        /// Level of the right operand.
        right: usize,
    },
    /// Operands whose scales differ by more than the tolerance.
    #[error("{op}: scale mismatch (2^{left_log2:.4} vs 2^{right_log2:.4})")]
    ScaleMismatch {
        /// The operation.
        op: &'static str,
        /// `log2` of the left scale.
        left_log2: f64,
        /// `log2` of the right scale.
        right_log2: f64,
    },
    /// An operation that needs more levels than the operand has.
    #[error("{op}: ciphertext at level {level} but at least {needed} is needed")]
    OutOfLevels {
        /// The operation.
        op: &'static str,
        /// The operand's level.
        level: usize,
        /// The level required.
        needed: usize,
    },
    /// A rotation or conjugation without its key.
    #[error("{op}: no Galois key for element {galois_element} (rotation by {rotation:?}); generate it on the client")]
    MissingGaloisKey {
        /// The operation.
        op: &'static str,
        /// The Galois element `k` of `X -> X^k`.
        galois_element: usize,
        /// The slot rotation it stands for, if any.
        rotation: Option<i64>,
    },
    /// A relinearization without the relinearization key.
    #[error("{op}: no relinearization key in the evaluation keys")]
    MissingRelinearizationKey {
        /// The operation.
        op: &'static str,
    },
    /// A ciphertext with the wrong number of components.
    #[error("{op}: ciphertext has {found} components, expected {expected}")]
    Degree {
        /// The operation.
        op: &'static str,
        /// Components expected.
        expected: usize,
        /// Components found.
        found: usize,
    },
    /// Objects made under different parameters.
    #[error("{op}: parameter mismatch ({detail})")]
    ParameterMismatch {
        /// The operation.
        op: &'static str,
        /// What differs.
        detail: String,
    },
    /// A scale that is not finite and positive, or that overflows the modulus.
    #[error("{op}: invalid scale 2^{log2:.2} ({reason})")]
    InvalidScale {
        /// The operation.
        op: &'static str,
        /// `log2` of the scale.
        log2: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A slot vector of the wrong length.
    #[error("{op}: {found} values for {slots} slots")]
    SlotCount {
        /// The operation.
        op: &'static str,
        /// Slots of the parameters.
        slots: usize,
        /// Values given.
        found: usize,
    },
    /// A blob that is not a valid serialized object (bad magic, version, kind, or payload).
    #[error("cannot load: {reason}")]
    Format {
        /// What is wrong.
        reason: String,
    },
}
