//! Exact-enough scale bookkeeping: a scale is kept as an unevaluated sum `hi + lo` of two
//! `f64` (double-double), so products by primes followed by divisions by the same primes come
//! back to the very same `f64`. With a plain `f64`, `(s * q) / q != s` for about one scale in a
//! few million, which would turn a scale-preserving `mul_const` + `rescale` into a one-ulp
//! mismatch.

use serde::{Deserialize, Serialize};

/// A positive scale as `hi + lo` with `|lo| <= ulp(hi) / 2`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Scale {
    hi: f64,
    lo: f64,
}

/// `a + b` as a double-double (Knuth's two-sum).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

impl Scale {
    /// An exact `f64` scale.
    pub(crate) fn new(x: f64) -> Self {
        Self { hi: x, lo: 0.0 }
    }

    /// Whether `hi + lo` is a double-double as every operation leaves it: `lo` finite and
    /// `hi + lo` rounding to `hi`. Both parts of a loaded scale come from a file.
    pub(crate) fn is_canonical(self) -> bool {
        self.lo.is_finite() && self.hi + self.lo == self.hi
    }

    /// The scale rounded to `f64`.
    pub(crate) fn value(self) -> f64 {
        self.hi
    }

    /// `self * other`, error term kept (FMA gives the exact rounding error of `hi * hi`).
    pub(crate) fn mul(self, other: Scale) -> Scale {
        let p = self.hi * other.hi;
        let e = self.hi.mul_add(other.hi, -p) + (self.hi * other.lo + self.lo * other.hi);
        let (hi, lo) = two_sum(p, e);
        Scale { hi, lo }
    }

    /// `self / q`, error term kept.
    pub(crate) fn div(self, q: f64) -> Scale {
        let q1 = self.hi / q;
        // Remainder of the first quotient, exact by FMA, plus the low part.
        let r = (-q1).mul_add(q, self.hi) + self.lo;
        let (hi, lo) = two_sum(q1, r / q);
        Scale { hi, lo }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn multiply_then_divide_by_a_prime_is_the_identity(s in 1.0f64..2f64.powi(60), q in (1u64 << 30)..(1u64 << 61)) {
            let q = (q | 1) as f64;
            let back = Scale::new(s).mul(Scale::new(q)).div(q);
            prop_assert_eq!(back.value(), s);
        }
    }

    #[test]
    fn the_case_plain_f64_gets_wrong() {
        // Found by the integration tests: plain f64 gives 1550828437114.6638.
        let s = 1550828437114.664f64;
        let params = crate::Preset::InsecureTestN12.build().unwrap();
        let q = params.q_basis().modulus(1).value() as f64;
        assert_ne!((s * q) / q, s, "the plain f64 round trip fails here");
        let back = Scale::new(s).mul(Scale::new(q)).div(q);
        assert_eq!(back.value(), s);
    }
}
