//! The operation counts of the authors' corrected table (spec section 4) for the five paper
//! shapes at `N = 2^16` (2^15 slots), both inputs at level 12: pure functions, no encryption.

use hetal_linalg::{predicted_counts, reference_counts, rotation_steps, Algorithm, OpCounts, ProductShape};
use proptest::prelude::*;

const SLOTS: usize = 1 << 15;

/// One table cell: algorithm, CMult, Mult, Rot.
type Row = (Algorithm, usize, usize, usize);

/// (CMult, Mult, Rot) per shape and algorithm, copied from the table; DiagATB has the plain
/// and the PRotUp numbers.
#[rustfmt::skip]
const TABLE: [(ProductShape, [Row; 7]); 5] = [
    (ProductShape { a: 128, b: 128, c: 4 }, [
        (Algorithm::JinAbt, 0, 512, 0), (Algorithm::ColMajor, 8, 4, 63), (Algorithm::DiagAbt, 4, 2, 34),
        (Algorithm::JinAtb, 0, 512, 7680), (Algorithm::RowMajor, 8, 4, 63),
        (Algorithm::DiagAtb, 4, 2, 18), (Algorithm::DiagAtbPRotUp, 4, 2, 18)]),
    (ProductShape { a: 256, b: 256, c: 8 }, [
        (Algorithm::JinAbt, 0, 2048, 0), (Algorithm::ColMajor, 24, 16, 191), (Algorithm::DiagAbt, 8, 8, 64),
        (Algorithm::JinAtb, 0, 2048, 30720), (Algorithm::RowMajor, 24, 16, 191),
        (Algorithm::DiagAtb, 12, 8, 72), (Algorithm::DiagAtbPRotUp, 15, 8, 75)]),
    (ProductShape { a: 512, b: 769, c: 4 }, [
        (Algorithm::JinAbt, 0, 3076, 0), (Algorithm::ColMajor, 56, 52, 495), (Algorithm::DiagAbt, 4, 26, 50),
        (Algorithm::JinAtb, 0, 3076, 46140), (Algorithm::RowMajor, 56, 52, 495),
        (Algorithm::DiagAtb, 28, 26, 238), (Algorithm::DiagAtbPRotUp, 40, 26, 250)]),
    (ProductShape { a: 1024, b: 769, c: 8 }, [
        (Algorithm::JinAbt, 0, 6152, 0), (Algorithm::ColMajor, 208, 200, 2047), (Algorithm::DiagAbt, 8, 100, 140),
        (Algorithm::JinAtb, 0, 6152, 92280), (Algorithm::RowMajor, 208, 200, 2047),
        (Algorithm::DiagAtb, 104, 100, 1008), (Algorithm::DiagAtbPRotUp, 176, 100, 1080)]),
    (ProductShape { a: 2048, b: 769, c: 16 }, [
        (Algorithm::JinAbt, 0, 12304, 0), (Algorithm::ColMajor, 800, 784, 8703), (Algorithm::DiagAbt, 16, 392, 456),
        (Algorithm::JinAtb, 0, 12304, 184560), (Algorithm::RowMajor, 800, 784, 8703),
        (Algorithm::DiagAtb, 400, 392, 4328), (Algorithm::DiagAtbPRotUp, 736, 392, 4664)]),
];

fn cmult_mult_rot(c: OpCounts) -> (usize, usize, usize) {
    (c.cmult, c.mult, c.rot)
}

#[test]
fn reference_formulas_reproduce_the_table() {
    for (shape, rows) in TABLE {
        for (alg, cmult, mult, rot) in rows {
            let got = reference_counts(alg, shape, SLOTS).unwrap();
            assert_eq!(cmult_mult_rot(got), (cmult, mult, rot), "{} at {shape:?}", alg.name());
        }
    }
}

/// The implemented schedules perform exactly the table's CMult / Mult / Rot on all five
/// shapes (every one has a single block row, `A' = 1`); conjugations come on top.
#[test]
fn implemented_schedules_match_the_table() {
    for (shape, rows) in TABLE {
        for (alg, cmult, mult, rot) in rows {
            let got = predicted_counts(alg, shape, SLOTS).unwrap();
            assert_eq!(cmult_mult_rot(got), (cmult, mult, rot), "{} at {shape:?}", alg.name());
        }
    }
}

