//! Refreshing ciphertexts between stages of a deep computation: the [`Refresh`] trait (to be
//! implemented by bootstrapping) and a decrypt-and-re-encrypt test double.

use super::SoftmaxError;
use crate::plain::model::standard_normal;
use ckks_scheme::circuits::bootstrap::pair_scales;
use ckks_scheme::{Ciphertext, Complex, Decryptor, Encoder, Encryptor, Parameters, PublicKey, SecretKey};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Brings a ciphertext back to a high level (bootstrapping on the server). Implementations
/// count the refreshes they ran: one per ciphertext, or one per pair ([`Refresh::refresh_pair`]).
/// Callers keep every refreshed value in `[-1, 1]` (the usual input range of bootstrapping).
pub trait Refresh {
    /// The level of every refreshed ciphertext.
    fn output_level(&self) -> usize;

    /// The lowest level a ciphertext may be refreshed from: 0 for bootstrapping in the standard
    /// order, its SlotToCoeff depth (3) with SlotToCoeff first. Computations between refreshes
    /// have `output_level - input_level` levels, and keep every value it refreshes at or above
    /// it.
    fn input_level(&self) -> usize;

    /// A ciphertext of the same slot values at [`Refresh::output_level`].
    fn refresh(&self, ct: &Ciphertext) -> Result<Ciphertext, SoftmaxError>;

    /// Two ciphertexts of **real** slots for the price of one refresh (bootstrapping packs them
    /// as `a + i b`), both at [`Refresh::output_level`]. Their scales may differ within
    /// [`PAIR_SCALE_RATIO`](ckks_scheme::circuits::bootstrap::PAIR_SCALE_RATIO) ([`pair_scales`]);
    /// errors if they differ more.
    fn refresh_pair(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext), SoftmaxError>;

    /// Every ciphertext of `cts` (real slots), two at a time: [`refreshes_for`]`(cts.len())`
    /// refreshes.
    fn refresh_all(&self, cts: &[Ciphertext]) -> Result<Vec<Ciphertext>, SoftmaxError> {
        let mut out = Vec::with_capacity(cts.len());
        for chunk in cts.chunks(2) {
            match chunk {
                [a, b] => {
                    let (a, b) = self.refresh_pair(a, b)?;
                    out.extend([a, b]);
                }
                [a] => out.push(self.refresh(a)?),
                _ => unreachable!("chunks of at most two"),
            }
        }
        Ok(out)
    }

    /// Refreshes run so far (a pair counts once).
    fn count(&self) -> usize;
}

/// Refreshes [`Refresh::refresh_all`] runs for `n` ciphertexts: `ceil(n / 2)`.
pub fn refreshes_for(n: usize) -> usize {
    n.div_ceil(2)
}

/// The largest imaginary part [`InsecureDecryptReencryptRefresh::refresh_pair`] accepts: a pair
/// is for real slots, whose imaginary parts are the encryption noise (far below this).
pub const PAIR_IMAGINARY_BOUND: f64 = 1e-3;

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
    /// [`Refresh::input_level`]: refreshes from below it are refused.
    floor: usize,
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
            floor: 0,
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

    /// Refuses refreshes of ciphertexts below `level` ([`Refresh::input_level`]), as
    /// bootstrapping with SlotToCoeff first does below its depth, so that tests run the
    /// training's plans against that floor. Errors if the floor leaves no level.
    pub fn with_floor(mut self, level: usize) -> Result<Self, SoftmaxError> {
        if level >= self.params.max_level() {
            return Err(SoftmaxError::Refresh {
                reason: format!("a floor at level {level} leaves nothing below the top ({})", self.params.max_level()),
            });
        }
        self.floor = level;
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

    fn input_level(&self) -> usize {
        self.floor
    }

    fn refresh(&self, ct: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let out = self.reencrypt(self.decrypt(ct)?)?;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    /// What bootstrapping `a + i b` and splitting it does to the slots: `a' = Re a - Im b`,
    /// `b' = Im a + Re b`, each with its own modelled error; refuses imaginary parts above
    /// [`PAIR_IMAGINARY_BOUND`] (the pair would mix them into the other's real part).
    fn refresh_pair(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext), SoftmaxError> {
        if !pair_scales(a.scale(), b.scale()) {
            return Err(SoftmaxError::Refresh {
                reason: format!("a pair of scales 2^{:.3} and 2^{:.3}", a.scale().log2(), b.scale().log2()),
            });
        }
        let (va, vb) = (self.decrypt(a)?, self.decrypt(b)?);
        let imaginary = va.iter().chain(&vb).map(|z| z.im.abs()).fold(0.0, f64::max);
        if imaginary > PAIR_IMAGINARY_BOUND {
            return Err(SoftmaxError::Refresh {
                reason: format!(
                    "a pair is for real slots; an imaginary part of {imaginary:.3e} is above {PAIR_IMAGINARY_BOUND:e}"
                ),
            });
        }
        let za: Vec<Complex> = va.iter().zip(&vb).map(|(x, y)| Complex::new(x.re - y.im, 0.0)).collect();
        let zb: Vec<Complex> = va.iter().zip(&vb).map(|(x, y)| Complex::new(x.im + y.re, 0.0)).collect();
        let out = (self.reencrypt(za)?, self.reencrypt(zb)?);
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

impl InsecureDecryptReencryptRefresh {
    /// The slots of `ct`, checked against the bound and recorded in [`Self::largest_seen`].
    fn decrypt(&self, ct: &Ciphertext) -> Result<Vec<Complex>, SoftmaxError> {
        if ct.level() < self.floor {
            return Err(SoftmaxError::Refresh {
                reason: format!("a ciphertext at level {}, below the refresh's input level {}", ct.level(), self.floor),
            });
        }
        let values = self.encoder.decode(&Decryptor::new(&self.sk).decrypt(ct)?)?;
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
        Ok(values)
    }

    /// `values` with the modelled error, encrypted at the output level.
    fn reencrypt(&self, mut values: Vec<Complex>) -> Result<Ciphertext, SoftmaxError> {
        if let Some((std, rng)) = &self.modelled_error {
            let mut rng = rng.lock().expect("refresh lock");
            for z in values.iter_mut() {
                *z += Complex::new(std * standard_normal(&mut rng), std * standard_normal(&mut rng));
            }
        }
        let pt = self.encoder.encode(&values, self.output_level(), self.params.default_scale())?;
        Ok(self.encryptor.lock().expect("refresh lock").encrypt(&pt)?)
    }
}
