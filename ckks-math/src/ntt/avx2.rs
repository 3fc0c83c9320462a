//! AVX2 kernels of [`NttTable`], chosen at run time when the CPU has AVX2.
//!
//! They do exactly the operations of the portable kernels in the parent module, four lanes at
//! a time, so both give bit-identical outputs (lazy ones included); a test checks this.
//!
//! AVX2 has no 64x64-bit multiplication, so the Shoup product is built from the 32x32 -> 64-bit
//! `vpmuludq`: four for the exact high word of `x * w_shoup`, three each for the low words of
//! `x * w` and `quot * q` (their `2^64` terms vanish modulo `2^64`). All values stay below
//! `4q < 2^63`, so the signed 64-bit comparison serves as an unsigned one.

// Intrinsics are safe to call inside `#[target_feature]` functions since Rust 1.86; the MSRV
// (1.85) still needs the `unsafe` blocks.
#![allow(unused_unsafe)]

use core::arch::x86_64::*;

use super::NttTable;

/// Broadcast constants of the modulus.
#[derive(Clone, Copy)]
struct Q {
    q: __m256i,
    q_hi: __m256i,
    two_q: __m256i,
    mask32: __m256i,
}

/// Four twiddles with their Shoup constants, each with its high 32-bit half shifted down.
#[derive(Clone, Copy)]
struct W {
    w: __m256i,
    w_hi: __m256i,
    s: __m256i,
    s_hi: __m256i,
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn consts(q: u64) -> Q {
    unsafe {
        Q {
            q: _mm256_set1_epi64x(q as i64),
            q_hi: _mm256_set1_epi64x((q >> 32) as i64),
            two_q: _mm256_set1_epi64x(2 * q as i64),
            mask32: _mm256_set1_epi64x(0xffff_ffff),
        }
    }
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn twiddles(w: __m256i, s: __m256i) -> W {
    unsafe { W { w, w_hi: _mm256_srli_epi64::<32>(w), s, s_hi: _mm256_srli_epi64::<32>(s) } }
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn splat(w: u64, s: u64) -> W {
    unsafe { twiddles(_mm256_set1_epi64x(w as i64), _mm256_set1_epi64x(s as i64)) }
}

/// Twiddles `[w[0], w[0], w[1], w[1]]` for the layer with butterfly distance 2.
///
/// # Safety
/// `w` and `s` must be valid for reading two `u64`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn dup2(w: *const u64, s: *const u64) -> W {
    unsafe {
        let w = _mm256_castsi128_si256(_mm_loadu_si128(w.cast()));
        let s = _mm256_castsi128_si256(_mm_loadu_si128(s.cast()));
        twiddles(_mm256_permute4x64_epi64::<0b01_01_00_00>(w), _mm256_permute4x64_epi64::<0b01_01_00_00>(s))
    }
}

/// `x >= m ? x - m : x` lanewise, for `x, m < 2^63`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn sub_if_ge(x: __m256i, m: __m256i) -> __m256i {
    unsafe {
        let lt = _mm256_cmpgt_epi64(m, x);
        _mm256_blendv_epi8(_mm256_sub_epi64(x, m), x, lt)
    }
}

/// Lanewise [`crate::Modulus::mul_shoup_lazy`]: `x * w mod q` in `[0, 2q)` for any 64-bit `x`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn mul_shoup_lazy(x: __m256i, w: W, c: Q) -> __m256i {
    unsafe {
        // The empty `asm!` hides `x_hi = x >> 32` from LLVM: otherwise it recognises the
        // high-word product below and scalarises it into four `mul` with lane transfers.
        let mut x_hi = _mm256_srli_epi64::<32>(x);
        core::arch::asm!("/* {0} */", inout(ymm_reg) x_hi, options(pure, nomem, nostack, preserves_flags));
        // quot = high word of x * s, exactly.
        let ll = _mm256_mul_epu32(x, w.s);
        let lh = _mm256_mul_epu32(x, w.s_hi);
        let hl = _mm256_mul_epu32(x_hi, w.s);
        let hh = _mm256_mul_epu32(x_hi, w.s_hi);
        let mid = _mm256_add_epi64(lh, _mm256_srli_epi64::<32>(ll));
        let mid2 = _mm256_add_epi64(hl, _mm256_and_si256(mid, c.mask32));
        let quot = _mm256_add_epi64(_mm256_add_epi64(hh, _mm256_srli_epi64::<32>(mid)), _mm256_srli_epi64::<32>(mid2));
        let quot_hi = _mm256_srli_epi64::<32>(quot);
        // x * w - quot * q mod 2^64 from the low and cross 32-bit products.
        let lo = _mm256_sub_epi64(_mm256_mul_epu32(x, w.w), _mm256_mul_epu32(quot, c.q));
        let cross = _mm256_sub_epi64(
            _mm256_add_epi64(_mm256_mul_epu32(x_hi, w.w), _mm256_mul_epu32(x, w.w_hi)),
            _mm256_add_epi64(_mm256_mul_epu32(quot_hi, c.q), _mm256_mul_epu32(quot, c.q_hi)),
        );
        _mm256_add_epi64(lo, _mm256_slli_epi64::<32>(cross))
    }
}

