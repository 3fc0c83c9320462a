//! The softmax-regression layer `W` (`c x b`, bias as the last column), its Kaiming-He
//! initialisation, and the evaluation metrics.

use crate::data::{with_bias, Split};
use crate::matrix::Matrix;
use crate::softmax::exact_softmax_row;
use rand::Rng;
use rand_chacha::ChaCha20Rng;

/// A linear layer with `c` output rows (padded classes included) over `b = features + 1`
/// inputs; rows of padded classes stay 0.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    /// Weights `W`, `c x b`, the bias in the last column.
    pub w: Matrix,
    /// Real classes (rows `classes..c` are padding).
    pub classes: usize,
}

/// A standard normal sample by Box-Muller.
pub(crate) fn standard_normal(rng: &mut ChaCha20Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl LinearModel {
    /// Kaiming-He (normal) initialisation: `W_ij ~ N(0, 2 / b)` for the real classes (fan-in
    /// `b`), padded rows 0.
    pub fn kaiming_he(classes: usize, c: usize, b: usize, rng: &mut ChaCha20Rng) -> Self {
        let std = (2.0 / b as f64).sqrt();
        let mut w = Matrix::zeros(c, b);
        for v in w.data[..classes * b].iter_mut() {
            *v = std * standard_normal(rng);
        }
        Self { w, classes }
    }

    /// Logits `X W^T` of bias-augmented inputs (`n x b`), real classes only (`n x classes`).
    pub fn logits_biased(&self, xb: &Matrix) -> Matrix {
        xb.mul_transposed(&self.w).leading_columns(self.classes)
    }

    /// Cross-entropy (exact softmax over the real classes) and accuracy on `split`.
    pub fn evaluate(&self, split: &Split) -> Metrics {
        metrics(&self.logits_biased(&with_bias(&split.x)), &split.y)
    }
}

/// Mean cross-entropy and accuracy of a set of logits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// Mean of `-log softmax(logits)_y` (exact softmax).
    pub loss: f64,
    /// Fraction of rows whose largest logit is the label.
    pub accuracy: f64,
}

/// [`Metrics`] of `logits` (`n x classes`) against `labels`.
pub fn metrics(logits: &Matrix, labels: &[usize]) -> Metrics {
    let mut p = vec![0.0; logits.cols];
    let (mut loss, mut correct) = (0.0, 0usize);
    for (i, &y) in labels.iter().enumerate() {
        let row = logits.row(i);
        exact_softmax_row(row, &mut p);
        loss -= p[y].max(f64::MIN_POSITIVE).ln();
        let argmax = (0..row.len()).fold(0, |best, j| if row[j] > row[best] { j } else { best });
        correct += usize::from(argmax == y);
    }
    let n = labels.len().max(1) as f64;
    Metrics { loss: loss / n, accuracy: correct as f64 / n }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn kaiming_has_the_right_spread_and_zero_padding() {
        let mut rng = ChaCha20Rng::seed_from_u64(0);
        let m = LinearModel::kaiming_he(3, 4, 2000, &mut rng);
        let real = &m.w.data[..3 * 2000];
        let var = real.iter().map(|v| v * v).sum::<f64>() / real.len() as f64;
        assert!((var - 2.0 / 2000.0).abs() < 0.1 * 2.0 / 2000.0, "{var}");
        assert!(m.w.row(3).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn metrics_of_known_logits() {
        let logits = Matrix::from_vec(2, 2, vec![0.0, 0.0, 5.0, 0.0]).unwrap();
        let m = metrics(&logits, &[1, 0]);
        assert_eq!(m.accuracy, 0.5);
        let expected = (2f64.ln() + (1.0 + (-5f64).exp()).ln()) / 2.0;
        assert!((m.loss - expected).abs() < 1e-12);
    }
}
