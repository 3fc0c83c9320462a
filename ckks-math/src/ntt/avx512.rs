//! AVX-512 kernels of [`NttTable`], chosen at run time when the CPU has AVX-512F and
//! AVX-512DQ, and their IFMA form ([`ifma`]) for primes below `2^50`.
//!
//! The 64-bit kernels here do exactly the operations of the portable kernels in the parent
//! module, eight lanes at a time, so all three give bit-identical outputs (lazy ones included);
//! a test checks this.
//!
//! Against the AVX2 kernels: twice the lanes; `vpmullq` (AVX-512DQ) gives the low words of
//! `x * w` and `quot * q` in one instruction each, where AVX2 needs three `vpmuludq`; and the
//! conditional subtraction is the unsigned minimum `min(x, x - m)`, as in the scalar code. The
//! high word of `x * w_shoup` is still four `vpmuludq`; the IFMA kernels replace the whole Shoup
//! product by three 52-bit multiply-adds where the prime allows it.
//!
//! The butterflies and both transforms are written once, in [`transforms`], and expanded in
//! each module with that module's Shoup product and twiddle type.

use core::arch::x86_64::*;

use super::NttTable;
use crate::avx512::{consts, load, mul_shoup_lazy, splat, store, sub_if_ge, twiddles, Q, W};

/// The index vector with lane `k` holding `i[k]`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn idx(i: [i64; 8]) -> __m512i {
    _mm512_set_epi64(i[7], i[6], i[5], i[4], i[3], i[2], i[1], i[0])
}

/// The selector and load mask that repeat `len` values (`len` = 1, 2, 4, 8) `8 / len` times
/// each.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn spread_pattern(len: usize) -> (__m512i, __mmask8) {
    let rep = (8 / len) as i64;
    (idx(core::array::from_fn(|i| i as i64 / rep)), ((1u16 << len) - 1) as __mmask8)
}

/// Lanes `i[k] < 8` of `a` and `i[k] - 8` of `b`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn pick(a: __m512i, b: __m512i, i: [i64; 8]) -> __m512i {
    _mm512_permutex2var_epi64(a, idx(i), b)
}

// Lane layouts of sixteen values a0..a15 held in two registers, for the three innermost
// layers (butterfly distances 4, 2, 1): each layout puts the butterflies' two inputs at the
// same lane of the two registers.
/// `(a0..a7, a8..a15)` <-> `(a0..a3 a8..a11, a4..a7 a12..a15)`: an involution.
const D4: ([i64; 8], [i64; 8]) = ([0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]);
/// `(a0..a3 a8..a11, a4..a7 a12..a15)` -> `(a0 a1 a4 a5 a8 a9 a12 a13, a2 a3 a6 a7 ...)`, and
/// back (an involution too).
const D2: ([i64; 8], [i64; 8]) = ([0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]);
/// `(a0 a1 a4 a5 .., a2 a3 a6 a7 ..)` <-> `(a0 a2 a4 .. a14, a1 a3 .. a15)`: an involution.
const D1: ([i64; 8], [i64; 8]) = ([0, 8, 2, 10, 4, 12, 6, 14], [1, 9, 3, 11, 5, 13, 7, 15]);
/// `(a0 a2 .. a14, a1 a3 .. a15)` -> `(a0..a7, a8..a15)`.
const D1_BACK: ([i64; 8], [i64; 8]) = ([0, 8, 1, 9, 2, 10, 3, 11], [4, 12, 5, 13, 6, 14, 7, 15]);
/// `(a0..a7, a8..a15)` -> `(a0 a2 .. a14, a1 a3 .. a15)`.
const EVEN_ODD: ([i64; 8], [i64; 8]) = ([0, 2, 4, 6, 8, 10, 12, 14], [1, 3, 5, 7, 9, 11, 13, 15]);

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn shuffle(x: __m512i, y: __m512i, d: ([i64; 8], [i64; 8])) -> (__m512i, __m512i) {
    (pick(x, y, d.0), pick(x, y, d.1))
}

