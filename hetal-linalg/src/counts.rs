//! Operation counts: a counter filled while a product runs, and pure functions that predict
//! the counts of every schedule for a shape without encrypting anything.

use crate::error::LinalgError;
use crate::layout::{check_classes, UnitShape};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Homomorphic operations of one product, in the paper's categories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OpCounts {
    /// Ciphertext-ciphertext products (tensor products; relinearisations may be fewer).
    pub mult: usize,
    /// Products by a plaintext mask or constant (each followed by a rescale).
    pub cmult: usize,
    /// Slot rotations (a hoisted batch counts one per nonzero step).
    pub rot: usize,
    /// Complex conjugations (counted apart: the paper's Rot column does not include them).
    pub conj: usize,
    /// Levels consumed: `min(level(A), level(B)) - level(result)`.
    pub levels: usize,
}

/// Thread-safe accumulator of [`OpCounts`] while a product runs.
#[derive(Debug, Default)]
pub struct Counter {
    mult: AtomicUsize,
    cmult: AtomicUsize,
    rot: AtomicUsize,
    conj: AtomicUsize,
}

impl Counter {
    /// Adds `n` ciphertext products.
    pub fn add_mult(&self, n: usize) {
        self.mult.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `n` plaintext products.
    pub fn add_cmult(&self, n: usize) {
        self.cmult.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `n` rotations.
    pub fn add_rot(&self, n: usize) {
        self.rot.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `n` conjugations.
    pub fn add_conj(&self, n: usize) {
        self.conj.fetch_add(n, Ordering::Relaxed);
    }

    /// The counts so far, with `levels` filled in by the caller.
    pub fn snapshot(&self, levels: usize) -> OpCounts {
        OpCounts {
            mult: self.mult.load(Ordering::Relaxed),
            cmult: self.cmult.load(Ordering::Relaxed),
            rot: self.rot.load(Ordering::Relaxed),
            conj: self.conj.load(Ordering::Relaxed),
            levels,
        }
    }
}

/// The matrix products of this crate and their baselines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HETAL's `A * B^T`, the paper's schedule ([`crate::diag_abt_with`] with
    /// [`crate::RowSum::PerPair`]).
    DiagAbt,
    /// `A * B^T` with the shared placement ([`crate::diag_abt`], [`crate::RowSum::Shared`]).
    DiagAbtShared,
    /// HETAL's `A^T * B`, plain variant (masks on `A`; [`crate::diag_atb`]).
    DiagAtb,
    /// HETAL's `A^T * B`, PRotUp variant (masks moved to `B`, one level less on `A`).
    DiagAtbPRotUp,
    /// [`Algorithm::DiagAtb`] with the shared row sum ([`crate::RowSum::Shared`]).
    DiagAtbShared,
    /// [`Algorithm::DiagAtbPRotUp`] with the shared row sum ([`crate::RowSum::Shared`]).
    DiagAtbPRotUpShared,
    /// Crockett's ColMajor `A * B^T` ([`crate::baselines::col_major`]).
    ColMajor,
    /// Crockett's RowMajor `A^T * B` ([`crate::baselines::row_major`]).
    RowMajor,
    /// Jin et al. (PrivGD) `A * B^T`: column-packed times replicated ([`crate::baselines::jin_abt`]).
    JinAbt,
    /// Jin et al. (PrivGD) `A^T * B`: column-packed times column-packed ([`crate::baselines::jin_atb`]).
    JinAtb,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 10] = [
        Algorithm::DiagAbt,
        Algorithm::DiagAbtShared,
        Algorithm::DiagAtb,
        Algorithm::DiagAtbPRotUp,
        Algorithm::DiagAtbShared,
        Algorithm::DiagAtbPRotUpShared,
        Algorithm::ColMajor,
        Algorithm::RowMajor,
        Algorithm::JinAbt,
        Algorithm::JinAtb,
    ];

    /// The algorithms of the paper's table (those [`reference_counts`] knows).
    pub const PAPER: [Algorithm; 7] = [
        Algorithm::DiagAbt,
        Algorithm::DiagAtb,
        Algorithm::DiagAtbPRotUp,
        Algorithm::ColMajor,
        Algorithm::RowMajor,
        Algorithm::JinAbt,
        Algorithm::JinAtb,
    ];

    /// The paper's name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::DiagAbt => "DiagABT",
            Algorithm::DiagAbtShared => "DiagABT, shared placement",
            Algorithm::DiagAtb => "DiagATB",
            Algorithm::DiagAtbPRotUp => "DiagATB(PRotUp)",
            Algorithm::DiagAtbShared => "DiagATB, shared row sum",
            Algorithm::DiagAtbPRotUpShared => "DiagATB(PRotUp), shared row sum",
            Algorithm::ColMajor => "ColMajor",
            Algorithm::RowMajor => "RowMajor",
            Algorithm::JinAbt => "Jin A*B^T",
            Algorithm::JinAtb => "Jin A^T*B",
        }
    }
}

