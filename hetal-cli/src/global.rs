//! Options shared by every subcommand (`--threads`, `--seed`, `--quiet`, `--verbose`,
//! `--json`) and what they set up.

use std::io::IsTerminal;

/// Options that every subcommand takes, before or after its name.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Worker threads for the homomorphic work (default: every core).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Seed for every random draw (keys, encryption, shuffles, initial weights), for
    /// reproducible runs. Seeded keys are predictable: never use them for real data.
    #[arg(long, global = true, value_name = "U64")]
    pub seed: Option<u64>,
    /// Print only errors (and the final result line).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: per-step timings, levels, refresh counts.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Print machine-readable JSON on stdout instead of text (progress goes to stderr).
    #[arg(long, global = true)]
    pub json: bool,
}

/// What can go wrong setting up the process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// `--threads 0`.
    #[error("--threads must be at least 1")]
    NoThreads,
    /// rayon's pool could not be built.
    #[error("cannot set up {threads} threads: {source}")]
    Pool {
        /// Threads asked for.
        threads: usize,
        /// rayon's error.
        source: rayon::ThreadPoolBuildError,
    },
}

impl Global {
    /// Sets the size of rayon's global pool (once, before any parallel work).
    pub fn install_threads(&self) -> Result<(), SetupError> {
        if let Some(n) = self.threads {
            if n == 0 {
                return Err(SetupError::NoThreads);
            }
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .map_err(|source| SetupError::Pool { threads: n, source })?;
        }
        Ok(())
    }

    /// Sends the libraries' log events (`tracing`) to stderr: warnings by default, also
    /// progress events (each training step, key generation phases) with `--verbose`, errors only
    /// with `--quiet`. A service front end would install its own subscriber instead.
    pub fn install_logging(&self) {
        let level = if self.quiet {
            tracing::Level::ERROR
        } else if self.verbose {
            tracing::Level::INFO
        } else {
            tracing::Level::WARN
        };
        // A second install (tests calling `run` twice) keeps the first.
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(level)
            .with_target(false)
            .without_time()
            .try_init();
    }

    /// Whether progress bars should be drawn: not with `--quiet` or `--json`, and only on a
    /// terminal.
    pub fn progress(&self) -> bool {
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }

    /// Whether human-readable text goes to stdout.
    pub fn text(&self) -> bool {
        !self.quiet && !self.json
    }
}
