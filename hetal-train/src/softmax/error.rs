//! Errors of the softmax approximation.

use ckks_scheme::SchemeError;
use thiserror::Error;

/// What can go wrong when building or evaluating the softmax approximation.
#[derive(Debug, Error)]
pub enum SoftmaxError {
    /// An error of the CKKS layer (missing key, level or scale mismatch, ...).
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    /// An error of the matrix layer (the fold of compact rows).
    #[error(transparent)]
    Linalg(#[from] hetal_linalg::LinalgError),
    /// A configuration that cannot work (non-finite constant, too few levels after a refresh).
    #[error("invalid softmax configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A layout that does not fit the ciphertext or the class count.
    #[error("invalid tiled layout: {reason}")]
    Layout {
        /// What is wrong.
        reason: String,
    },
    /// A refresh failed (for the test double: a value outside the allowed range).
    #[error("refresh failed: {reason}")]
    Refresh {
        /// What is wrong.
        reason: String,
    },
}
