//! What client and server agree on for one training task: the parameter preset, the task
//! shape (classes, features, batch), the hyperparameters, and the keys that shape needs.

use super::ProtocolError;
use crate::encrypted::{EncryptedTrainError, TrainingSetup};
use crate::plain::{Monitor, Optimizer};
use ckks_scheme::circuits::bootstrap::{BootstrapConfig, BootstrapKeyPlan, Bootstrapper};
use ckks_scheme::{Parameters, ParametersBuilder, Preset, SchemeError};
use serde::{Deserialize, Serialize};

/// A bootstrappable parameter set for training, named in files and on the command line by
/// [`TrainPreset::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainPreset {
    /// N = 2^16, 128-bit secure (HE Standard, dense ternary key), 12 levels after each
    /// bootstrapping. Keys take several GB and minutes to make.
    BootstrapN16,
    /// bootstrap-n16's parameters with bootstrapping's DFT on 8 baby steps
    /// ([`BootstrapConfig::dft_baby_steps`]): 27 Galois keys instead of 43, so about 2.3 GB less
    /// memory for the keys and 1.1 GB less on disk, for about 10 % more time per bootstrap
    /// (docs/BENCHMARKS.md). For machines where memory is short.
    BootstrapN16Compact,
    /// N = 2^12 with 12 levels after bootstrapping, like bootstrap-n16: INSECURE, for tests and
    /// trying the workflow in seconds. Never for real data.
    InsecureTrainN12,
}

impl TrainPreset {
    /// The [`Preset`] this training preset names: its parameters are defined there, once.
    pub fn preset(self) -> Preset {
        match self {
            TrainPreset::BootstrapN16 | TrainPreset::BootstrapN16Compact => Preset::BootstrapN16,
            TrainPreset::InsecureTrainN12 => Preset::InsecureTrainN12,
        }
    }

    /// The parameter literal.
    pub fn builder(self) -> ParametersBuilder {
        self.preset().builder()
    }

    /// Whether the preset is for tests only.
    pub fn is_insecure(self) -> bool {
        self.preset().is_insecure()
    }

    /// Builds the parameters (the secure one is checked against the security table).
    pub fn build(self) -> Result<Parameters, SchemeError> {
        self.preset().build()
    }

    /// Every training preset.
    pub const ALL: [TrainPreset; 3] =
        [TrainPreset::BootstrapN16, TrainPreset::BootstrapN16Compact, TrainPreset::InsecureTrainN12];

    /// The preset of a [`TrainPreset::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The kebab-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            TrainPreset::BootstrapN16 => "bootstrap-n16",
            TrainPreset::BootstrapN16Compact => "bootstrap-n16-compact",
            TrainPreset::InsecureTrainN12 => "insecure-train-n12",
        }
    }

    /// The bootstrapping circuit of this preset: [`training_bootstrap`], on 8 baby steps for
    /// the compact preset.
    pub fn bootstrap_config(self) -> BootstrapConfig {
        let dft_baby_steps = match self {
            TrainPreset::BootstrapN16Compact => Some(COMPACT_BABY_STEPS),
            TrainPreset::BootstrapN16 | TrainPreset::InsecureTrainN12 => None,
        };
        BootstrapConfig { dft_baby_steps, ..training_bootstrap() }
    }
}

/// The DFT's baby steps of `bootstrap-n16-compact`: 27 Galois keys at full slots.
const COMPACT_BABY_STEPS: usize = 8;

/// The bootstrapping circuit of every training preset: the standard order
/// ([`BootstrapConfig::standard`]).
///
/// SlotToCoeff first ([`BootstrapConfig::slim`]) bootstraps in 0.88x the time, but its data
/// sits 3 levels higher (15 instead of 12 at `bootstrap-n16`, the same 12 levels for
/// computation), so every product of a step runs over 3 more primes: measured side by side at
/// the Face Mask shape, a step took 1.05x the standard order's time (docs/BENCHMARKS.md). The
/// training runs in either ([`job_bootstrapper`], [`crate::softmax::Refresh::input_level`]).
pub fn bootstrapper(preset: TrainPreset, params: &Parameters) -> Result<Bootstrapper, SchemeError> {
    Bootstrapper::new(params, preset.bootstrap_config())
}

