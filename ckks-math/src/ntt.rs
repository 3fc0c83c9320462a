//! Negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`.
//!
//! # Ordering convention
//! Let `psi` be the primitive `2N`-th root of unity chosen by [`NttTable::new`] and `brv` the
//! bit reversal on `log2(N)` bits. For input coefficients `a_0..a_{N-1}` (natural order), the
//! forward transform writes
//!
//! ```text
//! A[j] = a(psi^(2*brv(j) + 1)) = sum_i a_i * psi^((2*brv(j) + 1) * i)      (mod q)
//! ```
//!
//! i.e. evaluations at the odd powers of `psi`, in bit-reversed order. The automorphism
//! `X -> X^k` therefore permutes NTT slots: slot `j` of `a(X^k)` is slot `j'` of `a` with
//! `2*brv(j') + 1 = k * (2*brv(j) + 1) mod 2N` (see [`crate::automorphism`]).
//!
//! # Algorithm
//! Forward: Cooley-Tukey with Harvey's lazy butterflies; twiddles `psi^brv(i)` with Shoup
//! constants in bit-reversed order, values kept in `[0, 4q)` between layers. Inverse:
//! Gentleman-Sande with twiddles `psi^-brv(i)`, values in `[0, 2q)`, and `N^-1` merged into
//! the last layer. Cost: `(N/2) log2 N` butterflies, each one Shoup product.

use crate::{MathError, Modulus};

#[cfg(target_arch = "x86_64")]
#[macro_use]
mod layers;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// The SIMD kernels of the transforms and of the basis conversion
/// ([`crate::BasisConverter`], which has a portable and an AVX-512 kernel: under
/// [`NttKernel::Avx2`] it runs the portable one), chosen once per process at run time. All give
/// bit-identical outputs (tests check each against [`NttKernel::Portable`]), but for the lazy
/// transforms of [`NttKernel::Avx512Ifma`], which give the same residues in the same ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NttKernel {
    /// Plain Rust, any CPU.
    Portable,
    /// x86-64 AVX2: four lanes.
    Avx2,
    /// x86-64 AVX-512F with AVX-512DQ: eight lanes and 64-bit low products.
    Avx512,
    /// [`NttKernel::Avx512`] with AVX-512IFMA: the transforms of primes below `2^50` use 52-bit
    /// multiply-adds (three for a Shoup product instead of six multiplications); other primes
    /// and the other kernels run as under [`NttKernel::Avx512`].
    Avx512Ifma,
}

/// The environment variable that lowers the kernel for side-by-side benchmarks:
/// `portable`, `avx2`, `avx512` or `avx512ifma` (a kernel the CPU lacks is never chosen).
pub const KERNEL_ENV: &str = "CKKS_NTT_KERNEL";

impl NttKernel {
    /// The best kernel this CPU supports.
    pub fn detected() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq") {
                if std::arch::is_x86_feature_detected!("avx512ifma") {
                    return NttKernel::Avx512Ifma;
                }
                return NttKernel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return NttKernel::Avx2;
            }
        }
        NttKernel::Portable
    }

    /// The kernel in use: [`NttKernel::detected`], or the lower one that [`KERNEL_ENV`] names.
    /// Read once per process.
    pub fn active() -> Self {
        static ACTIVE: std::sync::OnceLock<NttKernel> = std::sync::OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let best = Self::detected();
            match std::env::var(KERNEL_ENV).ok().and_then(|v| Self::from_name(&v)) {
                Some(k) => k.min(best),
                None => best,
            }
        })
    }

    /// The kernel named `portable`, `avx2`, `avx512` or `avx512ifma`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "portable" | "scalar" => Some(NttKernel::Portable),
            "avx2" => Some(NttKernel::Avx2),
            "avx512" | "avx-512" => Some(NttKernel::Avx512),
            "avx512ifma" | "ifma" => Some(NttKernel::Avx512Ifma),
            _ => None,
        }
    }

    /// Whether this is [`NttKernel::Avx512`] or above and the CPU has AVX-512: the one test
    /// before every call into an AVX-512 kernel of the basis conversion, key product, tensor
    /// and product sums, whose `_with` forms take any kernel (tests name one the CPU may lack).
    pub(crate) fn runs_avx512(self) -> bool {
        self >= NttKernel::Avx512 && Self::detected() >= NttKernel::Avx512
    }

    /// Whether this is [`NttKernel::Avx512Ifma`] and the CPU has it: the test before every call
    /// into an IFMA kernel (which also needs its prime below `2^50`).
    pub(crate) fn runs_ifma(self) -> bool {
        self == NttKernel::Avx512Ifma && Self::detected() == NttKernel::Avx512Ifma
    }

    /// The kernel's name, as [`NttKernel::from_name`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            NttKernel::Portable => "portable",
            NttKernel::Avx2 => "avx2",
            NttKernel::Avx512 => "avx512",
            NttKernel::Avx512Ifma => "avx512ifma",
        }
    }
}

