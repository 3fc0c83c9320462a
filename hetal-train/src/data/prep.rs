//! Preparing features and labels for training: scaling by the largest training-row norm, the
//! bias column and one-hot labels over the padded class count.

use super::{DataError, Dataset};
use crate::matrix::Matrix;

/// The feature scaling applied to a data set: every feature was divided by `divisor`, the
/// largest L2 norm of a training row (dataset README), so that every training row has norm at
/// most 1. The client must apply the same divisor to new samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeatureScale {
    /// `max_i ||x_i||_2` over the training rows (1 if every row is zero, from
    /// refused by [`scale_features`]).
    pub divisor: f64,
}

impl FeatureScale {
    /// A scale dividing by `divisor` (for example one read back from a file): refused with
    /// [`DataError::BadFeatureScale`] unless finite and positive.
    pub fn new(divisor: f64) -> Result<Self, DataError> {
        if !(divisor.is_finite() && divisor > 0.0) {
            return Err(DataError::BadFeatureScale { divisor });
        }
        Ok(Self { divisor })
    }

    /// Divides the features of all three splits of `ds` by [`FeatureScale::divisor`], unchecked.
    fn divide(self, ds: &mut Dataset) {
        for split in [&mut ds.train, &mut ds.val, &mut ds.test] {
            split.x.data.iter_mut().for_each(|v| *v /= self.divisor);
        }
    }

    /// Divides the features of all three splits of `ds` by [`FeatureScale::divisor`] (what the
    /// client does to data after the divisor was fixed on the training split), after checks,
    /// leaving `ds` unchanged on error: the divisor must
    /// be finite and positive ([`DataError::BadFeatureScale`]) and every row of every split must
    /// keep a finite L2 norm once divided ([`DataError::FeatureOverflow`] names the split, row,
    /// column and value of the row's first non-finite or largest entry).
    pub fn apply(self, ds: &mut Dataset) -> Result<(), DataError> {
        let scale = Self::new(self.divisor)?;
        for (name, split) in SPLITS.into_iter().zip([&ds.train, &ds.val, &ds.test]) {
            checked_max_norm(name, &split.x, scale.divisor)?;
        }
        scale.divide(ds);
        Ok(())
    }
}

/// The names of the splits in errors, in the order train, val, test.
const SPLITS: [&str; 3] = ["train", "val", "test"];

/// `||row / divisor||_2`, computed as the sum of squares (`inf` when that overflows).
fn row_norm(row: &[f64], divisor: f64) -> f64 {
    row.iter().map(|v| (v / divisor) * (v / divisor)).sum::<f64>().sqrt()
}

/// `max_i ||x_i||_2` over the rows of `x` (0 for no rows). Unchecked: a row whose sum of squares
/// overflows gives `inf` (see [`scale_features`]).
pub fn max_row_norm(x: &Matrix) -> f64 {
    (0..x.rows).map(|i| row_norm(x.row(i), 1.0)).fold(0.0, f64::max)
}

/// `max_i ||x_i / divisor||_2` over the rows of `x` (0 for no rows), or
/// [`DataError::FeatureOverflow`] for the first row whose norm is not finite, naming `split` and
/// the row's first non-finite entry, or else its largest in magnitude (the one that overflows).
fn checked_max_norm(split: &'static str, x: &Matrix, divisor: f64) -> Result<f64, DataError> {
    let mut max = 0.0f64;
    for row in 0..x.rows {
        let values = x.row(row);
        let norm = row_norm(values, divisor);
        if !norm.is_finite() {
            let largest = |a: &(usize, &f64), b: &(usize, &f64)| a.1.abs().total_cmp(&b.1.abs());
            let (col, &value) = values
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
                .or_else(|| values.iter().enumerate().max_by(largest))
                .unwrap_or((0, &norm));
            return Err(DataError::FeatureOverflow { split, row, col, value });
        }
        max = max.max(norm);
    }
    Ok(max)
}

/// The unchecked scaling the checked one replaced (an all-zero training split gave divisor 1,
/// an overflowing row norm divisor `inf`, turning every feature into 0): the proptest's
/// reference for what the checks let through.
#[cfg(test)]
fn scale_features_unchecked(ds: &mut Dataset) -> FeatureScale {
    let max_norm = max_row_norm(&ds.train.x);
    let scale = FeatureScale { divisor: if max_norm > 0.0 { max_norm } else { 1.0 } };
    scale.divide(ds);
    scale
}

/// Divides the features of all three splits by the largest training-row norm and reports it,
/// leaving `ds` unchanged on error: every training row must
/// have a finite L2 norm ([`DataError::FeatureOverflow`] names the split, row, column and value
/// that overflow, for example a feature of `1e200`), the largest of them must be positive
/// ([`DataError::BadFeatureScale`] for an all-zero or empty training split), and the other
/// splits must keep finite row norms once divided by it (see [`FeatureScale::apply`]).
pub fn scale_features(ds: &mut Dataset) -> Result<FeatureScale, DataError> {
    let scale = FeatureScale::new(checked_max_norm(SPLITS[0], &ds.train.x, 1.0)?)?;
    scale.apply(ds)?;
    Ok(scale)
}

/// `[X | 1]`: the features with a constant-1 column appended (the bias, spec section 3), so
/// that `d` features become `b = d + 1` columns.
pub fn with_bias(x: &Matrix) -> Matrix {
    let mut data = Vec::with_capacity(x.rows * (x.cols + 1));
    for i in 0..x.rows {
        data.extend_from_slice(x.row(i));
        data.push(1.0);
    }
    Matrix { rows: x.rows, cols: x.cols + 1, data }
}

