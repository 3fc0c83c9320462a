//! Plaintexts and ciphertexts: RNS polynomials in NTT form with a level and a scale.

use crate::scale::Scale;
use crate::{Parameters, SchemeError};
use ckks_math::RnsPoly;

/// An encoded message `m` with `decode(m / scale) ~ z`, at level `l` (NTT form over `Q_l`).
#[derive(Clone, Debug)]
pub struct Plaintext {
    pub(crate) params: Parameters,
    pub(crate) poly: RnsPoly,
    pub(crate) scale: f64,
}

impl Plaintext {
    /// Level (number of primes minus one).
    pub fn level(&self) -> usize {
        self.poly.level()
    }

    /// Scale `Delta` of the encoding.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The polynomial (NTT form).
    pub fn poly(&self) -> &RnsPoly {
        &self.poly
    }

    /// The parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }
}

/// A CKKS ciphertext `(c_0, c_1[, c_2])` with `c_0 + c_1 s [+ c_2 s^2] = m + e (mod Q_l)`,
/// all components in NTT form at the same level, and the scale of `m`.
#[derive(Clone, Debug)]
pub struct Ciphertext {
    pub(crate) params: Parameters,
    pub(crate) c: Vec<RnsPoly>,
    pub(crate) scale: Scale,
}

impl Ciphertext {
    /// Level: how many more rescales it can take.
    pub fn level(&self) -> usize {
        self.c[0].level()
    }

    /// Scale of the message (tracked internally with a double-`f64` error term, so that
    /// multiplying by a prime and rescaling by it returns exactly the same value).
    pub fn scale(&self) -> f64 {
        self.scale.value()
    }

    /// Overrides the recorded scale (the value is reinterpreted, not changed). For advanced use
    /// such as declaring a scale known to equal another up to rounding.
    pub fn set_scale(&mut self, scale: f64) {
        self.scale = Scale::new(scale);
    }

    /// Number of components: 2 normally, 3 after a product before relinearization.
    pub fn size(&self) -> usize {
        self.c.len()
    }

    /// The components (NTT form).
    pub fn components(&self) -> &[RnsPoly] {
        &self.c
    }

    /// The parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// Size in bytes of the polynomial data.
    pub fn size_bytes(&self) -> usize {
        self.c.iter().map(|p| 8 * p.data().len()).sum()
    }

    /// Builds a ciphertext from components (all NTT form over the parameters' `Q`, same level).
    pub fn from_components(params: &Parameters, c: Vec<RnsPoly>, scale: f64) -> Result<Self, SchemeError> {
        if !(2..=3).contains(&c.len()) {
            return Err(SchemeError::Degree { op: "Ciphertext::from_components", expected: 2, found: c.len() });
        }
        for p in &c {
            if !p.basis().same_as(params.q_basis()) {
                return Err(SchemeError::ParameterMismatch {
                    op: "Ciphertext::from_components",
                    detail: "component not over the parameters' Q".into(),
                });
            }
            if p.level() != c[0].level() {
                return Err(SchemeError::LevelMismatch {
                    op: "Ciphertext::from_components",
                    left: c[0].level(),
                    right: p.level(),
                });
            }
            if p.representation() != ckks_math::Representation::Ntt {
                return Err(ckks_math::MathError::Representation {
                    op: "Ciphertext::from_components",
                    expected: "NTT",
                    found: "coefficient",
                }
                .into());
            }
        }
        check_scale("Ciphertext::from_components", scale)?;
        Ok(Self { params: params.clone(), c, scale: Scale::new(scale) })
    }
}

pub(crate) fn check_scale(op: &'static str, scale: f64) -> Result<(), SchemeError> {
    if !(scale.is_finite() && scale >= 1.0) {
        return Err(SchemeError::InvalidScale { op, log2: scale.log2(), reason: "must be finite and at least 1" });
    }
    Ok(())
}
