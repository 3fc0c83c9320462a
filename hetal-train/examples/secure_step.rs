//! Time encrypted training steps at the secure `BootstrapN16` preset (`N = 2^16`, 128-bit,
//! real bootstrapping) at a chosen task shape, with the breakdown by part, and check the
//! weights against the plaintext reference trainer after every step:
//!
//! ```text
//! cargo run --release -p hetal-train --example secure_step -- <dataset dir>
//!     [--classes K] [--features F] [--batch N] [--steps S] [--lr X]
//!     [--softmax hetal|normalize-and-square] [--slim] [--compact]
//! ```
//!
//! The paper's shapes (spec section 7): MNIST is `--classes 10 --features 768 --batch 1024`,
//! Face Mask `--classes 3 --features 768 --batch 512` (768 features + the bias = 769 inputs).
//! Rows with labels `>= K` are dropped and the first `F` feature columns are kept, then the
//! features are scaled by the largest training-row norm; only the shape matters for the time.
//! Keys stay in memory (no files): peak memory is the process's high-water mark, printed at the
//! end. Defaults: all classes and features of the folder, batch 512, one step, lr 1, and the
//! training's bootstrapping (the standard order); `--slim` bootstraps SlotToCoeff first instead
//! (data 3 levels higher, the same levels for computation), for comparison. `--compact` runs the
//! compact softmax (`TrainingServer::with_compact_softmax`): the rows of the logits folded into
//! `s0 c` sparse slots and refreshed by a bootstrapper of that many slots.

mod common;

use ckks_scheme::circuits::bootstrap::{BootstrapConfig, Bootstrapper};
use ckks_scheme::{Evaluator, KeyGenerator, Preset};
use common::{exit_code, parse, usage, ExampleError};
use hetal_train::data::{load_npy_dir, one_hot, scale_features, with_bias, Dataset, Split};
use hetal_train::encrypted::{ClientConfig, TrainingClient, TrainingServer, TrainingSetup};
use hetal_train::matrix::Matrix;
use hetal_train::plain::{Optimizer, SoftmaxKind, TrainConfig, Trainer};
use hetal_train::protocol::task::training_bootstrap;
use hetal_train::softmax::{BootstrapRefresh, SoftmaxId};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

struct Options {
    dir: PathBuf,
    classes: Option<usize>,
    features: Option<usize>,
    batch: usize,
    steps: usize,
    lr: f64,
    softmax: SoftmaxId,
    slim: bool,
    compact: bool,
}

/// CKKS's allocator: buffers of tens of MB are reused instead of page-faulted in again.
#[global_allocator]
static GLOBAL: ckks_scheme::allocator::MiMalloc = ckks_scheme::allocator::MiMalloc;

fn options() -> Result<Options, ExampleError> {
    let mut args = std::env::args().skip(1);
    let mut o = Options {
        dir: PathBuf::new(),
        classes: None,
        features: None,
        batch: 512,
        steps: 1,
        lr: 1.0,
        softmax: SoftmaxId::Hetal,
        slim: false,
        compact: false,
    };
    let mut dir = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--classes" => o.classes = Some(parse("--classes", args.next())?),
            "--features" => o.features = Some(parse("--features", args.next())?),
            "--batch" => o.batch = parse("--batch", args.next())?,
            "--steps" => o.steps = parse("--steps", args.next())?,
            "--lr" => o.lr = parse("--lr", args.next())?,
            "--softmax" => o.softmax = parse("--softmax", args.next())?,
            "--slim" => o.slim = true,
            "--compact" => o.compact = true,
            flag if flag.starts_with("--") => return Err(usage(format!("unknown option {flag}"))),
            path => dir = Some(PathBuf::from(path)),
        }
    }
    o.dir = dir.ok_or_else(|| usage("usage: secure_step <dataset dir> [options]"))?;
    Ok(o)
}

/// The rows of `s` with labels below `classes`, first `features` columns.
fn reshape(s: &Split, classes: usize, features: usize) -> Split {
    let rows: Vec<usize> = (0..s.len()).filter(|&i| s.y[i] < classes).collect();
    let data = rows.iter().flat_map(|&i| s.x.row(i)[..features].iter().copied()).collect();
    Split { x: Matrix::from_vec(rows.len(), features, data).expect("shape"), y: rows.iter().map(|&i| s.y[i]).collect() }
}

/// The process's peak resident memory in GB (`VmHWM`), where `/proc` has it.
fn peak_rss_gb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0 / 1024.0)
}

