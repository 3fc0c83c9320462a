//! Where a training step refreshes, chosen to minimise the refreshed ciphertexts.
//!
//! Levels of one step (data at level `L`, the refresh's output level):
//!
//! | stage | formula | levels |
//! |---|---|---|
//! | forward | `Z = DiagABT(X, W)` | 2 ([`DIAG_ABT_DEPTH`], the shared placement) |
//! | softmax | `P = softmax(Z)`, padded classes masked | [`SoftmaxApproximation::depth`] (its [`stages`](SoftmaxApproximation::stages)), refreshing inside |
//! | difference | `D = P - Y` (`Y` matched to the level and scale of `P`) | 0 on `P` |
//! | backward | `G = DiagATB(D, X)` | 3 (PRotUp when `D` sits below `X`) |
//! | update | `W' = a W + b G + e V` (constants fold `lr / n`, `eta` and the refresh pre-scale) | 1 |
//!
//! Invariant: the weights enter a step at level `>= 3` ([`WEIGHT_ENTRY_LEVEL`]: the forward
//! product and the softmax's first stage, so the logits, which may reach 128, are never
//! refreshed; [`check_softmax`] holds an approximation's stage table to it). Two places may
//! refresh besides the softmax: `D` (its `A'` blocks, values in `[-1, 1]`), mandatory when `D`
//! has fewer than 4 levels, and the new weights and momentum (`B'` blocks each), mandatory when
//! they land below the invariant. Refreshing `D` early can spare the weights' refresh;
//! [`plan_backward`] compares both counts.

use super::EncryptedTrainError;
use crate::softmax::{refreshes_for, SoftmaxApproximation};
use hetal_linalg::DIAG_ABT_DEPTH;

/// Levels the weights need when a step starts: the forward product and one for the softmax's
/// normalisation.
pub const WEIGHT_ENTRY_LEVEL: usize = DIAG_ABT_DEPTH + 1;

/// Levels the softmax's first stage may take from the logits: what [`WEIGHT_ENTRY_LEVEL`]
/// leaves after the forward product. The logits are never refreshed (they exceed
/// bootstrapping's `[-1, 1]`), so the first stage must bring them into range within these.
pub const SOFTMAX_ENTRY_LEVELS: usize = WEIGHT_ENTRY_LEVEL - DIAG_ABT_DEPTH;

/// Checks that `softmax` runs on `classes` real classes
/// ([`SoftmaxApproximation::supports`]) and fits the step's level invariant: its first stage
/// ([`SoftmaxApproximation::stages`]) needs at most [`SOFTMAX_ENTRY_LEVELS`]. The
/// normalisations of both approximations need 1.
pub fn check_softmax(softmax: &dyn SoftmaxApproximation, classes: usize) -> Result<(), EncryptedTrainError> {
    softmax.supports(classes).map_err(|e| EncryptedTrainError::config(format!("softmax {}: {e}", softmax.id())))?;
    let first = softmax.stages(classes).first().map_or(0, |s| s.levels);
    if first > SOFTMAX_ENTRY_LEVELS {
        return Err(EncryptedTrainError::config(format!(
            "softmax {}: its first stage needs {first} levels of the logits, at most {SOFTMAX_ENTRY_LEVELS} are left",
            softmax.id()
        )));
    }
    Ok(())
}

/// Checks that `softmax` for `classes` runs within the `window` of levels a refresh gives (its
/// output level less its input level; [`SoftmaxApproximation::refresh_window`]), before any
/// step: the logistic softmax's sigmoid needs 10. The error names the deepest stage.
pub fn check_softmax_window(
    softmax: &dyn SoftmaxApproximation,
    classes: usize,
    window: usize,
) -> Result<(), EncryptedTrainError> {
    let needed = softmax.refresh_window(classes);
    if needed <= window {
        return Ok(());
    }
    let deepest = softmax.stages(classes).into_iter().max_by_key(|s| s.levels).map_or("none", |s| s.name);
    Err(EncryptedTrainError::config(format!(
        "softmax {}: its stage {deepest} needs {needed} levels between refreshes, the refresh gives {window}; choose \
         another approximation (--softmax) or parameters with more levels",
        softmax.id()
    )))
}

