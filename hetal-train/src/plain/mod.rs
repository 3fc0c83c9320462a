//! The plaintext reference trainer (spec section 6) and the client-side early stopping.
//!
//! * [`train`]: Kaiming-He initialisation, shuffled mini-batches (ChaCha20, seeded), Nesterov
//!   ([`Optimizer::Nesterov`], Kim et al. 2018 form) or plain GD, exact or approximate softmax
//!   ([`SoftmaxKind`]), validation loss and accuracy per epoch.
//! * [`EarlyStopping`]: what the client runs on the decrypted validation outputs.
//! * [`paper_hyperparameters`]: the learning-rate and batch table.

mod early_stopping;
mod hyper;
pub(crate) mod model;
mod optimizer;
mod trainer;

pub use early_stopping::{Decision, EarlyStopping, Monitor};
pub use hyper::{paper_hyperparameters, Hyperparameters};
pub use model::{metrics, LinearModel, Metrics};
pub use optimizer::{NesterovSchedule, Optimizer, OptimizerState};
pub use trainer::{train, EpochReport, SoftmaxKind, TrainConfig, TrainError, TrainReport, Trainer};
