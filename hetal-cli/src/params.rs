//! `hetal params`: the parameter presets and their budgets (levels, `log QP` against the
//! security bound, slots, key-switching digits, key sizes, and for bootstrappable presets the
//! bootstrapping contract), as a table or as JSON.

use ckks_scheme::circuits::bootstrap::BootstrapConfig;
use ckks_scheme::{Parameters, Preset, SchemeError};
use std::io::Write;

/// Options of `hetal params`.
#[derive(Debug, clap::Args)]
pub struct ParamsArgs {
    /// Also print the full multi-line description of each preset.
    #[arg(long)]
    pub describe: bool,
}

/// What can make `hetal params` fail.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    /// A preset failed to build (a bug: presets are fixed).
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    /// Writing the output failed.
    #[error("cannot write the output")]
    Io(#[from] std::io::Error),
}

/// One preset's budget.
struct Budget {
    name: String,
    log_n: u32,
    slots: usize,
    levels: usize,
    log_qp: f64,
    bound: Option<u32>,
    dnum: usize,
    alpha: usize,
    secure: bool,
    key_mb: f64,
    bootstrap_levels: Option<usize>,
}

/// Size of one switching key: `dnum` digits of two polynomials over `Q P`.
fn switching_key_mb(p: &Parameters) -> f64 {
    let limbs = p.max_level() + 1 + p.alpha();
    (2 * p.dnum() * limbs * p.degree() * 8) as f64 / 1e6
}

fn budget(preset: Preset) -> Result<Budget, SchemeError> {
    let p = preset.build()?;
    let bootstrap_levels = match preset {
        Preset::BootstrapN16 | Preset::InsecureBootstrapN12 => {
            Some(p.max_level() - BootstrapConfig::standard().depth())
        }
        _ => None,
    };
    Ok(Budget {
        name: format!("{preset:?}"),
        log_n: p.log_n(),
        slots: p.slots(),
        levels: p.max_level(),
        log_qp: p.log_qp(),
        bound: ckks_scheme::security::max_log_qp(
            p.degree(),
            p.secret_distribution(),
            ckks_scheme::security::SecurityLevel::Classical128,
        ),
        dnum: p.dnum(),
        alpha: p.alpha(),
        secure: !preset.is_insecure(),
        key_mb: switching_key_mb(&p),
        bootstrap_levels,
    })
}

/// Writes the presets' budgets to `out`.
pub fn run(args: &ParamsArgs, json: bool, out: &mut impl Write) -> Result<(), ParamsError> {
    let budgets = Preset::ALL.iter().map(|&p| budget(p)).collect::<Result<Vec<_>, _>>()?;
    if json {
        writeln!(out, "[")?;
        for (i, b) in budgets.iter().enumerate() {
            writeln!(
                out,
                "  {{\"preset\": \"{}\", \"log_n\": {}, \"slots\": {}, \"levels\": {}, \"log_qp\": {:.1}, \
                 \"bound_128\": {}, \"dnum\": {}, \"alpha\": {}, \"secure\": {}, \"switching_key_mb\": {:.1}, \
                 \"levels_after_bootstrapping\": {}}}{}",
                b.name,
                b.log_n,
                b.slots,
                b.levels,
                b.log_qp,
                b.bound.map_or("null".into(), |v| v.to_string()),
                b.dnum,
                b.alpha,
                b.secure,
                b.key_mb,
                b.bootstrap_levels.map_or("null".into(), |v| v.to_string()),
                if i + 1 < budgets.len() { "," } else { "" }
            )?;
        }
        writeln!(out, "]")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<22} {:>6} {:>6} {:>6} {:>14} {:>9} {:>12} {:>10}  security",
        "preset", "log N", "slots", "levels", "log QP / bound", "dnum", "key (MB)", "boot lvls"
    )?;
    for b in &budgets {
        writeln!(
            out,
            "{:<22} {:>6} {:>6} {:>6} {:>14} {:>9} {:>12.1} {:>10}  {}",
            b.name,
            b.log_n,
            b.slots,
            b.levels,
            format!("{:.0} / {}", b.log_qp, b.bound.map_or("-".into(), |v| v.to_string())),
            format!("{} x {}", b.dnum, b.alpha),
            b.key_mb,
            b.bootstrap_levels.map_or("-".into(), |v| v.to_string()),
            if b.secure { "128-bit (HE standard)" } else { "INSECURE (tests only)" }
        )?;
    }
    writeln!(
        out,
        "\nkey (MB): one relinearization or rotation key. boot lvls: levels for computation between two \
         bootstrappings (the same in either order)."
    )?;
    if args.describe {
        for &p in Preset::ALL.iter() {
            writeln!(out, "\n{}", p.build()?.describe())?;
            if matches!(p, Preset::InsecureBootstrapN12) {
                let params = p.build()?;
                writeln!(
                    out,
                    "{}",
                    hetal_train::protocol::task::bootstrapper(
                        hetal_train::protocol::task::TrainPreset::InsecureTrainN12,
                        &params
                    )?
                    .contract()
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_preset_with_its_budget() {
        let mut out = Vec::new();
        run(&ParamsArgs { describe: false }, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for p in Preset::ALL {
            assert!(text.contains(&format!("{p:?}")), "{p:?} missing:\n{text}");
        }
        assert!(text.contains("INSECURE"));
        let mut out = Vec::new();
        run(&ParamsArgs { describe: false }, true, &mut out).unwrap();
        let json = String::from_utf8(out).unwrap();
        assert_eq!(json.matches("\"preset\"").count(), Preset::ALL.len());
        assert!(json.contains("\"levels_after_bootstrapping\": 12"), "{json}");
    }
}