/// The lowest level, for logits that would arrive at `level`, at which the softmax refreshes
/// at exactly the same points: its first stage's levels above `floor` when, from `level`, it
/// would refresh before its second stage anyway (after the first, fewer levels are left than
/// the second needs; the logistic softmax always does: 1 level, then 10), else `level`. The
/// forward product then runs there, over fewer primes (at Face Mask from up to 10 levels down
/// to 1), and the softmax's entry stage with it; what the softmax refreshes does not change,
/// so neither does the count.
pub fn logits_level(softmax: &dyn SoftmaxApproximation, classes: usize, level: usize, floor: usize) -> usize {
    let stages = softmax.stages(classes);
    let (Some(first), Some(second)) = (stages.first(), stages.get(1)) else { return level };
    let above = level.saturating_sub(floor);
    if above >= first.levels && above - first.levels < second.levels {
        floor + first.levels
    } else {
        level
    }
}

/// The level refreshed weights need, at most `output` (the refresh's output level): the
/// forward product's (`DIAG_ABT_DEPTH` above [`logits_level`] of logits from `output`), or the
/// gradient's from a refreshed `D` (at `l.refreshed`, with the features, classes and floor of
/// the step's [`BackwardLevels`]), whichever is higher. The update lands one below the lower of
/// `G` and `W`, so `W` above that `G` buys nothing, and its unpacking's rotations run over
/// fewer primes: at Face Mask with the logistic softmax level 8 instead of 11.
pub fn weights_level(softmax: &dyn SoftmaxApproximation, classes: usize, output: usize, l: &BackwardLevels) -> usize {
    let f = l.floor;
    let forward = DIAG_ABT_DEPTH + logits_level(softmax, classes, output.saturating_sub(DIAG_ABT_DEPTH), f);
    let gradient = l
        .refreshed
        .checked_sub(f)
        .zip(l.features.checked_sub(f))
        .and_then(|(d, x)| atb_output_level(d, x, l.c))
        .map_or(output, |g| g + f);
    forward.max(gradient).max(f + WEIGHT_ENTRY_LEVEL).min(output)
}

/// Levels `D` needs: DiagATB (3, PRotUp) and the update (1).
pub const DIFFERENCE_LEVEL: usize = 4;

/// The smallest data (refresh output) level a step can run with.
pub const MIN_LEVEL: usize = 4;

/// Output level of `DiagATB(A, B)` for inputs at `level_a`, `level_b` and `c` padded classes,
/// with the variant `hetal_linalg::AtbVariant::best_for` picks (`None` if too low).
pub fn atb_output_level(level_a: usize, level_b: usize, c: usize) -> Option<usize> {
    let pre_plain = if c > 2 { 2 } else { 1 };
    let plain = (level_a >= pre_plain + 2 && level_b >= 2).then(|| (level_a - pre_plain).min(level_b) - 2);
    let pre_b = usize::from(c > 2);
    let rot_up = (level_a >= 3 && level_b >= pre_b + 2).then(|| (level_a - 1).min(level_b - pre_b) - 2);
    plain.max(rot_up)
}

/// The lowest level of `A` (at most `level_a`) at which DiagATB of `A` and `B` still gives
/// `out` ([`atb_output_level`]); `None` if `level_a` does not reach it. DiagATB multiplies and
/// rotates at the level of its product, the lower of what `A` and `B` leave, so dropping `A`
/// lowers every operation of it (`B` is dropped inside), and an output above what the update
/// takes buys nothing.
pub fn atb_input_level(level_a: usize, level_b: usize, c: usize, out: usize) -> Option<usize> {
    (0..=level_a).find(|&a| atb_output_level(a, level_b, c).is_some_and(|g| g >= out))
}

/// The refreshes of the backward half of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackwardPlan {
    /// Refresh `D = P - Y` before DiagATB.
    pub refresh_difference: bool,
    /// Refresh the new weights (and momentum) after the update.
    pub refresh_weights: bool,
    /// Level of the update's output.
    pub update_level: usize,
    /// The level `D` (refreshed or not) is dropped to before DiagATB: the lowest whose output
    /// still reaches the update's input level ([`atb_input_level`]).
    pub difference_level: usize,
}