/// [`bootstrapper`]'s configuration (up to the baby steps of [`TrainPreset::bootstrap_config`]),
/// for what it determines without building the circuit (the data level:
/// [`BootstrapConfig::output_level`]).
pub fn training_bootstrap() -> BootstrapConfig {
    BootstrapConfig::standard()
}

/// The circuit of a job of `preset` whose data sits at `data_level`: the standard order's at its
/// output level, SlotToCoeff first's at its own (3 levels higher), `None` at any other level.
pub fn job_bootstrapper(
    preset: TrainPreset,
    params: &Parameters,
    data_level: usize,
) -> Result<Option<Bootstrapper>, SchemeError> {
    let standard = preset.bootstrap_config();
    let slim = BootstrapConfig { slots_to_coeff_first: true, ..standard.clone() };
    for config in [standard, slim] {
        if config.output_level(params.max_level()) == Some(data_level) {
            return Bootstrapper::new(params, config).map(Some);
        }
    }
    Ok(None)
}

/// The circuit of the compact softmax of `setup` next to `boot`: the same configuration on the
/// `s0 c` slots of [`TrainingSetup::compact_rows`] ([`Bootstrapper::with_slots`]).
pub fn sparse_bootstrapper(
    params: &Parameters,
    boot: &Bootstrapper,
    setup: &TrainingSetup,
) -> Result<Bootstrapper, EncryptedTrainError> {
    let slots = setup.compact_rows()?.slots();
    Ok(Bootstrapper::with_slots(params, boot.config().clone(), slots)?)
}

/// The shape of a task: what the server learns about the data (spec section 1: data-set size,
/// class count and batch size are not hidden).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskShape {
    /// Real classes.
    pub classes: usize,
    /// Features per sample (without the bias column).
    pub features: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// The compact softmax ([`crate::encrypted::TrainingServer::with_compact_softmax`]): the
    /// logits' rows folded into `s0 c` sparse slots and refreshed by a bootstrapper of that many
    /// slots. The keys cover it (its rotations, the sparse circuit's keys); false in files that
    /// predate it.
    #[serde(default)]
    pub compact_softmax: bool,
}

/// Hyperparameters of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// Learning rate.
    pub lr: f64,
    /// `nesterov` or `gd`.
    pub optimizer: String,
    /// Early-stopping patience (epochs without a better monitored value).
    pub patience: usize,
    /// What early stopping watches; a job file without the field watches the loss (the only
    /// rule before the field existed).
    #[serde(default)]
    pub monitor: Monitor,
    /// Maximum number of epochs.
    pub max_epochs: usize,
}

/// Most epochs a run may ask for.
pub const MAX_EPOCHS: usize = 100_000;
/// The largest learning rate accepted: features are scaled to norm at most 1, and the paper's
/// rates are 0.5-2 (spec section 6); far beyond this the weights leave the softmax
/// approximation's domain at once.
pub const MAX_LR: f64 = 1000.0;

impl Hyper {
    /// Checks the values: a learning rate in `(0, MAX_LR]`, a known optimizer, a patience of at
    /// least 1, `1..=MAX_EPOCHS` epochs.
    pub fn check(&self) -> Result<(), ProtocolError> {
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= MAX_LR) {
            return Err(ProtocolError::usage(format!("learning rate {} is outside (0, {MAX_LR}]", self.lr)));
        }
        self.optimizer()?;
        if self.patience == 0 {
            return Err(ProtocolError::usage("patience 0: early stopping needs at least 1 epoch"));
        }
        if !(1..=MAX_EPOCHS).contains(&self.max_epochs) {
            return Err(ProtocolError::usage(format!("{} epochs (1..={MAX_EPOCHS})", self.max_epochs)));
        }
        Ok(())
    }

    /// The optimizer.
    pub fn optimizer(&self) -> Result<Optimizer, ProtocolError> {
        match self.optimizer.as_str() {
            "nesterov" => Ok(Optimizer::Nesterov),
            "gd" => Ok(Optimizer::GradientDescent),
            o => Err(ProtocolError::usage(format!("unknown optimizer '{o}' (nesterov or gd)"))),
        }
    }
}

