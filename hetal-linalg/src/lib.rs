//! # hetal-linalg
//!
//! Encrypted block matrices and the HETAL products DiagABT / DiagATB, on [`ckks_scheme`].
//! Under construction: see the project's issue tracker.

pub use ckks_scheme;