/// Harvey's lazy Cooley-Tukey butterfly: `x, y` in `[0, 4q)` to `x + wy, x - wy` in `[0, 4q)`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn fwd_bfly(x: __m256i, y: __m256i, w: W, c: Q) -> (__m256i, __m256i) {
    unsafe {
        let u = sub_if_ge(x, c.two_q);
        let v = mul_shoup_lazy(y, w, c);
        (_mm256_add_epi64(u, v), _mm256_add_epi64(_mm256_sub_epi64(u, v), c.two_q))
    }
}

/// The same butterfly with outputs fully reduced to `[0, q)`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn fwd_bfly_strict(x: __m256i, y: __m256i, w: W, c: Q) -> (__m256i, __m256i) {
    unsafe {
        let u = sub_if_ge(sub_if_ge(x, c.two_q), c.q);
        let v = sub_if_ge(mul_shoup_lazy(y, w, c), c.q);
        (sub_if_ge(_mm256_add_epi64(u, v), c.q), sub_if_ge(_mm256_add_epi64(_mm256_sub_epi64(u, v), c.q), c.q))
    }
}

/// Gentleman-Sande butterfly: `x, y` in `[0, 2q)` to `x + y, w(x - y)` in `[0, 2q)`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn inv_bfly(x: __m256i, y: __m256i, w: W, c: Q) -> (__m256i, __m256i) {
    unsafe {
        let s = sub_if_ge(_mm256_add_epi64(x, y), c.two_q);
        let d = _mm256_add_epi64(_mm256_sub_epi64(x, y), c.two_q);
        (s, mul_shoup_lazy(d, w, c))
    }
}

/// The inverse's last layer with `N^-1` merged in: `x, y` in `[0, 2q)` to `w0 (x + y)` and
/// `w1 (x - y)`, in `[0, 2q)`, or `[0, q)` when `strict`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn inv_last_bfly(x: __m256i, y: __m256i, w0: W, w1: W, c: Q, strict: bool) -> (__m256i, __m256i) {
    unsafe {
        let s = mul_shoup_lazy(_mm256_add_epi64(x, y), w0, c);
        let d = mul_shoup_lazy(_mm256_add_epi64(_mm256_sub_epi64(x, y), c.two_q), w1, c);
        if strict {
            (sub_if_ge(s, c.q), sub_if_ge(d, c.q))
        } else {
            (s, d)
        }
    }
}

/// Unaligned load of four `u64`.
///
/// # Safety
/// `p` must be valid for reading four `u64`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load(p: *const u64) -> __m256i {
    unsafe { _mm256_loadu_si256(p.cast()) }
}

/// Unaligned store of four `u64`.
///
/// # Safety
/// `p` must be valid for writing four `u64`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store(p: *mut u64, v: __m256i) {
    unsafe { _mm256_storeu_si256(p.cast(), v) }
}

/// Loads the four twiddles at `w[k..k+4]` and `s[k..k+4]` in natural order.
///
/// # Safety
/// `w` and `s` must be valid for reading four `u64`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn four(w: *const u64, s: *const u64) -> W {
    unsafe { twiddles(load(w), load(s)) }
}

