//! Timings of the weights' compact unpacking ([`unpack_copies_at_depth`]) at a training shape,
//! every depth the levels allow, with the baby steps' keys and with the doublings' only, and
//! of the operations it is made of.
//!
//! ```text
//! cargo run --release -p hetal-linalg --example unpack_bench -- \
//!     [--classes 2] [--features 1281] [--s0 512] [--matrices 2] [--from 12] [--level 8] [--runs 2]
//! ```
//!
//! The defaults are the 2-class Face Mask set's weights and momentum at the secure
//! bootstrapping preset: packed at level 12 (out of their refresh), unpacked to 8. Every
//! result is checked against the plain matrices.

use hetal_linalg::ckks_scheme::{
    Ciphertext, Decryptor, Encoder, Encryptor, EvaluationKeys, Evaluator, KeyGenerator, Preset,
};
use hetal_linalg::testing::random_matrix;
use hetal_linalg::{
    pack_copies, unpack_baby_log2, unpack_copies_at_depth, unpack_depth, unpack_rotations, BlockLayout,
    EncryptedMatrix, Tiling, UnitShape,
};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: ckks_scheme::allocator::MiMalloc = ckks_scheme::allocator::MiMalloc;

type BoxErr = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxErr> {
    let mut opts = [
        ("--classes", 2usize),
        ("--features", 1281),
        ("--s0", 512),
        ("--matrices", 2),
        ("--from", 12),
        ("--level", 8),
        ("--runs", 2),
    ];
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it.next().ok_or(format!("{flag} needs a value"))?.parse()?;
        let slot = opts.iter_mut().find(|(f, _)| *f == flag).ok_or(format!("unknown flag {flag}"))?;
        slot.1 = value;
    }
    let [c, features, s0, matrices, from, level, runs] = opts.map(|(_, v)| v);
    let params = Preset::BootstrapN16.build()?;
    let unit = UnitShape::new(s0, params.slots())?;
    let layout = BlockLayout::new(c, features, unit, Tiling::Vertical { period: c })?;
    let steps = unpack_rotations(&layout)?;
    let l = (c * unit.s1) as i64;
    println!(
        "N = 2^{}, {} blocks x {matrices}, L = {l}, packed at {from}, out at {level}; keys {steps:?}",
        params.degree().trailing_zeros(),
        layout.blocks()
    );
    let t = Instant::now();
    let mut kg = KeyGenerator::from_seed(&params, [5; 32]);
    let sk = kg.secret_key()?;
    let public = kg.public_key(&sk)?;
    let keys_for = |kg: &mut KeyGenerator, steps: &[i64]| -> Result<Arc<Evaluator>, BoxErr> {
        let galois = kg.galois_keys(&sk, steps, false)?;
        Ok(Arc::new(Evaluator::new(Arc::new(EvaluationKeys {
            params: params.clone(),
            public: public.clone(),
            relinearization: None,
            galois,
        }))))
    };
    let full = keys_for(&mut kg, &steps)?;
    let doublings: Vec<i64> = steps.iter().copied().filter(|r| (r / l).count_ones() == 1).collect();
    let halved = keys_for(&mut kg, &doublings)?;
    println!("keys in {:.1} s", t.elapsed().as_secs_f64());

    let encoder = Encoder::new(&params);
    let mut enc = Encryptor::from_seed(&public, [6; 32]);
    let plain: Vec<_> = (0..matrices).map(|i| random_matrix(c, features, 40 + i as u64)).collect();
    let mats = plain
        .iter()
        .map(|m| {
            EncryptedMatrix::encrypt(
                m,
                unit,
                Tiling::Vertical { period: c },
                from + 1,
                params.default_scale(),
                &encoder,
                &mut enc,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<_> = mats.iter().collect();
    let packed = pack_copies(&full, &refs)?;
    let dec = Decryptor::new(&sk);

    let skip = std::env::var("SKIP_UNPACK").is_ok();
    for (name, eval) in [("baby steps", &full), ("doublings only", &halved)].into_iter().filter(|_| !skip) {
        let baby = unpack_baby_log2(eval, &layout)?;
        let chosen = unpack_depth(&params, &layout, matrices, from, level, baby)?;
        for depth in 0..from - level {
            let mut times = Vec::new();
            let mut err = 0.0f64;
            for _ in 0..runs {
                let t = Instant::now();
                let back = unpack_copies_at_depth(eval, &packed, &layout, matrices, level, depth)?;
                times.push(t.elapsed().as_secs_f64());
                for (m, b) in plain.iter().zip(&back) {
                    err = err.max(b.decrypt(&encoder, &dec)?.max_abs_diff(m));
                }
            }
            let mark = if depth == chosen { " (chosen)" } else { "" };
            println!("{name} (2^{baby}), depth {depth}{mark}: {times:.2?} s, max error {err:.1e}");
        }
    }

    // The parts, at the leaves' level and the blocks' level.
    let top: Ciphertext = full.drop_to_level(&packed[0], level + 1)?;
    let low: Ciphertext = full.drop_to_level(&packed[0], level)?;
    let time = |what: &str, n: usize, f: &mut dyn FnMut() -> Result<(), BoxErr>| -> Result<(), BoxErr> {
        let t = Instant::now();
        for _ in 0..n {
            f()?;
        }
        println!("{what}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3 / n as f64);
        Ok(())
    };
    time(&format!("rotation at {level}"), 8, &mut || {
        full.rotate(&low, l)?;
        Ok(())
    })?;
    time(&format!("rotation at {}", level + 1), 8, &mut || {
        full.rotate(&top, l)?;
        Ok(())
    })?;
    time(&format!("7 rotations hoisted at {}", level + 1), 4, &mut || {
        full.rotate_hoisted(&top, &(1..8).map(|j| j * l).collect::<Vec<_>>())?;
        Ok(())
    })?;
    let mask: Vec<f64> = (0..params.slots()).map(|k| f64::from(k % 3 == 0)).collect();
    time(&format!("mask encoding at {}", level + 1), 8, &mut || {
        encoder.encode_real(&mask, level + 1, params.default_scale())?;
        Ok(())
    })?;
    let pt = encoder.encode_real(&mask, level + 1, params.default_scale())?;
    time(&format!("1 mask product at {}", level + 1), 8, &mut || {
        full.mul_plain(&top, &pt)?;
        Ok(())
    })?;
    let prod = full.mul_plain(&top, &pt)?;
    time(&format!("rescale from {}", level + 1), 8, &mut || {
        full.rescale(&prod)?;
        Ok(())
    })?;
    time(&format!("8 mask products summed at {}", level + 1), 8, &mut || {
        let mut acc = full.mul_plain(&top, &pt)?;
        for _ in 1..8 {
            full.add_mul_plain_assign(&mut acc, &top, &pt)?;
        }
        full.rescale(&acc)?;
        Ok(())
    })?;
    Ok(())
}
