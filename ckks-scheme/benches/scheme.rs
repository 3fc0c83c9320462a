//! Scheme-level benchmarks at `Preset::LeveledN16` (`N = 2^16`, 29 primes of `Q`, 8 special
//! primes, dnum 4, log QP 1660), the operations of the peers' table in
//! `shared/peers/RESULTS.md`.
//!
//! Criterion runs every benchmark in one process, so the thread count is the one of rayon's
//! global pool, which honours `RAYON_NUM_THREADS`:
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo bench -p ckks-scheme --bench scheme
//! RAYON_NUM_THREADS=2 cargo bench -p ckks-scheme --bench scheme
//! ```
//!
//! Benchmark names carry the thread count (`n16_t1/...`, `n16_t2/...`). Rotation keys take
//! about 300 MB each: the 16 keys of the 16-rotation hoisting benchmark are generated only when
//! `/proc/meminfo` reports at least 12 GB available (or `HETAL_BENCH_HOIST=16` forces it;
//! `HETAL_BENCH_HOIST=8` forces 8 keys), otherwise 8 hoisted rotations are benchmarked.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use ckks_scheme::*;

/// The allocator applications are advised to use (the `hetal` binary does): a caching one, so
/// the tens of MB each operation allocates are reused instead of page-faulted in again.
#[global_allocator]
static GLOBAL: ckks_scheme::allocator::MiMalloc = ckks_scheme::allocator::MiMalloc;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The low level of the "low level" rows (3 primes of `Q` left).
const LOW_LEVEL: usize = 2;

/// The level with OpenFHE's top limb count (21 primes of `Q` in the peers' 128-bit set), for
/// a comparison at equal limbs.
const OPENFHE_LEVEL: usize = 20;

/// Available memory in bytes, from `/proc/meminfo`.
fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// How many hoisted rotations the big hoisting benchmark uses (16 if memory allows, else 8).
fn hoist_count() -> usize {
    match std::env::var("HETAL_BENCH_HOIST").ok().as_deref() {
        Some("16") => 16,
        Some("8") => 8,
        _ => {
            if mem_available().is_some_and(|m| m >= 12 << 30) {
                16
            } else {
                8
            }
        }
    }
}

fn max_abs_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Slow operations: one iteration per sample (flat sampling), short warm-up.
fn slow(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
}