/// The butterflies, the forward and the inverse transform, expanded in a module that provides
/// the modulus constants `Q` (`q`, `two_q`) and `consts`, the twiddle type `W`, `twiddles`,
/// `splat` and `mul_shoup_lazy` (`x * w mod q` in `[0, 2q)` for the inputs below `4q`), and
/// `shoup_constants` (the table's Shoup constants for that product: forward and inverse
/// twiddles, `N^-1` and `N^-1 psi^-brv(1)`). `$features` are the target features of every
/// function; the kernels need `N >= 16`.
macro_rules! transforms {
    ($features:literal) => {
        /// Harvey's lazy Cooley-Tukey butterfly: `x, y` in `[0, 4q)` to `x + wy, x - wy` in
        /// `[0, 4q)`.
        #[inline]
        #[target_feature(enable = $features)]
        fn fwd_bfly(x: __m512i, y: __m512i, w: W, c: Q) -> (__m512i, __m512i) {
            let u = sub_if_ge(x, c.two_q);
            let v = mul_shoup_lazy(y, w, c);
            (_mm512_add_epi64(u, v), _mm512_add_epi64(_mm512_sub_epi64(u, v), c.two_q))
        }

        /// The same butterfly with outputs fully reduced to `[0, q)`.
        #[inline]
        #[target_feature(enable = $features)]
        fn fwd_bfly_strict(x: __m512i, y: __m512i, w: W, c: Q) -> (__m512i, __m512i) {
            let u = sub_if_ge(sub_if_ge(x, c.two_q), c.q);
            let v = sub_if_ge(mul_shoup_lazy(y, w, c), c.q);
            (sub_if_ge(_mm512_add_epi64(u, v), c.q), sub_if_ge(_mm512_add_epi64(_mm512_sub_epi64(u, v), c.q), c.q))
        }

        /// Gentleman-Sande butterfly: `x, y` in `[0, 2q)` to `x + y, w(x - y)` in `[0, 2q)`.
        #[inline]
        #[target_feature(enable = $features)]
        fn inv_bfly(x: __m512i, y: __m512i, w: W, c: Q) -> (__m512i, __m512i) {
            let s = sub_if_ge(_mm512_add_epi64(x, y), c.two_q);
            let d = _mm512_add_epi64(_mm512_sub_epi64(x, y), c.two_q);
            (s, mul_shoup_lazy(d, w, c))
        }

        /// The inverse's last layer with `N^-1` merged in: `x, y` in `[0, 2q)` to `w0 (x + y)`
        /// and `w1 (x - y)`, in `[0, 2q)`, or `[0, q)` when `strict`.
        #[inline]
        #[target_feature(enable = $features)]
        fn inv_last_bfly(x: __m512i, y: __m512i, w0: W, w1: W, c: Q, strict: bool) -> (__m512i, __m512i) {
            let s = mul_shoup_lazy(_mm512_add_epi64(x, y), w0, c);
            let d = mul_shoup_lazy(_mm512_add_epi64(_mm512_sub_epi64(x, y), c.two_q), w1, c);
            if strict {
                (sub_if_ge(s, c.q), sub_if_ge(d, c.q))
            } else {
                (s, d)
            }
        }

        /// Twiddles `w[k]` repeated `8 / len` times each, for `k` in `0..len` (`len` = 1, 2, 4,
        /// 8).
        ///
        /// # Safety
        /// `w` and `s` must be valid for reading `len` `u64`.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn spread(w: *const u64, s: *const u64, len: usize) -> W {
            let (sel, mask) = spread_pattern(len);
            // SAFETY: the masked loads read only the first `len` values.
            let (w, s) =
                unsafe { (_mm512_maskz_loadu_epi64(mask, w.cast()), _mm512_maskz_loadu_epi64(mask, s.cast())) };
            twiddles(_mm512_permutexvar_epi64(sel, w), _mm512_permutexvar_epi64(sel, s))
        }

        /// Forward transform; see [`NttTable::forward_lazy`] (`strict = false`) and
        /// [`NttTable::forward`] (`strict = true`).
        ///
        /// Layers go by pairs (radix 4) while the butterfly distance is at least 16; the
        /// distance 8 layer goes alone if left; the last three layers (distances 4, 2, 1) run
        /// together on sixteen values held in two registers.
        ///
        /// # Safety
        /// The CPU must support `$features`; `a.len() == table.n >= 16`.
        #[target_feature(enable = $features)]
        pub(in crate::ntt) unsafe fn forward(table: &NttTable, a: &mut [u64], strict: bool) {
            let n = table.n;
            let (fwd_shoup, _, _, _) = shoup_constants(table);
            assert!(n >= 16 && a.len() == n && table.fwd.len() == n && fwd_shoup.len() == n);
            let c = consts(table.modulus.value());
            let p = a.as_mut_ptr();
            let (fw, fs) = (table.fwd.as_ptr(), fwd_shoup.as_ptr());
            // SAFETY (whole body): every index below is < n, the length of `a`, `fwd` and its
            // Shoup constants.
            unsafe {
                let m = forward_outer_layers!(p, fw, fs, n, c, 8);
                debug_assert_eq!(m, n / 8);
                // t = 4, 2, 1 on sixteen values: two blocks of the t = 4 layer, four of t = 2,
                // eight pairs of t = 1.
                for g in 0..n / 16 {
                    let b = p.add(16 * g);
                    let (x, y) = shuffle(load(b), load(b.add(8)), D4);
                    let (x, y) = fwd_bfly(x, y, spread(fw.add(m + 2 * g), fs.add(m + 2 * g), 2), c);
                    let (x, y) = shuffle(x, y, D2);
                    let (x, y) = fwd_bfly(x, y, spread(fw.add(2 * m + 4 * g), fs.add(2 * m + 4 * g), 4), c);
                    let (x, y) = shuffle(x, y, D1);
                    let w = spread(fw.add(4 * m + 8 * g), fs.add(4 * m + 8 * g), 8);
                    let (x, y) = if strict { fwd_bfly_strict(x, y, w, c) } else { fwd_bfly(x, y, w, c) };
                    let (x, y) = shuffle(x, y, D1_BACK);
                    store(b, x);
                    store(b.add(8), y);
                }
            }
        }

        /// Inverse transform; see [`NttTable::inverse_lazy`] (`strict = false`) and
        /// [`NttTable::inverse`] (`strict = true`).
        ///
        /// The mirror of [`forward`]: the first three layers together in registers, then the
        /// distance 8 layer alone if the count left is odd, then pairs of layers; the last
        /// layer merges `N^-1`.
        ///
        /// # Safety
        /// The CPU must support `$features`; `a.len() == table.n >= 16`.
        #[target_feature(enable = $features)]
        pub(in crate::ntt) unsafe fn inverse(table: &NttTable, a: &mut [u64], strict: bool) {
            let n = table.n;
            let (_, inv_shoup, n_inv_shoup, n_inv_w_shoup) = shoup_constants(table);
            assert!(n >= 16 && a.len() == n && table.inv.len() == n && inv_shoup.len() == n);
            let c = consts(table.modulus.value());
            let p = a.as_mut_ptr();
            let (iw, is) = (table.inv.as_ptr(), inv_shoup.as_ptr());
            // SAFETY (whole body): every index below is < n, the length of `a`, `inv` and its
            // Shoup constants.
            unsafe {
                // t = 1, 2, 4 on sixteen values; layer t has n / 2t blocks, the first twiddle
                // at n / 2t.
                let h = n / 2;
                for g in 0..n / 16 {
                    let b = p.add(16 * g);
                    let (x, y) = shuffle(load(b), load(b.add(8)), EVEN_ODD);
                    let (x, y) = inv_bfly(x, y, spread(iw.add(h + 8 * g), is.add(h + 8 * g), 8), c);
                    let (x, y) = shuffle(x, y, D1);
                    let (x, y) = inv_bfly(x, y, spread(iw.add(h / 2 + 4 * g), is.add(h / 2 + 4 * g), 4), c);
                    let (x, y) = shuffle(x, y, D2);
                    let (x, y) = inv_bfly(x, y, spread(iw.add(h / 4 + 2 * g), is.add(h / 4 + 2 * g), 2), c);
                    let (x, y) = shuffle(x, y, D4);
                    store(b, x);
                    store(b.add(8), y);
                }
                let last = (splat(table.n_inv, n_inv_shoup), splat(table.n_inv_w, n_inv_w_shoup));
                inverse_outer_layers!(n, p, iw, is, c, 8, strict, last);
            }
        }
    };
}

/// The 64-bit Shoup constants `floor(w 2^64 / q)` of the table.
fn shoup_constants(table: &NttTable) -> (&[u64], &[u64], u64, u64) {
    (&table.fwd_shoup, &table.inv_shoup, table.n_inv_shoup, table.n_inv_w_shoup)
}

transforms!("avx512f,avx512dq");

pub(super) mod ifma;
