//! `hetal roundtrip`: the fastest end-to-end check of the CKKS layers. A CKKS round trip through
//! every layer (parameters, keys, encoding, encryption, a ciphertext product with
//! relinearization and rescaling, a rotation, a conjugation, an addition, decryption), each
//! step timed, and the result checked slot by slot against the same computation in `f64`.
//!
//! The computation, on `x_j = sin(j)` and `y_j = cos(j)`:
//! `z = rotate(x * y, 1) + conj(x * y)`, so `z_j = x_{j+1} y_{j+1} + x_j y_j` (indices modulo
//! the slot count; conjugation leaves real slots unchanged).

use crate::preset::PresetArg;
use ckks_scheme::{
    rotation_element, Ciphertext, Decryptor, Encoder, Encryptor, EvaluationKeys, Evaluator, KeyGenerator, Parameters,
    Preset, SchemeError,
};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Below this many bits of precision the demo fails: the round trip should give about 20 or
/// more with a `2^40` scale, so fewer than 15 means something is broken.
pub const MIN_PRECISION_BITS: f64 = 15.0;

/// Width of the step column of the table.
const STEP_WIDTH: usize = 40;

/// Options of `hetal roundtrip` (the seed is the global `--seed`).
#[derive(Debug, clap::Args)]
pub struct RoundtripArgs {
    /// Parameter set.
    #[arg(long, value_enum, default_value_t = PresetArg::LeveledN14)]
    pub preset: PresetArg,
}

/// What can make the round trip fail.
#[derive(Debug, thiserror::Error)]
pub enum RoundtripError {
    /// An error of the CKKS layer.
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    /// Writing the report failed.
    #[error("cannot write the report")]
    Io(#[from] std::io::Error),
    /// The decrypted result is further from the plaintext result than CKKS allows.
    #[error(
        "precision check failed: {bits:.1} bits (max abs error {max_error:.3e}), at least {required:.0} bits \
         expected; the encrypted computation does not match plaintext arithmetic"
    )]
    Precision {
        /// Measured bits, `-log2(max error)`.
        bits: f64,
        /// Largest absolute error over the slots.
        max_error: f64,
        /// The threshold.
        required: f64,
    },
}

/// Error statistics of the decrypted result against the plaintext reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Precision {
    /// Largest absolute error over the slots (NaN if any slot is not finite).
    pub max_error: f64,
    /// Mean absolute error.
    pub mean_error: f64,
    /// `-log2(max_error)`.
    pub bits: f64,
}

impl Precision {
    /// Compares `got` with `want` slot by slot.
    pub fn measure(got: &[f64], want: &[f64]) -> Self {
        let n = got.len().min(want.len()).max(1) as f64;
        let (mut max_error, mut sum) = (0f64, 0f64);
        for (g, w) in got.iter().zip(want) {
            let e = (g - w).abs();
            // A non-finite slot must fail the check, and f64::max would drop a NaN.
            max_error = if e.is_nan() || max_error.is_nan() { f64::NAN } else { max_error.max(e) };
            sum += e;
        }
        Self { max_error, mean_error: sum / n, bits: -max_error.log2() }
    }
}

/// The demo's inputs: `x_j = sin(j)`, `y_j = cos(j)`.
fn inputs(slots: usize) -> (Vec<f64>, Vec<f64>) {
    (0..slots).map(|j| (j as f64).sin_cos()).unzip()
}

/// The plaintext reference: `z_j = x_{j+1} y_{j+1} + x_j y_j`.
fn reference(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n).map(|j| x[(j + 1) % n] * y[(j + 1) % n] + x[j] * y[j]).collect()
}

/// Two 32-byte seeds (keys, encryption) expanded from `seed`.
fn seeds(seed: u64) -> ([u8; 32], [u8; 32]) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    rng.fill_bytes(&mut a);
    rng.fill_bytes(&mut b);
    (a, b)
}

/// `12.3 ms`, `1.234 s`.
fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.3} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

/// `512.0 KiB`, `12.50 MiB`.
fn fmt_bytes(b: usize) -> String {
    let kib = b as f64 / 1024.0;
    if kib < 1024.0 {
        format!("{kib:.1} KiB")
    } else {
        format!("{:.2} MiB", kib / 1024.0)
    }
}

fn fmt_ct(ct: &Ciphertext) -> String {
    format!("level {}, scale 2^{:.2}", ct.level(), ct.scale().log2())
}

/// The timing table: one row per step as it finishes, a total at the end.
struct Table<'w> {
    out: &'w mut dyn Write,
    total: Duration,
}

