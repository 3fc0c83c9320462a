//! The seam between the training code and a softmax approximation: the
//! [`SoftmaxApproximation`] trait, its stable identifier [`SoftmaxId`] and the constructor
//! [`SoftmaxId::build`].
//!
//! An approximation pairs four things that must agree with each other:
//!
//! | method | what it is | who reads it |
//! |---|---|---|
//! | [`row`](SoftmaxApproximation::row) / [`rows`](SoftmaxApproximation::rows) | the `f64` mirror, stage for stage what the circuit computes | the plaintext trainer ([`crate::plain::SoftmaxKind::Approx`]), the tests (oracle) |
//! | [`evaluate`](SoftmaxApproximation::evaluate) | the circuit on ciphertexts in the [`TiledLayout`], refreshing through a [`Refresh`] between stages | the server ([`crate::encrypted::TrainingServer::step`], through [`super::EncryptedSoftmax`]) |
//! | [`stages`](SoftmaxApproximation::stages) / [`depth`](SoftmaxApproximation::depth) | the levels of each stage | the refresh plan ([`crate::encrypted::plan::check_softmax`]), the step report, the tests |
//! | [`rotations`](SoftmaxApproximation::rotations) | the rotation steps of the circuit | [`crate::encrypted::TrainingSetup::rotation_steps`] (the client's Galois keys) |
//!
//! plus [`id`](SoftmaxApproximation::id), which the job manifest records, so that a job is
//! always run, resumed and checked with the approximation it was set up with.
//!
//! The paper's pipeline ([`HetalSoftmax`], id [`SoftmaxId::Hetal`], serde name `"hetal"`) is
//! the first implementation; normalize-and-square ([`super::NormalizeSquareSoftmax`], id
//! [`SoftmaxId::NormalizeAndSquare`], `"normalize-and-square"`) the second, and the logistic
//! function of two classes ([`super::LogisticSoftmax`], [`SoftmaxId::Logistic`], `"logistic"`)
//! the third.
//!
//! # Adding a second approximation
//!
//! 1. Add a variant to [`SoftmaxId`] (its kebab-case serde name is what `--softmax` and the
//!    job manifest use; never rename an existing one) and a name in [`SoftmaxId::ALL`] and
//!    [`SoftmaxId::as_str`].
//! 2. Write the type (a sibling of `hetal.rs`, with its own `mirror`/circuit files as needed),
//!    derive `Clone` and `Debug` (the [`SoftmaxApproximationClone`] blanket impl then gives the
//!    boxed clone), and implement [`SoftmaxApproximation`]:
//!    * `id`: the new variant;
//!    * `row`: the `f64` mirror, evaluating the *same* polynomial objects in the *same* order
//!      as the circuit, so that the encrypted output equals it up to encryption noise;
//!    * `stages`: one [`Stage`] per refresh unit, with the levels measured on ciphertexts, for a
//!      number of real classes (`supports` refuses the counts it cannot run);
//!    * `rotations`: every rotation step `evaluate` performs on `layout`, if other than the
//!      default (HETAL's `+-2^t`, which all three use);
//!    * `evaluate`: the circuit. Its first stage works on the raw logits (up to the input bound
//!      in magnitude, never refreshed: bootstrapping needs `[-1, 1]`), so it must fit the
//!      levels the logits arrive with (`crate::encrypted::plan::SOFTMAX_ENTRY_LEVELS`, checked
//!      by `check_softmax`) and bring the values into `[-1, 1]`; every later value that may be
//!      refreshed must stay in `[-1, 1]`. Refresh (through `Refresh::refresh`) whenever a stage
//!      needs more levels than its operand has, and record the levels each stage consumed in
//!      the returned [`SoftmaxRun`]. Padded classes of the output must be 0 (the gradient
//!      relies on it).
//! 3. Construct it in [`SoftmaxId::build`].
//! 4. Tests, as `tests.rs` and `encrypted_tests.rs` do for HETAL: the mirror against a
//!    reference written independently (and against the exact softmax within the approximation's
//!    error), the encrypted output against the mirror with the
//!    [`super::InsecureDecryptReencryptRefresh`] double, and `SoftmaxRun::stages` equal to
//!    `stages(classes)` for a few class counts (`encrypted_tests::check_approximation` does all
//!    three for any `&dyn SoftmaxApproximation`); the id's serde round trip (below); the plan's entry check
//!    (`encrypted::plan` tests). `tests/encrypted.rs` then compares encrypted training steps
//!    with the plaintext trainer through the same trait object.

