//! The error of the file store: every variant names the file.

use super::fingerprint::Fingerprint;
use ckks_scheme::SchemeError;
use hetal_linalg::LinalgError;
use std::path::{Path, PathBuf};

/// What can go wrong with a file; every variant names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Reading or writing failed (a full disk, a missing folder, no permission).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid file of this format (truncated, corrupt, wrong version).
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is of another kind than the command expects.
    #[error("{path}: expected {expected}, but the file holds {found}")]
    Kind {
        /// The file.
        path: PathBuf,
        /// What the command needs.
        expected: &'static str,
        /// What the file holds.
        found: &'static str,
    },
    /// The file is larger than any valid file of its kind: refused before it is read.
    #[error("{path}: {size} bytes is more than {limit} bytes, the most {kind} can take; refused unread")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit of its kind.
        limit: u64,
        /// The kind.
        kind: &'static str,
    },
    /// The file was made under another key (or for another job) than the ones at hand.
    #[error(
        "{path}: made under {what} {found}, but {what} {expected} is in use; keys, jobs and their files \
         must come from one `hetal keygen` and one `hetal encrypt`"
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// `parameters`, `key` or `job`.
        what: &'static str,
        /// The fingerprint in use.
        expected: Fingerprint,
        /// The fingerprint in the file.
        found: Fingerprint,
    },
    /// The file exists and the command would replace it.
    #[error("{path} exists; pass --force to replace it")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Another process holds the lock of a job directory.
    #[error("{path} is locked by another hetal process working on this job; wait for it to finish")]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// A CKKS object in the file is corrupt or made under other parameters.
    #[error("{path}: {source}")]
    Scheme {
        /// The file.
        path: PathBuf,
        /// The CKKS error.
        source: SchemeError,
    },
    /// A matrix layout in the file is invalid.
    #[error("{path}: {source}")]
    Layout {
        /// The file.
        path: PathBuf,
        /// The layout error.
        source: LinalgError,
    },
    /// A JSON file does not parse.
    #[error("{path}: not a valid {what}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        what: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
}

impl FileError {
    /// A [`FileError::Format`] error.
    pub fn format(path: &Path, reason: impl Into<String>) -> Self {
        Self::Format { path: path.into(), reason: reason.into() }
    }

    /// Wraps an I/O error with the file's name.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// Wraps a CKKS error with the file's name.
    pub fn scheme(path: &Path, source: SchemeError) -> Self {
        Self::Scheme { path: path.into(), source }
    }

    /// Wraps a layout error with the file's name.
    pub fn layout(path: &Path, source: LinalgError) -> Self {
        Self::Layout { path: path.into(), source }
    }
}
