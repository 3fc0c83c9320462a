//! `hetal keygen` (client): the secret key in its own file (mode 0600) and the public bundle
//! a server needs for one task shape: public key, relinearization key, the rotation keys of
//! DiagABT / DiagATB / the softmax for that shape, and bootstrapping's keys.

use crate::exit::BadInput;
use crate::files::refuse_overwrite;
use crate::global::Global;
use crate::progress::Progress;
use ckks_scheme::security::SecurityLevel;
use ckks_scheme::Parameters;
use hetal_train::data::load_npy_dir;
use hetal_train::protocol::keys::generate;
use hetal_train::protocol::task::{TaskShape, TrainPreset};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `hetal keygen`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  hetal keygen --embedded --batch 512 --out keys\n  hetal keygen --classes 10 --features 768 --batch 1024 --out keys\n  hetal keygen --data ./mnist --batch 1024 --preset bootstrap-n16 --out keys   # 16 more keys, faster bootstraps\n  hetal keygen --data ./face_mask --batch 512 --out keys   # 2 classes: the compact softmax, on sparse slots\n  hetal keygen --data ./face_mask --batch 512 --no-compact-softmax --out keys   # 2.5 GB less server memory, slower steps\n  hetal keygen --embedded --batch 512 --compact-softmax --out keys   # opt in at 4 classes\n  hetal keygen --embedded --batch 32 --preset insecure-train-n12 --out keys   # INSECURE, tests"
)]
pub struct KeygenArgs {
    /// Folder for `secret.hkey` (keep it) and `public.hbundle` (send it to the server).
    #[arg(long, default_value = "keys")]
    pub out: PathBuf,
    /// Parameter set (`insecure-*` only for tests). The default, `bootstrap-n16-compact`, keeps
    /// the Face Mask bundle at 2.4 GB and the server under 14 GB with the compact softmax (1.7
    /// GB and 11 GB without it); `bootstrap-n16` bootstraps faster with 16 more keys.
    #[arg(long, value_parser = crate::preset::train_preset(), default_value = "bootstrap-n16-compact")]
    pub preset: TrainPreset,
    /// Take classes and features from a data folder ({train,val,test}_{x,y}.npy).
    #[arg(long, conflicts_with_all = ["classes", "features", "embedded"])]
    pub data: Option<PathBuf>,
    /// Take classes and features from the embedded data set.
    #[arg(long, conflicts_with_all = ["classes", "features"])]
    pub embedded: bool,
    /// Number of classes.
    #[arg(long, requires = "features")]
    pub classes: Option<usize>,
    /// Number of features per sample (without the bias).
    #[arg(long, requires = "classes")]
    pub features: Option<usize>,
    /// Mini-batch size (it fixes the packing and so the rotation keys).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    #[command(flatten)]
    pub compact: CompactSoftmaxArgs,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

/// The compact softmax's switch, shared by `hetal keygen` and `hetal demo`.
#[derive(Debug, Default, clap::Args)]
pub struct CompactSoftmaxArgs {
    /// Keys for the compact softmax: the server folds each row of the logits into `s0 c`
    /// sparse slots and bootstraps those (at Face Mask, 1024 of 32768 slots: 0.67x a full
    /// bootstrap), for a larger bundle and about 2.5 GB more server memory. Needs a batch that
    /// fills at least two copies of a row; jobs encrypted under these keys train that way. The
    /// default for 2 classes where a row has at least 4 copies.
    #[arg(long, conflicts_with = "no_compact_softmax")]
    pub compact_softmax: bool,
    /// No compact softmax, even where it is the default (2 classes).
    #[arg(long)]
    pub no_compact_softmax: bool,
}

impl CompactSoftmaxArgs {
    /// The user's choice, `None` when neither flag was given
    /// ([`TaskShape::compact_softmax_by_default`] decides).
    pub fn choice(&self) -> Option<bool> {
        match (self.compact_softmax, self.no_compact_softmax) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// The task shape named by the options.
fn shape(args: &KeygenArgs, params: &Parameters) -> Result<TaskShape, Box<dyn std::error::Error>> {
    let (classes, features) = if let Some(dir) = &args.data {
        let ds = load_npy_dir(dir)?;
        (ds.classes, ds.features())
    } else if args.embedded {
        let ds = crate::embedded::dataset()?;
        (ds.classes, ds.features())
    } else {
        match (args.classes, args.features) {
            (Some(c), Some(f)) => (c, f),
            _ => {
                return Err(
                    BadInput("give the task shape: --data DIR, --embedded, or --classes C --features F".into()).into()
                )
            }
        }
    };
    Ok(TaskShape::new(classes, features, args.batch, args.compact.choice(), params))
}

/// Runs `hetal keygen`.
pub fn run(args: &KeygenArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let (sk_path, pk_path) = (args.out.join("secret.hkey"), args.out.join("public.hbundle"));
    for p in [&sk_path, &pk_path] {
        refuse_overwrite(p, args.force)
            .map_err(|e| format!("{e} (data encrypted under the old keys cannot be decrypted with new ones)"))?;
    }
    let start = Instant::now();
    let params = args.preset.build()?;
    let task = shape(args, &params)?;
    let plan = task.key_plan(args.preset, &params)?;
    if g.text() {
        if params.security() == SecurityLevel::Insecure {
            writeln!(
                out,
                "WARNING: preset {} is INSECURE (tests only); never use it for real data",
                args.preset.name()
            )?;
        }
        writeln!(
            out,
            "keygen: {} (N = 2^{}, {} slots), task {} classes x {} features, batch {} (unit {} x {}), {} step rotations + bootstrapping",
            args.preset.name(),
            params.degree().trailing_zeros(),
            params.slots(),
            task.classes,
            task.features,
            task.batch,
            plan.unit.s0,
            plan.unit.s1,
            plan.rotations.len()
        )?;
        if let Some(copies) = plan.compact_copies {
            let how = match args.compact.choice() {
                Some(_) => "asked for",
                None => "the default for 2 classes; --no-compact-softmax to leave it out",
            };
            writeln!(
                out,
                "compact softmax: the logits' rows folded into {} sparse slots, 1 of {copies} copies ({how})",
                plan.unit.s0 * plan.unit.s1 / copies
            )?;
        }
    }
    if let Some(w) = plan.compact_warning() {
        tracing::warn!("{w}");
    }
    drop(plan);
    let spin = Progress::spinner(g, "generating keys");
    let (secret, bundle) = generate(args.preset, &task, g.seed, &mut |phase| spin.message(phase.into()))?;
    let key = bundle.key;
    spin.message("writing".into());
    // The bundle first: if it cannot be written (a full disk), the old secret key stays, and
    // if only the secret key fails, the fingerprints tell the mismatched pair apart.
    let pk_size = bundle.write(&pk_path)?;
    let sk_size = secret.write(&sk_path)?;
    spin.finish();
    let mb = |b: u64| b as f64 / 1e6;
    if g.json {
        let v = serde_json::json!({
            "secret_key": sk_path, "secret_key_bytes": sk_size,
            "public_bundle": pk_path, "public_bundle_bytes": pk_size,
            "galois_keys": bundle.keys.galois.elements().count(), "key": key,
            "compact_softmax": task.compact_softmax,
            "seconds": start.elapsed().as_secs_f64(),
        });
        writeln!(out, "{v}")?;
    } else if !g.quiet {
        writeln!(
            out,
            "secret key    {} ({:.1} MB, mode 0600): keep it, never send it",
            sk_path.display(),
            mb(sk_size)
        )?;
        writeln!(
            out,
            "public bundle {} ({:.1} MB: public, relinearization, {} Galois and bootstrapping keys): for the server",
            pk_path.display(),
            mb(pk_size),
            bundle.keys.galois.elements().count()
        )?;
        writeln!(out, "key fingerprint {key}; done in {:.1} s", start.elapsed().as_secs_f64())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use hetal_train::protocol::task::TrainPreset;

    #[derive(Parser)]
    struct Keygen {
        #[command(flatten)]
        args: KeygenArgs,
    }

    #[derive(Parser)]
    struct Demo {
        #[command(flatten)]
        args: crate::demo::DemoArgs,
    }

    /// Keys are made with the compact key set unless asked otherwise, the preset `hetal demo`
    /// uses too: the Face Mask bundle stays under 3 GB and the server under 14 GB.
    #[test]
    fn the_default_preset_is_the_compact_key_set() {
        let keygen = Keygen::try_parse_from(["keygen", "--embedded", "--batch", "32"]).unwrap().args;
        assert_eq!(keygen.preset, TrainPreset::BootstrapN16Compact);
        assert_eq!(Demo::try_parse_from(["demo"]).unwrap().args.preset, keygen.preset);
        let fast =
            Keygen::try_parse_from(["keygen", "--embedded", "--batch", "32", "--preset", "bootstrap-n16"]).unwrap();
        assert_eq!(fast.args.preset, TrainPreset::BootstrapN16);
    }
}
