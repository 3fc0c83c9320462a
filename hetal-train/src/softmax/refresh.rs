//! Refreshing ciphertexts between stages of a deep computation: the [`Refresh`] trait (to be
//! implemented by bootstrapping) and a decrypt-and-re-encrypt test double.

use super::SoftmaxError;
use crate::plain::model::standard_normal;
use ckks_scheme::{Ciphertext, Complex, Decryptor, Encoder, Encryptor, Parameters, PublicKey, SecretKey};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Brings a ciphertext back to a high level (bootstrapping on the server). Implementations
/// count how many ciphertexts they refreshed. Callers keep every refreshed value in `[-1, 1]`
/// (the usual input range of bootstrapping).
pub trait Refresh {
    /// The level of every refreshed ciphertext.
    fn output_level(&self) -> usize;

    /// A ciphertext of the same slot values at [`Refresh::output_level`].
    fn refresh(&self, ct: &Ciphertext) -> Result<Ciphertext, SoftmaxError>;

    /// Ciphertexts refreshed so far.
    fn count(&self) -> usize;
}

/// **TEST DOUBLE, INSECURE: holds the secret key.** Refreshes by decrypting, decoding,
/// re-encoding at the top level with the default scale and re-encrypting under the public key.
/// This is what bootstrapping achieves functionally, without its approximation error. A server
/// must never hold a secret key: use this only in tests and experiments, never in a protocol.
///
/// It also checks the refreshed values against `max_abs` (bootstrapping needs bounded inputs)
/// and records the largest magnitude it saw.
pub struct InsecureDecryptReencryptRefresh {
    sk: SecretKey,
    params: Parameters,
    encoder: Encoder,
    encryptor: Mutex<Encryptor>,
    max_abs: f64,
    count: AtomicUsize,
    largest: Mutex<f64>,
    /// Standard deviation and stream of the modelled bootstrapping error, when set.
    modelled_error: Option<(f64, Mutex<ChaCha20Rng>)>,
}

impl InsecureDecryptReencryptRefresh {
    /// A double with its own copy of `sk` (from its coefficients), encrypting under `pk` with
    /// a seeded encryptor; refused values are those above `max_abs` in magnitude.
    pub fn new(sk: &SecretKey, pk: &PublicKey, seed: [u8; 32], max_abs: f64) -> Result<Self, SoftmaxError> {
        let params = sk.params().clone();
        Ok(Self {
            sk: SecretKey::from_coeffs(&params, sk.coeffs().to_vec())?,
            encoder: Encoder::new(&params),
            encryptor: Mutex::new(Encryptor::from_seed(pk, seed)),
            params,
            max_abs,
            count: AtomicUsize::new(0),
            largest: Mutex::new(0.0),
            modelled_error: None,
        })
    }

    /// Adds to every refreshed slot (real and imaginary part) an independent Gaussian error of
    /// standard deviation `2^-bits`, drawn from a ChaCha20 stream seeded with `seed`, so that a
    /// long experiment sees an error like bootstrapping's instead of a fresh encryption's.
    /// `BootstrapN16` measures 20.5 bits mean and 18.1 bits minimum precision
    /// (docs/BENCHMARKS.md); `bits = 20` models it with heavier tails. Errors if `bits` is not
    /// finite and positive.
    pub fn with_modelled_error(mut self, bits: f64, seed: u64) -> Result<Self, SoftmaxError> {
        if !(bits.is_finite() && bits > 0.0) {
            return Err(SoftmaxError::Refresh {
                reason: format!("modelled error of 2^-{bits} is not a positive precision"),
            });
        }
        self.modelled_error = Some(((-bits).exp2(), Mutex::new(ChaCha20Rng::seed_from_u64(seed))));
        Ok(self)
    }

    /// The largest slot magnitude refreshed so far.
    pub fn largest_seen(&self) -> f64 {
        *self.largest.lock().expect("refresh lock")
    }
}

impl Refresh for InsecureDecryptReencryptRefresh {
    fn output_level(&self) -> usize {
        self.params.max_level()
    }

    fn refresh(&self, ct: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let mut values = self.encoder.decode(&Decryptor::new(&self.sk).decrypt(ct)?)?;
        let largest = values.iter().map(|z| z.re.abs().max(z.im.abs())).fold(0.0, f64::max);
        if largest > self.max_abs || !largest.is_finite() {
            return Err(SoftmaxError::Refresh {
                reason: format!("slot magnitude {largest:.3e} above the bound {}", self.max_abs),
            });
        }
        {
            let mut l = self.largest.lock().expect("refresh lock");
            *l = l.max(largest);
        }
        if let Some((std, rng)) = &self.modelled_error {
            let mut rng = rng.lock().expect("refresh lock");
            for z in values.iter_mut() {
                *z += Complex::new(std * standard_normal(&mut rng), std * standard_normal(&mut rng));
            }
        }
        let pt = self.encoder.encode(&values, self.output_level(), self.params.default_scale())?;
        let out = self.encryptor.lock().expect("refresh lock").encrypt(&pt)?;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}
