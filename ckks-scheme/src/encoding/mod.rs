//! CKKS encoding: the canonical embedding computed by the special FFT, and rounding at a scale.
//!
//! # Slot convention
//! Let `N` be the ring degree, `zeta = e^(i pi / N)` a primitive `2N`-th root of unity, and
//! `n = slots` a power of two with `1 <= n <= N/2`. A real polynomial `m(X)` in
//! `R[X]/(X^N + 1)` has the slot values
//!
//! ```text
//! z_j = m(zeta^(5^j mod 2N)),        j = 0, 1, ..., n - 1.
//! ```
//!
//! * **Full packing** (`n = N/2`): the `N/2` points `zeta^(5^j)` and their conjugates
//!   `zeta^(-5^j)` are all the primitive `2N`-th roots of unity, so `m -> z` is a bijection
//!   from real polynomials onto `C^(N/2)` (the conjugate slots carry `conj(z_j)`).
//! * **Sparse packing** (`n < N/2`): the message lives in the subring of polynomials in
//!   `Y = X^gap`, `gap = N / (2n)`: `m(X) = m'(Y)` with `deg m' < 2n`, and
//!
//!   ```text
//!   z_j = m'(xi^(5^j mod 4n)),   xi = zeta^gap = e^(i pi / 2n),
//!   ```
//!
//!   the full-packing rule for degree `2n` applied to `m'`. Both formulas agree on the subring.
//!   Decoding reads only the coefficients at multiples of `gap` (see
//!   [`SpecialFft::decode_coeffs`]).
//!
//! Two consequences, which key switching relies on and the tests check on plain `f64`
//! coefficient vectors:
//!
//! 1. **Rotation.** The automorphism `X -> X^(5^k)` rotates the slots left by `k`:
//!    `z_j -> z_{(j + k) mod n}`. (Proof: `m'(Y^(5^k))` at `xi^(5^j)` is `m'(xi^(5^(j+k)))`,
//!    and 5 has order `n` modulo `4n`.)
//! 2. **Conjugation.** The automorphism `X -> X^(-1) = X^(2N - 1)` conjugates every slot:
//!    `z_j -> conj(z_j)` (because `m` has real coefficients and `conj(zeta) = zeta^(-1)`).
//!
//! On coefficients, `X -> X^g` (`g` odd) sends `m_i X^i` to `m_i X^(i g mod 2N)`, with the sign
//! flipped when `i g mod 2N >= N` (since `X^N = -1`).
//!
//! # Layout of the coefficients
//! [`SpecialFft::encode_coeffs`] puts `Re(w_t)` at `X^(t gap)` and `Im(w_t)` at
//! `X^(N/2 + t gap)` for `w = special_ifft(z)`: the same layout as HEAAN and Lattigo, so
//! slot vectors agree with theirs.
//!
//! ```
//! use ckks_scheme::{encoding::SpecialFft, Complex};
//! let fft = SpecialFft::new(16, 4).unwrap(); // N = 16, 4 slots (sparse, gap = 2)
//! let z = [Complex::new(1.0, 2.0), Complex::ONE, Complex::I, Complex::ZERO];
//! let m = fft.encode_coeffs(&z).unwrap();
//! let back = fft.decode_coeffs(&m).unwrap();
//! assert!(z.iter().zip(&back).all(|(a, b)| (*a - *b).norm() < 1e-12));
//! ```

mod error;
mod fft;
mod round;
#[cfg(test)]
mod tests;

pub use error::EncodingError;
pub use fft::{SpecialFft, MAX_DEGREE, MIN_DEGREE};
pub use round::{scale_round, unscale, MAX_ROUND_BOUND};
