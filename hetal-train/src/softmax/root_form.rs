//! Polynomials fitted in relative error and written as a product of their roots, the form the
//! normalize-and-square circuit multiplies as a tree (`product_tree.rs`).
//!
//! * [`fit_relative`]: the near-minimax polynomial of degree `d` for a positive `f` on `[a, b]`
//!   in *relative* error, `max |p/f - 1|`, by Lawson's iteratively reweighted least squares on
//!   a geometric grid (the functions here, `1/s` and `1/s^2`, vary by orders of magnitude,
//!   where an absolute fit would leave the small end without relative precision).
//! * [`RootForm`]: `p(s) = lambda prod_i (s - r_i) prod_j ((s - a_j)^2 + b_j^2)`, real roots as
//!   linear factors and complex pairs as quadratic ones, found by the Aberth-Ehrlich iteration
//!   and checked against the Chebyshev form before use.

use super::SoftmaxError;
use ckks_scheme::{Chebyshev, Complex};

/// Samples of the fitting grid.
const GRID: usize = 400;
/// Lawson iterations.
const LAWSON_ITERS: usize = 80;

/// The polynomial of degree `degree` that approximately minimises `max |p(s)/f(s) - 1|` over
/// `[a, b]` (`0 < a < b`, `f > 0` there), and that maximum relative error (measured on
/// [`dense`]'s 4000 points, ten times the fit's). Lawson's algorithm converges to the minimax
/// weights; 80 iterations land within 5% of the linear-programming optimum for the degrees used
/// here (3 to 15; tested). Errors on an interval or function that does not meet the conditions.
pub fn fit_relative(f: impl Fn(f64) -> f64, degree: usize, a: f64, b: f64) -> Result<(Chebyshev, f64), SoftmaxError> {
    if !(a > 0.0 && b > a && b.is_finite()) || degree > 63 {
        return Err(SoftmaxError::Config {
            reason: format!("relative fit of degree {degree} on [{a}, {b}]: need 0 < a < b and degree <= 63"),
        });
    }
    let grid = geometric(a, b, GRID);
    let values: Vec<f64> = grid.iter().map(|&s| f(s)).collect();
    if values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(SoftmaxError::Config {
            reason: format!("relative fit: the function is not positive on [{a}, {b}]"),
        });
    }
    let n = degree + 1;
    // Rows: T_k(y(s)) / f(s), so that the residual is p/f - 1.
    let rows: Vec<Vec<f64>> = grid
        .iter()
        .zip(&values)
        .map(|(&s, &v)| chebyshev_row(affine(s, a, b), n).into_iter().map(|t| t / v).collect())
        .collect();
    let mut weights = vec![1.0 / GRID as f64; GRID];
    let mut coeffs = vec![0.0; n];
    for _ in 0..LAWSON_ITERS {
        coeffs = weighted_least_squares(&rows, &weights)?;
        let residuals: Vec<f64> = rows.iter().map(|r| (dot(r, &coeffs) - 1.0).abs()).collect();
        let total: f64 = weights.iter().zip(&residuals).map(|(w, r)| w * r).sum();
        if !(total > 0.0 && total.is_finite()) {
            break;
        }
        for (w, r) in weights.iter_mut().zip(&residuals) {
            *w *= r / total;
        }
    }
    let p = Chebyshev::new(coeffs, a, b)?;
    let err = dense(a, b).map(|s| (p.eval_plain(s) / f(s) - 1.0).abs()).fold(0.0, f64::max);
    Ok((p, err))
}

/// Where a fit is measured: 4000 points, geometric (dense at `a`) and uniform (dense at `b`).
pub fn dense(a: f64, b: f64) -> impl Iterator<Item = f64> {
    geometric(a, b, 2000).into_iter().chain((0..2000).map(move |i| a + (b - a) * i as f64 / 1999.0))
}

fn geometric(a: f64, b: f64, n: usize) -> Vec<f64> {
    let ratio = (b / a).ln();
    (0..n).map(|i| a * (ratio * i as f64 / (n - 1) as f64).exp()).collect()
}

fn affine(s: f64, a: f64, b: f64) -> f64 {
    (2.0 * s - a - b) / (b - a)
}