/// Levels and block counts the backward plan depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackwardLevels {
    /// Level of `D`.
    pub difference: usize,
    /// Level of the batch features `X`.
    pub features: usize,
    /// Level of `W` (and of the momentum, at most that).
    pub weights: usize,
    /// The refresh's output level `L`.
    pub refreshed: usize,
    /// The refresh's input level ([`crate::softmax::Refresh::input_level`]): every level
    /// threshold of the plan counts above it, and nothing may fall below it.
    pub floor: usize,
    /// Padded classes.
    pub c: usize,
    /// Blocks of `D` (`A'`).
    pub difference_blocks: usize,
    /// Ciphertexts refreshed when the weights are, by the compact refresh (the packed count
    /// of `B'`, or `2 B'` with momentum, blocks).
    pub weight_blocks: usize,
    /// Ciphertexts refreshed when the weights are and the update lands at level 0, where the
    /// compact refresh has no level for its mask: every block (`B'`, or `2 B'`).
    pub weight_blocks_unpacked: usize,
    /// `D` is compact (the compact softmax): its refresh bootstraps sparse slots, cheaper than
    /// the weights' full-slot refresh and their unpacking, so a tie refreshes `D`.
    pub sparse_difference: bool,
}

/// The plan with the fewest refreshes, ciphertexts counted in pairs ([`refreshes_for`]). Ties
/// go to no refresh of `D`, except where `D` is compact ([`BackwardLevels::sparse_difference`]):
/// then its sparse refresh is cheaper than the weights' (at the Face Mask shape 2.9 s against
/// 4.5 s and 8.5 s of unpacking on 2 cores), and refreshing it every step keeps the weights
/// from ever needing theirs. `None` if no plan works (a refresh level below [`MIN_LEVEL`]).
pub fn plan_backward(l: BackwardLevels) -> Option<BackwardPlan> {
    // Levels above the floor: the thresholds and DiagATB's level arithmetic are the same there.
    let f = l.floor;
    let plan = plan_relative(BackwardLevels {
        // A compact `D` is counted a level lower for its unfold, which follows its refresh: at
        // the floor itself (the logistic softmax's output) it is below the floor here, yet
        // refreshable. Counted as 0 above the floor, it can only be refreshed.
        difference: l.difference.saturating_sub(f),
        features: l.features.checked_sub(f)?,
        weights: l.weights.checked_sub(f)?,
        refreshed: l.refreshed.checked_sub(f)?,
        floor: 0,
        ..l
    })?;
    Some(BackwardPlan { update_level: plan.update_level + f, difference_level: plan.difference_level + f, ..plan })
}