impl<'w> Table<'w> {
    fn new(out: &'w mut dyn Write) -> Result<Self, RoundtripError> {
        writeln!(out, "{:<STEP_WIDTH$} {:>10}  result", "step", "time")?;
        writeln!(out, "{}", "-".repeat(STEP_WIDTH + 40))?;
        Ok(Self { out, total: Duration::ZERO })
    }

    fn row(&mut self, step: &str, d: Duration, result: &str) -> Result<(), RoundtripError> {
        self.total += d;
        let line = format!("{step:<STEP_WIDTH$} {:>10}  {result}", fmt_duration(d));
        writeln!(self.out, "{}", line.trim_end())?;
        Ok(())
    }

    /// Runs `f`, times it and prints its row with the result text `describe` gives.
    fn step<T>(
        &mut self,
        step: &str,
        f: impl FnOnce() -> Result<T, SchemeError>,
        describe: impl FnOnce(&T) -> String,
    ) -> Result<T, RoundtripError> {
        let start = Instant::now();
        let value = f()?;
        let d = start.elapsed();
        self.row(step, d, &describe(&value))?;
        Ok(value)
    }

    /// Prints the total and gives the writer back.
    fn finish(self) -> Result<&'w mut dyn Write, RoundtripError> {
        writeln!(self.out, "{}", "-".repeat(STEP_WIDTH + 40))?;
        writeln!(self.out, "{:<STEP_WIDTH$} {:>10}", "total", fmt_duration(self.total))?;
        Ok(self.out)
    }
}

/// Runs the round trip, writing the report to `out`. Fails with [`RoundtripError::Precision`] if the
/// result has fewer than [`MIN_PRECISION_BITS`] bits.
pub fn run(args: &RoundtripArgs, seed: Option<u64>, out: &mut dyn Write) -> Result<Precision, RoundtripError> {
    let preset = Preset::from(args.preset);
    writeln!(out, "hetal roundtrip: CKKS round trip z = rotate(x*y, 1) + conj(x*y), x_j = sin(j), y_j = cos(j)")?;
    let start = Instant::now();
    let params = preset.build()?;
    let build_time = start.elapsed();
    writeln!(out, "parameters: {}", params.summary())?;
    let (key_seed, enc_seed) = match seed {
        Some(s) => {
            writeln!(out, "randomness: seed {s} (reproducible; predictable keys, never for real data)")?;
            let (k, e) = seeds(s);
            (Some(k), Some(e))
        }
        None => {
            writeln!(out, "randomness: OS entropy")?;
            (None, None)
        }
    };
    writeln!(out)?;

    let mut table = Table::new(out)?;
    table.row("build parameters", build_time, &format!("{} levels, {} slots", params.max_level(), params.slots()))?;
    let outcome = round_trip(&params, key_seed, enc_seed, &mut table)?;
    let out = table.finish()?;
    writeln!(out)?;
    writeln!(out, "sizes")?;
    for (what, bytes) in &outcome.sizes {
        writeln!(out, "  {what:<STEP_WIDTH$} {:>10}", fmt_bytes(*bytes))?;
    }

    let p = outcome.precision;
    writeln!(out)?;
    writeln!(out, "precision ({} slots, against the same computation in f64)", params.slots())?;
    writeln!(out, "  {:<STEP_WIDTH$} {:>10.3e}", "max abs error", p.max_error)?;
    writeln!(out, "  {:<STEP_WIDTH$} {:>10.3e}", "mean abs error", p.mean_error)?;
    writeln!(out, "  {:<STEP_WIDTH$} {:>10.1}  (at least {MIN_PRECISION_BITS:.0} required)", "precision bits", p.bits)?;
    if p.bits.is_nan() || p.bits < MIN_PRECISION_BITS {
        return Err(RoundtripError::Precision { bits: p.bits, max_error: p.max_error, required: MIN_PRECISION_BITS });
    }
    writeln!(out)?;
    writeln!(out, "ok: decrypted result matches plaintext arithmetic to {:.1} bits", p.bits)?;
    Ok(p)
}

/// What the timed part measured besides times.
struct Outcome {
    sizes: Vec<(String, usize)>,
    precision: Precision,
}

