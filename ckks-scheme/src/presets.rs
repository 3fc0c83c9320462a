//! The named parameter sets, defined once: leveled ones as a chain `q_0` plus computation
//! primes, bootstrappable ones as such a residual chain extended by the primes the
//! bootstrapping circuit consumes ([`BootstrapConfig::extend_chain`]).
//!
//! This module sits above both the parameters and the circuits (it names the bootstrapping
//! configuration), so neither of them depends on it.

use crate::circuits::bootstrap::BootstrapConfig;
use crate::{Parameters, ParametersBuilder, SchemeError};
use serde::{Deserialize, Serialize};

/// Named parameter sets. The secure ones pass the 128-bit table; the test ones carry
/// `Insecure` in their names and exist only for fast tests and toy examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Preset {
    /// `N = 2^14`, `q_0` 55 bits, 7 levels of 40 bits, two 50-bit special primes
    /// (`log QP` = 435 of 438 allowed, `dnum` = 4), scale `2^40`.
    LeveledN14,
    /// `N = 2^15`, `q_0` 60 bits, 16 levels of 40 bits, three 60-bit special primes
    /// (`log QP` = 880 of 881, `dnum` = 5: `q_0` with two primes, then four per digit), scale `2^40`.
    LeveledN15,
    /// `N = 2^16`, `q_0` 60 bits, 28 levels of 40 bits, eight 60-bit special primes
    /// (`log QP` = 1660 of 1747, `dnum` = 3: digits of 11, 11 and 7 primes), scale `2^40`. Eight special primes keep the
    /// number of key-switching digits, hence the NTTs of every relinearization and rotation,
    /// low; `log QP` matches OpenFHE's default bootstrapping set at this degree.
    LeveledN16,
    /// `N = 2^16`, bootstrappable (with [`BootstrapConfig::standard`]): the residual chain
    /// `q_0` of 50 bits and 12 levels of 40 bits for computation, extended by
    /// [`BootstrapConfig::extend_chain`] with 3 primes of 40 bits for SlotToCoeff, 9 of 60
    /// bits for EvalMod and 3 of 60 bits for CoeffToSlot; six 61-bit special primes
    /// (`log QP` about 1736 of 1747, `dnum` = 4: digits of 8, 8, 6 and 6 primes), scale `2^40`, dense ternary secret. After
    /// bootstrapping 12 levels remain at a scale of about `2^40`.
    BootstrapN16,
    /// `N = 2^12` with the layout of [`Preset::BootstrapN16`] (4 computation levels): insecure,
    /// for fast bootstrapping tests.
    InsecureBootstrapN12,
    /// `N = 2^11`, 4 levels of 40 bits: insecure, for unit tests.
    InsecureTestN11,
    /// `N = 2^12`, 6 levels of 40 bits: insecure, for unit tests.
    InsecureTestN12,
    /// `N = 2^13`, 10 levels of 40 bits: insecure, for unit tests and quick demos.
    InsecureTestN13,
    /// `N = 2^12` with the chain of [`Preset::BootstrapN16`] (12 computation levels, the
    /// bootstrapping extension of [`BootstrapConfig::standard`]) under the four 61-bit special
    /// primes of [`Preset::InsecureBootstrapN12`]: INSECURE, for training tests and trying the
    /// training workflow in seconds (`hetal`'s `insecure-train-n12`). The same refresh placement
    /// as the secure preset (12 levels exposed a scale drift that 8 hid) and fewer bootstraps
    /// per step than [`Preset::InsecureBootstrapN12`]. Not in [`Preset::ALL`], the presets that
    /// tools list.
    InsecureTrainN12,
}

impl Preset {
    /// The presets that tools list (`hetal params`): every preset but the training-only
    /// [`Preset::InsecureTrainN12`].
    pub const ALL: [Preset; 8] = [
        Preset::LeveledN14,
        Preset::LeveledN15,
        Preset::LeveledN16,
        Preset::BootstrapN16,
        Preset::InsecureBootstrapN12,
        Preset::InsecureTestN11,
        Preset::InsecureTestN12,
        Preset::InsecureTestN13,
    ];

