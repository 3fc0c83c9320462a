//! Parameter security from the Homomorphic Encryption Standard.
//!
//! The bound is the largest `log2(Q * P)` (the whole modulus a key lives under, special primes
//! included) for which the lattice estimator gives 128 bits of classical security with error
//! standard deviation `sigma = 3.2`:
//!
//! | N | uniform ternary secret | Gaussian secret |
//! |---|---|---|
//! | 2^10 | 27 | 29 |
//! | 2^11 | 54 | 56 |
//! | 2^12 | 109 | 111 |
//! | 2^13 | 218 | 220 |
//! | 2^14 | 438 | 440 |
//! | 2^15 | 881 | 883 |
//! | 2^16 | 1747 | 1749 |
//! | 2^17 | 3523 | 3525 |
//!
//! Rows `2^10 ..= 2^15` are from the 2018 standard; rows `2^16` and `2^17` are the values
//! OpenFHE adopted in 2024 (the standard stops at `2^15`).
//!
//! **Sparse secrets** (fixed Hamming weight `h`) are not covered: the standard's estimates
//! assume a dense secret, and sparse secrets are measurably weaker (hybrid and meet-in-the-middle
//! attacks: Albrecht EC'17, Cheon-Hhan-Hong-Son 2019, May CRYPTO'21, eprint 2022/1473), with a
//! loss that depends on `h` and has no agreed table. [`max_log_qp`] therefore answers `None`
//! for them and [`check_security`] rejects them; a sparse secret should appear only as an
//! ephemeral key at the lowest modulus (sparse-secret encapsulation, eprint 2022/024), checked
//! by its own rule ([`check_sparse_encapsulation`]: `N = 2^16`, `h >= 32`,
//! `log2(q_0 * P) <= 121`, the setting of eprint 2022/024).
//!
//! Like OpenFHE and SEAL (and unlike Lattigo), parameter builders refuse parameters above the
//! table; test-only parameter sets bypass the check explicitly, under a name containing
//! `insecure`.

use std::fmt;
use thiserror::Error;

/// The distribution the secret key is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SecretDistribution {
    /// Uniform over `{-1, 0, 1}^N`.
    Ternary,
    /// Discrete Gaussian with `sigma = 3.2`, like the error.
    Gaussian,
    /// Ternary with exactly `hamming_weight` nonzero coefficients (not covered by the standard).
    SparseTernary {
        /// Number of nonzero coefficients `h`.
        hamming_weight: usize,
    },
}

impl fmt::Display for SecretDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ternary => write!(f, "uniform ternary secret"),
            Self::Gaussian => write!(f, "Gaussian secret (sigma = 3.2)"),
            Self::SparseTernary { hamming_weight } => {
                write!(f, "sparse ternary secret (Hamming weight {hamming_weight})")
            }
        }
    }
}

/// The security target a bound is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SecurityLevel {
    /// 128-bit classical security, from the table in the [module documentation](self).
    Classical128,
    /// No security at all: for tests and toy examples only.
    Insecure,
}

/// `(log2 N, ternary bound, Gaussian bound)`: the table of the module documentation.
const HE_STANDARD_128: [(u32, u32, u32); 8] = [
    (10, 27, 29),
    (11, 54, 56),
    (12, 109, 111),
    (13, 218, 220),
    (14, 438, 440),
    (15, 881, 883),
    (16, 1747, 1749),
    (17, 3523, 3525),
];

/// The largest `log2(Q * P)` allowed for ring degree `n`, secret distribution `dist` and
/// security `level`. Cost: a scan of an 8-row table.
///
/// * [`SecurityLevel::Classical128`]: the table entry; `None` when `n` is not a power of two
///   in `2^10 ..= 2^17` or `dist` is [`SecretDistribution::SparseTernary`] (not covered by the
///   standard, see the [module documentation](self)).
/// * [`SecurityLevel::Insecure`]: `Some(u32::MAX)`, i.e. no bound, for every `n` and `dist`.
pub fn max_log_qp(n: usize, dist: SecretDistribution, level: SecurityLevel) -> Option<u32> {
    if level == SecurityLevel::Insecure {
        return Some(u32::MAX);
    }
    if !n.is_power_of_two() {
        return None;
    }
    let log_n = n.trailing_zeros();
    let &(_, ternary, gaussian) = HE_STANDARD_128.iter().find(|row| row.0 == log_n)?;
    match dist {
        SecretDistribution::Ternary => Some(ternary),
        SecretDistribution::Gaussian => Some(gaussian),
        SecretDistribution::SparseTernary { .. } => None,
    }
}

