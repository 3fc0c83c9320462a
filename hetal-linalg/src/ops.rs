//! Counted homomorphic operations: every product of this crate goes through [`Ops`], which
//! forwards to the [`Evaluator`] and records the paper's operation categories.

use crate::counts::{Counter, OpCounts};
use crate::error::LinalgError;
use ckks_scheme::{Ciphertext, Complex, Encoder, Evaluator, Plaintext};
use rayon::prelude::*;
use std::borrow::Borrow;

/// An evaluator with an operation counter and an encoder for masks. Public keys only.
pub(crate) struct Ops<'a> {
    pub eval: &'a Evaluator,
    pub counter: Counter,
    encoder: Encoder,
}

type Res<T> = Result<T, LinalgError>;

impl<'a> Ops<'a> {
    pub fn new(eval: &'a Evaluator) -> Self {
        Self { eval, counter: Counter::default(), encoder: Encoder::new(eval.params()) }
    }

    /// The counts so far with `levels` consumed.
    pub fn counts(&self, levels: usize) -> OpCounts {
        self.counter.snapshot(levels)
    }

    fn is_identity(&self, r: i64) -> bool {
        r.rem_euclid(self.eval.params().slots() as i64) == 0
    }

    /// Left rotation by `r` (a copy, uncounted, when `r = 0 mod slots`).
    pub fn rot(&self, a: &Ciphertext, r: i64) -> Res<Ciphertext> {
        if self.is_identity(r) {
            return Ok(a.clone());
        }
        self.counter.add_rot(1);
        Ok(self.eval.rotate(a, r)?)
    }

    /// Rotations of one input by several steps with one shared decomposition.
    pub fn rot_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Res<Vec<Ciphertext>> {
        self.counter.add_rot(steps.iter().filter(|&&r| !self.is_identity(r)).count());
        Ok(self.eval.rotate_hoisted(a, steps)?)
    }

    /// `sum_r rot(a, r)` over the distinct `steps` (`0` is `a` itself), hoisted and lazy
    /// ([`Evaluator::galois_sum_hoisted`]: one decomposition and one ModDown pair for all of
    /// them). No level.
    pub fn rot_sum_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Res<Ciphertext> {
        self.counter.add_rot(steps.iter().filter(|&&r| !self.is_identity(r)).count());
        let elements: Vec<usize> =
            steps.iter().map(|&r| ckks_scheme::rotation_element(self.eval.params(), r)).collect();
        Ok(self.eval.galois_sum_hoisted(a, &elements)?)
    }

    /// `a += rot(a, r)` for every `r` of `steps` in turn (a rotate-and-sum ladder).
    pub fn rot_sum(&self, a: &mut Ciphertext, steps: impl IntoIterator<Item = i64>) -> Res<()> {
        for r in steps {
            let t = self.rot(a, r)?;
            self.eval.add_assign(a, &t)?;
        }
        Ok(())
    }

    /// `sum_k rho_{k step}(q_k)` by a binary tree: `q_k += rho_{half step}(q_{k + half})` for
    /// `half = len/2, len/4, ..., 1`, so `len - 1` rotations in `log2 len` rounds, each round's
    /// independent rotations in parallel. `q.len()` must be a power of two. No level.
    pub fn rot_tree(&self, mut q: Vec<Ciphertext>, step: i64) -> Res<Ciphertext> {
        if !q.len().is_power_of_two() {
            return Err(LinalgError::InvalidLayout {
                op: "rot_tree",
                reason: format!("{} terms, not a power of two", q.len()),
            });
        }
        let mut half = q.len() / 2;
        while half > 0 {
            let (low, high) = q.split_at_mut(half);
            low.par_iter_mut().zip(high.par_iter()).try_for_each(|(lo, hi)| {
                let t = self.rot(hi, step * half as i64)?;
                Ok::<(), LinalgError>(self.eval.add_assign(lo, &t)?)
            })?;
            q.truncate(half);
            half /= 2;
        }
        Ok(q.pop().expect("a power of two is at least 1"))
    }

    /// The tensor product `a * b` (not relinearized) at the lower of the two levels.
    pub fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Res<Ciphertext> {
        self.counter.add_mult(1);
        if a.level() == b.level() {
            return Ok(self.eval.mul(a, b)?);
        }
        let (a, b) = self.eval.align_levels(a, b)?;
        Ok(self.eval.mul(&a, &b)?)
    }

    /// Relinearizes and rescales a (sum of) tensor products: one level.
    pub fn relin_rescale(&self, t: &Ciphertext) -> Res<Ciphertext> {
        Ok(self.eval.rescale(&self.eval.relinearize(t)?)?)
    }

