//! `hetal keygen` (being written).

use crate::global::Global;
use std::io::Write;

/// Options of `hetal keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {}

/// Runs `hetal keygen`.
pub fn run(_args: &KeygenArgs, _g: &Global, _out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