/// `(log2 N, smallest Hamming weight, largest log2(q_0 * P))` for the ephemeral sparse key of
/// sparse-secret encapsulation: the parameters of Bossuat, Troncoso-Pastoriza and Hubaux
/// (eprint 2022/024, Lattigo's defaults), an ephemeral key of Hamming weight 32 under
/// `log2(q_0 * P) = 121` at `N = 2^16`, estimated at 128 bits including the hybrid attacks on
/// sparse secrets. Only this row is taken: other degrees are not covered.
const SPARSE_ENCAPSULATION_128: [(u32, usize, u32); 1] = [(16, 32, 121)];

/// The largest `log2(q_0 * P)` under which an ephemeral sparse key of Hamming weight `h` may
/// be used (sparse-secret encapsulation), or `None` when `(n, h)` is not covered: only
/// `N = 2^16` with `h >= 32` is, with bound 121 (Bossuat et al., eprint 2022/024, estimated at
/// 128 bits including the hybrid attacks on sparse secrets).
pub fn max_log_qp_sparse_encapsulation(n: usize, hamming_weight: usize) -> Option<u32> {
    if !n.is_power_of_two() {
        return None;
    }
    let log_n = n.trailing_zeros();
    SPARSE_ENCAPSULATION_128.iter().find(|row| row.0 == log_n && hamming_weight >= row.1).map(|row| row.2)
}

/// Accepts the modulus of an ephemeral sparse switching key when it is within
/// [`max_log_qp_sparse_encapsulation`]. Errors name `N`, `log_qp`, the bound and the weight.
pub fn check_sparse_encapsulation(n: usize, log_qp: f64, hamming_weight: usize) -> Result<(), SecurityError> {
    let dist = SecretDistribution::SparseTernary { hamming_weight };
    let bound = max_log_qp_sparse_encapsulation(n, hamming_weight).ok_or(SecurityError::SecretNotCovered {
        n,
        log_qp,
        dist,
    })?;
    if log_qp.is_nan() || log_qp > f64::from(bound) {
        return Err(SecurityError::ModulusTooLarge { n, log_qp, bound, dist });
    }
    Ok(())
}

/// Why a parameter set fails [`check_security`], with the values that decided it.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// The modulus is too large for 128-bit security.
    #[error(
        "insecure parameters: log2(QP) = {log_qp:.2} exceeds the 128-bit bound {bound} for \
         N = {n} with a {dist} (Homomorphic Encryption Standard); use a larger N or fewer/smaller primes"
    )]
    ModulusTooLarge {
        /// Ring degree.
        n: usize,
        /// `log2(Q * P)` of the parameters.
        log_qp: f64,
        /// The largest allowed `log2(Q * P)`.
        bound: u32,
        /// The secret distribution.
        dist: SecretDistribution,
    },
    /// A ring degree outside the table.
    #[error(
        "no 128-bit security estimate for N = {n} (log2(QP) = {log_qp:.2}, {dist}): the table \
         covers powers of two 2^10..=2^17"
    )]
    DegreeNotCovered {
        /// Ring degree.
        n: usize,
        /// `log2(Q * P)` of the parameters.
        log_qp: f64,
        /// The secret distribution.
        dist: SecretDistribution,
    },
    /// A secret distribution the standard does not cover.
    #[error(
        "no 128-bit security estimate for a {dist} (N = {n}, log2(QP) = {log_qp:.2}): sparse \
         secrets are not covered by the Homomorphic Encryption Standard and are weaker; use a \
         dense ternary or Gaussian secret"
    )]
    SecretNotCovered {
        /// Ring degree.
        n: usize,
        /// `log2(Q * P)` of the parameters.
        log_qp: f64,
        /// The secret distribution.
        dist: SecretDistribution,
    },
}

