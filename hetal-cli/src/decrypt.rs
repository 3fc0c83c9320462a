//! `hetal decrypt` (being written).

use crate::global::Global;
use std::io::Write;

/// Options of `hetal decrypt`.
#[derive(Debug, clap::Args)]
pub struct DecryptArgs {}

/// Runs `hetal decrypt`.
pub fn run(_args: &DecryptArgs, _g: &Global, _out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
