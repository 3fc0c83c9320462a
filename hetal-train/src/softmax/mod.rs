//! Row-wise softmax approximations, as an `f64` mirror and as circuits on ciphertexts in the
//! horizontally tiled layout, with a [`Refresh`] hook between stages:
//!
//! * [`SoftmaxApproximation`]: the seam the training code goes through (the `f64` mirror, the
//!   circuit, the stage table and the rotations of one approximation), named by a stable
//!   [`SoftmaxId`] (serde `"hetal"`, `"normalize-and-square"`, `"logistic"`) and built by
//!   [`SoftmaxId::build`]; [`SoftmaxId::for_classes`] is a job's default. Its module
//!   documentation ([`approximation`](mod@approximation)) says how to add another.
//! * [`HetalSoftmax`]: the paper's pipeline (spec section 5): normalisation, approximate row max
//!   by the Cheon-Kim-Kim comparison, domain extension (Cheon-Kim-Park), `exp` as `p(y/8)^8`,
//!   row sum and the Goldschmidt inverse; 62-82 levels.
//! * [`NormalizeSquareSoftmax`]: normalize-and-square (Cho et al., CCS 2024), 30-52 levels, the
//!   default above 2 classes.
//! * [`LogisticSoftmax`]: `sigma(x_0 - x_1)` for 2 classes, one polynomial of degree 1023, 11
//!   levels, their default.
//! * [`SoftmaxConfig`]: every constant, and the levels of each of HETAL's stages.
//! * HETAL's `f64` mirror ([`HetalSoftmax::row`]), stage for stage; [`reference`](mod@reference)
//!   the same pipeline as the authors' numpy model writes it (with or without its spurious
//!   `x^9` term).
//! * [`EncryptedSoftmax`]: an approximation's circuit on ciphertexts in the tiled layout
//!   ([`TiledLayout`]), with a [`Refresh`] between stages: [`BootstrapRefresh`] (the server's,
//!   public keys only) or the test double [`InsecureDecryptReencryptRefresh`].
//! * [`precision`]: the plaintext error measurement of the spec's table.

pub mod approximation;
mod bootstrap_refresh;
mod config;
mod encrypted;
mod error;
mod hetal;
mod layout;
pub mod logistic;
mod memo;
mod mirror;
pub mod normalize_square;
mod polys;
pub mod precision;
mod product_tree;
pub mod reference;
mod refresh;
pub mod root_form;

pub use crate::data::padded_classes;
pub use approximation::{SoftmaxApproximation, SoftmaxApproximationClone, SoftmaxId, SoftmaxInput};
pub use bootstrap_refresh::{BootstrapRefresh, PublicRefresh};
pub use config::{SoftmaxConfig, Stage, COMP_F, COMP_G, EXP_COEFFS};
pub use encrypted::{EncryptedSoftmax, SoftmaxRun};
pub use error::SoftmaxError;
pub use hetal::{HetalSoftmax, SoftmaxApprox};
pub use layout::TiledLayout;
pub use logistic::LogisticSoftmax;
pub use mirror::exact_softmax_row;
pub use normalize_square::NormalizeSquareSoftmax;
pub use polys::{monomial_to_chebyshev, Polynomials};
pub use refresh::{refreshes_for, InsecureDecryptReencryptRefresh, Refresh, PAIR_IMAGINARY_BOUND};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod encrypted_tests;