use super::{
    HetalSoftmax, LogisticSoftmax, NormalizeSquareSoftmax, Refresh, SoftmaxConfig, SoftmaxError, SoftmaxRun, Stage,
    TiledLayout,
};
use crate::matrix::Matrix;
use ckks_scheme::{Ciphertext, Evaluator};
use hetal_linalg::CompactRows;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an encrypted softmax runs on: the evaluator, the refresh hook between stages, the
/// layout of the logits and the logits themselves.
#[derive(Clone, Copy)]
pub struct SoftmaxInput<'a> {
    /// The evaluator (relinearization and the keys of [`SoftmaxApproximation::rotations`]).
    pub eval: &'a Evaluator,
    /// Called on an operand whenever the next stage needs more levels than it has.
    pub refresh: &'a dyn Refresh,
    /// The layout of the logits.
    pub layout: &'a TiledLayout,
    /// The logits.
    pub x: &'a Ciphertext,
    /// `Some`: `x` is a full tiled block whose rows the first stage folds into their compact
    /// form with its mask (no extra level); the output and every refresh
    /// are then compact (`n` sparse slots). `None`: the output has `x`'s layout.
    pub fold: Option<&'a CompactRows>,
}

/// The stable name of a softmax approximation: what the job manifest records and `--softmax`
/// selects. Serialized in kebab-case (`"hetal"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SoftmaxId {
    /// The paper's pipeline (Lee et al., ICML 2023, spec section 5): [`HetalSoftmax`], 62 to
    /// 82 levels.
    Hetal,
    /// Normalize-and-square (Cho, Hanrot, Kim, Park, Stehle, CCS 2024):
    /// [`super::NormalizeSquareSoftmax`], 30 levels up to 3 classes, 37 up to 10, 51-52 up to
    /// 16. The default: its error is 100 (3 classes) to 14 (10 classes) times below the paper's
    /// and plaintext training with it matches the exact softmax on every shared data set
    /// (docs/TRAINING.md).
    #[default]
    NormalizeAndSquare,
    /// The logistic function of the logits' difference, for 2 classes only:
    /// [`super::LogisticSoftmax`], 11 levels, one polynomial of degree 1023 within 2.2e-6 of
    /// the exact softmax on `[-128, 128]`.
    Logistic,
}

impl SoftmaxId {
    /// Every approximation, in the order a help text lists them.
    pub const ALL: [SoftmaxId; 3] = [SoftmaxId::Hetal, SoftmaxId::NormalizeAndSquare, SoftmaxId::Logistic];

    /// What a job manifest written before the field existed trained with: HETAL's (the only
    /// one then). Not the default, so that an old job is never resumed with another softmax.
    pub fn legacy() -> Self {
        SoftmaxId::Hetal
    }

    /// The approximation a job gets when none is named: [`SoftmaxId::Logistic`] for 2 classes
    /// (11 levels against 30, and 2.2e-6 against 2e-5 from the exact softmax: at Face Mask an
    /// epoch takes 0.72x the time, docs/BENCHMARKS.md), [`SoftmaxId::NormalizeAndSquare`]
    /// (the [`Default`]) for any other count.
    pub fn for_classes(classes: usize) -> Self {
        if classes == super::logistic::CLASSES {
            SoftmaxId::Logistic
        } else {
            SoftmaxId::default()
        }
    }

