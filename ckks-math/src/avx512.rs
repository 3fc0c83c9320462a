//! Lanewise arithmetic modulo a prime on eight 64-bit lanes (AVX-512F with AVX-512DQ): what
//! the NTT kernels (`ntt/avx512.rs`) and the basis conversion's kernel (`rns/convert/avx512.rs`)
//! share, each operation the exact lanewise image of its [`crate::Modulus`] counterpart; and
//! exact sums of products ([`Acc`], [`prep`], [`mac`], [`finish`]) for the key product, the
//! tensor and the product sums. [`ifma`] has the same for primes below `2^50` with IFMA.
//!
//! Callers must run on a CPU with AVX-512F and AVX-512DQ ([`crate::NttKernel::detected`]).

use core::arch::x86_64::*;

/// Broadcast constants of the modulus.
#[derive(Clone, Copy)]
pub(crate) struct Q {
    pub(crate) q: __m512i,
    pub(crate) two_q: __m512i,
    pub(crate) mask32: __m512i,
}

/// Eight twiddles with their Shoup constants (`s_hi`: the high 32-bit half shifted down).
#[derive(Clone, Copy)]
pub(crate) struct W {
    pub(crate) w: __m512i,
    pub(crate) s: __m512i,
    pub(crate) s_hi: __m512i,
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn consts(q: u64) -> Q {
    Q { q: _mm512_set1_epi64(q as i64), two_q: _mm512_set1_epi64(2 * q as i64), mask32: _mm512_set1_epi64(0xffff_ffff) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn twiddles(w: __m512i, s: __m512i) -> W {
    W { w, s, s_hi: _mm512_srli_epi64::<32>(s) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn splat(w: u64, s: u64) -> W {
    twiddles(_mm512_set1_epi64(w as i64), _mm512_set1_epi64(s as i64))
}

/// `x >= m ? x - m : x` lanewise (`x - m` wraps above `x` when `x < m`).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn sub_if_ge(x: __m512i, m: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, m))
}

/// Lanewise [`crate::Modulus::mul_shoup_lazy`]: `x * w mod q` in `[0, 2q)` for any 64-bit `x`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn mul_shoup_lazy(x: __m512i, w: W, c: Q) -> __m512i {
    // The empty `asm!` hides `x_hi = x >> 32` from LLVM, which otherwise may recognise the
    // high-word product and scalarise it.
    let mut x_hi = _mm512_srli_epi64::<32>(x);
    // SAFETY: an empty template; it only pins the register.
    unsafe { core::arch::asm!("/* {0} */", inout(zmm_reg) x_hi, options(pure, nomem, nostack, preserves_flags)) };
    // quot = high word of x * s, exactly.
    let ll = _mm512_mul_epu32(x, w.s);
    let lh = _mm512_mul_epu32(x, w.s_hi);
    let hl = _mm512_mul_epu32(x_hi, w.s);
    let hh = _mm512_mul_epu32(x_hi, w.s_hi);
    let mid = _mm512_add_epi64(lh, _mm512_srli_epi64::<32>(ll));
    let mid2 = _mm512_add_epi64(hl, _mm512_and_si512(mid, c.mask32));
    let quot = _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64::<32>(mid)), _mm512_srli_epi64::<32>(mid2));
    // x * w - quot * q mod 2^64.
    _mm512_sub_epi64(_mm512_mullo_epi64(x, w.w), _mm512_mullo_epi64(quot, c.q))
}

/// Unaligned load of eight `u64`.
///
/// # Safety
/// `p` must be valid for reading eight `u64`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) unsafe fn load(p: *const u64) -> __m512i {
    unsafe { _mm512_loadu_si512(p.cast()) }
}

/// Unaligned store of eight `u64`.
///
/// # Safety
/// `p` must be valid for writing eight `u64`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) unsafe fn store(p: *mut u64, v: __m512i) {
    unsafe { _mm512_storeu_si512(p.cast(), v) }
}

