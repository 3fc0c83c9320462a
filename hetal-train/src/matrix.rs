//! A dense row-major `f64` matrix: the plaintext container of features, labels, logits and
//! weights.

/// A `rows x cols` matrix stored row-major: entry `(i, j)` is `data[i * cols + j]`.
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
    /// The zero matrix of the given shape, for shapes the program fixes (products of matrices
    /// it holds, the padded class count). Shapes taken from a file or a user go through
    /// [`Matrix::try_zeros`].
    ///
    /// # Panics
    /// If `rows * cols` overflows `usize` (or the allocation fails).
    pub fn zeros(rows: usize, cols: usize) -> Self {
        let len = rows.checked_mul(cols).unwrap_or_else(|| panic!("Matrix::zeros: {rows} x {cols} overflows usize"));
        Self { rows, cols, data: vec![0.0; len] }
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

    /// A matrix from row-major data; `None` unless `data.len() == rows * cols` (checked: a
    /// product that overflows `usize` is `None` too).
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f64>) -> Option<Self> {
        (rows.checked_mul(cols) == Some(data.len())).then_some(Self { rows, cols, data })
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

    /// `max_ij |self_ij - other_ij|`: how far apart two models (or any two matrices of one
    /// shape) are, e.g. encrypted and plaintext weights after the same steps.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn max_abs_diff(&self, other: &Matrix) -> f64 {
        assert_eq!((self.rows, self.cols), (other.rows, other.cols), "max_abs_diff of different shapes");
        self.data.iter().zip(&other.data).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
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
}

/// `sum_i a_i b_i`.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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
    #[should_panic(expected = "different shapes")]
    fn max_abs_diff_refuses_other_shapes() {
        Matrix::zeros(2, 3).max_abs_diff(&Matrix::zeros(3, 2));
    }

    #[test]
    fn products_match_definitions() {
        let a = Matrix::from_vec(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let b = Matrix::from_vec(2, 3, vec![1.0, 0.0, -1.0, 2.0, 1.0, 0.0]).unwrap();
        assert_eq!(a.mul_transposed(&b).data, vec![-2.0, 4.0, -2.0, 13.0]);
        // a^T b: 3 x 3.
        let t = a.transposed_mul(&b);
        assert_eq!((t.rows, t.cols), (3, 3));
        assert_eq!(t.row(0), &[9.0, 4.0, -1.0]);
        assert_eq!(a.select_rows(&[1, 1]).data, vec![4.0, 5.0, 6.0, 4.0, 5.0, 6.0]);
        assert!(Matrix::from_vec(2, 2, vec![0.0; 3]).is_none());
    }

    #[test]
    fn sizes_that_overflow_are_refused() {
        assert!(Matrix::from_vec(usize::MAX, 2, vec![]).is_none());
        // 2^32 x 2^32 wraps to 0 unchecked: it must not match an empty vector.
        assert!(Matrix::from_vec(1 << 32, 1 << 32, vec![]).is_none());
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

    proptest::proptest! {
        #[test]
        fn from_vec_and_try_zeros_never_panic(rows in proptest::prelude::any::<usize>(), cols in 0usize..4) {
            let fits = rows.checked_mul(cols);
            proptest::prop_assert_eq!(Matrix::from_vec(rows, cols, vec![]).is_some(), fits == Some(0));
            if fits.is_some_and(|n| n <= 1 << 16) {
                let m = Matrix::try_zeros(rows, cols).unwrap();
                proptest::prop_assert_eq!(m.data.len(), rows * cols);
            }
        }
    }
}
