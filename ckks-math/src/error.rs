//! The error type of `ckks-math`.

use thiserror::Error;

/// Everything that can go wrong in `ckks-math`, with the offending values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MathError {
    /// A modulus outside the supported range.
    #[error("invalid modulus {q}: it must be odd, at least 3 and below 2^{max_bits}")]
    InvalidModulus {
        /// The rejected value.
        q: u64,
        /// The supported bit bound.
        max_bits: u32,
    },
    /// A ring degree that is not a supported power of two.
    #[error("invalid ring degree {n}: it must be a power of two in [{min}, {max}]")]
    InvalidDegree {
        /// The rejected degree.
        n: usize,
        /// Smallest supported degree.
        min: usize,
        /// Largest supported degree.
        max: usize,
    },
    /// A modulus that does not admit a negacyclic NTT of the requested size.
    #[error("modulus {q} is not an NTT prime for degree {n}: it must be prime and q = 1 mod {two_n}")]
    NotNttFriendly {
        /// The modulus.
        q: u64,
        /// The ring degree.
        n: usize,
        /// `2n`.
        two_n: usize,
    },
    /// Prime generation could not find enough primes.
    #[error(
        "only {found} of {wanted} primes of {bits} bits with q = 1 mod {two_n} exist (or are left after exclusions)"
    )]
    NotEnoughPrimes {
        /// Requested bit size.
        bits: u32,
        /// `2n`.
        two_n: u64,
        /// How many were requested.
        wanted: usize,
        /// How many were found.
        found: usize,
    },
    /// A requested prime size outside the supported range.
    #[error("cannot generate {bits}-bit primes: supported sizes are {min}..={max} bits")]
    InvalidPrimeBits {
        /// Requested bit size.
        bits: u32,
        /// Smallest supported size.
        min: u32,
        /// Largest supported size.
        max: u32,
    },
    /// A basis with a repeated modulus or no modulus at all.
    #[error("invalid RNS basis: {reason}")]
    InvalidBasis {
        /// What is wrong with it.
        reason: String,
    },
    /// Two operands that live in different rings or bases.
    #[error("operand mismatch in {op}: {detail}")]
    Mismatch {
        /// The operation.
        op: &'static str,
        /// What differs, with both values.
        detail: String,
    },
    /// An operand in the wrong representation (coefficient vs NTT).
    #[error("{op} needs a polynomial in {expected} representation, got {found}")]
    Representation {
        /// The operation.
        op: &'static str,
        /// The representation it needs.
        expected: &'static str,
        /// The representation it got.
        found: &'static str,
    },
    /// A level that is out of range for the operation.
    #[error("{op}: level {level} is out of range (must be in [{min}, {max}])")]
    Level {
        /// The operation.
        op: &'static str,
        /// The offending level.
        level: usize,
        /// Smallest allowed level.
        min: usize,
        /// Largest allowed level.
        max: usize,
    },
    /// An automorphism index that is not odd modulo `2N`.
    #[error("Galois element {k} is invalid for degree {n}: it must be odd")]
    InvalidGaloisElement {
        /// The index.
        k: usize,
        /// The ring degree.
        n: usize,
    },
    /// A sampler argument out of range.
    #[error("invalid sampler argument: {reason}")]
    Sampler {
        /// What is wrong.
        reason: String,
    },
}
