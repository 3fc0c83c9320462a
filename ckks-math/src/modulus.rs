//! Arithmetic modulo a word-sized prime.
//!
//! One type, [`Modulus`], carries a prime `q < 2^61` and the constants that make reduction
//! cheap. Why 61 bits: lazy values in `[0, 4q)` (NTT butterflies) and `[0, 8q)` fit in a `u64`
//! with room to spare, and a key-switching inner product can add up to 64 products of two
//! residues (`64 * q^2 < 2^128`) in a `u128` before it needs a reduction.
//!
//! Every operation has a strict form (inputs and output in `[0, q)`) and, where the hot loops
//! need it, a lazy form whose input and output ranges are stated and checked by
//! `debug_assert!` in test builds.

use crate::MathError;

/// Largest supported bit size of a modulus: `q < 2^MAX_MODULUS_BITS`.
pub const MAX_MODULUS_BITS: u32 = 61;

/// A prime modulus `q` with precomputed Barrett and Montgomery constants.
///
/// Barrett: `ratio = floor(2^128 / q)` split into two words, so any `u128` reduces with three
/// word products and one conditional subtraction. Montgomery: `q^-1 mod 2^64`, so a `u128`
/// below `q 2^64` reduces to `x 2^-64 mod q` with two ([`Modulus::redc`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modulus {
    q: u64,
    ratio_hi: u64,
    ratio_lo: u64,
    /// `q^-1 mod 2^64`.
    q_inv_word: u64,
}

#[inline(always)]
const fn mul_wide(a: u64, b: u64) -> u128 {
    (a as u128) * (b as u128)
}

#[inline(always)]
const fn hi(x: u128) -> u64 {
    (x >> 64) as u64
}

impl Modulus {
    /// Builds a modulus from `q`; `q` must be odd, at least 3 and below `2^61`.
    ///
    /// Primality is not checked here (it is checked by [`crate::primes`]); composite moduli are
    /// fine for everything but [`Modulus::inv`] and the NTT.
    pub fn new(q: u64) -> Result<Self, MathError> {
        if q < 3 || q.is_multiple_of(2) || q >> MAX_MODULUS_BITS != 0 {
            return Err(MathError::InvalidModulus { q, max_bits: MAX_MODULUS_BITS });
        }
        Ok(Self::new_unchecked(q))
    }