/// The benchmark shape `(a, b, c)` of the paper: `A * B^T` of `a x b` by `(c x b)^T`, and
/// `A^T * B` of `(a x c)^T` by `a x b`; `c` is the padded class count (a power of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProductShape {
    /// Rows of the batch (`a`).
    pub a: usize,
    /// Features (`b`).
    pub b: usize,
    /// Padded classes (`c`).
    pub c: usize,
}

impl ProductShape {
    /// The paper's five benchmark shapes.
    pub const PAPER: [ProductShape; 5] = [
        ProductShape { a: 128, b: 128, c: 4 },
        ProductShape { a: 256, b: 256, c: 8 },
        ProductShape { a: 512, b: 769, c: 4 },
        ProductShape { a: 1024, b: 769, c: 8 },
        ProductShape { a: 2048, b: 769, c: 16 },
    ];

    /// The unit shape of the HETAL layout for this shape.
    pub fn unit(&self, slots: usize) -> Result<UnitShape, LinalgError> {
        UnitShape::for_product(self.a, self.c, slots)
    }
}

/// Block counts and logarithms of a shape: `(A', B', log s0, log s1, c / 2)`.
fn dims(shape: ProductShape, slots: usize) -> Result<(usize, usize, usize, usize, usize), LinalgError> {
    check_classes("counts", shape.c, slots)?;
    let u = shape.unit(slots)?;
    Ok((shape.a.div_ceil(u.s0), shape.b.div_ceil(u.s1), u.log_s0(), u.log_s1(), shape.c / 2))
}

/// The counts this crate's implementation of `alg` performs on `shape` (any number of block
/// rows `A'`). Equal to [`reference_counts`] whenever `A' = 1`, which holds for all five
/// paper shapes.
pub fn predicted_counts(alg: Algorithm, shape: ProductShape, slots: usize) -> Result<OpCounts, LinalgError> {
    let (ap, bp, l0, l1, h) = dims(shape, slots)?;
    let c = shape.c;
    let g = crate::diag_atb::shared_group(c, 1 << l0);
    let log_c = c.trailing_zeros() as usize;
    let shared_rot = h * g.trailing_zeros() as usize + c / g - 1 + l0 - log_c;
    let log_slots = slots.trailing_zeros() as usize;
    Ok(match alg {
        Algorithm::DiagAbt => {
            OpCounts { mult: h * ap * bp, cmult: c * ap, rot: h * bp + 2 * h * ap * l1, conj: ap, levels: 3 }
        }
        // Per block row: (c/2) log s1 row sums, c (c/2) masks, c - 1 tree rotations and
        // log(s1 / c) replications.
        Algorithm::DiagAbtShared => OpCounts {
            mult: h * ap * bp,
            cmult: c * h * ap,
            rot: h * bp + ap * (h * l1 + c - 1 + l1 - log_c),
            conj: ap,
            levels: 2,
        },
        Algorithm::DiagAtb => OpCounts {
            mult: h * ap * bp,
            cmult: h * ap + h * bp,
            rot: c * ap + h * bp * l0,
            conj: bp,
            levels: if h > 1 { 4 } else { 3 },
        },
        Algorithm::DiagAtbPRotUp => OpCounts {
            mult: h * ap * bp,
            cmult: ap + (h - 1) * ap * bp + h * bp,
            rot: 2 * ap + (h - 1) * (ap + ap * bp) + h * bp * l0,
            conj: bp,
            levels: 3,
        },
        // Per output block: (c/2)(c/g) placement products; (c/2) log g rotations summing g
        // rows per pair, c/g - 1 in the tree and log(s0 / c) summing rows c apart.
        Algorithm::DiagAtbShared => OpCounts {
            mult: h * ap * bp,
            cmult: h * ap + h * (c / g) * bp,
            rot: c * ap + bp * shared_rot,
            conj: bp,
            levels: if h > 1 { 4 } else { 3 },
        },
        Algorithm::DiagAtbPRotUpShared => OpCounts {
            mult: h * ap * bp,
            cmult: ap + (h - 1) * ap * bp + h * (c / g) * bp,
            rot: 2 * ap + (h - 1) * ap + usize::from(h > 1) * ap * bp + bp * shared_rot,
            conj: bp,
            levels: 3,
        },
        Algorithm::ColMajor | Algorithm::RowMajor => OpCounts {
            mult: c * ap * bp,
            cmult: c * (ap + bp),
            rot: c * (bp * l0 + ap * l1) + (c - 1) * ap,
            conj: 0,
            levels: 3,
        },
        Algorithm::JinAbt => OpCounts { mult: c * shape.b, cmult: 0, rot: 0, conj: 0, levels: 1 },
        Algorithm::JinAtb => OpCounts { mult: c * shape.b, cmult: 0, rot: c * shape.b * log_slots, conj: 0, levels: 1 },
    })
}

