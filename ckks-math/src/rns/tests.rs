//! Property tests of the RNS layer against big-integer arithmetic.

use super::*;
use crate::primes::ntt_primes;
use crate::{MathError, Modulus, NttKernel};
use num_bigint::{BigInt, BigUint};
use num_integer::Integer;
use num_traits::{Signed, Zero};
use proptest::prelude::*;
use std::sync::Arc;

/// A basis of `count` primes of mixed sizes for degree `n`.
fn basis(n: usize, count: usize) -> Arc<RnsBasis> {
    let sizes = [60u32, 50, 55, 40, 61, 45, 59, 36];
    let mut primes: Vec<u64> = Vec::new();
    for i in 0..count {
        let p = ntt_primes(sizes[i % sizes.len()], 2 * n as u64, 1, &primes).unwrap()[0];
        primes.push(p);
    }
    RnsBasis::new(n, &primes).unwrap()
}

/// Random residues for a polynomial with `limbs` limbs.
fn random_poly(b: &Arc<RnsBasis>, limbs: usize, seed: u64, repr: Representation) -> RnsPoly {
    let n = b.degree();
    let mut s = seed | 1;
    let mut data = Vec::with_capacity(limbs * n);
    for i in 0..limbs {
        let q = b.modulus(i).value();
        for _ in 0..n {
            // xorshift64*: plenty for test inputs.
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            data.push(s.wrapping_mul(0x2545_f491_4f6c_dd1d) % q);
        }
    }
    RnsPoly::from_data(b, limbs, repr, data).unwrap()
}

fn modulus_q(b: &RnsBasis, limbs: usize) -> BigInt {
    BigInt::from(b.product(limbs))
}

/// Centered representative of `x` modulo `q`.
fn center(x: &BigInt, q: &BigInt) -> BigInt {
    let r = x.mod_floor(q);
    if &r * 2 > *q {
        r - q
    } else {
        r
    }
}

