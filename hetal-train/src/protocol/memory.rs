//! What a server session needs in memory, before it is opened: a service that trains several
//! jobs at once admits one only when its estimate fits beside the others'.

use super::task::TrainPreset;

/// Bytes of working memory a session at ring degree `2^16` holds beyond its keys and its data:
/// bootstrapping's encoded diagonals (over `Q * P`) and the ciphertexts of a step in flight.
/// Scaled by `N / 2^16` for smaller rings.
const WORKING_AT_N16: u64 = 9_000_000_000;

/// Memory a server session of a job at `preset` reaches at its peak, in bytes (an estimate
/// that errs high), from the size of the public bundle and of the initial weights file
/// (`init.hmat`, which holds the weights `W` and momentum `V` as they are packed):
///
/// `2 * bundle + 24 * init + 9 GB * N / 2^16`
///
/// The keys are expanded once loaded (twice the bundle); the step's ciphertexts scale with the
/// weights' (24 times `init.hmat`, the step's products and the softmax pieces); the rest is
/// bootstrapping's precomputation. Measured peaks beside it (`/usr/bin/time`, the server's
/// `hetal train --follow`, docs/RESULTS.md): Face Mask 18.3 GB (estimate 19.8 GB), SNIPS
/// 20.3 GB (estimate 21.4 GB).
pub fn server_memory_estimate(preset: TrainPreset, bundle_bytes: u64, init_bytes: u64) -> u64 {
    let log_n = preset.builder().log_n;
    let working = WORKING_AT_N16 >> 16u32.saturating_sub(log_n).min(63);
    bundle_bytes.saturating_mul(2).saturating_add(init_bytes.saturating_mul(24)).saturating_add(working)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_cover_the_measured_peaks() {
        // (bundle, init.hmat, measured peak RSS) of the secure Face Mask and SNIPS runs.
        for (bundle, init, peak) in
            [(3_668_979_447, 143_136_288, 18_291_163_136), (4_151_325_383, 170_400_300, 20_314_943_488)]
        {
            let e = server_memory_estimate(TrainPreset::BootstrapN16, bundle, init);
            assert!(e >= peak && e <= peak + peak / 5, "estimate {e} for a peak of {peak}");
        }
        let small = server_memory_estimate(TrainPreset::InsecureTrainN12, 100_000_000, 1_000_000);
        assert_eq!(small, 200_000_000 + 24_000_000 + WORKING_AT_N16 / 16);
    }
}
