//! Interleaved min-of-N timing of the NTT benchmarks (N = 2^16, one 60-bit prime): ours against
//! tfhe-ntt, and the pointwise products.
//!
//! A cross-check of `cargo bench -p ckks-math --bench ntt` for busy machines: the variants run in
//! turn, 400 times each, and the minimum is what the variant costs when nothing else interferes
//! (criterion's mean moves with the load of other processes). Inputs are reduced to `[0, q)`
//! outside the timed region where a variant needs it.
//!
//! Run with `cargo run --release -p ckks-math --example ntt_minbench [-- BITS]`: a prime of
//! `BITS` bits (60 by default; below 51, the IFMA kernel serves it where the CPU has one, and
//! `CKKS_NTT_KERNEL=avx512` times the 64-bit kernel beside it).
#![allow(missing_docs)]
use ckks_math::{primes::ntt_primes, Modulus, NttTable};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let n = 1usize << 16;
    let bits = std::env::args().nth(1).map_or(60, |b| b.parse().expect("BITS: a prime size in bits"));
    let q = ntt_primes(bits, 2 * n as u64, 1, &[]).unwrap()[0];
    let t = NttTable::new(Modulus::new(q).unwrap(), n).unwrap();
    println!("{bits}-bit prime, N = 2^16, kernel {}", t.kernel().name());
    let plan = tfhe_ntt::prime64::Plan::try_new(n, q).unwrap();
    let mut a: Vec<u64> = (0..n as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % q).collect();
    let b: Vec<u64> = (0..n as u64).map(|i| (i + 7).wrapping_mul(0x2545_f491_4f6c_dd1d) % q).collect();
    let bs = t.modulus().shoup_vec(&b);
    let mut c = a.clone();
    let names =
        ["ours fwd", "ours fwd_lazy", "tfhe fwd", "ours inv", "ours inv_lazy", "tfhe inv", "mul_vec", "mul_shoup_vec"];
    let mut samples: Vec<Vec<f64>> = vec![vec![]; names.len()];
    for _ in 0..400 {
        for (k, s) in samples.iter_mut().enumerate() {
            if k == 2 || k == 3 || k == 5 {
                a.iter_mut().for_each(|x| *x %= q);
            }
            let st = Instant::now();
            match k {
                0 => t.forward(black_box(&mut a)),
                1 => t.forward_lazy(black_box(&mut a)),
                2 => plan.fwd(black_box(&mut a)),
                3 => t.inverse(black_box(&mut a)),
                4 => t.inverse_lazy(black_box(&mut a)),
                5 => plan.inv(black_box(&mut a)),
                6 => t.modulus().mul_vec(black_box(&mut c), black_box(&b)),
                _ => t.modulus().mul_shoup_vec(black_box(&mut c), black_box(&b), black_box(&bs)),
            }
            s.push(st.elapsed().as_secs_f64() * 1e6);
        }
    }
    for (name, s) in names.iter().zip(&mut samples) {
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("{name:14} min {:7.1} us  p10 {:7.1}  median {:7.1}", s[0], s[s.len() / 10], s[s.len() / 2]);
    }
}
