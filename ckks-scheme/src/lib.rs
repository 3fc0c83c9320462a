//! # ckks-scheme
//!
//! RNS-CKKS on top of [`ckks_math`]. Under construction: see the project's issue tracker
//! (leveled scheme, then bootstrapping).

pub use ckks_math;
