//! Plain `f64` matrices (the reference the encrypted products are tested against) and
//! encrypted block matrices.

use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling, UnitShape};
use ckks_scheme::{Ciphertext, Decryptor, Encoder, Encryptor};

/// A dense row-major `f64` matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// A `rows x cols` matrix from row-major `data`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self, LinalgError> {
        if data.len() != rows * cols {
            return Err(LinalgError::InvalidLayout {
                op: "Matrix::new",
                reason: format!("{} values for a {rows}x{cols} matrix", data.len()),
            });
        }
        Ok(Self { rows, cols, data })
    }

    /// The matrix with entries `f(r, j)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let data = (0..rows * cols).map(|k| f(k / cols, k % cols)).collect();
        Self { rows, cols, data }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Entry `(r, j)`.
    pub fn get(&self, r: usize, j: usize) -> f64 {
        self.data[r * self.cols + j]
    }

    /// The row-major values.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// `A^T`.
    pub fn transpose(&self) -> Self {
        Self::from_fn(self.cols, self.rows, |r, j| self.get(j, r))
    }

    /// The product `A * B` in `f64`; errors unless `cols(A) = rows(B)`.
    pub fn matmul(&self, b: &Matrix) -> Result<Self, LinalgError> {
        if self.cols != b.rows {
            return Err(LinalgError::ShapeMismatch {
                op: "Matrix::matmul",
                left_rows: self.rows,
                left_cols: self.cols,
                right_rows: b.rows,
                right_cols: b.cols,
                reason: "inner dimensions differ",
            });
        }
        Ok(Self::from_fn(self.rows, b.cols, |r, j| (0..self.cols).map(|k| self.get(r, k) * b.get(k, j)).sum()))
    }

    /// `max |A - B|` over all entries (infinity if the shapes differ).
    pub fn max_abs_diff(&self, b: &Matrix) -> f64 {
        if (self.rows, self.cols) != (b.rows, b.cols) {
            return f64::INFINITY;
        }
        self.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
    }
}

/// A matrix encrypted block by block: one ciphertext per `s0 x s1` block (row-major block
/// order), all at one level. Holds no key: the server computes on it with an
/// [`ckks_scheme::Evaluator`] only.
#[derive(Clone, Debug)]
pub struct EncryptedMatrix {
    layout: BlockLayout,
    blocks: Vec<Ciphertext>,
}

impl EncryptedMatrix {
    /// Packs `m` with `unit` and `tiling` and encrypts every block at `level` and `scale`
    /// (client side: the encryptor holds the public key). Errors if the unit shape does not
    /// fill exactly the slots of the parameters.
    pub fn encrypt(
        m: &Matrix,
        unit: UnitShape,
        tiling: Tiling,
        level: usize,
        scale: f64,
        encoder: &Encoder,
        encryptor: &mut Encryptor,
    ) -> Result<Self, LinalgError> {
        let layout = BlockLayout::new(m.rows(), m.cols(), unit, tiling)?;
        let mut blocks = Vec::with_capacity(layout.blocks());
        for v in layout.pack(m)? {
            let pt = encoder.encode_real(&v, level, scale)?;
            if pt.params().slots() != unit.slots() {
                return Err(LinalgError::InvalidLayout {
                    op: "EncryptedMatrix::encrypt",
                    reason: format!("unit shape {}x{} does not fill {} slots", unit.s0, unit.s1, pt.params().slots()),
                });
            }
            blocks.push(encryptor.encrypt(&pt)?);
        }
        Ok(Self { layout, blocks })
    }

    /// Decrypts and unpacks (client side).
    pub fn decrypt(&self, encoder: &Encoder, decryptor: &Decryptor) -> Result<Matrix, LinalgError> {
        let slots = self
            .blocks
            .iter()
            .map(|ct| Ok(encoder.decode_real(&decryptor.decrypt(ct)?)?))
            .collect::<Result<Vec<_>, LinalgError>>()?;
        self.layout.unpack(&slots)
    }

    /// Assembles a matrix from ciphertexts already in `layout` (row-major block order).
    pub fn from_blocks(layout: BlockLayout, blocks: Vec<Ciphertext>) -> Result<Self, LinalgError> {
        if blocks.len() != layout.blocks() {
            return Err(LinalgError::InvalidLayout {
                op: "EncryptedMatrix::from_blocks",
                reason: format!("{} ciphertexts for {} blocks", blocks.len(), layout.blocks()),
            });
        }
        Ok(Self { layout, blocks })
    }

    /// The layout.
    pub fn layout(&self) -> &BlockLayout {
        &self.layout
    }

    /// Logical rows.
    pub fn rows(&self) -> usize {
        self.layout.rows
    }

    /// Logical columns.
    pub fn cols(&self) -> usize {
        self.layout.cols
    }

    /// The unit shape.
    pub fn unit(&self) -> UnitShape {
        self.layout.unit
    }

    /// The blocks, row-major.
    pub fn blocks(&self) -> &[Ciphertext] {
        &self.blocks
    }

    /// Block `(bi, bj)`.
    pub fn block(&self, bi: usize, bj: usize) -> &Ciphertext {
        &self.blocks[bi * self.layout.block_cols + bj]
    }

    /// The lowest level among the blocks.
    pub fn level(&self) -> usize {
        self.blocks.iter().map(|c| c.level()).min().unwrap_or(0)
    }
}
