//! The plaintext error of the softmax approximation, measured as in the spec's table: rows of
//! uniform logits, max over rows of the largest absolute error against the exact softmax.
//!
//! Sampling follows the authors' script: the range `[-R, R]` is the union of the sub-ranges
//! `4, 8, 32, 128` up to `R`, each contributing `samples` rows drawn uniformly from `[-r, r]`
//! (so `[-32, 32]` has `3 * samples` rows).

use super::reference::{numpy_model_row, ExpEvaluation};
use super::{exact_softmax_row, HetalSoftmax, SoftmaxApproximation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// The sub-ranges of the authors' script.
pub const SUB_RANGES: [f64; 4] = [4.0, 8.0, 32.0, 128.0];

/// Which implementation is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pipeline {
    /// [`HetalSoftmax::row`] (the mirror of the encrypted pipeline).
    Mirror,
    /// The numpy model's form, with the given `exp` evaluation.
    NumpyModel(ExpEvaluation),
}

/// Maximum and mean (over rows) of `max_j |softmax(x)_j - approx(x)_j|`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErrorStats {
    /// Largest error over all rows.
    pub max: f64,
    /// Mean over rows of the row's largest error.
    pub mean: f64,
    /// Rows measured.
    pub rows: usize,
}

/// Measures `pipeline` on `classes` classes over `[-range, range]` (one of [`SUB_RANGES`]),
/// `samples` rows per sub-range, ChaCha20 seeded with `seed`.
pub fn measure(
    mirror: &HetalSoftmax,
    pipeline: Pipeline,
    classes: usize,
    range: f64,
    samples: usize,
    seed: u64,
) -> ErrorStats {
    match pipeline {
        Pipeline::Mirror => measure_approximation(mirror, classes, range, samples, seed),
        Pipeline::NumpyModel(how) => {
            measure_rows(|x, out| numpy_model_row(mirror, x, how, out), classes, range, samples, seed)
        }
    }
}

/// [`measure`] for the mirror ([`SoftmaxApproximation::row`]) of any approximation.
pub fn measure_approximation(
    approximation: &dyn SoftmaxApproximation,
    classes: usize,
    range: f64,
    samples: usize,
    seed: u64,
) -> ErrorStats {
    measure_rows(|x, out| approximation.row(x, out), classes, range, samples, seed)
}

fn measure_rows(row: impl Fn(&[f64], &mut [f64]), classes: usize, range: f64, samples: usize, seed: u64) -> ErrorStats {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (mut x, mut exact, mut approx) = (vec![0.0; classes], vec![0.0; classes], vec![0.0; classes]);
    let (mut max, mut sum, mut rows) = (0.0f64, 0.0, 0);
    for &r in SUB_RANGES.iter().filter(|&&r| r <= range) {
        for _ in 0..samples {
            x.iter_mut().for_each(|v| *v = rng.gen_range(-r..r));
            exact_softmax_row(&x, &mut exact);
            row(&x, &mut approx);
            let err = exact.iter().zip(&approx).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            max = max.max(err);
            sum += err;
            rows += 1;
        }
    }
    ErrorStats { max, mean: sum / rows.max(1) as f64, rows }
}
