//! The embedded default data set. TEMPORARY stand-in (reads digits 0-3 from
//! ../shared/datasets) until the embedded files land.

use hetal_train::data::{load_npy_dir, DataError, Dataset, Split};

/// Name of the embedded data set.
pub const NAME: &str = "digits-0123";

/// The data set, unscaled.
pub fn dataset() -> Result<Dataset, DataError> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/digits8x8_raw");
    let mut ds = load_npy_dir(&dir)?;
    let pick = |s: &Split, n: usize| {
        let idx: Vec<usize> = (0..s.len()).filter(|&i| s.y[i] < 4).take(n).collect();
        s.select(&idx)
    };
    ds.train = pick(&ds.train, 512);
    ds.val = pick(&ds.val, 128);
    ds.test = pick(&ds.test, 1000);
    ds.classes = 4;
    ds.name = NAME.into();
    Ok(ds)
}

/// Class names.
pub fn class_names() -> Vec<String> {
    (0..4).map(|d| format!("digit {d}")).collect()
}
