//! Errors of loading and preparing data sets: each names the file and what is wrong with it.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can be wrong with a data set on disk (or with its features when they are
/// scaled).
#[derive(Debug, Error)]
#[non_exhaustive]
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
    /// A size or count over one of the documented limits (the `MAX_*` constants of
    /// [`crate::data`]), refused before anything of that size is allocated.
    #[error("{path}: {what} {size} is over the limit of {limit}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What was counted, with its unit (for example `file size in bytes`).
        what: &'static str,
        /// The size or count found (or claimed by the file).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The shape of a `.npy` array does not match the length of its data: a truncated file,
    /// trailing bytes, or a shape claiming more elements than the file holds.
    #[error(
        "{path}: shape {shape:?} of {item_bytes}-byte elements needs {} bytes of data, the file has {data_bytes}",
        needed_bytes(.shape, *.item_bytes)
    )]
    DataLength {
        /// The file.
        path: PathBuf,
        /// The shape in the header.
        shape: Vec<u64>,
        /// Bytes per element of the dtype.
        item_bytes: u64,
        /// Bytes of data after the header.
        data_bytes: u64,
    },
    /// A CSV line with another number of fields than the header.
    #[error("{path}:{line}: {found} fields, the header has {expected}")]
    FieldCount {
        /// The file.
        path: PathBuf,
        /// Line number (1-based, the header is line 1).
        line: usize,
        /// Fields of the header.
        expected: usize,
        /// Fields of the line.
        found: usize,
    },
    /// Data with another number of feature columns than required (for example a validation CSV
    /// that does not match the training data or the keys' task).
    #[error("{path}: {found} feature columns, expected {expected}")]
    FeatureCount {
        /// The file.
        path: PathBuf,
        /// Feature columns required.
        expected: usize,
        /// Feature columns found (without the label column).
        found: usize,
    },
    /// A feature whose row has no finite L2 norm, before scaling (training split) or after
    /// division by the feature scale (any split): scaling would turn it (or its whole data set)
    /// into infinities or zeros.
    #[error(
        "{split} split, row {row}, column {col}: feature {value:?} cannot be scaled: the L2 norm of its row is not \
         finite in f64"
    )]
    FeatureOverflow {
        /// `train`, `val` or `test`.
        split: &'static str,
        /// Row of the value (0-based).
        row: usize,
        /// Column of the value (0-based).
        col: usize,
        /// The value (before scaling).
        value: f64,
    },
    /// A feature scale (the divisor of every feature) that is not finite and positive: the
    /// largest training-row norm of an all-zero or empty training split (or one whose features
    /// are all so small that their squares underflow), or a bad stored value.
    #[error(
        "feature scale {divisor:?} is not finite and positive (it divides every feature; the largest training-row \
         L2 norm is 0 for an empty or all-zero training split)"
    )]
    BadFeatureScale {
        /// The divisor.
        divisor: f64,
    },
}

/// `product(shape) * item_bytes` in decimal, or a phrase when it overflows `u64`.
fn needed_bytes(shape: &[u64], item_bytes: u64) -> String {
    element_count(shape)
        .and_then(|n| n.checked_mul(item_bytes))
        .map_or_else(|| "more than 2^64".into(), |n| n.to_string())
}

/// The number of elements of an array of `shape`: `None` if the product overflows `u64`. A zero
/// dimension makes it 0 whatever the others are.
pub(crate) fn element_count(shape: &[u64]) -> Option<u64> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
}
