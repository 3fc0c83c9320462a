//! The `hetal` command line: client and server roles of HETAL encrypted transfer learning.
//!
//! One subcommand per role or task; each lives in its own module with an `Args` struct (clap
//! derive) and a `run` function returning its own typed error. `main` only parses, dispatches,
//! and turns an error into a message on stderr and exit status 1.

mod demo;
mod params;
mod preset;

use clap::{Parser, Subcommand};
use std::error::Error;
use std::process::ExitCode;

/// CKKS allocates and frees tens of MB per operation; a caching allocator keeps those pages
/// instead of returning them to the OS (about 15-18 % faster key switching at N = 2^16).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// HETAL: transfer learning on CKKS-encrypted data.
#[derive(Debug, Parser)]
#[command(name = "hetal", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a timed CKKS round trip (keys, encrypt, multiply, rotate, add, decrypt) and checks
    /// its precision against plaintext arithmetic.
    Demo(demo::DemoArgs),
    /// Lists the parameter presets and their budgets: levels, log QP against the 128-bit bound,
    /// slots, key-switching digits, key sizes, levels left after bootstrapping.
    ///
    /// Examples: `hetal params`, `hetal params --json`, `hetal params --describe`.
    Params(params::ParamsArgs),
}

fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    match cli.command {
        Command::Demo(args) => {
            demo::run(&args, &mut std::io::stdout().lock())?;
        }
        Command::Params(args) => params::run(&args, &mut std::io::stdout().lock())?,
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hetal: error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