/// Most classes a task may have (the data layer's bound on class counts).
pub const MAX_CLASSES: usize = 1 << 16;
/// Most features a task may have.
pub const MAX_FEATURES: usize = 1 << 20;
/// The largest mini-batch.
pub const MAX_BATCH: usize = 1 << 20;

/// The keys a task shape needs (what `keygen` makes and the server's bundle holds): the
/// rotations of a training step and bootstrapping's keys.
pub struct KeyPlan {
    /// The unit shape of every matrix of the task.
    pub unit: hetal_linalg::UnitShape,
    /// Every rotation step a training step uses (DiagABT, DiagATB, the softmax).
    pub rotations: Vec<i64>,
    /// The level training starts from (bootstrapping's output level): no training rotation
    /// runs above it, so their keys are made truncated to it.
    pub data_level: usize,
    /// Bootstrapping's keys.
    pub bootstrap: BootstrapKeyPlan,
    /// With the compact softmax, the copies of a row it folds away ([`hetal_linalg::CompactRows::copies`]).
    pub compact_copies: Option<usize>,
}

/// Fewest copies of a row at which the compact softmax is expected to pay: with 2, its sparse
/// bootstraps refresh half of the slots and the unfold costs more than they save (a MNIST-shaped
/// step, `c = 16`, took 1.13x as long with it; Face Mask, 32 copies, 0.75x; the embedded digits,
/// 16 copies, 0.80x; docs/BENCHMARKS.md).
pub const COMPACT_SOFTMAX_MIN_COPIES: usize = 4;

impl KeyPlan {
    /// A warning for the user when the compact softmax was asked for at a shape where it is
    /// expected to be slower ([`COMPACT_SOFTMAX_MIN_COPIES`]); `None` otherwise.
    pub fn compact_warning(&self) -> Option<String> {
        let copies = self.compact_copies.filter(|&f| f < COMPACT_SOFTMAX_MIN_COPIES)?;
        Some(format!(
            "the compact softmax keeps 1 of {copies} copies of a row at this shape (unit {} x {}): its bootstraps \
             refresh {} of the {} slots and save less than the unfold costs, so steps are expected to be slower than \
             without --compact-softmax (a MNIST-shaped step took 1.13x as long), and the bundle is larger",
            self.unit.s0,
            self.unit.s1,
            self.unit.s0 * self.unit.s1 / copies,
            self.unit.s0 * self.unit.s1,
        ))
    }
}

impl TaskShape {
    /// The shape of `classes` and `features` in batches of `batch`, with the compact softmax as
    /// `compact` says, or where it is the default when `None`
    /// ([`TaskShape::compact_softmax_by_default`]).
    pub fn new(classes: usize, features: usize, batch: usize, compact: Option<bool>, params: &Parameters) -> Self {
        let compact_softmax =
            compact.unwrap_or_else(|| Self::compact_softmax_by_default(classes, features, batch, params));
        Self { classes, features, batch, compact_softmax }
    }

    /// Whether keys are made for the compact softmax when the user says neither way: for 2
    /// classes, when the unit shape holds at least [`COMPACT_SOFTMAX_MIN_COPIES`] copies of a
    /// row. There every bootstrap of a step runs on the folded rows (the logistic softmax's
    /// and `D`'s), so sparse slots save most: a Face Mask step (32 copies) spent 41 % of its
    /// time bootstrapping against 55 %, for a bundle of 2.4 GB against 1.8 GB and a server
    /// peak about 2.5 GB higher (docs/BENCHMARKS.md). With more classes it stays opt-in: the
    /// softmax's own refreshes dominate and the server's memory is larger to begin with.
    pub fn compact_softmax_by_default(classes: usize, features: usize, batch: usize, params: &Parameters) -> bool {
        classes == 2
            && TrainingSetup::for_shape(classes, features, batch, params, params.max_level())
                .and_then(|setup| setup.compact_rows())
                .is_ok_and(|rows| rows.copies() >= COMPACT_SOFTMAX_MIN_COPIES)
    }

