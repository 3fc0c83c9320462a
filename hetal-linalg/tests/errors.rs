//! Bad input gives typed errors, never panics.

mod common;

use common::{fixture, random_matrix};
use hetal_linalg::{
    diag_abt, diag_atb, Algorithm, BlockLayout, EncryptedMatrix, LinalgError, Matrix, ProductShape, Tiling, UnitShape,
};

#[test]
fn layout_errors() {
    let slots = 1024;
    assert!(matches!(UnitShape::new(3, slots), Err(LinalgError::InvalidLayout { .. })));
    assert!(matches!(UnitShape::for_product(10, 3, slots), Err(LinalgError::InvalidLayout { .. })));
    assert!(matches!(UnitShape::for_product(10, 1024, slots), Err(LinalgError::InvalidLayout { .. })));
    let unit = UnitShape::new(16, slots).unwrap();
    assert!(BlockLayout::new(0, 3, unit, Tiling::None).is_err());
    assert!(BlockLayout::new(5, 3, unit, Tiling::Vertical { period: 4 }).is_err(), "5 rows do not fit period 4");
    assert!(BlockLayout::new(3, 3, unit, Tiling::Horizontal { period: 3 }).is_err(), "period must divide s1");
    assert!(Matrix::new(2, 2, vec![1.0]).is_err());
    let layout = BlockLayout::new(3, 3, unit, Tiling::None).unwrap();
    assert!(matches!(layout.pack(&Matrix::from_fn(2, 3, |_, _| 0.0)), Err(LinalgError::ShapeMismatch { .. })));
    assert!(hetal_linalg::predicted_counts(Algorithm::DiagAbt, ProductShape { a: 8, b: 8, c: 6 }, slots).is_err());
}

#[test]
fn product_errors() {
    let f = fixture();
    let (a, b, c) = (8, 12, 4);
    let unit = UnitShape::for_product(a, c, f.slots()).unwrap();
    let mut enc = f.encryptor(3);
    let x = f.encrypt(&random_matrix(a, b, 1), unit, Tiling::None, f.top(), &mut enc);
    let w = f.encrypt(&random_matrix(c, b - 1, 2), unit, Tiling::Vertical { period: c }, f.top(), &mut enc);
    let eval = f.evaluator(&[Algorithm::DiagAbt], unit, c);
    assert!(matches!(diag_abt(&eval, &x, &w), Err(LinalgError::ShapeMismatch { .. })));
    // Wrong tiling: A^T * B with an untiled A.
    assert!(matches!(diag_atb(&eval, &x, &x), Err(LinalgError::InvalidLayout { .. })));

    // Missing keys: an evaluator without the rotation keys of DiagABT.
    let w = f.encrypt(&random_matrix(c, b, 2), unit, Tiling::Vertical { period: c }, f.top(), &mut enc);
    let bare = f.evaluator_with(vec![1], true);
    assert!(matches!(diag_abt(&bare, &x, &w), Err(LinalgError::MissingRotationKey { .. })));
    let steps = hetal_linalg::rotation_steps(Algorithm::DiagAbt, unit, c).unwrap();
    let no_conj = f.evaluator_with(steps, false);
    assert!(matches!(diag_abt(&no_conj, &x, &w), Err(LinalgError::MissingConjugationKey { .. })));

    // Too few levels: 2 for the shared placement, 3 for the paper's.
    let low = f.encrypt(&random_matrix(a, b, 1), unit, Tiling::None, 1, &mut enc);
    assert!(matches!(diag_abt(&eval, &low, &w), Err(LinalgError::LevelTooLow { needed: 2, .. })));
    let low = f.encrypt(&random_matrix(a, b, 1), unit, Tiling::None, 2, &mut enc);
    let paper = hetal_linalg::diag_abt_with(&eval, &low, &w, hetal_linalg::RowSum::PerPair);
    assert!(matches!(paper, Err(LinalgError::LevelTooLow { needed: 3, .. })));

    // A unit shape that does not fill the slots.
    let small = UnitShape::new(8, 64).unwrap();
    let r = EncryptedMatrix::encrypt(
        &random_matrix(4, 4, 1),
        small,
        Tiling::None,
        f.top(),
        f.scale(),
        &f.encoder,
        &mut enc,
    );
    assert!(matches!(r, Err(LinalgError::InvalidLayout { .. })));
}
