//! A product of ciphertexts at the smallest depth their levels allow, with the root form of a
//! polynomial as leaves: what lets the normalize-and-square softmax multiply `p^2 g(s)` in
//! `1 + ceil(log2(1 + deg g))` levels instead of `ceil(log2(1 + deg g)) + 2`.
//!
//! Depth: factors entering `d_i` levels below the top multiply in `ceil(log2 sum_i 2^(d_i))`
//! levels (Kraft's inequality), reached by always multiplying the two factors at the highest
//! levels, as Huffman's code merges the two lightest trees ([`kraft_depth`]).
//!
//! Precision: a ciphertext holds the ring message `scale * value`, and every rescaling adds an
//! error of a few units to it, so a factor whose ring message is small has a large relative
//! error. The leaves of a polynomial that falls by two orders of magnitude over its interval
//! (`g ~ 1/s^2`) are small near its roots, which sit near the small end of `g`; normalising each
//! leaf by its largest value there loses up to 12 bits at `s ~ 1`, where most rows are. So every
//! factor carries its *typical* magnitude (the geometric mean of `|value|` over the interval;
//! products multiply it) and its bound, and after every product (and the final relabelling by
//! the leading coefficient) the ciphertext is multiplied by the integer
//! `n = floor(Delta / (scale typical))` and its scale by `n` ([`Operand::new`]): the value is
//! unchanged, the typical ring message is about `Delta` (the default scale), the largest stays
//! below `2^16 Delta` ([`RING_HEADROOM`]), and it costs no level. The magnitudes of the leaves
//! are properties of the polynomial, computed once with it (`root_form::Leaf::of`).

use super::root_form::{Factor, Leaf};
use super::SoftmaxError;
use ckks_scheme::{Ciphertext, Evaluator};

/// A factor of a product: a ciphertext, the typical magnitude of its values and a bound on it.
pub(super) struct Operand {
    ct: Ciphertext,
    typical: f64,
    bound: f64,
}

/// The largest ring message allowed, in units of the default scale (`q_0` is 20 bits larger).
const RING_HEADROOM: f64 = (1u64 << 16) as f64;

impl Operand {
    /// `ct`, whose values are typically `typical` and at most `bound` in magnitude, its typical
    /// ring message brought to about the default scale (`mul_int` by `n` and the scale times
    /// `n`: same values, no level).
    pub(super) fn new(eval: &Evaluator, mut ct: Ciphertext, typical: f64, bound: f64) -> Result<Self, SoftmaxError> {
        let delta = eval.params().default_scale();
        let n = (delta / (ct.scale() * typical)).min(RING_HEADROOM * delta / (ct.scale() * bound)).floor();
        if n >= 2.0 {
            let scale = ct.scale() * n;
            ct = eval.mul_int(&ct, n.min((1u64 << 40) as f64) as i64)?;
            ct.set_scale(scale);
        }
        Ok(Self { ct, typical, bound })
    }
}

/// The levels a product of factors `d_i` levels below the top consumes:
/// `ceil(log2 sum_i 2^(d_i))`.
pub(super) fn kraft_depth(depths: impl IntoIterator<Item = usize>) -> usize {
    let weight: usize = depths.into_iter().map(|d| 1usize << d).sum();
    weight.max(1).next_power_of_two().trailing_zeros() as usize
}

/// The levels of `prod(extra) * lambda prod(leaves)(s)` with `extra` factors at the top and `s`
/// one level below it (a masked row sum): linear leaves enter at depth 1, quadratic ones at 2.
pub(super) fn root_product_depth(extra: usize, leaves: &[Leaf]) -> usize {
    kraft_depth(std::iter::repeat_n(0, extra).chain(leaves.iter().map(|l| l.factor.degree())))
}

/// The leaves at the ciphertext `s`: `s - r` and `(s - a)^2 + b^2`, as operands.
pub(super) fn operands(eval: &Evaluator, s: &Ciphertext, leaves: &[Leaf]) -> Result<Vec<Operand>, SoftmaxError> {
    let shift = |ct: &Ciphertext, v: f64| -> Result<Ciphertext, SoftmaxError> { Ok(eval.add_const(ct, v)?) };
    leaves
        .iter()
        .map(|leaf| {
            let ct = match leaf.factor {
                Factor::Linear { root } => shift(s, -root)?,
                Factor::Quadratic { re, im2 } => {
                    let v = shift(s, -re)?;
                    shift(&eval.mul_relin_rescale(&v, &v)?, im2)?
                }
            };
            Operand::new(eval, ct, leaf.typical, leaf.bound)
        })
        .collect()
}

/// `lambda * prod(operands)`: the two operands at the highest levels are multiplied first, so
/// the product consumes [`kraft_depth`] of their depths. Errors on an empty list or on the
/// evaluator's errors (a missing relinearization key, too few levels).
/// `out_bound` bounds the magnitude of the result.
pub(super) fn product(
    eval: &Evaluator,
    mut operands: Vec<Operand>,
    lambda: f64,
    out_bound: f64,
) -> Result<Ciphertext, SoftmaxError> {
    if operands.is_empty() {
        return Err(SoftmaxError::Config { reason: "product of no factors".into() });
    }
    while operands.len() > 1 {
        // Highest level last, so that the two popped are the shallowest.
        operands.sort_by_key(|o| o.ct.level());
        let a = operands.pop().expect("two operands");
        let b = operands.pop().expect("two operands");
        let (x, y) = eval.align_levels(&a.ct, &b.ct)?;
        let ct = eval.mul_relin_rescale(&x, &y)?;
        operands.push(Operand::new(eval, ct, a.typical * b.typical, a.bound * b.bound)?);
    }
    let ct = operands.pop().expect("one operand").ct;
    // lambda by relabelling (exact), then the scale brought back up.
    let mut out = if lambda < 0.0 { eval.neg(&ct)? } else { ct };
    let scale = out.scale() / lambda.abs();
    out.set_scale(scale);
    Ok(Operand::new(eval, out, out_bound, out_bound)?.ct)
}
