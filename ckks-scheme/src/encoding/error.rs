//! The error type of the encoder.

use thiserror::Error;

/// Everything that can go wrong while encoding or decoding, with the offending values.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum EncodingError {
    /// A ring degree or slot count that is not a supported power of two.
    #[error(
        "invalid encoding dimensions: ring degree N = {n} with {slots} slots \
         (N must be a power of two in [2, 2^17], slots a power of two in [1, N/2])"
    )]
    InvalidDimensions {
        /// The ring degree `N`.
        n: usize,
        /// The slot count.
        slots: usize,
    },
    /// A message whose length is not the slot count of the encoder.
    #[error("wrong number of slot values: expected {expected}, found {found}")]
    WrongSlotCount {
        /// The encoder's slot count.
        expected: usize,
        /// The length that was passed.
        found: usize,
    },
    /// A coefficient vector whose length is not the ring degree.
    #[error("wrong number of coefficients: expected N = {expected}, found {found}")]
    WrongCoefficientCount {
        /// The ring degree `N`.
        expected: usize,
        /// The length that was passed.
        found: usize,
    },
    /// A NaN or infinite input (slot value, coefficient, or coefficient after scaling).
    #[error("{input} at index {index} is not finite")]
    NonFinite {
        /// Which input: `"slot value"`, `"coefficient"` or `"scaled coefficient"`.
        input: &'static str,
        /// Its index.
        index: usize,
    },
    /// A scaled, rounded coefficient at or beyond the bound the caller allows.
    #[error(
        "scaled coefficient at index {index} is {value:e} (about 2^{:.1}), at or beyond the bound \
         {bound:e} (2^{:.1}): lower the scale or the message magnitude",
        value.abs().log2(),
        bound.log2()
    )]
    Overflow {
        /// Index of the coefficient.
        index: usize,
        /// The scaled, rounded value.
        value: f64,
        /// The bound it reached.
        bound: f64,
    },
    /// A scale that is not a finite positive number.
    #[error("invalid scale {scale}: it must be finite and positive")]
    InvalidScale {
        /// The rejected scale.
        scale: f64,
    },
    /// A rounding bound outside `(0, 2^126]`.
    #[error("invalid rounding bound {bound:e}: it must be in (0, 2^126] so results fit in i128")]
    InvalidBound {
        /// The rejected bound.
        bound: f64,
    },
}
