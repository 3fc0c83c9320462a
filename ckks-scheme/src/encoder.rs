//! From slot values to plaintexts and back: the canonical embedding (special FFT), scaling and
//! rounding, and the RNS/NTT representation.

use crate::ciphertext::{check_scale, Plaintext};
use crate::encoding::scale_round;
use crate::{Complex, Parameters, SchemeError};
use ckks_math::{Representation, RnsPoly};
use num_traits::ToPrimitive;

/// Encodes and decodes slot vectors for one parameter set.
#[derive(Clone, Debug)]
pub struct Encoder {
    params: Parameters,
}

impl Encoder {
    /// An encoder for `params`.
    pub fn new(params: &Parameters) -> Self {
        Self { params: params.clone() }
    }

    /// Encodes `values` (at most `slots`, the rest are zero) at `level` and `scale`:
    /// `m = round(scale * iDFT(z))`, NTT form over `Q_level`.
    ///
    /// Errors if there are too many values, a value is not finite, the level is above the
    /// chain, or a scaled coefficient does not fit below `Q_level / 2` (or `2^126`).
    /// Cost: one inverse special FFT of `slots` points and `level + 1` NTTs.
    pub fn encode(&self, values: &[Complex], level: usize, scale: f64) -> Result<Plaintext, SchemeError> {
        let p = &self.params;
        let slots = p.slots();
        if values.len() > slots {
            return Err(SchemeError::SlotCount { op: "encode", slots, found: values.len() });
        }
        if level > p.max_level() {
            return Err(SchemeError::OutOfLevels { op: "encode", level, needed: p.max_level() });
        }
        check_scale("encode", scale)?;
        let mut z = values.to_vec();
        z.resize(slots, Complex::ZERO);
        let coeffs = p.fft().encode_coeffs(&z)?;
        let q = p.q_basis();
        let log_half_q = q.log_product(level + 1) - 1.0;
        let bound = 2f64.powf(log_half_q.min(126.0));
        let ints = scale_round(&coeffs, scale, bound)?;
        let mut poly = RnsPoly::zero(q, level + 1, Representation::Coefficient)?;
        let n = p.degree();
        for i in 0..=level {
            let m = *q.modulus(i);
            let limb = poly.limb_mut(i);
            for (o, &x) in limb.iter_mut().zip(&ints) {
                let r = m.reduce_u128(x.unsigned_abs());
                *o = if x < 0 { m.neg(r) } else { r };
            }
            debug_assert_eq!(limb.len(), n);
        }
        poly.to_ntt();
        Ok(Plaintext { params: p.clone(), poly, scale })
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
            poly.to_bigint_centered()?.iter().map(|x| x.to_f64().unwrap_or(f64::NAN) / pt.scale).collect()
        };
        Ok(self.params.fft().decode_coeffs(&coeffs)?)
    }

    /// Decodes the real parts of all slots.
    pub fn decode_real(&self, pt: &Plaintext) -> Result<Vec<f64>, SchemeError> {
        Ok(self.decode(pt)?.into_iter().map(|z| z.re).collect())
    }
}
