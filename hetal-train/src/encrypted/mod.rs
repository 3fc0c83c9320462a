//! Encrypted training (spec sections 1 and 6): a [`TrainingServer`] that holds public material
//! only and a [`TrainingClient`] that holds the secret key, talking through explicit message
//! types ([`messages`]).
//!
//! * [`TrainingSetup`]: what both sides agree on (shapes, unit shape, hyperparameters, the
//!   softmax configuration, the data level).
//! * [`TrainingServer::step`]: `DiagABT(X, W)`, the encrypted softmax, `P - Y`,
//!   `DiagATB(P - Y, X) / n` and the Nesterov or GD update, refreshing where [`plan`] says;
//!   returns a [`StepReport`] (time per part, refreshes, levels).
//! * [`TrainingClient`]: encrypts the initial weights, the validation set and each mini-batch
//!   in the seeded order of [`crate::plain::train`], decrypts the validation logits, drives
//!   [`crate::plain::EarlyStopping`] and decrypts the best model.
//! * [`checkpoint`]: the server state written atomically and read back.
//! * [`run_in_process`]: both sides in one loop.
//! * [`release`]: rounding of decrypted values that leave the client (IND-CPA-D).

pub mod checkpoint;
mod client;
mod driver;
mod error;
pub mod messages;
pub mod plan;
pub mod release;
mod report;
pub mod scale;
mod server;
mod setup;
mod timed_refresh;

pub use client::{ClientConfig, TrainingClient};
pub use driver::{run_in_process, EncryptedRun, EpochRecord};
pub use error::EncryptedTrainError;
pub use messages::{
    ClientAnswer, EncryptedBatch, EncryptedModel, EncryptedValidation, InitialModel, ValidationOutputs,
};
pub use report::{RefreshCounts, StepLevels, StepReport, StepTimings};
pub use server::{ServerState, TrainingServer};
pub use setup::TrainingSetup;