/// Smallest supported ring degree.
pub const MIN_DEGREE: usize = 1 << 1;
/// Largest supported ring degree.
pub const MAX_DEGREE: usize = 1 << 17;

/// Precomputed tables for the negacyclic NTT of one prime and one degree.
#[derive(Clone, Debug)]
pub struct NttTable {
    modulus: Modulus,
    n: usize,
    psi: u64,
    /// `psi^brv(i)` for `i` in `0..n` (entry 0 unused).
    fwd: Vec<u64>,
    fwd_shoup: Vec<u64>,
    /// `psi^-brv(i)` for `i` in `0..n` (entry 0 unused).
    inv: Vec<u64>,
    inv_shoup: Vec<u64>,
    /// `N^-1` and `N^-1 * psi^-brv(1)` for the merged last inverse layer.
    n_inv: u64,
    n_inv_shoup: u64,
    n_inv_w: u64,
    n_inv_w_shoup: u64,
    /// The 52-bit Shoup constants of the IFMA kernel, for primes below `2^50` and on a CPU
    /// with IFMA only (elsewhere nothing reads them: 1 MB a prime at `N = 2^16`).
    shoup52: Option<Shoup52>,
}

/// The primes the IFMA kernels serve are below this, `2^50`: values lazy up to `4q` then fit
/// IFMA's 52-bit operands.
pub(crate) const IFMA_PRIME_BOUND: u64 = 1 << 50;

/// Shoup constants `floor(w 2^52 / q)` of a table's twiddles, for the IFMA kernel
/// (`ntt/avx512/ifma.rs`), which needs `4q < 2^52`: `q < 2^50`.
#[derive(Clone, Debug)]
struct Shoup52 {
    fwd: Vec<u64>,
    inv: Vec<u64>,
    n_inv: u64,
    n_inv_w: u64,
}

impl Shoup52 {
    /// The constants of `fwd`, `inv`, `N^-1` and `N^-1 psi^-brv(1)` modulo `m < 2^50`.
    fn new(m: &Modulus, fwd: &[u64], inv: &[u64], n_inv: u64, n_inv_w: u64) -> Self {
        debug_assert!(m.value() < IFMA_PRIME_BOUND);
        Self {
            fwd: fwd.iter().map(|&w| m.shoup52(w)).collect(),
            inv: inv.iter().map(|&w| m.shoup52(w)).collect(),
            n_inv: m.shoup52(n_inv),
            n_inv_w: m.shoup52(n_inv_w),
        }
    }
}

/// Bit reversal of the low `bits` bits of `x`.
#[inline]
pub const fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

