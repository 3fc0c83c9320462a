//! Plaintext reference training on a data-set folder of `shared/datasets`:
//!
//! ```text
//! cargo run --release -p hetal-train --example plain_train -- <dataset dir>
//!     [--lr X] [--batch N] [--epochs N] [--patience N | --no-early-stop] [--monitor loss|accuracy]
//!     [--gd] [--seed N]
//!     [--softmax exact|hetal|normalize-and-square] [--approx (= --softmax hetal)]
//! ```
//!
//! Learning rate and batch default to the paper's table for the data set (spec section 6), or
//! 1.0 / 128 for others. Prints per-epoch validation loss and accuracy, then the test accuracy
//! of the best epoch's model.

mod common;

use common::{exit_code, parse, usage, ExampleError};
use hetal_train::data::{load_npy_dir, scale_features};
use hetal_train::plain::{paper_hyperparameters, train, Monitor, Optimizer, SoftmaxKind, TrainConfig};
use hetal_train::softmax::{SoftmaxConfig, SoftmaxId};
use std::path::PathBuf;
use std::process::ExitCode;

fn run() -> Result<(), ExampleError> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let (mut lr, mut batch, mut epochs, mut seed) = (None, None, 100usize, 0u64);
    let (mut patience, mut optimizer) = (Some(3usize), Optimizer::Nesterov);
    let mut approx: Option<SoftmaxId> = None;
    let mut monitor = Monitor::Loss;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lr" => lr = Some(parse::<f64>("--lr", args.next())?),
            "--batch" => batch = Some(parse::<usize>("--batch", args.next())?),
            "--epochs" => epochs = parse("--epochs", args.next())?,
            "--patience" => patience = Some(parse("--patience", args.next())?),
            "--no-early-stop" => patience = None,
            "--monitor" => monitor = parse("--monitor", args.next())?,
            "--seed" => seed = parse("--seed", args.next())?,
            "--gd" => optimizer = Optimizer::GradientDescent,
            "--approx" => approx = Some(SoftmaxId::Hetal),
            "--softmax" => {
                let name: String = parse("--softmax", args.next())?;
                approx = if name == "exact" { None } else { Some(parse("--softmax", Some(name))?) };
            }
            flag if flag.starts_with("--") => return Err(usage(format!("unknown option {flag}"))),
            path => dir = Some(PathBuf::from(path)),
        }
    }
    let dir = dir.ok_or_else(|| usage("usage: plain_train <dataset dir> [options]"))?;
    let mut ds = load_npy_dir(&dir)?;
    let scale = scale_features(&mut ds)?;
    let paper = paper_hyperparameters(&ds.name);
    let lr = lr.or(paper.map(|h| h.lr)).unwrap_or(1.0);
    let batch = batch.or(paper.map(|h| h.batch)).unwrap_or(128);
    println!(
        "{}: {} classes (c = {}), {} features, train/val/test {}/{}/{}, features divided by {:.4}",
        ds.name,
        ds.classes,
        ds.padded_classes(),
        ds.features(),
        ds.train.len(),
        ds.val.len(),
        ds.test.len(),
        scale.divisor
    );
    let softmax = match approx {
        Some(id) => SoftmaxKind::Approx(id.build(SoftmaxConfig::default())?),
        None => SoftmaxKind::Exact,
    };
    println!(
        "lr {lr}, batch {batch}, {optimizer:?}, {} softmax, seed {seed}, patience {patience:?}, at most {epochs} epochs",
        approx.map_or("exact", SoftmaxId::as_str)
    );
    let cfg =
        TrainConfig { max_epochs: epochs, optimizer, softmax, seed, patience, monitor, ..TrainConfig::new(lr, batch) };
    let report = train(&ds, &cfg)?;
    for e in &report.epochs {
        println!(
            "epoch {:3}  train loss {:.4}  val loss {:.4}  val acc {:.4}  max|logit| {:.1}",
            e.epoch, e.train_loss, e.val_loss, e.val_accuracy, e.max_abs_logit
        );
    }
    let test = report.model.evaluate(&ds.test);
    println!(
        "best epoch {} of {}{}: test accuracy {:.4}, test loss {:.4}",
        report.best_epoch,
        report.epochs.len(),
        if report.stopped_early { " (early stop)" } else { "" },
        test.accuracy,
        test.loss
    );
    Ok(())
}

fn main() -> ExitCode {
    exit_code("plain_train", run())
}
