//! Rounding decrypted values before they leave the client.
//!
//! A CKKS decryption is the message plus the ciphertext's noise, and that noise depends on the
//! secret key. Li and Micciancio (EUROCRYPT 2021, "IND-CPA-D") showed that a party who sees
//! exact decryptions of ciphertexts it computed can recover the key. Whatever the client hands
//! onward (a trained model's weights) is therefore rounded to a public precision well above the
//! noise: [`RELEASE_BITS`] fractional bits, a grid of `2^-16 ~ 1.5e-5`, about 16 times the
//! noise a bootstrapped ciphertext at scale `2^40` carries (about `2^-20` on values near 1,
//! docs/BOOTSTRAPPING.md).
//!
//! Rounding is a mitigation, not a proof: a value within the noise of a grid boundary can still
//! round either way depending on the noise. Noise flooding (adding noise about `2^40` times the
//! ciphertext's noise before decrypting) would make the output statistically independent of the
//! key, but it needs that many spare bits of precision, which a scale of `2^40` does not have.
//! The validation logits, which never leave the client (only "continue" or "stop" does), are
//! used exactly.

/// Fractional bits kept in released values.
pub const RELEASE_BITS: u32 = 16;

/// Rounds every value to the nearest multiple of `2^-bits`.
pub fn round_for_release(values: &mut [f64], bits: u32) {
    let scale = 2f64.powi(bits as i32);
    for v in values {
        *v = (*v * scale).round() / scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn rounds_to_the_grid_within_half_a_step(v in -1e6f64..1e6, bits in 0u32..30) {
            let mut x = [v];
            round_for_release(&mut x, bits);
            let step = 2f64.powi(-(bits as i32));
            prop_assert!((x[0] - v).abs() <= step / 2.0 + 1e-9 * v.abs());
            prop_assert_eq!((x[0] / step).fract(), 0.0);
        }

        /// Values that differ only by noise below the grid release the same number (away from
        /// grid boundaries).
        #[test]
        fn noise_below_the_grid_is_removed(k in -100_000i64..100_000, noise in -1e-6f64..1e-6) {
            let v = k as f64 / 65536.0 + 0.2 / 65536.0;
            let (mut a, mut b) = ([v], [v + noise]);
            round_for_release(&mut a, RELEASE_BITS);
            round_for_release(&mut b, RELEASE_BITS);
            prop_assert_eq!(a, b);
        }
    }
}
