//! The `bootstrap` suite: circuit setup, key generation (timed once each), then bootstrapping a
//! ciphertext of values in the unit disk at the circuit's input level, in both orders (standard
//! and SlotToCoeff first): time, precision in bits, levels left for computation.

use super::timing::measure;
use super::{BenchError, Ctx};
use ckks_scheme::circuits::bootstrap::{BootstrapConfig, Bootstrapper};
use ckks_scheme::{Complex, Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator, PrecisionStats};
use std::sync::Arc;

/// Below this many bits (worst slot) a bootstrapped result is garbage, not imprecise: the
/// presets give about 15 or more.
const MIN_BITS: f64 = 5.0;

/// Refuses a result of `op` whose worst slot is below [`MIN_BITS`].
fn check_bits(op: &str, stats: &PrecisionStats) -> Result<(), BenchError> {
    if stats.min_bits.is_nan() || stats.min_bits < MIN_BITS {
        return Err(BenchError::Check { op: op.into(), max_error: stats.max_error, bound: 2f64.powf(-MIN_BITS) });
    }
    Ok(())
}

/// Deterministic points spread over the unit disk (the input range bootstrapping is built for).
fn unit_disk(n: usize) -> Vec<Complex> {
    (0..n)
        .map(|j| {
            let (r, a) = ((((j * 7919) % 10007) as f64 / 10007.0).sqrt(), j as f64 * 2.399_963);
            Complex::new(r * a.cos(), r * a.sin())
        })
        .collect()
}

/// Runs the suite in both orders: the standard one (input at level 0, what training uses
/// today) and SlotToCoeff first ([`BootstrapConfig::slim`], input at its `input_level`), each
/// with its own circuit and keys. Op names carry the order: `bootstrap_setup`,
/// `keygen_bootstrap`, `bootstrap`, `bootstrap_pair` (two real ciphertexts in one) for the
/// standard order, the same with `_slim` for the other.
/// Fails with a scheme error if the preset cannot bootstrap (too few levels).
pub fn run(ctx: &mut Ctx<'_, '_>) -> Result<(), BenchError> {
    run_order(ctx, BootstrapConfig::standard(), "")?;
    run_order(ctx, BootstrapConfig::slim(), "_slim")
}

fn run_order(ctx: &mut Ctx<'_, '_>, config: BootstrapConfig, suffix: &str) -> Result<(), BenchError> {
    let order = if suffix.is_empty() { "standard order" } else { "SlotToCoeff first" };
    let params = ctx.params.clone();
    let mut boot = None;
    let t = measure(1, || {
        boot = Some(Bootstrapper::new(&params, config.clone())?);
        Ok::<_, BenchError>(())
    })?;
    let boot = boot.expect("set by the timed closure");
    let what = format!("bootstrapping circuit (encode DFT matrices), {order}");
    let mut r = ctx.record(&format!("bootstrap_setup{suffix}"), &what, None, t);
    r.detail = Some(format!("DFT matrices {:.1} MB", boot.precomputed_bytes() as f64 / 1e6));
    ctx.emit(r)?;

    let mut kg = KeyGenerator::from_seed(&params, ctx.seed(1));
    let sk = kg.secret_key()?;
    let mut keys = kg.evaluation_keys(&sk, &[], false)?;
    let mut bkeys = None;
    let t = measure(1, || {
        bkeys = Some(boot.generate_keys(&mut kg, &sk, &mut keys.galois)?);
        Ok::<_, BenchError>(())
    })?;
    let bkeys = bkeys.expect("set by the timed closure");
    let mut r =
        ctx.record(&format!("keygen_bootstrap{suffix}"), &format!("keygen: bootstrapping keys, {order}"), None, t);
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
    let level = boot.input_level();
    let ct = Encryptor::from_seed(&keys.public, ctx.seed(2)).encrypt(&encoder.encode(
        &z,
        level,
        params.default_scale(),
    )?)?;
    let decryptor = Decryptor::new(&sk);
    let mut last = None;
    let t = measure(ctx.repeat, || {
        let out = boot.bootstrap(&eval, &bkeys, &ct)?;
        last = Some(out.clone());
        Ok::<_, BenchError>(out)
    })?;
    let out = last.expect("at least one run");
    let stats = PrecisionStats::compare(&z, &encoder.decode(&decryptor.decrypt(&out)?)?);
    check_bits(&format!("bootstrap{suffix}"), &stats)?;
    let what = format!("bootstrap, {order} (level {level} -> refreshed)");
    let mut r = ctx.record(&format!("bootstrap{suffix}"), &what, Some(level), t);
    r.precision_bits = Some(stats.min_bits);
    // Levels for computation: what the output has above the level the next bootstrapping needs.
    r.levels_left = Some(out.level() - level);
    r.detail = Some(format!("mean {:.1} bits, {} slots, output level {}", stats.mean_bits, stats.slots, out.level()));
    let single = t.median_ms;
    ctx.emit(r)?;

    // Two real ciphertexts (the real and imaginary parts of the same points) in one.
    let parts: [Vec<f64>; 2] = [z.iter().map(|v| v.re).collect(), z.iter().map(|v| v.im).collect()];
    let mut encryptor = Encryptor::from_seed(&keys.public, ctx.seed(3));
    let [a, b] = [&parts[0], &parts[1]]
        .map(|v| encoder.encode_real(v, level, params.default_scale()).and_then(|pt| encryptor.encrypt(&pt)));
    let (a, b) = (a?, b?);
    let mut last = None;
    let t = measure(ctx.repeat, || {
        let out = boot.bootstrap_pair(&eval, &bkeys, &a, &b)?;
        last = Some(out.clone());
        Ok::<_, BenchError>(out)
    })?;
    let (out_a, out_b) = last.expect("at least one run");
    let mut want = parts[0].clone();
    want.extend(&parts[1]);
    let mut got = encoder.decode_real(&decryptor.decrypt(&out_a)?)?;
    got.extend(encoder.decode_real(&decryptor.decrypt(&out_b)?)?);
    let stats = PrecisionStats::compare_real(&want, &got);
    check_bits(&format!("bootstrap_pair{suffix}"), &stats)?;
    let what = format!("bootstrap a pair of real ciphertexts, {order} (level {level} -> refreshed)");
    let mut r = ctx.record(&format!("bootstrap_pair{suffix}"), &what, Some(level), t);
    r.precision_bits = Some(stats.min_bits);
    r.levels_left = Some(out_a.level() - level);
    r.detail = Some(format!("mean {:.1} bits over both, {:.2}x one bootstrap", stats.mean_bits, t.median_ms / single));
    ctx.emit(r)
}
