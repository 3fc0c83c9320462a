//! From slot values to plaintexts and back: the canonical embedding (special FFT), scaling and
//! rounding, and the RNS/NTT representation.

use crate::ciphertext::{check_scale, Plaintext};
use crate::encoding::{scale_round, SpecialFft};
use crate::{Complex, Parameters, SchemeError};
use ckks_math::{Representation, RnsPoly};
use num_traits::ToPrimitive;
use std::sync::Arc;

/// Encodes and decodes slot vectors for one parameter set.
#[derive(Clone, Debug)]
pub struct Encoder {
    params: Parameters,
    /// Another slot count than the parameters' ([`Encoder::with_slots`]).
    view: Option<Arc<SpecialFft>>,
}

impl Encoder {
    /// An encoder for `params`.
    pub fn new(params: &Parameters) -> Self {
        Self { params: params.clone(), view: None }
    }

    /// An encoder for `params` that reads and writes `slots` slots instead of
    /// `params.slots()`: the same ring, another subring `Z[X^(N / 2 slots)]` of encodings.
    /// Bootstrapping packs the real and imaginary halves of `n <= N/4` sparse slots into one
    /// ciphertext of `2n` slots this way. A plaintext of `n` slots read with `2n` holds its
    /// slots twice (`z[j + n] = z[j]`). Errors unless `slots` is a power of two at most `N/2`.
    pub fn with_slots(params: &Parameters, slots: usize) -> Result<Self, SchemeError> {
        if slots == params.slots() {
            return Ok(Self::new(params));
        }
        let fft = SpecialFft::new(params.degree(), slots)?;
        Ok(Self { params: params.clone(), view: Some(Arc::new(fft)) })
    }

    /// The slot count this encoder reads and writes.
    pub fn slots(&self) -> usize {
        self.fft().slots()
    }

    fn fft(&self) -> &SpecialFft {
        self.view.as_deref().unwrap_or_else(|| self.params.fft())
    }

    /// Encodes `values` (at most `slots`, the rest are zero) at `level` and `scale`:
    /// `m = round(scale * iDFT(z))`, NTT form over `Q_level`.
    ///
    /// Errors if there are too many values, a value is not finite, the level is above the
    /// chain, or a scaled coefficient does not fit below `Q_level / 2` (or `2^126`).
    /// Cost: one inverse special FFT of `slots` points and `level + 1` NTTs.
    pub fn encode(&self, values: &[Complex], level: usize, scale: f64) -> Result<Plaintext, SchemeError> {
        let ints = self.scaled_coefficients(values, level, scale)?;
        let poly = reduce_into(self.params.q_basis(), level + 1, &ints)?;
        Ok(Plaintext { params: self.params.clone(), poly, scale })
    }

    /// The integer polynomial `ints` ([`Encoder::scaled_coefficients`]) modulo every prime of
    /// `Q_level` and of the key-switching modulus `P` (NTT form), with scale `scale`: a plaintext
    /// over `Q_level * P`, for products with ciphertexts kept over `Q * P` between key switching
    /// and ModDown (double hoisting). Cost: `level + 1 + alpha` NTTs.
    pub(crate) fn extended_from_ints(
        &self,
        ints: &[i128],
        level: usize,
        scale: f64,
    ) -> Result<(Plaintext, RnsPoly), SchemeError> {
        let poly = reduce_into(self.params.q_basis(), level + 1, ints)?;
        let p = self.params.p_basis();
        let p_part = reduce_into(p, p.len(), ints)?;
        Ok((Plaintext { params: self.params.clone(), poly, scale }, p_part))
    }

    /// `round(scale * iDFT(z))` as integers (the integer polynomial [`Encoder::encode`] reduces),
    /// checked against `Q_level / 2` (and `2^126`).
    pub(crate) fn scaled_coefficients(
        &self,
        values: &[Complex],
        level: usize,
        scale: f64,
    ) -> Result<Vec<i128>, SchemeError> {
        let p = &self.params;
        let slots = self.slots();
        if values.len() > slots {
            return Err(SchemeError::SlotCount { op: "encode", slots, found: values.len() });
        }
        if level > p.max_level() {
            return Err(SchemeError::OutOfLevels { op: "encode", level, needed: p.max_level() });
        }
        check_scale("encode", scale)?;
        let mut z = values.to_vec();
        z.resize(slots, Complex::ZERO);
        let coeffs = self.fft().encode_coeffs(&z)?;
        let log_half_q = p.q_basis().log_product(level + 1) - 1.0;
        let bound = 2f64.powf(log_half_q.min(126.0));
        Ok(scale_round(&coeffs, scale, bound)?)
    }

