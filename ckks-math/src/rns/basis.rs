//! An RNS basis: distinct NTT primes `q_0, ..., q_{k-1}` for one ring degree, with their NTT
//! tables and the constants that rescaling and exact CRT need.

use crate::{MathError, Modulus, NttTable};
use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, Zero};
use std::sync::Arc;

/// Distinct NTT-friendly primes for ring degree `N`, shared (via `Arc`) by every polynomial
/// that lives over them.
///
/// A polynomial over the basis may use only a prefix `q_0..q_{l}` of it (its *level* is `l`);
/// the constants below are precomputed for every prefix.
pub struct RnsBasis {
    n: usize,
    moduli: Vec<Modulus>,
    ntt: Vec<NttTable>,
    /// `rescale[k][i] = (q_k^-1 mod q_i, Shoup constant)` for `i < k`: dividing a polynomial
    /// with `k + 1` limbs by its last prime `q_k`.
    rescale: Vec<Vec<(u64, u64)>>,
}

impl std::fmt::Debug for RnsBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The tables are large and derived; the degree and primes identify the basis.
        let primes: Vec<u64> = self.moduli.iter().map(|m| m.value()).collect();
        f.debug_struct("RnsBasis").field("n", &self.n).field("moduli", &primes).finish()
    }
}

impl RnsBasis {
    /// Builds the basis of degree `n` over `moduli`.
    ///
    /// Errors when the list is empty, has a repeated prime, or holds a modulus that is not an
    /// NTT prime for `n` (`q = 1 mod 2n`).
    pub fn new(n: usize, moduli: &[u64]) -> Result<Arc<Self>, MathError> {
        if moduli.is_empty() {
            return Err(MathError::InvalidBasis { reason: "no modulus".into() });
        }
        for (i, q) in moduli.iter().enumerate() {
            if moduli[..i].contains(q) {
                return Err(MathError::InvalidBasis { reason: format!("modulus {q} appears twice") });
            }
        }
        let moduli: Vec<Modulus> = moduli.iter().map(|&q| Modulus::new(q)).collect::<Result<_, _>>()?;
        let ntt = moduli.iter().map(|&m| NttTable::new(m, n)).collect::<Result<Vec<_>, _>>()?;
        let rescale = (0..moduli.len())
            .map(|k| {
                (0..k)
                    .map(|i| {
                        let m = moduli[i];
                        let inv = m.inv(moduli[k].value() % m.value()).expect("distinct primes are coprime");
                        (inv, m.shoup(inv))
                    })
                    .collect()
            })
            .collect();
        Ok(Arc::new(Self { n, moduli, ntt, rescale }))
    }

    /// Ring degree `N`.
    #[inline]
    pub fn degree(&self) -> usize {
        self.n
    }

    /// Number of primes.
    #[inline]
    pub fn len(&self) -> usize {
        self.moduli.len()
    }

    /// Always false: a basis has at least one prime.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.moduli.is_empty()
    }

    /// The primes.
    #[inline]
    pub fn moduli(&self) -> &[Modulus] {
        &self.moduli
    }

    /// Prime `i`.
    #[inline]
    pub fn modulus(&self, i: usize) -> &Modulus {
        &self.moduli[i]
    }

    /// NTT table of prime `i`.
    #[inline]
    pub fn ntt(&self, i: usize) -> &NttTable {
        &self.ntt[i]
    }

    /// `(q_k^-1 mod q_i, Shoup)` for `i < k`.
    #[inline]
    pub(crate) fn rescale_constants(&self, k: usize) -> &[(u64, u64)] {
        &self.rescale[k]
    }

    /// Sum of the bit sizes of the first `limbs` primes (`log2` of their product, rounded up
    /// per prime); the exact value is `log2(product(limbs))`.
    pub fn log_product(&self, limbs: usize) -> f64 {
        self.moduli[..limbs].iter().map(|m| (m.value() as f64).log2()).sum()
    }

    /// `Q = q_0 * ... * q_{limbs-1}` as a big integer.
    pub fn product(&self, limbs: usize) -> BigUint {
        self.moduli[..limbs].iter().fold(BigUint::one(), |acc, m| acc * m.value())
    }

    /// Whether two bases hold the same degree and primes (cheap when they are the same `Arc`).
    pub fn same_as(self: &Arc<Self>, other: &Arc<Self>) -> bool {
        Arc::ptr_eq(self, other) || (self.n == other.n && self.moduli == other.moduli)
    }

    /// Exact CRT for the first `limbs` primes: constants to compose residues into `[0, Q)`.
    pub fn crt(&self, limbs: usize) -> Result<Crt, MathError> {
        if limbs == 0 || limbs > self.len() {
            return Err(MathError::Level { op: "crt", level: limbs.wrapping_sub(1), min: 0, max: self.len() - 1 });
        }
        let moduli = self.moduli[..limbs].to_vec();
        let q = self.product(limbs);
        let mut q_hat = Vec::with_capacity(limbs);
        let mut q_hat_inv = Vec::with_capacity(limbs);
        for m in &moduli {
            let hat = &q / m.value();
            let hat_mod = (&hat % m.value()).iter_u64_digits().next().unwrap_or(0);
            q_hat_inv.push(m.inv(hat_mod).expect("distinct primes are coprime"));
            q_hat.push(hat);
        }
        let half = &q >> 1u32;
        Ok(Crt { moduli, q, half, q_hat, q_hat_inv })
    }
}

/// Exact Chinese remaindering for one prefix of a basis (see [`RnsBasis::crt`]):
/// `x = sum_i [x_i * qhat_i^-1]_{q_i} * qhat_i mod Q` with `qhat_i = Q / q_i`.
#[derive(Clone, Debug)]
pub struct Crt {
    moduli: Vec<Modulus>,
    q: BigUint,
    half: BigUint,
    q_hat: Vec<BigUint>,
    q_hat_inv: Vec<u64>,
}

impl Crt {
    /// The product `Q`.
    pub fn modulus(&self) -> &BigUint {
        &self.q
    }

    /// The unique `x` in `[0, Q)` with `x = residues[i] mod q_i`.
    pub fn compose(&self, residues: &[u64]) -> BigUint {
        debug_assert_eq!(residues.len(), self.moduli.len());
        let mut acc = BigUint::zero();
        for (i, (&r, m)) in residues.iter().zip(&self.moduli).enumerate() {
            let y = m.mul(m.reduce(r), self.q_hat_inv[i]);
            acc += &self.q_hat[i] * y;
        }
        acc % &self.q
    }

    /// The centered representative of [`Crt::compose`], in `(-Q/2, Q/2]`.
    pub fn compose_centered(&self, residues: &[u64]) -> BigInt {
        let x = self.compose(residues);
        if x > self.half {
            BigInt::from_biguint(Sign::Minus, &self.q - x)
        } else {
            BigInt::from_biguint(Sign::Plus, x)
        }
    }

    /// Residues of any integer `x` modulo each prime (written into `out`).
    pub fn decompose(&self, x: &BigInt, out: &mut [u64]) {
        debug_assert_eq!(out.len(), self.moduli.len());
        for (o, m) in out.iter_mut().zip(&self.moduli) {
            let r = (x % BigInt::from(m.value())).to_u64_digits();
            let mag = r.1.first().copied().unwrap_or(0);
            *o = if r.0 == Sign::Minus { m.neg(mag) } else { mag };
        }
    }
}