    /// The name, as serde writes it and [`FromStr`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            SoftmaxId::Hetal => "hetal",
            SoftmaxId::NormalizeAndSquare => "normalize-and-square",
            SoftmaxId::Logistic => "logistic",
        }
    }

    /// The approximation of this id with the constants of `config`. Errors if the constants
    /// cannot work (non-finite, empty `exp` polynomial).
    pub fn build(self, config: SoftmaxConfig) -> Result<Box<dyn SoftmaxApproximation>, SoftmaxError> {
        match self {
            SoftmaxId::Hetal => Ok(Box::new(HetalSoftmax::new(config)?)),
            SoftmaxId::NormalizeAndSquare => Ok(Box::new(NormalizeSquareSoftmax::new(&config)?)),
            SoftmaxId::Logistic => Ok(Box::new(LogisticSoftmax::new(&config)?)),
        }
    }
}

impl fmt::Display for SoftmaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SoftmaxId {
    type Err = SoftmaxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|id| id.as_str() == s).ok_or_else(|| SoftmaxError::Config {
            reason: format!(
                "unknown softmax approximation {s:?} (known: {})",
                Self::ALL.map(SoftmaxId::as_str).join(", ")
            ),
        })
    }
}

/// A row-wise softmax approximation: its `f64` mirror, its circuit on ciphertexts in the
/// horizontally tiled layout, the levels of its stages and the rotations it needs, which must
/// all describe the same computation. See the [module documentation](self) for how to add one.
///
/// Object safe; the training code holds a `Box<dyn SoftmaxApproximation>` (cloneable through
/// [`SoftmaxApproximationClone`]). Calls are one virtual call per row (mirror) or per block of
/// logits (circuit), never per slot.
pub trait SoftmaxApproximation: SoftmaxApproximationClone + fmt::Debug + Send + Sync {
    /// The stable identifier (recorded in the job manifest). Free.
    fn id(&self) -> SoftmaxId;

    /// The `f64` mirror of one row: the approximate softmax of `logits` (the real classes; the
    /// implementation pads to `c` internally), written to `out` (same length). No encryption,
    /// no levels; it computes stage for stage what [`Self::evaluate`] computes on ciphertexts,
    /// so it is the oracle of the encrypted tests and the softmax of the plaintext trainer.
    /// Inputs are expected within the approximation's input bound (`R_max = 128` for HETAL).
    fn row(&self, logits: &[f64], out: &mut [f64]);

    /// [`Self::row`] on every row of `logits` (`n x classes`), giving `n x classes`.
    fn rows(&self, logits: &Matrix) -> Matrix {
        let mut out = Matrix::zeros(logits.rows, logits.cols);
        for i in 0..logits.rows {
            self.row(logits.row(i), out.row_mut(i));
        }
        out
    }

    /// The stages of the circuit for `classes` real classes (padded to `c`, the next power of
    /// two, in the layout), in order, with the levels each consumes on ciphertexts.
    /// [`SoftmaxRun::stages`] of every [`Self::evaluate`] equals this (refreshes restore levels
    /// between stages, never inside one). The first stage consumes levels of the input, which is
    /// never refreshed. HETAL's depend on `c` only; passing `c` itself is the same.
    fn stages(&self, classes: usize) -> Vec<Stage>;

    /// The multiplicative depth for `classes` real classes: the sum of [`Self::stages`]' levels.
    fn depth(&self, classes: usize) -> usize {
        self.stages(classes).iter().map(|s| s.levels).sum()
    }

    /// The levels a refresh must give (its output level less its input level) for
    /// [`Self::evaluate`] on `classes` real classes: stages refresh before them, never inside,
    /// so by default the deepest stage's. The refresh window the server checks when it starts
    /// (`crate::encrypted::plan::check_softmax_window`) and every circuit checks when it runs.
    fn refresh_window(&self, classes: usize) -> usize {
        self.stages(classes).iter().map(|s| s.levels).max().unwrap_or(0)
    }

    /// Errors if the approximation cannot run on `classes` real classes (then [`Self::row`]
    /// gives NaN and [`Self::stages`] a stage no chain holds). Every class count by default.
    fn supports(&self, classes: usize) -> Result<(), SoftmaxError> {
        let _ = classes;
        Ok(())
    }

    /// The rotation steps [`Self::evaluate`] performs on `layout` (the client generates a
    /// Galois key for each), in any order, possibly with repeats. By default HETAL's,
    /// [`TiledLayout::rotations`] (`+-2^t` for `t < log2 c`), which every approximation here
    /// uses, so that one key set (`hetal keygen` names no softmax) serves them all.
    fn rotations(&self, layout: &TiledLayout) -> Vec<i64> {
        layout.rotations()
    }

