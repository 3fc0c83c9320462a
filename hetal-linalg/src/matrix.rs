//! Plain `f64` matrices (features, labels, logits and weights; the reference the encrypted
//! products are tested against) and encrypted block matrices.

use crate::error::LinalgError;
use crate::layout::{BlockLayout, Tiling, UnitShape};
use ckks_scheme::{Ciphertext, Decryptor, Encoder, Encryptor};

/// A dense `rows x cols` matrix of `f64` stored row-major: entry `(i, j)` is
/// `data[i * cols + j]`.
///
/// The fields are public; code that builds a matrix from a shape and data it did not make goes
/// through the checked constructors ([`Matrix::new`], [`Matrix::from_vec`],
/// [`Matrix::try_zeros`]), which refuse a data length other than `rows * cols` and a product
/// `rows * cols` that overflows `usize`.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Entries, row-major, `rows * cols` of them.
    pub data: Vec<f64>,
}

impl Matrix {
    /// A `rows x cols` matrix from row-major `data`; [`LinalgError::InvalidLayout`] unless
    /// `data.len() == rows * cols` (checked: a product that overflows `usize` is refused too).
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self, LinalgError> {
        let len = data.len();
        Self::from_vec(rows, cols, data).ok_or_else(|| LinalgError::InvalidLayout {
            op: "Matrix::new",
            reason: format!("{len} values for a {rows}x{cols} matrix"),
        })
    }

