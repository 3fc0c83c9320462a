//! Primality testing and generation of NTT-friendly primes.

use crate::{MathError, Modulus, MAX_MODULUS_BITS};

/// Smallest supported bit size for generated primes.
pub const MIN_PRIME_BITS: u32 = 10;

/// Deterministic Miller-Rabin for 64-bit integers.
///
/// The bases 2, 3, 5, ..., 37 are a proven witness set for every `n < 3.3 * 10^24`.
pub fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let mut d = n - 1;
    let s = d.trailing_zeros();
    d >>= s;
    let mulmod = |a: u64, b: u64| ((a as u128 * b as u128) % n as u128) as u64;
    let powmod = |mut b: u64, mut e: u64| {
        let mut acc = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                acc = mulmod(acc, b);
            }
            b = mulmod(b, b);
            e >>= 1;
        }
        acc
    };
    'witness: for a in BASES {
        let mut x = powmod(a, d);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mulmod(x, x);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// `count` distinct primes `q = 1 mod two_n` of exactly `bits` bits, as close to `2^bits` as
/// possible, skipping any in `exclude`.
///
/// The search walks the candidates `2^bits + 1 + k * two_n` outwards from `2^bits`, taking the
/// one above and the one below in turn; candidates with more or fewer than `bits` bits are
/// skipped. Staying close to `2^bits` matters for CKKS: a rescale by `q` divides the scale by
/// `q`, so scaling primes near `2^bits` keep the scale near `2^bits`.
///
/// The result is deterministic and sorted in order of discovery (closest first).
pub fn ntt_primes(bits: u32, two_n: u64, count: usize, exclude: &[u64]) -> Result<Vec<u64>, MathError> {
    if !(MIN_PRIME_BITS..=MAX_MODULUS_BITS).contains(&bits) {
        return Err(MathError::InvalidPrimeBits { bits, min: MIN_PRIME_BITS, max: MAX_MODULUS_BITS });
    }
    assert!(two_n.is_power_of_two() && two_n >= 2, "two_n must be a power of two");
    let lo = 1u64 << (bits - 1);
    let hi = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let center = 1u64 << bits;
    let mut found = Vec::with_capacity(count);
    let mut k: u64 = 0;
    let accept =
        |c: u64, found: &Vec<u64>| c >= lo && c <= hi && !exclude.contains(&c) && !found.contains(&c) && is_prime(c);
    loop {
        let step = k.checked_mul(two_n);
        let below = step.and_then(|s| (center + 1).checked_sub(s + two_n));
        let above = step.and_then(|s| (center + 1).checked_add(s));
        if below.is_none_or(|b| b < lo) && above.is_none_or(|a| a > hi) {
            break;
        }
        for c in [above, below].into_iter().flatten() {
            if found.len() < count && accept(c, &found) {
                found.push(c);
            }
        }
        if found.len() == count {
            return Ok(found);
        }
        k += 1;
    }
    Err(MathError::NotEnoughPrimes { bits, two_n, wanted: count, found: found.len() })
}

/// [`ntt_primes`] wrapped as [`Modulus`] values.
pub fn ntt_moduli(bits: u32, two_n: u64, count: usize, exclude: &[u64]) -> Result<Vec<Modulus>, MathError> {
    Ok(ntt_primes(bits, two_n, count, exclude)?.into_iter().map(Modulus::new_unchecked).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_is_prime(n: u64) -> bool {
        n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d))
    }

    #[test]
    fn miller_rabin_matches_trial_division_below_100k() {
        for n in 0..100_000u64 {
            assert_eq!(is_prime(n), naive_is_prime(n), "n = {n}");
        }
    }

    #[test]
    fn known_primes_and_composites() {
        // 2^61 - 1 is a Mersenne prime; 2^61 + 1 is divisible by 3; the strong pseudoprime
        // 3215031751 fools bases 2, 3, 5, 7.
        assert!(is_prime((1 << 61) - 1));
        assert!(!is_prime((1 << 61) + 1));
        assert!(!is_prime(3_215_031_751));
        assert!(is_prime(0x1fff_ffff_ffe0_0001));
    }

    #[test]
    fn generated_primes_have_the_properties() {
        for (bits, log_n, count) in [(60, 16, 8), (40, 16, 30), (61, 17, 4), (30, 10, 5), (50, 13, 12)] {
            let two_n = 2u64 << log_n;
            let ps = ntt_primes(bits, two_n, count, &[]).unwrap();
            assert_eq!(ps.len(), count);
            for (i, &p) in ps.iter().enumerate() {
                assert!(naive_or_mr(p));
                assert_eq!(p % two_n, 1);
                assert_eq!(64 - p.leading_zeros(), bits);
                assert!(!ps[..i].contains(&p));
            }
            // Deterministic.
            assert_eq!(ps, ntt_primes(bits, two_n, count, &[]).unwrap());
        }
    }

    fn naive_or_mr(p: u64) -> bool {
        if p < 1 << 40 {
            naive_is_prime(p)
        } else {
            is_prime(p)
        }
    }

    #[test]
    fn exclusion_and_exhaustion() {
        let two_n = 1u64 << 11;
        let first = ntt_primes(40, two_n, 3, &[]).unwrap();
        let next = ntt_primes(40, two_n, 3, &first).unwrap();
        assert!(next.iter().all(|p| !first.contains(p)));
        // 12-bit primes = 1 mod 2^11: only 2^11+1 < 4096 could qualify (2049 = 3 * 683), none.
        assert!(matches!(ntt_primes(12, two_n, 1, &[]), Err(MathError::NotEnoughPrimes { .. })));
        assert!(matches!(ntt_primes(62, two_n, 1, &[]), Err(MathError::InvalidPrimeBits { .. })));
    }

    proptest! {
        #[test]
        fn miller_rabin_agrees_on_products(a in 3u64..(1 << 31), b in 3u64..(1 << 31)) {
            prop_assert!(!is_prime(a * b));
        }
    }
}
