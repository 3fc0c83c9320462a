//! Helpers shared by the tests, examples and benchmarks of this crate and the crates above it
//! (not part of the supported API).

use crate::matrix::Matrix;

/// A deterministic `rows x cols` matrix with entries in `[-1, 1)` (xorshift64 seeded from
/// `seed`): the same matrix for the same arguments on every platform.
pub fn random_matrix(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Matrix::from_fn(rows, cols, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_matrices_are_deterministic_and_in_range() {
        let m = random_matrix(3, 5, 1);
        assert_eq!(m, random_matrix(3, 5, 1));
        assert_ne!(m, random_matrix(3, 5, 2));
        assert!(m.data.iter().all(|v| (-1.0..1.0).contains(v)));
    }
}