/// Forward transform; see [`NttTable::forward_lazy`] (`strict = false`) and
/// [`NttTable::forward`] (`strict = true`).
///
/// Layers go by pairs (radix 4: one load and store of the data per two layers); the last two
/// layers (butterfly distances 2 and 1) run together on eight values held in two registers.
///
/// # Safety
/// The CPU must support AVX2; `a.len() == table.n >= 8`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn forward(table: &NttTable, a: &mut [u64], strict: bool) {
    let n = table.n;
    assert!(n >= 8 && a.len() == n && table.fwd.len() == n && table.fwd_shoup.len() == n);
    let c = unsafe { consts(table.modulus.value()) };
    let p = a.as_mut_ptr();
    let (fw, fs) = (table.fwd.as_ptr(), table.fwd_shoup.as_ptr());
    // SAFETY (whole body): every index below is < n, the length of `a`, `fwd` and `fwd_shoup`.
    unsafe {
        let m = forward_outer_layers!(p, fw, fs, n, c, 4);
        // t = 2 then t = 1 on eight values a0..a7: two blocks of the t = 2 layer, four pairs
        // of the t = 1 layer.
        for i in (0..m).step_by(2) {
            let b = p.add(4 * i);
            let (v0, v1) = (load(b), load(b.add(4)));
            let x = _mm256_permute2x128_si256::<0x20>(v0, v1); // a0 a1 a4 a5
            let y = _mm256_permute2x128_si256::<0x31>(v0, v1); // a2 a3 a6 a7
            let (x, y) = fwd_bfly(x, y, dup2(fw.add(m + i), fs.add(m + i)), c);
            let u = _mm256_unpacklo_epi64(x, y); // a0 a2 a4 a6
            let v = _mm256_unpackhi_epi64(x, y); // a1 a3 a5 a7
            let w = four(fw.add(2 * m + 2 * i), fs.add(2 * m + 2 * i));
            let (u, v) = if strict { fwd_bfly_strict(u, v, w, c) } else { fwd_bfly(u, v, w, c) };
            let x = _mm256_unpacklo_epi64(u, v); // a0 a1 a4 a5
            let y = _mm256_unpackhi_epi64(u, v); // a2 a3 a6 a7
            store(b, _mm256_permute2x128_si256::<0x20>(x, y));
            store(b.add(4), _mm256_permute2x128_si256::<0x31>(x, y));
        }
    }
}

/// Inverse transform; see [`NttTable::inverse_lazy`] (`strict = false`) and
/// [`NttTable::inverse`] (`strict = true`).
///
/// The mirror of [`forward`]: the first two layers together in registers, then pairs of
/// layers; the last layer merges `N^-1`.
///
/// # Safety
/// The CPU must support AVX2; `a.len() == table.n >= 8`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn inverse(table: &NttTable, a: &mut [u64], strict: bool) {
    let n = table.n;
    assert!(n >= 8 && a.len() == n && table.inv.len() == n && table.inv_shoup.len() == n);
    let c = unsafe { consts(table.modulus.value()) };
    let p = a.as_mut_ptr();
    let (iw, is) = (table.inv.as_ptr(), table.inv_shoup.as_ptr());
    // SAFETY (whole body): every index below is < n, the length of `a`, `inv` and `inv_shoup`.
    unsafe {
        // t = 1 then t = 2 on eight values a0..a7.
        let h = n / 2;
        for i in (0..h).step_by(4) {
            let b = p.add(2 * i);
            let (v0, v1) = (load(b), load(b.add(4)));
            let x = _mm256_permute2x128_si256::<0x20>(v0, v1); // a0 a1 a4 a5
            let y = _mm256_permute2x128_si256::<0x31>(v0, v1); // a2 a3 a6 a7
            let u = _mm256_unpacklo_epi64(x, y); // a0 a2 a4 a6
            let v = _mm256_unpackhi_epi64(x, y); // a1 a3 a5 a7
            let (u, v) = inv_bfly(u, v, four(iw.add(h + i), is.add(h + i)), c);
            let x = _mm256_unpacklo_epi64(u, v); // a0 a1 a4 a5
            let y = _mm256_unpackhi_epi64(u, v); // a2 a3 a6 a7
            let (x, y) = inv_bfly(x, y, dup2(iw.add(h / 2 + i / 2), is.add(h / 2 + i / 2)), c);
            store(b, _mm256_permute2x128_si256::<0x20>(x, y));
            store(b.add(4), _mm256_permute2x128_si256::<0x31>(x, y));
        }
        let last = (splat(table.n_inv, table.n_inv_shoup), splat(table.n_inv_w, table.n_inv_w_shoup));
        inverse_outer_layers!(n, p, iw, is, c, 4, strict, last);
    }
}
