//! `hetal evaluate` (being written).

use crate::global::Global;
use std::io::Write;

/// Options of `hetal evaluate`.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {}

/// Runs `hetal evaluate`.
pub fn run(_args: &EvaluateArgs, _g: &Global, _out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
