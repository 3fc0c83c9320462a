//! The files of the `hetal` command line: the file store of `hetal-train` (one container
//! format, bounded JSON, atomic writes, key and job fingerprints, the job lock), re-exported
//! under the names the subcommands use.

pub use hetal_train::store::{
    block_bytes, read_json, read_matrices, refuse_overwrite, write_atomic, write_json, write_matrices, Binding,
    Container, FileError, FileKind, Fingerprint, JobLock, ReadContainer,
};
