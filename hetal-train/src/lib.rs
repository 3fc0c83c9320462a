//! # hetal-train
//!
//! HETAL (Lee et al., ICML 2023) training of a softmax-regression layer:
//!
//! * [`data`]: loading the feature sets (`.npy` folders, CSV) and preparing them (scaling by the
//!   largest training-row norm, bias column, one-hot labels, padded class count).
//! * [`softmax`]: row-wise softmax approximations (the paper's, normalize-and-square, and the
//!   logistic function of two classes), each as an `f64` mirror and on ciphertexts in the
//!   horizontally tiled layout, with a [`softmax::Refresh`] hook between stages.
//! * [`plain`]: the plaintext reference trainer (Nesterov or GD, exact or approximate softmax)
//!   and the client-side [`plain::EarlyStopping`].
//!
//! * [`encrypted`]: encrypted training on `hetal-linalg` (server with public material only,
//!   client with the secret key, explicit protocol messages, refresh planning, checkpoints).

pub mod data;
pub mod encrypted;
pub mod matrix;
pub mod plain;
pub mod protocol;
pub mod schedule;
pub mod softmax;
pub mod store;

pub use ckks_scheme;
pub use hetal_linalg;