    /// A matrix from row-major data; `None` unless `data.len() == rows * cols` (checked: a
    /// product that overflows `usize` is `None` too).
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f64>) -> Option<Self> {
        (rows.checked_mul(cols) == Some(data.len())).then_some(Self { rows, cols, data })
    }

    /// The zero matrix of the given shape, for shapes the program fixes (products of matrices
    /// it holds, the padded class count). Shapes taken from a file or a user go through
    /// [`Matrix::try_zeros`].
    ///
    /// # Panics
    /// If `rows * cols` overflows `usize` (or the allocation fails).
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self { rows, cols, data: vec![0.0; checked_len("Matrix::zeros", rows, cols)] }
    }

    /// The zero matrix of the given shape, or `None` if `rows * cols` overflows `usize` or the
    /// allocation fails: no panic and no abort for a shape from untrusted input (the memory
    /// is reserved, and written, at once).
    pub fn try_zeros(rows: usize, cols: usize) -> Option<Self> {
        let len = rows.checked_mul(cols)?;
        let mut data = Vec::new();
        data.try_reserve_exact(len).ok()?;
        data.resize(len, 0.0);
        Some(Self { rows, cols, data })
    }

    /// The matrix with entries `f(r, j)`, computed in row-major order.
    ///
    /// # Panics
    /// If `rows * cols` overflows `usize`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let data = (0..checked_len("Matrix::from_fn", rows, cols)).map(|k| f(k / cols, k % cols)).collect();
        Self { rows, cols, data }
    }

    /// Rows (the field [`Matrix::rows`]).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (the field [`Matrix::cols`]).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major values (the field [`Matrix::data`]).
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// Entry `(r, j)`.
    ///
    /// # Panics
    /// If the index is outside the data.
    pub fn get(&self, r: usize, j: usize) -> f64 {
        self.data[r * self.cols + j]
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i` as a mutable slice.
    pub fn row_mut(&mut self, i: usize) -> &mut [f64] {
        let cols = self.cols;
        &mut self.data[i * cols..(i + 1) * cols]
    }

    /// The rows listed in `indices`, in that order.
    ///
    /// # Panics
    /// If an index is not below `rows`, or `indices.len() * cols` overflows `usize`.
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let len = indices.len().checked_mul(self.cols).expect("Matrix::select_rows: size overflows usize");
        let mut data = Vec::with_capacity(len);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Self { rows: indices.len(), cols: self.cols, data }
    }

    /// The first `cols` columns (for example the real classes of logits whose padded columns
    /// are to be ignored).
    ///
    /// # Panics
    /// If `cols` exceeds [`Self::cols`].
    pub fn leading_columns(&self, cols: usize) -> Self {
        assert!(cols <= self.cols, "Matrix::leading_columns: {cols} of {} columns", self.cols);
        let mut data = Vec::with_capacity(self.rows * cols);
        for i in 0..self.rows {
            data.extend_from_slice(&self.row(i)[..cols]);
        }
        Self { rows: self.rows, cols, data }
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

    /// `self * other^T`: `(rows x k) * (n x k)^T = rows x n` (the forward product
    /// `logits = X W^T`).
    ///
    /// # Panics
    /// If the column counts differ (a programming error: shapes are fixed by the data set).
    pub fn mul_transposed(&self, other: &Matrix) -> Matrix {
        assert_eq!(self.cols, other.cols, "mul_transposed: inner dimensions differ");
        let mut out = Matrix::zeros(self.rows, other.rows);
        for i in 0..self.rows {
            let a = self.row(i);
            for j in 0..other.rows {
                out.data[i * other.rows + j] = dot(a, other.row(j));
            }
        }
        out
    }

    /// `self^T * other`: `(k x rows)^T * (k x n) = rows x n` (the backward product
    /// `(P - Y)^T X`).
    ///
    /// # Panics
    /// If the row counts differ.
    pub fn transposed_mul(&self, other: &Matrix) -> Matrix {
        assert_eq!(self.rows, other.rows, "transposed_mul: outer dimensions differ");
        let mut out = Matrix::zeros(self.cols, other.cols);
        for k in 0..self.rows {
            let b = other.row(k);
            for (i, &a) in self.row(k).iter().enumerate() {
                if a != 0.0 {
                    out.row_mut(i).iter_mut().zip(b).for_each(|(o, &v)| *o += a * v);
                }
            }
        }
        out
    }

    /// `max_ij |self_ij - other_ij|`: how far apart two matrices of one shape are (a decrypted
    /// product and its `f64` reference, encrypted and plaintext weights after the same steps).
    /// Infinity if the shapes differ, so that any bound on it fails.
    pub fn max_abs_diff(&self, other: &Matrix) -> f64 {
        if (self.rows, self.cols) != (other.rows, other.cols) {
            return f64::INFINITY;
        }
        self.data.iter().zip(&other.data).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }
}

/// `rows * cols`.
///
/// # Panics
/// If the product overflows `usize`, naming `op`.
fn checked_len(op: &str, rows: usize, cols: usize) -> usize {
    rows.checked_mul(cols).unwrap_or_else(|| panic!("{op}: {rows} x {cols} overflows usize"))
}

/// `sum_i a_i b_i`.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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
        let layout = BlockLayout::new(m.rows, m.cols, unit, tiling)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_abs_diff_is_the_largest_entry_gap() {
        let a = Matrix::from_vec(2, 2, vec![1.0, -2.0, 3.0, 4.0]).unwrap();
        let b = Matrix::from_vec(2, 2, vec![1.5, 2.0, 3.0, 3.9]).unwrap();
        assert_eq!(a.max_abs_diff(&b), 4.0);
        assert_eq!(a.max_abs_diff(&a), 0.0);
    }

    #[test]
    fn leading_columns_keep_each_row_prefix() {
        let m = Matrix::from_fn(3, 4, |i, j| (10 * i + j) as f64);
        let l = m.leading_columns(2);
        assert_eq!((l.rows, l.cols), (3, 2));
        assert_eq!(l.data, vec![0.0, 1.0, 10.0, 11.0, 20.0, 21.0]);
        assert_eq!(m.leading_columns(4), m);
        assert_eq!(m.leading_columns(0).data, Vec::<f64>::new());
    }

    #[test]
    fn max_abs_diff_of_other_shapes_is_infinite() {
        assert_eq!(Matrix::zeros(2, 3).max_abs_diff(&Matrix::zeros(3, 2)), f64::INFINITY);
    }

    #[test]
    fn products_match_definitions() {
        let a = Matrix::from_vec(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let b = Matrix::from_vec(2, 3, vec![1.0, 0.0, -1.0, 2.0, 1.0, 0.0]).unwrap();
        assert_eq!(a.mul_transposed(&b).data, vec![-2.0, 4.0, -2.0, 13.0]);
        assert_eq!(a.mul_transposed(&b), a.matmul(&b.transpose()).unwrap());
        // a^T b: 3 x 3.
        let t = a.transposed_mul(&b);
        assert_eq!((t.rows, t.cols), (3, 3));
        assert_eq!(t.row(0), &[9.0, 4.0, -1.0]);
        assert_eq!(t, a.transpose().matmul(&b).unwrap());
        assert!(a.matmul(&b).is_err());
        assert_eq!(a.select_rows(&[1, 1]).data, vec![4.0, 5.0, 6.0, 4.0, 5.0, 6.0]);
        assert!(Matrix::from_vec(2, 2, vec![0.0; 3]).is_none());
        assert!(Matrix::new(2, 2, vec![0.0; 3]).is_err());
    }

    #[test]
    fn sizes_that_overflow_are_refused() {
        assert!(Matrix::from_vec(usize::MAX, 2, vec![]).is_none());
        // 2^32 x 2^32 wraps to 0 unchecked: it must not match an empty vector.
        assert!(Matrix::from_vec(1 << 32, 1 << 32, vec![]).is_none());
        assert!(Matrix::new(1 << 32, 1 << 32, vec![]).is_err());
        assert!(Matrix::try_zeros(usize::MAX, 2).is_none());
        assert!(Matrix::try_zeros(1 << 32, 1 << 32).is_none());
        // No overflow, but more than any allocator gives: None, not an abort.
        assert!(Matrix::try_zeros(1 << 31, 1 << 31).is_none());
        assert_eq!(Matrix::try_zeros(2, 3), Some(Matrix::zeros(2, 3)));
        assert_eq!(Matrix::from_vec(0, usize::MAX, vec![]).map(|m| m.rows), Some(0));
    }

    #[test]
    #[should_panic(expected = "overflows usize")]
    fn zeros_panics_on_overflow_with_a_message() {
        Matrix::zeros(usize::MAX, 2);
    }

    #[test]
    #[should_panic(expected = "overflows usize")]
    fn from_fn_panics_on_overflow_with_a_message() {
        Matrix::from_fn(1 << 32, 1 << 32, |_, _| 0.0);
    }

    proptest::proptest! {
        #[test]
        fn from_vec_and_try_zeros_never_panic(rows in proptest::prelude::any::<usize>(), cols in 0usize..4) {
            let fits = rows.checked_mul(cols);
            proptest::prop_assert_eq!(Matrix::from_vec(rows, cols, vec![]).is_some(), fits == Some(0));
            proptest::prop_assert_eq!(Matrix::new(rows, cols, vec![]).is_ok(), fits == Some(0));
            if fits.is_some_and(|n| n <= 1 << 16) {
                let m = Matrix::try_zeros(rows, cols).unwrap();
                proptest::prop_assert_eq!(m.data.len(), rows * cols);
            }
        }
    }
}