impl NttTable {
    /// Builds the tables for prime `q = 1 mod 2n` and power-of-two `n` in
    /// [`MIN_DEGREE`]`..=`[`MAX_DEGREE`].
    ///
    /// `psi` is the smallest primitive `2n`-th root of unity of the form `g^((q-1)/2n)` for
    /// `g = 2, 3, ...`, so the tables are deterministic.
    pub fn new(modulus: Modulus, n: usize) -> Result<Self, MathError> {
        if !n.is_power_of_two() || !(MIN_DEGREE..=MAX_DEGREE).contains(&n) {
            return Err(MathError::InvalidDegree { n, min: MIN_DEGREE, max: MAX_DEGREE });
        }
        let q = modulus.value();
        let two_n = 2 * n as u64;
        if !(q - 1).is_multiple_of(two_n) || !crate::primes::is_prime(q) {
            return Err(MathError::NotNttFriendly { q, n, two_n: 2 * n });
        }
        let psi = (2..q)
            .map(|g| modulus.pow(g, (q - 1) / two_n))
            .find(|&r| modulus.pow(r, n as u64) == q - 1)
            .expect("a prime q = 1 mod 2n has a primitive 2n-th root");
        let psi_inv = modulus.inv(psi).expect("psi is a unit");
        let log_n = n.trailing_zeros();
        let powers = |root: u64| {
            let mut pw = vec![0u64; n];
            let mut acc = 1u64;
            let mut natural = Vec::with_capacity(n);
            for _ in 0..n {
                natural.push(acc);
                acc = modulus.mul(acc, root);
            }
            for (i, p) in pw.iter_mut().enumerate() {
                *p = natural[bit_reverse(i, log_n)];
            }
            pw
        };
        let fwd = powers(psi);
        let inv = powers(psi_inv);
        let n_inv = modulus.inv(n as u64 % q).expect("n is a unit");
        let n_inv_w = if n > 1 { modulus.mul(n_inv, inv[1]) } else { n_inv };
        let ifma = NttKernel::detected() >= NttKernel::Avx512Ifma;
        let shoup52 = (ifma && q < IFMA_PRIME_BOUND).then(|| Shoup52::new(&modulus, &fwd, &inv, n_inv, n_inv_w));
        Ok(Self {
            shoup52,
            fwd_shoup: modulus.shoup_vec(&fwd),
            inv_shoup: modulus.shoup_vec(&inv),
            fwd,
            inv,
            n_inv,
            n_inv_shoup: modulus.shoup(n_inv),
            n_inv_w,
            n_inv_w_shoup: modulus.shoup(n_inv_w),
            modulus,
            n,
            psi,
        })
    }

    /// The modulus.
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// The ring degree `N`.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The primitive `2N`-th root of unity `psi` the transform evaluates at.
    pub fn psi(&self) -> u64 {
        self.psi
    }

    /// Forward transform in place; input in `[0, 4q)`, output in `[0, q)`.
    pub fn forward(&self, a: &mut [u64]) {
        self.forward_impl(a, true);
    }

    /// Forward transform in place; input in `[0, 4q)`, output in `[0, 4q)`, congruent to
    /// [`NttTable::forward`]'s. Which representative each kernel leaves may differ
    /// ([`NttKernel::Avx512Ifma`]); callers reduce.
    pub fn forward_lazy(&self, a: &mut [u64]) {
        self.forward_impl(a, false);
    }

    /// Inverse transform in place; input in `[0, 2q)`, output in `[0, q)`.
    pub fn inverse(&self, a: &mut [u64]) {
        self.inverse_impl(a, true);
    }

    /// Inverse transform in place; input in `[0, 2q)`, output in `[0, 2q)`, congruent to
    /// [`NttTable::inverse`]'s (the representative may differ by kernel, as for
    /// [`NttTable::forward_lazy`]).
    pub fn inverse_lazy(&self, a: &mut [u64]) {
        self.inverse_impl(a, false);
    }

    /// The kernel that serves this table: [`NttKernel::active`], lowered where `N` is too
    /// small for its registers (AVX-512 needs `N >= 16`, AVX2 `N >= 8`) or, for IFMA, where
    /// the prime is `2^50` or more.
    #[inline]
    pub fn kernel(&self) -> NttKernel {
        match NttKernel::active() {
            NttKernel::Avx512Ifma if self.n >= 16 && self.shoup52.is_some() => NttKernel::Avx512Ifma,
            NttKernel::Avx512Ifma | NttKernel::Avx512 if self.n >= 16 => NttKernel::Avx512,
            NttKernel::Avx512Ifma | NttKernel::Avx512 | NttKernel::Avx2 if self.n >= 8 => NttKernel::Avx2,
            _ => NttKernel::Portable,
        }
    }