    /// The key plan of this shape under `preset` (its circuit, [`TrainPreset::bootstrap_config`])
    /// and its `params`: rotations depend on the shape and the softmax layout only, never on the
    /// hyperparameters.
    pub fn key_plan(&self, preset: TrainPreset, params: &Parameters) -> Result<KeyPlan, EncryptedTrainError> {
        let boot = bootstrapper(preset, params)?;
        let setup = TrainingSetup::for_shape(self.classes, self.features, self.batch, params, boot.output_level())?;
        let mut rotations = setup.rotation_steps()?;
        let mut bootstrap = boot.key_plan();
        let mut compact_copies = None;
        if self.compact_softmax {
            let rows = setup.compact_rows()?;
            compact_copies = Some(rows.copies());
            rotations.extend(rows.rotation_steps(params)?);
            rotations.sort_unstable();
            rotations.dedup();
            let sparse = sparse_bootstrapper(params, &boot, &setup)?;
            bootstrap = bootstrap.union(&sparse.key_plan())?;
        }
        // The circuit's encoded DFT matrices take GBs at N = 2^16 and key generation needs only
        // its list of keys: `boot` is dropped here, before any key is made (peak 19.5 -> 15.7 GB
        // at the Face Mask shape).
        Ok(KeyPlan { unit: setup.unit()?, rotations, data_level: boot.output_level(), bootstrap, compact_copies })
    }

    /// Checks the shape read from a file before anything is sized by it: `2..=MAX_CLASSES`
    /// classes, `1..=MAX_FEATURES` features, a batch in `1..=MAX_BATCH`.
    pub fn check(&self) -> Result<(), ProtocolError> {
        if !(2..=MAX_CLASSES).contains(&self.classes)
            || !(1..=MAX_FEATURES).contains(&self.features)
            || !(1..=MAX_BATCH).contains(&self.batch)
        {
            return Err(ProtocolError::usage(format!(
                "task of {} classes, {} features, batch {} (classes 2..={MAX_CLASSES}, features 1..={MAX_FEATURES}, \
                 batch 1..={MAX_BATCH})",
                self.classes, self.features, self.batch
            )));
        }
        Ok(())
    }