/// `T_0(y) .. T_(n-1)(y)`.
fn chebyshev_row(y: f64, n: usize) -> Vec<f64> {
    let mut t = vec![1.0; n];
    if n > 1 {
        t[1] = y;
    }
    for k in 2..n {
        t[k] = 2.0 * y * t[k - 1] - t[k - 2];
    }
    t
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `argmin_c sum_i w_i (rows_i . c - 1)^2` by the normal equations and Gaussian elimination
/// with partial pivoting (at most 64 unknowns, Chebyshev columns: well conditioned enough).
fn weighted_least_squares(rows: &[Vec<f64>], w: &[f64]) -> Result<Vec<f64>, SoftmaxError> {
    let n = rows[0].len();
    let mut m = vec![vec![0.0; n + 1]; n];
    for (r, &wi) in rows.iter().zip(w) {
        for i in 0..n {
            let wr = wi * r[i];
            for j in 0..n {
                m[i][j] += wr * r[j];
            }
            m[i][n] += wr;
        }
    }
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs())).expect("non-empty");
        m.swap(col, pivot);
        let d = m[col][col];
        if d.abs() < 1e-300 || !d.is_finite() {
            return Err(SoftmaxError::Config { reason: "relative fit: singular normal equations".into() });
        }
        for row in col + 1..n {
            let f = m[row][col] / d;
            for k in col..=n {
                m[row][k] -= f * m[col][k];
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (m[i][n] - (i + 1..n).map(|j| m[i][j] * x[j]).sum::<f64>()) / m[i][i];
    }
    Ok(x)
}

/// One factor of a [`RootForm`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Factor {
    /// `s - root`.
    Linear {
        /// The real root.
        root: f64,
    },
    /// `(s - re)^2 + im2`: the pair of complex roots `re +- i sqrt(im2)`.
    Quadratic {
        /// Real part of the pair.
        re: f64,
        /// Square of the imaginary part (`> 0`).
        im2: f64,
    },
}

impl Factor {
    /// The factor at `s`.
    pub fn eval(&self, s: f64) -> f64 {
        match *self {
            Factor::Linear { root } => s - root,
            Factor::Quadratic { re, im2 } => (s - re) * (s - re) + im2,
        }
    }

    /// The degree (1 or 2).
    pub fn degree(&self) -> usize {
        match self {
            Factor::Linear { .. } => 1,
            Factor::Quadratic { .. } => 2,
        }
    }
}

/// The largest relative error of a [`RootForm`] against its polynomial on the interval.
const FORM_TOLERANCE: f64 = 1e-9;

/// `p(s) = lambda prod factors(s)`: a real polynomial as the product of its linear (real
/// roots) and quadratic (complex pairs) factors. Built from a [`Chebyshev`] and checked against
/// it to `1e-9` relative on its interval.
#[derive(Clone, Debug, PartialEq)]
pub struct RootForm {
    /// The leading coefficient in `s`.
    pub lambda: f64,
    /// The factors, linear ones first.
    pub factors: Vec<Factor>,
    /// The interval the form was checked on.
    pub interval: (f64, f64),
}

