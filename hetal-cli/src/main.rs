//! The `hetal` command line: client and server roles of HETAL encrypted transfer learning.
//!
//! One subcommand per role or task; each lives in its own module with an `Args` struct (clap
//! derive) and a `run` function. The protocol itself is `hetal_train::protocol`; the commands
//! parse, print and draw progress. `main` only parses, dispatches, and turns an error into a
//! message on stderr and the exit code of its kind (`exit`: 3 bad input, 4 keys or job that do
//! not belong together, 5 corrupt file, 6 I/O, 1 anything else; clap's usage errors are 2).
//!
//! The roles, in the order of the protocol (`docs/PROTOCOL.md`):
//! client `keygen` -> client `encrypt` -> server `train` (one epoch per call) <-> client
//! `decrypt validation` (the early-stopping answer) -> client `decrypt model` -> client
//! `evaluate`. `demo` runs all of it in one process on the embedded data set.

mod bench;
mod data_args;
mod decrypt;
mod demo;
mod embedded;
mod encrypt;
mod evaluate;
mod exit;
mod files;
mod global;
mod keygen;
mod params;
mod preset;
mod progress;
mod remote;
mod report;
mod roundtrip;
mod serve;
mod train;

use clap::{Parser, Subcommand};
use std::error::Error;
use std::process::ExitCode;

/// CKKS allocates and frees tens of MB per operation; a caching allocator that keeps those pages
/// instead of returning them to the OS makes key switching 15-18 % faster at N = 2^16 and
/// bootstrapping about 10 % ([`ckks_scheme::allocator`]).
#[global_allocator]
static GLOBAL: ckks_scheme::allocator::MiMalloc = ckks_scheme::allocator::MiMalloc;

/// HETAL: train a softmax classifier on CKKS-encrypted features. The client keeps the secret
/// key and the data; the server trains on ciphertexts with public keys only.
///
/// Quick start: `hetal demo` runs both roles in one process on the embedded data set.
/// The file workflow: `hetal keygen`, `hetal encrypt` (client), `hetal train` (server),
/// `hetal decrypt`, `hetal evaluate` (client); see `hetal <command> --help`.
#[derive(Debug, Parser)]
#[command(name = "hetal", version, about, long_about)]
struct Cli {
    #[command(flatten)]
    global: global::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Client: makes a secret key (its own file, mode 0600) and the public bundle a server needs
    /// for one task shape (public, relinearization, rotation and bootstrapping keys).
    Keygen(keygen::KeygenArgs),
    /// Client: checks, scales and encrypts features and labels (.npy or CSV) into a job
    /// directory for the server.
    Encrypt(encrypt::EncryptArgs),
    /// Server: trains on a job directory with the public bundle only (never a secret key), one
    /// epoch per call, checkpointing every step; `--resume` continues an interrupted epoch.
    Train(train::TrainArgs),
    /// Client: decrypts the validation outputs of an epoch (and answers continue or stop) or the
    /// trained model.
    Decrypt(decrypt::DecryptArgs),
    /// Client: accuracy, per-class precision and recall, and the confusion matrix of a decrypted
    /// model on a test set, beside a plaintext-trained model.
    Evaluate(evaluate::EvaluateArgs),
    /// Runs the whole protocol in one process (both roles, early stopping included) on the
    /// embedded data set and compares encrypted with plaintext training.
    Demo(demo::DemoArgs),
    /// A timed CKKS round trip (keys, encrypt, multiply, rotate, add, decrypt) checked against
    /// plaintext arithmetic: the quickest check that the build works.
    Roundtrip(roundtrip::RoundtripArgs),
    /// Benchmarks of the lower layers (CKKS operations, bootstrapping, matrix products, one
    /// training step) with a summary table, optionally beside peer figures.
    Bench(bench::BenchArgs),
    /// Server: the server role as an HTTP service: jobs, resumable uploads checked against the
    /// container format, bearer tokens, SQLite job state (loopback unless --insecure-http).
    Serve(serve::ServeArgs),
    /// Client: sends a job to `hetal serve` (resumable chunked uploads) and asks for its state.
    Remote(remote::RemoteArgs),
    /// Lists the parameter presets and their budgets: levels, log QP against the 128-bit bound,
    /// slots, key-switching digits, key sizes, levels left after bootstrapping.
    ///
    /// Examples: `hetal params`, `hetal params --json`, `hetal params --describe`.
    Params(params::ParamsArgs),
}

fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    let g = &cli.global;
    g.install_threads()?;
    g.install_logging();
    let stdout = &mut std::io::stdout().lock();
    match &cli.command {
        Command::Keygen(args) => keygen::run(args, g, stdout)?,
        Command::Encrypt(args) => encrypt::run(args, g, stdout)?,
        Command::Train(args) => train::run(args, g, stdout)?,
        Command::Decrypt(args) => decrypt::run(args, g, stdout)?,
        Command::Evaluate(args) => evaluate::run(args, g, stdout)?,
        Command::Demo(args) => demo::run(args, g, stdout)?,
        Command::Roundtrip(args) => {
            roundtrip::run(args, g.seed, stdout)?;
        }
        Command::Bench(args) => bench::run(args, g, stdout)?,
        Command::Params(args) => params::run(args, g.json, stdout)?,
        Command::Serve(args) => serve::run(args, g, stdout)?,
        Command::Remote(args) => remote::run(args, g, stdout)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    ckks_scheme::allocator::keep_freed_memory();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hetal: error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::from(exit::code(e.as_ref()))
        }
    }
}
