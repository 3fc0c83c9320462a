//! `hetal demo`: the whole HETAL protocol in one process on the embedded data set, both roles
//! side by side, with what each party sees: the client makes keys and encrypts, the server
//! trains on ciphertexts with public keys only (bootstrapping included), the client answers
//! each epoch from the decrypted validation outputs (early stopping), and finally decrypts the
//! model. The same schedule runs in plaintext beside it, and the two are compared.

use crate::global::Global;
use crate::keygen::derived_seed;
use crate::report::{training_curves_svg, Series};
use crate::task::{bootstrapper, Hyper, TaskShape, TrainPreset};
use crate::train::{record, step_line};
use ckks_scheme::{Evaluator, KeyGenerator};
use hetal_train::data::scale_features;
use hetal_train::encrypted::{run_in_process, ClientConfig, TrainingClient, TrainingServer};
use hetal_train::plain::{train, SoftmaxKind, TrainConfig};
use hetal_train::softmax::{BootstrapRefresh, SoftmaxApprox, SoftmaxConfig};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Options of `hetal demo`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  hetal demo                                      # secure N = 2^16, 2 one-step epochs, ~10 min\n  hetal demo --max-epochs 30 --out demo-output    # train to early stopping (long)\n  hetal demo --preset insecure-train-n12          # seconds per step, INSECURE\n  hetal demo --export-data digits                 # write the embedded data set's files"
)]
pub struct DemoArgs {
    /// Parameter set.
    #[arg(long, value_enum, default_value_t = TrainPreset::BootstrapN16)]
    pub preset: TrainPreset,
    /// Mini-batch size (default: 512 at bootstrap-n16, one ciphertext per batch and one step
    /// per epoch on the embedded data; 32 at insecure-train-n12, whose 2048 slots are narrow).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate (4: the embedded data's best for the default two one-step epochs; the
    /// test accuracy after them is 0.80 at lr 4, 0.33 at lr 1, 0.45 at lr 8, in plaintext).
    #[arg(long, default_value_t = 4.0)]
    pub lr: f64,
    /// Most epochs (early stopping may end sooner).
    #[arg(long, default_value_t = 2)]
    pub max_epochs: usize,
    /// Early-stopping patience.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// Use only the first N training rows (0: all 440).
    #[arg(long, default_value_t = 0)]
    pub train_rows: usize,
    /// Use only the first N validation rows (0: all).
    #[arg(long, default_value_t = 0)]
    pub val_rows: usize,
    /// Folder for the JSON report and the SVG plot.
    #[arg(long, default_value = "demo-output")]
    pub out: PathBuf,
    /// Only write the embedded data set's files (.npy, manifest, README) to this folder and
    /// exit: real files to try `hetal encrypt --data` on.
    #[arg(long, value_name = "DIR")]
    pub export_data: Option<PathBuf>,
}

fn head(s: &hetal_train::data::Split, n: usize) -> hetal_train::data::Split {
    if n == 0 {
        return s.clone();
    }
    s.select(&(0..n.min(s.len())).collect::<Vec<_>>())
}

