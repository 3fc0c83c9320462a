//! `hetal bench` (being written by a helper).

use crate::global::Global;
use std::io::Write;

/// Options of `hetal bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs `hetal bench`.
pub fn run(_args: &BenchArgs, _g: &Global, _out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
