//! `hetal bench`: timings of the lower layers with a summary table, optionally beside peer
//! libraries' figures. Suites (`--suite`, comma-separated):
//!
//! * `ops`: CKKS operations (encode + encrypt, decrypt + decode, add, ct x pt, ct x ct with
//!   relinearization and rescaling at the top and a low level, rotation, hoisted rotations, and
//!   the key generation of one relinearization and one rotation key);
//! * `bootstrap`: one bootstrapping (time, precision in bits, levels left), key generation;
//! * `matmul`: HETAL's DiagABT and DiagATB on one shape (`--shape a,b,c`).
//!
//! Every operation is checked once against plaintext arithmetic before it is timed, so a fast
//! wrong answer fails the bench instead of being reported. Keys and inputs come from seeded
//! generators (the global `--seed`, default 0): benchmarks never touch real data.

mod bootstrap;
mod matmul;
mod ops;
mod peers;
mod timing;
mod train;

use crate::global::Global;
use crate::preset::PresetArg;
use ckks_scheme::{Parameters, Preset, SchemeError};
use hetal_linalg::{LinalgError, ProductShape};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use timing::{fmt_ms, Timing};

/// A benchmark suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// CKKS operations and key generation.
    Ops,
    /// Bootstrapping: time, precision, levels left.
    Bootstrap,
    /// DiagABT and DiagATB on one shape.
    Matmul,
    /// One encrypted training step (real bootstrapping) on the embedded data, checked against
    /// the plaintext trainer.
    Train,
}

impl Suite {
    fn name(self) -> &'static str {
        match self {
            Suite::Ops => "ops",
            Suite::Bootstrap => "bootstrap",
            Suite::Matmul => "matmul",
            Suite::Train => "train",
        }
    }

    /// The preset of the suite when `--preset` is not given: 128-bit secure sets at `N = 2^16`.
    fn default_preset(self) -> PresetArg {
        match self {
            Suite::Bootstrap | Suite::Train => PresetArg::BootstrapN16,
            Suite::Ops | Suite::Matmul => PresetArg::LeveledN16,
        }
    }
}

/// Parses `a,b,c` (batch rows, features, padded classes).
fn parse_shape(s: &str) -> Result<ProductShape, crate::exit::BadInput> {
    use crate::exit::BadInput;
    let parts: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>().map_err(|e| BadInput(format!("'{p}' in '{s}' is not a count: {e}"))))
        .collect::<Result<_, _>>()?;
    match parts[..] {
        [a, b, c] if a > 0 && b > 0 && c.is_power_of_two() && c >= 2 => Ok(ProductShape { a, b, c }),
        [_, _, _] => Err(BadInput(format!("'{s}': rows and features must be positive, classes a power of two >= 2"))),
        _ => Err(BadInput(format!("'{s}': expected three counts a,b,c (for example 128,768,16)"))),
    }
}

