//! Negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`.
//!
//! # Ordering convention
//! Let `psi` be the primitive `2N`-th root of unity chosen by [`NttTable::new`] and `brv` the
//! bit reversal on `log2(N)` bits. For input coefficients `a_0..a_{N-1}` (natural order), the
//! forward transform writes
//!
//! ```text
//! A[j] = a(psi^(2*brv(j) + 1)) = sum_i a_i * psi^((2*brv(j) + 1) * i)      (mod q)
//! ```
//!
//! i.e. evaluations at the odd powers of `psi`, in bit-reversed order. The automorphism
//! `X -> X^k` therefore permutes NTT slots: slot `j` of `a(X^k)` is slot `j'` of `a` with
//! `2*brv(j') + 1 = k * (2*brv(j) + 1) mod 2N` (see [`crate::automorphism`]).
//!
//! # Algorithm
//! Forward: Cooley-Tukey with Harvey's lazy butterflies; twiddles `psi^brv(i)` with Shoup
//! constants in bit-reversed order, values kept in `[0, 4q)` between layers. Inverse:
//! Gentleman-Sande with twiddles `psi^-brv(i)`, values in `[0, 2q)`, and `N^-1` merged into
//! the last layer. Cost: `(N/2) log2 N` butterflies, each one Shoup product.

use crate::{MathError, Modulus};

/// Smallest supported ring degree.
pub const MIN_DEGREE: usize = 1 << 1;
/// Largest supported ring degree.
pub const MAX_DEGREE: usize = 1 << 17;

/// Precomputed tables for the negacyclic NTT of one prime and one degree.
#[derive(Clone, Debug)]
pub struct NttTable {
    modulus: Modulus,
    n: usize,
    psi: u64,
    /// `psi^brv(i)` for `i` in `0..n` (entry 0 unused).
    fwd: Vec<u64>,
    fwd_shoup: Vec<u64>,
    /// `psi^-brv(i)` for `i` in `0..n` (entry 0 unused).
    inv: Vec<u64>,
    inv_shoup: Vec<u64>,
    /// `N^-1` and `N^-1 * psi^-brv(1)` for the merged last inverse layer.
    n_inv: u64,
    n_inv_shoup: u64,
    n_inv_w: u64,
    n_inv_w_shoup: u64,
}

/// Bit reversal of the low `bits` bits of `x`.
#[inline]
pub const fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

impl NttTable {
    /// Builds the tables for prime `q = 1 mod 2n` and power-of-two `n` in
    /// [`MIN_DEGREE`]`..=`[`MAX_DEGREE`].
    ///
    /// `psi` is the smallest primitive `2n`-th root of unity of the form `g^((q-1)/2n)` for
    /// `g = 2, 3, ...`, so the tables are deterministic.
    pub fn new(modulus: Modulus, n: usize) -> Result<Self, MathError> {
        if !n.is_power_of_two() || !(MIN_DEGREE..=MAX_DEGREE).contains(&n) {
            return Err(MathError::InvalidDegree { n, min: MIN_DEGREE, max: MAX_DEGREE });
        }
        let q = modulus.value();
        let two_n = 2 * n as u64;
        if (q - 1) % two_n != 0 || !crate::primes::is_prime(q) {
            return Err(MathError::NotNttFriendly { q, n, two_n: 2 * n });
        }
        let psi = (2..q)
            .map(|g| modulus.pow(g, (q - 1) / two_n))
            .find(|&r| modulus.pow(r, n as u64) == q - 1)
            .expect("a prime q = 1 mod 2n has a primitive 2n-th root");
        let psi_inv = modulus.inv(psi).expect("psi is a unit");
        let log_n = n.trailing_zeros();
        let powers = |root: u64| {
            let mut pw = vec![0u64; n];
            let mut acc = 1u64;
            let mut natural = Vec::with_capacity(n);
            for _ in 0..n {
                natural.push(acc);
                acc = modulus.mul(acc, root);
            }
            for (i, p) in pw.iter_mut().enumerate() {
                *p = natural[bit_reverse(i, log_n)];
            }
            pw
        };
        let fwd = powers(psi);
        let inv = powers(psi_inv);
        let n_inv = modulus.inv(n as u64 % q).expect("n is a unit");
        let n_inv_w = if n > 1 { modulus.mul(n_inv, inv[1]) } else { n_inv };
        Ok(Self {
            fwd_shoup: modulus.shoup_vec(&fwd),
            inv_shoup: modulus.shoup_vec(&inv),
            fwd,
            inv,
            n_inv,
            n_inv_shoup: modulus.shoup(n_inv),
            n_inv_w,
            n_inv_w_shoup: modulus.shoup(n_inv_w),
            modulus,
            n,
            psi,
        })
    }

    /// The modulus.
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// The ring degree `N`.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The primitive `2N`-th root of unity `psi` the transform evaluates at.
    pub fn psi(&self) -> u64 {
        self.psi
    }

