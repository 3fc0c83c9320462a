//! The IFMA kernel of [`KeyProduct::compute`] (AVX-512IFMA), for primes below `2^50`: digits
//! lie below `4q < 2^52` and key words and lifts below `q`, so every operand fits IFMA's 52-bit
//! inputs, and each product is two multiply-adds ([`crate::avx512::ifma::mac`]).

use core::arch::x86_64::*;

use super::{columns, read};
use crate::avx512::ifma::{finish, mac, prep, zero, Reduce as R};
use crate::avx512::store;
use crate::rns::key_product::KeyProduct;

inner_product!("avx512f,avx512dq,avx512ifma");