impl RootForm {
    /// The root form of `p` (degree at least 1), checked on `p`'s interval: errors if the
    /// roots cannot be found to `1e-9` relative accuracy there (the polynomial must not vanish
    /// on its interval). Where the first form misses that, `lambda` is taken again from the
    /// centre of the range of `form / p` on the interval (a cluster of distant roots, found only
    /// roughly, errs mostly by a constant factor) before the check is repeated; a form that
    /// passes the first time is kept as it is.
    pub fn from_chebyshev(p: &Chebyshev) -> Result<Self, SoftmaxError> {
        let (a, b) = (p.a, p.b);
        let mono = chebyshev_to_monomial(&p.coeffs);
        let degree = mono.iter().rposition(|&c| c != 0.0).unwrap_or(0);
        if degree == 0 {
            return Err(SoftmaxError::Config { reason: "root form of a constant".into() });
        }
        let mono = &mono[..=degree];
        let roots_y = aberth(mono)?;
        // y = (2s - a - b)/(b - a): s = ((b - a) y + a + b) / 2, and y - y_i = 2 (s - s_i)/(b - a).
        let half = (b - a) / 2.0;
        let mid = (a + b) / 2.0;
        let lambda = mono[degree] / half.powi(degree as i32);
        let mut linear = Vec::new();
        let mut quadratic = Vec::new();
        let mut used = vec![false; roots_y.len()];
        let tol = 1e-7;
        for i in 0..roots_y.len() {
            if used[i] {
                continue;
            }
            used[i] = true;
            let r = roots_y[i];
            if r.im.abs() <= tol * (1.0 + r.re.abs()) {
                linear.push(Factor::Linear { root: half * r.re + mid });
                continue;
            }
            // Pair with the closest unused conjugate.
            let j = (0..roots_y.len())
                .filter(|&j| !used[j])
                .min_by(|&x, &y| {
                    let dx = (roots_y[x] - Complex::new(r.re, -r.im)).norm();
                    let dy = (roots_y[y] - Complex::new(r.re, -r.im)).norm();
                    dx.total_cmp(&dy)
                })
                .ok_or_else(|| SoftmaxError::Config {
                    reason: "root form: a complex root without its conjugate".into(),
                })?;
            used[j] = true;
            let re = half * (r.re + roots_y[j].re) / 2.0 + mid;
            let im = half * (r.im.abs() + roots_y[j].im.abs()) / 2.0;
            quadratic.push(Factor::Quadratic { re, im2: im * im });
        }
        linear.extend(quadratic);
        let mut form = Self { lambda, factors: linear, interval: (a, b) };
        let worst_of = |form: &Self| {
            dense(a, b)
                .map(|s| {
                    let exact = p.eval_plain(s);
                    (form.eval(s) - exact).abs() / exact.abs().max(1e-300)
                })
                .fold(0.0, f64::max)
        };
        let mut worst = worst_of(&form);
        if worst >= FORM_TOLERANCE {
            // A cluster of roots far from the interval is found only roughly (the interval's
            // values hardly depend on where they lie), and the form then errs mostly by a
            // constant factor there: take lambda from the centre of form / p's range.
            let (lo, hi) = dense(a, b)
                .map(|s| form.eval(s) / p.eval_plain(s))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| (lo.min(r), hi.max(r)));
            form.lambda /= (lo + hi) / 2.0;
            worst = worst_of(&form);
        }
        if worst.is_nan() || worst >= FORM_TOLERANCE {
            return Err(SoftmaxError::Config {
                reason: format!("root form differs from the polynomial by {worst:.1e} (relative) on [{a}, {b}]"),
            });
        }
        Ok(form)
    }

    /// `p(s)`.
    pub fn eval(&self, s: f64) -> f64 {
        self.factors.iter().fold(self.lambda, |acc, f| acc * f.eval(s))
    }

    /// The degree.
    pub fn degree(&self) -> usize {
        self.factors.iter().map(Factor::degree).sum()
    }
}

/// A factor of a [`RootForm`] with its magnitudes on the interval `[lo, hi]` of its variable.
#[derive(Clone, Copy, Debug)]
pub struct Leaf {
    /// The factor.
    pub factor: Factor,
    /// The geometric mean of `|factor|` over the interval (on [`dense`]'s
    /// points).
    pub typical: f64,
    /// The largest `|factor|` on the interval (at an end: the factors are convex).
    pub bound: f64,
}

impl Leaf {
    /// The leaves of `form` on `[lo, hi]`.
    pub fn of(form: &RootForm, (lo, hi): (f64, f64)) -> Vec<Leaf> {
        form.factors
            .iter()
            .map(|&factor| {
                let (sum, n) =
                    dense(lo, hi).fold((0.0, 0usize), |(s, n), x| (s + factor.eval(x).abs().max(1e-300).ln(), n + 1));
                let bound = factor.eval(lo).abs().max(factor.eval(hi).abs());
                Leaf { factor, typical: (sum / n as f64).exp(), bound }
            })
            .collect()
    }
}

/// Monomial coefficients (in `y`) of `sum_k c_k T_k(y)`.
fn chebyshev_to_monomial(c: &[f64]) -> Vec<f64> {
    let n = c.len();
    let mut out = vec![0.0; n];
    let (mut t_prev, mut t) = (vec![0.0; n], vec![0.0; n]);
    t_prev[0] = 1.0; // T_0
    if n > 1 {
        t[1] = 1.0; // T_1
    }
    for (k, &ck) in c.iter().enumerate() {
        let tk = if k == 0 { &t_prev } else { &t };
        for (o, &v) in out.iter_mut().zip(tk) {
            *o += ck * v;
        }
        if k >= 1 && k + 1 < n {
            // T_(k+1) = 2 y T_k - T_(k-1)
            let mut next = vec![0.0; n];
            for j in 0..n - 1 {
                next[j + 1] += 2.0 * t[j];
            }
            for j in 0..n {
                next[j] -= t_prev[j];
            }
            t_prev = std::mem::replace(&mut t, next);
        }
    }
    out
}