/// [`plan_backward`] with the floor at level 0.
fn plan_relative(l: BackwardLevels) -> Option<BackwardPlan> {
    let option = |refresh_difference: bool| {
        let d = if refresh_difference { l.refreshed } else { l.difference };
        if d < DIFFERENCE_LEVEL {
            return None;
        }
        let g = atb_output_level(d, l.features, l.c)?;
        let update_level = g.min(l.weights).checked_sub(1)?;
        let difference_level = atb_input_level(d, l.features, l.c, update_level + 1)?;
        let refresh_weights = update_level < WEIGHT_ENTRY_LEVEL;
        let weights = if update_level >= 1 { l.weight_blocks } else { l.weight_blocks_unpacked };
        // Each refresh takes its ciphertexts two at a time (Refresh::refresh_all).
        let cost = usize::from(refresh_difference) * refreshes_for(l.difference_blocks)
            + usize::from(refresh_weights) * refreshes_for(weights);
        Some((cost, BackwardPlan { refresh_difference, refresh_weights, update_level, difference_level }))
    };
    match (option(false), option(true)) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 || (b.0 == a.0 && l.sparse_difference) { b.1 } else { a.1 }),
        (a, b) => a.or(b).map(|x| x.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Levels with `a` blocks of `D`, `b` packed ciphertexts of weights and 13 times as many
    /// blocks unpacked.
    fn levels(difference: usize, weights: usize, refreshed: usize, a: usize, b: usize) -> BackwardLevels {
        BackwardLevels {
            difference,
            features: refreshed,
            weights,
            refreshed,
            floor: 0,
            c: 16,
            difference_blocks: a,
            weight_blocks: b,
            weight_blocks_unpacked: 13 * b,
            sparse_difference: false,
        }
    }

    /// Every approximation's first stage (the normalisation, the logistic's difference) fits
    /// the levels the logits arrive with, for the class counts each supports;
    /// normalize-and-square is refused above 16 and the logistic softmax at 3.
    #[test]
    fn softmaxes_fit_the_entry_level() {
        use crate::softmax::SoftmaxId;
        for (id, class_counts) in [
            (SoftmaxId::Hetal, &[2, 4, 16, 64][..]),
            (SoftmaxId::NormalizeAndSquare, &[2, 3, 10, 16]),
            (SoftmaxId::Logistic, &[2]),
        ] {
            let softmax = id.build(Default::default()).unwrap();
            for &classes in class_counts {
                assert_eq!(softmax.stages(classes)[0].levels, SOFTMAX_ENTRY_LEVELS);
                check_softmax(softmax.as_ref(), classes).unwrap();
            }
        }
        let ns = SoftmaxId::NormalizeAndSquare.build(Default::default()).unwrap();
        let err = check_softmax(ns.as_ref(), 17).unwrap_err().to_string();
        assert!(err.contains("normalize-and-square") && err.contains("17"), "{err}");
        let logistic = SoftmaxId::Logistic.build(Default::default()).unwrap();
        let err = check_softmax(logistic.as_ref(), 3).unwrap_err().to_string();
        assert!(err.contains("logistic") && err.contains("not 3"), "{err}");
    }

    /// A stage deeper than the refresh's window is refused with its name and levels.
    /// The stages before which a softmax whose input has `above` levels over the floor
    /// refreshes, for a refresh giving `window` levels: the greedy rule of its circuit
    /// (`Ctx::ensure` before each stage).
    fn refresh_points(stages: &[crate::softmax::Stage], mut above: usize, window: usize) -> Vec<usize> {
        let mut points = Vec::new();
        for (i, stage) in stages.iter().enumerate() {
            if above < stage.levels {
                points.push(i);
                above = window;
            }
            above -= stage.levels;
        }
        points
    }

    /// The logits go down to the softmax's entry level only where every refresh stays where it
    /// was: for the logistic softmax from every level a step can give them, for the others
    /// where their second stage refreshes anyway. Never below the entry stage, never up.
    #[test]
    fn logits_drop_only_where_the_refreshes_stay() {
        use crate::softmax::SoftmaxId;
        let window = 12;
        for (id, classes) in [
            (SoftmaxId::Logistic, &[2][..]),
            (SoftmaxId::NormalizeAndSquare, &[2, 3, 10, 16]),
            (SoftmaxId::Hetal, &[2, 4, 16]),
        ] {
            let softmax = id.build(Default::default()).unwrap();
            for &classes in classes {
                let stages = softmax.stages(classes);
                for floor in [0, 3] {
                    for above in SOFTMAX_ENTRY_LEVELS..=window - DIAG_ABT_DEPTH {
                        let at = logits_level(softmax.as_ref(), classes, floor + above, floor);
                        assert!((floor + SOFTMAX_ENTRY_LEVELS..=floor + above).contains(&at), "{id:?} {classes}");
                        let (old, new) =
                            (refresh_points(&stages, above, window), refresh_points(&stages, at - floor, window));
                        assert_eq!(old, new, "{id:?}, {classes} classes, {above} levels above floor {floor}");
                        if id == SoftmaxId::Logistic {
                            assert_eq!(at, floor + 1);
                        }
                    }
                }
            }
        }
    }

    /// Refreshed weights keep the gradient's level when the forward product needs less: at
    /// Face Mask with the logistic softmax and the compact softmax's unfold, 8 of 12 (11 of
    /// 15 from the floor 3), where the update after them lands at 7 either way; never below the
    /// entry level, never above the refresh.
    #[test]
    fn refreshed_weights_keep_what_the_next_update_uses() {
        use crate::softmax::SoftmaxId;
        let logistic = SoftmaxId::Logistic.build(Default::default()).unwrap();
        // A step's levels at Face Mask: D refreshed at `floor + 12`, `unfold` levels lower.
        let step = |floor: usize, unfold: usize, weights: usize| BackwardLevels {
            c: 2,
            features: floor + 12,
            floor,
            sparse_difference: unfold == 1,
            ..levels(floor + 1, weights, floor + 12 - unfold, 1, 1)
        };
        let at = |floor: usize, unfold| weights_level(logistic.as_ref(), 2, floor + 12, &step(floor, unfold, 3));
        assert_eq!((at(0, 1), at(3, 1), at(0, 0)), (8, 11, 9));
        // What the update after them reaches (the plan with D refreshed) is the same as from
        // weights at the refresh's level.
        for w in [at(0, 1), 12] {
            let plan = plan_backward(step(0, 1, w)).unwrap();
            assert_eq!((plan.refresh_difference, plan.update_level), (true, 7), "weights at {w}");
        }
        let ns = SoftmaxId::NormalizeAndSquare.build(Default::default()).unwrap();
        for classes in [3, 10] {
            let c = crate::data::padded_classes(classes);
            for refreshed in [WEIGHT_ENTRY_LEVEL, 6, 12] {
                let l = BackwardLevels { c, ..levels(1, refreshed, refreshed, 1, 1) };
                let level = weights_level(ns.as_ref(), classes, refreshed, &l);
                assert!((WEIGHT_ENTRY_LEVEL..=refreshed).contains(&level), "{classes} classes: {level}");
            }
        }
    }

    #[test]
    fn refuses_a_stage_deeper_than_the_window() {
        use crate::softmax::SoftmaxId;
        let logistic = SoftmaxId::Logistic.build(Default::default()).unwrap();
        check_softmax_window(logistic.as_ref(), 2, 10).unwrap();
        let err = check_softmax_window(logistic.as_ref(), 2, 9).unwrap_err().to_string();
        assert!(err.contains("logistic") && err.contains("sigmoid needs 10") && err.contains("gives 9"), "{err}");
        let ns = SoftmaxId::NormalizeAndSquare.build(Default::default()).unwrap();
        check_softmax_window(ns.as_ref(), 3, 5).unwrap();
        assert!(check_softmax_window(ns.as_ref(), 3, 4).is_err());
    }

    /// An approximation whose first stage needs 2 levels of the logits is refused.
    #[test]
    fn refuses_a_softmax_deeper_at_entry() {
        use crate::softmax::{HetalSoftmax, SoftmaxError, SoftmaxInput, SoftmaxRun, Stage, TiledLayout};
        use ckks_scheme::Ciphertext;
        #[derive(Clone, Debug)]
        struct DeepEntry(HetalSoftmax);
        impl SoftmaxApproximation for DeepEntry {
            fn id(&self) -> crate::softmax::SoftmaxId {
                self.0.id()
            }
            fn row(&self, logits: &[f64], out: &mut [f64]) {
                self.0.row(logits, out);
            }
            fn stages(&self, c: usize) -> Vec<Stage> {
                let mut s = self.0.stages(c);
                s[0].levels = SOFTMAX_ENTRY_LEVELS + 1;
                s
            }
            fn rotations(&self, layout: &TiledLayout) -> Vec<i64> {
                self.0.rotations(layout)
            }
            fn evaluate(&self, input: SoftmaxInput<'_>) -> Result<(Ciphertext, SoftmaxRun), SoftmaxError> {
                self.0.evaluate(input)
            }
        }
        let deep = DeepEntry(HetalSoftmax::new(Default::default()).unwrap());
        assert!(matches!(check_softmax(&deep, 16), Err(EncryptedTrainError::Config { .. })));
    }

    #[test]
    fn atb_levels_follow_the_variants() {
        // Equal levels: PRotUp, 3 levels.
        assert_eq!(atb_output_level(12, 12, 16), Some(9));
        // A two above B: plain, B - 2.
        assert_eq!(atb_output_level(12, 10, 16), Some(8));
        assert_eq!(atb_output_level(2, 12, 16), None);
        assert_eq!(atb_output_level(3, 12, 2), Some(0));
        assert_eq!(atb_output_level(4, 12, 2), Some(1));
        // The lowest A for an output: each variant's pre-levels, capped by B and by A itself.
        assert_eq!(atb_input_level(12, 12, 16, 5), Some(8));
        assert_eq!(atb_input_level(12, 12, 2, 5), Some(8));
        assert_eq!(atb_input_level(12, 6, 16, 3), Some(6));
        assert_eq!(atb_input_level(12, 6, 16, 4), Some(8));
        assert_eq!(atb_input_level(12, 6, 16, 5), None);
        assert_eq!(atb_input_level(7, 12, 16, 5), None);
    }

    /// A compact `D` changes the plan only on ties, and then refreshes `D` instead of the
    /// weights (the Face Mask shape's second step: `D` at 6 after its unfold, weights at 7).
    #[test]
    fn a_compact_difference_wins_ties() {
        let mut changed = 0;
        for (d, w) in (4..=11).flat_map(|d| (3..=11).map(move |w| (d, w))) {
            let full = BackwardLevels { c: 2, ..levels(d, w, 11, 1, 1) };
            let (a, b) = (plan_backward(full), plan_backward(BackwardLevels { sparse_difference: true, ..full }));
            if a != b {
                let (a, b) = (a.unwrap(), b.unwrap());
                assert!(a.refresh_weights && !a.refresh_difference, "{a:?}");
                assert!(b.refresh_difference && !b.refresh_weights, "{b:?}");
                changed += 1;
            }
        }
        assert!(changed > 0);
        let face_mask = BackwardLevels { c: 2, sparse_difference: true, ..levels(6, 7, 11, 1, 1) };
        let plan = plan_backward(face_mask).unwrap();
        assert!(plan.refresh_difference && !plan.refresh_weights, "{plan:?}");
    }

    /// With SlotToCoeff first the plan is the standard order's shifted up by the floor; `D`
    /// below the floor (a compact `D` at the floor, counted a level lower for its unfold) is
    /// refreshed, and weights below it have no plan.
    #[test]
    fn plans_above_the_floor() {
        for (d, w, x) in (0..=15).flat_map(|d| (0..=15).flat_map(move |w| [(d, w, 15), (d, w, 9)])) {
            let above = plan_backward(BackwardLevels { features: x, floor: 3, ..levels(d, w, 15, 2, 1) });
            // `D` below the floor can only be refreshed, as `D` at the floor itself.
            let shifted = (w >= 3)
                .then(|| plan_backward(BackwardLevels { features: x - 3, ..levels(d.max(3) - 3, w - 3, 12, 2, 1) }))
                .flatten()
                .map(|p| BackwardPlan {
                    update_level: p.update_level + 3,
                    difference_level: p.difference_level + 3,
                    ..p
                });
            assert_eq!(above, shifted, "D at {d}, W at {w}, X at {x}");
            if let Some(p) = above {
                assert!(p.update_level >= 3 && (p.refresh_weights || p.update_level >= 3 + WEIGHT_ENTRY_LEVEL));
            }
        }
    }

    #[test]
    fn plans_the_cheaper_refresh() {
        // D too low: refresh it; weights then land at 12 - 3 - 1 = 8.
        let p = plan_backward(levels(2, 12, 12, 1, 6)).unwrap();
        assert!(p.refresh_difference && !p.refresh_weights && p.update_level == 8);
        assert_eq!(p.difference_level, 12);
        // Weights at 6: the update lands at 5, so DiagATB needs D at 9 only, not at 12.
        let p = plan_backward(levels(2, 6, 12, 1, 6)).unwrap();
        assert!(p.refresh_difference && !p.refresh_weights && p.update_level == 5, "{p:?}");
        assert_eq!(p.difference_level, 9);
        // D at 6: weights would land at 2 (refresh 6 ciphertexts); refreshing D (1) is cheaper.
        let p = plan_backward(levels(6, 12, 12, 1, 6)).unwrap();
        assert!(p.refresh_difference && !p.refresh_weights);
        // Many blocks of D, few of W: refresh the weights instead.
        let p = plan_backward(levels(6, 12, 12, 8, 2)).unwrap();
        assert!(!p.refresh_difference && p.refresh_weights && p.update_level == 2);
        // A short chain (L = 4): both refreshes every step.
        let p = plan_backward(levels(1, 4, 4, 1, 6)).unwrap();
        assert!(p.refresh_difference && p.refresh_weights && p.update_level == 0);
        assert!(plan_backward(levels(1, 3, 3, 1, 1)).is_none());
        // An update that would land at level 0 cannot pack the weights: every block would be
        // refreshed (13 here), so refreshing D (1) wins although the packed count ties.
        let p = plan_backward(levels(4, 12, 12, 1, 1)).unwrap();
        assert!(p.refresh_difference && !p.refresh_weights && p.update_level == 8, "{p:?}");
        // Counted in pairs: two packed weight ciphertexts cost one refresh, as one block of D
        // does; the tie refreshes the weights (before pairs, D won). Two blocks of D against
        // three weight ciphertexts: 1 against 2; four against three: a tie again.
        let p = plan_backward(levels(6, 12, 12, 1, 2)).unwrap();
        assert!(!p.refresh_difference && p.refresh_weights, "{p:?}");
        let p = plan_backward(levels(6, 12, 12, 2, 3)).unwrap();
        assert!(p.refresh_difference && !p.refresh_weights, "{p:?}");
        let p = plan_backward(levels(6, 12, 12, 4, 3)).unwrap();
        assert!(!p.refresh_difference && p.refresh_weights, "{p:?}");
    }
}