    fn forward_impl(&self, a: &mut [u64], strict: bool) {
        assert_eq!(a.len(), self.n, "NTT input length must equal the degree");
        let q = self.modulus.value();
        debug_assert!(a.iter().all(|&x| x < 4 * q));
        match self.kernel() {
            // SAFETY: the kernel is only active on a CPU with its features, and `kernel()`
            // checked the degree (and, for IFMA, the prime); `a.len() == n` above.
            #[cfg(target_arch = "x86_64")]
            NttKernel::Avx512Ifma => unsafe { avx512::ifma::forward(self, a, strict) },
            #[cfg(target_arch = "x86_64")]
            NttKernel::Avx512 => unsafe { avx512::forward(self, a, strict) },
            #[cfg(target_arch = "x86_64")]
            NttKernel::Avx2 => unsafe { avx2::forward(self, a, strict) },
            _ => self.forward_scalar(a, strict),
        }
        debug_assert!(a.iter().all(|&x| x < if strict { q } else { 4 * q }));
    }

    fn inverse_impl(&self, a: &mut [u64], strict: bool) {
        assert_eq!(a.len(), self.n, "NTT input length must equal the degree");
        let q = self.modulus.value();
        debug_assert!(a.iter().all(|&x| x < 2 * q));
        match self.kernel() {
            // SAFETY: as in `forward_impl`.
            #[cfg(target_arch = "x86_64")]
            NttKernel::Avx512Ifma => unsafe { avx512::ifma::inverse(self, a, strict) },
            #[cfg(target_arch = "x86_64")]
            NttKernel::Avx512 => unsafe { avx512::inverse(self, a, strict) },
            #[cfg(target_arch = "x86_64")]
            NttKernel::Avx2 => unsafe { avx2::inverse(self, a, strict) },
            _ => self.inverse_scalar(a, strict),
        }
        debug_assert!(a.iter().all(|&x| x < if strict { q } else { 2 * q }));
    }

    /// Portable forward transform: Harvey butterflies, values in `[0, 4q)` between layers;
    /// with `strict`, the last layer also reduces its outputs to `[0, q)`.
    fn forward_scalar(&self, a: &mut [u64], strict: bool) {
        debug_assert_eq!(a.len(), self.n);
        let modulus = &self.modulus;
        let q = modulus.value();
        let two_q = 2 * q;
        let n = self.n;
        let mut m = 1;
        let mut t = n / 2;
        while t > 1 {
            let tw = self.fwd[m..2 * m].iter().zip(&self.fwd_shoup[m..2 * m]);
            for (block, (&w, &ws)) in a.chunks_exact_mut(2 * t).zip(tw) {
                let (lo, hi) = block.split_at_mut(t);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let u = sub_if_ge(*x, two_q);
                    let v = modulus.mul_shoup_lazy(*y, w, ws);
                    *x = u + v;
                    *y = u + two_q - v;
                }
            }
            m <<= 1;
            t >>= 1;
        }
        // Last layer (t = 1): butterflies on adjacent pairs, one twiddle each.
        let tw = self.fwd[m..].iter().zip(&self.fwd_shoup[m..]);
        for (pair, (&w, &ws)) in a.chunks_exact_mut(2).zip(tw) {
            let u = sub_if_ge(pair[0], two_q);
            let v = modulus.mul_shoup_lazy(pair[1], w, ws);
            if strict {
                let (u, v) = (sub_if_ge(u, q), sub_if_ge(v, q));
                pair[0] = sub_if_ge(u + v, q);
                pair[1] = sub_if_ge(u + q - v, q);
            } else {
                pair[0] = u + v;
                pair[1] = u + two_q - v;
            }
        }
    }

    /// Portable inverse transform: Gentleman-Sande butterflies, values in `[0, 2q)`; the last
    /// layer merges `N^-1` and, with `strict`, reduces its outputs to `[0, q)`.
    fn inverse_scalar(&self, a: &mut [u64], strict: bool) {
        debug_assert_eq!(a.len(), self.n);
        let modulus = &self.modulus;
        let q = modulus.value();
        let two_q = 2 * q;
        let n = self.n;
        let mut t = 1;
        let mut h = n / 2;
        // All layers but the last; the last merges the multiplication by N^-1.
        while h > 1 {
            let tw = self.inv[h..2 * h].iter().zip(&self.inv_shoup[h..2 * h]);
            for (block, (&w, &ws)) in a.chunks_exact_mut(2 * t).zip(tw) {
                let (lo, hi) = block.split_at_mut(t);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let (u, v) = (*x, *y);
                    *x = sub_if_ge(u + v, two_q);
                    *y = modulus.mul_shoup_lazy(u + two_q - v, w, ws);
                }
            }
            t <<= 1;
            h >>= 1;
        }
        let (lo, hi) = a.split_at_mut(n / 2);
        for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
            let (u, v) = (*x, *y);
            let s = modulus.mul_shoup_lazy(u + v, self.n_inv, self.n_inv_shoup);
            let d = modulus.mul_shoup_lazy(u + two_q - v, self.n_inv_w, self.n_inv_w_shoup);
            (*x, *y) = if strict { (sub_if_ge(s, q), sub_if_ge(d, q)) } else { (s, d) };
        }
    }
}

