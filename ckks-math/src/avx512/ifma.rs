//! Lanewise arithmetic modulo a prime `q < 2^50` with AVX-512IFMA's 52-bit multiply-adds: the
//! Shoup product of the NTT and exact sums of products, the same interface as the parent
//! module's 64-bit forms so that one kernel body serves both.
//!
//! Every operand must be below `2^52` (IFMA reads the low 52 bits): for `q < 2^50` that holds
//! for values lazy up to `4q`.
//!
//! Callers must run on a CPU with AVX-512F, AVX-512DQ and AVX-512IFMA
//! ([`crate::NttKernel::Avx512Ifma`]).

use core::arch::x86_64::*;

use super::{mul_shoup_lazy as mul_shoup_lazy64, splat as splat64, sub_if_ge, W as W64};

/// Broadcast constants of the modulus.
#[derive(Clone, Copy)]
pub(crate) struct Q {
    pub(crate) q: __m512i,
    pub(crate) two_q: __m512i,
    mask52: __m512i,
}

/// Eight twiddles with their 52-bit Shoup constants `floor(w 2^52 / q)`.
#[derive(Clone, Copy)]
pub(crate) struct W {
    w: __m512i,
    s: __m512i,
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn consts(q: u64) -> Q {
    debug_assert!(q < crate::ntt::IFMA_PRIME_BOUND);
    Q {
        q: _mm512_set1_epi64(q as i64),
        two_q: _mm512_set1_epi64(2 * q as i64),
        mask52: _mm512_set1_epi64((1 << 52) - 1),
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn twiddles(w: __m512i, s: __m512i) -> W {
    W { w, s }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn splat(w: u64, s: u64) -> W {
    twiddles(_mm512_set1_epi64(w as i64), _mm512_set1_epi64(s as i64))
}

/// `x * w mod q` in `[0, 2q)` for `x < 2^52`, `w < q < 2^50` and `s = floor(w 2^52 / q)`:
/// `quot = floor(x s / 2^52)` (`vpmadd52huq`), then the low 52 bits of `x w` and `quot q`
/// (`vpmadd52luq`), whose difference modulo `2^52` is `x w - quot q`, in `[0, 2q)` as with
/// the 64-bit constant (though the quotient may differ from the 64-bit one by one).
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn mul_shoup_lazy(x: __m512i, w: W, c: Q) -> __m512i {
    let zero = _mm512_setzero_si512();
    let quot = _mm512_madd52hi_epu64(zero, x, w.s);
    let r = _mm512_sub_epi64(_mm512_madd52lo_epu64(zero, x, w.w), _mm512_madd52lo_epu64(zero, quot, c.q));
    _mm512_and_si512(r, c.mask52)
}

// Exact sums of products `x g` for `x, g < 2^52`: `x g = h 2^52 + l` is two multiply-adds,
// `vpmadd52luq` adding `l` to one accumulator and `vpmadd52huq` adding `h` to another (the
// 64-bit form spends four `vpmuludq` and five additions). With `x < 2^52` and `g < 2^50`,
// `h < 2^52`, so 4096 products fit both. The sum `H 2^52 + L` is reduced as
// `H (2^52 mod q) + L mod q`: two lazy 64-bit Shoup products and two conditional subtractions,
// the canonical residue, as `Modulus::reduce_u128` gives.

/// The low and high 52-bit halves of the products, summed.
#[derive(Clone, Copy)]
pub(crate) struct Acc {
    lo: __m512i,
    hi: __m512i,
}

/// A multiplicand made ready for [`mac`] (the value itself).
pub(crate) type Prepared = __m512i;

/// The reduction constants: `2^52 mod q` and `1` with their 64-bit Shoup constants.
#[derive(Clone, Copy)]
pub(crate) struct Reduce {
    pub(crate) c: super::Q,
    r52: W64,
    one: W64,
}

impl Reduce {
    /// The constants for `m` (below `2^50`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    pub(crate) fn new(m: &crate::Modulus) -> Self {
        debug_assert!(m.value() < crate::ntt::IFMA_PRIME_BOUND);
        let r52 = m.reduce_u128(1u128 << 52);
        Self { c: super::consts(m.value()), r52: splat64(r52, m.shoup(r52)), one: splat64(1, m.shoup(1)) }
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn zero() -> Acc {
    Acc { lo: _mm512_setzero_si512(), hi: _mm512_setzero_si512() }
}

/// `x` as [`mac`] takes it.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn prep(x: __m512i) -> Prepared {
    x
}

/// `acc += x g` for `x, g < 2^52`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn mac(acc: &mut Acc, x: Prepared, g: __m512i, _: &Reduce) {
    acc.lo = _mm512_madd52lo_epu64(acc.lo, x, g);
    acc.hi = _mm512_madd52hi_epu64(acc.hi, x, g);
}

/// `(H 2^52 + L) mod q` in `[0, q)`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn finish(acc: Acc, r: &Reduce) -> __m512i {
    let s = _mm512_add_epi64(mul_shoup_lazy64(acc.hi, r.r52, r.c), mul_shoup_lazy64(acc.lo, r.one, r.c));
    sub_if_ge(sub_if_ge(s, r.c.two_q), r.c.q)
}
