//! The baselines HETAL is compared with, on the same CKKS implementation: Crockett's
//! ColMajor / RowMajor (block layout, masks and replication) and Jin et al.'s PrivGD products
//! (column packing and replicated packing).

mod crockett;
mod jin;

pub use crockett::{col_major, row_major};
pub use jin::{jin_abt, jin_atb, ColumnPacked, ReplicatePacked};
