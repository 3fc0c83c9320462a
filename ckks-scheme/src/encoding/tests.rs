//! Property tests of the encoder against the definition in the module documentation, on plain
//! `f64` coefficient vectors: naive evaluation at the roots, the product property, rotations and
//! conjugation by automorphisms.

use super::*;
use crate::Complex;
use proptest::collection::vec;
use proptest::prelude::*;
use std::f64::consts::PI;

/// `X -> X^g` on a real coefficient vector of `R[X]/(X^N + 1)`, `g` odd: `X^i` goes to
/// `X^(i g mod 2N)`, negated when that exponent is `>= N`.
fn automorphism(coeffs: &[f64], g: usize) -> Vec<f64> {
    let n = coeffs.len();
    let mut out = vec![0.0; n];
    for (i, &c) in coeffs.iter().enumerate() {
        let e = (i * g) % (2 * n);
        if e < n {
            out[e] += c;
        } else {
            out[e - n] -= c;
        }
    }
    out
}

/// `m(zeta^e)` with `zeta = e^(i pi / N)`, straight from the definition: `O(N)`, each power of
/// `zeta` from its own angle.
fn eval_at(coeffs: &[f64], e: usize) -> Complex {
    let n = coeffs.len();
    coeffs.iter().enumerate().fold(Complex::ZERO, |acc, (i, &c)| {
        let k = (e * i) % (2 * n);
        acc + Complex::from_polar(c, PI * k as f64 / n as f64)
    })
}

/// `5^j mod 2N`.
fn five_pow(j: usize, n: usize) -> usize {
    (0..j).fold(1, |acc, _| acc * 5 % (2 * n))
}

/// The reference decoder: `z_j = m(zeta^(5^j mod 2N))`, `O(N * slots)`.
fn naive_decode(coeffs: &[f64], slots: usize) -> Vec<Complex> {
    let n = coeffs.len();
    (0..slots).map(|j| eval_at(coeffs, five_pow(j, n))).collect()
}

/// Product in `R[X]/(X^N + 1)` by the schoolbook rule, `O(N^2)`.
fn negacyclic_mul(a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = a.len();
    let mut out = vec![0.0; n];
    for i in 0..n {
        for j in 0..n {
            if i + j < n {
                out[i + j] += a[i] * b[j];
            } else {
                out[i + j - n] -= a[i] * b[j];
            }
        }
    }
    out
}

fn max_err(a: &[Complex], b: &[Complex]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (*x - *y).norm()).fold(0.0, f64::max)
}

/// `(N, slots)` with `N = 2^4..=2^max_log_n` and any slot count `1..=N/2`.
fn dims(max_log_n: u32) -> impl Strategy<Value = (usize, usize)> {
    (4..=max_log_n).prop_flat_map(|log_n| (Just(1usize << log_n), (0..log_n).prop_map(|s| 1 << s)))
}

/// A complex number in the closed unit disk.
fn unit_complex() -> impl Strategy<Value = Complex> {
    (0.0..=1.0f64, -PI..PI).prop_map(|(r, t)| Complex::from_polar(r, t))
}

/// An encoder and a message of its slot count.
fn message(max_log_n: u32) -> impl Strategy<Value = (SpecialFft, Vec<Complex>)> {
    dims(max_log_n).prop_flat_map(|(n, slots)| (Just(SpecialFft::new(n, slots).unwrap()), vec(unit_complex(), slots)))
}