// Exact sums of products: `x g` for `x < 2^63` and `g < 2^61` from four 32x32-bit `vpmuludq`,
//
//     x g = x0 g0 + (x0 g1 + x1 g0) 2^32 + x1 g1 2^64     (x = x1 2^32 + x0, g = g1 2^32 + g0),
//
// summed exactly in three 64-bit columns: `l` takes the low half of `x0 g0`, `m` its high half
// and the low half of the cross sum `x0 g1 + x1 g0` (below `2^63 + 2^61`), `t` takes `x1 g1`
// (below `2^60`) and the cross sum's high half. `l` and `m` gain less than `2^33` per product,
// `t` less than `2^60 + 2^32`, so nine products fit (and 32 of factors both below `2^61`: then
// `t` gains less than `2^58 + 2^30`). The sum `S = hi 2^64 + lo` is reduced as
// `hi (2^64 mod q) + lo mod q`, two lazy Shoup products and two conditional subtractions: the
// canonical residue, as `Modulus::reduce_u128` gives.

/// The three columns of an exact 128-bit sum of products, on eight lanes.
#[derive(Clone, Copy)]
pub(crate) struct Acc {
    l: __m512i,
    m: __m512i,
    t: __m512i,
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn zero() -> Acc {
    let z = _mm512_setzero_si512();
    Acc { l: z, m: z, t: z }
}

/// A multiplicand made ready for [`mac`]: the value and its high 32-bit halves.
pub(crate) type Prepared = (__m512i, __m512i);

/// `x` as [`mac`] takes it.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn prep(x: __m512i) -> Prepared {
    (x, _mm512_srli_epi64::<32>(x))
}

/// `acc += x g` for `x < 2^63` (prepared by [`prep`]) and `g < 2^61`: up to nine such products,
/// or 32 with `x < 2^61` too.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn mac(acc: &mut Acc, (x, x1): Prepared, g: __m512i, r: &Reduce) {
    let g1 = _mm512_srli_epi64::<32>(g);
    let p00 = _mm512_mul_epu32(x, g);
    let cross = _mm512_add_epi64(_mm512_mul_epu32(x, g1), _mm512_mul_epu32(x1, g));
    acc.l = _mm512_add_epi64(acc.l, _mm512_and_si512(p00, r.c.mask32));
    let m = _mm512_add_epi64(_mm512_srli_epi64::<32>(p00), _mm512_and_si512(cross, r.c.mask32));
    acc.m = _mm512_add_epi64(acc.m, m);
    let t = _mm512_add_epi64(_mm512_mul_epu32(x1, g1), _mm512_srli_epi64::<32>(cross));
    acc.t = _mm512_add_epi64(acc.t, t);
}

/// The reduction constants: `2^64 mod q` and `1`, each with its Shoup constant.
#[derive(Clone, Copy)]
pub(crate) struct Reduce {
    pub(crate) c: Q,
    r64: W,
    one: W,
}

impl Reduce {
    /// The constants for `m`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq")]
    pub(crate) fn new(m: &crate::Modulus) -> Self {
        let r64 = m.reduce_u128(1u128 << 64);
        Self { c: consts(m.value()), r64: splat(r64, m.shoup(r64)), one: splat(1, m.shoup(1)) }
    }
}

/// `S mod q` in `[0, q)` for the sum `S` that `acc` holds (below `2^127`).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) fn finish(acc: Acc, r: &Reduce) -> __m512i {
    let mask32 = r.c.mask32;
    let mid = _mm512_add_epi64(acc.m, _mm512_srli_epi64::<32>(acc.l));
    let lo = _mm512_or_si512(_mm512_and_si512(acc.l, mask32), _mm512_slli_epi64::<32>(mid));
    let hi = _mm512_add_epi64(acc.t, _mm512_srli_epi64::<32>(mid));
    let s = _mm512_add_epi64(mul_shoup_lazy(hi, r.r64, r.c), mul_shoup_lazy(lo, r.one, r.c));
    sub_if_ge(sub_if_ge(s, r.c.two_q), r.c.q)
}

pub(crate) mod ifma;
