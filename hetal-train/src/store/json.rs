//! JSON files (manifests, reports, answers): bounded reads and atomic writes.

use super::atomic::write_atomic;
use super::FileError;
use serde::Serialize;
use std::path::Path;

/// The largest JSON file read: manifests and reports are kilobytes, a client state with a
/// million validation labels a few megabytes.
pub const MAX_JSON_BYTES: u64 = 256 << 20;

/// Writes `value` as pretty JSON, atomically; with `private` the file has mode 0600.
pub fn write_json<T: Serialize>(path: &Path, value: &T, private: bool) -> Result<(), FileError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| FileError::format(path, e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes, private)
}

/// Reads a JSON file of at most [`MAX_JSON_BYTES`] (checked before reading).
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, FileError> {
    let size = std::fs::metadata(path).map_err(|e| FileError::io(path, e))?.len();
    if size > MAX_JSON_BYTES {
        return Err(FileError::TooLarge { path: path.into(), size, limit: MAX_JSON_BYTES, kind: what });
    }
    let bytes = std::fs::read(path).map_err(|e| FileError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| FileError::Json { path: path.into(), what, source })
}

#[cfg(test)]
mod float_tests {
    use super::*;

    proptest::proptest! {
        /// Every f64 a file holds reads back bit for bit: the client's early stopping replays
        /// its history from JSON and compares the values exactly (111/121 once came back one
        /// ulp low, and an equal accuracy counted as an improvement).
        #[test]
        fn floats_round_trip_exactly(v in proptest::num::f64::NORMAL, k in 1u32..1000, n in 1u32..1000) {
            let dir = std::env::temp_dir().join(format!("hetal-json-float-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("v.json");
            let values = vec![v, f64::from(k) / f64::from(n), 111.0 / 121.0];
            write_json(&path, &values, false).unwrap();
            let back: Vec<f64> = read_json(&path, "test values").unwrap();
            proptest::prop_assert_eq!(back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), values.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
    }
}
