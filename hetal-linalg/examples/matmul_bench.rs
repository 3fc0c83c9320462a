//! Side-by-side timings of DiagABT / DiagATB and the baselines on one shape.
//!
//! ```text
//! cargo run --release -p hetal-linalg --example matmul_bench -- \
//!     --preset n16 --shape 128,128,4 --threads 1,2 [--level 12] [--algos all|diag|...] [--jin-sample 8]
//! ```
//!
//! Generates only the rotation keys the chosen algorithms need ([`rotation_steps`]), encrypts
//! `X` (`a x b`), `W` (`c x b`, tiled vertically) and `P` (`a x c`, tiled horizontally) at the
//! given level, runs every algorithm once per thread count, checks the result against `f64`
//! and prints time, counts and levels. Jin et al. needs `c b` ciphertexts per operand; unless
//! `--jin-sample 0`, it is timed on a sample and scaled to the full count (marked "est."):
//! `n` output entries for A^T*B (each entry is independent: linear scaling), and one output
//! column of `n` terms plus one of a single term for A*B^T (per-term products and the
//! per-column relinearization are scaled separately).

use hetal_linalg::baselines::{col_major, jin_abt, jin_atb, row_major, ColumnPacked, ReplicatePacked};
use hetal_linalg::ckks_scheme::{
    Decryptor, Encoder, Encryptor, EvaluationKeys, Evaluator, KeyGenerator, Parameters, Preset,
};
use hetal_linalg::testing::random_matrix;
use hetal_linalg::{
    diag_abt_with, diag_atb_with, needs_conjugation, rotation_steps, Algorithm, AtbVariant, EncryptedMatrix,
    LinalgError, OpCounts, ProductShape, RowSum, Tiling,
};
use std::sync::Arc;
use std::time::Instant;

/// Errors of the bench, shareable across the rayon pool.
type BoxErr = Box<dyn std::error::Error + Send + Sync>;

#[global_allocator]
static GLOBAL: ckks_scheme::allocator::MiMalloc = ckks_scheme::allocator::MiMalloc;

struct Args {
    preset: Preset,
    shape: ProductShape,
    threads: Vec<usize>,
    level: usize,
    algos: Vec<Algorithm>,
    jin_sample: usize,
}

/// A bad command line: what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

impl From<String> for UsageError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