    /// The circuit: the approximate softmax of every row of `x` (logits tiled in `layout`,
    /// whose slot count is the parameters'), in the same layout with padded classes 0.
    /// Consumes the levels of [`Self::stages`]`(layout.c)`, calling `refresh` on an operand
    /// whenever the next stage needs more levels than it has; needs relinearization and the
    /// keys of [`Self::rotations`]. Returns the output and what the run did (levels per stage,
    /// refreshes). Errors if a stage is deeper than `refresh.output_level()`, on a missing key
    /// or a failed refresh.
    fn evaluate(&self, input: SoftmaxInput<'_>) -> Result<(Ciphertext, SoftmaxRun), SoftmaxError>;
}

/// The boxed clone of a [`SoftmaxApproximation`], so that `Box<dyn SoftmaxApproximation>` is
/// `Clone`. Implemented for every `Clone` approximation; implementers derive `Clone` and need
/// nothing else.
pub trait SoftmaxApproximationClone {
    /// A boxed copy of `self`.
    fn clone_box(&self) -> Box<dyn SoftmaxApproximation>;
}

impl<T: SoftmaxApproximation + Clone + 'static> SoftmaxApproximationClone for T {
    fn clone_box(&self) -> Box<dyn SoftmaxApproximation> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn SoftmaxApproximation> {
    fn clone(&self) -> Self {
        self.as_ref().clone_box()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_round_trips_through_serde_and_its_name() {
        for id in SoftmaxId::ALL {
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
            assert_eq!(serde_json::from_str::<SoftmaxId>(&json).unwrap(), id);
            assert_eq!(id.to_string().parse::<SoftmaxId>().unwrap(), id);
            assert_eq!(id.build(SoftmaxConfig::default()).unwrap().id(), id);
        }
        // The manifest's name of the paper's pipeline is fixed.
        assert_eq!(serde_json::to_string(&SoftmaxId::Hetal).unwrap(), "\"hetal\"");
        assert_eq!(SoftmaxId::default(), SoftmaxId::NormalizeAndSquare);
        assert_eq!(SoftmaxId::for_classes(2), SoftmaxId::Logistic);
        for classes in [1, 3, 10, 16] {
            assert_eq!(SoftmaxId::for_classes(classes), SoftmaxId::NormalizeAndSquare);
        }
        assert_eq!(SoftmaxId::legacy(), SoftmaxId::Hetal);
        assert!(serde_json::from_str::<SoftmaxId>("\"Hetal\"").is_err());
        assert!(matches!("cho".parse::<SoftmaxId>(), Err(SoftmaxError::Config { .. })));
        let bad = SoftmaxConfig { r: f64::NAN, ..SoftmaxConfig::default() };
        assert!(SoftmaxId::Hetal.build(bad).is_err());
    }

    /// The trait object is the concrete pipeline, bit for bit, and clones to an equal one.
    #[test]
    fn trait_object_is_the_hetal_pipeline() {
        let cfg = SoftmaxConfig::default();
        let concrete = HetalSoftmax::new(cfg.clone()).unwrap();
        let boxed = SoftmaxId::Hetal.build(cfg.clone()).unwrap();
        let cloned = boxed.clone();
        let logits = Matrix::from_vec(3, 10, (0..30).map(|k| (k as f64 * 37.0) % 250.0 - 125.0).collect()).unwrap();
        let expected = concrete.rows(&logits);
        for a in [&boxed, &cloned] {
            assert_eq!(a.rows(&logits).data, expected.data);
            for c in [2, 4, 16] {
                assert_eq!(a.stages(c), cfg.stages(c));
                assert_eq!(a.depth(c), cfg.depth(c));
            }
            let layout = TiledLayout::new(4, 32, 10).unwrap();
            assert_eq!(a.rotations(&layout), layout.rotations());
        }
        assert_eq!((boxed.depth(16), boxed.depth(4)), (82, 62));
    }
}
