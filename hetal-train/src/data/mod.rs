//! Data sets: loading (`.npy` folders of `shared/datasets`, labelled CSV), with typed errors
//! naming the file and the problem, and preparation (feature scaling, bias column, one-hot
//! labels over the padded class count `c`).

mod csv;
mod error;
mod folder;
pub(crate) mod npy;
mod prep;
mod split;

pub use csv::{load_csv, LabelColumn};
pub use error::DataError;
pub use folder::{load_npy_bytes, load_npy_dir};
pub use npy::{check_labels, features_from_bytes, labels_from_bytes, read_features, read_labels};
pub use prep::{max_row_norm, one_hot, scale_features, with_bias, FeatureScale};
pub use split::{padded_classes, Dataset, Split};