/// Options of `hetal bench` (threads, seed and `--json` are global options).
///
/// Examples: `hetal bench` (CKKS operations at N = 2^16), `hetal bench --suite bootstrap`,
/// `hetal bench --suite ops,matmul --preset leveled-n14 --repeat 5 --compare
/// hetal-cli/data/peers.json`, `hetal --threads 1 bench --json`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Suites to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "ops")]
    pub suite: Vec<Suite>,
    /// Parameter set for every suite [default: leveled-n16 for ops and matmul, bootstrap-n16
    /// for bootstrap]. At N = 2^16 keys take several GB.
    #[arg(long, value_enum)]
    pub preset: Option<PresetArg>,
    /// Runs of each timed operation; the table gives the minimum and the median.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Rotations of the hoisted-rotation benchmark (one rotation key each; also times 4 when
    /// larger).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub hoist: u32,
    /// Shape `a,b,c` of the matrix products: `a x b` features times `(c x b)^T` weights
    /// (DiagABT), and `(a x c)^T` times `a x b` (DiagATB). The default is the peers' HETAL
    /// workload (128 x 768 by 16 x 768).
    #[arg(long, value_parser = parse_shape, default_value = "128,768,16", value_name = "A,B,C")]
    pub shape: ProductShape,
    /// Level of the matrix-product inputs [default: 4, or the top level if lower].
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<usize>,
    /// A JSON file of peer figures, `{"peer": {"op_ms": number, ...}, ...}` (for example
    /// `hetal-cli/data/peers.json`): prints ours / peer for each operation present in both.
    #[arg(long, value_name = "PEERS.json")]
    pub compare: Option<PathBuf>,
    /// Slots of the bootstrap suite's ciphertexts, a power of two up to `N/2` [default: `N/2`,
    /// full slots]. Sparse slots up to `N/4` pack their real and imaginary halves and run
    /// EvalMod once. The bootstrap suite only.
    #[arg(long, value_name = "N")]
    pub slots: Option<usize>,
    /// Softmax approximation of the `train` suite; by default `logistic` for 2 classes and `normalize-and-square` otherwise.
    #[arg(long, value_parser = crate::preset::softmax())]
    pub softmax: Option<hetal_train::softmax::SoftmaxId>,
}

/// What can make the bench fail.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An error of the CKKS layer (including parameters that cannot bootstrap).
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    /// An error of the matrix layer (for example a shape that does not fit the slots).
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// Writing the report failed.
    #[error("cannot write the report")]
    Io(#[from] std::io::Error),
    /// The peers file cannot be read.
    #[error("{path}: cannot read the peer figures")]
    PeersRead {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The peers file is not of the expected form.
    #[error("{path}: {reason}; expected {{\"peer\": {{\"op_ms\": number, ...}}, ...}}")]
    PeersFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A timed operation gave a wrong result when checked against plaintext arithmetic.
    #[error(
        "{op}: max abs error {max_error:.3e} against plaintext arithmetic, above {bound:.0e}: the result is wrong"
    )]
    Check {
        /// The operation.
        op: String,
        /// Its largest absolute error.
        max_error: f64,
        /// The bound.
        bound: f64,
    },
    /// The training step failed (its own error, as text).
    #[error("train suite: {0}")]
    Train(String),
    /// `--slots` with a suite that runs on full slots.
    #[error("--slots applies to the bootstrap suite only, not to {suite}")]
    SlotsWithSuite {
        /// The other suite.
        suite: &'static str,
    },
}

/// One row of the summary: an operation and its time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Record {
    /// Suite of the row.
    pub suite: Suite,
    /// Stable identifier; the peers file names the same operation `<op>_ms`.
    pub op: String,
    /// What was timed, in words.
    pub what: String,
    /// Preset (command-line name).
    pub preset: String,
    /// Level of the input ciphertexts, where one applies.
    pub level: Option<usize>,
    /// Runs timed.
    pub runs: usize,
    /// Fastest run, milliseconds.
    pub min_ms: f64,
    /// Median run, milliseconds.
    pub median_ms: f64,
    /// Precision of the result in bits (worst slot), where measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision_bits: Option<f64>,
    /// Levels left on the result (bootstrapping).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels_left: Option<usize>,
    /// More about the run (operation counts, key counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The parameter set one suite ran with.
#[derive(Clone, Debug, Serialize)]
struct SuiteParams {
    suite: Suite,
    preset: String,
    summary: String,
}

/// The whole `--json` output.
#[derive(Debug, Serialize)]
struct Output<'a> {
    threads: usize,
    repeat: u32,
    seed: u64,
    parameters: &'a [SuiteParams],
    results: &'a [Record],
    #[serde(skip_serializing_if = "Option::is_none")]
    comparison: Option<&'a [peers::Comparison]>,
}

/// Width of the operation column.
const WHAT_WIDTH: usize = 44;

/// Collects the rows; in text mode prints each as it finishes (slow suites show progress).
struct Report<'w> {
    out: &'w mut dyn Write,
    text: bool,
    records: Vec<Record>,
}

