//! `hetal evaluate` (client): the decrypted model on the test split (accuracy, per-class
//! precision and recall, confusion matrix), beside a plaintext model trained with exactly the
//! same schedule (initial weights, fixed batches, batch order, early stopping), and a plot of
//! the validation curves of both runs.

use crate::data_args::DataArgs;
use crate::exit::BadInput;
use crate::files::{refuse_overwrite, write_atomic, write_json};
use crate::global::Global;
use crate::report::{classification_report, predictions, training_curves_svg, ClassificationReport, Series};
use hetal_train::data::{read_features, Dataset, FeatureScale};
use hetal_train::matrix::Matrix;
use hetal_train::plain::LinearModel;
use hetal_train::plain::TrainReport;
use hetal_train::protocol::client::plaintext_run;
use hetal_train::protocol::job::{read_history, ClientState, JobManifest, JobPaths};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Options of `hetal evaluate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  hetal evaluate --job job --model model.npy --report evaluation.json")]
pub struct EvaluateArgs {
    /// The job directory (for the feature scale, the schedule and the validation history).
    #[arg(long, default_value = "job")]
    pub job: PathBuf,
    /// The decrypted model (.npy from `hetal decrypt model`).
    #[arg(long, default_value = "model.npy")]
    pub model: PathBuf,
    /// The data (default: the source the job was encrypted from).
    #[command(flatten)]
    pub data: DataArgs,
    /// Skip the plaintext comparison.
    #[arg(long)]
    pub no_plaintext: bool,
    /// JSON report (an SVG plot of the validation curves is written beside it).
    #[arg(long, default_value = "evaluation.json")]
    pub report: PathBuf,
    /// Replace an existing report and plot.
    #[arg(long)]
    pub force: bool,
}

/// A model from its .npy (`classes x (features + 1)`), padded to `c` rows.
pub fn load_model(path: &Path, classes: usize, inputs: usize) -> Result<LinearModel, Box<dyn std::error::Error>> {
    let w = read_features(path)?;
    if w.rows != classes || w.cols != inputs {
        return Err(BadInput(format!(
            "{}: a {} x {} model, the job needs {classes} x {inputs}",
            path.display(),
            w.rows,
            w.cols
        ))
        .into());
    }
    padded_model(&w, classes)
}

/// A `classes x inputs` model padded with zero rows to the padded class count (as the
/// trainers keep it).
pub fn padded_model(w: &Matrix, classes: usize) -> Result<LinearModel, Box<dyn std::error::Error>> {
    let c = hetal_train::data::padded_classes(classes);
    let mut full = Matrix::try_zeros(c, w.cols).ok_or("model too large")?;
    full.data[..w.data.len()].copy_from_slice(&w.data);
    Ok(LinearModel { w: full, classes })
}

/// The test report of `model` on the (scaled) test split.
pub fn test_report(model: &LinearModel, ds: &Dataset) -> Result<ClassificationReport, Box<dyn std::error::Error>> {
    let logits = model.logits_biased(&hetal_train::data::with_bias(&ds.test.x));
    let predicted = predictions(&logits, ds.classes)?;
    Ok(classification_report(&predicted, &ds.test.y, ds.classes)?)
}

/// Runs `hetal evaluate`.
pub fn run(args: &EvaluateArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let paths = JobPaths(args.job.clone());
    let svg_path = args.report.with_extension("svg");
    if svg_path == args.report {
        return Err(BadInput(format!(
            "--report {}: give a .json name (the plot goes beside it)",
            args.report.display()
        ))
        .into());
    }
    for p in [&args.report, &svg_path] {
        refuse_overwrite(p, args.force)?;
    }
    let job = JobManifest::read(&args.job)?;
    let client = ClientState::read(&paths)?;
    let classes = job.task.classes;
    let mut ds = if args.data.given() {
        args.data.load(classes)?
    } else if client.data.starts_with("embedded:") {
        crate::embedded::dataset()?
    } else {
        hetal_train::data::load_npy_dir(Path::new(&client.data))
            .map_err(|e| BadInput(format!("{e} (the job's data; name the data with --data or the CSV options)")))?
    };
    if ds.features() != job.task.features || ds.classes != classes {
        return Err(BadInput(format!(
            "the data has {} features and {} classes; the job {} and {}",
            ds.features(),
            ds.classes,
            job.task.features,
            classes
        ))
        .into());
    }
    FeatureScale::new(client.feature_scale)?.apply(&mut ds)?;
    let model = load_model(&args.model, classes, job.task.features + 1)?;
    let names = (!client.class_names.is_empty()).then_some(client.class_names.as_slice());
    let enc = test_report(&model, &ds)?;
    let history = read_history(&paths)?;

    // The same schedule in plaintext, with the job's softmax approximation (what the encrypted
    // run should follow) and with the exact softmax (the usual baseline).
    let plain_run = |approx: bool| -> Result<(TrainReport, ClassificationReport), Box<dyn std::error::Error>> {
        let r = plaintext_run(&job, &client, &ds, approx)?;
        let rep = test_report(&r.model, &ds)?;
        Ok((r, rep))
    };
    let (plain, plain_approx) =
        if args.no_plaintext { (None, None) } else { (Some(plain_run(false)?), Some(plain_run(true)?)) };

    let series = |label: &str, points: Vec<(f64, f64)>| Series { label: label.into(), points };
    let mut loss = vec![series("encrypted", history.iter().map(|h| (h.epoch as f64, h.loss)).collect())];
    let mut acc = vec![series("encrypted", history.iter().map(|h| (h.epoch as f64, h.accuracy)).collect())];
    let approx_label = format!("plaintext, {}", job.softmax.as_str());
    for (label, run) in [(approx_label.as_str(), &plain_approx), ("plaintext, exact softmax", &plain)] {
        if let Some((r, _)) = run {
            loss.push(series(label, r.epochs.iter().map(|e| (e.epoch as f64, e.val_loss)).collect()));
            acc.push(series(label, r.epochs.iter().map(|e| (e.epoch as f64, e.val_accuracy)).collect()));
        }
    }
    if !history.is_empty() {
        let svg = training_curves_svg(&format!("hetal: {}", client.data), &loss, &acc);
        write_atomic(&svg_path, svg.as_bytes(), false)?;
    }
    let plain_json = |run: &Option<(TrainReport, ClassificationReport)>| {
        run.as_ref().map(|(r, rep)| {
            serde_json::json!({ "report": rep, "epochs": r.epochs, "best_epoch": r.best_epoch,
                "stopped_early": r.stopped_early })
        })
    };
    let json = serde_json::json!({
        "data": client.data,
        "test_rows": ds.test.len(),
        "softmax": job.softmax.as_str(),
        "monitor": job.hyper.monitor,
        "encrypted": { "report": enc, "history": history },
        "plaintext": plain_json(&plain),
        "plaintext_approx": plain_json(&plain_approx),
        "accuracy_gap_points": plain.as_ref().map(|(_, rep)| 100.0 * (rep.accuracy - enc.accuracy)),
        "accuracy_gap_points_approx": plain_approx.as_ref().map(|(_, rep)| 100.0 * (rep.accuracy - enc.accuracy)),
    });
    write_json(&args.report, &json, false)?;
    if g.json {
        writeln!(out, "{json}")?;
    } else if !g.quiet {
        writeln!(out, "encrypted training, test split ({} rows):", ds.test.len())?;
        writeln!(out, "{}", enc.to_text(names))?;
        for (what, run) in [(approx_label.as_str(), &plain_approx), ("plaintext, exact softmax", &plain)] {
            if let Some((r, rep)) = run {
                writeln!(out, "{what}, same schedule (best epoch {}):", r.best_epoch)?;
                writeln!(out, "{}", rep.to_text(names))?;
                writeln!(
                    out,
                    "test accuracy: encrypted {:.4}, {what} {:.4} (gap {:+.2} points)",
                    enc.accuracy,
                    rep.accuracy,
                    100.0 * (enc.accuracy - rep.accuracy)
                )?;
            }
        }
        write!(out, "report {}", args.report.display())?;
        if !history.is_empty() {
            write!(out, ", plot {}", svg_path.display())?;
        }
        writeln!(out)?;
    }
    Ok(())
}
