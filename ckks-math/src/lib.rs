//! # ckks-math
//!
//! The arithmetic that RNS-CKKS stands on: word-sized prime moduli ([`Modulus`]), NTT-friendly
//! prime generation ([`primes`]), the negacyclic NTT ([`NttTable`]), RNS bases and polynomials
//! ([`RnsBasis`], [`RnsPoly`]), fast basis conversion with the ModUp / ModDown pair of hybrid
//! key switching ([`BasisConverter`]), exact CRT with big integers, and the samplers
//! ([`sampling`]).
//!
//! Everything works on `Z_Q[X]/(X^N + 1)` with `Q = q_0 * q_1 * ... * q_{L}` held as one residue
//! polynomial per prime ("limb"); a polynomial's *level* is its number of active primes minus
//! one, as in the CKKS literature.
//!
//! ```
//! use ckks_math::{primes::ntt_primes, Modulus, NttTable};
//! let n = 1 << 10;
//! let q = Modulus::new(ntt_primes(50, 2 * n as u64, 1, &[]).unwrap()[0]).unwrap();
//! let ntt = NttTable::new(q, n).unwrap();
//! let mut a = vec![0u64; n];
//! a[1] = 1; // X
//! let mut b = a.clone();
//! ntt.forward(&mut a);
//! ntt.forward(&mut b);
//! q.mul_vec(&mut a, &b); // X * X in the NTT domain
//! ntt.inverse(&mut a);
//! assert_eq!(a[2], 1);
//! ```

pub mod automorphism;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod error;
mod modulus;
pub mod ntt;
pub mod parallel;
pub mod primes;
pub mod rns;
pub mod sampling;

pub use error::MathError;
pub use modulus::{Modulus, MAX_MODULUS_BITS};
pub use ntt::{NttKernel, NttTable};
pub use rns::{BasisConverter, ModUpDown, Representation, RnsBasis, RnsPoly, ShoupPoly};

/// Test inputs for the SIMD kernels' comparisons with the portable ones.
#[cfg(test)]
pub(crate) mod test_words {
    /// Words below a bound from a xorshift stream: uniform, or only the edges `0`, `bound - 1`,
    /// `bound / 2` and `1`, where lazy reductions and carries go wrong first.
    pub(crate) struct Words {
        state: u64,
        edges: bool,
    }

    impl Words {
        pub(crate) fn new(seed: u64, edges: bool) -> Self {
            Self { state: seed | 1, edges }
        }

        /// The next word below `bound` (at least 2).
        pub(crate) fn below(&mut self, bound: u64) -> u64 {
            let s = &mut self.state;
            *s ^= *s << 13;
            *s ^= *s >> 7;
            *s ^= *s << 17;
            if self.edges {
                [0, bound - 1, bound / 2, 1][(*s >> 3) as usize % 4]
            } else {
                *s % bound
            }
        }
    }
}
