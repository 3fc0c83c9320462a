//! The server's refresher: real bootstrapping ([`Bootstrapper`]) behind [`Refresh`], holding
//! public material only, and the sealed marker [`PublicRefresh`] that lets a server type accept
//! exactly such refreshers.

use super::{Refresh, SoftmaxError};
use ckks_scheme::circuits::bootstrap::{BootstrapKeys, Bootstrapper};
use ckks_scheme::{Ciphertext, Evaluator};
use std::sync::atomic::{AtomicUsize, Ordering};

mod sealed {
    /// Implemented only in this crate, for refreshers without secret material.
    pub trait Sealed {}
}

/// A [`Refresh`] that holds no secret key. Sealed: implemented only by [`BootstrapRefresh`]
/// (the decrypt-and-re-encrypt double [`super::InsecureDecryptReencryptRefresh`] deliberately
/// does not implement it), so an API bounded by `PublicRefresh` cannot be handed a secret key
/// through its refresher.
pub trait PublicRefresh: Refresh + sealed::Sealed {}

/// Bootstrapping as a [`Refresh`]: `refresh(ct)` drops `ct` to the circuit's input level and runs
/// [`Bootstrapper::bootstrap`], giving a ciphertext at [`Bootstrapper::output_level`] with the
/// same slots up to the bootstrapping error (see its `BootstrapContract`).
///
/// Server side: it holds the evaluator (public evaluation keys, whose Galois keys must include
/// [`Bootstrapper::galois_elements`]), the circuit and the encapsulation switching keys, all
/// public. Callers keep refreshed values in `[-1, 1]`: EvalMod approximates `x -> x` only for
/// small messages relative to `q_0 / Delta`, and the error grows with the cube of the value.
pub struct BootstrapRefresh {
    eval: Evaluator,
    bootstrapper: Bootstrapper,
    keys: BootstrapKeys,
    count: AtomicUsize,
}

impl BootstrapRefresh {
    /// A refresher from the server's evaluator, the circuit (built for the same parameters) and
    /// the client's bootstrapping keys. Errors if the evaluator has no keys.
    pub fn new(eval: Evaluator, bootstrapper: Bootstrapper, keys: BootstrapKeys) -> Result<Self, SoftmaxError> {
        if eval.keys().is_none() {
            return Err(SoftmaxError::Config {
                reason: "bootstrapping needs an evaluator with evaluation keys".into(),
            });
        }
        Ok(Self { eval, bootstrapper, keys, count: AtomicUsize::new(0) })
    }

    /// The circuit.
    pub fn bootstrapper(&self) -> &Bootstrapper {
        &self.bootstrapper
    }
}

impl sealed::Sealed for BootstrapRefresh {}
impl PublicRefresh for BootstrapRefresh {}

impl Refresh for BootstrapRefresh {
    fn output_level(&self) -> usize {
        self.bootstrapper.output_level()
    }

    /// [`Bootstrapper::input_level`].
    fn input_level(&self) -> usize {
        self.bootstrapper.input_level()
    }

    /// Bootstraps `ct` (any level from [`Refresh::input_level`] up; dropped to it first). Consumes the bootstrapping depth of the
    /// top of the chain, none of the computation levels.
    fn refresh(&self, ct: &Ciphertext) -> Result<Ciphertext, SoftmaxError> {
        let out = self.bootstrapper.bootstrap(&self.eval, &self.keys, ct)?;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    /// [`Bootstrapper::bootstrap_pair`]: one bootstrapping and one conjugation for both.
    fn refresh_pair(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext), SoftmaxError> {
        let out = self.bootstrapper.bootstrap_pair(&self.eval, &self.keys, a, b)?;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}
