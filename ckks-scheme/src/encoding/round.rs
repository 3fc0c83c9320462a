//! Scaling by `Delta` and rounding to integers: the step between the real coefficients of
//! [`SpecialFft::encode_coeffs`](super::SpecialFft::encode_coeffs) and an integer plaintext.

use super::EncodingError;

/// The largest bound [`scale_round`] accepts: `2^126`, so that every accepted value, and its
/// negation, fits in an `i128` with a bit to spare for a following addition.
pub const MAX_ROUND_BOUND: f64 = (1u128 << 126) as f64;

/// Scales and rounds: `out_i = round(coeffs_i * scale)` (half away from zero), requiring
/// `|out_i| < bound`.
///
/// Errors, with the offending index: [`EncodingError::InvalidScale`] if `scale` is not finite
/// and positive, [`EncodingError::InvalidBound`] if `bound` is not in `(0, 2^126]`
/// ([`MAX_ROUND_BOUND`]), [`EncodingError::NonFinite`] if a scaled value is NaN or infinite,
/// and [`EncodingError::Overflow`] (with the value and the bound) if `|out_i| >= bound`.
/// A caller passes the bound its modulus chain can represent (e.g. `Q_l / 2` capped at
/// `2^126`). Cost: one product and one rounding per coefficient.
pub fn scale_round(coeffs: &[f64], scale: f64, bound: f64) -> Result<Vec<i128>, EncodingError> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(EncodingError::InvalidScale { scale });
    }
    // `!(x <= MAX)` also rejects NaN.
    if !(bound > 0.0 && bound <= MAX_ROUND_BOUND) {
        return Err(EncodingError::InvalidBound { bound });
    }
    coeffs
        .iter()
        .enumerate()
        .map(|(index, &c)| {
            let x = (c * scale).round();
            if !x.is_finite() {
                return Err(EncodingError::NonFinite { input: "scaled coefficient", index });
            }
            if x.abs() >= bound {
                return Err(EncodingError::Overflow { index, value: x, bound });
            }
            // Exact: x is an integer-valued f64 with |x| < 2^126.
            Ok(x as i128)
        })
        .collect()
}

/// The inverse of [`scale_round`] up to rounding: `out_i = values_i / scale`.
///
/// The conversion `i128 -> f64` keeps 53 significant bits, which is the precision CKKS
/// messages have anyway. Cost: one conversion and one product per value.
pub fn unscale(values: &[i128], scale: f64) -> Vec<f64> {
    let inv = 1.0 / scale;
    values.iter().map(|&v| v as f64 * inv).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero() {
        let out = scale_round(&[0.5, -0.5, 1.25, -1.75, 0.0], 2.0, 1e6).unwrap();
        assert_eq!(out, vec![1, -1, 3, -4, 0]);
        assert_eq!(unscale(&out, 2.0), vec![0.5, -0.5, 1.5, -2.0, 0.0]);
    }

    #[test]
    fn exact_at_large_scale() {
        let scale = 2f64.powi(100);
        let out = scale_round(&[1.0, -0.5], scale, MAX_ROUND_BOUND).unwrap();
        assert_eq!(out, vec![1i128 << 100, -(1i128 << 99)]);
    }

    #[test]
    fn overflow_reports_index_value_and_bound() {
        let err = scale_round(&[1.0, -3.0, 1.0], 2f64.powi(40), 2f64.powi(41)).unwrap_err();
        assert_eq!(err, EncodingError::Overflow { index: 1, value: -3.0 * 2f64.powi(40), bound: 2f64.powi(41) });
        let msg = err.to_string();
        assert!(msg.contains("index 1") && msg.contains("2^41.6") && msg.contains("2^41.0"), "{msg}");
        // The bound itself is rejected: |out| < bound is required.
        assert!(scale_round(&[2.0], 1.0, 2.0).is_err());
        assert!(scale_round(&[1.0], 1.0, 2.0).is_ok());
    }

    #[test]
    fn rejects_non_finite_and_bad_arguments() {
        assert_eq!(
            scale_round(&[0.0, f64::NAN], 1.0, 10.0),
            Err(EncodingError::NonFinite { input: "scaled coefficient", index: 1 })
        );
        // Finite input, infinite after scaling.
        assert_eq!(
            scale_round(&[f64::MAX], 4.0, MAX_ROUND_BOUND),
            Err(EncodingError::NonFinite { input: "scaled coefficient", index: 0 })
        );
        for scale in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(scale_round(&[1.0], scale, 10.0), Err(EncodingError::InvalidScale { .. })));
        }
        for bound in [0.0, -1.0, f64::NAN, 2.0 * MAX_ROUND_BOUND] {
            assert!(matches!(scale_round(&[1.0], 1.0, bound), Err(EncodingError::InvalidBound { .. })));
        }
    }
}