/// One-hot labels `Y` (`samples x c`): `Y[i][y_i] = 1`, padded classes always 0.
///
/// # Panics
/// If a label is not below `c` (loaders check labels against the class count).
pub fn one_hot(labels: &[usize], c: usize) -> Matrix {
    let mut y = Matrix::zeros(labels.len(), c);
    for (i, &l) in labels.iter().enumerate() {
        y.data[i * c + l] = 1.0;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Split;
    use proptest::prelude::*;

    fn dataset(train: Vec<f64>, val: Vec<f64>, test: Vec<f64>) -> Dataset {
        let split = |data: Vec<f64>| Split { x: Matrix::from_vec(2, 2, data).unwrap(), y: vec![0, 2] };
        Dataset { name: "t".into(), classes: 3, train: split(train), val: split(val), test: split(test) }
    }

    #[test]
    fn scaling_bias_and_one_hot() {
        let mut ds = dataset(vec![3.0, 4.0, 1.0, 0.0], vec![5.0, 0.0, 0.0, 0.0], vec![0.0, 10.0, 0.0, 0.0]);
        let mut checked = ds.clone();
        assert_eq!(scale_features_unchecked(&mut ds), FeatureScale { divisor: 5.0 });
        assert_eq!(scale_features(&mut checked).unwrap(), FeatureScale { divisor: 5.0 });
        assert_eq!(checked, ds);
        assert_eq!(ds.train.x.row(0), &[0.6, 0.8]);
        assert_eq!(ds.test.x.row(0), &[0.0, 2.0]);
        let b = with_bias(&ds.train.x);
        assert_eq!((b.cols, b.row(1)), (3, &[0.2, 0.0, 1.0][..]));
        let y = one_hot(&ds.train.y, ds.padded_classes());
        assert_eq!(y.data, vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    }

    /// The reviewer's case: a training feature of 1e200 made the divisor inf and every feature
    /// 0. Refused, naming the split, row, column and value; the data set is left as it was.
    #[test]
    fn a_feature_whose_row_norm_overflows_is_refused() {
        let mut ds = dataset(vec![1.0, 2.0, 3.0, 1e200], vec![0.0; 4], vec![0.0; 4]);
        let before = ds.clone();
        let e = scale_features(&mut ds).unwrap_err();
        assert!(
            matches!(e, DataError::FeatureOverflow { split: "train", row: 1, col: 1, value } if value == 1e200),
            "{e}"
        );
        assert!(e.to_string().contains("train split, row 1, column 1: feature 1e200"), "{e}");
        assert_eq!(ds, before);
        // Unchecked, the old behaviour: divisor inf.
        assert_eq!(max_row_norm(&ds.train.x), f64::INFINITY);
        // In another split: finite before scaling, but not once divided by a tiny divisor.
        let mut ds = dataset(vec![1e-100, 0.0, 0.0, 0.0], vec![0.0, 0.0, 0.0, 1e300], vec![0.0; 4]);
        let e = scale_features(&mut ds).unwrap_err();
        assert!(matches!(e, DataError::FeatureOverflow { split: "val", row: 1, col: 1, .. }), "{e}");
        // A NaN (from a hand-built data set) is named before any larger value.
        let mut ds = dataset(vec![5.0, f64::NAN, 0.0, 1.0], vec![0.0; 4], vec![0.0; 4]);
        let e = scale_features(&mut ds).unwrap_err();
        assert!(matches!(e, DataError::FeatureOverflow { row: 0, col: 1, value, .. } if value.is_nan()), "{e}");
    }

    #[test]
    fn a_scale_must_be_finite_and_positive() {
        let mut ds = dataset(vec![0.0; 4], vec![1.0; 4], vec![1.0; 4]);
        let e = scale_features(&mut ds).unwrap_err();
        assert!(matches!(e, DataError::BadFeatureScale { divisor } if divisor == 0.0), "{e}");
        assert_eq!(ds.val.x.data, vec![1.0; 4]);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(matches!(FeatureScale::new(bad), Err(DataError::BadFeatureScale { .. })), "{bad}");
            let e = FeatureScale { divisor: bad }.apply(&mut ds).unwrap_err();
            assert!(matches!(e, DataError::BadFeatureScale { .. }), "{e}");
        }
        assert_eq!(ds.val.x.data, vec![1.0; 4]);
        FeatureScale::new(2.0).unwrap().apply(&mut ds).unwrap();
        assert_eq!(ds.val.x.data, vec![0.5; 4]);
    }

    proptest! {
        /// Any finite features: either scaled exactly like the unchecked path, with training
        /// rows of norm at most 1, or refused with a typed error.
        #[test]
        fn checked_scaling_agrees_or_refuses(
            train in proptest::collection::vec(prop_oneof![-1e3..1e3f64, -1e300..1e300f64, Just(0.0)], 4),
            val in proptest::collection::vec(-1e300..1e300f64, 4),
        ) {
            let mut ds = dataset(train, val.clone(), val);
            let mut plain = ds.clone();
            match scale_features(&mut ds) {
                Ok(scale) => {
                    prop_assert_eq!(scale_features_unchecked(&mut plain), scale);
                    prop_assert_eq!(&plain, &ds);
                    prop_assert!(max_row_norm(&ds.train.x) <= 1.0 + 1e-12);
                    prop_assert!(max_row_norm(&ds.val.x).is_finite());
                }
                Err(DataError::FeatureOverflow { .. } | DataError::BadFeatureScale { .. }) => {}
                Err(e) => prop_assert!(false, "{}", e),
            }
        }
    }
}
