//! # ckks-scheme
//!
//! RNS-CKKS on top of [`ckks_math`]. Under construction: see the project's issue tracker
//! (leveled scheme, then bootstrapping).
//!
//! Available so far:
//! * [`Complex`]: the small complex type of slot values.

mod complex;

pub use ckks_math;
pub use complex::Complex;