/// Accepts `(n, log_qp, dist)` when `log_qp <= max_log_qp(n, dist, Classical128)`, i.e. the
/// parameters reach 128-bit classical security by the Homomorphic Encryption Standard.
///
/// `log_qp` is `log2(Q * P)` as a real number (the sum of `log2 q_i` over all primes, special
/// primes included); a NaN is rejected. Errors name `N`, `log_qp`, the bound and the
/// distribution. Cost: one table look-up.
pub fn check_security(n: usize, log_qp: f64, dist: SecretDistribution) -> Result<(), SecurityError> {
    if let SecretDistribution::SparseTernary { .. } = dist {
        return Err(SecurityError::SecretNotCovered { n, log_qp, dist });
    }
    let bound =
        max_log_qp(n, dist, SecurityLevel::Classical128).ok_or(SecurityError::DegreeNotCovered { n, log_qp, dist })?;
    if log_qp.is_nan() || log_qp > f64::from(bound) {
        return Err(SecurityError::ModulusTooLarge { n, log_qp, bound, dist });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use SecretDistribution::*;

    #[test]
    fn every_row_accepts_the_bound_and_rejects_one_more() {
        for &(log_n, ternary, gaussian) in &HE_STANDARD_128 {
            let n = 1usize << log_n;
            for (dist, bound) in [(Ternary, ternary), (Gaussian, gaussian)] {
                assert_eq!(max_log_qp(n, dist, SecurityLevel::Classical128), Some(bound));
                assert_eq!(check_security(n, f64::from(bound), dist), Ok(()));
                assert_eq!(check_security(n, f64::from(bound) - 0.5, dist), Ok(()));
                let log_qp = f64::from(bound + 1);
                assert_eq!(
                    check_security(n, log_qp, dist),
                    Err(SecurityError::ModulusTooLarge { n, log_qp, bound, dist })
                );
                // Just above the bound is already too much.
                assert!(check_security(n, f64::from(bound) + 1e-9, dist).is_err());
            }
        }
    }

    #[test]
    fn sparse_encapsulation_bound() {
        let n = 1 << 16;
        assert_eq!(max_log_qp_sparse_encapsulation(n, 32), Some(121));
        assert_eq!(max_log_qp_sparse_encapsulation(n, 16), None);
        assert_eq!(max_log_qp_sparse_encapsulation(1 << 15, 32), None);
        assert!(check_sparse_encapsulation(n, 116.0, 32).is_ok());
        assert!(matches!(
            check_sparse_encapsulation(n, 122.0, 32),
            Err(SecurityError::ModulusTooLarge { bound: 121, .. })
        ));
        assert!(check_sparse_encapsulation(1 << 12, 50.0, 32).is_err());
    }

    #[test]
    fn table_values_from_the_spec() {
        let c = SecurityLevel::Classical128;
        assert_eq!(max_log_qp(1 << 10, Ternary, c), Some(27));
        assert_eq!(max_log_qp(1 << 15, Gaussian, c), Some(883));
        assert_eq!(max_log_qp(1 << 16, Ternary, c), Some(1747));
        assert_eq!(max_log_qp(1 << 17, Gaussian, c), Some(3525));
    }

    #[test]
    fn degrees_outside_the_table_are_rejected() {
        for n in [0, 1, 1 << 9, 3 << 10, 1000, 1 << 18] {
            assert_eq!(max_log_qp(n, Ternary, SecurityLevel::Classical128), None);
            assert_eq!(
                check_security(n, 10.0, Ternary),
                Err(SecurityError::DegreeNotCovered { n, log_qp: 10.0, dist: Ternary })
            );
        }
    }

    #[test]
    fn sparse_secrets_are_rejected() {
        let dist = SparseTernary { hamming_weight: 192 };
        assert_eq!(max_log_qp(1 << 16, dist, SecurityLevel::Classical128), None);
        let err = check_security(1 << 16, 100.0, dist).unwrap_err();
        assert_eq!(err, SecurityError::SecretNotCovered { n: 1 << 16, log_qp: 100.0, dist });
        assert!(err.to_string().contains("Hamming weight 192"), "{err}");
    }

    #[test]
    fn nan_is_rejected() {
        assert!(check_security(1 << 14, f64::NAN, Ternary).is_err());
    }

    #[test]
    fn insecure_level_has_no_bound() {
        for dist in [Ternary, Gaussian, SparseTernary { hamming_weight: 32 }] {
            assert_eq!(max_log_qp(16, dist, SecurityLevel::Insecure), Some(u32::MAX));
        }
    }

    #[test]
    fn error_message_names_every_value() {
        let msg = check_security(1 << 15, 900.25, Gaussian).unwrap_err().to_string();
        for part in ["N = 32768", "900.25", "883", "Gaussian"] {
            assert!(msg.contains(part), "{part} missing in: {msg}");
        }
    }

    #[test]
    fn distributions_display() {
        assert_eq!(Ternary.to_string(), "uniform ternary secret");
        assert_eq!(SparseTernary { hamming_weight: 64 }.to_string(), "sparse ternary secret (Hamming weight 64)");
    }
}
