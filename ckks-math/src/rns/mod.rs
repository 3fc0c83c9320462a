//! Residue number system: bases of word-sized primes and polynomials over them.

mod basis;
mod convert;
pub mod key_product;
mod poly;
pub mod product_sums;
pub mod sub_scale;
#[cfg(test)]
mod tests;

pub use basis::{Crt, RnsBasis};
pub use convert::{BasisConverter, ModUpDown};
pub use poly::{Representation, RnsPoly, ShoupPoly};
