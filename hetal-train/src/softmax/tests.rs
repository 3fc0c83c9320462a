//! Tests of the plaintext pipeline: the mirror against the numpy model's form, the spurious
//! `x^9` term, and the spec's error table.

use super::precision::{measure, Pipeline, SUB_RANGES};
use super::reference::{approx_exp, numpy_model_row, ExpEvaluation};
use super::*;
use proptest::prelude::*;

/// The spec's table (section 5): max abs error, rows = classes 3, 7, 10, columns = ranges
/// 4, 8, 32, 128 (10^6 samples per sub-range, precise DEP, fi = 1, gi = 2).
const SPEC_TABLE: [(usize, [f64; 4]); 3] = [
    (3, [1.31e-3, 1.31e-3, 2.21e-3, 2.21e-3]),
    (7, [2.51e-3, 2.90e-3, 6.30e-3, 6.41e-3]),
    (10, [3.71e-3, 4.69e-3, 8.99e-3, 9.35e-3]),
];

fn mirror() -> HetalSoftmax {
    HetalSoftmax::new(SoftmaxConfig::default()).unwrap()
}

/// Measures the whole table with `samples` rows per sub-range and checks every entry against
/// the spec within `[low, high]` times the spec's value. Returns the measured table.
fn check_table(samples: usize, low: f64, high: f64) -> Vec<(usize, [f64; 4])> {
    let m = mirror();
    let mut out = Vec::new();
    for (classes, spec) in SPEC_TABLE {
        let mut row = [0.0; 4];
        for (k, &range) in SUB_RANGES.iter().enumerate() {
            row[k] = measure(&m, Pipeline::Mirror, classes, range, samples, 2023).max;
            let ratio = row[k] / spec[k];
            assert!(
                (low..=high).contains(&ratio),
                "classes {classes}, range {range}: max error {:.3e} vs spec {:.2e} (ratio {ratio:.3})",
                row[k],
                spec[k]
            );
        }
        // A wider range includes the narrower sub-ranges: its max error cannot be smaller.
        assert!(row.windows(2).all(|w| w[0] <= w[1]), "{row:?}");
        out.push((classes, row));
    }
    out
}

/// The sample maximum only grows with the number of samples towards the sup the spec's 10^6
/// samples reached, so a smaller run lands below the table. At 2*10^4 rows per sub-range the
/// measured maxima are 0.75 to 1.0 of the table (fixed seed); the bounds `[1/1.5, 1.5]` catch
/// both a wrong pipeline (errors off by a large factor) and a too-good result.
#[test]
fn error_table_within_sampling_noise() {
    let table = check_table(20_000, 1.0 / 1.5, 1.5);
    // Classes 3: the error is attained near a fixed worst case, hit with few samples.
    for (k, &spec) in SPEC_TABLE[0].1.iter().enumerate() {
        assert!((table[0].1[k] / spec - 1.0).abs() < 0.02, "{table:?}");
    }
}

/// Normalize-and-square against the spec's table with the spec's own 10^6 rows per sub-range:
/// every entry at or below the paper's (about two minutes in release; the docs' table).
#[test]
#[ignore]
fn normalize_and_square_table_full_million_samples() {
    let ns = SoftmaxId::NormalizeAndSquare.build(SoftmaxConfig::default()).unwrap();
    for (classes, spec) in SPEC_TABLE {
        let row = SUB_RANGES.map(|r| precision::measure_approximation(ns.as_ref(), classes, r, 1_000_000, 2023).max);
        println!("classes {classes}: {:?}", row.map(|v| format!("{v:.3e}")));
        assert!(row.iter().zip(spec).all(|(m, s)| *m <= s), "{row:?} vs {spec:?}");
    }
}

/// Normalize-and-square at or below the paper's table, with a margin of 3 (2*10^4 rows per
/// sub-range; the 10^6-row run above measures the same maxima to within a few percent).
#[test]
fn normalize_and_square_beats_the_table() {
    let ns = SoftmaxId::NormalizeAndSquare.build(SoftmaxConfig::default()).unwrap();
    for (classes, spec) in SPEC_TABLE {
        for (k, &range) in SUB_RANGES.iter().enumerate() {
            let max = precision::measure_approximation(ns.as_ref(), classes, range, 20_000, 2023).max;
            assert!(max * 3.0 <= spec[k], "classes {classes}, range {range}: {max:.3e} vs the paper's {:.2e}", spec[k]);
        }
    }
}

/// The spec's own sample count, 10^6 rows per sub-range (about a minute): within 10%.
#[test]
#[ignore]
fn error_table_full_million_samples() {
    for (classes, row) in check_table(1_000_000, 0.9, 1.1) {
        println!("classes {classes}: {:?}", row.map(|v| format!("{v:.3e}")));
    }
}

#[test]
fn exp_degree_8_beats_the_spurious_term() {
    let cfg = SoftmaxConfig::default();
    let err = |how| {
        (0..=8000).map(|i| -(i as f64) / 1000.0).map(|y| (approx_exp(&cfg, y, how) - y.exp()).abs()).fold(0.0, f64::max)
    };
    let (correct, spurious) = (err(ExpEvaluation::Degree8), err(ExpEvaluation::AuthorsSpurious));
    // Spec: 2.5e-8 vs 1.9e-7 on [-8, 0].
    assert!((2.0e-8..3.0e-8).contains(&correct), "{correct:e}");
    assert!((1.5e-7..2.3e-7).contains(&spurious), "{spurious:e}");
    // The mirror's exp is the correct one.
    let m = mirror();
    for i in 0..=100 {
        let v = -(i as f64) / 100.0;
        assert!((m.exp_normalised(v) - approx_exp(&cfg, 8.0 * v, ExpEvaluation::Degree8)).abs() < 1e-13);
    }
}

proptest! {
    /// The mirror (normalised variables, Chebyshev polynomials) is the numpy model's pipeline
    /// (unnormalised `y`, monomials) up to rounding, and approximates the softmax within the
    /// table's largest error.
    #[test]
    fn mirror_matches_the_numpy_form(x in proptest::collection::vec(-128.0..128.0f64, 2..=16)) {
        let m = mirror();
        let (mut a, mut b, mut e) = (vec![0.0; x.len()], vec![0.0; x.len()], vec![0.0; x.len()]);
        m.row(&x, &mut a);
        numpy_model_row(&m, &x, ExpEvaluation::Degree8, &mut b);
        exact_softmax_row(&x, &mut e);
        for j in 0..x.len() {
            prop_assert!((a[j] - b[j]).abs() < 1e-11, "{} vs {}", a[j], b[j]);
            prop_assert!((a[j] - e[j]).abs() < 2e-2, "{} vs exact {}", a[j], e[j]);
        }
        prop_assert!((a.iter().sum::<f64>() - 1.0).abs() < 2e-2);
    }
}
