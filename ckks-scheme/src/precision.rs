//! Precision statistics: how many bits of a decrypted result are right.
//!
//! CKKS users reason in bits of precision rather than noise budgets: for slot errors
//! `e_j = |want_j - got_j|`, the precision of slot `j` is `-log2(e_j)` bits.

use crate::Complex;
use std::fmt;

/// Bits of precision over a vector of slots (`-log2` of the absolute errors).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrecisionStats {
    /// Worst slot: `-log2(max_j e_j)`.
    pub min_bits: f64,
    /// `-log2(mean_j e_j)`.
    pub mean_bits: f64,
    /// Median of the per-slot bits.
    pub median_bits: f64,
    /// Best slot: `-log2(min_j e_j)` (capped at 64 bits for exact slots).
    pub max_bits: f64,
    /// Largest absolute error.
    pub max_error: f64,
    /// Number of slots compared.
    pub slots: usize,
}

/// Cap for exact slots, where `-log2(0)` would be infinite.
const EXACT_BITS: f64 = 64.0;

fn bits(e: f64) -> f64 {
    if e == 0.0 {
        EXACT_BITS
    } else {
        (-e.log2()).min(EXACT_BITS)
    }
}

impl PrecisionStats {
    /// Compares `got` against `want` slot by slot (the shorter length counts). A NaN error
    /// gives NaN statistics, which compare below any bound.
    pub fn compare(want: &[Complex], got: &[Complex]) -> Self {
        let errors: Vec<f64> = want.iter().zip(got).map(|(w, g)| (*w - *g).norm()).collect();
        Self::from_errors(&errors)
    }

    /// Like [`PrecisionStats::compare`] for real values.
    pub fn compare_real(want: &[f64], got: &[f64]) -> Self {
        let errors: Vec<f64> = want.iter().zip(got).map(|(w, g)| (w - g).abs()).collect();
        Self::from_errors(&errors)
    }

    fn from_errors(errors: &[f64]) -> Self {
        let slots = errors.len();
        if slots == 0 {
            return Self {
                min_bits: EXACT_BITS,
                mean_bits: EXACT_BITS,
                median_bits: EXACT_BITS,
                max_bits: EXACT_BITS,
                max_error: 0.0,
                slots,
            };
        }
        if errors.iter().any(|e| e.is_nan()) {
            let nan = f64::NAN;
            return Self { min_bits: nan, mean_bits: nan, median_bits: nan, max_bits: nan, max_error: nan, slots };
        }
        let max_error = errors.iter().copied().fold(0.0, f64::max);
        let min_error = errors.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = errors.iter().sum::<f64>() / slots as f64;
        let mut per_slot: Vec<f64> = errors.iter().map(|&e| bits(e)).collect();
        per_slot.sort_by(|a, b| a.total_cmp(b));
        let median_bits =
            if slots % 2 == 1 { per_slot[slots / 2] } else { (per_slot[slots / 2 - 1] + per_slot[slots / 2]) / 2.0 };
        Self {
            min_bits: bits(max_error),
            mean_bits: bits(mean),
            median_bits,
            max_bits: bits(min_error),
            max_error,
            slots,
        }
    }
}

impl fmt::Display for PrecisionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "precision over {} slots: min {:.1} / mean {:.1} / median {:.1} / max {:.1} bits (max error {:.3e})",
            self.slots, self.min_bits, self.mean_bits, self.median_bits, self.max_bits, self.max_error
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_known_errors() {
        let want = [1.0, 2.0, 3.0, 4.0];
        let got = [1.0 + 2f64.powi(-10), 2.0 - 2f64.powi(-20), 3.0 + 2f64.powi(-30), 4.0];
        let s = PrecisionStats::compare_real(&want, &got);
        assert_eq!(s.min_bits, 10.0);
        assert_eq!(s.max_bits, 64.0);
        assert_eq!(s.median_bits, 25.0);
        assert!((s.max_error - 2f64.powi(-10)).abs() < 1e-18);
        assert!(s.mean_bits > 11.9 && s.mean_bits < 12.0);
        assert!(PrecisionStats::compare_real(&[1.0], &[f64::NAN]).min_bits.is_nan());
        assert!(s.to_string().contains("min 10.0"));
        let c = PrecisionStats::compare(&[Complex::new(0.0, 1.0)], &[Complex::new(0.0, 1.0 + 2f64.powi(-8))]);
        assert_eq!(c.min_bits, 8.0);
    }
}
