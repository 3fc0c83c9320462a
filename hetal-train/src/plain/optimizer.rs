//! The update rules of spec section 6: plain gradient descent and Nesterov's accelerated
//! gradient in the form of Kim et al. 2018.

use crate::matrix::Matrix;

/// Which update rule the trainer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Optimizer {
    /// `w_{t+1} = w_t - lr grad(w_t)`.
    GradientDescent,
    /// Nesterov (Kim et al. 2018): `v_{t+1} = w_t - lr grad(w_t)`,
    /// `w_{t+1} = (1 - eta_t) v_{t+1} + eta_t v_t`, `eta_t = (1 - lambda_t) / lambda_{t+1}`,
    /// `lambda_{t+1} = (1 + sqrt(1 + 4 lambda_t^2)) / 2`.
    Nesterov,
}

/// The Nesterov schedule `lambda_t` and `eta_t` (Kim et al. 2018 form), one sequence over all
/// epochs. Shared by the plaintext and the encrypted trainer so that both use the same `eta_t`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NesterovSchedule {
    /// `lambda_t`; starts at 1 so that `eta_0 = 0` and the first step is a gradient step
    /// (with `lambda_0 = 0`, `eta_0 = 1` would discard the first update).
    lambda: f64,
}

impl Default for NesterovSchedule {
    /// `lambda_0 = 1`.
    fn default() -> Self {
        Self { lambda: 1.0 }
    }
}

impl NesterovSchedule {
    /// The schedule resumed at `lambda_t = lambda` (from a checkpoint).
    pub fn resume(lambda: f64) -> Self {
        Self { lambda }
    }

    /// The current `lambda_t`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// `eta_t = (1 - lambda_t) / lambda_{t+1}` of the current step, and advances to
    /// `lambda_{t+1} = (1 + sqrt(1 + 4 lambda_t^2)) / 2`.
    pub fn next_eta(&mut self) -> f64 {
        let next = (1.0 + (1.0 + 4.0 * self.lambda * self.lambda).sqrt()) / 2.0;
        let eta = (1.0 - self.lambda) / next;
        self.lambda = next;
        eta
    }
}

/// State of the optimiser across steps (one sequence over all epochs).
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    kind: Optimizer,
    schedule: NesterovSchedule,
    /// `v_t` (Nesterov only; `None` before the first step, when `v_0 = w_0`).
    v: Option<Matrix>,
}

impl OptimizerState {
    /// A fresh state for `kind`.
    pub fn new(kind: Optimizer) -> Self {
        Self { kind, schedule: NesterovSchedule::default(), v: None }
    }

    /// `eta_t` of the current step, and advances `lambda`.
    fn next_eta(&mut self) -> f64 {
        self.schedule.next_eta()
    }

    /// One update of `w` with gradient `grad` (same shape) and learning rate `lr`.
    pub fn step(&mut self, w: &mut Matrix, grad: &Matrix, lr: f64) {
        match self.kind {
            Optimizer::GradientDescent => {
                w.data.iter_mut().zip(&grad.data).for_each(|(w, g)| *w -= lr * g);
            }
            Optimizer::Nesterov => {
                let v_prev = self.v.take().unwrap_or_else(|| w.clone());
                let mut v_next = w.clone();
                v_next.data.iter_mut().zip(&grad.data).for_each(|(v, g)| *v -= lr * g);
                let eta = self.next_eta();
                for ((w, &vn), &vp) in w.data.iter_mut().zip(&v_next.data).zip(&v_prev.data) {
                    *w = (1.0 - eta) * vn + eta * vp;
                }
                self.v = Some(v_next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimises `f(w) = w^2 / 2` (gradient `w`).
    fn run(kind: Optimizer, steps: usize, lr: f64) -> f64 {
        let mut w = Matrix::from_vec(1, 1, vec![1.0]).unwrap();
        let mut st = OptimizerState::new(kind);
        for _ in 0..steps {
            let g = w.clone();
            st.step(&mut w, &g, lr);
        }
        w.data[0]
    }

    #[test]
    fn first_nesterov_step_is_a_gradient_step_and_momentum_helps() {
        assert_eq!(run(Optimizer::Nesterov, 1, 0.1), run(Optimizer::GradientDescent, 1, 0.1));
        // eta_1 = (1 - 1.618) / 2.194: momentum on the second step.
        let mut st = OptimizerState::new(Optimizer::Nesterov);
        st.next_eta();
        assert!((st.next_eta() - (1.0 - 1.618034) / 2.193527).abs() < 1e-5);
        assert!(run(Optimizer::Nesterov, 30, 0.01).abs() < run(Optimizer::GradientDescent, 30, 0.01).abs());
    }
}