/// All complex roots of `sum_k m_k y^k` (`m` non-empty, leading coefficient non-zero) by the
/// Aberth-Ehrlich iteration from points on a circle.
fn aberth(m: &[f64]) -> Result<Vec<Complex>, SoftmaxError> {
    let d = m.len() - 1;
    let lead = m[d];
    // Cauchy bound on the root moduli.
    let bound = 1.0 + m[..d].iter().map(|c| (c / lead).abs()).fold(0.0, f64::max);
    let mut z: Vec<Complex> = (0..d)
        .map(|k| Complex::from_polar(bound.min(4.0), 2.0 * std::f64::consts::PI * (k as f64 + 0.25) / d as f64))
        .collect();
    let eval = |x: Complex| -> (Complex, Complex) {
        let mut p = Complex::new(m[d], 0.0);
        let mut dp = Complex::new(0.0, 0.0);
        for &c in m[..d].iter().rev() {
            dp = dp * x + p;
            p = p * x + Complex::new(c, 0.0);
        }
        (p, dp)
    };
    for _ in 0..500 {
        let mut moved = 0.0f64;
        for i in 0..d {
            let (p, dp) = eval(z[i]);
            if p.norm() == 0.0 {
                continue;
            }
            let ratio = p / dp;
            let mut repulsion = Complex::new(0.0, 0.0);
            for j in 0..d {
                if j != i {
                    repulsion += Complex::new(1.0, 0.0) / (z[i] - z[j]);
                }
            }
            let step = ratio / (Complex::new(1.0, 0.0) - ratio * repulsion);
            if step.is_finite() {
                z[i] -= step;
                moved = moved.max(step.norm() / (1.0 + z[i].norm()));
            }
        }
        if moved < 1e-15 {
            break;
        }
    }
    if z.iter().any(|r| !r.is_finite()) {
        return Err(SoftmaxError::Config { reason: "root finding did not converge".into() });
    }
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_inverse_square_near_the_optimum() {
        // The linear-programming optimum of degree 7 on [0.06, 1] for 1/s^2: gamma = 0.655,
        // a relative error (1 - gamma)/(1 + gamma) = 0.208.
        let (p, err) = fit_relative(|s| 1.0 / (s * s), 7, 0.06, 1.0).unwrap();
        assert!(err < 0.208 * 1.05 && err > 0.19, "{err}");
        let form = RootForm::from_chebyshev(&p).unwrap();
        assert_eq!(form.degree(), 7);
        for i in 0..=100 {
            let s = 0.06 + 0.94 * i as f64 / 100.0;
            assert!(((form.eval(s) - p.eval_plain(s)) / p.eval_plain(s)).abs() < 1e-9);
        }
        // 1/s of degree 15 on [0.12, 1]: 1.9e-5 at the optimum.
        let (_, err) = fit_relative(|s| 1.0 / s, 15, 0.12, 1.0).unwrap();
        assert!(err < 2.2e-5, "{err}");
        assert!(fit_relative(|s| 1.0 / s, 3, 0.0, 1.0).is_err());
        assert!(fit_relative(|s| s - 0.5, 3, 0.1, 1.0).is_err());
    }

    proptest::proptest! {
        /// The root form reproduces any polynomial without roots on its interval.
        #[test]
        fn root_form_reproduces_the_polynomial(gaps in proptest::collection::vec(0.2f64..1.0, 1..8), im in proptest::collection::vec(0.1f64..2.0, 0..4), lambda in 0.5f64..3.0) {
            // p(s) = lambda prod (s + r) prod ((s - 0.5)^2 + im^2) on [0.1, 1]: no root there;
            // simple real roots (a double root is found to half precision only).
            let roots: Vec<f64> = gaps.iter().scan(1.0, |r, g| { *r += g; Some(*r) }).collect();
            let f = |s: f64| lambda * roots.iter().map(|r| s + r).product::<f64>() * im.iter().map(|b| (s - 0.5).powi(2) + b * b).product::<f64>();
            let degree = roots.len() + 2 * im.len();
            let p = Chebyshev::interpolate(f, degree, 0.1, 1.0).unwrap();
            let form = RootForm::from_chebyshev(&p).unwrap();
            proptest::prop_assert_eq!(form.degree(), degree);
            for i in 0..=20 {
                let s = 0.1 + 0.9 * i as f64 / 20.0;
                proptest::prop_assert!((form.eval(s) / f(s) - 1.0).abs() < 1e-8);
            }
        }
    }
}
