//! The error of the protocol sessions, by kind, so that a front end can tell the user what to do
//! (and the `hetal` binary can map each kind to its own exit code).

use crate::data::DataError;
use crate::encrypted::EncryptedTrainError;
use crate::plain::TrainError;
use crate::store::FileError;
use ckks_scheme::SchemeError;

/// What can go wrong in a protocol session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A file: unreadable, unwritable, corrupt, too large, of another key or job, locked.
    #[error(transparent)]
    File(#[from] FileError),
    /// Input data that cannot be used (shapes, values, labels).
    #[error(transparent)]
    Data(#[from] DataError),
    /// The CKKS layer refused an operation or an object.
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    /// Encrypted training refused a setting or a message.
    #[error(transparent)]
    Train(#[from] EncryptedTrainError),
    /// The plaintext trainer refused a setting.
    #[error(transparent)]
    Plain(#[from] TrainError),
    /// Keys, job and data that do not belong together (task shape, parameters, levels).
    #[error("{reason}")]
    Mismatch {
        /// What does not fit, with the values.
        reason: String,
    },
    /// A step of the protocol taken out of order, or a setting out of range.
    #[error("{reason}")]
    Usage {
        /// What is wrong and what to do.
        reason: String,
    },
}

// The layers below encrypted training reach the protocol through it, as they do in the
// encrypted trainer: one path, not a variant per layer.
impl From<hetal_linalg::LinalgError> for ProtocolError {
    fn from(e: hetal_linalg::LinalgError) -> Self {
        Self::Train(e.into())
    }
}

impl From<crate::softmax::SoftmaxError> for ProtocolError {
    fn from(e: crate::softmax::SoftmaxError) -> Self {
        Self::Train(e.into())
    }
}

impl ProtocolError {
    /// A [`ProtocolError::Mismatch`].
    pub fn mismatch(reason: impl Into<String>) -> Self {
        Self::Mismatch { reason: reason.into() }
    }

    /// A [`ProtocolError::Usage`].
    pub fn usage(reason: impl Into<String>) -> Self {
        Self::Usage { reason: reason.into() }
    }
}