/// Runs `hetal demo`.
pub fn run(args: &DemoArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(dir) = &args.export_data {
        crate::embedded::write_to(dir)?;
        writeln!(out, "wrote the embedded data set {} to {}", crate::embedded::NAME, dir.display())?;
        return Ok(());
    }
    let start = Instant::now();
    let text = g.text();
    let mut say = |s: String| -> std::io::Result<()> {
        if text {
            writeln!(out, "{s}")?;
        }
        Ok(())
    };
    let mut ds = crate::embedded::dataset()?;
    ds.train = head(&ds.train, args.train_rows);
    ds.val = head(&ds.val, args.val_rows);
    let scale = scale_features(&mut ds)?;
    let seed = g.seed.unwrap_or(0);
    say(format!(
        "hetal demo: HETAL encrypted training on the embedded data set {} ({} train / {} validation / {} test rows, \
         {} features, {} classes)",
        crate::embedded::NAME,
        ds.train.len(),
        ds.val.len(),
        ds.test.len(),
        ds.features(),
        ds.classes
    ))?;

    // Client: parameters and keys.
    let t = Instant::now();
    let params = args.preset.build()?;
    if params.security() == ckks_scheme::security::SecurityLevel::Insecure {
        say(format!("WARNING: preset {} is INSECURE (a demo of the workflow only)", args.preset.name()))?;
    }
    let boot = bootstrapper(&params)?;
    let batch = args.batch.unwrap_or(if args.preset.is_insecure() { 32 } else { 512 });
    let task = TaskShape { classes: ds.classes, features: ds.features(), batch };
    let hyper =
        Hyper { lr: args.lr, optimizer: "nesterov".into(), patience: args.patience, max_epochs: args.max_epochs };
    let setup = task.setup(&params, boot.output_level(), &hyper)?;
    let unit = setup.unit()?;
    say(format!(
        "[client] parameters {} (N = 2^{}, {} slots, {} levels after bootstrapping); features scaled by 1/{:.3}; \
         unit shape {} x {}",
        args.preset.name(),
        params.degree().trailing_zeros(),
        params.slots(),
        boot.output_level(),
        scale.divisor,
        unit.s0,
        unit.s1
    ))?;
    let mut kg = KeyGenerator::from_seed(&params, derived_seed(seed, 1));
    let sk = kg.secret_key()?;
    let mut keys = kg.evaluation_keys(&sk, &setup.rotation_steps()?, true)?;
    let bkeys = boot.generate_keys(&mut kg, &sk, &mut keys.galois)?;
    let key_mb = (keys.galois.size_bytes() + bkeys.size_bytes()) as f64 / 1e6;
    let keys = Arc::new(keys);
    say(format!(
        "[client] keys in {:.1} s: secret key kept; public bundle for the server: {} Galois keys + bootstrapping keys, \
         about {key_mb:.0} MB",
        t.elapsed().as_secs_f64(),
        keys.galois.elements().count()
    ))?;

    // Client: initial model and validation set; server: public material only.
    let config = ClientConfig { seed, patience: args.patience, encryption_seed: derived_seed(seed, 5) };
    let mut client = TrainingClient::new(sk, &keys.public, setup.clone(), &ds.train, &ds.val, config)?;
    let (init, _) = client.initial_model()?;
    let val = client.encrypted_validation()?;
    say(format!(
        "[server] receives: the setup (classes {}, batch {}, lr {}), W_0 ({} ciphertexts), validation features ({} \
         ciphertexts), the public bundle; never the secret key",
        setup.classes,
        setup.batch,
        setup.lr,
        init.w.blocks().len(),
        val.x.blocks().len()
    ))?;
    let refresh = BootstrapRefresh::new(Evaluator::new(keys.clone()), boot, bkeys)?;
    let mut server = TrainingServer::new(Evaluator::new(keys.clone()), refresh, setup.clone(), init, val)?;
    let verbose = g.verbose || text;
    let mut lines = Vec::new();
    let mut records = Vec::new();
    let t_train = Instant::now();
    let run = run_in_process(&mut client, &mut server, args.max_epochs, |r| {
        let rec = record(r, r.index, r.index);
        records.push(rec.clone());
        if verbose {
            lines.push(format!("[server] {}", step_line(&rec)));
            eprintln!("[server] {}", step_line(&rec));
        }
    })?;
    let train_secs = t_train.elapsed().as_secs_f64();
    for e in &run.epochs {
        say(format!(
            "[client] epoch {}: decrypted validation outputs -> loss {:.4}, accuracy {:.4}; answers {:?}",
            e.epoch, e.validation.loss, e.validation.accuracy, e.decision
        ))?;
    }
    let test_enc = run.model.evaluate(&ds.test);

    // The same schedule in plaintext: exact softmax (the usual baseline) and the approximation.
    let cfg = TrainConfig {
        max_epochs: args.max_epochs,
        seed,
        patience: Some(args.patience),
        ..TrainConfig::new(args.lr, batch)
    };
    let plain_exact = train(&ds, &cfg)?;
    let approx = SoftmaxKind::Approx(Box::new(SoftmaxApprox::new(SoftmaxConfig::default())?));
    let plain_approx = train(&ds, &TrainConfig { softmax: approx, ..cfg.clone() })?;
    let test_plain = plain_exact.model.evaluate(&ds.test);
    let max_dw = run.model.w.max_abs_diff(&plain_approx.model.w);
    let steps: usize = run.epochs.iter().map(|e| e.steps.len()).sum();
    let boots: usize = run.epochs.iter().flat_map(|e| &e.steps).map(|s| s.refreshes.total()).sum();
    say(format!(
        "[client] decrypted the model of epoch {} ({}); test accuracy: encrypted {:.4}, plaintext (exact softmax, same \
         schedule) {:.4}: gap {:+.2} points; max |W_enc - W_plain(approx softmax)| = {max_dw:.1e}",
        run.best_epoch,
        if run.stopped_early { "early stopping" } else { "epoch limit" },
        test_enc.accuracy,
        test_plain.accuracy,
        100.0 * (test_enc.accuracy - test_plain.accuracy)
    ))?;
    say(format!(
        "time: {:.1} s in all, training {train_secs:.1} s ({steps} steps, {boots} bootstraps, {:.1} s per step)",
        start.elapsed().as_secs_f64(),
        train_secs / steps.max(1) as f64
    ))?;

    // (epoch, loss, accuracy) of both runs, as the plot's two panels.
    let enc: Vec<(f64, f64, f64)> =
        run.epochs.iter().map(|e| (e.epoch as f64, e.validation.loss, e.validation.accuracy)).collect();
    let plain: Vec<(f64, f64, f64)> =
        plain_exact.epochs.iter().enumerate().map(|(i, e)| ((i + 1) as f64, e.val_loss, e.val_accuracy)).collect();
    let panel = |pick: fn(&(f64, f64, f64)) -> f64| {
        [("encrypted", &enc), ("plaintext", &plain)]
            .map(|(label, pts)| Series { label: label.into(), points: pts.iter().map(|p| (p.0, pick(p))).collect() })
            .to_vec()
    };
    let (loss, acc) = (panel(|p| p.1), panel(|p| p.2));
    std::fs::create_dir_all(&args.out)?;
    let svg = training_curves_svg(&format!("hetal demo ({})", args.preset.name()), &loss, &acc);
    crate::files::write_atomic(&args.out.join("demo.svg"), svg.as_bytes(), false)?;
    let json = serde_json::json!({
        "preset": args.preset.name(), "data": crate::embedded::NAME,
        "train_rows": ds.train.len(), "val_rows": ds.val.len(), "test_rows": ds.test.len(),
        "batch": batch, "lr": args.lr, "epochs": run.epochs.len(), "best_epoch": run.best_epoch,
        "stopped_early": run.stopped_early, "steps": steps, "bootstraps": boots,
        "test_accuracy_encrypted": test_enc.accuracy, "test_accuracy_plaintext": test_plain.accuracy,
        "max_abs_weight_difference_vs_plaintext_approx": max_dw,
        "model_fingerprint": crate::files::Fingerprint::of_bytes(
            &run.model.w.data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()),
        "seconds_total": start.elapsed().as_secs_f64(), "seconds_training": train_secs,
        "validation": run.epochs.iter().map(|e| serde_json::json!({"epoch": e.epoch, "loss": e.validation.loss,
            "accuracy": e.validation.accuracy})).collect::<Vec<_>>(),
        "step_log": lines,
        "step_records": records,
    });
    crate::files::write_json(&args.out.join("demo.json"), &json, false)?;
    if g.json {
        writeln!(out, "{json}")?;
    } else {
        say(format!("report {}, plot {}", args.out.join("demo.json").display(), args.out.join("demo.svg").display()))?;
    }
    Ok(())
}
