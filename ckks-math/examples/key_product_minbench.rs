//! Min-of-N timing of the key-switching inner product ([`ckks_math::rns::key_product`]) on one
//! limb of `N = 2^16` coefficients: 2 to 4 digits, the packed key layout (keys streamed from
//! memory), with and without an
//! automorphism's permutation.
//!
//! ```sh
//! cargo run --release -p ckks-math --example key_product_minbench [-- BITS]
//! CKKS_NTT_KERNEL=avx2 cargo run --release -p ckks-math --example key_product_minbench   # portable
//! ```
//!
//! `BITS`: the prime's size (60 by default; below 50 the IFMA kernel serves it where the CPU has
//! one, and `CKKS_NTT_KERNEL=avx512` times the 64-bit kernel beside it).
#![allow(missing_docs)]
use ckks_math::rns::key_product::{KeyProduct, Source};
use ckks_math::{primes::ntt_primes, Modulus, NttKernel};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let n = 1usize << 16;
    let bits = std::env::args().nth(1).map_or(60, |b| b.parse().expect("BITS: a prime size in bits"));
    let q = ntt_primes(bits, 2 * n as u64, 1, &[]).unwrap()[0];
    let m = Modulus::new(q).unwrap();
    println!("{bits}-bit prime, kernel {}", NttKernel::active().name());
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |b: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % b
    };
    for (digits, stride) in [(4, 8), (3, 8), (2, 8)] {
        let xs: Vec<Vec<u64>> = (0..digits).map(|_| (0..n).map(|_| next(4 * q)).collect()).collect();
        // 48 keys (192 MB): each product streams its key from memory, as key switching does.
        let keys: Vec<Vec<u64>> = (0..48).map(|_| (0..n * stride).map(|_| next(q)).collect()).collect();
        let perm: Vec<usize> = (0..n).map(|c| (c * 5 + 1) % n).collect();
        let refs: Vec<&[u64]> = xs.iter().map(|x| &x[..]).collect();
        let (mut o0, mut o1) = (vec![0u64; n], vec![0u64; n]);
        for (name, src) in [("offset", Source::Offset(0)), ("perm", Source::Perm(&perm))] {
            let mut best = f64::MAX;
            for i in 0..96 {
                let key = &keys[i % keys.len()];
                let st = Instant::now();
                KeyProduct { m: &m, xs: black_box(&refs), key: black_box(key), stride, src, lifts: [None, None] }
                    .compute(&mut o0, &mut o1);
                best = best.min(st.elapsed().as_secs_f64());
            }
            println!("{digits} digits, stride {stride}, {name:6}  min {:7.1} us", best * 1e6);
        }
    }
}
