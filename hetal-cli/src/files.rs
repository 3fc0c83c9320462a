//! The files of the `hetal` command line: the file store of `hetal-train` (one container
//! format, bounded JSON, atomic writes, key and job fingerprints, the job lock), re-exported
//! under the names the subcommands use.

pub use hetal_train::store::{refuse_overwrite, write_atomic, write_json, Fingerprint};
