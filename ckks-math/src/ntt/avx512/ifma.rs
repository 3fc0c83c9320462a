//! The AVX-512 transforms with IFMA's 52-bit products (AVX-512IFMA), for primes below `2^50`.
//!
//! Harvey's butterflies keep values below `4q`, which for `q < 2^50` is below `2^52`: every
//! operand fits IFMA's 52-bit inputs. The Shoup product `x w mod q` then takes the constant
//! `s = floor(w 2^52 / q)` (a table of its own, [`super::super::Shoup52`]) and three
//! multiply-adds: `quot = floor(x s / 2^52)` (`vpmadd52huq`), and the low 52 bits of `x w` and
//! `quot q` (`vpmadd52luq`), whose difference modulo `2^52` is `x w - quot q`, in `[0, 2q)` as
//! with the 64-bit constant. The 64-bit kernel needs four `vpmuludq` and two `vpmullq` for the
//! same product.
//!
//! Outputs: the strict transforms give the canonical residues, bit-identical to every other
//! kernel. The lazy ones give the same residues in the same ranges, but not always the same
//! representative: `floor(x s / 2^52)` and the 64-bit quotient may differ by one, and so may
//! the lazy product by `q`. Every consumer of a lazy transform reduces afterwards
//! (`NttTable::forward_lazy`), so ciphertexts are bit-identical too.

use core::arch::x86_64::*;

use super::{shuffle, spread_pattern, D1, D1_BACK, D2, D4, EVEN_ODD};
use crate::avx512::{load, store, sub_if_ge};
use crate::ntt::NttTable;

/// Broadcast constants of the modulus.
#[derive(Clone, Copy)]
struct Q {
    q: __m512i,
    two_q: __m512i,
    mask52: __m512i,
}

/// Eight twiddles with their 52-bit Shoup constants.
#[derive(Clone, Copy)]
struct W {
    w: __m512i,
    s: __m512i,
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn consts(q: u64) -> Q {
    debug_assert!(q < 1 << 50);
    Q {
        q: _mm512_set1_epi64(q as i64),
        two_q: _mm512_set1_epi64(2 * q as i64),
        mask52: _mm512_set1_epi64((1 << 52) - 1),
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn twiddles(w: __m512i, s: __m512i) -> W {
    W { w, s }
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn splat(w: u64, s: u64) -> W {
    twiddles(_mm512_set1_epi64(w as i64), _mm512_set1_epi64(s as i64))
}

/// `x * w mod q` in `[0, 2q)` for `x < 2^52`, `w < q < 2^50` and `s = floor(w 2^52 / q)`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn mul_shoup_lazy(x: __m512i, w: W, c: Q) -> __m512i {
    let zero = _mm512_setzero_si512();
    let quot = _mm512_madd52hi_epu64(zero, x, w.s);
    let r = _mm512_sub_epi64(_mm512_madd52lo_epu64(zero, x, w.w), _mm512_madd52lo_epu64(zero, quot, c.q));
    _mm512_and_si512(r, c.mask52)
}

/// The table's 52-bit Shoup constants; panics if it has none (a prime of `2^50` or more).
fn shoup_constants(table: &NttTable) -> (&[u64], &[u64], u64, u64) {
    let s = table.shoup52.as_ref().expect("IFMA transforms need a prime below 2^50");
    (&s.fwd, &s.inv, s.n_inv, s.n_inv_w)
}

transforms!("avx512f,avx512dq,avx512ifma");