impl Report<'_> {
    fn line(&mut self, text: &str) -> Result<(), BenchError> {
        if self.text {
            writeln!(self.out, "{text}")?;
        }
        Ok(())
    }

    fn header(&mut self) -> Result<(), BenchError> {
        let head = format!(
            "{:<10} {:<WHAT_WIDTH$} {:>5} {:>4} {:>11} {:>11}  notes",
            "suite", "operation", "level", "runs", "min", "median"
        );
        self.line(&head)?;
        self.line(&"-".repeat(head.len() + 20))
    }

    fn push(&mut self, r: Record) -> Result<(), BenchError> {
        let level = r.level.map_or("-".to_string(), |l| l.to_string());
        let mut notes = Vec::new();
        if let Some(b) = r.precision_bits {
            notes.push(format!("{b:.1} bits"));
        }
        if let Some(l) = r.levels_left {
            notes.push(format!("{l} levels left"));
        }
        notes.extend(r.detail.clone());
        let row = format!(
            "{:<10} {:<WHAT_WIDTH$} {level:>5} {:>4} {:>11} {:>11}  {}",
            r.suite.name(),
            r.what,
            r.runs,
            fmt_ms(r.min_ms),
            fmt_ms(r.median_ms),
            notes.join(", ")
        );
        self.line(row.trim_end())?;
        self.records.push(r);
        Ok(())
    }
}

/// What every suite needs: the parameters, the repeat count, the seed, and where rows go.
struct Ctx<'r, 'w> {
    params: Parameters,
    preset: String,
    suite: Suite,
    repeat: usize,
    seed: u64,
    report: &'r mut Report<'w>,
}

impl Ctx<'_, '_> {
    /// A 32-byte seed for the generator `stream` of this suite (keys, encryption, ...).
    fn seed(&self, stream: u8) -> [u8; 32] {
        let mut s = [stream; 32];
        s[..8].copy_from_slice(&self.seed.to_le_bytes());
        s[8] = self.suite as u8;
        s
    }

    /// A row for `op` with timing `t` and no optional fields (fill them in, then [`Ctx::emit`]).
    fn record(&self, op: &str, what: &str, level: Option<usize>, t: Timing) -> Record {
        Record {
            suite: self.suite,
            op: op.to_string(),
            what: what.to_string(),
            preset: self.preset.clone(),
            level,
            runs: t.runs,
            min_ms: t.min_ms,
            median_ms: t.median_ms,
            precision_bits: None,
            levels_left: None,
            detail: None,
        }
    }

    /// Adds a row to the report (and prints it in text mode).
    fn emit(&mut self, r: Record) -> Result<(), BenchError> {
        self.report.push(r)
    }

    /// Adds a row with no optional fields.
    fn timed(&mut self, op: &str, what: &str, level: Option<usize>, t: Timing) -> Result<(), BenchError> {
        let r = self.record(op, what, level, t);
        self.emit(r)
    }
}

/// Fails with [`BenchError::Check`] unless `max_error` is finite and at most `bound`.
fn check(op: &str, max_error: f64, bound: f64) -> Result<(), BenchError> {
    if max_error.is_finite() && max_error <= bound {
        Ok(())
    } else {
        Err(BenchError::Check { op: op.to_string(), max_error, bound })
    }
}

/// The command-line name of a preset (`leveled-n16`).
fn preset_name(p: PresetArg) -> String {
    clap::ValueEnum::to_possible_value(&p).map_or_else(|| format!("{p:?}"), |v| v.get_name().to_string())
}