fn run() -> Result<(), ExampleError> {
    let o = options()?;
    let full = load_npy_dir(&o.dir)?;
    let classes = o.classes.unwrap_or(full.classes).min(full.classes);
    let features = o.features.unwrap_or(full.features()).min(full.features());
    let mut ds = Dataset {
        name: full.name.clone(),
        classes,
        train: reshape(&full.train, classes, features),
        val: reshape(&full.val, classes, features),
        test: reshape(&full.test, classes, features),
    };
    scale_features(&mut ds)?;
    ds.val = ds.val.select(&(0..16.min(ds.val.len())).collect::<Vec<_>>());
    if ds.train.len() < o.batch * o.steps {
        return Err(usage(format!("{} training rows, fewer than {} steps of {}", ds.train.len(), o.steps, o.batch)));
    }
    ds.train = ds.train.select(&(0..o.batch * o.steps).collect::<Vec<_>>());

    let t = Instant::now();
    let params = Preset::BootstrapN16.build()?;
    let config = if o.slim { BootstrapConfig::slim() } else { training_bootstrap() };
    let bootstrapper = Bootstrapper::new(&params, config.clone())?;
    let mut setup = TrainingSetup::new(
        classes,
        features,
        o.batch,
        o.lr,
        Optimizer::Nesterov,
        &params,
        bootstrapper.output_level(),
    )?;
    setup.softmax_id = o.softmax;
    let unit = setup.unit()?;
    println!(
        "{}: shape batch {} x {} inputs, {} classes (c = {}), unit {} x {}, softmax {} ({} levels); {}",
        ds.name,
        o.batch,
        setup.inputs,
        classes,
        setup.padded_classes(),
        unit.s0,
        unit.s1,
        o.softmax,
        setup.softmax_approximation()?.depth(classes),
        params.summary()
    );

    // Client: keys for the step's rotations and for bootstrapping.
    let mut kg = KeyGenerator::from_seed(&params, [31; 32]);
    let sk = kg.secret_key()?;
    let mut steps = setup.rotation_steps()?;
    let sparse = if o.compact {
        steps.extend(setup.compact_rotation_steps(&params)?);
        let n = setup.compact_rows()?.slots();
        let sparse = Bootstrapper::with_slots(&params, config, n)?;
        println!(
            "compact softmax: {n} sparse slots; DFT matrices {:.2} GB (full slots: {:.2} GB)",
            sparse.precomputed_bytes() as f64 / 1e9,
            bootstrapper.precomputed_bytes() as f64 / 1e9
        );
        Some(sparse)
    } else {
        None
    };
    let mut keys = kg.evaluation_keys(&sk, &steps, true)?;
    // One encapsulation key pair for both circuits, as `hetal keygen` makes them.
    let plan = match &sparse {
        Some(b) => bootstrapper.key_plan().union(&b.key_plan())?,
        None => bootstrapper.key_plan(),
    };
    let bkeys = plan.generate_keys(&mut kg, &sk, &mut keys.galois)?;
    let keys = Arc::new(keys);
    println!(
        "keys: {} Galois keys, {:.2} GB in memory, {:.1} s",
        keys.galois.elements().count(),
        keys.galois.size_bytes() as f64 / 1e9,
        t.elapsed().as_secs_f64()
    );
    let config = ClientConfig { encryption_seed: [32; 32], ..ClientConfig::default() };
    let mut client = TrainingClient::new(sk, &keys.public, setup.clone(), &ds.train, &ds.val, config)?;
    let (init, _) = client.initial_model()?;
    let val = client.encrypted_validation()?;

    // Server: public keys only, real bootstrapping.
    let sparse = sparse.map(|b| BootstrapRefresh::new(Evaluator::new(keys.clone()), b, bkeys.clone())).transpose()?;
    let refresh = BootstrapRefresh::new(Evaluator::new(keys.clone()), bootstrapper, bkeys)?;
    let mut server = TrainingServer::new(Evaluator::new(keys.clone()), refresh, setup.clone(), init, val)?;
    if let Some(sparse) = sparse {
        server = server.with_compact_softmax(sparse)?;
    }
    println!("keys, encryption and setup: {:.1} s", t.elapsed().as_secs_f64());

    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let cfg =
        TrainConfig { softmax: SoftmaxKind::Approx(setup.softmax_approximation()?), ..TrainConfig::new(o.lr, o.batch) };
    let mut trainer = Trainer::new(&cfg, classes, setup.inputs, &mut rng);
    let xb = with_bias(&ds.train.x);
    let y = one_hot(&ds.train.y, setup.padded_classes());
    let n = client.begin_epoch()?;
    let batches = cfg.schedule().epoch(ds.train.len(), o.batch, 1);
    for (k, idx) in batches.iter().enumerate().take(n) {
        let batch = client.encrypt_batch(k)?;
        let r = server.step(&batch)?;
        trainer.step(&xb.select_rows(idx), &y.select_rows(idx));
        let w = client.decrypt(server.weights())?;
        let diff = w.max_abs_diff(&trainer.model.w);
        println!("{r}; max |W_enc - W_plain| {diff:.1e}");
    }
    if let Some(gb) = peak_rss_gb() {
        println!("peak resident memory {gb:.1} GB");
    }
    Ok(())
}

fn main() -> ExitCode {
    ckks_scheme::allocator::keep_freed_memory();
    exit_code("error", run())
}
