//! The polynomials of the softmax approximation, all on `[-1, 1]` in the Chebyshev basis so
//! that the plaintext mirror and the encrypted pipeline evaluate the very same objects.

use super::{SoftmaxConfig, SoftmaxError, COMP_F, COMP_G};
use ckks_scheme::Chebyshev;

/// Converts `sum_k a_k x^k` to the Chebyshev basis on `[-1, 1]` (Horner's scheme with
/// `x T_0 = T_1`, `x T_j = (T_(j+1) + T_(j-1)) / 2`). Exact up to rounding.
pub fn monomial_to_chebyshev(monomial: &[f64]) -> Result<Chebyshev, SoftmaxError> {
    let mut p: Vec<f64> = vec![0.0; monomial.len().max(1)];
    for &a in monomial.iter().rev() {
        // p <- x p + a
        let mut q = vec![0.0; p.len()];
        for (j, &c) in p.iter().enumerate() {
            if c == 0.0 {
                continue;
            }
            if j == 0 {
                if q.len() > 1 {
                    q[1] += c;
                }
            } else {
                q[j - 1] += c / 2.0;
                if j + 1 < q.len() {
                    q[j + 1] += c / 2.0;
                }
            }
        }
        q[0] += a;
        p = q;
    }
    Chebyshev::new(p, -1.0, 1.0).map_err(SoftmaxError::from)
}

/// The polynomials of one [`SoftmaxConfig`].
#[derive(Clone, Debug)]
pub struct Polynomials {
    /// The comparison chain `g, .., g, f, .., f` with the last one replaced by `(h + 1) / 2`,
    /// so that the chain maps `d = a - b` to `comp(a, b)` directly. Without `f` and `g`: the
    /// single affine `(d + 1) / 2`.
    pub comparison: Vec<Chebyshev>,
    /// One domain-extension step in normalised form: `w -> L w - (4/27) L^3 w^3`.
    pub extension_step: Chebyshev,
    /// The precise correction in `v = y / r`: `v -> v + k v^3 - k v^5`.
    pub precise: Chebyshev,
    /// `v -> K^(-1/2^s) p(v r / 2^s)` (`p(y / 2^s)` scaled), to be squared `s` times: the
    /// result is `exp(y) / K`.
    pub exp: Chebyshev,
}

impl Polynomials {
    /// Builds the polynomials of `cfg`; errors on non-finite constants.
    pub fn new(cfg: &SoftmaxConfig) -> Result<Self, SoftmaxError> {
        let finite = [cfg.r, cfg.extension_ratio, cfg.inverse_r].iter().all(|v| v.is_finite() && *v > 0.0);
        if !finite || cfg.exp_coeffs.is_empty() || cfg.exp_coeffs.iter().any(|c| !c.is_finite()) {
            return Err(SoftmaxError::Config { reason: format!("constants must be finite and positive: {cfg:?}") });
        }
        let mut chain: Vec<Vec<f64>> = std::iter::repeat_n(COMP_G.to_vec(), cfg.comp_g_iters)
            .chain(std::iter::repeat_n(COMP_F.to_vec(), cfg.comp_f_iters))
            .collect();
        if chain.is_empty() {
            chain.push(vec![0.0, 1.0]);
        }
        let last = chain.last_mut().expect("non-empty");
        last.iter_mut().for_each(|c| *c /= 2.0);
        last[0] += 0.5;
        let l = cfg.extension_ratio;
        let k = cfg.precise_k();
        let t = cfg.r / f64::powi(2.0, cfg.exp_squarings as i32);
        let shrink = cfg.exp_headroom().powf(-f64::powi(2.0, -(cfg.exp_squarings as i32)));
        let exp: Vec<f64> = cfg.exp_coeffs.iter().enumerate().map(|(j, &p)| shrink * p * t.powi(j as i32)).collect();
        Ok(Self {
            comparison: chain.iter().map(|m| monomial_to_chebyshev(m)).collect::<Result<_, _>>()?,
            extension_step: monomial_to_chebyshev(&[0.0, l, 0.0, -4.0 / 27.0 * l * l * l])?,
            precise: monomial_to_chebyshev(&[0.0, 1.0, 0.0, k, 0.0, -k])?,
            exp: monomial_to_chebyshev(&exp)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn horner(m: &[f64], x: f64) -> f64 {
        m.iter().rev().fold(0.0, |acc, &a| acc * x + a)
    }

    proptest! {
        #[test]
        fn conversion_preserves_the_polynomial(m in proptest::collection::vec(-30.0..30.0f64, 1..10), x in -1.0..1.0f64) {
            let p = monomial_to_chebyshev(&m).unwrap();
            prop_assert!((p.eval_plain(x) - horner(&m, x)).abs() < 1e-12 * (1.0 + m.iter().map(|v| v.abs()).sum::<f64>()));
        }
    }

    #[test]
    fn depths_are_log_of_degree() {
        let p = Polynomials::new(&SoftmaxConfig::default()).unwrap();
        assert!(p.comparison.iter().all(|c| c.depth() == 3));
        assert_eq!((p.extension_step.depth(), p.precise.depth(), p.exp.depth()), (2, 3, 4));
        // The extension step maps [-1, 0] into [-1, 0].
        let worst = (0..=1000).map(|i| p.extension_step.eval_plain(-(i as f64) / 1000.0)).fold(0.0, f64::min);
        assert!((-1.0 - 1e-12..=0.0).contains(&worst), "{worst}");
    }
}
