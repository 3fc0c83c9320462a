//! Galois keys truncated to a level: they rotate below it, refuse above it with a typed error,
//! and survive serialization.

use ckks_scheme::*;
use std::sync::Arc;

#[test]
fn truncated_galois_key_works_below_its_level_only() {
    let params = Preset::InsecureTestN12.build().unwrap();
    let mut kg = KeyGenerator::from_seed(&params, [21; 32]);
    let sk = kg.secret_key().unwrap();
    let mut keys = kg.evaluation_keys(&sk, &[], false).unwrap();
    let k = rotation_element(&params, 3);
    let full_size = kg.galois_key(&sk, k).unwrap().size_bytes();
    kg.extend_galois_keys_at(&sk, &mut keys.galois, &[k], 2).unwrap();
    let key = keys.galois.get(k).unwrap();
    assert_eq!(key.max_level(), 2);
    assert!(key.size_bytes() < full_size, "{} vs {full_size}", key.size_bytes());

    // Serialization keeps the truncation.
    let bytes = keys.galois.to_bytes(&params).unwrap();
    let back = GaloisKeys::from_bytes(&params, &bytes).unwrap();
    assert_eq!(back.get(k).unwrap().max_level(), 2);
    assert_eq!(back.get(k).unwrap().size_bytes(), key.size_bytes());

    let keys = Arc::new(keys);
    let eval = Evaluator::new(keys.clone());
    let enc = Encoder::new(&params);
    let z: Vec<f64> = (0..params.slots()).map(|j| (j as f64 * 0.01).sin()).collect();
    let pt = enc.encode_real(&z, params.max_level(), params.default_scale()).unwrap();
    let ct = Encryptor::from_seed(&keys.public, [22; 32]).encrypt(&pt).unwrap();
    // Above the key's level: a typed error, not a panic.
    let err = eval.rotate(&ct, 3).unwrap_err();
    assert!(matches!(err, SchemeError::OutOfLevels { .. }), "{err}");
    // At its level: the right rotation.
    let low = eval.drop_to_level(&ct, 2).unwrap();
    let got = enc.decode_real(&Decryptor::new(&sk).decrypt(&eval.rotate(&low, 3).unwrap()).unwrap()).unwrap();
    let n = z.len();
    let worst = (0..n).map(|j| (got[j] - z[(j + 3) % n]).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-6, "{worst}");
}

/// Truncation keeps exactly what the low levels read: a truncated copy of a key switches
/// bit-for-bit like the full key at every level up to the cut (the packed key layout drops
/// digits per coefficient group), and refuses the levels above.
#[test]
fn truncation_keeps_low_levels_bit_for_bit() {
    let params = Preset::InsecureTestN13.build().unwrap();
    assert!(params.dnum() >= 3, "the test needs digits to drop");
    let mut kg = KeyGenerator::from_seed(&params, [23; 32]);
    let sk = kg.secret_key().unwrap();
    let keys = kg.evaluation_keys(&sk, &[], false).unwrap();
    let full = kg.galois_key(&sk, rotation_element(&params, 5)).unwrap();
    let cut = 3;
    let mut low = full.clone();
    low.truncate(cut).unwrap();
    assert_eq!((low.max_level(), low.dnum()), (cut, params.digits_at(cut)));
    let enc = Encoder::new(&params);
    let z: Vec<f64> = (0..params.slots()).map(|j| (j as f64 * 0.37).cos()).collect();
    let pt = enc.encode_real(&z, params.max_level(), params.default_scale()).unwrap();
    let ct = Encryptor::from_seed(&keys.public, [24; 32]).encrypt(&pt).unwrap();
    let eval = Evaluator::new(Arc::new(keys));
    for level in 0..=cut {
        let c = eval.drop_to_level(&ct, level).unwrap();
        let c1 = &c.components()[1];
        let (a, b) = (full.switch(c1).unwrap(), low.switch(c1).unwrap());
        assert!(a.0 == b.0 && a.1 == b.1, "level {level}");
    }
    let above = eval.drop_to_level(&ct, cut + 1).unwrap();
    assert!(matches!(low.switch(&above.components()[1]), Err(SchemeError::OutOfLevels { .. })));
}
