//! AVX-512 kernels of [`KeyProduct::compute`]: eight output coefficients at a time.
//!
//! Each product is summed exactly and each sum reduced once: the canonical residue of the same
//! exact sum as the portable kernel's, so the words are identical. The 64-bit kernel sums in
//! 128 bits ([`crate::avx512::mac`]: four 32x32-bit `vpmuludq` into three 64-bit columns, room
//! for eight digits and a lift, reduced by [`crate::avx512::finish`]); the IFMA kernel
//! ([`ifma`], primes below `2^50`) sums the low and the high 52 bits of each product with one
//! multiply-add each ([`crate::avx512::ifma::mac`]).

use core::arch::x86_64::*;

use super::{KeyProduct, Source};
use crate::avx512::{load, store};

/// Words `0..8` of eight consecutive `stride`-word key rows starting at `g`, transposed: lane
/// `i` of vector `w` is word `w` of row `i` (zero for `w >= stride`). The rows are read with
/// contiguous loads, which the hardware prefetcher follows through a key streamed from memory
/// (gathers of the same words ran 1.5x slower than the portable kernel there).
///
/// # Safety
/// `stride <= 8`, and `g` must be valid for reading `8 * stride` words.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn columns(g: *const u64, stride: usize) -> [__m512i; 8] {
    let mask = ((1u16 << stride) - 1) as __mmask8;
    // SAFETY: row i is words i * stride .. (i + 1) * stride, within the 8 * stride readable.
    let r: [__m512i; 8] = core::array::from_fn(|i| unsafe { _mm512_maskz_loadu_epi64(mask, g.add(i * stride).cast()) });
    // 64-bit interleave within 128-bit lanes, then two rounds of 128-bit lane selection.
    let a: [__m512i; 8] = core::array::from_fn(|i| {
        let (x, y) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_epi64(x, y)
        } else {
            _mm512_unpackhi_epi64(x, y)
        }
    });
    // b[0..4] from rows 0-3: (a0, a2) and (a1, a3); b[4..8] the same from rows 4-7.
    let pairs = [(0, 2), (0, 2), (1, 3), (1, 3)];
    let b: [__m512i; 8] = core::array::from_fn(|i| {
        let (x, y) = pairs[i % 4];
        let (x, y) = (a[4 * (i / 4) + x], a[4 * (i / 4) + y]);
        if i % 2 == 0 {
            _mm512_shuffle_i64x2::<0x88>(x, y)
        } else {
            _mm512_shuffle_i64x2::<0xDD>(x, y)
        }
    });
    // Word w: b[0] holds words 0 and 4, b[1] words 2 and 6, b[2] words 1 and 5, b[3] 3 and 7.
    let from = [(0, false), (2, false), (1, false), (3, false), (0, true), (2, true), (1, true), (3, true)];
    core::array::from_fn(|w| {
        let (k, high) = from[w];
        if high {
            _mm512_shuffle_i64x2::<0xDD>(b[k], b[k + 4])
        } else {
            _mm512_shuffle_i64x2::<0x88>(b[k], b[k + 4])
        }
    })
}

/// Eight words of `x` where `src` says for coefficients `c..c + 8`.
///
/// # Safety
/// Those positions must be within `x`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn read(x: &[u64], src: Source<'_>, c: usize) -> __m512i {
    match src {
        // SAFETY: offset + c + 8 <= x.len() (the caller's contract).
        Source::Offset(offset) => unsafe { load(x.as_ptr().add(offset + c)) },
        Source::Perm(perm) => {
            // SAFETY: c + 8 <= perm.len(), and every perm entry indexes x.
            let idx = unsafe { load(perm.as_ptr().add(c).cast()) };
            unsafe { _mm512_i64gather_epi64::<8>(idx, x.as_ptr().cast()) }
        }
    }
}

/// The kernel for `D` digits and `LIFTS` lifts, expanded in a module that provides the
/// accumulator `Acc` with `zero`, `prep` (a digit or lift vector made ready for `mac`), `mac`
/// (`acc += x g`), and the reduction constants `R` with `R::new` and `finish` (the canonical
/// residue of the sum); `$features` are the kernel's target features.
macro_rules! inner_product {
    ($features:literal) => {
        /// [`KeyProduct::compute`] for `D` digits and `LIFTS` lifts, on the first `o0.len()`
        /// coefficients (a multiple of 8).
        ///
        /// # Safety
        /// The CPU must support `$features`. `D >= 1`, `2 D <= stride <= 8`, `o0.len() ==
        /// o1.len()` is a multiple of 8, `key.len() >= o0.len() * stride`, and every position
        /// `src` names for those coefficients is within each digit and lift (for
        /// [`Source::Perm`], `perm.len() >= o0.len()`). Values: digits below `4 m`, key words
        /// and lifts below `m`, and the module's own bound on `m`.
        #[target_feature(enable = $features)]
        pub(in crate::rns::key_product) unsafe fn inner_product<const D: usize, const LIFTS: usize>(
            p: &KeyProduct<'_>,
            o0: &mut [u64],
            o1: &mut [u64],
        ) {
            let (n, m, key, stride, src) = (o0.len(), p.m, p.key, p.stride, p.src);
            assert!(
                D >= 1
                    && 2 * D <= stride
                    && stride <= 8
                    && o1.len() == n
                    && n.is_multiple_of(8)
                    && key.len() >= n * stride
            );
            let (xs, [(u0, w0), (u1, w1)]) = p.fixed_operands::<D>();
            let r = R::new(m);
            let (w0, w1) = (_mm512_set1_epi64(w0 as i64), _mm512_set1_epi64(w1 as i64));
            for k in (0..n).step_by(8) {
                let (mut a0, mut a1) = (zero(), zero());
                // SAFETY: the key rows k..k + 8 (`stride <= 8` words each) lie within `key`.
                let cols = unsafe { columns(key.as_ptr().add(k * stride), stride) };
                for (j, x) in xs.iter().enumerate() {
                    // SAFETY: digit reads follow the contract.
                    let x = prep(unsafe { read(x, src, k) });
                    mac(&mut a0, x, cols[2 * j], &r);
                    mac(&mut a1, x, cols[2 * j + 1], &r);
                }
                if LIFTS >= 1 {
                    let u = prep(unsafe { read(u0, src, k) });
                    mac(&mut a0, u, w0, &r);
                }
                if LIFTS >= 2 {
                    let u = prep(unsafe { read(u1, src, k) });
                    mac(&mut a1, u, w1, &r);
                }
                // SAFETY: k + 8 <= n, the length of o0 and o1.
                unsafe {
                    store(o0.as_mut_ptr().add(k), finish(a0, &r));
                    store(o1.as_mut_ptr().add(k), finish(a1, &r));
                }
            }
        }
    };
}

use crate::avx512::{finish, mac, prep, zero, Reduce as R};

inner_product!("avx512f,avx512dq");

pub(super) mod ifma;
