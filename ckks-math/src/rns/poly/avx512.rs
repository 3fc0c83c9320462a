//! AVX-512 kernels of [`super::RnsPoly::tensor`] and of the pointwise products
//! ([`super::RnsPoly::mul_assign`], [`super::RnsPoly::add_mul_assign`]): eight coefficients at
//! a time, each product an exact 128-bit sum ([`crate::avx512::mac`]) reduced once
//! ([`crate::avx512::finish`]) to the canonical residue, so the words are the portable kernel's.

use crate::avx512::{finish, load, mac, prep, store, sub_if_ge, zero, Reduce};
use crate::Modulus;
use core::arch::x86_64::_mm512_add_epi64;

/// `a = a b mod m` on the first `len - len % 8` coefficients; returns that count.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512DQ; the slices have the same length and the inputs
/// are reduced (below `m < 2^61`).
#[target_feature(enable = "avx512f,avx512dq")]
pub(super) unsafe fn mul_limb(m: &Modulus, a: &mut [u64], b: &[u64]) -> usize {
    let n = a.len();
    assert_eq!(b.len(), n);
    let r = Reduce::new(m);
    let simd = n - n % 8;
    for c in (0..simd).step_by(8) {
        // SAFETY: c + 8 <= n, the length of both slices.
        let (x, y) = unsafe { (load(a.as_ptr().add(c)), load(b.as_ptr().add(c))) };
        let mut s = zero();
        mac(&mut s, prep(x), y, &r);
        // SAFETY: as above.
        unsafe { store(a.as_mut_ptr().add(c), finish(s, &r)) };
    }
    simd
}

/// `acc = acc + x y mod m` on the first `len - len % 8` coefficients; returns that count.
///
/// # Safety
/// As [`mul_limb`], for the three slices.
#[target_feature(enable = "avx512f,avx512dq")]
pub(super) unsafe fn add_mul_limb(m: &Modulus, acc: &mut [u64], x: &[u64], y: &[u64]) -> usize {
    let n = acc.len();
    assert!(x.len() == n && y.len() == n);
    let r = Reduce::new(m);
    let simd = n - n % 8;
    for c in (0..simd).step_by(8) {
        // SAFETY: c + 8 <= n, the length of every slice.
        let (o, u, v) = unsafe { (load(acc.as_ptr().add(c)), load(x.as_ptr().add(c)), load(y.as_ptr().add(c))) };
        let mut s = zero();
        mac(&mut s, prep(u), v, &r);
        // Both terms are below q, so their sum is below 2q.
        let sum = sub_if_ge(_mm512_add_epi64(finish(s, &r), o), r.c.q);
        // SAFETY: as above.
        unsafe { store(acc.as_mut_ptr().add(c), sum) };
    }
    simd
}

/// `o0 = x0 y0`, `o1 = x0 y1 + x1 y0`, `o2 = x1 y1` modulo `m` on the first `len - len % 8`
/// coefficients; returns that count.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512DQ; the seven slices have the same length and the
/// inputs are reduced (below `m < 2^61`).
#[target_feature(enable = "avx512f,avx512dq")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn tensor_limb(
    m: &Modulus,
    x0: &[u64],
    x1: &[u64],
    y0: &[u64],
    y1: &[u64],
    o0: &mut [u64],
    o1: &mut [u64],
    o2: &mut [u64],
) -> usize {
    let n = x0.len();
    assert!([x1.len(), y0.len(), y1.len(), o0.len(), o1.len(), o2.len()].iter().all(|&l| l == n));
    let r = Reduce::new(m);
    let simd = n - n % 8;
    for c in (0..simd).step_by(8) {
        // SAFETY: c + 8 <= n, the length of every slice.
        let (a0, a1, b0, b1) = unsafe {
            (load(x0.as_ptr().add(c)), load(x1.as_ptr().add(c)), load(y0.as_ptr().add(c)), load(y1.as_ptr().add(c)))
        };
        let (a0, a1) = (prep(a0), prep(a1));
        let (mut s0, mut s1, mut s2) = (zero(), zero(), zero());
        mac(&mut s0, a0, b0, &r);
        mac(&mut s1, a0, b1, &r);
        mac(&mut s1, a1, b0, &r);
        mac(&mut s2, a1, b1, &r);
        // SAFETY: as above.
        unsafe {
            store(o0.as_mut_ptr().add(c), finish(s0, &r));
            store(o1.as_mut_ptr().add(c), finish(s1, &r));
            store(o2.as_mut_ptr().add(c), finish(s2, &r));
        }
    }
    simd
}