proptest! {
    #[test]
    fn round_trip((fft, z) in message(12)) {
        let m = fft.encode_coeffs(&z).unwrap();
        prop_assert_eq!(m.len(), fft.degree());
        // Outside the subring the coefficients are exactly zero.
        prop_assert!(m.iter().enumerate().all(|(i, &c)| i % fft.gap() == 0 || c == 0.0));
        let back = fft.decode_coeffs(&m).unwrap();
        prop_assert!(max_err(&z, &back) < 1e-9, "error {}", max_err(&z, &back));
        // The in-place pair is the same round trip.
        let mut w = z.clone();
        fft.special_ifft(&mut w).unwrap();
        fft.special_fft(&mut w).unwrap();
        prop_assert!(max_err(&z, &w) < 1e-9);
    }

    #[test]
    fn encode_matches_definition((fft, z) in message(10)) {
        let m = fft.encode_coeffs(&z).unwrap();
        let reference = naive_decode(&m, fft.slots());
        prop_assert!(max_err(&z, &reference) < 1e-9, "error {}", max_err(&z, &reference));
    }

    #[test]
    fn decode_matches_definition(
        (fft, sub) in dims(10).prop_flat_map(|(n, s)| {
            (Just(SpecialFft::new(n, s).unwrap()), vec(-1.0..1.0f64, 2 * s))
        })
    ) {
        // A random real polynomial of the subring R[X^gap].
        let mut m = vec![0.0; fft.degree()];
        for (t, &c) in sub.iter().enumerate() {
            m[t * fft.gap()] = c;
        }
        let z = fft.decode_coeffs(&m).unwrap();
        let reference = naive_decode(&m, fft.slots());
        prop_assert!(max_err(&z, &reference) < 1e-9, "error {}", max_err(&z, &reference));
    }

    #[test]
    fn coefficients_outside_the_subring_are_ignored(
        (fft, z, noise) in dims(10).prop_flat_map(|(n, s)| {
            (Just(SpecialFft::new(n, s).unwrap()), vec(unit_complex(), s), vec(-1.0..1.0f64, n))
        })
    ) {
        let m = fft.encode_coeffs(&z).unwrap();
        let noisy: Vec<f64> = m
            .iter()
            .zip(&noise)
            .enumerate()
            .map(|(i, (&c, &e))| if i % fft.gap() == 0 { c } else { e })
            .collect();
        prop_assert_eq!(fft.decode_coeffs(&m).unwrap(), fft.decode_coeffs(&noisy).unwrap());
    }

    #[test]
    fn real_messages_are_fixed_by_conjugation(
        (fft, x) in dims(12).prop_flat_map(|(n, s)| {
            (Just(SpecialFft::new(n, s).unwrap()), vec(-1.0..1.0f64, s))
        })
    ) {
        let z: Vec<Complex> = x.iter().map(|&v| Complex::from(v)).collect();
        let m = fft.encode_coeffs(&z).unwrap();
        let conj = automorphism(&m, fft.conjugation_galois_element());
        let back = fft.decode_coeffs(&conj).unwrap();
        prop_assert!(max_err(&z, &back) < 1e-9);
        prop_assert!(back.iter().all(|v| v.im.abs() < 1e-9));
    }

    #[test]
    fn encoding_is_real_linear(
        (fft, x, y) in message(12).prop_flat_map(|(fft, x)| {
            let s = fft.slots();
            (Just(fft), Just(x), vec(unit_complex(), s))
        }),
        a in -2.0..2.0f64,
        b in -2.0..2.0f64,
    ) {
        let combo: Vec<Complex> = x.iter().zip(&y).map(|(&u, &v)| u * a + v * b).collect();
        let lhs = fft.encode_coeffs(&combo).unwrap();
        let (mx, my) = (fft.encode_coeffs(&x).unwrap(), fft.encode_coeffs(&y).unwrap());
        for i in 0..fft.degree() {
            prop_assert!((lhs[i] - (a * mx[i] + b * my[i])).abs() < 1e-12);
        }
    }

    #[test]
    fn rotation_by_five_to_the_k((fft, z) in message(12), k in 0usize..4096) {
        let slots = fft.slots();
        let m = fft.encode_coeffs(&z).unwrap();
        let rotated = fft.decode_coeffs(&automorphism(&m, fft.rotation_galois_element(k))).unwrap();
        let expected: Vec<Complex> = (0..slots).map(|j| z[(j + k) % slots]).collect();
        prop_assert!(max_err(&rotated, &expected) < 1e-9);
        // The unreduced element 5^k mod 2N acts the same on the subring.
        let unreduced = five_pow(k % (fft.degree() / 2), fft.degree());
        let rotated2 = fft.decode_coeffs(&automorphism(&m, unreduced)).unwrap();
        prop_assert!(max_err(&rotated2, &expected) < 1e-9);
    }

    #[test]
    fn conjugation((fft, z) in message(12)) {
        let m = fft.encode_coeffs(&z).unwrap();
        let conj = fft.decode_coeffs(&automorphism(&m, fft.conjugation_galois_element())).unwrap();
        let expected: Vec<Complex> = z.iter().map(|v| v.conj()).collect();
        prop_assert!(max_err(&conj, &expected) < 1e-9);
    }

    #[test]
    fn scaled_round_trip((fft, z) in message(12)) {
        let scale = 2f64.powi(40);
        let m = fft.encode_coeffs(&z).unwrap();
        let ints = scale_round(&m, scale, MAX_ROUND_BOUND).unwrap();
        let back = fft.decode_coeffs(&unscale(&ints, scale)).unwrap();
        // Each slot sums at most N rounding errors of 1/2.
        let bound = fft.degree() as f64 * 0.5 / scale;
        prop_assert!(max_err(&z, &back) <= bound, "{} > {}", max_err(&z, &back), bound);
    }
}

