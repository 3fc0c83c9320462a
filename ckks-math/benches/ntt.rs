//! Criterion benchmarks for `ckks-math`: NTT (ours against tfhe-ntt on the same prime and
//! size) and pointwise products.
//!
//! Run with `cargo bench -p ckks-math --bench ntt`. One function per group; add new groups
//! (ModUp, rescale, ...) as further functions in `criterion_group!` below.

// `criterion_group!` and `criterion_main!` generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use ckks_math::{primes::ntt_primes, Modulus, NttTable};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};

/// Ring degree of every benchmark.
const LOG_N: u32 = 16;
/// Bit size of the benchmarked prime.
const BITS: u32 = 60;

/// One 60-bit NTT-friendly prime for `N = 2^LOG_N`.
fn prime(n: usize) -> u64 {
    ntt_primes(BITS, 2 * n as u64, 1, &[]).expect("an NTT prime exists")[0]
}

/// Deterministic pseudo-random residues in `[0, q)` (splitmix64).
fn residues(n: usize, q: u64, seed: u64) -> Vec<u64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) % q
        })
        .collect()
}

fn configure<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(60).warm_up_time(Duration::from_millis(800)).measurement_time(Duration::from_secs(3));
    group
}

/// Forward and inverse NTT, ours and tfhe-ntt's (AVX2 path: its `avx512` feature is off).
///
/// Every transform runs in place on the same buffer again and again; every output range is a
/// valid input range of the same transform, so no copy is timed.
fn bench_ntt(c: &mut Criterion) {
    let n = 1usize << LOG_N;
    let q = prime(n);
    let table = NttTable::new(Modulus::new(q).unwrap(), n).unwrap();
    let plan = tfhe_ntt::prime64::Plan::try_new(n, q).expect("tfhe-ntt plan");
    let input = residues(n, q, 1);

    let mut group = configure(c, "ntt");
    group.throughput(Throughput::Elements(n as u64));
    let id = |name: &str| BenchmarkId::new(name, format!("n=2^{LOG_N},q={BITS}bit"));

    let mut buf = input.clone();
    group.bench_function(id("ours/forward"), |b| b.iter(|| table.forward(black_box(&mut buf))));
    let mut buf = input.clone();
    group.bench_function(id("ours/forward_lazy"), |b| b.iter(|| table.forward_lazy(black_box(&mut buf))));
    let mut buf = input.clone();
    group.bench_function(id("tfhe-ntt/fwd"), |b| b.iter(|| plan.fwd(black_box(&mut buf))));
    let mut buf = input.clone();
    group.bench_function(id("ours/inverse"), |b| b.iter(|| table.inverse(black_box(&mut buf))));
    let mut buf = input.clone();
    group.bench_function(id("ours/inverse_lazy"), |b| {
        // inverse_lazy maps [0, 2q) to [0, 2q), so it can be repeated too.
        b.iter(|| table.inverse_lazy(black_box(&mut buf)))
    });
    let mut buf = input.clone();
    group.bench_function(id("tfhe-ntt/inv"), |b| b.iter(|| plan.inv(black_box(&mut buf))));
    group.finish();
}

/// Pointwise products of two length-`N` vectors: Barrett (`mul_vec`) and Shoup with a
/// precomputed operand (`mul_shoup_vec`).
fn bench_pointwise(c: &mut Criterion) {
    let n = 1usize << LOG_N;
    let q = prime(n);
    let m = Modulus::new(q).unwrap();
    let a = residues(n, q, 2);
    let b = residues(n, q, 3);
    let b_shoup = m.shoup_vec(&b);

    let mut group = configure(c, "pointwise");
    group.throughput(Throughput::Elements(n as u64));
    let id = |name: &str| BenchmarkId::new(name, format!("n=2^{LOG_N},q={BITS}bit"));

    let mut buf = a.clone();
    group.bench_function(id("mul_vec"), |bch| bch.iter(|| m.mul_vec(black_box(&mut buf), black_box(&b))));
    let mut buf = a.clone();
    group.bench_function(id("mul_shoup_vec"), |bch| {
        bch.iter(|| m.mul_shoup_vec(black_box(&mut buf), black_box(&b), black_box(&b_shoup)))
    });
    group.finish();
}

criterion_group!(benches, bench_ntt, bench_pointwise);
criterion_main!(benches);
