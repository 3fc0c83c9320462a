//! The AVX-512 transforms with IFMA's 52-bit products (AVX-512IFMA), for primes below `2^50`.
//!
//! Harvey's butterflies keep values below `4q`, which for `q < 2^50` is below `2^52`: every
//! operand fits IFMA's 52-bit inputs. The Shoup product `x w mod q` then takes the constant
//! `s = floor(w 2^52 / q)` (a table of its own) and three multiply-adds
//! ([`crate::avx512::ifma::mul_shoup_lazy`]); the 64-bit kernel needs four `vpmuludq` and two
//! `vpmullq` for the same product.
//!
//! Outputs: the strict transforms give the canonical residues, bit-identical to every other
//! kernel. The lazy ones give the same residues in the same ranges, but not always the same
//! representative: `floor(x s / 2^52)` and the 64-bit quotient may differ by one, and so may
//! the lazy product by `q`. Every consumer of a lazy transform reduces afterwards
//! (`NttTable::forward_lazy`), so ciphertexts are bit-identical too.

use core::arch::x86_64::*;

use super::{shuffle, spread_pattern, D1, D1_BACK, D2, D4, EVEN_ODD};
use crate::avx512::ifma::{consts, mul_shoup_lazy, splat, twiddles, Q, W};
use crate::avx512::{load, store, sub_if_ge};
use crate::ntt::NttTable;

/// The table's 52-bit Shoup constants; panics if it has none (a prime of `2^50` or more).
fn shoup_constants(table: &NttTable) -> (&[u64], &[u64], u64, u64) {
    let s = table.shoup52.as_ref().expect("IFMA transforms need a prime below 2^50");
    (&s.fwd, &s.inv, s.n_inv, s.n_inv_w)
}

transforms!("avx512f,avx512dq,avx512ifma");