/// Keys, encryption, evaluation and decryption, one timed row each.
fn round_trip(
    params: &Parameters,
    key_seed: Option<[u8; 32]>,
    enc_seed: Option<[u8; 32]>,
    table: &mut Table<'_>,
) -> Result<Outcome, RoundtripError> {
    let mut keygen = match key_seed {
        Some(s) => KeyGenerator::from_seed(params, s),
        None => KeyGenerator::new(params),
    };
    let sk = table.step("secret key", || keygen.secret_key(), |_| format!("{}", params.secret_distribution()))?;
    let public = table.step("public key", || keygen.public_key(&sk), |_| "(b, a) over Q".to_string())?;
    let relin = table.step(
        "relinearization key",
        || keygen.relinearization_key(&sk),
        |_| format!("{} digits", params.dnum()),
    )?;
    let galois = table.step(
        "Galois keys (rotation by 1, conjugation)",
        || keygen.galois_keys(&sk, &[1], true),
        |g| format!("{} keys", g.elements().count()),
    )?;
    let keys = Arc::new(EvaluationKeys { params: params.clone(), public, relinearization: Some(relin), galois });

    let (x, y) = inputs(params.slots());
    let encoder = Encoder::new(params);
    let mut encryptor = match enc_seed {
        Some(s) => Encryptor::from_seed(&keys.public, s),
        None => Encryptor::new(&keys.public),
    };
    let (level, scale) = (params.max_level(), params.default_scale());
    let (ct_x, ct_y) = table.step(
        "encode + encrypt x, y",
        || {
            let ct_x = encryptor.encrypt(&encoder.encode_real(&x, level, scale)?)?;
            let ct_y = encryptor.encrypt(&encoder.encode_real(&y, level, scale)?)?;
            Ok((ct_x, ct_y))
        },
        |(c, _)| format!("2 ciphertexts, {}", fmt_ct(c)),
    )?;

    let eval = Evaluator::new(keys.clone());
    let prod = table.step("multiply + relinearize + rescale", || eval.mul_relin_rescale(&ct_x, &ct_y), fmt_ct)?;
    let rotated = table.step("rotate left by 1", || eval.rotate(&prod, 1), fmt_ct)?;
    let conjugated = table.step("conjugate", || eval.conjugate(&prod), fmt_ct)?;
    let sum = table.step("add", || eval.add(&rotated, &conjugated), fmt_ct)?;
    let decoded = table.step(
        "decrypt + decode",
        || encoder.decode_real(&Decryptor::new(&sk).decrypt(&sum)?),
        |v| format!("{} slots", v.len()),
    )?;

    let precision = Precision::measure(&decoded, &reference(&x, &y));
    // The relinearization key and each Galois key are switching keys of the same shape (dnum
    // digits over Q and P), so one Galois key gives the size of the relinearization key.
    let switching_key = keys.galois.get(rotation_element(params, 1)).map_or(0, |k| k.size_bytes());
    let q_limbs = params.q_basis().len();
    let sizes = vec![
        ("public key".to_string(), 2 * params.degree() * q_limbs * 8),
        ("relinearization key".to_string(), switching_key),
        (format!("Galois keys ({})", keys.galois.elements().count()), keys.galois.size_bytes()),
        (format!("ciphertext, fresh (level {})", ct_x.level()), ct_x.size_bytes()),
        (format!("ciphertext, result (level {})", sum.level()), sum.size_bytes()),
    ];
    Ok(Outcome { sizes, precision })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_statistics() {
        let p = Precision::measure(&[1.0, 2.0, 3.0], &[1.0, 2.0 + 2f64.powi(-20), 3.0 - 2f64.powi(-22)]);
        assert_eq!(p.max_error, 2f64.powi(-20));
        assert!((p.bits - 20.0).abs() < 1e-9);
        assert!((p.mean_error - (2f64.powi(-20) + 2f64.powi(-22)) / 3.0).abs() < 1e-15);
        assert!(Precision::measure(&[f64::NAN, 1.0], &[0.0, 1.0]).bits.is_nan());
        assert!(Precision::measure(&[1.0, f64::NAN], &[1.0, 0.0]).bits.is_nan());
    }

    #[test]
    fn reference_rotates_left() {
        let (x, y) = (vec![1.0, 2.0, 3.0], vec![1.0, 1.0, 2.0]);
        assert_eq!(reference(&x, &y), vec![3.0, 8.0, 7.0]);
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_duration(Duration::from_micros(12_345)), "12.3 ms");
        assert_eq!(fmt_duration(Duration::from_millis(1_234)), "1.234 s");
        assert_eq!(fmt_bytes(512 * 1024), "512.0 KiB");
        assert_eq!(fmt_bytes(12 * 1024 * 1024 + 512 * 1024), "12.50 MiB");
    }
}
