//! Data sets: loading (`.npy` folders of `shared/datasets`, labelled CSV), with typed errors
//! naming the file and the problem, and preparation (feature scaling, bias column, one-hot
//! labels over the padded class count `c`).
//!
//! Input is not trusted: every length or count read from a file is checked against the file's
//! size or a documented limit (the `MAX_*` constants) before anything is allocated, and bad
//! input gets a [`DataError`], never a panic.

mod csv;
mod error;
mod folder;
mod limits;
pub(crate) mod npy;
mod prep;
mod split;

pub use csv::{check_feature_count, load_csv, load_csv_with_features, LabelColumn};
pub use error::DataError;
pub use folder::{load_npy_bytes, load_npy_dir};
pub use limits::{MAX_CLASSES, MAX_CSV_BYTES, MAX_CSV_COLUMNS, MAX_NPY_BYTES, MAX_NPY_HEADER_BYTES};
pub use npy::{check_labels, features_from_bytes, labels_from_bytes, read_features, read_labels};
pub use prep::{max_row_norm, one_hot, scale_features, with_bias, FeatureScale};
pub use split::{padded_classes, Dataset, Split};
