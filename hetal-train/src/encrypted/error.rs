//! The error type of encrypted training.

use crate::softmax::SoftmaxError;
use crate::store::FileError;
use ckks_scheme::SchemeError;
use hetal_linalg::LinalgError;
use thiserror::Error;

/// What can go wrong in encrypted training, on either side of the protocol.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EncryptedTrainError {
    /// An error of the CKKS layer.
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    /// An error of the encrypted matrix products or layouts.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// An error of the encrypted softmax or of a refresh.
    #[error(transparent)]
    Softmax(#[from] SoftmaxError),
    /// A setting that cannot work (learning rate, batch size, too few levels after a refresh).
    #[error("invalid encrypted-training configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A message that does not fit the state of the receiver (wrong shape, layout or epoch).
    #[error("protocol error: {reason}")]
    Protocol {
        /// What is wrong.
        reason: String,
    },
    /// A file (a checkpoint) that cannot be written or read, or belongs to another key or job.
    #[error(transparent)]
    File(#[from] FileError),
}

impl EncryptedTrainError {
    /// A [`EncryptedTrainError::Protocol`] error.
    pub fn protocol(reason: impl Into<String>) -> Self {
        Self::Protocol { reason: reason.into() }
    }

    /// A [`EncryptedTrainError::Config`] error.
    pub fn config(reason: impl Into<String>) -> Self {
        Self::Config { reason: reason.into() }
    }
}
