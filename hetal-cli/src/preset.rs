//! The parameter presets selectable on the command line.

use ckks_scheme::Preset;

/// A CKKS parameter preset, as named on the command line (`--preset leveled-n14`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PresetArg {
    /// N = 2^14, 8 levels, 128-bit secure: the fastest secure set.
    LeveledN14,
    /// N = 2^15, 16 levels, 128-bit secure.
    LeveledN15,
    /// N = 2^16, 28 levels, 128-bit secure: slow to set up.
    LeveledN16,
    /// N = 2^16, bootstrappable (12 levels after bootstrapping), 128-bit secure.
    BootstrapN16,
    /// N = 2^12, bootstrappable (4 levels after bootstrapping): INSECURE, for tests only.
    InsecureBootstrapN12,
    /// N = 2^13, 10 levels: INSECURE, for tests and quick checks only.
    InsecureTestN13,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Self {
        match p {
            PresetArg::LeveledN14 => Preset::LeveledN14,
            PresetArg::LeveledN15 => Preset::LeveledN15,
            PresetArg::LeveledN16 => Preset::LeveledN16,
            PresetArg::BootstrapN16 => Preset::BootstrapN16,
            PresetArg::InsecureBootstrapN12 => Preset::InsecureBootstrapN12,
            PresetArg::InsecureTestN13 => Preset::InsecureTestN13,
        }
    }
}

/// A parser for a closed list of values, each `(value, name, help)` with the name it has in
/// files, so that the command line and the files spell a value alike.
fn named<T: Clone + Send + Sync + 'static, const K: usize>(
    items: [(T, &'static str, &'static str); K],
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let values = items.clone().map(|(_, name, help)| PossibleValue::new(name).help(help));
    PossibleValuesParser::new(values).map(move |name: String| {
        items.iter().find(|(_, n, _)| *n == name).expect("clap passes only listed names").0.clone()
    })
}

/// The training presets (`--preset` of `keygen` and `demo`), by their names in files.
pub fn train_preset() -> impl clap::builder::TypedValueParser<Value = hetal_train::protocol::task::TrainPreset> {
    use hetal_train::protocol::task::TrainPreset;
    named(TrainPreset::ALL.map(|p| {
        let help = match p {
            TrainPreset::BootstrapN16 => {
                "N = 2^16, 128-bit secure, 12 levels after each bootstrapping, 43 bootstrapping keys: the fastest"
            }
            TrainPreset::BootstrapN16Compact => {
                "bootstrap-n16 with 27 bootstrapping keys instead of 43: 2.3 GB less memory, bootstraps about 10 % slower (epochs 3-4 %)"
            }
            TrainPreset::InsecureTrainN12 => "N = 2^12, 12 levels after bootstrapping: INSECURE, tests only",
        };
        (p, p.name(), help)
    }))
}

/// What early stopping watches (`--monitor` of `encrypt` and `demo`), by the names in job files.
pub fn monitor() -> impl clap::builder::TypedValueParser<Value = hetal_train::plain::Monitor> {
    use hetal_train::plain::Monitor;
    named(Monitor::ALL.map(|m| {
        let help = match m {
            Monitor::Loss => "the validation loss (the paper's rule)",
            Monitor::Accuracy => "the validation accuracy: stops sooner where the loss falls slowly for many epochs",
        };
        (m, m.as_str(), help)
    }))
}

/// The softmax approximations (`--softmax` of `encrypt`, `demo` and `bench --suite train`), by
/// their names in job files.
pub fn softmax() -> impl clap::builder::TypedValueParser<Value = hetal_train::softmax::SoftmaxId> {
    use hetal_train::softmax::SoftmaxId;
    named(SoftmaxId::ALL.map(|id| {
        let help = match id {
            SoftmaxId::Hetal => "the paper's: approximate max, domain extension, Goldschmidt (62 levels for c = 4, 82 for 16)",
            SoftmaxId::NormalizeAndSquare => {
                "Cho et al. 2024: exp(x/128) squared 7 times with normalisations (30 levels up to 3 classes, 37 up to 10)"
            }
            SoftmaxId::Logistic => {
                "2 classes only: the logistic function of the logits' difference, one polynomial of degree 1023 (11 levels)"
            }
        };
        (id, id.as_str(), help)
    }))
}
