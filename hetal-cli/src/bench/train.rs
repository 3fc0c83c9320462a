//! The `train` suite: one encrypted training step with real bootstrapping, through the same
//! code as `hetal demo` (embedded data, one batch, both roles in one process), checked against
//! the plaintext trainer with the same approximate softmax before it is reported.

use super::timing::Timing;
use super::{check, BenchError, Ctx};
use crate::demo::{run as demo, DemoArgs};
use crate::global::Global;
use crate::preset::PresetArg;
use hetal_train::protocol::task::TrainPreset;
use hetal_train::softmax::SoftmaxId;

/// Encrypted and plaintext weights after one step differ by bootstrapping noise (about 1e-5
/// measured); a wrong step is off by the size of the update.
const MAX_WEIGHT_ERROR: f64 = 1e-3;

/// Runs the suite at the training preset matching `preset` (`bootstrap-n16`, or
/// `insecure-bootstrap-n12` for the insecure test preset of the same shape).
pub fn run(ctx: &mut Ctx<'_, '_>, preset: PresetArg, softmax: Option<SoftmaxId>) -> Result<(), BenchError> {
    // The demo's data: the embedded set, whose class count picks the default approximation.
    let softmax = softmax.unwrap_or(SoftmaxId::for_classes(crate::embedded::class_names().len()));
    let train_preset = match preset {
        PresetArg::BootstrapN16 => TrainPreset::BootstrapN16,
        PresetArg::InsecureBootstrapN12 => TrainPreset::InsecureTrainN12,
        p => return Err(BenchError::Train(format!("{p:?} cannot bootstrap: use bootstrap-n16"))),
    };
    let batch = if train_preset.is_insecure() { 32 } else { 512 };
    let out = std::env::temp_dir().join(format!("hetal-bench-train-{}", std::process::id()));
    let args = DemoArgs {
        preset: train_preset,
        batch: Some(batch),
        lr: 4.0,
        max_epochs: 1,
        quick: false,
        compact: Default::default(),
        patience: 3,
        monitor: hetal_train::plain::Monitor::Loss,
        train_rows: batch,
        val_rows: 16,
        out: out.clone(),
        export_data: None,
        softmax: Some(softmax),
    };
    let g = Global { threads: None, seed: Some(ctx.seed), quiet: true, verbose: false, json: true };
    let mut sink = Vec::new();
    demo(&args, &g, &mut sink).map_err(|e| BenchError::Train(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&out);
    let doc: serde_json::Value =
        serde_json::from_slice(&sink).map_err(|e| BenchError::Train(format!("demo output: {e}")))?;
    let field = |k: &str| doc[k].as_f64().ok_or_else(|| BenchError::Train(format!("demo output lacks {k}")));
    let weight_error = field("max_abs_weight_difference_vs_plaintext_approx")?;
    check("train_step", weight_error, MAX_WEIGHT_ERROR)?;
    let step = &doc["step_records"][0];
    let secs = |i: usize| step["seconds"][i].as_f64().unwrap_or(f64::NAN);
    let boots: u64 = (0..3).filter_map(|i| step["bootstraps"][i].as_u64()).sum();
    let ms = secs(0) * 1e3;
    let mut r = ctx.record(
        "train_step",
        "one training step (forward, softmax, backward, Nesterov, bootstraps)",
        step["levels"][0].as_u64().map(|l| l as usize),
        Timing { runs: 1, min_ms: ms, median_ms: ms },
    );
    r.detail = Some(format!(
        "{batch} rows, softmax {softmax}: {boots} bootstraps {:.1} s, matmul {:.1} s, softmax {:.1} s; \
         |W_enc - W_plain| {:.1e}",
        secs(3),
        secs(1),
        secs(2),
        weight_error
    ));
    ctx.emit(r)
}