fn bench_scheme(c: &mut Criterion) {
    ckks_scheme::allocator::keep_freed_memory();
    let threads = rayon::current_num_threads();
    let t0 = Instant::now();
    let params = Preset::LeveledN16.build().expect("LeveledN16 builds");
    eprintln!("[scheme bench] {} | rayon threads: {threads} | params built in {:.2?}", params.summary(), t0.elapsed());
    let hoist = hoist_count();
    let rotations: Vec<i64> = (1..=hoist as i64).collect();

    let t0 = Instant::now();
    let mut keygen = KeyGenerator::from_seed(&params, [7; 32]);
    let sk = keygen.secret_key().expect("secret key");
    let keys = Arc::new(keygen.evaluation_keys(&sk, &rotations, false).expect("evaluation keys"));
    eprintln!(
        "[scheme bench] keys: pk + relin + {} rotation keys ({:.0} MB each) in {:.2?}; available memory now {:.1} GB",
        rotations.len(),
        keys.galois.get(rotation_element(&params, 1)).map_or(0, |k| k.size_bytes()) as f64 / 1e6,
        t0.elapsed(),
        mem_available().unwrap_or(0) as f64 / 1e9
    );

    let encoder = Encoder::new(&params);
    let mut encryptor = Encryptor::from_seed(&keys.public, [8; 32]);
    let decryptor = Decryptor::new(&sk);
    let eval = Evaluator::new(keys.clone());
    let slots = params.slots();
    let top = params.max_level();
    let scale = params.default_scale();
    let xs: Vec<f64> = (0..slots).map(|i| ((i as f64) * 0.37).sin()).collect();
    let ys: Vec<f64> = (0..slots).map(|i| ((i as f64) * 0.11).cos()).collect();
    let x = encryptor.encrypt(&encoder.encode_real(&xs, top, scale).unwrap()).unwrap();
    let y = encryptor.encrypt(&encoder.encode_real(&ys, top, scale).unwrap()).unwrap();
    let pt_y = encoder.encode_real(&ys, top, scale).unwrap();
    let x_low = eval.drop_to_level(&x, LOW_LEVEL).unwrap();
    let y_low = eval.drop_to_level(&y, LOW_LEVEL).unwrap();
    let x_mid = eval.drop_to_level(&x, OPENFHE_LEVEL).unwrap();
    let y_mid = eval.drop_to_level(&y, OPENFHE_LEVEL).unwrap();

    // Correctness of what is timed, once, so that a fast wrong answer cannot pass unnoticed.
    {
        let dec = |ct: &Ciphertext| encoder.decode_real(&decryptor.decrypt(ct).unwrap()).unwrap();
        let prod: Vec<f64> = xs.iter().zip(&ys).map(|(a, b)| a * b).collect();
        let rot = |v: &[f64], r: usize| (0..slots).map(|j| v[(j + r) % slots]).collect::<Vec<f64>>();
        let checks = [
            ("encrypt", max_abs_err(&dec(&x), &xs)),
            (
                "add",
                max_abs_err(
                    &dec(&eval.add(&x, &y).unwrap()),
                    &xs.iter().zip(&ys).map(|(a, b)| a + b).collect::<Vec<_>>(),
                ),
            ),
            (
                "mul_plain+rescale",
                max_abs_err(&dec(&eval.rescale(&eval.mul_plain(&x, &pt_y).unwrap()).unwrap()), &prod),
            ),
            ("mul_relin_rescale top", max_abs_err(&dec(&eval.mul_relin_rescale(&x, &y).unwrap()), &prod)),
            ("mul_relin_rescale low", max_abs_err(&dec(&eval.mul_relin_rescale(&x_low, &y_low).unwrap()), &prod)),
            ("rotate 1 top", max_abs_err(&dec(&eval.rotate(&x, 1).unwrap()), &rot(&xs, 1))),
            ("rotate 1 low", max_abs_err(&dec(&eval.rotate(&x_low, 1).unwrap()), &rot(&xs, 1))),
            ("mul_relin_rescale mid", max_abs_err(&dec(&eval.mul_relin_rescale(&x_mid, &y_mid).unwrap()), &prod)),
            ("mul_relin mid", max_abs_err(&dec(&eval.relinearize(&eval.mul(&x_mid, &y_mid).unwrap()).unwrap()), &prod)),
            ("rotate 1 mid", max_abs_err(&dec(&eval.rotate(&x_mid, 1).unwrap()), &rot(&xs, 1))),
        ];
        let hoisted = eval.rotate_hoisted(&x, &rotations).unwrap();
        let hoist_err = hoisted
            .iter()
            .zip(&rotations)
            .map(|(ct, &r)| max_abs_err(&dec(ct), &rot(&xs, r as usize)))
            .fold(0.0, f64::max);
        for (name, err) in checks.iter().chain(std::iter::once(&("rotate_hoisted", hoist_err))) {
            eprintln!("[scheme bench] check {name}: max abs error {err:.3e}");
            assert!(*err < 1e-5, "{name}: max abs error {err:e} too large");
        }
    }

    let mut g = c.benchmark_group(format!("n16_t{threads}"));
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));

    // Client side.
    g.bench_function("encode_encrypt", |b| {
        b.iter(|| encryptor.encrypt(&encoder.encode_real(black_box(&xs), top, scale).unwrap()).unwrap())
    });
    g.bench_function("decrypt_decode", |b| {
        b.iter(|| encoder.decode_real(&decryptor.decrypt(black_box(&x)).unwrap()).unwrap())
    });

    // Server side.
    g.bench_function("add_ct_ct_top", |b| b.iter(|| eval.add(black_box(&x), black_box(&y)).unwrap()));
    g.bench_function("mul_plain_rescale_top", |b| {
        b.iter(|| eval.rescale(&eval.mul_plain(black_box(&x), black_box(&pt_y)).unwrap()).unwrap())
    });
    g.bench_function(format!("mul_relin_rescale_low_l{LOW_LEVEL}"), |b| {
        b.iter(|| eval.mul_relin_rescale(black_box(&x_low), black_box(&y_low)).unwrap())
    });
    g.bench_function(format!("rotate_1_low_l{LOW_LEVEL}"), |b| b.iter(|| eval.rotate(black_box(&x_low), 1).unwrap()));

    slow(&mut g);
    g.bench_function(format!("mul_relin_rescale_top_l{top}"), |b| {
        b.iter(|| eval.mul_relin_rescale(black_box(&x), black_box(&y)).unwrap())
    });
    g.bench_function(format!("rotate_1_top_l{top}"), |b| b.iter(|| eval.rotate(black_box(&x), 1).unwrap()));
    g.bench_function(format!("mul_relin_l{OPENFHE_LEVEL}"), |b| {
        b.iter(|| eval.relinearize(&eval.mul(black_box(&x_mid), black_box(&y_mid)).unwrap()).unwrap())
    });
    g.bench_function(format!("mul_relin_rescale_l{OPENFHE_LEVEL}"), |b| {
        b.iter(|| eval.mul_relin_rescale(black_box(&x_mid), black_box(&y_mid)).unwrap())
    });
    g.bench_function(format!("rotate_1_l{OPENFHE_LEVEL}"), |b| b.iter(|| eval.rotate(black_box(&x_mid), 1).unwrap()));
    g.bench_function("rotate_hoisted_4_top", |b| {
        b.iter(|| eval.rotate_hoisted(black_box(&x), &rotations[..4]).unwrap())
    });
    g.bench_function(format!("rotate_hoisted_{hoist}_top"), |b| {
        b.iter(|| eval.rotate_hoisted(black_box(&x), &rotations).unwrap())
    });
    // For the hoisting gain: the same rotations one by one.
    g.bench_function("rotate_4_separately_top", |b| {
        b.iter(|| rotations[..4].iter().map(|&r| eval.rotate(black_box(&x), r).unwrap()).collect::<Vec<_>>())
    });

    // Key generation (the same seeded generator goes on drawing fresh randomness).
    g.bench_function("keygen_secret_key", |b| b.iter(|| keygen.secret_key().unwrap()));
    g.bench_function("keygen_public_key", |b| b.iter(|| keygen.public_key(black_box(&sk)).unwrap()));
    g.bench_function("keygen_relinearization_key", |b| b.iter(|| keygen.relinearization_key(black_box(&sk)).unwrap()));
    let k1 = rotation_element(&params, 1);
    g.bench_function("keygen_rotation_key", |b| b.iter(|| keygen.galois_key(black_box(&sk), k1).unwrap()));
    g.finish();
}

criterion_group!(benches, bench_scheme);
criterion_main!(benches);
