//! The IFMA kernel of [`KeyProduct::compute`] (AVX-512IFMA), for primes below `2^50`.
//!
//! Digits lie below `4q < 2^52` and key words and lifts below `q`, so every operand fits IFMA's
//! 52-bit inputs and each product `x g = h 2^52 + l` is two multiply-adds: `vpmadd52luq` adds
//! `l` to one accumulator, `vpmadd52huq` adds `h < 2^50` to another (the 64-bit kernel spends
//! four `vpmuludq` and five additions). Ten products keep both below `2^56`. The sum
//! `H 2^52 + L` is reduced as `H (2^52 mod q) + L mod q`: two lazy 64-bit Shoup products and two
//! conditional subtractions, the canonical residue of the same exact sum as the other kernels.

use core::arch::x86_64::*;

use super::{columns, read};
use crate::avx512::{consts, mul_shoup_lazy, splat, store, sub_if_ge, Q, W};
use crate::rns::key_product::KeyProduct;

/// The low and high 52-bit halves of the products, summed.
#[derive(Clone, Copy)]
struct Acc {
    lo: __m512i,
    hi: __m512i,
}

/// The reduction constants: `2^52 mod q` and `1` with their (64-bit) Shoup constants.
#[derive(Clone, Copy)]
struct R {
    c: Q,
    r52: W,
    one: W,
}

impl R {
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn new(m: &crate::Modulus) -> Self {
        debug_assert!(m.value() < 1 << 50);
        let r52 = m.reduce_u128(1u128 << 52);
        Self { c: consts(m.value()), r52: splat(r52, m.shoup(r52)), one: splat(1, m.shoup(1)) }
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn zero() -> Acc {
    Acc { lo: _mm512_setzero_si512(), hi: _mm512_setzero_si512() }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn prep(x: __m512i) -> __m512i {
    x
}

/// `acc += x g` for `x, g < 2^52`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn mac(acc: &mut Acc, x: __m512i, g: __m512i, _: &R) {
    acc.lo = _mm512_madd52lo_epu64(acc.lo, x, g);
    acc.hi = _mm512_madd52hi_epu64(acc.hi, x, g);
}

/// `(hi 2^52 + lo) mod q` in `[0, q)`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn finish(acc: Acc, r: &R) -> __m512i {
    let s = _mm512_add_epi64(mul_shoup_lazy(acc.hi, r.r52, r.c), mul_shoup_lazy(acc.lo, r.one, r.c));
    sub_if_ge(sub_if_ge(s, r.c.two_q), r.c.q)
}

inner_product!("avx512f,avx512dq,avx512ifma");
