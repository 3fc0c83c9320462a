//! # hetal-linalg
//!
//! Encrypted block matrices and the HETAL products on [`ckks_scheme`] (see `docs/LINALG.md`):
//!
//! * [`UnitShape`], [`Tiling`], [`BlockLayout`]: the packing of spec section 3 (one
//!   ciphertext per `s0 x s1` block, row-major inside a block; weights tiled vertically,
//!   softmax outputs tiled horizontally); [`Matrix`] (plain `f64`) and [`EncryptedMatrix`].
//! * [`diag_abt`] (`A * B^T`, 2 levels; the paper's 3 with [`diag_abt_with`]) and [`diag_atb`] / [`diag_atb_with`] (`A^T * B`, plain
//!   or PRotUp variant, the paper's row sum or [`RowSum::Shared`]), both with two diagonals per
//!   ciphertext product (complex slots).
//! * [`pack_copies`] / [`unpack_copies`]: the compact form of vertically tiled matrices (one
//!   copy per block, `s0 / c` blocks to a ciphertext), so that the weights' refresh bootstraps
//!   one ciphertext per group; the unpacking splits over the levels it is given
//!   ([`unpack_depth`]) and finishes with hoisted baby steps ([`unpack_baby_log2`]).
//! * [`CompactRows`]: the compact form of horizontally tiled rows (one copy per row in `s0 c`
//!   sparse slots), so that the softmax bootstraps sparse slots.
//! * [`baselines`]: Crockett's ColMajor / RowMajor and Jin et al.'s PrivGD products.
//! * [`OpCounts`] of every run, [`predicted_counts`] (this implementation) and
//!   [`reference_counts`] (the authors' corrected table) without encryption, and
//!   [`rotation_steps`]: exactly the rotation keys a product needs.
//!
//! The products take an [`ckks_scheme::Evaluator`] (public evaluation keys) only; encryption
//! and decryption helpers take the client's `Encryptor` / `Decryptor`.

pub mod baselines;
mod compact;
mod compact_rows;
mod counts;
mod diag_abt;
mod diag_atb;
mod error;
mod layout;
mod matrix;
mod operands;
mod ops;
mod rotations;
#[doc(hidden)]
pub mod testing;

pub use ckks_scheme;
pub use compact::{
    pack_copies, packed_count, unpack_baby_log2, unpack_copies, unpack_copies_at_depth, unpack_depth, unpack_rotations,
    UNPACK_BABY_LOG2,
};
pub use compact_rows::CompactRows;
pub use counts::{predicted_counts, reference_counts, Algorithm, Counter, OpCounts, ProductShape};
pub use diag_abt::{diag_abt, diag_abt_depth, diag_abt_with, DIAG_ABT_DEPTH};
pub use diag_atb::{diag_atb, diag_atb_with, shared_group, AtbVariant, RowSum};
pub use error::LinalgError;
pub use layout::{BlockLayout, Tiling, UnitShape};
pub use matrix::{EncryptedMatrix, Matrix};
pub use rotations::{needs_conjugation, rotation_steps};
