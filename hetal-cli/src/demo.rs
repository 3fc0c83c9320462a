//! `hetal demo` (being written).

use crate::global::Global;
use std::io::Write;

/// Options of `hetal demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Runs `hetal demo`.
pub fn run(_args: &DemoArgs, _g: &Global, _out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    Err("not implemented yet".into())
}
