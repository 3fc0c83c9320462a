//! # Circuits
//!
//! Homomorphic algorithms built on the scheme: the layer above parameters, keys, encryption,
//! the [`Evaluator`](crate::Evaluator) and key switching, as Lattigo's `circuits/ckks` sits
//! above `core/rlwe` and `schemes/ckks`. Nothing in the scheme layer depends on this one.
//!
//! * [`linear_transform`]: plaintext matrix times encrypted slot vector ([`LinearTransform`](linear_transform::LinearTransform),
//!   baby-step giant-step diagonal method with double hoisting).
//! * [`polynomial`]: Chebyshev interpolation and depth-optimal homomorphic evaluation
//!   ([`Chebyshev`](polynomial::Chebyshev)).
//! * [`homomorphic_dft`]: CoeffToSlot and SlotToCoeff as products of sparse linear transforms
//!   ([`HomomorphicDft`](homomorphic_dft::HomomorphicDft)).
//! * [`eval_mod`]: the homomorphic reduction modulo 1 (scaled sine and double angles).
//! * [`mod_raise`]: a level-0 ciphertext read at the top of the chain.
//! * [`trace`]: the trace onto sparse slots, `sum_k rot(x, k n)`, in hoisted steps.
//! * [`bootstrap`]: the bootstrapping circuit assembled from the pieces above, its
//!   configuration ([`bootstrap::BootstrapConfig`], which also states the primes the circuit
//!   consumes on top of a residual chain) and its keys.
//!
//! Key switching reaches the circuits only through the public, lazy API of
//! [`crate::keyswitch`]: one [`Decomposition`](crate::keyswitch::Decomposition) per input,
//! inner products kept over `Q_l * P`
//! ([`SwitchingKey::switch_lazy`](crate::keyswitch::SwitchingKey::switch_lazy),
//! [`LimbProduct`](crate::keyswitch::LimbProduct)), sums there
//! ([`ExtendedPoly::add_assign`](crate::keyswitch::ExtendedPoly::add_assign)), and one
//! ModDown ([`ExtendedPoly::mod_down`](crate::keyswitch::ExtendedPoly::mod_down)).
//!
//! The most used types are re-exported at the crate root: [`crate::LinearTransform`],
//! [`crate::Chebyshev`], [`crate::HomomorphicDft`], [`crate::DftDirection`].

pub mod bootstrap;
pub mod eval_mod;
pub mod homomorphic_dft;
pub mod linear_transform;
pub mod mod_raise;
mod periodic;
pub mod polynomial;
pub mod trace;