proptest! {
    // O(N^2) reference product: fewer, smaller cases.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn product_is_slotwise((fft, x, y) in message(9).prop_flat_map(|(fft, x)| {
        let s = fft.slots();
        (Just(fft), Just(x), vec(unit_complex(), s))
    })) {
        let prod = negacyclic_mul(&fft.encode_coeffs(&x).unwrap(), &fft.encode_coeffs(&y).unwrap());
        let z = fft.decode_coeffs(&prod).unwrap();
        let expected: Vec<Complex> = x.iter().zip(&y).map(|(&u, &v)| u * v).collect();
        prop_assert!(max_err(&z, &expected) < 1e-6 * expected.iter().map(|v| v.norm()).fold(1.0, f64::max));
    }
}

/// Deterministic pseudo-random unit-disk message (no RNG dependency needed).
fn lcg_message(len: usize, seed: u64) -> Vec<Complex> {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..len).map(|_| Complex::from_polar(next(), 2.0 * PI * next())).collect()
}

#[test]
fn largest_degree_full_and_sparse() {
    let n = MAX_DEGREE;
    for slots in [n / 2, 1 << 10, 1] {
        let fft = SpecialFft::new(n, slots).unwrap();
        let z = lcg_message(slots, slots as u64);
        let m = fft.encode_coeffs(&z).unwrap();
        let back = fft.decode_coeffs(&m).unwrap();
        assert!(max_err(&z, &back) < 1e-9, "slots {slots}: {}", max_err(&z, &back));
        // A few slots against the definition (O(N) each).
        for j in [0, slots / 2, slots - 1] {
            let e = eval_at(&m, five_pow(j, n));
            assert!((e - z[j]).norm() < 1e-9, "slot {j}: {e:?} vs {:?}", z[j]);
        }
    }
}

#[test]
fn smallest_degree() {
    // N = 2, one slot: m = a + bX, z_0 = m(i) = a + bi.
    let fft = SpecialFft::new(2, 1).unwrap();
    let m = fft.encode_coeffs(&[Complex::new(3.0, -4.0)]).unwrap();
    assert_eq!(m, vec![3.0, -4.0]);
    assert_eq!(fft.decode_coeffs(&m).unwrap(), vec![Complex::new(3.0, -4.0)]);
}

#[test]
fn rejects_bad_dimensions_and_inputs() {
    for (n, slots) in [(0, 1), (1, 1), (3, 1), (24, 4), (16, 0), (16, 3), (16, 16), (1 << 18, 1)] {
        assert_eq!(SpecialFft::new(n, slots).unwrap_err(), EncodingError::InvalidDimensions { n, slots });
    }
    let fft = SpecialFft::new(16, 4).unwrap();
    assert_eq!(fft.encode_coeffs(&[Complex::ONE; 3]), Err(EncodingError::WrongSlotCount { expected: 4, found: 3 }));
    assert_eq!(fft.special_fft(&mut [Complex::ONE; 8]), Err(EncodingError::WrongSlotCount { expected: 4, found: 8 }));
    assert_eq!(fft.decode_coeffs(&[0.0; 8]), Err(EncodingError::WrongCoefficientCount { expected: 16, found: 8 }));
    let mut z = [Complex::ONE; 4];
    z[2].im = f64::INFINITY;
    assert_eq!(fft.encode_coeffs(&z), Err(EncodingError::NonFinite { input: "slot value", index: 2 }));
    let mut m = [0.0; 16];
    m[1] = f64::NAN; // outside the subring (gap = 2): ignored
    assert!(fft.decode_coeffs(&m).is_ok());
    m[10] = f64::NAN;
    assert_eq!(fft.decode_coeffs(&m), Err(EncodingError::NonFinite { input: "coefficient", index: 10 }));
    let msg = EncodingError::InvalidDimensions { n: 24, slots: 4 }.to_string();
    assert!(msg.contains("N = 24") && msg.contains("4 slots"), "{msg}");
}

#[test]
fn galois_elements() {
    let fft = SpecialFft::new(64, 8).unwrap();
    assert_eq!(fft.rotation_galois_element(0), 1);
    assert_eq!(fft.rotation_galois_element(1), 5);
    assert_eq!(fft.rotation_galois_element(3), 125);
    assert_eq!(fft.rotation_galois_element(9), 5); // reduced mod slots
    assert_eq!(fft.conjugation_galois_element(), 127);
}
