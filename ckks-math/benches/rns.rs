//! Benchmarks of the RNS layer at the sizes of HETAL's parameters: `N = 2^16`, 24 primes of
//! 50 bits in `Q` and 8 special primes of 61 bits in `P`.
//!
//! * `rns/ntt_1limb`: one forward NTT of one limb, the unit the other numbers compare against.
//! * `rns/mod_up`: `Q` (24 limbs, coefficients) -> `P` (8 limbs) fast basis conversion.
//! * `rns/mod_down`: `(Q, P)` -> `Q` in NTT form (8 inverse NTTs, conversion, 24 forward NTTs).
//! * `rns/rescale`: divide a 24-limb NTT polynomial by its last prime.
//! * `rns/to_ntt/{parallel,sequential}`: 24 forward NTTs with and without rayon across limbs.
//! * `rns/mul`, `rns/mul_shoup`, `rns/automorphism`: pointwise products and a Galois
//!   permutation of 24 NTT limbs.
//!
//! Run with `cargo bench -p ckks-math --bench rns`.

use ckks_math::automorphism::{ntt_permutation, rotation_galois_element};
use ckks_math::parallel::set_parallel;
use ckks_math::primes::ntt_primes;
use ckks_math::sampling::Sampler;
use ckks_math::{ModUpDown, Representation, RnsBasis, RnsPoly, ShoupPoly};
use criterion::{criterion_main, BatchSize, Criterion};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const LOG_N: u32 = 16;
const N: usize = 1 << LOG_N;
const Q_LIMBS: usize = 24;
const P_LIMBS: usize = 8;

struct Setup {
    q: Arc<RnsBasis>,
    p: Arc<RnsBasis>,
    sampler: Sampler,
}

impl Setup {
    fn new() -> Self {
        let two_n = 2 * N as u64;
        let q_primes = ntt_primes(50, two_n, Q_LIMBS, &[]).expect("50-bit primes");
        let p_primes = ntt_primes(61, two_n, P_LIMBS, &q_primes).expect("61-bit primes");
        let q = RnsBasis::new(N, &q_primes).expect("basis Q");
        let p = RnsBasis::new(N, &p_primes).expect("basis P");
        Self { q, p, sampler: Sampler::from_seed([7; 32]) }
    }

    /// A uniform polynomial over the first `limbs` primes of `basis`.
    fn uniform(&mut self, basis: &Arc<RnsBasis>, limbs: usize, repr: Representation) -> RnsPoly {
        let data = self.sampler.uniform_rns(&basis.moduli()[..limbs], N);
        RnsPoly::from_data(basis, limbs, repr, data).expect("uniform polynomial")
    }
}

fn bench_rns(c: &mut Criterion) {
    let mut s = Setup::new();
    let mut g = c.benchmark_group("rns");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));

    let (q, p) = (s.q.clone(), s.p.clone());

    // Reference unit: one forward NTT of one 2^16 limb.
    let ntt0 = q.ntt(0).clone();
    let limb = s.uniform(&q, 1, Representation::Coefficient).into_data();
    g.bench_function("ntt_1limb", |b| {
        b.iter_batched_ref(|| limb.clone(), |a| ntt0.forward(black_box(a)), BatchSize::LargeInput)
    });

    // (a) ModUp: Q (24 limbs, coefficients) -> P (8 limbs).
    let md = ModUpDown::new(&q, Q_LIMBS, &p).expect("ModUpDown");
    let a_coeff = s.uniform(&q, Q_LIMBS, Representation::Coefficient);
    g.bench_function("mod_up", |b| b.iter(|| md.mod_up(black_box(&a_coeff)).expect("mod_up")));
    set_parallel(false);
    g.bench_function("mod_up/sequential", |b| b.iter(|| md.mod_up(black_box(&a_coeff)).expect("mod_up")));
    set_parallel(true);

    // (b) ModDown: (Q, P) in NTT form -> Q in NTT form.
    let a_q = s.uniform(&q, Q_LIMBS, Representation::Ntt);
    let a_p = s.uniform(&p, P_LIMBS, Representation::Ntt);
    g.bench_function("mod_down", |b| {
        b.iter_batched(
            || (a_q.clone(), a_p.clone()),
            |(mut x, y)| {
                md.mod_down(&mut x, black_box(y)).expect("mod_down");
                x
            },
            BatchSize::LargeInput,
        )
    });

    // (c) Rescale of a 24-limb NTT polynomial.
    g.bench_function("rescale", |b| {
        b.iter_batched_ref(|| a_q.clone(), |x| x.rescale().expect("rescale"), BatchSize::LargeInput)
    });

    // (d) 24 forward NTTs, with and without rayon across limbs.
    g.bench_function("to_ntt/parallel", |b| {
        b.iter_batched_ref(|| a_coeff.clone(), |x| x.to_ntt(), BatchSize::LargeInput)
    });
    set_parallel(false);
    g.bench_function("to_ntt/sequential", |b| {
        b.iter_batched_ref(|| a_coeff.clone(), |x| x.to_ntt(), BatchSize::LargeInput)
    });
    set_parallel(true);

    // (e) Pointwise products and the NTT-domain automorphism of 24 limbs.
    let w = s.uniform(&q, Q_LIMBS, Representation::Ntt);
    let w_shoup = ShoupPoly::new(w.clone());
    g.bench_function("mul", |b| {
        b.iter_batched_ref(|| a_q.clone(), |x| x.mul_assign(black_box(&w)).expect("mul"), BatchSize::LargeInput)
    });
    g.bench_function("mul_shoup", |b| {
        b.iter_batched_ref(
            || a_q.clone(),
            |x| x.mul_shoup_assign(black_box(&w_shoup)).expect("mul_shoup"),
            BatchSize::LargeInput,
        )
    });
    let k = rotation_galois_element(1, N);
    let table = ntt_permutation(N, k).expect("Galois element");
    g.bench_function("automorphism", |b| b.iter(|| a_q.automorphism(black_box(k)).expect("automorphism")));
    let mut out = a_q.clone();
    g.bench_function("automorphism_ntt_into", |b| {
        b.iter(|| a_q.automorphism_ntt_into(black_box(&table), &mut out).expect("automorphism"))
    });
    g.finish();
}

/// Criterion's generated entry point, kept out of the documented surface of the bench crate.
mod entry {
    criterion::criterion_group!(benches, super::bench_rns);
}
criterion_main!(entry::benches);
