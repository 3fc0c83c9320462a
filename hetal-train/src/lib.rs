//! # hetal-train
//!
//! HETAL encrypted training on [`hetal_linalg`]. Under construction: see the project's issue
//! tracker.

pub use hetal_linalg;
