//! The dense row-major `f64` matrix: the plaintext container of features, labels, logits and
//! weights. It is [`hetal_linalg::Matrix`] (one matrix type in the workspace), re-exported here
//! so that `hetal_train::matrix::Matrix` names it too.

pub use hetal_linalg::Matrix;