/// `x - m` if `x >= m`, else `x` (branch-free: `x - m` wraps above `x` when `x < m`).
#[inline(always)]
fn sub_if_ge(x: u64, m: u64) -> u64 {
    x.min(x.wrapping_sub(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;
    use proptest::prelude::*;

    /// Naive negacyclic product in `Z_q[X]/(X^n + 1)`.
    pub(crate) fn negacyclic_mul(m: &Modulus, a: &[u64], b: &[u64]) -> Vec<u64> {
        let n = a.len();
        let mut c = vec![0u64; n];
        for i in 0..n {
            for j in 0..n {
                let p = m.mul(a[i], b[j]);
                let k = i + j;
                if k < n {
                    c[k] = m.add(c[k], p);
                } else {
                    c[k - n] = m.sub(c[k - n], p);
                }
            }
        }
        c
    }

    fn table_strategy(max_log_n: u32) -> impl Strategy<Value = NttTable> {
        (1u32..=max_log_n, prop::sample::select(vec![20u32, 30, 40, 50, 59, 60, 61]), 0usize..4).prop_map(
            |(log_n, bits, idx)| {
                let n = 1usize << log_n;
                let q = ntt_primes(bits, 2 * n as u64, idx + 1, &[]).unwrap()[idx];
                NttTable::new(Modulus::new(q).unwrap(), n).unwrap()
            },
        )
    }

    fn poly(table: &NttTable) -> impl Strategy<Value = Vec<u64>> {
        let q = table.modulus().value();
        prop::collection::vec(prop_oneof![Just(0), Just(q - 1), 0..q], table.degree())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip((table, a) in table_strategy(12).prop_flat_map(|t| { let p = poly(&t); (Just(t), p) })) {
            let mut b = a.clone();
            table.forward(&mut b);
            prop_assert!(b.iter().all(|&x| x < table.modulus().value()));
            table.inverse(&mut b);
            prop_assert_eq!(b, a);
        }

        #[test]
        fn lazy_ranges_hold((table, a) in table_strategy(10).prop_flat_map(|t| { let p = poly(&t); (Just(t), p) })) {
            let q = table.modulus().value();
            // Inputs anywhere in [0, 4q) are accepted by the forward transform.
            let mut b: Vec<u64> = a.iter().enumerate().map(|(i, &x)| x + (i as u64 % 4) * q).collect();
            table.forward_lazy(&mut b);
            prop_assert!(b.iter().all(|&x| x < 4 * q));
            let mut strict = a.clone();
            table.forward(&mut strict);
            prop_assert!(b.iter().zip(&strict).all(|(&x, &y)| x % q == y));
            let mut c: Vec<u64> = strict.iter().enumerate().map(|(i, &x)| x + (i as u64 % 2) * q).collect();
            table.inverse_lazy(&mut c);
            prop_assert!(c.iter().all(|&x| x < 2 * q));
            prop_assert!(c.iter().zip(&a).all(|(&x, &y)| x % q == y));
        }

        #[test]
        fn product_matches_naive_convolution((table, a, b) in table_strategy(7).prop_flat_map(|t| { let (p1, p2) = (poly(&t), poly(&t)); (Just(t), p1, p2) })) {
            let m = *table.modulus();
            let want = negacyclic_mul(&m, &a, &b);
            let (mut fa, mut fb) = (a.clone(), b.clone());
            table.forward(&mut fa);
            table.forward(&mut fb);
            m.mul_vec(&mut fa, &fb);
            table.inverse(&mut fa);
            prop_assert_eq!(fa, want);
        }

        #[test]
        fn slot_j_is_evaluation_at_odd_power((table, a) in table_strategy(6).prop_flat_map(|t| { let p = poly(&t); (Just(t), p) })) {
            let m = *table.modulus();
            let n = table.degree();
            let mut fa = a.clone();
            table.forward(&mut fa);
            for j in 0..n {
                let x = m.pow(table.psi(), (2 * bit_reverse(j, n.trailing_zeros()) + 1) as u64);
                let eval = a.iter().rev().fold(0u64, |acc, &c| m.add(m.mul(acc, x), c));
                prop_assert_eq!(fa[j], eval);
            }
        }
    }

    /// Every SIMD kernel the CPU has must give bit-identical results to the portable one, lazy
    /// outputs included, for inputs anywhere in the accepted ranges, at every degree it serves;
    /// the IFMA kernel (primes below `2^50`) the same strict outputs, and lazy outputs in the
    /// same ranges and congruent.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_kernels_match_portable() {
        use rand::{Rng, SeedableRng};
        type Kernel = unsafe fn(&NttTable, &mut [u64], bool);
        let detected = NttKernel::detected();
        // (name, smallest degree, forward, inverse, lazy outputs bit-identical too)
        let mut kernels: Vec<(&str, usize, Kernel, Kernel, bool)> = Vec::new();
        if detected >= NttKernel::Avx2 {
            kernels.push(("avx2", 8, avx2::forward, avx2::inverse, true));
        }
        if detected >= NttKernel::Avx512 {
            kernels.push(("avx512", 16, avx512::forward, avx512::inverse, true));
        }
        if detected >= NttKernel::Avx512Ifma {
            kernels.push(("avx512ifma", 16, avx512::ifma::forward, avx512::ifma::inverse, false));
        }
        if kernels.is_empty() {
            eprintln!("skipped: this CPU has no AVX2");
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (name, min_n, forward, inverse, lazy_identical) in kernels {
            for log_n in min_n.trailing_zeros()..=13 {
                let n = 1usize << log_n;
                for bits in [20, 30, 40, 50, 59, 60, 61] {
                    let q = ntt_primes(bits, 2 * n as u64, 1, &[]).unwrap()[0];
                    let table = NttTable::new(Modulus::new(q).unwrap(), n).unwrap();
                    if !lazy_identical && table.shoup52.is_none() {
                        continue;
                    }
                    for round in 0..3 {
                        // Uniform in [0, 4q), edge values only, uniform in [0, q).
                        let edges = [0, 1, q - 1, q, 2 * q - 1, 2 * q, 3 * q, 4 * q - 1];
                        let a4: Vec<u64> = (0..n)
                            .map(|_| match round {
                                0 => rng.gen_range(0..4 * q),
                                1 => edges[rng.gen_range(0..edges.len())],
                                _ => rng.gen_range(0..q),
                            })
                            .collect();
                        let a2: Vec<u64> = a4.iter().map(|&x| x % (2 * q)).collect();
                        for strict in [false, true] {
                            let check = |s: &[u64], v: &[u64], bound: u64, what: &str| {
                                let at = format!("{name} {what}, n = {n}, q = {q}, strict = {strict}");
                                if strict || lazy_identical {
                                    assert_eq!(s, v, "{at}");
                                } else {
                                    assert!(v.iter().all(|&x| x < bound * q), "{at}: out of range");
                                    assert!(s.iter().zip(v).all(|(x, y)| x % q == y % q), "{at}: not congruent");
                                }
                            };
                            let (mut s, mut v) = (a4.clone(), a4.clone());
                            table.forward_scalar(&mut s, strict);
                            // SAFETY: the CPU has the kernel's features (detected above), n >= min_n
                            // (and q < 2^50 for IFMA).
                            unsafe { forward(&table, &mut v, strict) };
                            check(&s, &v, 4, "forward");
                            let (mut s, mut v) = (a2.clone(), a2.clone());
                            table.inverse_scalar(&mut s, strict);
                            // SAFETY: as above.
                            unsafe { inverse(&table, &mut v, strict) };
                            check(&s, &v, 2, "inverse");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn kernel_names_round_trip_and_small_degrees_fall_back() {
        for k in [NttKernel::Portable, NttKernel::Avx2, NttKernel::Avx512, NttKernel::Avx512Ifma] {
            assert_eq!(NttKernel::from_name(k.name()), Some(k));
        }
        assert_eq!(NttKernel::from_name("neon"), None);
        assert!(NttKernel::active() <= NttKernel::detected());
        let q = ntt_primes(40, 16, 1, &[]).unwrap()[0];
        let t = NttTable::new(Modulus::new(q).unwrap(), 4).unwrap();
        assert_eq!(t.kernel(), NttKernel::Portable);
        let t = NttTable::new(Modulus::new(q).unwrap(), 8).unwrap();
        assert!(t.kernel() <= NttKernel::Avx2);
        // IFMA serves primes below 2^50 only, and its constants exist on a CPU with IFMA only.
        let t = NttTable::new(Modulus::new(q).unwrap(), 16).unwrap();
        assert_eq!(t.kernel(), NttKernel::active());
        let ifma = NttKernel::detected() >= NttKernel::Avx512Ifma;
        let q = ntt_primes(50, 32, 1, &[]).unwrap()[0];
        assert!(q < IFMA_PRIME_BOUND);
        assert_eq!(NttTable::new(Modulus::new(q).unwrap(), 16).unwrap().shoup52.is_some(), ifma);
        for bits in [51, 60] {
            let q = ntt_primes(bits, 32, 1, &[]).unwrap()[0];
            let t = NttTable::new(Modulus::new(q).unwrap(), 16).unwrap();
            assert!(t.shoup52.is_none() && t.kernel() <= NttKernel::Avx512);
        }
    }

    /// The portable kernels serve small degrees and CPUs without AVX2: check them alone too.
    #[test]
    fn scalar_kernels_round_trip() {
        for log_n in 1..=11 {
            let n = 1usize << log_n;
            let q = ntt_primes(60, 2 * n as u64, 1, &[]).unwrap()[0];
            let t = NttTable::new(Modulus::new(q).unwrap(), n).unwrap();
            let a: Vec<u64> = (0..n as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % q).collect();
            let mut strict = a.clone();
            t.forward(&mut strict);
            let mut b = a.clone();
            t.forward_scalar(&mut b, true);
            assert_eq!(b, strict, "n = {n}");
            let mut lazy = a.clone();
            t.forward_scalar(&mut lazy, false);
            assert!(lazy.iter().zip(&strict).all(|(&x, &y)| x < 4 * q && x % q == y));
            t.inverse_scalar(&mut b, true);
            assert_eq!(a, b, "n = {n}");
        }
    }

    #[test]
    fn all_supported_sizes_round_trip() {
        for log_n in 1..=17 {
            let n = 1usize << log_n;
            let q = ntt_primes(60, 2 * n as u64, 1, &[]).unwrap()[0];
            let t = NttTable::new(Modulus::new(q).unwrap(), n).unwrap();
            let a: Vec<u64> = (0..n as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % q).collect();
            let mut b = a.clone();
            t.forward(&mut b);
            t.inverse(&mut b);
            assert_eq!(a, b, "n = {n}");
        }
    }

    #[test]
    fn rejects_bad_inputs() {
        let q = ntt_primes(40, 1 << 11, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        assert!(matches!(NttTable::new(m, 3), Err(MathError::InvalidDegree { .. })));
        assert!(matches!(NttTable::new(m, 1 << 18), Err(MathError::InvalidDegree { .. })));
        // q = 1 mod 2^11 but not mod 2^13.
        if q % (1 << 13) != 1 {
            assert!(matches!(NttTable::new(m, 1 << 12), Err(MathError::NotNttFriendly { .. })));
        }
        // 21 = 1 mod 4 but is composite.
        let composite = Modulus::new(21).unwrap();
        assert!(matches!(NttTable::new(composite, 2), Err(MathError::NotNttFriendly { .. })));
    }
}