/// Runs `hetal bench`: the chosen suites in order, then the comparison with peers if asked.
/// Text goes to `out` row by row; with `--json`, one JSON document at the end.
pub fn run(args: &BenchArgs, g: &Global, out: &mut dyn Write) -> Result<(), BenchError> {
    // Read the peers first: a bad file should fail before minutes of benchmarking.
    let peer_table = args.compare.as_deref().map(peers::load).transpose()?;
    let seed = g.seed.unwrap_or(0);
    let threads = rayon::current_num_threads();
    let mut report = Report { out, text: !g.json, records: Vec::new() };
    if g.text() {
        report.line(&format!(
            "hetal bench: {} rayon thread(s), {} run(s) per operation, seed {seed}, NTT kernel {} ({} lowers it)",
            threads,
            args.repeat,
            ckks_math::NttKernel::active().name(),
            ckks_math::ntt::KERNEL_ENV
        ))?;
    }
    let mut parameters = Vec::new();
    let mut suites = args.suite.clone();
    suites.dedup();
    if let (Some(_), Some(other)) = (args.slots, suites.iter().find(|&&s| s != Suite::Bootstrap)) {
        return Err(BenchError::SlotsWithSuite { suite: other.name() });
    }
    for &suite in &suites {
        let preset_arg = args.preset.unwrap_or(suite.default_preset());
        let preset = Preset::from(preset_arg);
        let params = match args.slots {
            // The same chain and security check, another slot count (validated by the builder).
            Some(slots) if preset.is_insecure() => preset.builder().slots(slots).build_insecure()?,
            Some(slots) => preset.builder().slots(slots).build()?,
            None => preset.build()?,
        };
        let info = SuiteParams { suite, preset: preset_name(preset_arg), summary: params.summary() };
        if g.text() {
            report.line(&format!("\n{} suite: {} ({})", suite.name(), info.preset, info.summary))?;
        }
        report.header()?;
        parameters.push(info);
        let mut ctx = Ctx {
            params,
            preset: preset_name(preset_arg),
            suite,
            repeat: args.repeat as usize,
            seed,
            report: &mut report,
        };
        match suite {
            Suite::Ops => ops::run(&mut ctx, args.hoist as usize)?,
            Suite::Bootstrap => bootstrap::run(&mut ctx)?,
            Suite::Matmul => matmul::run(&mut ctx, args.shape, args.level)?,
            Suite::Train => train::run(&mut ctx, preset_arg, args.softmax)?,
        }
    }
    let comparison = peer_table.as_ref().map(|p| (p.source.as_deref(), peers::compare(p, &report.records)));
    if let (Some((source, rows)), true) = (&comparison, report.text) {
        peers::print(report.out, *source, rows)?;
    }
    let comparison = comparison.map(|(_, rows)| rows);
    if g.json {
        let doc = Output {
            threads,
            repeat: args.repeat,
            seed,
            parameters: &parameters,
            results: &report.records,
            comparison: comparison.as_deref(),
        };
        let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
        writeln!(report.out, "{text}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_with_reasons() {
        assert_eq!(parse_shape("128,768,16"), Ok(ProductShape { a: 128, b: 768, c: 16 }));
        assert_eq!(parse_shape(" 4, 8 ,2"), Ok(ProductShape { a: 4, b: 8, c: 2 }));
        assert!(parse_shape("128,768").unwrap_err().0.contains("three counts"));
        assert!(parse_shape("128,768,6").unwrap_err().0.contains("power of two"));
        assert!(parse_shape("0,768,4").unwrap_err().0.contains("positive"));
        assert!(parse_shape("a,768,4").unwrap_err().0.contains("'a'"));
    }

    #[test]
    fn check_refuses_large_and_nan_errors() {
        assert!(check("x", 1e-7, 1e-5).is_ok());
        assert!(matches!(check("x", 1e-3, 1e-5), Err(BenchError::Check { .. })));
        let err = check("rotate", f64::NAN, 1e-5).unwrap_err();
        assert!(err.to_string().starts_with("rotate: max abs error NaN"), "{err}");
    }

    #[test]
    fn defaults_are_the_secure_presets() {
        assert_eq!(Suite::Ops.default_preset(), PresetArg::LeveledN16);
        assert_eq!(Suite::Bootstrap.default_preset(), PresetArg::BootstrapN16);
        assert_eq!(preset_name(PresetArg::InsecureTestN13), "insecure-test-n13");
    }
}
