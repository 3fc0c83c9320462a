//! The `bootstrap` suite: circuit setup, key generation (timed once each), then bootstrapping a
//! level-0 ciphertext of values in the unit disk: time, precision in bits, levels left.

use super::timing::measure;
use super::{BenchError, Ctx};
use ckks_scheme::circuits::bootstrap::{BootstrapConfig, Bootstrapper};
use ckks_scheme::{Complex, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator, PrecisionStats};
use std::sync::Arc;

/// Below this many bits (worst slot) a bootstrapped result is garbage, not imprecise: the
/// presets give about 15 or more.
const MIN_BITS: f64 = 5.0;

/// Deterministic points spread over the unit disk (the input range bootstrapping is built for).
fn unit_disk(n: usize) -> Vec<Complex> {
    (0..n)
        .map(|j| {
            let (r, a) = ((((j * 7919) % 10007) as f64 / 10007.0).sqrt(), j as f64 * 2.399_963);
            Complex::new(r * a.cos(), r * a.sin())
        })
        .collect()
}

/// Runs the suite. Fails with a scheme error if the preset cannot bootstrap (too few levels).
pub fn run(ctx: &mut Ctx<'_, '_>) -> Result<(), BenchError> {
    let params = ctx.params.clone();
    let mut boot = None;
    let t = measure(1, || {
        boot = Some(Bootstrapper::new(&params, BootstrapConfig::standard())?);
        Ok::<_, BenchError>(())
    })?;
    let boot = boot.expect("set by the timed closure");
    ctx.timed("bootstrap_setup", "bootstrapping circuit (encode DFT matrices)", None, t)?;

    let mut kg = KeyGenerator::from_seed(&params, ctx.seed(1));
    let sk = kg.secret_key()?;
    let mut keys = kg.evaluation_keys(&sk, &[], false)?;
    let mut bkeys = None;
    let t = measure(1, || {
        bkeys = Some(boot.generate_keys(&mut kg, &sk, &mut keys.galois)?);
        Ok::<_, BenchError>(())
    })?;
    let bkeys = bkeys.expect("set by the timed closure");
    let mut r = ctx.record("keygen_bootstrap", "keygen: bootstrapping keys", None, t);
    r.detail = Some(format!(
        "{} Galois keys, {:.1} MB",
        keys.galois.elements().count(),
        (keys.galois.size_bytes() + bkeys.size_bytes()) as f64 / 1e6
    ));
    ctx.emit(r)?;

    let keys = Arc::new(keys);
    let eval = Evaluator::new(keys.clone());
    let encoder = Encoder::new(&params);
    let z = unit_disk(params.slots());
    let ct =
        Encryptor::from_seed(&keys.public, ctx.seed(2)).encrypt(&encoder.encode(&z, 0, params.default_scale())?)?;
    let decryptor = Decryptor::new(&sk);
    let mut last = None;
    let t = measure(ctx.repeat, || {
        let out = boot.bootstrap(&eval, &bkeys, &ct)?;
        last = Some(out.clone());
        Ok::<_, BenchError>(out)
    })?;
    let out = last.expect("at least one run");
    let stats = PrecisionStats::compare(&z, &encoder.decode(&decryptor.decrypt(&out)?)?);
    if stats.min_bits.is_nan() || stats.min_bits < MIN_BITS {
        return Err(BenchError::Check {
            op: "bootstrap".into(),
            max_error: stats.max_error,
            bound: 2f64.powf(-MIN_BITS),
        });
    }
    let mut r = ctx.record("bootstrap", "bootstrap (level 0 -> refreshed)", Some(0), t);
    r.precision_bits = Some(stats.min_bits);
    r.levels_left = Some(out.level());
    r.detail = Some(format!("mean {:.1} bits, {} slots", stats.mean_bits, stats.slots));
    ctx.emit(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_lie_in_the_unit_disk() {
        let z = unit_disk(1024);
        assert!(z.iter().all(|c| c.norm() <= 1.0 + 1e-12));
        assert!(z.iter().any(|c| c.norm() > 0.9), "the disk is covered, not a small part of it");
    }
}
