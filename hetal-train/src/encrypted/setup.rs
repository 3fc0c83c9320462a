//! The public description of a training run, known to both sides: shapes, packing,
//! hyperparameters and the softmax configuration. It holds no key and no data.

use super::EncryptedTrainError;
use crate::data::padded_classes;
use crate::plain::Optimizer;
use crate::softmax::{SoftmaxApproximation, SoftmaxConfig, SoftmaxId, TiledLayout};
use ckks_scheme::Parameters;
use hetal_linalg::{rotation_steps, Algorithm, BlockLayout, CompactRows, Tiling, UnitShape};
use std::collections::BTreeSet;

/// What the client announces to the server before training (spec section 1: data-set size,
/// class count, batch size are not hidden).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSetup {
    /// Real classes.
    pub classes: usize,
    /// Columns of the inputs `b` (features plus the bias column).
    pub inputs: usize,
    /// Mini-batch size (the last batch of an epoch may be shorter).
    pub batch: usize,
    /// Learning rate.
    pub lr: f64,
    /// Update rule (the same `lambda` schedule as [`crate::plain`]).
    pub optimizer: Optimizer,
    /// Which softmax approximation the run uses (what the job manifest records).
    pub softmax_id: SoftmaxId,
    /// Constants of the softmax approximation.
    pub softmax: SoftmaxConfig,
    /// `k` with every weight and momentum entry in `[-2^k, 2^k]`: before a refresh they are
    /// divided by `2^k` (folded into the update's constants, no extra level) so that the
    /// refreshed values stay in `[-1, 1]`, and multiplied back by an integer product afterwards.
    pub weight_bound_log2: u32,
    /// The level at which the client encrypts data (features, labels, initial weights): the
    /// refresh's output level, so that fresh and refreshed ciphertexts look alike.
    pub data_level: usize,
    /// Slots of the parameters.
    pub slots: usize,
}

impl TrainingSetup {
    /// The setup of a run on `features` feature columns (the bias column is added: `inputs =
    /// features + 1`) with the default softmax constants and a weight bound of `2^3`, under
    /// `params`, data encrypted at `data_level`; checked with [`TrainingSetup::check`].
    pub fn new(
        classes: usize,
        features: usize,
        batch: usize,
        lr: f64,
        optimizer: Optimizer,
        params: &Parameters,
        data_level: usize,
    ) -> Result<Self, EncryptedTrainError> {
        let setup = Self {
            classes,
            inputs: features + 1,
            batch,
            lr,
            optimizer,
            softmax_id: SoftmaxId::default(),
            softmax: SoftmaxConfig::default(),
            weight_bound_log2: 3,
            data_level,
            slots: params.slots(),
        };
        setup.check()?;
        Ok(setup)
    }

    /// The shape-only part of a setup (unit shape, layouts, rotations) for `classes` and
    /// `features` in batches of `batch`: what key generation needs before any run is planned.
    /// Its learning rate (1) and optimiser (Nesterov) belong to no run; use [`Self::new`] to
    /// train.
    pub fn for_shape(
        classes: usize,
        features: usize,
        batch: usize,
        params: &Parameters,
        data_level: usize,
    ) -> Result<Self, EncryptedTrainError> {
        Self::new(classes, features, batch, 1.0, Optimizer::Nesterov, params, data_level)
    }

    /// Padded classes `c`.
    pub fn padded_classes(&self) -> usize {
        padded_classes(self.classes)
    }

    /// HETAL's unit shape for the batch (spec section 3), shared by every matrix of the run.
    pub fn unit(&self) -> Result<UnitShape, EncryptedTrainError> {
        Ok(UnitShape::for_product(self.batch, self.padded_classes(), self.slots)?)
    }

    /// The layout of the weights (and momentum): `c x b`, tiled vertically with period `c`.
    pub fn weight_layout(&self) -> Result<BlockLayout, EncryptedTrainError> {
        let c = self.padded_classes();
        Ok(BlockLayout::new(c, self.inputs, self.unit()?, Tiling::Vertical { period: c })?)
    }

