//! The encrypted softmax on one ciphertext of random logits, against the `f64` mirror and the
//! exact softmax, with the decrypt-and-re-encrypt refresh double (INSECURE, test parameters):
//!
//! ```text
//! cargo run --release -p hetal-train --example encrypted_softmax -- [classes] [s1] [range]
//! ```
//!
//! Defaults: 10 classes (c = 16), `s1 = 32`, logits in `[-128, 128]`, `InsecureTestN13`
//! (`N = 2^13`, 4096 slots, 10 levels). Prints the depth per stage, the refreshes, the time and
//! the errors.

use ckks_scheme::{Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator, Preset};
use hetal_train::matrix::Matrix;
use hetal_train::softmax::{
    exact_softmax_row, EncryptedSoftmax, InsecureDecryptReencryptRefresh, SoftmaxApprox, SoftmaxConfig, TiledLayout,
};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Instant;

/// CKKS's allocator: buffers of tens of MB are reused instead of page-faulted in again.
#[global_allocator]
static GLOBAL: ckks_scheme::allocator::MiMalloc = ckks_scheme::allocator::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    ckks_scheme::allocator::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let classes: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let s1: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);
    let range: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(128.0);
    let params = Preset::InsecureTestN13.build()?;
    let layout = TiledLayout::new(params.slots() / s1, s1, classes)?;
    let softmax = EncryptedSoftmax::new(SoftmaxConfig::default(), layout, &params)?;
    let mut keygen = KeyGenerator::from_seed(&params, [1; 32]);
    let sk = keygen.secret_key()?;
    let keys = Arc::new(keygen.evaluation_keys(&sk, &softmax.rotations(), false)?);
    let eval = Evaluator::new(keys.clone());
    let encoder = Encoder::new(&params);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    let rows = layout.s0;
    let logits = Matrix::from_vec(rows, classes, (0..rows * classes).map(|_| rng.gen_range(-range..range)).collect())
        .expect("shape");
    let pt = encoder.encode_real(&layout.tile(&logits)?, params.max_level(), params.default_scale())?;
    let ct = Encryptor::from_seed(&keys.public, [2; 32]).encrypt(&pt)?;
    let refresh = InsecureDecryptReencryptRefresh::new(&sk, &keys.public, [4; 32], 1.0 + 1e-6)?;
    let start = Instant::now();
    let (out, run) = softmax.evaluate(&eval, &refresh, &ct)?;
    let elapsed = start.elapsed();
    let got = layout.untile(&encoder.decode_real(&Decryptor::new(&sk).decrypt(&out)?)?, rows);
    let mirror = SoftmaxApprox::new(SoftmaxConfig::default())?.rows(&logits);
    let (mut vs_mirror, mut vs_exact, mut exact) = (0.0f64, 0.0f64, vec![0.0; classes]);
    for i in 0..rows {
        exact_softmax_row(logits.row(i), &mut exact);
        for j in 0..classes {
            vs_mirror = vs_mirror.max((got.row(i)[j] - mirror.row(i)[j]).abs());
            vs_exact = vs_exact.max((got.row(i)[j] - exact[j]).abs());
        }
    }
    println!(
        "{} ({} slots), {rows} x {s1} block, {classes} classes (c = {}), logits in [-{range}, {range}]",
        params.summary(),
        params.slots(),
        layout.c
    );
    let mut stages: Vec<(&str, usize, usize)> = Vec::new();
    for s in &run.stages {
        match stages.last_mut() {
            Some((name, count, levels)) if *name == s.name => {
                *count += 1;
                *levels += s.levels;
            }
            _ => stages.push((s.name, 1, s.levels)),
        }
    }
    for (name, count, levels) in stages {
        println!("  {name:14} x{count:<3} {levels:3} levels");
    }
    println!(
        "depth {} levels, {} refreshes (to level {}), {:.2} s",
        run.depth(),
        run.refreshes,
        params.max_level(),
        elapsed.as_secs_f64()
    );
    println!(
        "max error vs f64 mirror {vs_mirror:.2e}, vs exact softmax {vs_exact:.2e}, largest refreshed value {:.4}",
        refresh.largest_seen()
    );
    Ok(())
}
