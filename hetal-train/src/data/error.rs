//! Errors of loading and preparing data sets: each names the file and what is wrong with it.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can be wrong with a data set on disk.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file cannot be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a readable `.npy` array (bad magic, header or truncated data).
    #[error("{path}: not a valid .npy file: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What the `.npy` reader reported.
        reason: String,
    },
    /// The array has an element type the loader does not accept.
    #[error("{path}: dtype {found}, expected {expected}")]
    Dtype {
        /// The file.
        path: PathBuf,
        /// The accepted element types.
        expected: &'static str,
        /// The `.npy` type string found (for example `<i4`).
        found: String,
    },
    /// The array has the wrong number of dimensions or a dimension that disagrees with
    /// another file of the data set.
    #[error("{path}: shape {found:?}, expected {expected}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// What the shape should be.
        expected: String,
        /// The shape found.
        found: Vec<u64>,
    },
    /// A feature is NaN or infinite.
    #[error("{path}: non-finite feature {value} at row {row}, column {col}")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Row of the value (0-based).
        row: usize,
        /// Column of the value (0-based).
        col: usize,
        /// The value.
        value: f64,
    },
    /// A label is negative or not below the class count.
    #[error("{path}: label {label} at row {row} is outside 0..{classes}")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Row of the label (0-based).
        row: usize,
        /// The label.
        label: i64,
        /// The class count.
        classes: usize,
    },
    /// A CSV line that cannot be parsed.
    #[error("{path}:{line}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Line number (1-based, the header is line 1).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A split without any rows, or a class count of zero.
    #[error("{path}: {reason}")]
    Empty {
        /// The file (or folder).
        path: PathBuf,
        /// What is empty.
        reason: String,
    },
}