    /// Encodes real values (imaginary parts zero); see [`Encoder::encode`].
    pub fn encode_real(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext, SchemeError> {
        let z: Vec<Complex> = values.iter().map(|&x| Complex::new(x, 0.0)).collect();
        self.encode(&z, level, scale)
    }

    /// Decodes all slots: `z = DFT(m / scale)` with `m` taken centered modulo `Q_l` (exact CRT).
    pub fn decode(&self, pt: &Plaintext) -> Result<Vec<Complex>, SchemeError> {
        self.params.check_same("decode", &pt.params)?;
        let mut poly = pt.poly.clone();
        poly.to_coeff();
        let coeffs: Vec<f64> = if poly.limbs() == 1 {
            let m = *poly.basis().modulus(0);
            poly.limb(0).iter().map(|&x| m.center(x) as f64 / pt.scale).collect()
        } else {
            centered_coefficients(&poly)?.into_iter().map(|x| x / pt.scale).collect()
        };
        Ok(self.fft().decode_coeffs(&coeffs)?)
    }

    /// Decodes the real parts of all slots.
    pub fn decode_real(&self, pt: &Plaintext) -> Result<Vec<f64>, SchemeError> {
        Ok(self.decode(pt)?.into_iter().map(|z| z.re).collect())
    }
}

/// The integers `ints` modulo the first `limbs` primes of `basis`, in NTT form.
fn reduce_into(
    basis: &std::sync::Arc<ckks_math::RnsBasis>,
    limbs: usize,
    ints: &[i128],
) -> Result<RnsPoly, SchemeError> {
    let mut poly = RnsPoly::zero(basis, limbs, Representation::Coefficient)?;
    for i in 0..limbs {
        let m = *basis.modulus(i);
        for (o, &x) in poly.limb_mut(i).iter_mut().zip(ints) {
            *o = m.reduce_i128(x);
        }
    }
    poly.to_ntt();
    Ok(poly)
}

/// The coefficients of `poly` (coefficient form, at least two limbs) as centered integers
/// converted to `f64`, exactly.
///
/// Decrypted CKKS coefficients are almost always far below `q_0 q_1 / 2`, so each coefficient
/// is first composed from limbs 0 and 1 in `i128` (Garner) and then checked against every other
/// limb: if all residues agree, the CRT says the value is exact; otherwise (a coefficient larger
/// than `q_0 q_1 / 2`) that coefficient is composed with big integers. Cost: one `u128`
/// reduction per limb per coefficient instead of a big-integer CRT.
fn centered_coefficients(poly: &ckks_math::RnsPoly) -> Result<Vec<f64>, SchemeError> {
    let basis = poly.basis();
    let (m0, m1) = (*basis.modulus(0), *basis.modulus(1));
    let (q0, q1) = (m0.value(), m1.value());
    let q0_inv = m1.inv(m1.reduce(q0)).expect("distinct primes");
    let q01 = q0 as u128 * q1 as u128;
    let limbs = poly.limbs();
    let mut crt = None;
    let mut out = Vec::with_capacity(poly.degree());
    for c in 0..poly.degree() {
        let (r0, r1) = (poly.limb(0)[c], poly.limb(1)[c]);
        // x = r0 + q0 * ((r1 - r0) q0^-1 mod q1), in [0, q0 q1).
        let t = m1.mul(m1.sub(r1, m1.reduce(r0)), q0_inv);
        let x = r0 as u128 + q0 as u128 * t as u128;
        let centered: i128 = if x > q01 / 2 { x as i128 - q01 as i128 } else { x as i128 };
        let consistent = (2..limbs).all(|i| basis.modulus(i).reduce_i128(centered) == poly.limb(i)[c]);
        if consistent {
            out.push(centered as f64);
        } else {
            let crt = match &crt {
                Some(crt) => crt,
                None => crt.insert(basis.crt(limbs)?),
            };
            let residues: Vec<u64> = (0..limbs).map(|i| poly.limb(i)[c]).collect();
            out.push(crt.compose_centered(&residues).to_f64().unwrap_or(f64::NAN));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;
    use ckks_math::Representation;
    use num_bigint::BigInt;

    /// The fast path agrees with the big-integer CRT, for small coefficients (fast path) and
    /// for coefficients far beyond q_0 q_1 (fallback).
    #[test]
    fn fast_centered_coefficients_match_bigint() {
        let params = Preset::InsecureTestN11.build().unwrap();
        let q = params.q_basis();
        let n = params.degree();
        let big: BigInt = BigInt::from(q.product(4)) / BigInt::from(3);
        let coeffs: Vec<BigInt> = (0..n as i64)
            .map(|i| match i % 4 {
                0 => BigInt::from(i * 1_000_003 - 7),
                1 => -BigInt::from(i) * BigInt::from(1u64 << 62),
                2 => big.clone() - i,
                _ => -(big.clone() - i),
            })
            .collect();
        let poly = RnsPoly::from_bigint(q, 5, &coeffs).unwrap();
        assert_eq!(poly.representation(), Representation::Coefficient);
        let fast = centered_coefficients(&poly).unwrap();
        let exact: Vec<f64> = poly.to_bigint_centered().unwrap().iter().map(|x| x.to_f64().unwrap()).collect();
        assert_eq!(fast, exact);
    }
}
