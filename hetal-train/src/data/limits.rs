//! The documented limits of the loaders. Every length or count read from a file is checked
//! against the file's size or one of these before anything of that size is allocated, so that
//! a small hostile file cannot make a loader allocate (or abort on) gigabytes.

use super::DataError;
use std::io::Read;
use std::path::Path;

/// The largest `.npy` file (or embedded `.npy` array) the loaders read: 8 GiB. The arrays are
/// decoded into `f64` / `i64`, at most twice the file's size.
pub const MAX_NPY_BYTES: u64 = 8 << 30;

/// The longest `.npy` header the loaders read: 64 KiB. NumPy writes about 128 bytes for the
/// plain arrays of a data set (and itself refuses headers over 10 000 bytes by default).
pub const MAX_NPY_HEADER_BYTES: u64 = 64 << 10;

/// The largest CSV file the loaders read: 2 GiB. The text is held whole while it is parsed, and
/// its features take at most 4 times its size as `f64` (a value and a comma are at least 2
/// bytes).
pub const MAX_CSV_BYTES: u64 = 2 << 30;

/// The most columns a CSV header may have: 2^20 (features and the label).
pub const MAX_CSV_COLUMNS: usize = 1 << 20;

/// The largest class count a data set may have (from `manifest.json` or one more than the
/// largest training label): 2^16, far more than the classes one ciphertext's slots can hold.
pub const MAX_CLASSES: usize = 1 << 16;

/// The largest `manifest.json` read for its class count: 1 MiB.
pub(crate) const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// `Ok` if `size <= limit`, otherwise [`DataError::TooLarge`] naming `path` and `what`.
pub(crate) fn within(path: &Path, what: &'static str, size: u64, limit: u64) -> Result<(), DataError> {
    if size > limit {
        return Err(DataError::TooLarge { path: path.into(), what, size, limit });
    }
    Ok(())
}

/// The text of `path`, which must be UTF-8 and at most `limit` bytes: checked against the size
/// the file system reports before reading, and while reading (a file whose size it does not
/// report, or one that grows, is cut off just past the limit and refused).
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, DataError> {
    let io = |source| DataError::Io { path: path.into(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    within(path, "file size in bytes", size, limit)?;
    let mut text = String::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_string(&mut text).map_err(io)?;
    within(path, "file size in bytes", text.len() as u64, limit)?;
    Ok(text)
}
