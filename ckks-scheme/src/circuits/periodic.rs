//! Diagonals that repeat, stored once per repetition.
//!
//! A slot vector of period `p` (`v[j + p] = v[j]` for every slot `j`, `p` a power of two
//! below `n = slots`) is fixed by the rotation by `p`, so the polynomial that encodes it is
//! fixed by the automorphism `sigma_g: X -> X^g`, `g = 5^p mod 2N`:
//!
//! ```text
//! m(X^g) = m(X)   =>   m(psi^(e g)) = m(psi^e) for every NTT point psi^e
//! ```
//!
//! Its NTT values are equal along each cycle of `sigma_g`'s NTT permutation. `g` has order
//! `n / p` modulo `2N`, so the `N` points fall into `N p / n = 2p` cycles: `2p` values per limb
//! instead of `N`. The merged butterfly layers of the homomorphic DFT are block-diagonal with
//! equal blocks, and their diagonals have the period of the block: at `N = 2^16` with three
//! levels, `32`, `1024` and `n`, so two of each transform's three matrices shrink 1024-fold
//! and 32-fold.
//!
//! Rounding to integers could break the symmetry where the floating-point encoding of a
//! coefficient lands next to a half-integer, so [`symmetrize`] makes the integer polynomial
//! exactly invariant first (moving those coefficients by one unit, an error of `1 / scale`,
//! below encoding's own rounding) and [`Orbits::compress`] checks every value it drops.

use crate::{Complex, Parameters, SchemeError};
use ckks_math::RnsPoly;

/// The smallest power of two `p < n` such that every diagonal (length `n`) repeats with period
/// `p` exactly, or `None`.
pub(crate) fn period<'a>(diagonals: impl Iterator<Item = &'a Vec<Complex>> + Clone, n: usize) -> Option<usize> {
    let mut p = 1;
    while p < n {
        if diagonals.clone().all(|d| d.len() == n && (p..n).all(|j| d[j] == d[j - p])) {
            return Some(p);
        }
        p *= 2;
    }
    None
}

/// Makes the integer coefficients `ints` (length `N`) of a polynomial exactly invariant under
/// `X -> X^g`: along each orbit `{i g^t mod 2N}` every coefficient takes the value the orbit's
/// first index gives it (with the sign of `X^N = -1`), and an orbit that meets an index with
/// both signs is zero. Returns the largest change made (`0` if it was invariant).
pub(crate) fn symmetrize(ints: &mut [i128], g: usize) -> u128 {
    let n = ints.len();
    let two_n = 2 * n;
    let mut seen = vec![false; n];
    let mut orbit = Vec::new();
    let mut largest = 0u128;
    for i in 0..n {
        if seen[i] {
            continue;
        }
        // (position, negated) along the orbit of i, which returns to i.
        // The orbit meets a position with both signs exactly when it holds `i + N`.
        orbit.clear();
        let mut e = i;
        let mut conflict = false;
        loop {
            orbit.push((e % n, e >= n));
            conflict |= e == i + n;
            e = e * g % two_n;
            if e == i {
                break;
            }
        }
        let value = if conflict { 0 } else { ints[i] };
        for &(pos, neg) in &orbit {
            let v = if neg { -value } else { value };
            largest = largest.max(ints[pos].abs_diff(v));
            ints[pos] = v;
            seen[pos] = true;
        }
    }
    largest
}

/// Whether a change of `moved` units in an integer polynomial of scale `scale` is rounding: at
/// most one unit, or `2^-40` of the scale where `f64` has no unit precision left.
pub(crate) fn within_rounding(moved: u128, scale: f64) -> bool {
    moved as f64 <= 1f64.max(scale * 2f64.powi(-40))
}

/// The cycles of an automorphism's NTT permutation: the cycle of each NTT point.
#[derive(Debug)]
pub(crate) struct Orbits {
    /// The automorphism's Galois element `g = 5^p mod 2N`.
    galois: usize,
    /// Cycle of NTT point `j`, numbered in order of first appearance (below `2p <= n <= 2^16`).
    index: Vec<u16>,
    /// First point of each cycle.
    first: Vec<usize>,
}

impl Orbits {
    /// The cycles of `sigma_{5^p}` for period `p` (the rotation by `p` slots), or `None` if
    /// there are more than `2^16` (`p` is then not below the slot count).
    pub(crate) fn of_period(params: &Parameters, p: usize) -> Result<Option<Self>, SchemeError> {
        // `p` is below the slot count of the view, itself at most N/2: no reduction.
        let galois = ckks_math::automorphism::rotation_galois_element(p as i64, params.degree());
        let table = params.galois_table(galois)?;
        let n = table.len();
        let mut index = vec![u16::MAX; n];
        let mut assigned = vec![false; n];
        let mut first = Vec::new();
        for j in 0..n {
            if assigned[j] {
                continue;
            }
            let Ok(id) = u16::try_from(first.len()) else { return Ok(None) };
            first.push(j);
            let mut k = j;
            while !assigned[k] {
                (index[k], assigned[k]) = (id, true);
                k = table[k];
            }
        }
        Ok(Some(Self { galois, index, first }))
    }