    /// Forward transform in place; input in `[0, 4q)`, output in `[0, q)`.
    pub fn forward(&self, a: &mut [u64]) {
        self.forward_lazy(a);
        let q = self.modulus.value();
        let two_q = 2 * q;
        for x in a.iter_mut() {
            let mut v = *x;
            if v >= two_q {
                v -= two_q;
            }
            if v >= q {
                v -= q;
            }
            *x = v;
        }
    }

    /// Forward transform in place; input in `[0, 4q)`, output in `[0, 4q)`.
    pub fn forward_lazy(&self, a: &mut [u64]) {
        assert_eq!(a.len(), self.n, "NTT input length must equal the degree");
        let q = self.modulus.value();
        let two_q = 2 * q;
        debug_assert!(a.iter().all(|&x| x < 4 * q));
        let n = self.n;
        let mut m = 1;
        let mut t = n;
        while m < n {
            t >>= 1;
            if t == 1 {
                // Last layer: butterflies on adjacent pairs, one twiddle each.
                for (i, pair) in a.chunks_exact_mut(2).enumerate() {
                    let (w, ws) = (self.fwd[m + i], self.fwd_shoup[m + i]);
                    let mut x = pair[0];
                    if x >= two_q {
                        x -= two_q;
                    }
                    let tt = self.modulus.mul_shoup_lazy(pair[1], w, ws);
                    pair[0] = x + tt;
                    pair[1] = x + two_q - tt;
                }
            } else {
                for (i, block) in a.chunks_exact_mut(2 * t).enumerate() {
                    let (w, ws) = (self.fwd[m + i], self.fwd_shoup[m + i]);
                    let (lo, hi) = block.split_at_mut(t);
                    for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                        let mut u = *x;
                        if u >= two_q {
                            u -= two_q;
                        }
                        let v = self.modulus.mul_shoup_lazy(*y, w, ws);
                        *x = u + v;
                        *y = u + two_q - v;
                    }
                }
            }
            m <<= 1;
        }
    }

    /// Inverse transform in place; input in `[0, 2q)`, output in `[0, q)`.
    pub fn inverse(&self, a: &mut [u64]) {
        self.inverse_lazy(a);
        let q = self.modulus.value();
        for x in a.iter_mut() {
            if *x >= q {
                *x -= q;
            }
        }
    }

    /// Inverse transform in place; input in `[0, 2q)`, output in `[0, 2q)`.
    pub fn inverse_lazy(&self, a: &mut [u64]) {
        assert_eq!(a.len(), self.n, "NTT input length must equal the degree");
        let q = self.modulus.value();
        let two_q = 2 * q;
        debug_assert!(a.iter().all(|&x| x < two_q));
        let n = self.n;
        let modulus = &self.modulus;
        let mut t = 1;
        let mut h = n / 2;
        // All layers but the last; the last merges the multiplication by N^-1.
        while h > 1 {
            if t == 1 {
                for (i, pair) in a.chunks_exact_mut(2).enumerate() {
                    let (w, ws) = (self.inv[h + i], self.inv_shoup[h + i]);
                    let (u, v) = (pair[0], pair[1]);
                    let mut s = u + v;
                    if s >= two_q {
                        s -= two_q;
                    }
                    pair[0] = s;
                    pair[1] = modulus.mul_shoup_lazy(u + two_q - v, w, ws);
                }
            } else {
                for (i, block) in a.chunks_exact_mut(2 * t).enumerate() {
                    let (w, ws) = (self.inv[h + i], self.inv_shoup[h + i]);
                    let (lo, hi) = block.split_at_mut(t);
                    for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                        let (u, v) = (*x, *y);
                        let mut s = u + v;
                        if s >= two_q {
                            s -= two_q;
                        }
                        *x = s;
                        *y = modulus.mul_shoup_lazy(u + two_q - v, w, ws);
                    }
                }
            }
            t <<= 1;
            h >>= 1;
        }
        if n == 1 {
            return;
        }
        let (lo, hi) = a.split_at_mut(n / 2);
        for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
            let (u, v) = (*x, *y);
            *x = modulus.mul_shoup_lazy(u + v, self.n_inv, self.n_inv_shoup);
            *y = modulus.mul_shoup_lazy(u + two_q - v, self.n_inv_w, self.n_inv_w_shoup);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;
    use proptest::prelude::*;

    /// Naive negacyclic product in `Z_q[X]/(X^n + 1)`.
    pub(crate) fn negacyclic_mul(m: &Modulus, a: &[u64], b: &[u64]) -> Vec<u64> {
        let n = a.len();
        let mut c = vec![0u64; n];
        for i in 0..n {
            for j in 0..n {
                let p = m.mul(a[i], b[j]);
                let k = i + j;
                if k < n {
                    c[k] = m.add(c[k], p);
                } else {
                    c[k - n] = m.sub(c[k - n], p);
                }
            }
        }
        c
    }

    fn table_strategy(max_log_n: u32) -> impl Strategy<Value = NttTable> {
        (1u32..=max_log_n, prop::sample::select(vec![20u32, 30, 40, 50, 59, 60, 61]), 0usize..4).prop_map(
            |(log_n, bits, idx)| {
                let n = 1usize << log_n;
                let q = ntt_primes(bits, 2 * n as u64, idx + 1, &[]).unwrap()[idx];
                NttTable::new(Modulus::new(q).unwrap(), n).unwrap()
            },
        )
    }

    fn poly(table: &NttTable) -> impl Strategy<Value = Vec<u64>> {
        let q = table.modulus().value();
        prop::collection::vec(prop_oneof![Just(0), Just(q - 1), 0..q], table.degree())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip((table, a) in table_strategy(12).prop_flat_map(|t| { let p = poly(&t); (Just(t), p) })) {
            let mut b = a.clone();
            table.forward(&mut b);
            prop_assert!(b.iter().all(|&x| x < table.modulus().value()));
            table.inverse(&mut b);
            prop_assert_eq!(b, a);
        }

        #[test]
        fn lazy_ranges_hold((table, a) in table_strategy(10).prop_flat_map(|t| { let p = poly(&t); (Just(t), p) })) {
            let q = table.modulus().value();
            // Inputs anywhere in [0, 4q) are accepted by the forward transform.
            let mut b: Vec<u64> = a.iter().enumerate().map(|(i, &x)| x + (i as u64 % 4) * q).collect();
            table.forward_lazy(&mut b);
            prop_assert!(b.iter().all(|&x| x < 4 * q));
            let mut strict = a.clone();
            table.forward(&mut strict);
            prop_assert!(b.iter().zip(&strict).all(|(&x, &y)| x % q == y));
            let mut c: Vec<u64> = strict.iter().enumerate().map(|(i, &x)| x + (i as u64 % 2) * q).collect();
            table.inverse_lazy(&mut c);
            prop_assert!(c.iter().all(|&x| x < 2 * q));
            prop_assert!(c.iter().zip(&a).all(|(&x, &y)| x % q == y));
        }

        #[test]
        fn product_matches_naive_convolution((table, a, b) in table_strategy(7).prop_flat_map(|t| { let (p1, p2) = (poly(&t), poly(&t)); (Just(t), p1, p2) })) {
            let m = *table.modulus();
            let want = negacyclic_mul(&m, &a, &b);
            let (mut fa, mut fb) = (a.clone(), b.clone());
            table.forward(&mut fa);
            table.forward(&mut fb);
            m.mul_vec(&mut fa, &fb);
            table.inverse(&mut fa);
            prop_assert_eq!(fa, want);
        }

        #[test]
        fn slot_j_is_evaluation_at_odd_power((table, a) in table_strategy(6).prop_flat_map(|t| { let p = poly(&t); (Just(t), p) })) {
            let m = *table.modulus();
            let n = table.degree();
            let mut fa = a.clone();
            table.forward(&mut fa);
            for j in 0..n {
                let x = m.pow(table.psi(), (2 * bit_reverse(j, n.trailing_zeros()) + 1) as u64);
                let eval = a.iter().rev().fold(0u64, |acc, &c| m.add(m.mul(acc, x), c));
                prop_assert_eq!(fa[j], eval);
            }
        }
    }

    #[test]
    fn all_supported_sizes_round_trip() {
        for log_n in 1..=17 {
            let n = 1usize << log_n;
            let q = ntt_primes(60, 2 * n as u64, 1, &[]).unwrap()[0];
            let t = NttTable::new(Modulus::new(q).unwrap(), n).unwrap();
            let a: Vec<u64> = (0..n as u64).map(|i| (i * 0x9e37_79b9_7f4a_7c15) % q).collect();
            let mut b = a.clone();
            t.forward(&mut b);
            t.inverse(&mut b);
            assert_eq!(a, b, "n = {n}");
        }
    }

    #[test]
    fn rejects_bad_inputs() {
        let q = ntt_primes(40, 1 << 11, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        assert!(matches!(NttTable::new(m, 3), Err(MathError::InvalidDegree { .. })));
        assert!(matches!(NttTable::new(m, 1 << 18), Err(MathError::InvalidDegree { .. })));
        // q = 1 mod 2^11 but not mod 2^13.
        if q % (1 << 13) != 1 {
            assert!(matches!(NttTable::new(m, 1 << 12), Err(MathError::NotNttFriendly { .. })));
        }
        // 21 = 1 mod 4 but is composite.
        let composite = Modulus::new(21).unwrap();
        assert!(matches!(NttTable::new(composite, 2), Err(MathError::NotNttFriendly { .. })));
    }
}
