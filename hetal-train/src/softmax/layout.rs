//! The horizontally tiled layout of spec section 3 for a batch of softmax rows.
//!
//! A ciphertext holds an `s0 x s1` block row-major (`slot = row * s1 + col`). Row `i` holds the
//! `c` (padded) logits of sample `i`, repeated `s1 / c` times: column `col` holds class
//! `col mod c`. Classes `classes..c` are padding.
//!
//! # The row-boundary problem
//!
//! A rotation moves the whole slot vector: rotating left by `k` brings column `col + k` of the
//! same row to column `col` only while `col + k < s1`; the last `k` columns of a row receive the
//! first columns of the *next* row. A row-wise reduction (max or sum) over the window
//! `col, col+1, .., col+c-1` by rotations `1, 2, .., c/2` is therefore right exactly at the
//! columns whose window stays in the row, `col <= s1 - c`; in particular at the first column of
//! every copy (`col mod c = 0`), because copies are aligned to multiples of `c`. The pipeline
//! keeps those columns with a plaintext mask (one level) and replicates them over their copy
//! with *right* rotations by `1, 2, .., c/2`, which move data from column `k c` only up to
//! `k c + c - 1`, never across a row. The garbage of the other columns (mixtures of two rows)
//! stays bounded (max and sum of values in range) and is discarded by the mask.

use super::{padded_classes, SoftmaxError};
use crate::matrix::Matrix;

/// Shape of a batch of softmax rows in one ciphertext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TiledLayout {
    /// Rows of the block (samples).
    pub s0: usize,
    /// Columns of the block; a multiple of `c`.
    pub s1: usize,
    /// Real classes.
    pub classes: usize,
    /// Padded classes `c` (next power of two).
    pub c: usize,
}

impl TiledLayout {
    /// The layout of an `s0 x s1` block for `classes` classes; errors unless `s1` is a power of
    /// two that `c` divides and `s0 >= 1`.
    pub fn new(s0: usize, s1: usize, classes: usize) -> Result<Self, SoftmaxError> {
        let c = padded_classes(classes);
        if classes == 0 || s0 == 0 || !s1.is_power_of_two() || !s1.is_multiple_of(c) {
            return Err(SoftmaxError::Layout {
                reason: format!(
                    "{s0} x {s1} block cannot tile {classes} classes (c = {c} must divide s1, a power of two)"
                ),
            });
        }
        Ok(Self { s0, s1, classes, c })
    }

    /// Slots of the block, `s0 * s1`.
    pub fn slots(&self) -> usize {
        self.s0 * self.s1
    }

    /// Errors unless the block fills a ciphertext of `slots` slots.
    pub fn check_slots(&self, slots: usize) -> Result<(), SoftmaxError> {
        if self.slots() != slots {
            return Err(SoftmaxError::Layout {
                reason: format!("{} x {} block, but ciphertexts have {slots} slots", self.s0, self.s1),
            });
        }
        Ok(())
    }

    /// Rotations the pipeline needs keys for: `2^t` and `-2^t` for `t < log2 c`.
    pub fn rotations(&self) -> Vec<i64> {
        (0..self.c.trailing_zeros()).flat_map(|t| [1i64 << t, -(1i64 << t)]).collect()
    }

    /// Slot values of `rows` (`n x classes`, `n <= s0`): row `i` at `i * s1 + col`, class
    /// `col mod c`, padded classes and unused rows 0.
    pub fn tile(&self, rows: &Matrix) -> Result<Vec<f64>, SoftmaxError> {
        if rows.cols != self.classes || rows.rows > self.s0 {
            return Err(SoftmaxError::Layout {
                reason: format!(
                    "{} x {} rows do not fit {} rows of {} classes",
                    rows.rows, rows.cols, self.s0, self.classes
                ),
            });
        }
        Ok(self.fill(|i, class| if i < rows.rows && class < self.classes { rows.row(i)[class] } else { 0.0 }))
    }

    /// The first `n` rows, real classes, of tiled slot values (first copy of each row).
    pub fn untile(&self, slots: &[f64], n: usize) -> Matrix {
        let mut out = Matrix::zeros(n, self.classes);
        for i in 0..n {
            out.row_mut(i).copy_from_slice(&slots[i * self.s1..i * self.s1 + self.classes]);
        }
        out
    }

    /// A slot vector with `f(row, class)` at every slot.
    pub fn fill(&self, f: impl Fn(usize, usize) -> f64) -> Vec<f64> {
        (0..self.slots()).map(|k| f(k / self.s1, (k % self.s1) % self.c)).collect()
    }

    /// `real` at the slots of real classes, `padded` at the padded ones.
    pub fn class_mask(&self, real: f64, padded: f64) -> Vec<f64> {
        self.fill(|_, class| if class < self.classes { real } else { padded })
    }

    /// `value` at the first column of every copy (`col mod c = 0`), 0 elsewhere.
    pub fn copy_start_mask(&self, value: f64) -> Vec<f64> {
        self.fill(|_, class| if class == 0 { value } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Every copy of a row holds the row; padded classes and unused rows are 0.
        #[test]
        fn tile_untile_round_trip(log_c in 0u32..4, extra in 0u32..3, classes_cut in 0usize..8, rows in 1usize..6, seed in 0u64..1000) {
            let c = 1usize << log_c;
            let classes = (c - classes_cut.min(c / 2)).max(1);
            let layout = TiledLayout::new(6, c << extra, classes).unwrap();
            let data: Vec<f64> = (0..rows * classes).map(|k| (k as u64 * 7919 + seed) as f64).collect();
            let m = Matrix::from_vec(rows, classes, data).unwrap();
            let t = layout.tile(&m).unwrap();
            proptest::prop_assert_eq!(layout.untile(&t, rows), m.clone());
            for (k, &v) in t.iter().enumerate() {
                let (row, class) = (k / layout.s1, (k % layout.s1) % layout.c);
                let expected = if row < rows && class < classes { m.row(row)[class] } else { 0.0 };
                proptest::prop_assert_eq!(v, expected);
            }
        }
    }

    #[test]
    fn tiles_rows_and_masks() {
        let l = TiledLayout::new(2, 8, 3).unwrap();
        assert_eq!((l.c, l.slots(), l.rotations()), (4, 16, vec![1, -1, 2, -2]));
        let rows = Matrix::from_vec(1, 3, vec![1.0, 2.0, 3.0]).unwrap();
        let t = l.tile(&rows).unwrap();
        assert_eq!(&t[..8], &[1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0, 0.0]);
        assert!(t[8..].iter().all(|&v| v == 0.0));
        assert_eq!(l.untile(&t, 1), rows);
        assert_eq!(&l.copy_start_mask(5.0)[..8], &[5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0]);
        assert_eq!(&l.class_mask(1.0, -1.0)[..4], &[1.0, 1.0, 1.0, -1.0]);
        assert!(TiledLayout::new(4, 2, 3).is_err());
        assert!(l.tile(&Matrix::zeros(3, 3)).is_err());
    }
}