    /// The builder of this preset (change fields before building if needed). Its `name` is
    /// the variant's name: it is serialized into every blob's header.
    pub fn builder(self) -> ParametersBuilder {
        // Bootstrappable sets: q_0 at 50 bits (the message ratio q_0 / Delta = 2^10 balances
        // the sine's nonlinearity against the amplification of the circuit's noise,
        // docs/BOOTSTRAPPING.md) and 40-bit computation primes, extended by the standard
        // circuit's primes.
        let (log_n, q0, levels, p) = match self {
            Preset::BootstrapN16 => (16, 50, 12, vec![61; 6]),
            Preset::InsecureBootstrapN12 => (12, 50, 4, vec![61; 4]),
            Preset::InsecureTrainN12 => (12, 50, 12, vec![61; 4]),
            Preset::LeveledN14 => (14, 55, 7, vec![50, 50]),
            Preset::LeveledN15 => (15, 60, 16, vec![60; 3]),
            Preset::LeveledN16 => (16, 60, 28, vec![60; 8]),
            Preset::InsecureTestN11 => (11, 50, 4, vec![50, 50]),
            Preset::InsecureTestN12 => (12, 55, 6, vec![60, 60]),
            Preset::InsecureTestN13 => (13, 60, 10, vec![60, 60]),
        };
        let mut q = vec![q0];
        q.extend(std::iter::repeat_n(40, levels));
        let residual = ParametersBuilder::new(log_n).q_bits(q).p_bits(p).log_scale(40).name(&format!("{self:?}"));
        match self.bootstrap_config() {
            Some(config) => config.extend_chain(residual),
            None => residual,
        }
    }

    /// The bootstrapping circuit the preset's chain is extended for
    /// ([`BootstrapConfig::standard`] for the bootstrappable presets), or `None` for a leveled
    /// preset.
    pub fn bootstrap_config(self) -> Option<BootstrapConfig> {
        match self {
            Preset::BootstrapN16 | Preset::InsecureBootstrapN12 | Preset::InsecureTrainN12 => {
                Some(BootstrapConfig::standard())
            }
            Preset::LeveledN14
            | Preset::LeveledN15
            | Preset::LeveledN16
            | Preset::InsecureTestN11
            | Preset::InsecureTestN12
            | Preset::InsecureTestN13 => None,
        }
    }

    /// Whether the preset is a test-only insecure one.
    pub fn is_insecure(self) -> bool {
        matches!(
            self,
            Preset::InsecureBootstrapN12
                | Preset::InsecureTestN11
                | Preset::InsecureTestN12
                | Preset::InsecureTestN13
                | Preset::InsecureTrainN12
        )
    }

    /// Builds the preset (secure presets are checked against the security table).
    pub fn build(self) -> Result<Parameters, SchemeError> {
        if self.is_insecure() {
            self.builder().build_insecure()
        } else {
            self.builder().build()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::SecretDistribution;

    /// Every preset's literal, written out: the primes (hence every key, blob and fingerprint)
    /// of a preset must never change.
    #[test]
    fn preset_literals_are_fixed() {
        #[rustfmt::skip]
        let expected: [(Preset, u32, Vec<u32>, Vec<u32>); 9] = [
            (Preset::LeveledN14, 14, vec![55, 40, 40, 40, 40, 40, 40, 40], vec![50, 50]),
            (Preset::LeveledN15, 15, vec![60, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40], vec![60, 60, 60]),
            (Preset::LeveledN16, 16, vec![60, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40], vec![60, 60, 60, 60, 60, 60, 60, 60]),
            (Preset::BootstrapN16, 16, vec![50, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60], vec![61, 61, 61, 61, 61, 61]),
            (Preset::InsecureBootstrapN12, 12, vec![50, 40, 40, 40, 40, 40, 40, 40, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60], vec![61, 61, 61, 61]),
            (Preset::InsecureTestN11, 11, vec![50, 40, 40, 40, 40], vec![50, 50]),
            (Preset::InsecureTestN12, 12, vec![55, 40, 40, 40, 40, 40, 40], vec![60, 60]),
            (Preset::InsecureTestN13, 13, vec![60, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40], vec![60, 60]),
            (Preset::InsecureTrainN12, 12, vec![50, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60], vec![61, 61, 61, 61]),
        ];
        for (preset, log_n, q_bits, p_bits) in expected {
            let want = ParametersBuilder {
                log_n,
                q_bits,
                p_bits,
                log_scale: 40,
                slots: None,
                secret: SecretDistribution::Ternary,
                name: format!("{preset:?}"),
            };
            assert_eq!(preset.builder(), want, "{preset:?}");
        }
        assert_eq!(Preset::InsecureTrainN12.builder().name, "InsecureTrainN12");
        // ALL lists every preset but the training one, in declaration order.
        assert!(!Preset::ALL.contains(&Preset::InsecureTrainN12));
        assert_eq!(Preset::ALL.len(), 8);
    }

    #[test]
    fn bootstrappable_presets_leave_their_computation_levels() {
        for (preset, levels) in
            [(Preset::BootstrapN16, 12), (Preset::InsecureBootstrapN12, 4), (Preset::InsecureTrainN12, 12)]
        {
            let config = preset.bootstrap_config().unwrap();
            assert_eq!(preset.builder().q_bits.len() - 1 - config.depth(), levels, "{preset:?}");
            assert!(preset.is_insecure() == (preset != Preset::BootstrapN16));
        }
        assert!(Preset::LeveledN16.bootstrap_config().is_none());
    }
}
