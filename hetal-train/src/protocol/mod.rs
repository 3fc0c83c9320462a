//! The two-party protocol of HETAL as a library: what the `hetal` command line, the in-process
//! demo and any other front end (a network service, another CLI) run.
//!
//! * [`task`]: the presets, the task shape and hyperparameters both parties agree on, and the
//!   keys that shape needs.
//! * [`keys`]: the client's secret-key file and the server's public bundle, checked on load.
//! * [`job`]: the job directory (the job store): where each message lives, the manifest, the
//!   client's private state, the answers, the lock.
//! * the one batch schedule is [`crate::schedule`], shared with the plaintext trainer.
//! * [`report`]: the server's report of a run.
//! * [`memory`]: what a server session needs in memory, estimated before it opens.
//! * [`client`]: the client's session: encrypting a job, answering epochs, decrypting the
//!   model, the plaintext run of the same schedule.
//! * [`server`]: the server's session, the epoch state machine over the job store.

pub mod client;
mod error;
pub mod job;
pub mod keys;
pub mod memory;
pub mod report;
pub mod server;
pub mod task;

pub use error::ProtocolError;
