//! A labelled split (features and class labels) and a data set of three splits.

use crate::matrix::Matrix;

/// Samples of one split: features `x` (one row per sample) and class labels `y`.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Features, `samples x features`.
    pub x: Matrix,
    /// Class labels in `0..classes`, one per row of `x`.
    pub y: Vec<usize>,
}

impl Split {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether the split has no samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The samples listed in `indices`, in that order (a mini-batch).
    pub fn select(&self, indices: &[usize]) -> Split {
        Split { x: self.x.select_rows(indices), y: indices.iter().map(|&i| self.y[i]).collect() }
    }
}

/// A data set: train, validation and test splits with a common feature width.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// A short name (the folder name when loaded from disk).
    pub name: String,
    /// Number of classes (before padding to a power of two).
    pub classes: usize,
    /// Training split.
    pub train: Split,
    /// Validation split (early stopping).
    pub val: Split,
    /// Test split (final accuracy).
    pub test: Split,
}

impl Dataset {
    /// Number of features per sample (without the bias column).
    pub fn features(&self) -> usize {
        self.train.x.cols
    }

    /// The padded class count `c`: the next power of two `>= classes` (spec section 3).
    pub fn padded_classes(&self) -> usize {
        padded_classes(self.classes)
    }
}

/// `c = ` the next power of two `>= classes` (at least 1).
pub fn padded_classes(classes: usize) -> usize {
    classes.max(1).next_power_of_two()
}