#[test]
fn depths_and_conjugations() {
    let shape = ProductShape::PAPER[4];
    let c = |alg| predicted_counts(alg, shape, SLOTS).unwrap();
    assert_eq!((c(Algorithm::DiagAbt).levels, c(Algorithm::DiagAbt).conj), (3, 1));
    assert_eq!((c(Algorithm::DiagAtb).levels, c(Algorithm::DiagAtb).conj), (4, 49));
    assert_eq!(c(Algorithm::DiagAtbPRotUp).levels, 3, "PRotUp saves one level");
    assert_eq!(c(Algorithm::ColMajor).levels, 3);
    assert_eq!(c(Algorithm::JinAtb).levels, 1);
}

/// Rotation-key sets are small: what the client has to generate at `N = 2^16`.
#[test]
fn rotation_key_sets_of_the_paper_shapes() {
    for shape in ProductShape::PAPER {
        let unit = shape.unit(SLOTS).unwrap();
        let abt = rotation_steps(Algorithm::DiagAbt, unit, shape.c).unwrap();
        assert_eq!(abt.len(), shape.c / 2 + 2 * unit.log_s1(), "{shape:?}: s1, 2m s1, +-2^t");
        let atb = rotation_steps(Algorithm::DiagAtb, unit, shape.c).unwrap();
        assert!(atb.len() <= shape.c + unit.log_s0(), "{shape:?}: {atb:?}");
        assert!(atb.iter().all(|&r| r != 0 && r.unsigned_abs() < SLOTS as u64));
    }
}

proptest! {
    /// With one block row the implemented schedules and the published formulas agree for any
    /// shape; with several block rows ours never does more than the formulas scaled per block row.
    #[test]
    fn implemented_equals_reference_for_one_block_row(log_a in 1u32..14, b in 1usize..3000, log_c in 1u32..6) {
        let c = 1usize << log_c;
        let a = 1usize << log_a;
        let shape = ProductShape { a, b, c };
        prop_assume!(shape.unit(SLOTS).map(|u| a <= u.s0).unwrap_or(false));
        for alg in Algorithm::PAPER {
            let p = predicted_counts(alg, shape, SLOTS).unwrap();
            let r = reference_counts(alg, shape, SLOTS).unwrap();
            prop_assert_eq!(cmult_mult_rot(p), cmult_mult_rot(r), "{}", alg.name());
        }
    }
}

/// The shared row sum at the paper's shapes: the same products, at most as many rotations as
/// the paper's schedule of the same variant (at `c = 16`: 4664 -> 1332 for PRotUp), the same
/// levels; the paper has no counts for it.
#[test]
fn the_shared_row_sum_rotates_less() {
    let pairs =
        [(Algorithm::DiagAtb, Algorithm::DiagAtbShared), (Algorithm::DiagAtbPRotUp, Algorithm::DiagAtbPRotUpShared)];
    for shape in ProductShape::PAPER {
        for (paper, shared) in pairs {
            let (p, s) =
                (predicted_counts(paper, shape, SLOTS).unwrap(), predicted_counts(shared, shape, SLOTS).unwrap());
            assert_eq!((s.mult, s.conj, s.levels), (p.mult, p.conj, p.levels), "{shape:?}");
            assert!(s.rot <= p.rot, "{} at {shape:?}: {} > {}", shared.name(), s.rot, p.rot);
            assert!(reference_counts(shared, shape, SLOTS).is_err());
            let unit = shape.unit(SLOTS).unwrap();
            assert_eq!(rotation_steps(shared, unit, shape.c).unwrap(), rotation_steps(paper, unit, shape.c).unwrap());
        }
    }
    let big = predicted_counts(Algorithm::DiagAtbPRotUpShared, ProductShape::PAPER[4], SLOTS).unwrap();
    assert_eq!((big.rot, big.cmult), (1332, 1 + 7 * 49 + 32 * 49));
}

proptest! {
    /// For any shape and number of block rows the shared row sum never rotates more.
    #[test]
    fn shared_never_rotates_more(log_a in 1u32..14, b in 1usize..3000, log_c in 1u32..6) {
        let shape = ProductShape { a: 1usize << log_a, b, c: 1usize << log_c };
        prop_assume!(shape.unit(SLOTS).is_ok());
        for (paper, shared) in [(Algorithm::DiagAbt, Algorithm::DiagAbtShared), (Algorithm::DiagAtb, Algorithm::DiagAtbShared), (Algorithm::DiagAtbPRotUp, Algorithm::DiagAtbPRotUpShared)] {
            let (p, s) = (predicted_counts(paper, shape, SLOTS).unwrap(), predicted_counts(shared, shape, SLOTS).unwrap());
            prop_assert!(s.rot <= p.rot, "{}: {} > {}", shared.name(), s.rot, p.rot);
        }
    }
}
