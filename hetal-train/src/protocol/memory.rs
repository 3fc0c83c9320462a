//! What a server session needs in memory, before it is opened: a service that trains several
//! jobs at once admits one only when its estimate fits beside the others'.

use super::task::TrainPreset;

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
/// `2 * bundle + 24 * init + (5 GB + 2.5 GB if compact_softmax) * N / 2^16`
///
/// The keys are expanded once loaded (twice the bundle); the step's ciphertexts scale with the
/// weights' (24 times `init.hmat`, the step's products and the softmax pieces); the rest is
/// bootstrapping's precomputation and the step in flight. Measured peaks beside it
/// (`/usr/bin/time`, `hetal train`, 2026-12-06, docs/BENCHMARKS.md): Face Mask's first epoch
/// (5 steps, weights refreshed, validation) 13.9 GB with `bootstrap-n16` (estimate 15.2 GB) and
/// 11.2 GB with `bootstrap-n16-compact` (13.0 GB); SNIPS's first 4 steps 13.0 GB (13.9 GB); Face
/// Mask with the compact softmax 15.3 GB (17.6 GB).
pub fn server_memory_estimate(preset: TrainPreset, compact_softmax: bool, bundle_bytes: u64, init_bytes: u64) -> u64 {
    let log_n = preset.builder().log_n;
    let at_n16 = WORKING_AT_N16 + if compact_softmax { COMPACT_SOFTMAX_AT_N16 } else { 0 };
    let working = at_n16 >> 16u32.saturating_sub(log_n).min(63);
    bundle_bytes.saturating_mul(2).saturating_add(init_bytes.saturating_mul(24)).saturating_add(working)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_cover_the_measured_peaks() {
        // (preset, bundle, init.hmat, measured peak RSS) of the secure Face Mask (one epoch)
        // and SNIPS (4 steps) runs of 2026-12-06.
        // The compact softmax's Face Mask epoch: 14 914 872 KiB (2026-12-06, 20:15 UTC).
        for (preset, compact, bundle, init, peak) in [
            (TrainPreset::BootstrapN16, false, 3_363_842_887, 143_136_288, 13_933_105_152),
            (TrainPreset::BootstrapN16Compact, false, 2_262_834_991, 143_136_288, 11_166_375_936),
            (TrainPreset::BootstrapN16, false, 3_403_688_998, 88_608_263, 13_043_683_328),
            (TrainPreset::BootstrapN16Compact, true, 3_349_163_350, 143_136_288, 14_914_872 * 1024),
        ] {
            let e = server_memory_estimate(preset, compact, bundle, init);
            assert!(e >= peak && e <= peak + peak / 5, "estimate {e} for a peak of {peak}");
        }
        let small = server_memory_estimate(TrainPreset::InsecureTrainN12, false, 100_000_000, 1_000_000);
        assert_eq!(small, 200_000_000 + 24_000_000 + WORKING_AT_N16 / 16);
    }
}
