//! What a server session needs in memory, before it is opened: a service that trains several
//! jobs at once admits one only when its estimate fits beside the others'.

use super::job::JobManifest;
use super::task::{training_bootstrap, TrainPreset};
use std::path::Path;

/// Bytes of working memory a session at ring degree `2^16` holds beyond its keys and its data:
/// bootstrapping's encoded diagonals (about 0.75 GB over `Q * P` since they are stored by their
/// period) and the ciphertexts of a step in flight. Scaled by `N / 2^16` for smaller rings.
const WORKING_AT_N16: u64 = 5_000_000_000;

/// What the compact softmax adds at ring degree `2^16` ([`super::task::TaskShape::compact_softmax`]):
/// the sparse circuit's DFT matrices (1.11 GB at Face Mask), the unfold's diagonals at up to two
/// levels (0.6 GB each) and the second refresher's copy of the encapsulation keys (0.15 GB).
/// Its extra keys are in the bundle's size already.
const COMPACT_SOFTMAX_AT_N16: u64 = 2_500_000_000;

/// Memory a server session of a job at `preset` reaches at its peak, in bytes (an estimate
/// that errs high), from the size of the public bundle and of the initial weights file
/// (`init.hmat`, which holds the weights `W` and momentum `V` as they are packed):
///
/// `2 w_k bundle + 24 w_c init + (5 GB + 2.5 GB if compact_softmax) * N / 2^16`
///
/// The keys are expanded once loaded: their `a` halves regenerated from seeds, and their
/// residues, packed at their primes' widths in the file, widened to words (`w_k`
/// = [`widening`] over every prime of `Q` and `P`: 1.25 at `bootstrap-n16`). The step's
/// ciphertexts scale with the weights' (24 times `init.hmat`, the step's products and the
/// softmax pieces, widened by `w_c` over the primes up to the data level: 1.57). The rest is
/// bootstrapping's precomputation and the step in flight. Files of format version 2 (whole
/// words) make it err higher. Measured peaks beside it (`/usr/bin/time`, `hetal train`,
/// 2026-12-06, docs/BENCHMARKS.md): Face Mask's first epoch (5 steps, weights refreshed,
/// validation) 13.9 GB with `bootstrap-n16` (estimate 15.1 GB) and 11.2 GB with
/// `bootstrap-n16-compact` (12.9 GB); SNIPS's first 4 steps 13.0 GB (13.9 GB); Face Mask with
/// the compact softmax 15.1 GB (17.3 GB).
pub fn server_memory_estimate(preset: TrainPreset, compact_softmax: bool, bundle_bytes: u64, init_bytes: u64) -> u64 {
    let b = preset.builder();
    let at_n16 = WORKING_AT_N16 + if compact_softmax { COMPACT_SOFTMAX_AT_N16 } else { 0 };
    let working = at_n16 >> 16u32.saturating_sub(b.log_n).min(63);
    let data_level = training_bootstrap().output_level(b.q_bits.len().saturating_sub(1)).unwrap_or(0);
    let data = &b.q_bits[..(data_level + 1).min(b.q_bits.len())];
    let keys = bundle_bytes as f64 * 2.0 * key_widening(&b);
    let ciphertexts = init_bytes as f64 * 24.0 * widening(data);
    (keys + ciphertexts) as u64 + working
}

/// [`server_memory_estimate`] for the job of `manifest`, from the sizes of its public bundle
/// file and its initial weights file; `None` where either cannot be read.
pub fn job_memory_estimate(manifest: &JobManifest, bundle: &Path, init: &Path) -> Option<u64> {
    let bundle = std::fs::metadata(bundle).ok()?.len();
    let init = std::fs::metadata(init).ok()?.len();
    Some(server_memory_estimate(manifest.preset, manifest.task.compact_softmax, bundle, init))
}

/// The machine's memory, `MemTotal` of `/proc/meminfo` in bytes; `None` where it cannot be
/// read (not Linux).
pub fn total_memory() -> Option<u64> {
    parse_mem_total(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// `MemTotal` (in kB) of a `/proc/meminfo` text, in bytes.
fn parse_mem_total(info: &str) -> Option<u64> {
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// [`widening`] over every prime of `Q` and `P`: what a key's residues grow by when loaded.
fn key_widening(b: &ckks_scheme::ParametersBuilder) -> f64 {
    widening(&b.q_bits.iter().chain(&b.p_bits).copied().collect::<Vec<u32>>())
}

/// How much larger residues of primes of `bits` bits are in memory (64-bit words) than packed
/// in a file at their widths (serialization format version 3): `64 len / sum(bits)`.
pub fn widening(bits: &[u32]) -> f64 {
    let sum: u32 = bits.iter().sum();
    if sum == 0 {
        1.0
    } else {
        64.0 * bits.len() as f64 / f64::from(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bundles of the Face Mask shape, format version 3 (`hetal --seed 19 keygen --data
    /// face_mask_effnetlite0 --batch 512 [--compact-softmax]`, 2026-12-06 23:08 UTC).
    const BUNDLE_DEFAULT: u64 = 1_793_933_127;
    const BUNDLE_COMPACT: u64 = 2_548_124_230;

    #[test]
    fn estimates_cover_the_measured_peaks() {
        // (preset, bundle, init.hmat, measured peak RSS) of the secure Face Mask (one epoch)
        // and SNIPS (4 steps) runs of 2026-12-06. The files are those of format version 3
        // (residues packed): the Face Mask files of `bootstrap-n16-compact` as `hetal keygen`
        // and `hetal encrypt` write them now (23:08 UTC); those of `bootstrap-n16`, measured
        // in version 2, shrunk by the same ratios (1.26 for bundles, 1.57 for ciphertexts).
        // The compact softmax's Face Mask epoch: 14 725 220 KiB (22:50 UTC).
        for (preset, compact, bundle, init, peak) in [
            (TrainPreset::BootstrapN16, false, 2_666_791_531, 91_182_624, 13_933_105_152),
            (TrainPreset::BootstrapN16Compact, false, BUNDLE_DEFAULT, 91_182_624, 11_166_375_936),
            (TrainPreset::BootstrapN16, false, 2_698_380_780, 56_446_440, 13_043_683_328),
            (TrainPreset::BootstrapN16Compact, true, BUNDLE_COMPACT, 91_182_624, 14_725_220 * 1024),
        ] {
            let e = server_memory_estimate(preset, compact, bundle, init);
            assert!(e >= peak && e <= peak + peak / 5, "estimate {e} for a peak of {peak}");
        }
        let small = server_memory_estimate(TrainPreset::InsecureTrainN12, false, 100_000_000, 0);
        let widened = key_widening(&TrainPreset::InsecureTrainN12.builder());
        assert_eq!(small, (200_000_000.0 * widened) as u64 + WORKING_AT_N16 / 16);
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        let info = "MemFree:  10 kB\nMemTotal:       24522156 kB\nSwapTotal: 0 kB\n";
        assert_eq!(parse_mem_total(info), Some(24_522_156 * 1024));
        assert_eq!(parse_mem_total("MemTotal: many kB\n"), None);
        assert_eq!(parse_mem_total(""), None);
    }

    /// Primes of 40 bits widen by 1.6, of 64 by 1; the secure preset's keys by about 1.25.
    #[test]
    fn widening_is_words_over_bits() {
        assert_eq!(widening(&[40, 40]), 1.6);
        assert_eq!(widening(&[64]), 1.0);
        let w = key_widening(&TrainPreset::BootstrapN16.builder());
        assert!((1.2..1.3).contains(&w), "{w}");
    }
}
