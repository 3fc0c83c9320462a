//! The messages of the training protocol (spec section 1), one type per message, so that a
//! transport (files of the CLI, a socket) can carry them. Client to server: [`InitialModel`],
//! [`EncryptedValidation`], [`EncryptedBatch`], [`ClientAnswer`]. Server to client:
//! [`ValidationOutputs`], [`EncryptedModel`]. None of them contains a secret key.

use crate::plain::Decision;
use hetal_linalg::EncryptedMatrix;

/// Client to server, once: the initial weights `W_0` (`c x b`, Kaiming-He from the client's
/// seeded stream, padded rows 0), encrypted in the vertically tiled weight layout.
#[derive(Clone, Debug)]
pub struct InitialModel {
    /// `W_0`, tiled vertically with period `c`.
    pub w: EncryptedMatrix,
}

/// Client to server, once: the validation features `[X_val | 1]` (`n_val x b`, untiled, the
/// training unit shape, several block rows).
#[derive(Clone, Debug)]
pub struct EncryptedValidation {
    /// The features with the bias column.
    pub x: EncryptedMatrix,
}

/// Client to server, once per step: one mini-batch in the order of the client's seeded
/// shuffle.
#[derive(Clone, Debug)]
pub struct EncryptedBatch {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Index of the batch in its epoch, from 0.
    pub index: usize,
    /// `[X_B | 1]`, `n x b`, untiled.
    pub x: EncryptedMatrix,
    /// One-hot labels `Y_B`, `n x c`, tiled horizontally with period `c` (the layout of `P`).
    pub y: EncryptedMatrix,
}

impl EncryptedBatch {
    /// Rows of the batch `n` (the gradient is divided by it).
    pub fn rows(&self) -> usize {
        self.x.rows()
    }
}

/// Server to client, after each epoch: the validation logits `X_val W^T` (DiagABT on the
/// encrypted validation features), `n_val x c`, tiled horizontally.
#[derive(Clone, Debug)]
pub struct ValidationOutputs {
    /// The epoch just finished.
    pub epoch: usize,
    /// The encrypted logits.
    pub logits: EncryptedMatrix,
}

/// Client to server, after each epoch: continue or stop, and whether this epoch's model is
/// the best so far (the server keeps that one; it thereby learns which epoch was best, one bit
/// per epoch beyond the epoch count of spec section 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAnswer {
    /// The epoch answered.
    pub epoch: usize,
    /// Continue or stop.
    pub decision: Decision,
    /// Whether the epoch has the lowest validation loss so far.
    pub best_so_far: bool,
}

/// Server to client, at the end: the encrypted weights of the best epoch.
#[derive(Clone, Debug)]
pub struct EncryptedModel {
    /// The epoch whose weights these are (0: the initial weights).
    pub epoch: usize,
    /// `W`, tiled vertically.
    pub w: EncryptedMatrix,
}