    /// The Galois element whose cycles these are ([`symmetrize`] makes a polynomial fixed by it).
    pub(crate) fn galois(&self) -> usize {
        self.galois
    }

    /// The number of cycles (`2p` for period `p`).
    pub(crate) fn count(&self) -> usize {
        self.first.len()
    }

    /// The limbs of `polys` (NTT form, in order) with one value per cycle, limb after limb, or
    /// `None` if some limb is not constant on a cycle.
    pub(crate) fn compress(&self, polys: &[&RnsPoly]) -> Option<Vec<u64>> {
        let mut out = Vec::with_capacity(polys.iter().map(|p| p.limbs()).sum::<usize>() * self.count());
        for poly in polys {
            for t in 0..poly.limbs() {
                let limb = poly.limb(t);
                let start = out.len();
                out.extend(self.first.iter().map(|&j| limb[j]));
                if limb.iter().zip(&self.index).any(|(&v, &c)| v != out[start + usize::from(c)]) {
                    return None;
                }
            }
        }
        Some(out)
    }

    /// The cycles of the NTT points `range`: point `j`'s value in a compressed limb is
    /// `values[index[j]]`.
    pub(crate) fn index(&self, range: std::ops::Range<usize>) -> &[u16] {
        &self.index[range]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Encoder, Preset};
    use proptest::prelude::*;

    fn params() -> Parameters {
        Preset::InsecureTestN11.build().unwrap()
    }

    #[test]
    fn finds_the_smallest_period() {
        let n = 16;
        let d: Vec<Complex> = (0..n).map(|j| Complex::new((j % 4) as f64, 0.0)).collect();
        assert_eq!(period([d.clone()].iter(), n), Some(4));
        let mut e = d.clone();
        e[13] = Complex::new(9.0, 0.0);
        assert_eq!(period([d, e].iter(), n), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// A periodic slot vector encodes to a polynomial that symmetrizing moves by at most one
        /// unit, whose NTT values compress to `2p` per limb and expand back exactly.
        #[test]
        fn periodic_vectors_compress_exactly(
            log_p in 0u32..9,
            seed in proptest::collection::vec(-1.0f64..1.0, 2 * 256),
        ) {
            let params = params();
            let (n, p) = (params.slots(), 1usize << log_p);
            let values: Vec<Complex> = (0..n).map(|j| Complex::new(seed[2 * (j % p)], seed[2 * (j % p) + 1])).collect();
            let encoder = Encoder::new(&params);
            let level = params.max_level();
            let scale = params.q_basis().modulus(level).value() as f64;
            let mut ints = encoder.scaled_coefficients(&values, level, scale).unwrap();
            let orbits = Orbits::of_period(&params, p).unwrap().unwrap();
            prop_assert_eq!(orbits.galois(), crate::rotation_element(&params, p as i64));
            let moved = symmetrize(&mut ints, orbits.galois());
            prop_assert!(within_rounding(moved, scale), "symmetrizing moved a coefficient by {moved} at scale {scale:e}");
            prop_assert_eq!(symmetrize(&mut ints.clone(), orbits.galois()), 0);
            let (q, pp) = encoder.extended_from_ints(&ints, level, scale).unwrap();
            prop_assert_eq!(orbits.count(), 2 * p);
            let compact = orbits.compress(&[&q.poly, &pp]).unwrap();
            prop_assert_eq!(compact.len(), (q.poly.limbs() + pp.limbs()) * 2 * p);
            let index = orbits.index(0..params.degree());
            for (t, limb) in (0..q.poly.limbs()).map(|t| q.poly.limb(t)).chain((0..pp.limbs()).map(|t| pp.limb(t))).enumerate() {
                let values = &compact[t * 2 * p..(t + 1) * 2 * p];
                let expanded: Vec<u64> = index.iter().map(|&c| values[usize::from(c)]).collect();
                prop_assert_eq!(&expanded[..], limb);
            }
        }
    }

    #[test]
    fn a_non_periodic_polynomial_does_not_compress() {
        let params = params();
        let values: Vec<Complex> = (0..params.slots()).map(|j| Complex::new(j as f64 / 512.0, 0.0)).collect();
        let pt = Encoder::new(&params).encode(&values, 1, 1e6).unwrap();
        assert!(Orbits::of_period(&params, 4).unwrap().unwrap().compress(&[&pt.poly]).is_none());
    }
}