    /// A mask plaintext at `level`, encoded at scale `q_level` so that the rescale after the
    /// product restores the ciphertext's scale exactly.
    pub fn mask(&self, values: &[Complex], level: usize) -> Res<Plaintext> {
        if level == 0 {
            return Err(LinalgError::LevelTooLow { op: "mask", left: 0, right: 0, needed: 1 });
        }
        let q = self.eval.params().q_basis().modulus(level).value() as f64;
        Ok(self.encoder.encode(values, level, q)?)
    }

    /// A real mask (see [`Ops::mask`]).
    pub fn real_mask(&self, values: &[f64], level: usize) -> Res<Plaintext> {
        let z: Vec<Complex> = values.iter().map(|&x| Complex::new(x, 0.0)).collect();
        self.mask(&z, level)
    }

    /// `rescale(a * mask)`: one constant multiplication, one level.
    pub fn mul_mask(&self, a: &Ciphertext, mask: &Plaintext) -> Res<Ciphertext> {
        self.counter.add_cmult(1);
        Ok(self.eval.rescale(&self.eval.mul_plain(a, mask)?)?)
    }

    /// `rescale(sum_i a_i * masks_i)`: one constant product per term and one rescale (one
    /// level). The terms must share level and scale, and the masks come from [`Ops::mask`]
    /// at that level.
    pub fn mul_masks_sum<P: Borrow<Plaintext>>(&self, a: &[Ciphertext], masks: &[P]) -> Res<Ciphertext> {
        if a.is_empty() || a.len() != masks.len() {
            let reason = format!("{} terms for {} masks", a.len(), masks.len());
            return Err(LinalgError::InvalidLayout { op: "mul_masks_sum", reason });
        }
        self.counter.add_cmult(a.len());
        let mut acc = self.eval.mul_plain(&a[0], masks[0].borrow())?;
        for (x, m) in a[1..].iter().zip(&masks[1..]) {
            self.eval.add_mul_plain_assign(&mut acc, x, m.borrow())?;
        }
        Ok(self.eval.rescale(&acc)?)
    }

    /// `a + conj(a)`: twice the real part in every slot.
    pub fn twice_real(&self, a: &Ciphertext) -> Res<Ciphertext> {
        self.counter.add_conj(1);
        let c = self.eval.conjugate(a)?;
        Ok(self.eval.add(a, &c)?)
    }

    /// `a + b`, dropping the operand at the higher level first.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Res<Ciphertext> {
        if a.level() == b.level() {
            return Ok(self.eval.add(a, b)?);
        }
        let (a, b) = self.eval.align_levels(a, b)?;
        Ok(self.eval.add(&a, &b)?)
    }

    /// `a` dropped to `level` (no-op copy when already there).
    pub fn drop_to(&self, a: &Ciphertext, level: usize) -> Res<Ciphertext> {
        Ok(self.eval.drop_to_level(a, level)?)
    }

    /// Element-wise sum of two equally long vectors of ciphertexts; an empty vector is zero.
    pub fn add_vecs(&self, a: Vec<Ciphertext>, b: Vec<Ciphertext>) -> Res<Vec<Ciphertext>> {
        if a.is_empty() {
            return Ok(b);
        }
        if b.is_empty() {
            return Ok(a);
        }
        a.iter().zip(&b).map(|(x, y)| self.add(x, y)).collect()
    }

    /// Sum of a non-empty list.
    pub fn sum(&self, items: Vec<Ciphertext>) -> Res<Ciphertext> {
        let mut it = items.into_iter();
        let first = it.next().ok_or(LinalgError::InvalidLayout { op: "sum", reason: "empty sum".into() })?;
        it.try_fold(first, |acc, x| self.add(&acc, &x))
    }
}

/// Slot values of a mask over one `s0 x s1` block, `f(i, j)` at slot `i * s1 + j`.
pub(crate) fn block_values<T: Copy>(s0: usize, s1: usize, f: impl Fn(usize, usize) -> T) -> Vec<T> {
    (0..s0 * s1).map(|k| f(k / s1, k % s1)).collect()
}

/// The complex placement mask of a diagonal pair: `1/2` where `u == v + shift (mod c)`,
/// `-i/2` where `u == v + shift + 1 (mod c)`, 0 elsewhere. After `x + conj(x)` the real part
/// `re` of a slot value `re + i im` lands at the first set and `im` at the second.
pub(crate) fn pair_value(u: usize, v: usize, shift: usize, c: usize) -> Complex {
    let d = (u + c - v % c) % c;
    if d == shift % c {
        Complex::new(0.5, 0.0)
    } else if d == (shift + 1) % c {
        Complex::new(0.0, -0.5)
    } else {
        Complex::new(0.0, 0.0)
    }
}
