//! # ckks-scheme
//!
//! RNS-CKKS on top of [`ckks_math`]. Under construction: see the project's issue tracker
//! (leveled scheme, then bootstrapping).
//!
//! Available so far:
//! * [`encoding`]: the canonical embedding by the special FFT ([`encoding::SpecialFft`]) for
//!   full and sparse slot counts, with the slot convention that rotations and conjugation rely
//!   on, and rounding at a scale with typed overflow errors.
//! * [`security`]: the Homomorphic Encryption Standard table (`max log2(QP)` for 128-bit
//!   classical security) and [`security::check_security`], which parameter builders call.
//! * [`Complex`]: the small complex type of slot values.

mod complex;
pub mod encoding;
pub mod security;

pub use ckks_math;
pub use complex::Complex;