    /// The softmax layout of one block of logits.
    pub fn softmax_layout(&self) -> Result<TiledLayout, EncryptedTrainError> {
        let unit = self.unit()?;
        Ok(TiledLayout::new(unit.s0, unit.s1, self.classes)?)
    }

    /// The softmax approximation of the run: [`Self::softmax_id`] built with [`Self::softmax`]
    /// ([`SoftmaxId::build`]). Errors on constants that cannot work.
    pub fn softmax_approximation(&self) -> Result<Box<dyn SoftmaxApproximation>, EncryptedTrainError> {
        Ok(self.softmax_id.build(self.softmax.clone())?)
    }

    /// Every rotation step a training step uses, sorted, without repeats: DiagABT, both
    /// DiagATB variants (the refresh plan picks one per step), the softmax's
    /// ([`SoftmaxApproximation::rotations`] on [`Self::softmax_layout`]) and the unpacking of
    /// the weights' compact refresh ([`hetal_linalg::unpack_rotations`]; at the paper's shapes
    /// DiagATB's already). The client generates a Galois key for each (plus conjugation).
    pub fn rotation_steps(&self) -> Result<Vec<i64>, EncryptedTrainError> {
        let (unit, c) = (self.unit()?, self.padded_classes());
        let mut steps = BTreeSet::new();
        for alg in [Algorithm::DiagAbt, Algorithm::DiagAtb, Algorithm::DiagAtbPRotUp] {
            steps.extend(rotation_steps(alg, unit, c)?);
        }
        steps.extend(self.softmax_approximation()?.rotations(&self.softmax_layout()?));
        steps.extend(hetal_linalg::unpack_rotations(&self.weight_layout()?)?);
        Ok(steps.into_iter().collect())
    }

    /// The compact form of a block of logits ([`CompactRows`]): one copy of each row in
    /// `s0 c` sparse slots, for the compact softmax ([`super::TrainingServer::with_compact_softmax`]).
    /// Errors where the unit shape holds fewer than two copies of a row, or fewer rows than copies.
    pub fn compact_rows(&self) -> Result<CompactRows, EncryptedTrainError> {
        let c = self.padded_classes();
        let layout = BlockLayout::new(self.batch, c, self.unit()?, Tiling::Horizontal { period: c })?;
        CompactRows::new(&layout).map_err(|e| {
            EncryptedTrainError::config(format!(
                "the compact softmax does not fit batch {} with {} classes: {e}; pick another batch or train \
                 without it",
                self.batch, self.classes
            ))
        })
    }

    /// The rotation steps of the compact softmax besides [`Self::rotation_steps`]: the fold's
    /// trace and the unfold ([`CompactRows::rotation_steps`]).
    pub fn compact_rotation_steps(&self, params: &Parameters) -> Result<Vec<i64>, EncryptedTrainError> {
        Ok(self.compact_rows()?.rotation_steps(params)?)
    }

    /// Checks the settings: positive finite learning rate, positive batch, at least 2 classes
    /// (`c >= 2`), inputs present, and the data level able to hold one matrix product and the
    /// update ([`super::plan::MIN_LEVEL`]).
    pub fn check(&self) -> Result<(), EncryptedTrainError> {
        let reason = if !(self.lr.is_finite() && self.lr > 0.0) {
            format!("learning rate {} must be positive", self.lr)
        } else if self.batch == 0 || self.inputs == 0 {
            "batch size and inputs must be positive".into()
        } else if self.classes < 2 {
            "at least 2 classes are needed".into()
        } else if self.data_level < super::plan::MIN_LEVEL {
            format!("data level {} is below the {} levels one step needs", self.data_level, super::plan::MIN_LEVEL)
        } else if self.weight_bound_log2 > 20 {
            format!("weight bound 2^{} is too large", self.weight_bound_log2)
        } else {
            return self.unit().map(|_| ());
        };
        Err(EncryptedTrainError::config(reason))
    }
}
