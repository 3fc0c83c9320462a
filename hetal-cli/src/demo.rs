//! `hetal demo`: the whole HETAL protocol in one process on the embedded data set, both roles
//! side by side, with what each party sees: the client makes keys and encrypts, the server
//! trains on ciphertexts with public keys only (bootstrapping included), the client answers
//! each epoch from the decrypted validation outputs (early stopping), and finally decrypts the
//! model. The same schedule runs in plaintext beside it, and the two are compared.

use crate::global::Global;
use crate::report::{training_curves_svg, Series};
use hetal_train::data::FeatureScale;
use hetal_train::protocol::client::{answer_validation, decrypt_model, encrypt_job, plaintext_run, JobData, JobSeeds};
use hetal_train::protocol::job::{ClientState, JobPaths};
use hetal_train::protocol::keys::generate;
use hetal_train::protocol::report::step_line;
use hetal_train::protocol::server::{Outcome, Progress as Event, ServerSession};
use hetal_train::protocol::task::{Hyper, TaskShape, TrainPreset};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// The demo's learning rate. With one step per epoch, 4 stops sooner but on weights whose
/// test predictions lie within 5e-4 of a tie (where the encrypted run's 1e-4 could flip one),
/// and 5 or more is unstable; 2 stops at epoch 8 with every test margin above 6e-3.
const DEFAULT_LR: f64 = 2.0;
/// The demo's epoch cap, well above where its early stopping ends.
const DEFAULT_MAX_EPOCHS: usize = 30;
/// The demo's batch at the secure preset: the embedded training rows in one ciphertext.
const SECURE_BATCH: usize = 512;

/// Options of `hetal demo`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  hetal demo                                      # secure N = 2^16, trains to early stopping, about 8 GB\n  hetal demo --preset bootstrap-n16               # 43 bootstrapping keys instead of 27: 4 % faster, about 10.3 GB\n  hetal demo --quick                              # two one-step epochs only\n  hetal demo --monitor loss --max-epochs 100      # the paper's rule (validation loss): about 100 epochs here\n  hetal demo --preset insecure-train-n12          # seconds per step, INSECURE\n  hetal demo --export-data digits                 # write the embedded data set's files"
)]
pub struct DemoArgs {
    /// Parameter set. The demo defaults to the compact key set of `bootstrap-n16` (the same
    /// parameters and security): it peaks at about 8 GB instead of 10.3, for about 4 % more time,
    /// so that a laptop runs it.
    #[arg(long, value_parser = crate::preset::train_preset(), default_value = "bootstrap-n16-compact")]
    pub preset: TrainPreset,
    /// Mini-batch size (default: 512 at the secure presets, one ciphertext per batch and one step
    /// per epoch on the embedded data; 32 at insecure-train-n12, whose 2048 slots are narrow).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate (2: early stopping ends at epoch 8 with a clear margin on every test
    /// prediction; 4 stops sooner on barely decided weights, 5 and more is unstable).
    #[arg(long, default_value_t = DEFAULT_LR)]
    pub lr: f64,
    /// Most epochs (early stopping ends sooner: at epoch 8 with the defaults).
    #[arg(long, default_value_t = DEFAULT_MAX_EPOCHS, conflicts_with = "quick")]
    pub max_epochs: usize,
    /// The compact softmax, as in `hetal keygen` (the embedded data's 4 classes train without
    /// it unless asked).
    #[command(flatten)]
    pub compact: crate::keygen::CompactSoftmaxArgs,
    /// Two epochs only (one step each): the quickest look at the whole protocol.
    #[arg(long)]
    pub quick: bool,
    /// Early-stopping patience.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// What early stopping watches. The demo watches the validation accuracy: on the embedded
    /// digits the loss keeps falling slowly for 100 epochs while the accuracy stops improving
    /// after 5, so a loss rule would not stop in a demo's time.
    #[arg(long, value_parser = crate::preset::monitor(), default_value = "accuracy")]
    pub monitor: hetal_train::plain::Monitor,
    /// Use only the first N training rows (0: all 440).
    #[arg(long, default_value_t = 0)]
    pub train_rows: usize,
    /// Use only the first N validation rows (0: all).
    #[arg(long, default_value_t = 0)]
    pub val_rows: usize,
    /// Softmax approximation; by default `logistic` for 2 classes and `normalize-and-square` otherwise.
    #[arg(long, value_parser = crate::preset::softmax())]
    pub softmax: Option<hetal_train::softmax::SoftmaxId>,
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
    let seed = g.seed.unwrap_or(0);
    say(format!(
        "hetal demo: HETAL encrypted training on the embedded data set {} ({} train / {} validation / {} test rows, \
         {} features, {} classes), both roles through the protocol library, the job in {}",
        crate::embedded::NAME,
        ds.train.len(),
        ds.val.len(),
        ds.test.len(),
        ds.features(),
        ds.classes,
        args.out.join("job").display()
    ))?;

