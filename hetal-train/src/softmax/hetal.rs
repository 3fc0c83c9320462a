//! The paper's pipeline (Lee et al., ICML 2023, spec section 5) as a [`SoftmaxApproximation`]:
//! normalisation, the Cheon-Kim-Kim approximate row max, domain extension (Cheon-Kim-Park),
//! `exp` as `p(y/8)^8`, the row sum and the Goldschmidt inverse. The mirror is in `mirror.rs`,
//! the circuit in `encrypted.rs`, the stage table in [`SoftmaxConfig::stages`].

use super::{
    padded_classes, Polynomials, SoftmaxApproximation, SoftmaxConfig, SoftmaxError, SoftmaxId, SoftmaxInput,
    SoftmaxRun, Stage,
};
use ckks_scheme::Ciphertext;

/// HETAL's softmax approximation: its constants and its polynomials, shared by the `f64`
/// mirror ([`HetalSoftmax::row`]) and the circuit ([`SoftmaxApproximation::evaluate`]), which
/// therefore evaluate the very same `Chebyshev` objects. Id [`SoftmaxId::Hetal`].
#[derive(Clone, Debug)]
pub struct HetalSoftmax {
    pub(super) config: SoftmaxConfig,
    pub(super) polys: Polynomials,
}

/// The former name of [`HetalSoftmax`], kept for existing callers.
pub type SoftmaxApprox = HetalSoftmax;

impl HetalSoftmax {
    /// The pipeline of `config`; errors on constants that cannot work (non-finite, empty `exp`
    /// polynomial).
    pub fn new(config: SoftmaxConfig) -> Result<Self, SoftmaxError> {
        let polys = Polynomials::new(&config)?;
        Ok(Self { config, polys })
    }

    /// The configuration.
    pub fn config(&self) -> &SoftmaxConfig {
        &self.config
    }

    /// The polynomials.
    pub fn polynomials(&self) -> &Polynomials {
        &self.polys
    }
}

impl SoftmaxApproximation for HetalSoftmax {
    /// [`SoftmaxId::Hetal`].
    fn id(&self) -> SoftmaxId {
        SoftmaxId::Hetal
    }

    /// [`HetalSoftmax::row`]: normalise `x' = x / (2 R_max)` (padded classes `-1/2`), the max
    /// tree, `n` domain-extension steps and the precise correction in normalised variables,
    /// `exp(y) / K = (K^(-1/8) p(v))^8`, the row sum over the real classes, Goldschmidt's
    /// `1 / S` and the product times `K`. Inputs in `[-R_max, R_max]` (128 by default).
    fn row(&self, logits: &[f64], out: &mut [f64]) {
        HetalSoftmax::row(self, logits, out);
    }

    /// [`SoftmaxConfig::stages`] (see the levels table there): `1` (normalise)
    /// `+ log2 c (3 (gi + fi) + 1)` (max tree) `+ 1` (broadcast) `+ 2 n + 3` (domain extension)
    /// `+ 4 + 3` (exp) `+ 1 + 1` (mask, sum) `+ 1 + inv_iters + 1` (inverse, output): 82 levels
    /// for `c = 16`, 62 for `c = 4` with the defaults.
    fn stages(&self, classes: usize) -> Vec<Stage> {
        self.config.stages(padded_classes(classes))
    }

    /// The deepest stage, or 2: the max selection and the inverse steps refresh pairs whose
    /// operands need two levels.
    fn refresh_window(&self, classes: usize) -> usize {
        self.stages(classes).iter().map(|s| s.levels).max().unwrap_or(0).max(2)
    }

    /// The circuit of `encrypted.rs`; refuses a refresh narrower than
    /// [`SoftmaxApproximation::refresh_window`].
    fn evaluate(&self, input: SoftmaxInput<'_>) -> Result<(Ciphertext, SoftmaxRun), SoftmaxError> {
        self.evaluate_encrypted(input)
    }
}
