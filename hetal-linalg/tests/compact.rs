//! The compact form of vertically tiled matrices against the matrices themselves: packing then
//! unpacking gives the blocks back (every copy) at every depth of splits, at insecure `N = 2^11`;
//! the depth [`unpack_copies`] picks against the key-switching weights at the secure preset.

mod common;

use common::{fixture, random_matrix};
use hetal_linalg::{
    pack_copies, packed_count, unpack_baby_log2, unpack_copies, unpack_copies_at_depth, unpack_depth, unpack_rotations,
    BlockLayout, Tiling, UnitShape,
};
use proptest::prelude::*;

/// Packs `k` random matrices of `c x cols` (vertical period `c`, unit `32 x slots / 32`),
/// unpacks them at `depth` with the baby steps' keys or the doublings' only, and checks every
/// copy of every block.
fn round_trip(c: usize, cols: usize, k: usize, depth: usize, baby_keys: bool, seed: u64) -> Result<(), TestCaseError> {
    let f = fixture();
    let unit = UnitShape::new(32, f.slots()).unwrap();
    let layout = BlockLayout::new(c, cols, unit, Tiling::Vertical { period: c }).unwrap();
    let l = (c * unit.s1) as i64;
    let mut keys = unpack_rotations(&layout).unwrap();
    if !baby_keys {
        keys.retain(|r| (r / l).count_ones() == 1);
    }
    let eval = f.evaluator_with(keys, false);
    let log_copies = (unit.s0 / c).trailing_zeros() as usize;
    prop_assert_eq!(unpack_baby_log2(&eval, &layout).unwrap(), log_copies.min(if baby_keys { 3 } else { 1 }));
    let mut enc = f.encryptor(3);
    let plain: Vec<_> = (0..k).map(|i| random_matrix(c, cols, seed + i as u64)).collect();
    let top = f.top();
    let mats: Vec<_> =
        plain.iter().map(|m| f.encrypt(m, unit, Tiling::Vertical { period: c }, top, &mut enc)).collect();
    prop_assert_eq!(*mats[0].layout(), layout);
    let refs: Vec<_> = mats.iter().collect();
    let packed = pack_copies(&eval, &refs).unwrap();
    prop_assert_eq!(packed.len(), packed_count(&layout, k).unwrap());
    prop_assert!(packed.iter().all(|p| p.level() == top - 1));
    // A group with fewer than 2^depth blocks (the last may be) splits as often as it can.
    let level = top - 2 - depth;
    let back = unpack_copies_at_depth(&eval, &packed, &layout, k, level, depth).unwrap();
    for (m, b) in plain.iter().zip(&back) {
        prop_assert_eq!(b.level(), level);
        let got = b.decrypt(&f.encoder, &f.decryptor()).unwrap();
        prop_assert!(got.max_abs_diff(m) < 1e-6, "{}", got.max_abs_diff(m));
        // Every copy holds the slice, not only the one the logical view reads.
        let want = layout.pack(m).unwrap();
        for (ct, w) in b.blocks().iter().zip(&want) {
            let slots = f.encoder.decode_real(&f.decryptor().decrypt(ct).unwrap()).unwrap();
            let err = slots.iter().zip(w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            prop_assert!(err < 1e-6, "{}", err);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// `k` matrices of `c x cols` (vertical period `c`) survive the round trip at every depth
    /// of splits the levels allow (groups too small for it split as often as they can), with
    /// the baby steps' keys and with the doublings' keys only (a bundle made before them); the
    /// packed count is `ceil(k blocks / (s0 / c))`.
    #[test]
    fn pack_then_unpack_gives_the_blocks_back(log_c in 1u32..4, cols in 1usize..200, k in 1usize..4, depth in 0usize..3, baby_keys: bool, seed in 0u64..1000) {
        round_trip(1 << log_c, cols, k, depth, baby_keys, seed)?;
    }
}

/// 10 blocks in 16 copies' room: the upper half of blocks 8 and 9 is empty, so that ciphertext
/// doubles without a mask at both splits, and the leaves take 4 baby steps, not 8.
#[test]
fn an_incomplete_group_splits_without_its_empty_half() {
    for baby_keys in [false, true] {
        round_trip(2, 300, 1, 2, baby_keys, 7).unwrap();
    }
}

#[test]
fn refuses_other_tilings_and_mixed_levels() {
    let f = fixture();
    let unit = UnitShape::new(32, f.slots()).unwrap();
    let eval = f.evaluator_with(vec![], false);
    let mut enc = f.encryptor(4);
    let m = random_matrix(4, 20, 1);
    let plain = f.encrypt(&m, unit, Tiling::None, 3, &mut enc);
    assert!(pack_copies(&eval, &[&plain]).is_err());
    let a = f.encrypt(&m, unit, Tiling::Vertical { period: 4 }, 3, &mut enc);
    let b = f.encrypt(&m, unit, Tiling::Vertical { period: 4 }, 2, &mut enc);
    assert!(pack_copies(&eval, &[&a, &b]).is_err());
    assert!(pack_copies(&eval, &[]).is_err());
    let packed = pack_copies(&eval, &[&a]).unwrap();
    assert!(unpack_copies(&eval, &packed, a.layout(), 2, 0).is_err());
    assert!(unpack_copies(&eval, &[], a.layout(), 0, 0).is_err());
    // Blocks at the packed level or above, or splits the levels do not allow.
    assert!(unpack_copies(&eval, &packed, a.layout(), 1, packed[0].level()).is_err());
    // One block splits no further; four do, and need the level for it.
    let eval = f.evaluator_with(unpack_rotations(a.layout()).unwrap(), false);
    assert_eq!(unpack_copies_at_depth(&eval, &packed, a.layout(), 1, 1, 1).unwrap()[0].level(), 1);
    let wide = f.encrypt(&random_matrix(4, 100, 2), unit, Tiling::Vertical { period: 4 }, 3, &mut enc);
    let packed = pack_copies(&eval, &[&wide]).unwrap();
    assert_eq!(wide.layout().blocks(), 4);
    assert!(unpack_copies_at_depth(&eval, &packed, wide.layout(), 1, 1, 1).is_err());
}

/// At the secure preset, the Face Mask weights and momentum (2 classes, 1280 features and the
/// bias: `c = 2`, unit `512 x 64`, 21 blocks each, 42 in one group of 256 copies' room, `Q =
/// 64`) split as deep as the levels allow up to 3, with or without the baby steps: each split
/// takes rotations from level 8, where they have two digits.
#[test]
fn the_split_depth_follows_the_key_switching_weights() {
    let params = ckks_scheme::Preset::BootstrapN16.build().unwrap();
    let unit = UnitShape::new(512, params.slots()).unwrap();
    let layout = BlockLayout::new(2, 1281, unit, Tiling::Vertical { period: 2 }).unwrap();
    assert_eq!((layout.blocks(), packed_count(&layout, 2).unwrap()), (21, 1));
    let depth = |from, to, baby| unpack_depth(&params, &layout, 2, from, to, baby).unwrap();
    // The baby steps make the leaves cheaper, but not enough to give up a split.
    for baby in [1, 3] {
        assert_eq!([depth(9, 8, baby), depth(10, 8, baby), depth(12, 8, baby)], [0, 1, 3]);
    }
    assert!(unpack_depth(&params, &layout, 2, 8, 8, 3).is_err());
}