    // Client: keys (in memory: the demo's server reads the bundle from memory, not a file).
    let t = Instant::now();
    let batch = args.batch.unwrap_or(if args.preset.is_insecure() { 32 } else { SECURE_BATCH });
    let task = TaskShape::new(ds.classes, ds.features(), batch, args.compact.choice(), &args.preset.build()?);
    let max_epochs = if args.quick { 2 } else { args.max_epochs };
    let hyper =
        Hyper { lr: args.lr, optimizer: "nesterov".into(), patience: args.patience, monitor: args.monitor, max_epochs };
    let (secret, bundle) = generate(args.preset, &task, Some(seed), &mut |_| {})?;
    let params = secret.params.clone();
    if params.security() == ckks_scheme::security::SecurityLevel::Insecure {
        say(format!("WARNING: preset {} is INSECURE (a demo of the workflow only)", args.preset.name()))?;
    }
    let key_mb = (bundle.keys.galois.size_bytes() + bundle.bootstrap.size_bytes()) as f64 / 1e6;
    say(format!(
        "[client] keys for {} (N = 2^{}, {} slots) in {:.1} s: secret key kept; public bundle for the server: {} \
         Galois keys + bootstrapping keys, about {key_mb:.0} MB",
        args.preset.name(),
        params.degree().trailing_zeros(),
        params.slots(),
        t.elapsed().as_secs_f64(),
        bundle.keys.galois.elements().count()
    ))?;

    // Client: the job (fixed batches, validation set, W_0), exactly as `hetal encrypt` makes it.
    let job_dir = args.out.join("job");
    let key_path = PathBuf::from("(in memory)");
    let data = JobData {
        dataset: ds.clone(),
        source: format!("embedded:{}", crate::embedded::NAME),
        class_names: crate::embedded::class_names(),
    };
    let enc =
        encrypt_job(&job_dir, true, &secret, data, hyper, args.softmax, &JobSeeds::derive(Some(seed)), &mut |_, _| {})?;
    say(format!(
        "[client] features scaled by 1/{:.3}; unit shape {} x {}; {} batches, validation and W_0 encrypted: {:.1} MB \
         for the server",
        enc.scale.divisor,
        enc.unit.s0,
        enc.unit.s1,
        enc.manifest.batches,
        enc.bytes as f64 / 1e6
    ))?;

    // Server and client take turns, as `hetal train` and `hetal decrypt validation` do.
    let mut server = ServerSession::open(job_dir.clone(), bundle, false)?;
    say(format!(
        "[server] receives: the job's manifest (classes {}, batch {}, lr {}), {} encrypted batches, W_0 and the \
         validation features, the public bundle; never the secret key",
        enc.manifest.task.classes, enc.manifest.task.batch, enc.manifest.hyper.lr, enc.manifest.batches
    ))?;
    let verbose = g.verbose || text;
    let mut lines = Vec::new();
    let mut records = Vec::new();
    let mut epochs = Vec::new();
    let t_train = Instant::now();
    let (best_epoch, stopped_early) = loop {
        let outcome = server.advance(None, &mut |event| {
            if let Event::Step(rec) = event {
                records.push(rec.clone());
                if verbose {
                    lines.push(format!("[server] {}", step_line(rec)));
                }
            }
        })?;
        match outcome {
            Outcome::AwaitingAnswer { .. } => {
                let v = answer_validation(&job_dir, &secret, &key_path, None)?;
                say(format!(
                    "[client] epoch {}: decrypted validation outputs -> loss {:.4}, accuracy {:.4}; answers {}",
                    v.epoch, v.loss, v.accuracy, v.answer.decision
                ))?;
                epochs.push(v);
            }
            Outcome::Finished { best_epoch, epoch, .. } => break (best_epoch, epoch < max_epochs),
            _ => return Err("the demo's server paused unexpectedly".into()),
        }
    };
    drop(server);
    let train_secs = t_train.elapsed().as_secs_f64();
    let decrypted = decrypt_model(&job_dir, &secret, &key_path, None, true)?;
    let model = crate::evaluate::padded_model(&decrypted.w, ds.classes)?;
    let client = ClientState::read(&JobPaths(job_dir.clone()))?;
    let mut scaled = ds.clone();
    FeatureScale::new(client.feature_scale)?.apply(&mut scaled)?;
    let test_enc = model.evaluate(&scaled.test);

