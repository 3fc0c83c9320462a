//! Min-of-N timing of the fast basis conversion at `N = 2^16`, in the shapes key switching at
//! `BootstrapN16` uses: ModUp of a digit of 40-bit or 60-bit primes into the rest of `Q_l P`,
//! and the fused ModDown from `P q_l` (centered).
//!
//! The kernel follows [`ckks_math::NttKernel::active`], so one binary times both paths:
//!
//! ```sh
//! cargo run --release -p ckks-math --example convert_minbench
//! CKKS_NTT_KERNEL=avx2 cargo run --release -p ckks-math --example convert_minbench   # portable conversion
//! ```
#![allow(missing_docs)]
use ckks_math::{parallel::set_parallel, primes::ntt_primes, BasisConverter, Modulus, NttKernel};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    set_parallel(false);
    let n = 1usize << 16;
    let two_n = 2 * n as u64;
    let q40 = ntt_primes(40, two_n, 16, &[]).unwrap();
    let q60 = ntt_primes(60, two_n, 12, &q40).unwrap();
    let p61 = ntt_primes(61, two_n, 6, &[q40.clone(), q60.clone()].concat()).unwrap();
    let m = |v: &[u64]| v.iter().map(|&q| Modulus::new(q).unwrap()).collect::<Vec<_>>();
    let (q40, q60, p61) = (m(&q40), m(&q60), m(&p61));
    let cases: Vec<(&str, Vec<Modulus>, Vec<Modulus>, bool)> = vec![
        (
            "ModUp 8 x 40 -> 8 x 40 + 12 x 60 + 6 x 61",
            q40[..8].to_vec(),
            [&q40[8..], &q60[..], &p61[..]].concat(),
            false,
        ),
        (
            "ModUp 6 x 60 -> 16 x 40 + 6 x 60 + 6 x 61",
            q60[..6].to_vec(),
            [&q40[..], &q60[6..], &p61[..]].concat(),
            false,
        ),
        (
            "ModDown 6 x 61 + 60 -> 16 x 40 + 8 x 60 (centered)",
            [&p61[..], &q60[8..9]].concat(),
            [&q40[..], &q60[..8]].concat(),
            true,
        ),
    ];
    println!("kernel {}", NttKernel::active().name());
    for (name, from, to, centered) in cases {
        let conv = BasisConverter::new(&from, &to).unwrap();
        let input: Vec<u64> = from
            .iter()
            .enumerate()
            .flat_map(|(i, q)| {
                (0..n as u64).map(move |c| (c.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i as u64) % q.value())
            })
            .collect();
        let mut out = vec![0u64; to.len() * n];
        let mut best = f64::MAX;
        for _ in 0..40 {
            let st = Instant::now();
            if centered {
                conv.convert_centered(black_box(&input), black_box(&mut out), n);
            } else {
                conv.convert(black_box(&input), black_box(&mut out), n);
            }
            best = best.min(st.elapsed().as_secs_f64());
        }
        let macs = (from.len() * to.len() * n) as f64;
        println!("{name:52} min {:7.2} ms  {:5.2} ns per product", best * 1e3, best * 1e9 / macs);
    }
}
