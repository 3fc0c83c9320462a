//! The one batch schedule of HETAL training: the encrypted protocol, the plaintext trainer and
//! every comparison between them visit the training rows in exactly this order.
//!
//! The client cuts a seeded permutation of the training rows into fixed batches once
//! ([`Schedule::batches`]): it encrypts each batch once, and which rows go together stays its
//! secret (`batch_seed`). Each epoch visits the fixed batches in an order drawn from the public
//! `shuffle_seed` and the epoch number ([`Schedule::order`]), so the server knows the order
//! without learning anything about the rows. [`crate::plain::train`] follows the same schedule,
//! so the plaintext run of a job's seeds is the oracle of its encrypted run, step for step.

use crate::plain::LinearModel;
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

/// A 32-byte seed derived from a run's seed and a purpose tag (keys 1, batches 2, initial
/// weights 3, batch order 4, encryption 5, job fingerprint 6).
pub fn derived_seed(seed: u64, tag: u64) -> [u8; 32] {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ tag.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut s = [0u8; 32];
    rng.fill_bytes(&mut s);
    s
}

/// The first 8 bytes of [`derived_seed`] as a `u64`.
pub fn derived_word(seed: u64, tag: u64) -> u64 {
    u64::from_le_bytes(derived_seed(seed, tag)[..8].try_into().expect("8 bytes"))
}

/// Fixed batches and a per-epoch order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Seed of the fixed batches (which rows go together; the client's secret).
    pub batch_seed: u64,
    /// Seed of each epoch's batch order (public).
    pub shuffle_seed: u64,
}

impl Schedule {
    /// The schedule a run seed derives (tags 2 and 4 of [`derived_seed`]), as `hetal encrypt
    /// --seed` draws it.
    pub fn from_seed(seed: u64) -> Self {
        Self { batch_seed: derived_word(seed, 2), shuffle_seed: derived_word(seed, 4) }
    }

    /// The rows of each fixed batch: a permutation of `0..rows` from `batch_seed`, cut into
    /// chunks of `batch` (the last may be shorter).
    pub fn batches(&self, rows: usize, batch: usize) -> Vec<Vec<usize>> {
        let mut rng = ChaCha20Rng::seed_from_u64(self.batch_seed);
        let mut order: Vec<usize> = (0..rows).collect();
        order.shuffle(&mut rng);
        order.chunks(batch.max(1)).map(<[usize]>::to_vec).collect()
    }

    /// The rows of epoch `epoch`'s batches, in the order the epoch visits them.
    pub fn epoch(&self, rows: usize, batch: usize, epoch: usize) -> Vec<Vec<usize>> {
        let fixed = self.batches(rows, batch);
        self.order(fixed.len(), epoch).into_iter().map(|b| fixed[b].clone()).collect()
    }

    /// The order in which epoch `epoch` (from 1) visits `batches` fixed batches.
    pub fn order(&self, batches: usize, epoch: usize) -> Vec<usize> {
        epoch_order(self.shuffle_seed, batches, epoch)
    }
}

/// [`Schedule::order`] from the public `shuffle_seed` alone: what the server computes.
pub fn epoch_order(shuffle_seed: u64, batches: usize, epoch: usize) -> Vec<usize> {
    let mut rng = ChaCha20Rng::seed_from_u64(shuffle_seed);
    rng.set_stream(epoch as u64);
    let mut order: Vec<usize> = (0..batches).collect();
    order.shuffle(&mut rng);
    order
}

/// The Kaiming-He initial weights of a run, drawn from `seed` as the plaintext trainer draws
/// them.
pub fn initial_model(classes: usize, inputs: usize, seed: u64) -> LinearModel {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    LinearModel::kaiming_he(classes, crate::data::padded_classes(classes), inputs, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn batches_cover_every_row_once_and_orders_are_permutations(rows in 1usize..300, batch in 1usize..64, seed in any::<u64>()) {
            let s = Schedule::from_seed(seed);
            let p = s.batches(rows, batch);
            prop_assert_eq!(p.len(), rows.div_ceil(batch));
            let mut all: Vec<usize> = p.concat();
            all.sort_unstable();
            prop_assert_eq!(all, (0..rows).collect::<Vec<_>>());
            prop_assert_eq!(&s.batches(rows, batch), &p);
            let mut o = s.order(p.len(), 3);
            prop_assert_eq!(s.order(p.len(), 3), o.clone());
            o.sort_unstable();
            prop_assert_eq!(o, (0..p.len()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn epochs_draw_different_orders() {
        let s = Schedule::from_seed(1);
        assert_ne!(s.order(9, 1), s.order(9, 2));
    }
}