fn negacyclic(a: &[BigInt], b: &[BigInt], q: &BigInt) -> Vec<BigInt> {
    let n = a.len();
    let mut c = vec![BigInt::zero(); n];
    for i in 0..n {
        for j in 0..n {
            let p = &a[i] * &b[j];
            if i + j < n {
                c[i + j] += p;
            } else {
                c[i + j - n] -= p;
            }
        }
    }
    c.iter().map(|x| center(x, q)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Every kernel gives `a b mod q` and `acc + a b mod q` exactly, the words of `u128`
    /// arithmetic: primes of 20 to 61 bits, reduced inputs (edges included), lengths not a
    /// multiple of 8 (the portable tail).
    #[test]
    fn pointwise_products_match_the_formula(bits in 20u32..=61, n in 0usize..70, edges in any::<bool>(), seed in any::<u64>()) {
        let q = ntt_primes(bits, 64, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        let mut words = crate::test_words::Words::new(seed, edges);
        let mut draw = || -> Vec<u64> { (0..n).map(|_| words.below(q)).collect() };
        let (a, b, acc) = (draw(), draw(), draw());
        let product = |x: u64, y: u64| (x as u128 * y as u128 % q as u128) as u64;
        let want_mul: Vec<u64> = a.iter().zip(&b).map(|(&x, &y)| product(x, y)).collect();
        let want_mac: Vec<u64> = acc.iter().zip(&want_mul).map(|(&o, &p)| ((o as u128 + p as u128) % q as u128) as u64).collect();
        for kernel in [NttKernel::Portable, NttKernel::Avx2, NttKernel::Avx512, NttKernel::Avx512Ifma] {
            let mut v = a.clone();
            super::poly::mul_limb_with(kernel, &m, &mut v, &b);
            prop_assert_eq!(&v, &want_mul, "mul, kernel {:?}", kernel);
            let mut v = acc.clone();
            super::poly::add_mul_limb_with(kernel, &m, &mut v, &a, &b);
            prop_assert_eq!(&v, &want_mac, "add_mul, kernel {:?}", kernel);
        }
    }

    #[test]
    fn crt_round_trip(limbs in 1usize..6, seed in any::<u64>()) {
        let b = basis(16, 6);
        let p = random_poly(&b, limbs, seed, Representation::Coefficient);
        let ints = p.to_bigint_centered().unwrap();
        let q = modulus_q(&b, limbs);
        prop_assert!(ints.iter().all(|x| (x * BigInt::from(2)).abs() <= q));
        let back = RnsPoly::from_bigint(&b, limbs, &ints).unwrap();
        prop_assert_eq!(back, p);
    }

    #[test]
    fn ring_ops_match_bigint(limbs in 1usize..4, s1 in any::<u64>(), s2 in any::<u64>()) {
        let b = basis(16, 4);
        let q = modulus_q(&b, limbs);
        let pa = random_poly(&b, limbs, s1, Representation::Coefficient);
        let pb = random_poly(&b, limbs, s2, Representation::Coefficient);
        let (a, bb) = (pa.to_bigint_centered().unwrap(), pb.to_bigint_centered().unwrap());

        let mut sum = pa.clone();
        sum.add_assign(&pb).unwrap();
        prop_assert_eq!(&pa.add(&pb).unwrap(), &sum);
        let mut d = pa.clone();
        d.sub_assign(&pb).unwrap();
        prop_assert_eq!(&pa.sub(&pb).unwrap(), &d);
        let want: Vec<BigInt> = a.iter().zip(&bb).map(|(x, y)| center(&(x + y), &q)).collect();
        prop_assert_eq!(sum.to_bigint_centered().unwrap(), want);

        let mut diff = pa.clone();
        diff.sub_assign(&pb).unwrap();
        let want: Vec<BigInt> = a.iter().zip(&bb).map(|(x, y)| center(&(x - y), &q)).collect();
        prop_assert_eq!(diff.to_bigint_centered().unwrap(), want);

        let mut neg = pa.clone();
        neg.neg_assign();
        let want: Vec<BigInt> = a.iter().map(|x| center(&-x, &q)).collect();
        prop_assert_eq!(neg.to_bigint_centered().unwrap(), want);

        let mut scaled = pa.clone();
        scaled.mul_scalar_assign(u64::MAX - 58);
        let want: Vec<BigInt> = a.iter().map(|x| center(&(x * BigInt::from(u64::MAX - 58)), &q)).collect();
        prop_assert_eq!(scaled.to_bigint_centered().unwrap(), want);

        let want = negacyclic(&a, &bb, &q);
        let (mut fa, mut fb) = (pa.clone(), pb.clone());
        fa.to_ntt();
        fb.to_ntt();
        let mut prod = fa.clone();
        prod.mul_assign(&fb).unwrap();
        let mut shoup = fa.clone();
        shoup.mul_shoup_assign(&ShoupPoly::new(fb.clone())).unwrap();
        prop_assert_eq!(&shoup, &prod);
        let fc = { let mut c = random_poly(&b, limbs, s1 ^ s2, Representation::Coefficient); c.to_ntt(); c };
        let [t0, t1, t2] = RnsPoly::tensor(&fa, &fb, &fb, &fc).unwrap();
        let (mut w0, mut w1, mut w2) = (fa.clone(), fa.clone(), fb.clone());
        w0.mul_assign(&fb).unwrap();
        w1.mul_assign(&fc).unwrap();
        w1.add_mul_assign(&fb, &fb).unwrap();
        w2.mul_assign(&fc).unwrap();
        prop_assert_eq!((&t0, &t1, &t2), (&w0, &w1, &w2));
        let mut acc = fa.clone();
        acc.add_mul_assign(&fa, &fb).unwrap();
        acc.sub_assign(&fa).unwrap();
        prop_assert_eq!(&acc, &prod);
        prod.to_coeff();
        prop_assert_eq!(prod.to_bigint_centered().unwrap(), want);
    }

    #[test]
    fn rescale_divides_and_rounds(limbs in 2usize..6, seed in any::<u64>(), ntt in any::<bool>()) {
        let b = basis(32, 6);
        let p = random_poly(&b, limbs, seed, Representation::Coefficient);
        let a = p.to_bigint_centered().unwrap();
        let ql = BigInt::from(b.modulus(limbs - 1).value());
        let q_new = modulus_q(&b, limbs - 1);
        let mut r = p.clone();
        if ntt {
            r.to_ntt();
        }
        r.rescale().unwrap();
        prop_assert_eq!(r.limbs(), limbs - 1);
        r.to_coeff();
        let got = r.to_bigint_centered().unwrap();
        for (x, g) in a.iter().zip(&got) {
            // round(x / q_l) with ties away from... either way: |x - g*q_l| <= q_l/2 modulo Q'.
            let h: BigInt = (&ql - BigInt::from(1)) / BigInt::from(2);
            let want = center(&(x + h).div_floor(&ql), &q_new);
            prop_assert_eq!(g, &want);
            let err = x - g * &ql;
            prop_assert!((err * BigInt::from(2)).abs() <= ql);
        }
    }

    #[test]
    // k up to 7 sources (with a 61-bit prime from k = 5 on) takes the Montgomery path
    // (k max q < 2^64), k >= 8 the Barrett one: both are checked.
    fn fast_conversion_is_exact_up_to_multiple_of_q(k in 1usize..13, seed in any::<u64>()) {
        let b = basis(64, 16);
        let from = &b.moduli()[..k];
        let to = &b.moduli()[k..];
        let conv = BasisConverter::new(from, to).unwrap();
        let p = random_poly(&b, k, seed, Representation::Coefficient);
        let mut out = vec![0u64; to.len() * 64];
        conv.convert(p.data(), &mut out, 64);
        let crt = b.crt(k).unwrap();
        let qk = b.product(k);
        let mut res = vec![0u64; k];
        for c in 0..64 {
            for i in 0..k { res[i] = p.limb(i)[c]; }
            let x = crt.compose(&res);
            // Find u with (x + u*Q) mod p_0 = out[0][c]; it must be below k and fit every target.
            let u = (0..k as u64).find(|&u| ((&x + &qk * u) % to[0].value()) == BigUint::from(out[c]));
            prop_assert!(u.is_some(), "no u < k explains coefficient {}", c);
            let u = u.unwrap();
            for (j, pj) in to.iter().enumerate() {
                prop_assert_eq!(BigUint::from(out[j * 64 + c]), (&x + &qk * u) % pj.value());
            }
        }
    }

    #[test]
    // Lengths that are not a multiple of the conversion's block, odd ones included, so that
    // every tail of the block loops runs; both representatives, against big integers.
    fn conversion_of_any_length(k in 1usize..15, n in 1usize..700, seed in any::<u64>(), centered in any::<bool>()) {
        let b = basis(64, 16);
        let (from, to) = (&b.moduli()[..k], &b.moduli()[k..]);
        let conv = BasisConverter::new(from, to).unwrap();
        let mut state = seed | 1;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let input: Vec<u64> = (0..k * n).map(|w| next() % from[w / n].value()).collect();
        let mut out = vec![0u64; to.len() * n];
        if centered {
            conv.convert_centered(&input, &mut out, n);
        } else {
            conv.convert(&input, &mut out, n);
        }
        let crt = b.crt(k).unwrap();
        let qk = BigInt::from(b.product(k));
        for c in 0..n {
            let res: Vec<u64> = (0..k).map(|i| input[i * n + c]).collect();
            let x = BigInt::from(crt.compose(&res));
            let wants: Vec<BigInt> = if centered {
                let x = if &x * 2 >= qk { x - &qk } else { x };
                vec![x]
            } else {
                (0..k as u64).map(|u| &x + &qk * u).collect()
            };
            let ok = wants.iter().any(|w| {
                to.iter().enumerate().all(|(j, pj)| BigInt::from(out[j * n + c]) == w.mod_floor(&BigInt::from(pj.value())))
            });
            prop_assert!(ok, "coefficient {} of {} (k = {}, centered = {})", c, n, k, centered);
        }
    }

    #[test]
    fn centered_conversion_is_exact(k in 1usize..13, seed in any::<u64>()) {
        let b = basis(64, 16);
        let (from, to) = (&b.moduli()[..k], &b.moduli()[k..]);
        let conv = BasisConverter::new(from, to).unwrap();
        let p = random_poly(&b, k, seed, Representation::Coefficient);
        let mut out = vec![0u64; to.len() * 64];
        conv.convert_centered(p.data(), &mut out, 64);
        let centered = p.to_bigint_centered().unwrap();
        for (c, x) in centered.iter().enumerate() {
            for (j, pj) in to.iter().enumerate() {
                let want = x.mod_floor(&BigInt::from(pj.value()));
                prop_assert_eq!(BigInt::from(out[j * 64 + c]), want, "coefficient {} prime {}", c, j);
            }
        }
    }

    #[test]
    fn mod_up_then_mod_down(l in 1usize..6, seed in any::<u64>(), ntt in any::<bool>()) {
        let n = 32;
        let q = basis(n, 6);
        let mut exclude: Vec<u64> = q.moduli().iter().map(|m| m.value()).collect();
        let p_primes = ntt_primes(61, 2 * n as u64, 3, &exclude).unwrap();
        exclude.extend(&p_primes);
        let p = RnsBasis::new(n, &p_primes).unwrap();
        let md = ModUpDown::new(&q, l, &p).unwrap();
        let a = random_poly(&q, l, seed, Representation::Coefficient);
        let a_int = a.to_bigint_centered().unwrap();

        // ModUp: the P residues of the centered representative.
        let up = md.mod_up(&a).unwrap();
        let pp = BigInt::from(p.product(p.len()));
        let crt_p = p.crt(p.len()).unwrap();
        let up_ints = (0..n).map(|c| {
            let r: Vec<u64> = (0..p.len()).map(|j| up.limb(j)[c]).collect();
            BigInt::from(crt_p.compose(&r))
        });
        // ModUp is exact on the centered representative (a_int is already centered mod Q_l).
        for (x, y) in a_int.iter().zip(up_ints) {
            prop_assert_eq!(x.mod_floor(&pp), y);
        }

        // ModDown of P * a (given modulo Q_l and P) returns a exactly, and so does ModDown of
        // P*a + e for |e| < P/2: it rounds to the nearest integer.
        let mut a_q = a.clone();
        let p_mod: Vec<u64> = q.moduli()[..l].iter().map(|m| (p.product(p.len()) % m.value()).iter_u64_digits().next().unwrap_or(0)).collect();
        a_q.mul_rns_scalar_assign(&p_mod).unwrap();
        let a_p = RnsPoly::zero(&p, p.len(), Representation::Coefficient).unwrap();
        if ntt { a_q.to_ntt(); }
        md.mod_down(&mut a_q, a_p).unwrap();
        a_q.to_coeff();
        prop_assert_eq!(&a_q, &a);

        let mut b_q = a.clone();
        b_q.mul_rns_scalar_assign(&p_mod).unwrap();
        let e: Vec<i64> = (0..n as i64).map(|i| (i * 7919) % 1000 - 500).collect();
        b_q.add_assign(&RnsPoly::from_signed(&q, l, &e).unwrap()).unwrap();
        let b_p = RnsPoly::from_signed(&p, p.len(), &e).unwrap();
        md.mod_down(&mut b_q, b_p).unwrap();
        let got = b_q.to_bigint_centered().unwrap();
        prop_assert_eq!(&got, &a_int);
    }

    #[test]
    fn automorphism_commutes_with_ntt(limbs in 1usize..4, k_half in 0usize..64, seed in any::<u64>()) {
        let b = basis(64, 3);
        let k = 2 * k_half + 1;
        let a = random_poly(&b, limbs, seed, Representation::Coefficient);
        let mut via_coeff = a.automorphism(k).unwrap();
        via_coeff.to_ntt();
        let mut fa = a.clone();
        fa.to_ntt();
        let via_ntt = fa.automorphism(k).unwrap();
        prop_assert_eq!(&via_ntt, &via_coeff);
        // Fused add-of-automorphism equals automorphism then add.
        let mut base = random_poly(&b, limbs, seed ^ 0x55, Representation::Ntt);
        let mut want = base.clone();
        want.add_assign(&via_ntt).unwrap();
        let table = crate::automorphism::ntt_permutation(64, k).unwrap();
        base.add_automorphism_ntt_assign(&fa, &table).unwrap();
        prop_assert_eq!(base, want);
    }
}

#[test]
fn errors_name_the_problem() {
    let b = basis(16, 3);
    let a = random_poly(&b, 3, 1, Representation::Coefficient);
    let c = random_poly(&b, 2, 2, Representation::Coefficient);
    let mut x = a.clone();
    assert!(matches!(x.add_assign(&c), Err(MathError::Mismatch { .. })));
    let mut y = a.clone();
    assert!(matches!(y.mul_assign(&a), Err(MathError::Representation { expected: "NTT", .. })));
    let mut fa = a.clone();
    fa.to_ntt();
    assert!(matches!(x.add_assign(&fa), Err(MathError::Representation { .. })));
    let other = basis(32, 3);
    let d = random_poly(&other, 3, 3, Representation::Coefficient);
    assert!(matches!(x.sub_assign(&d), Err(MathError::Mismatch { .. })));
    let mut one = random_poly(&b, 1, 4, Representation::Coefficient);
    assert!(matches!(one.rescale(), Err(MathError::Level { .. })));
    assert!(matches!(a.automorphism(4), Err(MathError::InvalidGaloisElement { .. })));
    assert!(RnsPoly::zero(&b, 4, Representation::Ntt).is_err());
    assert!(RnsPoly::from_data(&b, 1, Representation::Ntt, vec![u64::MAX; 16]).is_err());
    assert!(RnsBasis::new(16, &[]).is_err());
    let q = b.modulus(0).value();
    assert!(RnsBasis::new(16, &[q, q]).is_err());
    let msg = x.add_assign(&c).unwrap_err().to_string();
    assert!(msg.contains("levels differ: 2 and 1"), "{msg}");
}

#[test]
fn drop_and_parallel_paths_agree() {
    let b = basis(1 << 12, 6);
    let a = random_poly(&b, 6, 9, Representation::Coefficient);
    let mut par = a.clone();
    par.to_ntt();
    crate::parallel::set_parallel(false);
    let mut seq = a.clone();
    seq.to_ntt();
    crate::parallel::set_parallel(true);
    assert_eq!(par, seq);
    let mut d = par.clone();
    d.drop_last_limb().unwrap();
    assert_eq!(d.limbs(), 5);
    assert_eq!(d.data(), &par.data()[..5 << 12]);
    // prefix copies exactly what clone + drop_to_limbs keeps, and refuses 0 or too many limbs.
    let mut dropped = par.clone();
    dropped.drop_to_limbs(3).unwrap();
    assert_eq!(par.prefix(3).unwrap(), dropped);
    assert_eq!(par.prefix(6).unwrap(), par);
    assert!(matches!(par.prefix(0), Err(MathError::Level { .. })));
    assert!(matches!(par.prefix(7), Err(MathError::Level { .. })));
}

#[test]
fn rescale_agrees_in_both_representations() {
    let b = basis(32, 6);
    let p = random_poly(&b, 2, 0, Representation::Coefficient);
    let mut r1 = p.clone();
    r1.rescale().unwrap();
    let mut r2 = p.clone();
    r2.to_ntt();
    let mut r3 = r2.clone();
    r3.to_coeff();
    assert_eq!(r3, p);
    r2.rescale().unwrap();
    r2.to_coeff();
    assert_eq!(r1, r2);
}

/// More source primes than one `u128` accumulator can take (the chunked path).
#[test]
fn wide_conversion_is_exact() {
    let n = 16;
    let b = basis(n, 70);
    let (from, to) = (&b.moduli()[..66], &b.moduli()[66..]);
    let conv = BasisConverter::new(from, to).unwrap();
    let p = random_poly(&b, 66, 99, Representation::Coefficient);
    let mut out = vec![0u64; to.len() * n];
    conv.convert_centered(p.data(), &mut out, n);
    for (c, x) in p.to_bigint_centered().unwrap().iter().enumerate() {
        for (j, pj) in to.iter().enumerate() {
            assert_eq!(
                BigInt::from(out[j * n + c]),
                x.mod_floor(&BigInt::from(pj.value())),
                "coefficient {c} prime {j}"
            );
        }
    }
}