/// The counts of the authors' corrected table, from their published formulas (spec section 4;
/// `A' = ceil(a/s0)`, `B' = ceil(b/s1)`): DiagABT Mult `(c/2)A'B'`, Rot `(c/2)(B' + 2A' log s1)`,
/// CMult `c`; DiagATB Mult `(c/2)A'B'`, Rot `2 + (c/2)(2A' + B' log s0) - 2A'`, CMult
/// `1 + (c/2)(A' + B') - A'`, PRotUp adding `(c/2 - 1)(B' - 1)` to both; ColMajor / RowMajor
/// Mult `cA'B'`, CMult `c(A' + B')`, Rot `c(B' log s0 + A' log s1 + 1) - 1`; Jin Mult `cb`,
/// Rot 0 (A*B^T) or `cb log2(slots)` (A^T*B). Conjugations are not part of the table (0 here);
/// levels are the depths of the reconstructed schedules. The shared-row-sum schedules are
/// this crate's own and have no published counts: an error.
pub fn reference_counts(alg: Algorithm, shape: ProductShape, slots: usize) -> Result<OpCounts, LinalgError> {
    let (ap, bp, l0, l1, h) = dims(shape, slots)?;
    let c = shape.c;
    let log_slots = slots.trailing_zeros() as usize;
    let atb = |extra: usize, levels| OpCounts {
        mult: h * ap * bp,
        cmult: 1 + h * (ap + bp) - ap + extra,
        rot: 2 + h * (2 * ap + bp * l0) - 2 * ap + extra,
        conj: 0,
        levels,
    };
    Ok(match alg {
        Algorithm::DiagAbt => OpCounts { mult: h * ap * bp, cmult: c, rot: h * (bp + 2 * ap * l1), conj: 0, levels: 3 },
        Algorithm::DiagAtb => atb(0, 4),
        Algorithm::DiagAtbPRotUp => atb((h - 1) * (bp - 1), 3),
        Algorithm::DiagAbtShared | Algorithm::DiagAtbShared | Algorithm::DiagAtbPRotUpShared => {
            return Err(LinalgError::InvalidLayout {
                op: "reference_counts",
                reason: format!("the paper publishes no counts for {}", alg.name()),
            })
        }
        Algorithm::ColMajor | Algorithm::RowMajor => OpCounts {
            mult: c * ap * bp,
            cmult: c * (ap + bp),
            rot: c * (bp * l0 + ap * l1 + 1) - 1,
            conj: 0,
            levels: 3,
        },
        Algorithm::JinAbt => OpCounts { mult: c * shape.b, cmult: 0, rot: 0, conj: 0, levels: 1 },
        Algorithm::JinAtb => OpCounts { mult: c * shape.b, cmult: 0, rot: c * shape.b * log_slots, conj: 0, levels: 1 },
    })
}
