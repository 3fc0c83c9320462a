//! Preparing features and labels for training: scaling by the largest training-row norm, the
//! bias column and one-hot labels over the padded class count.

use super::Dataset;
use crate::matrix::Matrix;

/// The feature scaling applied to a data set: every feature was divided by `divisor`, the
/// largest L2 norm of a training row (dataset README), so that every training row has norm at
/// most 1. The client must apply the same divisor to new samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeatureScale {
    /// `max_i ||x_i||_2` over the training rows (1 if every row is zero).
    pub divisor: f64,
}

impl FeatureScale {
    /// Divides the features of all three splits of `ds` by [`FeatureScale::divisor`] (what the
    /// client does to data after the divisor was fixed on the training split).
    pub fn apply(self, ds: &mut Dataset) {
        for split in [&mut ds.train, &mut ds.val, &mut ds.test] {
            split.x.data.iter_mut().for_each(|v| *v /= self.divisor);
        }
    }
}

/// `max_i ||x_i||_2` over the rows of `x` (0 for no rows).
pub fn max_row_norm(x: &Matrix) -> f64 {
    (0..x.rows).map(|i| x.row(i).iter().map(|v| v * v).sum::<f64>().sqrt()).fold(0.0, f64::max)
}

/// Divides the features of all three splits by the largest training-row norm and reports it.
pub fn scale_features(ds: &mut Dataset) -> FeatureScale {
    let max_norm = max_row_norm(&ds.train.x);
    let scale = FeatureScale { divisor: if max_norm > 0.0 { max_norm } else { 1.0 } };
    scale.apply(ds);
    scale
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

    #[test]
    fn scaling_bias_and_one_hot() {
        let split = |data: Vec<f64>| Split { x: Matrix::from_vec(2, 2, data).unwrap(), y: vec![0, 2] };
        let mut ds = Dataset {
            name: "t".into(),
            classes: 3,
            train: split(vec![3.0, 4.0, 1.0, 0.0]),
            val: split(vec![5.0, 0.0, 0.0, 0.0]),
            test: split(vec![0.0, 10.0, 0.0, 0.0]),
        };
        assert_eq!(scale_features(&mut ds), FeatureScale { divisor: 5.0 });
        assert_eq!(ds.train.x.row(0), &[0.6, 0.8]);
        assert_eq!(ds.test.x.row(0), &[0.0, 2.0]);
        let b = with_bias(&ds.train.x);
        assert_eq!((b.cols, b.row(1)), (3, &[0.2, 0.0, 1.0][..]));
        let y = one_hot(&ds.train.y, ds.padded_classes());
        assert_eq!(y.data, vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    }
}