    /// The training setup for this shape under `params`, with data encrypted at the
    /// bootstrapping's output level (fresh and refreshed ciphertexts look alike).
    pub fn setup(
        &self,
        params: &Parameters,
        data_level: usize,
        hyper: &Hyper,
    ) -> Result<TrainingSetup, EncryptedTrainError> {
        let optimizer = hyper.optimizer().map_err(|e| EncryptedTrainError::config(e.to_string()))?;
        TrainingSetup::new(self.classes, self.features, self.batch, hyper.lr, optimizer, params, data_level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The compact preset runs the same circuit on 8 baby steps, in both orders, at the same
    /// levels: a job of it gets that circuit. (Its 27 keys against 43 are a property of
    /// `N = 2^16`, measured in docs/BENCHMARKS.md; at `N = 2^12`, used here because building the
    /// secure circuit is slow, both circuits need the same keys with the runs the DFTs' cost
    /// model picks at that size.)
    #[test]
    fn a_compact_job_gets_the_compact_circuit() {
        let compact = TrainPreset::BootstrapN16Compact;
        assert_eq!((compact.preset(), compact.name()), (Preset::BootstrapN16, "bootstrap-n16-compact"));
        assert_eq!(TrainPreset::from_name("bootstrap-n16-compact"), Some(compact));
        let p = TrainPreset::InsecureTrainN12.build().unwrap();
        for level in [12, 15] {
            let boot = job_bootstrapper(compact, &p, level).unwrap().unwrap();
            assert_eq!((boot.output_level(), boot.config().dft_baby_steps), (level, Some(COMPACT_BABY_STEPS)));
            let fast = job_bootstrapper(TrainPreset::InsecureTrainN12, &p, level).unwrap().unwrap();
            assert_eq!(fast.config().dft_baby_steps, None);
        }
    }

    /// The key plan tells a shape with 2 copies of a row apart from one with more: only the
    /// first gets the compact softmax's warning, and only when it was asked for.
    #[test]
    fn the_compact_softmax_warns_at_two_copies() {
        let preset = TrainPreset::InsecureTrainN12;
        let p = preset.build().unwrap();
        let plan = |batch, compact_softmax| {
            TaskShape { classes: 3, features: 7, batch, compact_softmax }.key_plan(preset, &p).unwrap()
        };
        let mut seen = BTreeSet::new();
        for batch in [16, 32, 64, 128, 256, 512] {
            assert_eq!(plan(batch, false).compact_warning(), None);
            let Ok(compact) = TaskShape { classes: 3, features: 7, batch, compact_softmax: true }.key_plan(preset, &p)
            else {
                continue;
            };
            let copies = compact.compact_copies.unwrap();
            assert_eq!(copies, compact.unit.s1 / 4, "batch {batch}");
            let warning = compact.compact_warning();
            assert_eq!(warning.is_some(), copies < COMPACT_SOFTMAX_MIN_COPIES, "batch {batch}: {warning:?}");
            if let Some(w) = warning {
                assert!(w.contains(&format!("1 of {copies} copies")), "{w}");
            }
            seen.insert(copies < COMPACT_SOFTMAX_MIN_COPIES);
        }
        assert_eq!(seen.len(), 2, "the batches above give both kinds of shape");
    }

    /// Without a choice, 2 classes get the compact softmax exactly where its plan holds at
    /// least [`COMPACT_SOFTMAX_MIN_COPIES`] copies of a row (no warning), other class counts
    /// never; a choice is kept either way.
    #[test]
    fn the_compact_softmax_is_the_default_for_two_classes_with_copies_to_spare() {
        let preset = TrainPreset::InsecureTrainN12;
        let p = preset.build().unwrap();
        let mut seen = BTreeSet::new();
        for batch in [1, 16, 64, 256, 1024, 2048] {
            let shape = TaskShape::new(2, 7, batch, None, &p);
            let copies = TaskShape { compact_softmax: true, ..shape.clone() }
                .key_plan(preset, &p)
                .ok()
                .and_then(|plan| plan.compact_copies);
            let expected = copies.is_some_and(|c| c >= COMPACT_SOFTMAX_MIN_COPIES);
            assert_eq!(shape.compact_softmax, expected, "batch {batch}, copies {copies:?}");
            seen.insert(expected);
            assert!(!TaskShape::new(3, 7, batch, None, &p).compact_softmax, "batch {batch}");
            for choice in [false, true] {
                assert_eq!(TaskShape::new(2, 7, batch, Some(choice), &p).compact_softmax, choice);
            }
        }
        assert_eq!(seen.len(), 2, "the batches above give both kinds of shape");
    }

    #[test]
    fn presets_build_and_leave_enough_levels_for_a_step() {
        let p = TrainPreset::InsecureTrainN12.build().unwrap();
        let b = bootstrapper(TrainPreset::InsecureTrainN12, &p).unwrap();
        assert_eq!((b.input_level(), b.output_level()), (0, 12));
        assert_eq!(training_bootstrap().output_level(p.max_level()), Some(12));
        // A job runs the circuit of its data level: SlotToCoeff first refreshes from 3 to 15,
        // the same 12 levels.
        let job = |level| job_bootstrapper(TrainPreset::InsecureTrainN12, &p, level).unwrap();
        let slim = job(15).unwrap();
        assert_eq!((slim.input_level(), slim.output_level()), (3, 15));
        assert_eq!(job(12).unwrap().input_level(), 0);
        assert!(job(13).is_none());
        let shape = TaskShape { classes: 3, features: 15, batch: 16, compact_softmax: false };
        let hyper = Hyper { lr: 1.0, optimizer: "nesterov".into(), patience: 3, monitor: Monitor::Loss, max_epochs: 5 };
        let setup = shape.setup(&p, b.output_level(), &hyper).unwrap();
        assert_eq!(setup.padded_classes(), 4);
        assert!(!setup.rotation_steps().unwrap().is_empty());
        // The secure preset's literal passes the security table (building it is slow: the
        // literal check is what matters here).
        assert!(!TrainPreset::BootstrapN16.is_insecure());
        let bad = Hyper { optimizer: "adam".into(), ..hyper };
        assert!(shape.setup(&p, 12, &bad).unwrap_err().to_string().contains("adam"));
    }
}
