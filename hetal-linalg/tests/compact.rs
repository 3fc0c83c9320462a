//! The compact form of vertically tiled matrices against the matrices themselves: packing then
//! unpacking gives the blocks back (every copy), each in one level, at insecure `N = 2^11`.

mod common;

use common::{fixture, random_matrix};
use hetal_linalg::{pack_copies, packed_count, unpack_copies, unpack_rotations, Tiling, UnitShape};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    /// `k` matrices of `c x cols` (vertical period `c`) survive the round trip; the packed
    /// count is `ceil(k blocks / (s0 / c))`.
    #[test]
    fn pack_then_unpack_gives_the_blocks_back(log_c in 1u32..4, cols in 1usize..200, k in 1usize..4, seed in 0u64..1000) {
        let f = fixture();
        let c = 1usize << log_c;
        let unit = UnitShape::new(32, f.slots()).unwrap();
        let eval = f.evaluator_with(unpack_rotations(&hetal_linalg::BlockLayout::new(c, cols, unit, Tiling::Vertical { period: c }).unwrap()).unwrap(), false);
        let mut enc = f.encryptor(3);
        let plain: Vec<_> = (0..k).map(|i| random_matrix(c, cols, seed + i as u64)).collect();
        let mats: Vec<_> = plain.iter().map(|m| f.encrypt(m, unit, Tiling::Vertical { period: c }, 3, &mut enc)).collect();
        let layout = *mats[0].layout();
        let refs: Vec<_> = mats.iter().collect();
        let packed = pack_copies(&eval, &refs).unwrap();
        prop_assert_eq!(packed.len(), packed_count(&layout, k).unwrap());
        prop_assert!(packed.iter().all(|p| p.level() == 2));
        let back = unpack_copies(&eval, &packed, &layout, k).unwrap();
        for (m, b) in plain.iter().zip(&back) {
            prop_assert_eq!(b.level(), 1);
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
    assert!(unpack_copies(&eval, &packed, a.layout(), 2).is_err());
}
