//! `hetal train` (being written).

use crate::global::Global;
use std::io::Write;

/// Options of `hetal train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {}

/// Runs `hetal train`.
pub fn run(_args: &TrainArgs, _g: &Global, _out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
