//! Packing without encryption: every logical entry lands where the unit shape and tiling say,
//! and unpacking inverts packing.

use hetal_linalg::{BlockLayout, Matrix, Tiling, UnitShape};
use proptest::prelude::*;

#[test]
fn tilings_repeat_with_their_period() {
    let unit = UnitShape::new(8, 64).unwrap(); // 8 x 8 blocks
    let w = Matrix::from_fn(3, 10, |r, j| (r * 100 + j) as f64);
    let layout = BlockLayout::new(3, 10, unit, Tiling::Vertical { period: 4 }).unwrap();
    assert_eq!((layout.block_rows, layout.block_cols), (1, 2));
    let blocks = layout.pack(&w).unwrap();
    // Physical row 5 is logical row 1; row 7 is the zero padding row 3.
    assert_eq!(blocks[0][5 * 8 + 2], 102.0);
    assert_eq!(blocks[1][4 * 8 + 1], 9.0);
    assert_eq!(blocks[0][7 * 8], 0.0);
    assert_eq!(blocks[1][2 * 8 + 2], 0.0, "column 10 is padding");

    let p = Matrix::from_fn(10, 3, |r, j| (r * 100 + j) as f64);
    let layout = BlockLayout::new(10, 3, unit, Tiling::Horizontal { period: 4 }).unwrap();
    assert_eq!((layout.block_rows, layout.block_cols), (2, 1));
    let blocks = layout.pack(&p).unwrap();
    assert_eq!(blocks[0][2 * 8 + 5], 201.0);
    assert_eq!(blocks[1][8 + 6], 902.0);
    assert_eq!(blocks[0][7], 0.0, "column 3 of each period is padding");
}

proptest! {
    #[test]
    fn pack_then_unpack_is_identity(log_s0 in 0u32..7, rows in 1usize..60, cols in 1usize..60, tiling in 0u8..3) {
        let unit = UnitShape::new(1 << log_s0, 64).unwrap();
        let tiling = match tiling {
            0 => Tiling::None,
            1 => Tiling::Vertical { period: unit.s0 },
            _ => Tiling::Horizontal { period: unit.s1 },
        };
        let (rows, cols) = match tiling {
            Tiling::Vertical { period } => (rows.min(period), cols),
            Tiling::Horizontal { period } => (rows, cols.min(period)),
            Tiling::None => (rows, cols),
        };
        let m = Matrix::from_fn(rows, cols, |r, j| (r * 1000 + j) as f64);
        let layout = BlockLayout::new(rows, cols, unit, tiling).unwrap();
        let blocks = layout.pack(&m).unwrap();
        prop_assert_eq!(blocks.len(), layout.blocks());
        prop_assert_eq!(layout.unpack(&blocks).unwrap(), m);
    }
}
