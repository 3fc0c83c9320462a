//! AVX-512 kernels of [`super::add_product_sums`]: eight coefficients at a time, each output's
//! exact sum in registers ([`crate::avx512::mac`]) over all terms, reduced once
//! ([`crate::avx512::finish`]) and added to the output. The IFMA kernel ([`ifma`], primes below
//! `2^50`) runs the same body on 52-bit multiply-adds ([`crate::avx512::ifma::mac`]).

use core::arch::x86_64::*;

use super::{Factor, Term, MAX_TERMS};
use crate::avx512::{load, store, sub_if_ge};
use crate::Modulus;

/// The kernel, expanded in a module that provides the exact sums `Acc` (`zero`, `prep`, `mac`,
/// `finish`) and their constants `R` with `R::new`; `$features` are its target features.
macro_rules! product_sums {
    ($features:literal) => {
        /// [`super::add_product_sums`] on the first `len - len % 8` coefficients; returns that
        /// count.
        ///
        /// # Safety
        /// The CPU must support `$features`. At most [`MAX_TERMS`] terms, every slice of a
        /// term at least as long as the outputs, every cycle index below its value count;
        /// values and outputs reduced (below `m`, and `m` within the module's bound).
        #[target_feature(enable = $features)]
        pub(in crate::rns::product_sums) unsafe fn add_product_sums(
            m: &Modulus,
            terms: &[Term<'_>],
            o0: &mut [u64],
            o1: &mut [u64],
        ) -> usize {
            let n = o0.len();
            assert!(terms.len() <= MAX_TERMS && o1.len() == n);
            let r = R::new(m);
            let simd = n - n % 8;
            for c in (0..simd).step_by(8) {
                let (mut a0, mut a1) = (zero(), zero());
                for t in terms {
                    // SAFETY: c + 8 <= n, at most the length of every slice of the term.
                    let (y0, y1) = unsafe { (load(t.y0.as_ptr().add(c)), load(t.y1.as_ptr().add(c))) };
                    let w = match t.w {
                        // SAFETY: as above.
                        Factor::Dense(w) => unsafe { load(w.as_ptr().add(c)) },
                        Factor::Indexed { values, index } => {
                            // SAFETY: eight u16 of `index` from c; each below values.len() (the
                            // caller's contract), so the gather stays within `values`.
                            let idx = _mm512_cvtepu16_epi64(unsafe { _mm_loadu_si128(index.as_ptr().add(c).cast()) });
                            unsafe { _mm512_i64gather_epi64::<8>(idx, values.as_ptr().cast()) }
                        }
                        Factor::Constant(w) => _mm512_set1_epi64(w as i64),
                    };
                    mac(&mut a0, prep(y0), w, &r);
                    mac(&mut a1, prep(y1), w, &r);
                }
                // SAFETY: c + 8 <= n, the length of both outputs.
                unsafe {
                    let s0 = sub_if_ge(_mm512_add_epi64(load(o0.as_ptr().add(c)), finish(a0, &r)), r.c.q);
                    let s1 = sub_if_ge(_mm512_add_epi64(load(o1.as_ptr().add(c)), finish(a1, &r)), r.c.q);
                    store(o0.as_mut_ptr().add(c), s0);
                    store(o1.as_mut_ptr().add(c), s1);
                }
            }
            simd
        }
    };
}

use crate::avx512::{finish, mac, prep, zero, Reduce as R};

product_sums!("avx512f,avx512dq");

/// The IFMA kernel (primes below `2^50`: every value fits 52 bits).
pub(super) mod ifma {
    use super::*;
    use crate::avx512::ifma::{finish, mac, prep, zero, Reduce as R};

    product_sums!("avx512f,avx512dq,avx512ifma");
}
