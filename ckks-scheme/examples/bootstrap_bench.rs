//! Bootstrapping benchmark at the secure preset `Preset::BootstrapN16` (or another preset):
//! time per stage, precision, levels left, key sizes, peak memory.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run --release -p ckks-scheme --example bootstrap_bench
//! RAYON_NUM_THREADS=2 cargo run --release -p ckks-scheme --example bootstrap_bench -- --slots 4096 --runs 3
//! cargo run --release -p ckks-scheme --example bootstrap_bench -- --preset insecure-bootstrap-n12
//! cargo run --release -p ckks-scheme --example bootstrap_bench -- --log-n 15   # insecure, profiling
//! cargo run --release -p ckks-scheme --example bootstrap_bench -- --slim   # SlotToCoeff first
//! cargo run --release -p ckks-scheme --example bootstrap_bench -- --baby-steps 8   # fewer keys
//! cargo run --release -p ckks-scheme --example bootstrap_bench -- --view 2048   # 2048 of 32768 slots
//! ```
//!
//! Key generation at `N = 2^16` takes about a minute and the Galois keys several GB: the
//! figures are recorded in `docs/BENCHMARKS.md`.

use ckks_scheme::circuits::bootstrap::{BootstrapConfig, Bootstrapper};
use ckks_scheme::*;
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: ckks_scheme::allocator::MiMalloc = ckks_scheme::allocator::MiMalloc;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    ckks_scheme::allocator::keep_freed_memory();
    let mut slots: Option<usize> = None;
    let mut view: Option<usize> = None;
    let mut runs = 2usize;
    let mut preset = Preset::BootstrapN16;
    let mut log_n: Option<u32> = None;
    let mut config = BootstrapConfig::standard();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--slots" => slots = Some(args.next().ok_or("--slots needs a value")?.parse()?),
            "--view" => view = Some(args.next().ok_or("--view needs a value")?.parse()?),
            "--log-n" => log_n = Some(args.next().ok_or("--log-n needs a value")?.parse()?),
            "--runs" => runs = args.next().ok_or("--runs needs a value")?.parse()?,
            "--slim" => config = BootstrapConfig { dft_baby_steps: config.dft_baby_steps, ..BootstrapConfig::slim() },
            "--baby-steps" => config.dft_baby_steps = Some(args.next().ok_or("--baby-steps needs a value")?.parse()?),
            "--preset" => {
                preset = match args.next().ok_or("--preset needs a value")?.as_str() {
                    "bootstrap-n16" => Preset::BootstrapN16,
                    "insecure-bootstrap-n12" => Preset::InsecureBootstrapN12,
                    other => return Err(format!("unknown preset {other}").into()),
                }
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (--slots N, --view N, --runs R, --preset P, --log-n L, --slim, --baby-steps B)"
                )
                .into())
            }
        }
    }
    let mut builder = preset.builder();
    builder.slots = slots;
    // `--log-n` keeps the preset's chain at another degree: insecure below 2^16, for profiling.
    let resized = log_n.is_some_and(|l| l != builder.log_n);
    if let Some(l) = log_n {
        builder.log_n = l;
    }
    let params = if preset.is_insecure() || resized { builder.build_insecure()? } else { builder.build()? };
    let threads = rayon::current_num_threads();
    println!("{}", params.describe());
    println!("threads      {threads}");

    let t = Instant::now();
    // `--view n`: ciphertexts of the parameters that carry n slots (Bootstrapper::with_slots).
    let boot = Bootstrapper::with_slots(&params, config, view.unwrap_or(params.slots()))?;
    println!("circuit      {:?} to encode the DFT matrices", t.elapsed());
    println!("contract     {}", boot.contract());

    let t = Instant::now();
    let mut kg = KeyGenerator::from_seed(&params, [1; 32]);
    let sk = kg.secret_key()?;
    let mut keys = kg.evaluation_keys(&sk, &[], false)?;
    let bkeys = boot.generate_keys(&mut kg, &sk, &mut keys.galois)?;
    let count = keys.galois.elements().count();
    println!(
        "keys         {:?}: {count} Galois keys, {:.2} GB ({:.0} MB each, as the relinearization key); \
         encapsulation {:.0} MB (to sparse: {:.1} MB at q0 p0)",
        t.elapsed(),
        keys.galois.size_bytes() as f64 / 1e9,
        keys.galois.size_bytes() as f64 / 1e6 / count.max(1) as f64,
        bkeys.size_bytes() as f64 / 1e6,
        bkeys.to_sparse().map_or(0.0, |k| k.size_bytes() as f64 / 1e6),
    );
    let keys = Arc::new(keys);
    let eval = Evaluator::new(keys.clone());
    let n = boot.slots();
    let enc = Encoder::with_slots(&params, n)?;
    // Uniform in the unit disk (deterministic).
    let z: Vec<Complex> = (0..n)
        .map(|j| {
            let (r, a) = ((((j * 7919) % 10007) as f64 / 10007.0).sqrt(), j as f64 * 2.399_963);
            Complex::new(r * a.cos(), r * a.sin())
        })
        .collect();
    let pt = enc.encode(&z, boot.input_level(), params.default_scale())?;
    let ct = Encryptor::from_seed(&keys.public, [2; 32]).encrypt(&pt)?;
    let dec = Decryptor::new(&sk);
    let fresh = PrecisionStats::compare(&z, &enc.decode(&dec.decrypt(&ct)?)?);
    println!("input        level {}, scale 2^{:.1}: {fresh}", ct.level(), ct.scale().log2());
    for run in 0..runs {
        let (out, tm) = boot.bootstrap_timed(&eval, &bkeys, &ct)?;
        let stats = PrecisionStats::compare(&z, &enc.decode(&dec.decrypt(&out)?)?);
        println!(
            "run {run}        {:.2} s = encapsulation+ModRaise {:.2} + trace {:.2} + CoeffToSlot {:.2} + EvalMod {:.2} + SlotToCoeff {:.2}",
            tm.total().as_secs_f64(),
            tm.mod_raise.as_secs_f64(),
            tm.trace.as_secs_f64(),
            tm.coeff_to_slot.as_secs_f64(),
            tm.eval_mod.as_secs_f64(),
            tm.slot_to_coeff.as_secs_f64()
        );
        println!("             level {} scale 2^{:.2}: {stats}", out.level(), out.scale().log2());
    }
    println!("peak memory  {:.0} MB", peak_rss_mb());
    Ok(())
}
