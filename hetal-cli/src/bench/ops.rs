//! The `ops` suite: the CKKS operations of the peers' table (`shared/peers/RESULTS.md`), each
//! checked once against `f64` arithmetic, then timed.

use super::timing::measure;
use super::{check, BenchError, Ctx};
use ckks_scheme::{
    rotation_element, Ciphertext, Decryptor, Encoder, Encryptor, EvaluationKeys, Evaluator, KeyGenerator,
};
use std::sync::Arc;

/// The level of the "low level" rows (three primes of `Q` left), as in the peers' table.
const LOW_LEVEL: usize = 2;

/// Largest error a checked operation may show: results are about `2^-20` or better at a
/// `2^40` scale, so `1e-5` catches any wrong answer without flagging noise.
const BOUND: f64 = 1e-5;

fn max_abs_err(a: &[f64], b: &[f64]) -> f64 {
    // NaN must fail the check, and f64::max would drop it.
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, |m, e| if e.is_nan() || m.is_nan() { f64::NAN } else { m.max(e) })
}

/// `v` rotated left by `r` slots.
fn rotated(v: &[f64], r: usize) -> Vec<f64> {
    (0..v.len()).map(|j| v[(j + r) % v.len()]).collect()
}

/// The highest level whose prime has the bits of the scale, where products and rescaling keep
/// the scale: the top level of a leveled preset. Bootstrappable presets keep larger primes
/// above it for bootstrapping itself (rescaling a `2^40` product by a 60-bit prime would leave
/// `2^20` of scale), so their "top" is the highest computation level.
fn computation_top(q_bits: &[u32], log_scale: u32, max_level: usize) -> usize {
    q_bits.iter().rposition(|&b| b == log_scale).filter(|&l| l > 0).unwrap_or(max_level).min(max_level)
}