    // The same schedule in plaintext: exact softmax (the usual baseline) and the approximation.
    let plain_exact = plaintext_run(&enc.manifest, &client, &scaled, false)?;
    let plain_approx = plaintext_run(&enc.manifest, &client, &scaled, true)?;
    let test_plain = plain_exact.model.evaluate(&scaled.test);
    let max_dw = model.w.max_abs_diff(&plain_approx.model.w);
    let steps = records.len();
    let boots: usize = records.iter().map(|r| r.bootstraps.iter().sum::<usize>()).sum();
    say(format!(
        "[client] decrypted the model of epoch {best_epoch} ({}); test accuracy: encrypted {:.4}, plaintext (exact \
         softmax, same schedule) {:.4}: gap {:+.2} points; max |W_enc - W_plain(approx softmax)| = {max_dw:.1e}",
        if stopped_early { "early stopping" } else { "epoch limit" },
        test_enc.accuracy,
        test_plain.accuracy,
        100.0 * (test_enc.accuracy - test_plain.accuracy)
    ))?;
    say(format!(
        "time: {:.1} s in all, training {train_secs:.1} s ({steps} steps, {boots} bootstraps, {:.2} bootstraps and \
         {:.1} s per step averaged over the run)",
        start.elapsed().as_secs_f64(),
        boots as f64 / steps.max(1) as f64,
        train_secs / steps.max(1) as f64
    ))?;

    // (epoch, loss, accuracy) of both runs, as the plot's two panels.
    let enc_points: Vec<(f64, f64, f64)> = epochs.iter().map(|e| (e.epoch as f64, e.loss, e.accuracy)).collect();
    let plain: Vec<(f64, f64, f64)> =
        plain_exact.epochs.iter().map(|e| (e.epoch as f64, e.val_loss, e.val_accuracy)).collect();
    let panel = |pick: fn(&(f64, f64, f64)) -> f64| {
        [("encrypted", &enc_points), ("plaintext", &plain)]
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
        "batch": batch, "lr": args.lr, "monitor": args.monitor, "max_epochs": max_epochs, "epochs": epochs.len(), "best_epoch": best_epoch,
        "stopped_early": stopped_early, "steps": steps, "bootstraps": boots,
        "bootstraps_per_step": boots as f64 / steps.max(1) as f64,
        "test_accuracy_encrypted": test_enc.accuracy, "test_accuracy_plaintext": test_plain.accuracy,
        "max_abs_weight_difference_vs_plaintext_approx": max_dw,
        "model_fingerprint": crate::files::Fingerprint::of_bytes(
            &decrypted.w.data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()),
        "seconds_total": start.elapsed().as_secs_f64(), "seconds_training": train_secs,
        "validation": epochs.iter().map(|e| serde_json::json!({"epoch": e.epoch, "loss": e.loss,
            "accuracy": e.accuracy})).collect::<Vec<_>>(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use hetal_train::plain::{train, Monitor, SoftmaxKind, TrainConfig};
    use hetal_train::protocol::client::JobSeeds;
    use hetal_train::softmax::{SoftmaxConfig, SoftmaxId};

    /// What `hetal demo` promises at its defaults, checked on the plaintext trainer with the
    /// demo's seeds, schedule and softmax approximation (the encrypted run follows it to about
    /// 1e-4 a step): early stopping ends the run at epoch 8, far below the cap, with a test
    /// accuracy above 0.9, and no test prediction is within 1e-3 of a tie (so the encrypted
    /// model's predictions are the plaintext model's).
    #[test]
    fn defaults_stop_early_on_the_embedded_data() {
        let mut ds = crate::embedded::dataset().unwrap();
        hetal_train::data::scale_features(&mut ds).unwrap();
        let seeds = JobSeeds::derive(Some(0));
        let cfg = TrainConfig {
            seed: seeds.init,
            schedule: Some(seeds.schedule),
            monitor: Monitor::Accuracy,
            max_epochs: DEFAULT_MAX_EPOCHS,
            softmax: SoftmaxKind::Approx(SoftmaxId::NormalizeAndSquare.build(SoftmaxConfig::default()).unwrap()),
            ..TrainConfig::new(DEFAULT_LR, SECURE_BATCH)
        };
        let r = train(&ds, &cfg).unwrap();
        assert!(r.stopped_early, "{:?}", r.epochs);
        assert_eq!((r.best_epoch, r.epochs.len()), (5, 8), "{:?}", r.epochs);
        let test = r.model.evaluate(&ds.test).accuracy;
        assert!(test > 0.9, "test accuracy {test}");
        let logits = r.model.logits_biased(&hetal_train::data::with_bias(&ds.test.x));
        for row in logits.data.chunks(logits.cols) {
            let mut v = row[..ds.classes].to_vec();
            v.sort_by(|a, b| b.total_cmp(a));
            assert!(v[0] - v[1] > 1e-3, "a test prediction within {:.1e} of a tie", v[0] - v[1]);
        }
    }
}
