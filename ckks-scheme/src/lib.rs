//! # ckks-scheme
//!
//! RNS-CKKS (Cheon-Kim-Kim-Song, full-RNS variant) on top of [`ckks_math`]: parameters with a
//! security check, encoding, keys, public-key encryption, decryption, and an evaluator with
//! hybrid key switching for relinearization and rotations.
//!
//! * [`Parameters`] / [`ParametersBuilder`] / [`Preset`]: the ring, the modulus chain, the special
//!   primes and the scale; `build()` refuses sets above the Homomorphic Encryption Standard
//!   table ([`security`]); `build_insecure()` exists for tests.
//! * [`Encoder`]: slots <-> plaintexts through the canonical embedding ([`encoding`]).
//! * [`KeyGenerator`]: [`SecretKey`] (client only), [`PublicKey`], [`RelinearizationKey`],
//!   [`GaloisKeys`], bundled for the server as [`EvaluationKeys`].
//! * [`Encryptor`] / [`Decryptor`], [`Evaluator`] (built from public keys only).
//! * [`keyswitch`]: hybrid key switching, with a public hoisted and lazy API (decompose once,
//!   inner products over `Q * P`, sums there, one ModDown) for the circuits.
//! * [`circuits`]: the algorithms built on the scheme (linear transforms, Chebyshev
//!   polynomials, homomorphic DFT, EvalMod, ModRaise, bootstrapping).
//!
//! Layers, each using only those above it in this list: [`ckks_math`]; the parameters
//! (`Parameters`, which names no key-switching type); key switching ([`keyswitch`]); keys,
//! encryption and the [`Evaluator`]; [`circuits`]; the named [`Preset`]s, whose bootstrappable
//! chains are a residual chain extended by the bootstrapping circuit's primes
//! ([`circuits::bootstrap::BootstrapConfig::extend_chain`]).
//!
//! ```
//! use ckks_scheme::*;
//! let params = Preset::InsecureTestN11.build()?;
//! let mut keygen = KeyGenerator::from_seed(&params, [7; 32]);
//! let sk = keygen.secret_key()?;
//! let keys = std::sync::Arc::new(keygen.evaluation_keys(&sk, &[1], false)?);
//! let encoder = Encoder::new(&params);
//! let mut enc = Encryptor::from_seed(&keys.public, [8; 32]);
//! let x = enc.encrypt(&encoder.encode_real(&[1.5, 2.0], params.max_level(), params.default_scale())?)?;
//! let eval = Evaluator::new(keys);
//! let y = eval.rotate(&eval.mul_relin_rescale(&x, &x)?, 1)?; // (x^2) rotated left by one slot
//! let out = encoder.decode_real(&Decryptor::new(&sk).decrypt(&y)?)?;
//! assert!((out[0] - 4.0).abs() < 1e-4);
//! # Ok::<(), SchemeError>(())
//! ```

#[cfg(feature = "mimalloc")]
pub mod allocator;
mod ciphertext;
pub mod circuits;
mod complex;
mod encoder;
pub mod encoding;
mod encryptor;
mod error;
mod evaluator;
mod keys;
pub mod keyswitch;
mod params;
pub mod precision;
mod presets;
mod scale;
pub mod security;
pub mod serialize;

pub use ciphertext::{Ciphertext, Plaintext};
pub use circuits::homomorphic_dft::{DftDirection, HomomorphicDft};
pub use circuits::linear_transform::LinearTransform;
pub use circuits::polynomial::Chebyshev;
pub use ckks_math;
pub use complex::Complex;
pub use encoder::Encoder;
pub use encryptor::{Decryptor, Encryptor, SymmetricEncryptor};
pub use error::SchemeError;
pub use evaluator::{power_of_two_rotations, scales_match, Evaluator, SCALE_TOLERANCE};
pub use keys::{rotation_element, EvaluationKeys, GaloisKeys, KeyGenerator, PublicKey, RelinearizationKey, SecretKey};
pub use keyswitch::{Decomposition, SwitchingKey};
pub use params::{Parameters, ParametersBuilder};
pub use precision::PrecisionStats;
pub use presets::Preset;
pub use serialize::SeededCiphertext;