/// Runs the suite with `hoist` hoisted rotations (one rotation key each).
pub fn run(ctx: &mut Ctx<'_, '_>, hoist: usize) -> Result<(), BenchError> {
    let params = ctx.params.clone();
    let builder = params.builder();
    let top = computation_top(&builder.q_bits, builder.log_scale, params.max_level());
    let (scale, slots) = (params.default_scale(), params.slots());
    let low = LOW_LEVEL.min(top);
    let rotations: Vec<i64> = (1..=hoist as i64).collect();

    // Key generation: one relinearization key and one rotation key timed once each (as the
    // peers do), then the other rotation keys untimed.
    let mut kg = KeyGenerator::from_seed(&params, ctx.seed(1));
    let sk = kg.secret_key()?;
    let public = kg.public_key(&sk)?;
    let mut relin = None;
    let t = measure(1, || {
        relin = Some(kg.relinearization_key(&sk)?);
        Ok::<_, BenchError>(())
    })?;
    ctx.timed("keygen_relinearization", "keygen: relinearization key", None, t)?;
    let mut galois = None;
    let t = measure(1, || {
        galois = Some(kg.galois_keys(&sk, &[1], false)?);
        Ok::<_, BenchError>(())
    })?;
    ctx.timed("keygen_rotation", "keygen: one rotation key", None, t)?;
    let mut galois = galois.unwrap_or_default();
    let others: Vec<usize> = rotations.iter().skip(1).map(|&r| rotation_element(&params, r)).collect();
    kg.extend_galois_keys(&sk, &mut galois, &others)?;
    let keys = Arc::new(EvaluationKeys { params: params.clone(), public, relinearization: relin, galois });

    let encoder = Encoder::new(&params);
    let mut encryptor = Encryptor::from_seed(&keys.public, ctx.seed(2));
    let decryptor = Decryptor::new(&sk);
    let eval = Evaluator::new(keys.clone());
    let xs: Vec<f64> = (0..slots).map(|i| ((i as f64) * 0.37).sin()).collect();
    let ys: Vec<f64> = (0..slots).map(|i| ((i as f64) * 0.11).cos()).collect();
    let prod: Vec<f64> = xs.iter().zip(&ys).map(|(a, b)| a * b).collect();
    let sum: Vec<f64> = xs.iter().zip(&ys).map(|(a, b)| a + b).collect();
    let x = encryptor.encrypt(&encoder.encode_real(&xs, top, scale)?)?;
    let y = encryptor.encrypt(&encoder.encode_real(&ys, top, scale)?)?;
    let pt_y = encoder.encode_real(&ys, top, scale)?;
    let (x_low, y_low) = (eval.drop_to_level(&x, low)?, eval.drop_to_level(&y, low)?);
    let dec = |ct: &Ciphertext| -> Result<Vec<f64>, BenchError> { Ok(encoder.decode_real(&decryptor.decrypt(ct)?)?) };

    // Each operation: checked once, then timed.
    let r = ctx.repeat;
    check("encode_encrypt", max_abs_err(&dec(&x)?, &xs), BOUND)?;
    let t = measure(r, || encryptor.encrypt(&encoder.encode_real(&xs, top, scale)?))?;
    ctx.timed("encode_encrypt", "encode + encrypt (public key)", Some(top), t)?;
    let t = measure(r, || dec(&x))?;
    ctx.timed("decrypt_decode", "decrypt + decode", Some(top), t)?;

    check("add", max_abs_err(&dec(&eval.add(&x, &y)?)?, &sum), BOUND)?;
    let t = measure(r, || eval.add(&x, &y))?;
    ctx.timed("add", "add ct + ct", Some(top), t)?;

    let ct_pt = || eval.rescale(&eval.mul_plain(&x, &pt_y)?);
    check("mul_plain_rescale", max_abs_err(&dec(&ct_pt()?)?, &prod), BOUND)?;
    let t = measure(r, ct_pt)?;
    ctx.timed("mul_plain_rescale", "ct x pt + rescale", Some(top), t)?;

    for (op, what, a, b) in [
        ("mul_relin_rescale", "ct x ct + relin + rescale", &x, &y),
        ("mul_relin_rescale_low", "ct x ct + relin + rescale, low level", &x_low, &y_low),
    ] {
        check(op, max_abs_err(&dec(&eval.mul_relin_rescale(a, b)?)?, &prod), BOUND)?;
        let t = measure(r, || eval.mul_relin_rescale(a, b))?;
        ctx.timed(op, what, Some(a.level()), t)?;
    }
    for (op, what, a) in [("rotate", "rotate by 1", &x), ("rotate_low", "rotate by 1, low level", &x_low)] {
        check(op, max_abs_err(&dec(&eval.rotate(a, 1)?)?, &rotated(&xs, 1)), BOUND)?;
        let t = measure(r, || eval.rotate(a, 1))?;
        ctx.timed(op, what, Some(a.level()), t)?;
    }

    let mut counts = vec![hoist];
    if hoist > 4 {
        // The peers' table has 4 hoisted rotations.
        counts.insert(0, 4);
    }
    for n in counts {
        let op = format!("rotate_hoisted_{n}");
        let out = eval.rotate_hoisted(&x, &rotations[..n])?;
        let mut worst = 0f64;
        for (ct, &k) in out.iter().zip(&rotations) {
            let e = max_abs_err(&dec(ct)?, &rotated(&xs, k as usize));
            worst = if e.is_nan() { f64::NAN } else { worst.max(e) };
        }
        check(&op, worst, BOUND)?;
        let t = measure(r, || eval.rotate_hoisted(&x, &rotations[..n]))?;
        ctx.timed(&op, &format!("{n} hoisted rotations (1..{n}), total"), Some(top), t)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_is_the_highest_level_of_scale_sized_primes() {
        assert_eq!(computation_top(&[60, 40, 40, 40], 40, 3), 3, "leveled: the top level");
        assert_eq!(computation_top(&[50, 40, 40, 60, 60], 40, 4), 2, "bootstrappable: below the 60-bit primes");
        assert_eq!(computation_top(&[50, 45, 45], 40, 2), 2, "no prime of the scale's size: the top level");
        assert_eq!(computation_top(&[40], 40, 0), 0);
    }

    #[test]
    fn errors_and_rotations() {
        assert_eq!(max_abs_err(&[1.0, 2.0], &[1.5, 2.0]), 0.5);
        assert!(max_abs_err(&[f64::NAN, 2.0], &[1.0, 2.0]).is_nan());
        assert!(max_abs_err(&[1.0, f64::NAN], &[1.0, 2.0]).is_nan());
        assert_eq!(rotated(&[1.0, 2.0, 3.0], 1), vec![2.0, 3.0, 1.0]);
    }
}
