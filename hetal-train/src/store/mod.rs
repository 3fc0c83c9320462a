//! The file store: one container format for every binary file (keys, bundles, encrypted
//! matrices, checkpoints), bounded JSON for everything a person may read, one atomic writer,
//! fingerprints that bind each file to its key and job, and the job directory's lock.
//!
//! The rules it enforces (docs/SECURITY.md):
//! * a failed write never replaces a good file ([`atomic`]);
//! * a damaged file never loads (checksums and bounds, [`container`]);
//! * a file made under another key or for another job is refused ([`fingerprint`]);
//! * one process at a time works on a job ([`lock`]).

pub mod atomic;
pub mod container;
mod error;
pub mod fingerprint;
pub mod json;
pub mod lock;
pub mod matrices;

pub use atomic::{refuse_overwrite, write_atomic, write_atomic_with};
pub use container::{meta_field, verify, Container, FileKind, ReadContainer, StreamedPart, Verified};
pub use error::FileError;
pub use fingerprint::{Binding, Fingerprint};
pub use json::{read_json, write_json};
pub use lock::JobLock;
pub use matrices::{block_bytes, read_matrices, write_matrices, Block, LayoutMeta, MatrixFile};
