//! A minimal complex number over `f64` for CKKS slots.
//!
//! Written here rather than taken from a crate because the encoder needs only the field
//! operations, conjugation, modulus and polar construction; keeping it local keeps the
//! dependency tree small and the serialized form (`{ re, im }`) under our control.

use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A complex number `re + i * im` in double precision.
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Complex {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl Complex {
    /// `0`.
    pub const ZERO: Self = Self { re: 0.0, im: 0.0 };
    /// `1`.
    pub const ONE: Self = Self { re: 1.0, im: 0.0 };
    /// The imaginary unit `i`.
    pub const I: Self = Self { re: 0.0, im: 1.0 };

    /// `re + i * im`.
    #[inline]
    pub const fn new(re: f64, im: f64) -> Self {
        Self { re, im }
    }

    /// `r * e^(i * theta) = r cos(theta) + i r sin(theta)`; one `sin_cos`.
    #[inline]
    pub fn from_polar(r: f64, theta: f64) -> Self {
        let (s, c) = theta.sin_cos();
        Self { re: r * c, im: r * s }
    }

    /// The complex conjugate `re - i * im`.
    #[inline]
    pub const fn conj(self) -> Self {
        Self { re: self.re, im: -self.im }
    }

    /// The squared modulus `re^2 + im^2` (no square root).
    #[inline]
    pub fn norm_sqr(self) -> f64 {
        self.re * self.re + self.im * self.im
    }

    /// The modulus `|z| = sqrt(re^2 + im^2)`, computed by `hypot` to avoid overflow.
    #[inline]
    pub fn norm(self) -> f64 {
        self.re.hypot(self.im)
    }

    /// The argument `atan2(im, re)` in `(-pi, pi]`.
    #[inline]
    pub fn arg(self) -> f64 {
        self.im.atan2(self.re)
    }

    /// Whether both parts are finite (neither NaN nor infinite).
    #[inline]
    pub fn is_finite(self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }

    /// `z * s` for a real scalar `s`: two products.
    #[inline]
    pub fn scale(self, s: f64) -> Self {
        Self { re: self.re * s, im: self.im * s }
    }
}

impl From<f64> for Complex {
    /// The real number `re + 0i`.
    #[inline]
    fn from(re: f64) -> Self {
        Self { re, im: 0.0 }
    }
}

impl Add for Complex {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        Self { re: self.re + o.re, im: self.im + o.im }
    }
}

impl Sub for Complex {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        Self { re: self.re - o.re, im: self.im - o.im }
    }
}

impl Mul for Complex {
    type Output = Self;
    /// `(a + bi)(c + di) = (ac - bd) + (ad + bc)i`: four real products.
    #[inline]
    fn mul(self, o: Self) -> Self {
        Self { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
    }
}

impl Mul<f64> for Complex {
    type Output = Self;
    #[inline]
    fn mul(self, s: f64) -> Self {
        self.scale(s)
    }
}

impl Div<f64> for Complex {
    type Output = Self;
    #[inline]
    fn div(self, s: f64) -> Self {
        Self { re: self.re / s, im: self.im / s }
    }
}

impl Div for Complex {
    type Output = Self;
    /// `a / b = a * conj(b) / |b|^2`. Division by zero gives non-finite parts, as for `f64`.
    #[inline]
    fn div(self, o: Self) -> Self {
        (self * o.conj()) / o.norm_sqr()
    }
}

impl Neg for Complex {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Self { re: -self.re, im: -self.im }
    }
}

impl AddAssign for Complex {
    #[inline]
    fn add_assign(&mut self, o: Self) {
        *self = *self + o;
    }
}

impl SubAssign for Complex {
    #[inline]
    fn sub_assign(&mut self, o: Self) {
        *self = *self - o;
    }
}

impl MulAssign for Complex {
    #[inline]
    fn mul_assign(&mut self, o: Self) {
        *self = *self * o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_identities() {
        let a = Complex::new(1.5, -2.0);
        let b = Complex::new(-0.25, 3.0);
        assert_eq!(Complex::I * Complex::I, -Complex::ONE);
        assert_eq!(a + Complex::ZERO, a);
        assert_eq!(a * Complex::ONE, a);
        assert_eq!((a - b) + b, a);
        let q = (a * b) / b;
        assert!((q - a).norm() < 1e-15);
        assert_eq!((a * a.conj()).im, 0.0);
        assert_eq!((a * a.conj()).re, a.norm_sqr());
        assert_eq!(Complex::from(2.0) * a, a * 2.0);
    }

    #[test]
    fn polar_round_trip() {
        let z = Complex::from_polar(2.0, 0.75);
        assert!((z.norm() - 2.0).abs() < 1e-15);
        assert!((z.arg() - 0.75).abs() < 1e-15);
    }
}
