//! Jin et al. 2020 (PrivGD): a matrix as one ciphertext per column ("column packing") or one
//! ciphertext per entry holding that entry in every slot ("replicated packing").

use crate::counts::OpCounts;
use crate::error::LinalgError;
use crate::matrix::Matrix;
use crate::ops::Ops;
use crate::rotations::check_keys;
use ckks_scheme::{Ciphertext, Decryptor, Encoder, Encryptor, Evaluator};
use rayon::prelude::*;

/// A matrix with column `j` in slots `0..rows` of ciphertext `j` (needs `rows <= slots`).
#[derive(Clone, Debug)]
pub struct ColumnPacked {
    /// Rows.
    pub rows: usize,
    /// One ciphertext per column.
    pub columns: Vec<Ciphertext>,
}

/// A matrix with entry `(i, j)` in every slot of ciphertext `i * cols + j`.
#[derive(Clone, Debug)]
pub struct ReplicatePacked {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// One ciphertext per entry, row-major.
    pub entries: Vec<Ciphertext>,
}

impl ColumnPacked {
    /// Encrypts `m` column by column at `level` and `scale` (client side).
    pub fn encrypt(
        m: &Matrix,
        level: usize,
        scale: f64,
        encoder: &Encoder,
        encryptor: &mut Encryptor,
    ) -> Result<Self, LinalgError> {
        let columns = (0..m.cols)
            .map(|j| {
                let col: Vec<f64> = (0..m.rows).map(|i| m.get(i, j)).collect();
                Ok(encryptor.encrypt(&encoder.encode_real(&col, level, scale)?)?)
            })
            .collect::<Result<_, LinalgError>>()?;
        Ok(Self { rows: m.rows, columns })
    }

    /// Decrypts (client side).
    pub fn decrypt(&self, encoder: &Encoder, decryptor: &Decryptor) -> Result<Matrix, LinalgError> {
        let cols = self
            .columns
            .iter()
            .map(|ct| Ok(encoder.decode_real(&decryptor.decrypt(ct)?)?))
            .collect::<Result<Vec<_>, LinalgError>>()?;
        Ok(Matrix::from_fn(self.rows, cols.len(), |i, j| cols[j][i]))
    }
}

impl ReplicatePacked {
    /// Encrypts every entry of `m`, replicated over all slots, at `level` and `scale`.
    pub fn encrypt(
        m: &Matrix,
        slots: usize,
        level: usize,
        scale: f64,
        encoder: &Encoder,
        encryptor: &mut Encryptor,
    ) -> Result<Self, LinalgError> {
        let entries = m
            .data
            .iter()
            .map(|&x| Ok(encryptor.encrypt(&encoder.encode_real(&vec![x; slots], level, scale)?)?))
            .collect::<Result<_, LinalgError>>()?;
        Ok(Self { rows: m.rows, cols: m.cols, entries })
    }

    /// Decrypts (slot 0 of every entry).
    pub fn decrypt(&self, encoder: &Encoder, decryptor: &Decryptor) -> Result<Matrix, LinalgError> {
        let vals = self
            .entries
            .iter()
            .map(|ct| Ok(encoder.decode_real(&decryptor.decrypt(ct)?)?[0]))
            .collect::<Result<Vec<_>, LinalgError>>()?;
        Matrix::new(self.rows, self.cols, vals)
    }
}

fn level_of(cts: &[Ciphertext]) -> usize {
    cts.iter().map(|c| c.level()).min().unwrap_or(0)
}

/// PrivGD `A * B^T`: column `i` of the result is `sum_j A[., j] * B[i, j]`, with `A` (`a x b`)
/// column-packed and `B` (`c x b`) replicated. Costs `c b` Mult, no rotation; 1 level.
pub fn jin_abt(
    eval: &Evaluator,
    a: &ColumnPacked,
    b: &ReplicatePacked,
) -> Result<(ColumnPacked, OpCounts), LinalgError> {
    let op = "jin_abt";
    if a.columns.len() != b.cols {
        return Err(LinalgError::ShapeMismatch {
            op,
            left_rows: a.rows,
            left_cols: a.columns.len(),
            right_rows: b.rows,
            right_cols: b.cols,
            reason: "A * B^T needs equal column counts",
        });
    }
    check_keys(op, eval, &[], false)?;
    let top = level_of(&a.columns).min(level_of(&b.entries));
    if top < 1 {
        return Err(LinalgError::LevelTooLow {
            op,
            left: level_of(&a.columns),
            right: level_of(&b.entries),
            needed: 1,
        });
    }
    let ops = Ops::new(eval);
    let columns = (0..b.rows)
        .into_par_iter()
        .map(|i| {
            let terms = (0..b.cols)
                .map(|j| ops.mul(&a.columns[j], &b.entries[i * b.cols + j]))
                .collect::<Result<Vec<_>, LinalgError>>()?;
            ops.relin_rescale(&ops.sum(terms)?)
        })
        .collect::<Result<Vec<_>, LinalgError>>()?;
    let out = ColumnPacked { rows: a.rows, columns };
    let levels = top - level_of(&out.columns);
    Ok((out, ops.counts(levels)))
}

/// PrivGD `A^T * B`: entry `(i, j)` is the slot sum of `A[., i] * B[., j]` (rotations
/// `1, 2, .., slots/2`), with `A` (`a x c`) and `B` (`a x b`) column-packed; the result is
/// replicated. Costs `c b` Mult and `c b log2(slots)` Rot; 1 level.
pub fn jin_atb(
    eval: &Evaluator,
    a: &ColumnPacked,
    b: &ColumnPacked,
) -> Result<(ReplicatePacked, OpCounts), LinalgError> {
    let op = "jin_atb";
    if a.rows != b.rows {
        return Err(LinalgError::ShapeMismatch {
            op,
            left_rows: a.rows,
            left_cols: a.columns.len(),
            right_rows: b.rows,
            right_cols: b.columns.len(),
            reason: "A^T * B needs equal row counts",
        });
    }
    let slots = eval.params().slots();
    let steps: Vec<i64> = (0..slots.trailing_zeros()).map(|t| 1i64 << t).collect();
    check_keys(op, eval, &steps, false)?;
    let top = level_of(&a.columns).min(level_of(&b.columns));
    if top < 1 {
        return Err(LinalgError::LevelTooLow {
            op,
            left: level_of(&a.columns),
            right: level_of(&b.columns),
            needed: 1,
        });
    }
    let ops = Ops::new(eval);
    let (c, bc) = (a.columns.len(), b.columns.len());
    let entries = (0..c * bc)
        .into_par_iter()
        .map(|idx| {
            let (i, j) = (idx / bc, idx % bc);
            let mut y = ops.relin_rescale(&ops.mul(&a.columns[i], &b.columns[j])?)?;
            ops.rot_sum(&mut y, steps.iter().copied())?;
            Ok(y)
        })
        .collect::<Result<Vec<_>, LinalgError>>()?;
    let out = ReplicatePacked { rows: c, cols: bc, entries };
    let levels = top - level_of(&out.entries);
    Ok((out, ops.counts(levels)))
}
