//! The `matmul` suite: HETAL's encrypted matrix products on one shape `(a, b, c)`, each by the
//! paper's schedule and by this crate's shared one, side by side. DiagABT is
//! the forward pass `X W^T` (`a x b` by `(c x b)^T`, the peers' "HETAL A·Bᵀ" workload at the
//! default shape); DiagATB the backward pass `P^T X` (`(a x c)^T` by `a x b`), with the variant
//! `hetal_linalg::diag_atb` picks for equal input levels, by the paper's row sum and by the
//! shared one (`hetal_linalg::RowSum`) side by side.

use super::timing::measure;
use super::{check, BenchError, Ctx};
use ckks_scheme::{Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator};
use hetal_linalg::testing::random_matrix;
use hetal_linalg::{
    diag_abt_with, diag_atb_with, rotation_steps, Algorithm, AtbVariant, EncryptedMatrix, OpCounts, ProductShape,
    RowSum, Tiling,
};
use std::sync::Arc;

/// Level of the inputs unless `--level` says otherwise: DiagABT needs 3 levels (the paper's
/// schedule; 2 shared) and DiagATB 3
/// or 4, so 4 is the lowest level (the cheapest) at which both run.
const DEFAULT_LEVEL: usize = 4;

/// Largest error allowed in a product entry. Entries are sums of `b` products of values in
/// `[-1, 1]` (up to about 30 for b = 768); CKKS errors are around `1e-6`, a wrong product is
/// off by about 1.
const BOUND: f64 = 1e-2;

fn describe(k: &OpCounts) -> String {
    format!("Mult {}, CMult {}, Rot {}, Conj {}, {} levels", k.mult, k.cmult, k.rot, k.conj, k.levels)
}

/// Runs the suite on `shape` with inputs at `level` (default [`DEFAULT_LEVEL`], capped at the
/// top level).
pub fn run(ctx: &mut Ctx<'_, '_>, shape: ProductShape, level: Option<usize>) -> Result<(), BenchError> {
    let params = ctx.params.clone();
    let level = level.unwrap_or(DEFAULT_LEVEL).min(params.max_level());
    let ProductShape { a, b, c } = shape;
    let unit = shape.unit(params.slots())?;
    let variant = AtbVariant::best_for(level, level);
    let mut steps = rotation_steps(Algorithm::DiagAbt, unit, c)?;
    for row_sum in [RowSum::PerPair, RowSum::Shared] {
        steps.extend(rotation_steps(variant.algorithm(row_sum), unit, c)?);
    }
    steps.sort_unstable();
    steps.dedup();

    let mut kg = KeyGenerator::from_seed(&params, ctx.seed(1));
    let sk = kg.secret_key()?;
    let mut keys = None;
    let t = measure(1, || {
        keys = Some(kg.evaluation_keys(&sk, &steps, true)?);
        Ok::<_, BenchError>(())
    })?;
    let keys = Arc::new(keys.expect("set by the timed closure"));
    let mut r = ctx.record("keygen_matmul", "keygen: public, relin, rotation keys", None, t);
    r.detail = Some(format!("{} rotation keys + conjugation", steps.len()));
    ctx.emit(r)?;

    let encoder = Encoder::new(&params);
    let mut enc = Encryptor::from_seed(&keys.public, ctx.seed(2));
    let eval = Evaluator::new(keys.clone());
    let dec = Decryptor::new(&sk);
    let scale = params.default_scale();
    let (x, w, p) = (random_matrix(a, b, 1), random_matrix(c, b, 2), random_matrix(a, c, 3));
    let ex = EncryptedMatrix::encrypt(&x, unit, Tiling::None, level, scale, &encoder, &mut enc)?;
    let ew = EncryptedMatrix::encrypt(&w, unit, Tiling::Vertical { period: c }, level, scale, &encoder, &mut enc)?;
    let ep = EncryptedMatrix::encrypt(&p, unit, Tiling::Horizontal { period: c }, level, scale, &encoder, &mut enc)?;
    let blocks = format!("unit {} x {}", unit.s0, unit.s1);

    let want = x.matmul(&w.transpose())?;
    for (id, row_sum, alg) in [
        ("diag_abt_paper", RowSum::PerPair, Algorithm::DiagAbt),
        ("diag_abt", RowSum::Shared, Algorithm::DiagAbtShared),
    ] {
        let (out, counts) = diag_abt_with(&eval, &ex, &ew, row_sum)?;
        check(id, out.decrypt(&encoder, &dec)?.max_abs_diff(&want), BOUND)?;
        let t = measure(ctx.repeat, || diag_abt_with(&eval, &ex, &ew, row_sum))?;
        let mut r = ctx.record(id, &format!("{} {a}x{b} by ({c}x{b})^T", alg.name()), Some(level), t);
        r.detail = Some(format!("{blocks}; {}", describe(&counts)));
        ctx.emit(r)?;
    }

    let want = p.transpose().matmul(&x)?;
    for (id, row_sum) in [("diag_atb_paper", RowSum::PerPair), ("diag_atb", RowSum::Shared)] {
        let (out, counts) = diag_atb_with(&eval, &ep, &ex, variant, row_sum)?;
        check(id, out.decrypt(&encoder, &dec)?.max_abs_diff(&want), BOUND)?;
        let t = measure(ctx.repeat, || diag_atb_with(&eval, &ep, &ex, variant, row_sum))?;
        let name = variant.algorithm(row_sum).name();
        let mut r = ctx.record(id, &format!("{name} ({a}x{c})^T by {a}x{b}"), Some(level), t);
        r.detail = Some(format!("{blocks}; {}", describe(&counts)));
        ctx.emit(r)?;
    }
    Ok(())
}
