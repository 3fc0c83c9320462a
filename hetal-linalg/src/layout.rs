//! Block layout of HETAL (spec section 3): the unit shape `s0 x s1`, the tiling of small
//! matrices, and packing of plain matrices into slot vectors (no encryption here).

use crate::error::LinalgError;
use crate::matrix::Matrix;

/// The shape of one block: `s0` rows of `s1` columns, `s0 * s1 = slots`, stored row-major
/// (slot `i * s1 + j` holds block entry `(i, j)`). Both are powers of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnitShape {
    /// Rows of a block.
    pub s0: usize,
    /// Columns of a block.
    pub s1: usize,
}

impl UnitShape {
    /// A unit shape `s0 x (slots / s0)`; `s0` must be a power of two dividing `slots`.
    pub fn new(s0: usize, slots: usize) -> Result<Self, LinalgError> {
        if !slots.is_power_of_two() || !s0.is_power_of_two() || s0 > slots {
            return Err(LinalgError::InvalidLayout {
                op: "UnitShape::new",
                reason: format!("s0 = {s0} must be a power of two dividing the {slots} slots"),
            });
        }
        Ok(Self { s0, s1: slots / s0 })
    }

    /// HETAL's unit shape for a batch of `a` rows and `c` padded classes (spec section 3):
    /// `s0 = min(max(a', c), slots / c)` with `a'` the next power of two of `a` (so that
    /// `s0 * s1 = slots` holds exactly), `s1 = slots / s0`. Needs `c` a power of two,
    /// `2 <= c <= slots / 2`; then `c` divides both `s0` and `s1`.
    pub fn for_product(a: usize, c: usize, slots: usize) -> Result<Self, LinalgError> {
        check_classes("UnitShape::for_product", c, slots)?;
        if a == 0 {
            return Err(LinalgError::InvalidLayout { op: "UnitShape::for_product", reason: "no rows".into() });
        }
        let s0 = a.next_power_of_two().max(c).min(slots / c);
        Self::new(s0, slots)
    }

    /// Slots of one block.
    pub fn slots(&self) -> usize {
        self.s0 * self.s1
    }

    /// `log2 s0`.
    pub fn log_s0(&self) -> usize {
        self.s0.trailing_zeros() as usize
    }

    /// `log2 s1`.
    pub fn log_s1(&self) -> usize {
        self.s1.trailing_zeros() as usize
    }
}

/// Checks that `c` (padded classes) is a power of two with `2 <= c <= slots / 2`.
pub(crate) fn check_classes(op: &'static str, c: usize, slots: usize) -> Result<(), LinalgError> {
    if c < 2 || !c.is_power_of_two() || 2 * c > slots {
        return Err(LinalgError::InvalidLayout {
            op,
            reason: format!("padded class count c = {c} must be a power of two in [2, slots / 2 = {}]", slots / 2),
        });
    }
    Ok(())
}

/// How a logical matrix fills its blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tiling {
    /// Entry `(r, j)` of the matrix sits at physical position `(r, j)`; the rest is zero.
    None,
    /// The weight layout: a matrix of at most `period` rows, repeated down one block row,
    /// physical row `r` holding logical row `r mod period` (zero past the logical rows).
    Vertical {
        /// The repetition period in rows (the padded class count `c`).
        period: usize,
    },
    /// The softmax-output layout: a matrix of at most `period` columns, repeated across one
    /// block column, physical column `j` holding logical column `j mod period`.
    Horizontal {
        /// The repetition period in columns (the padded class count `c`).
        period: usize,
    },
}

/// Where the blocks of a `rows x cols` matrix go: the unit shape, the tiling and the block
/// grid (`block_rows x block_cols` blocks, row-major).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockLayout {
    /// Logical rows.
    pub rows: usize,
    /// Logical columns.
    pub cols: usize,
    /// The unit shape.
    pub unit: UnitShape,
    /// The tiling.
    pub tiling: Tiling,
    /// Number of block rows: `ceil(rows / s0)`, or 1 for vertical tiling.
    pub block_rows: usize,
    /// Number of block columns: `ceil(cols / s1)`, or 1 for horizontal tiling.
    pub block_cols: usize,
}

