//! `hetal encrypt` (being written).

use crate::global::Global;
use std::io::Write;

/// Options of `hetal encrypt`.
#[derive(Debug, clap::Args)]
pub struct EncryptArgs {}

/// Runs `hetal encrypt`.
pub fn run(_args: &EncryptArgs, _g: &Global, _out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