    /// [`Modulus::new`] without the range check, for constants known to be valid.
    pub const fn new_unchecked(q: u64) -> Self {
        // floor(2^128 / q) = floor((2^128 - 1) / q) because q is odd and > 1 (no exact division).
        let ratio = u128::MAX / (q as u128);
        // Newton's iteration for q^-1 mod 2^64: q q = 1 mod 8 for odd q (3 bits), and each
        // step doubles the correct bits (3, 6, 12, 24, 48, 96).
        let mut inv = q;
        let mut i = 0;
        while i < 5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(q.wrapping_mul(inv)));
            i += 1;
        }
        Self { q, ratio_hi: (ratio >> 64) as u64, ratio_lo: ratio as u64, q_inv_word: inv }
    }

    /// The modulus `q`.
    #[inline(always)]
    pub const fn value(&self) -> u64 {
        self.q
    }

    /// Number of bits of `q`.
    pub const fn bits(&self) -> u32 {
        64 - self.q.leading_zeros()
    }

    /// `a + b mod q` for `a, b` in `[0, q)`.
    #[inline(always)]
    pub const fn add(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        let s = a + b;
        if s >= self.q {
            s - self.q
        } else {
            s
        }
    }

    /// `a - b mod q` for `a, b` in `[0, q)`.
    #[inline(always)]
    pub const fn sub(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        if a >= b {
            a - b
        } else {
            a + self.q - b
        }
    }

    /// `-a mod q` for `a` in `[0, q)`.
    #[inline(always)]
    pub const fn neg(&self, a: u64) -> u64 {
        debug_assert!(a < self.q);
        if a == 0 {
            0
        } else {
            self.q - a
        }
    }

    /// Reduces any `u128` to `[0, q)` (Barrett with the 128-bit constant).
    #[inline(always)]
    pub const fn reduce_u128(&self, x: u128) -> u64 {
        let r = self.reduce_u128_lazy(x);
        if r >= self.q {
            r - self.q
        } else {
            r
        }
    }

    /// Reduces any `u128` to `[0, 2q)`.
    ///
    /// Computes the exact quotient estimate `floor(x * floor(2^128/q) / 2^128)`, which is the
    /// true quotient or one less, so `x - estimate * q` lies in `[0, 2q)`.
    #[inline(always)]
    pub const fn reduce_u128_lazy(&self, x: u128) -> u64 {
        let x0 = x as u64;
        let x1 = (x >> 64) as u64;
        // Middle column of the 256-bit product x * ratio, with carries.
        let carry = hi(mul_wide(x0, self.ratio_lo));
        let m0 = mul_wide(x0, self.ratio_hi) + carry as u128;
        let m1 = mul_wide(x1, self.ratio_lo);
        let (mid, overflow) = m0.overflowing_add(m1);
        let quot = x1.wrapping_mul(self.ratio_hi).wrapping_add(hi(mid)).wrapping_add((overflow as u64) << 32 << 32);
        let r = x0.wrapping_sub(quot.wrapping_mul(self.q));
        debug_assert!(r < 2 * self.q);
        r
    }

    /// Montgomery reduction: `x 2^-64 mod q` in `[0, q)` for `x < q 2^64` (two word
    /// products, against five for [`Modulus::reduce_u128`]).
    ///
    /// With `m = x q^-1 mod 2^64`, `x - m q` is divisible by `2^64` and its quotient
    /// `hi(x) - hi(m q)` lies in `(-q, q)`. Sums of products `sum_i y_i w_i` with one factor
    /// pre-multiplied by `2^64` ([`Modulus::to_montgomery`]) reduce this way while
    /// `sum_i y_i w_i < q 2^64`, e.g. up to `2^64 / q_max` products with `y_i < q_max`, `w_i < q`.
    #[inline(always)]
    pub const fn redc(&self, x: u128) -> u64 {
        debug_assert!(hi(x) < self.q);
        let m = (x as u64).wrapping_mul(self.q_inv_word);
        let (xh, mh) = (hi(x), hi(mul_wide(m, self.q)));
        if xh >= mh {
            xh - mh
        } else {
            xh + self.q - mh
        }
    }

    /// `a 2^64 mod q`: the Montgomery form of `a`, for products reduced by [`Modulus::redc`].
    #[inline]
    pub const fn to_montgomery(&self, a: u64) -> u64 {
        self.reduce_u128((a as u128) << 64)
    }

    /// Reduces a `u64` to `[0, q)`.
    #[inline(always)]
    pub const fn reduce(&self, x: u64) -> u64 {
        self.reduce_u128(x as u128)
    }

    /// Reduces `x` in `[0, 2q)` to `[0, q)`.
    #[inline(always)]
    pub const fn reduce_once(&self, x: u64) -> u64 {
        debug_assert!(x < 2 * self.q);
        if x >= self.q {
            x - self.q
        } else {
            x
        }
    }

    /// Reduces a signed integer to `[0, q)`.
    #[inline]
    pub const fn reduce_i64(&self, x: i64) -> u64 {
        let r = self.reduce(x.unsigned_abs());
        if x < 0 {
            self.neg(r)
        } else {
            r
        }
    }

    /// Reduces a signed 128-bit integer to `[0, q)` (encodings and constants scaled past 64
    /// bits).
    #[inline]
    pub const fn reduce_i128(&self, x: i128) -> u64 {
        let r = self.reduce_u128(x.unsigned_abs());
        if x < 0 {
            self.neg(r)
        } else {
            r
        }
    }

    /// `prod_j q_j mod q` over a list of moduli: the CRT constants of basis conversion and key
    /// switching (`P mod q_i`, `Q / q_i mod p_j`, ...). Cost: one reduction and one product per
    /// factor.
    pub fn product_of<'a>(&self, factors: impl IntoIterator<Item = &'a Modulus>) -> u64 {
        factors.into_iter().fold(1 % self.q, |acc, f| self.mul(acc, self.reduce(f.q)))
    }

    /// `a * b mod q` for `a, b` in `[0, q)`.
    #[inline(always)]
    pub const fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(mul_wide(a, b))
    }

    /// `a * b mod q` in `[0, 2q)`, for any `a, b` with `a * b < 2^128`.
    #[inline(always)]
    pub const fn mul_lazy(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128_lazy(mul_wide(a, b))
    }

    /// Shoup constant of `w` in `[0, q)`: `floor(w * 2^64 / q)`.
    #[inline]
    pub const fn shoup(&self, w: u64) -> u64 {
        debug_assert!(w < self.q);
        (((w as u128) << 64) / self.q as u128) as u64
    }

    /// The 52-bit Shoup constant of `w` in `[0, q)`, `floor(w * 2^52 / q)`: what the IFMA
    /// kernels multiply by, for `q` below `2^50` (`ntt::IFMA_PRIME_BOUND`).
    #[inline]
    pub(crate) const fn shoup52(&self, w: u64) -> u64 {
        debug_assert!(w < self.q);
        (((w as u128) << 52) / self.q as u128) as u64
    }

    /// Shoup constants of every entry of `w`.
    pub fn shoup_vec(&self, w: &[u64]) -> Vec<u64> {
        w.iter().map(|&x| self.shoup(x)).collect()
    }

    /// `x * w mod q` in `[0, 2q)` for any `x` in `[0, 2^64)` and `w` in `[0, q)` with Shoup
    /// constant `w_shoup` (Harvey's lazy product: one high and two low word products).
    #[inline(always)]
    pub const fn mul_shoup_lazy(&self, x: u64, w: u64, w_shoup: u64) -> u64 {
        let quot = hi(mul_wide(x, w_shoup));
        let r = x.wrapping_mul(w).wrapping_sub(quot.wrapping_mul(self.q));
        debug_assert!(r < 2 * self.q);
        r
    }

    /// `x * w mod q` in `[0, q)`; see [`Modulus::mul_shoup_lazy`].
    #[inline(always)]
    pub const fn mul_shoup(&self, x: u64, w: u64, w_shoup: u64) -> u64 {
        self.reduce_once(self.mul_shoup_lazy(x, w, w_shoup))
    }

    /// `a^e mod q` for `a` in `[0, q)` (square and multiply).
    pub const fn pow(&self, a: u64, mut e: u64) -> u64 {
        let mut base = a;
        let mut acc = 1 % self.q;
        while e > 0 {
            if e & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            e >>= 1;
        }
        acc
    }

    /// `a^-1 mod q` for prime `q` (Fermat), or `None` when `a = 0 mod q`.
    pub const fn inv(&self, a: u64) -> Option<u64> {
        let a = self.reduce(a);
        if a == 0 {
            None
        } else {
            Some(self.pow(a, self.q - 2))
        }
    }

    /// Centered representative of `a` in `[0, q)`: the integer in `(-q/2, q/2]` congruent to `a`.
    #[inline]
    pub const fn center(&self, a: u64) -> i64 {
        debug_assert!(a < self.q);
        if a > self.q / 2 {
            -((self.q - a) as i64)
        } else {
            a as i64
        }
    }

    /// In-place `a[i] = a[i] + b[i] mod q` over slices of equal length, values in `[0, q)`.
    #[inline]
    pub fn add_vec(&self, a: &mut [u64], b: &[u64]) {
        debug_assert_eq!(a.len(), b.len());
        a.iter_mut().zip(b).for_each(|(x, &y)| *x = self.add(*x, y));
    }

    /// In-place `a[i] = a[i] - b[i] mod q`.
    #[inline]
    pub fn sub_vec(&self, a: &mut [u64], b: &[u64]) {
        debug_assert_eq!(a.len(), b.len());
        a.iter_mut().zip(b).for_each(|(x, &y)| *x = self.sub(*x, y));
    }

    /// In-place `a[i] = -a[i] mod q`.
    #[inline]
    pub fn neg_vec(&self, a: &mut [u64]) {
        a.iter_mut().for_each(|x| *x = self.neg(*x));
    }

    /// In-place `a[i] = a[i] * b[i] mod q`.
    #[inline]
    pub fn mul_vec(&self, a: &mut [u64], b: &[u64]) {
        debug_assert_eq!(a.len(), b.len());
        a.iter_mut().zip(b).for_each(|(x, &y)| *x = self.mul(*x, y));
    }

    /// In-place `a[i] = a[i] * w mod q` for a scalar `w` in `[0, q)` (Shoup).
    #[inline]
    pub fn mul_scalar_vec(&self, a: &mut [u64], w: u64) {
        let ws = self.shoup(w);
        a.iter_mut().for_each(|x| *x = self.mul_shoup(*x, w, ws));
    }

    /// In-place `a[i] = a[i] * b[i] mod q` where `b_shoup` holds the Shoup constants of `b`.
    #[inline]
    pub fn mul_shoup_vec(&self, a: &mut [u64], b: &[u64], b_shoup: &[u64]) {
        debug_assert!(a.len() == b.len() && b.len() == b_shoup.len());
        a.iter_mut().zip(b.iter().zip(b_shoup)).for_each(|(x, (&w, &ws))| *x = self.mul_shoup(*x, w, ws));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;
    use proptest::prelude::*;

    const PRIMES: [u64; 4] = [
        // 61, 60, 50 and 30-bit NTT primes, plus small ones, cover the range.
        0x1fff_ffff_ffe0_0001,
        1_152_921_504_606_584_833,
        1_125_899_906_826_241,
        1_073_479_681,
    ];

    fn any_modulus() -> impl Strategy<Value = Modulus> {
        prop_oneof![
            prop::sample::select(PRIMES.to_vec()),
            (3u64..(1 << 61)).prop_map(|q| q | 1),
            (3u64..1000).prop_map(|q| q | 1),
        ]
        .prop_map(|q| Modulus::new(q).unwrap())
    }

    fn modulus_and_two() -> impl Strategy<Value = (Modulus, u64, u64)> {
        any_modulus().prop_flat_map(|m| {
            let q = m.value();
            let edge = prop_oneof![Just(0u64), Just(q - 1), Just(1), 0..q];
            (Just(m), edge.clone(), edge)
        })
    }

    #[test]
    fn rejects_bad_moduli() {
        for q in [0, 1, 2, 4, 1 << 61, u64::MAX] {
            assert!(Modulus::new(q).is_err(), "q = {q}");
        }
        assert!(Modulus::new((1 << 61) - 1).is_ok());
    }

    proptest! {
        /// `redc` of `a * to_montgomery(b)` is `a b mod q`, and of any `x < q 2^64` it is
        /// `x 2^-64 mod q`, checked against big integers.
        #[test]
        fn montgomery_reduction_matches_bigint((m, a, b) in modulus_and_two(), lo in any::<u64>(), hi_frac in 0.0..1.0f64) {
            let q = m.value();
            prop_assert_eq!(m.redc(a as u128 * m.to_montgomery(b) as u128) as u128, a as u128 * b as u128 % q as u128);
            let x = (((q - 1) as f64 * hi_frac) as u128) << 64 | lo as u128;
            let r = m.redc(x);
            prop_assert!(r < q);
            let two64 = BigUint::from(1u8) << 64;
            prop_assert_eq!((BigUint::from(r) * two64) % q, BigUint::from(x) % q);
        }

        #[test]
        fn add_sub_neg_match_u128((m, a, b) in modulus_and_two()) {
            let q = m.value() as u128;
            prop_assert_eq!(m.add(a, b) as u128, (a as u128 + b as u128) % q);
            prop_assert_eq!(m.sub(a, b) as u128, (a as u128 + q - b as u128) % q);
            prop_assert_eq!(m.neg(a) as u128, (q - a as u128) % q);
        }

        #[test]
        fn mul_matches_u128((m, a, b) in modulus_and_two()) {
            let q = m.value() as u128;
            let want = (a as u128 * b as u128) % q;
            prop_assert_eq!(m.mul(a, b) as u128, want);
            let lazy = m.mul_lazy(a, b) as u128;
            prop_assert!(lazy < 2 * q && lazy % q == want);
        }

        #[test]
        fn reduce_u128_any_input(m in any_modulus(), x in any::<u128>()) {
            let q = m.value() as u128;
            prop_assert_eq!(m.reduce_u128(x) as u128, x % q);
            let lazy = m.reduce_u128_lazy(x) as u128;
            prop_assert!(lazy < 2 * q && lazy % q == x % q);
        }

        #[test]
        fn reduce_u128_edges(m in any_modulus()) {
            let q = m.value() as u128;
            for x in [0, 1, q - 1, q, q + 1, q * q - 1, q * q, u128::MAX, u128::MAX - q, 1u128 << 127] {
                prop_assert_eq!(m.reduce_u128(x) as u128, x % q);
            }
        }

        #[test]
        fn reduce_i64_matches(m in any_modulus(), x in any::<i64>()) {
            let q = m.value() as i128;
            prop_assert_eq!(m.reduce_i64(x) as i128, (x as i128).rem_euclid(q));
        }

        #[test]
        fn product_of_matches_bigint(m in any_modulus(), fs in prop::collection::vec(any_modulus(), 0..6)) {
            let want = fs.iter().fold(BigUint::from(1u32), |acc, f| acc * f.value()) % m.value();
            prop_assert_eq!(BigUint::from(m.product_of(&fs)), want);
        }

        #[test]
        fn reduce_i128_matches(m in any_modulus(), x in any::<i128>()) {
            let q = m.value() as i128;
            prop_assert_eq!(m.reduce_i128(x) as i128, x.rem_euclid(q));
        }

        #[test]
        fn shoup_matches_mul((m, a, w) in modulus_and_two(), x in any::<u64>()) {
            let q = m.value() as u128;
            let ws = m.shoup(w);
            prop_assert_eq!(m.mul_shoup(a, w, ws), m.mul(a, w));
            // The lazy form takes any 64-bit x and stays in [0, 2q).
            let lazy = m.mul_shoup_lazy(x, w, ws) as u128;
            prop_assert!(lazy < 2 * q);
            prop_assert_eq!(lazy % q, (x as u128 * w as u128) % q);
        }

        #[test]
        fn pow_and_inv_match_bigint((m, a, _b) in modulus_and_two(), e in any::<u64>()) {
            let q = BigUint::from(m.value());
            let want = BigUint::from(a).modpow(&BigUint::from(e), &q);
            prop_assert_eq!(BigUint::from(m.pow(a, e)), want);
        }

        #[test]
        fn inverse_of_prime_modulus(q in prop::sample::select(PRIMES.to_vec()), a in 1u64..u64::MAX) {
            let m = Modulus::new(q).unwrap();
            let a = m.reduce(a);
            prop_assume!(a != 0);
            let inv = m.inv(a).unwrap();
            prop_assert_eq!(m.mul(a, inv), 1);
        }

        #[test]
        fn center_is_congruent_and_small((m, a, _b) in modulus_and_two()) {
            let c = m.center(a);
            let q = m.value() as i128;
            prop_assert!((c as i128).abs() <= q / 2);
            prop_assert_eq!((c as i128).rem_euclid(q), a as i128);
        }
    }

    #[test]
    fn inverse_of_zero_is_none() {
        let m = Modulus::new(PRIMES[0]).unwrap();
        assert_eq!(m.inv(0), None);
        assert_eq!(m.inv(m.value()), None);
    }
}