impl BlockLayout {
    /// The layout of a `rows x cols` matrix; errors on an empty matrix or a tiling whose period
    /// does not divide the unit shape or is smaller than the tiled dimension.
    pub fn new(rows: usize, cols: usize, unit: UnitShape, tiling: Tiling) -> Result<Self, LinalgError> {
        let op = "BlockLayout::new";
        if rows == 0 || cols == 0 {
            return Err(LinalgError::InvalidLayout { op, reason: format!("empty matrix {rows}x{cols}") });
        }
        let (block_rows, block_cols) = match tiling {
            Tiling::None => (rows.div_ceil(unit.s0), cols.div_ceil(unit.s1)),
            Tiling::Vertical { period } => {
                if period == 0 || !unit.s0.is_multiple_of(period) || rows > period {
                    return Err(LinalgError::InvalidLayout {
                        op,
                        reason: format!(
                            "vertical period {period} must divide s0 = {} and be >= rows = {rows}",
                            unit.s0
                        ),
                    });
                }
                (1, cols.div_ceil(unit.s1))
            }
            Tiling::Horizontal { period } => {
                if period == 0 || !unit.s1.is_multiple_of(period) || cols > period {
                    return Err(LinalgError::InvalidLayout {
                        op,
                        reason: format!(
                            "horizontal period {period} must divide s1 = {} and be >= cols = {cols}",
                            unit.s1
                        ),
                    });
                }
                (rows.div_ceil(unit.s0), 1)
            }
        };
        Ok(Self { rows, cols, unit, tiling, block_rows, block_cols })
    }

    /// Number of blocks (ciphertexts).
    pub fn blocks(&self) -> usize {
        self.block_rows * self.block_cols
    }

    /// The logical entry `(r, j)` shown at physical position `(pr, pc)`, if any.
    pub fn logical(&self, pr: usize, pc: usize) -> Option<(usize, usize)> {
        let (r, j) = match self.tiling {
            Tiling::None => (pr, pc),
            Tiling::Vertical { period } => (pr % period, pc),
            Tiling::Horizontal { period } => (pr, pc % period),
        };
        (r < self.rows && j < self.cols).then_some((r, j))
    }

    /// The slot vectors of all blocks (row-major block order) holding `m`; `m` must have the
    /// layout's shape.
    pub fn pack(&self, m: &Matrix) -> Result<Vec<Vec<f64>>, LinalgError> {
        if (m.rows, m.cols) != (self.rows, self.cols) {
            return Err(LinalgError::ShapeMismatch {
                op: "BlockLayout::pack",
                left_rows: m.rows,
                left_cols: m.cols,
                right_rows: self.rows,
                right_cols: self.cols,
                reason: "matrix and layout shapes differ",
            });
        }
        let UnitShape { s0, s1 } = self.unit;
        let mut out = Vec::with_capacity(self.blocks());
        for bi in 0..self.block_rows {
            for bj in 0..self.block_cols {
                let mut v = vec![0.0; s0 * s1];
                for i in 0..s0 {
                    for j in 0..s1 {
                        if let Some((r, c)) = self.logical(bi * s0 + i, bj * s1 + j) {
                            v[i * s1 + j] = m.get(r, c);
                        }
                    }
                }
                out.push(v);
            }
        }
        Ok(out)
    }

    /// The matrix read back from block slot vectors (the first copy of each tiled entry).
    pub fn unpack(&self, blocks: &[Vec<f64>]) -> Result<Matrix, LinalgError> {
        if blocks.len() != self.blocks() || blocks.iter().any(|b| b.len() < self.unit.slots()) {
            return Err(LinalgError::InvalidLayout {
                op: "BlockLayout::unpack",
                reason: format!(
                    "{} blocks given, {} of {} slots expected",
                    blocks.len(),
                    self.blocks(),
                    self.unit.slots()
                ),
            });
        }
        let UnitShape { s0, s1 } = self.unit;
        Ok(Matrix::from_fn(self.rows, self.cols, |r, j| {
            let (bi, i) = (r / s0, r % s0);
            let (bj, jj) = (j / s1, j % s1);
            blocks[bi * self.block_cols + bj][i * s1 + jj]
        }))
    }
}