fn parse() -> Result<Args, UsageError> {
    let mut args = Args {
        preset: Preset::LeveledN16,
        shape: ProductShape::PAPER[0],
        threads: vec![1, 2],
        level: 12,
        algos: Algorithm::ALL.to_vec(),
        jin_sample: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let nums = || {
            value
                .split(',')
                .map(|x| x.trim().parse::<usize>().map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
        };
        match flag.as_str() {
            "--preset" => {
                args.preset = match value.as_str() {
                    "n16" => Preset::LeveledN16,
                    "n15" => Preset::LeveledN15,
                    "n14" => Preset::LeveledN14,
                    "n13" => Preset::InsecureTestN13,
                    other => return Err(format!("unknown preset {other}").into()),
                }
            }
            "--shape" => match nums()?.as_slice() {
                &[a, b, c] => args.shape = ProductShape { a, b, c },
                _ => return Err(UsageError("--shape a,b,c".into())),
            },
            "--threads" => args.threads = nums()?,
            "--level" => args.level = value.parse().map_err(|e| format!("{e}"))?,
            "--jin-sample" => args.jin_sample = value.parse().map_err(|e| format!("{e}"))?,
            "--algos" => {
                args.algos = match value.as_str() {
                    "all" => Algorithm::ALL.to_vec(),
                    "diag" => Algorithm::ALL[..6].to_vec(),
                    "blocks" => Algorithm::ALL[..8].to_vec(),
                    list => list
                        .split(',')
                        .map(|n| {
                            Algorithm::ALL
                                .into_iter()
                                .find(|a| format!("{a:?}").eq_ignore_ascii_case(n))
                                .ok_or(format!("unknown algorithm {n}"))
                        })
                        .collect::<Result<_, _>>()?,
                }
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(args)
}

/// Seconds of `f` run once.
fn timed<T>(f: impl FnOnce() -> Result<T, LinalgError>) -> Result<(T, f64), LinalgError> {
    let t = Instant::now();
    let out = f()?;
    Ok((out, t.elapsed().as_secs_f64()))
}

fn main() -> Result<(), BoxErr> {
    ckks_scheme::allocator::keep_freed_memory();
    let args = parse()?;
    let params: Parameters = args.preset.build()?;
    let slots = params.slots();
    let ProductShape { a, b, c } = args.shape;
    let unit = args.shape.unit(slots)?;
    let level = args.level.min(params.max_level());
    println!("{}", params.summary());
    println!("shape (a, b, c) = ({a}, {b}, {c}), unit shape {} x {}, inputs at level {level}", unit.s0, unit.s1);

    let mut steps: Vec<i64> = Vec::new();
    for &alg in &args.algos {
        steps.extend(rotation_steps(alg, unit, c)?);
    }
    steps.sort_unstable();
    steps.dedup();
    let conj = args.algos.iter().any(|&alg| needs_conjugation(alg));
    let t = Instant::now();
    let mut kg = KeyGenerator::from_seed(&params, [1; 32]);
    let sk = kg.secret_key()?;
    let keys: EvaluationKeys = kg.evaluation_keys(&sk, &steps, conj)?;
    println!(
        "keygen: {} rotation keys{} in {:.1} s ({:.2} GB)",
        steps.len(),
        if conj { " + conjugation" } else { "" },
        t.elapsed().as_secs_f64(),
        keys.galois.size_bytes() as f64 / 1e9
    );
    let encoder = Encoder::new(&params);
    let mut enc = Encryptor::from_seed(&keys.public, [2; 32]);
    let eval = Evaluator::new(Arc::new(keys));
    let dec = Decryptor::new(&sk);
    let scale = params.default_scale();

    let (x, w, p) = (random_matrix(a, b, 1), random_matrix(c, b, 2), random_matrix(a, c, 3));
    let (xwt, ptx) = (x.matmul(&w.transpose())?, p.transpose().matmul(&x)?);
    let t = Instant::now();
    let ex = EncryptedMatrix::encrypt(&x, unit, Tiling::None, level, scale, &encoder, &mut enc)?;
    let ew = EncryptedMatrix::encrypt(&w, unit, Tiling::Vertical { period: c }, level, scale, &encoder, &mut enc)?;
    let ep = EncryptedMatrix::encrypt(&p, unit, Tiling::Horizontal { period: c }, level, scale, &encoder, &mut enc)?;
    println!(
        "encrypt X, W~, P~: {} blocks in {:.1} s",
        ex.blocks().len() + ew.blocks().len() + ep.blocks().len(),
        t.elapsed().as_secs_f64()
    );

    println!("| algorithm | threads | time (s) | Mult | CMult | Rot | Conj | levels | max error |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let row = |name: &str, threads: usize, secs: f64, k: OpCounts, err: String| {
        println!(
            "| {name} | {threads} | {secs:.2} | {} | {} | {} | {} | {} | {err} |",
            k.mult, k.cmult, k.rot, k.conj, k.levels
        );
    };
    for &threads in &args.threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
        for &alg in &args.algos {
            pool.install(|| -> Result<(), BoxErr> {
                match alg {
                    Algorithm::DiagAbt | Algorithm::DiagAbtShared | Algorithm::ColMajor => {
                        let ((out, k), secs) = timed(|| match alg {
                            Algorithm::DiagAbt => diag_abt_with(&eval, &ex, &ew, RowSum::PerPair),
                            Algorithm::DiagAbtShared => diag_abt_with(&eval, &ex, &ew, RowSum::Shared),
                            _ => col_major(&eval, &ex, &ew),
                        })?;
                        let err = out.decrypt(&encoder, &dec)?.max_abs_diff(&xwt);
                        row(alg.name(), threads, secs, k, format!("{err:.1e}"));
                    }
                    Algorithm::DiagAtb
                    | Algorithm::DiagAtbPRotUp
                    | Algorithm::DiagAtbShared
                    | Algorithm::DiagAtbPRotUpShared
                    | Algorithm::RowMajor => {
                        let ((out, k), secs) = timed(|| match alg {
                            Algorithm::DiagAtb => diag_atb_with(&eval, &ep, &ex, AtbVariant::Plain, RowSum::PerPair),
                            Algorithm::DiagAtbPRotUp => {
                                diag_atb_with(&eval, &ep, &ex, AtbVariant::PRotUp, RowSum::PerPair)
                            }
                            Algorithm::DiagAtbShared => {
                                diag_atb_with(&eval, &ep, &ex, AtbVariant::Plain, RowSum::Shared)
                            }
                            Algorithm::DiagAtbPRotUpShared => {
                                diag_atb_with(&eval, &ep, &ex, AtbVariant::PRotUp, RowSum::Shared)
                            }
                            _ => row_major(&eval, &ep, &ex),
                        })?;
                        let err = out.decrypt(&encoder, &dec)?.max_abs_diff(&ptx);
                        row(alg.name(), threads, secs, k, format!("{err:.1e}"));
                    }
                    Algorithm::JinAbt | Algorithm::JinAtb => {
                        let jin = Jin { args: &args, eval: &eval, encoder: &encoder, dec: &dec, level, slots };
                        let (secs, k, err, label) = jin.run(alg, &mut enc)?;
                        row(&label, threads, secs, k, format!("{err:.1e}"));
                    }
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// Jin et al.'s products, full or on a sample scaled to the full operation count.
struct Jin<'a> {
    args: &'a Args,
    eval: &'a Evaluator,
    encoder: &'a Encoder,
    dec: &'a Decryptor<'a>,
    level: usize,
    slots: usize,
}

impl Jin<'_> {
    /// Seconds (scaled to the full product when sampled), counts of the full product, max
    /// error of what ran, and the row label.
    fn run(&self, alg: Algorithm, enc: &mut Encryptor) -> Result<(f64, OpCounts, f64, String), BoxErr> {
        let ProductShape { a, b, c } = self.args.shape;
        let n = self.args.jin_sample;
        let scale = self.eval.params().default_scale();
        let full = hetal_linalg::predicted_counts(alg, self.args.shape, self.slots)?;
        // Sample: `n` of the `c b` terms (A*B^T: one output column, n features) or entries (A^T*B).
        let (rows_w, cols) = if n == 0 { (c, b) } else { (1, n.min(b)) };
        let x = random_matrix(a, cols, 1);
        let ex = ColumnPacked::encrypt(&x, self.level, scale, self.encoder, enc)?;
        let (secs, err, done) = if alg == Algorithm::JinAbt {
            let w = random_matrix(rows_w, cols, 2);
            let ew = ReplicatePacked::encrypt(&w, self.slots, self.level, scale, self.encoder, enc)?;
            let ((out, k), secs) = timed(|| jin_abt(self.eval, &ex, &ew))?;
            let err = out.decrypt(self.encoder, self.dec)?.max_abs_diff(&x.matmul(&w.transpose())?);
            if n == 0 {
                (secs, err, k.mult)
            } else {
                // One output column costs `cols` tensor products plus one relinearization and
                // rescale: time a single-term column too and scale the two parts separately.
                let (one_x, one_w) = (random_matrix(a, 1, 1), random_matrix(1, 1, 2));
                let ex1 = ColumnPacked::encrypt(&one_x, self.level, scale, self.encoder, enc)?;
                let ew1 = ReplicatePacked::encrypt(&one_w, self.slots, self.level, scale, self.encoder, enc)?;
                let (_, fixed) = timed(|| jin_abt(self.eval, &ex1, &ew1))?;
                let per_term = ((secs - fixed) / (cols as f64 - 1.0).max(1.0)).max(0.0);
                let column = fixed + per_term * (b as f64 - 1.0);
                // Returned pre-divided so that the common scaling below yields `c` columns.
                (column * c as f64 * k.mult as f64 / full.mult as f64, err, k.mult)
            }
        } else {
            let p = random_matrix(a, rows_w, 3);
            let ep = ColumnPacked::encrypt(&p, self.level, scale, self.encoder, enc)?;
            let ((out, k), secs) = timed(|| jin_atb(self.eval, &ep, &ex))?;
            let err = out.decrypt(self.encoder, self.dec)?.max_abs_diff(&p.transpose().matmul(&x)?);
            (secs, err, k.mult)
        };
        let factor = full.mult as f64 / done as f64;
        let label =
            if n == 0 { alg.name().to_string() } else { format!("{} (est. from {done} of {})", alg.name(), full.mult) };
        Ok((secs * factor, full, err, label))
    }
}
