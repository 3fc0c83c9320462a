//! CKKS parameters: ring degree, modulus chain `Q = q_0 ... q_L`, special primes `P`, scale,
//! secret distribution, checked against the Homomorphic Encryption Standard when built.

use crate::encoding::SpecialFft;
use crate::security::{check_security, SecretDistribution, SecurityLevel};
use crate::SchemeError;
use ckks_math::primes::{ntt_primes, MIN_PRIME_BITS};
use ckks_math::{RnsBasis, MAX_MODULUS_BITS};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

/// Describes a parameter set; [`ParametersBuilder::build`] generates the primes and checks
/// security.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParametersBuilder {
    /// `log2 N`.
    pub log_n: u32,
    /// Bit sizes of `q_0, ..., q_L`: `q_0` holds the result after the last rescale and should
    /// exceed the scale by the bits of the largest message; the others are the scaling primes.
    pub q_bits: Vec<u32>,
    /// Bit sizes of the special primes `P` of hybrid key switching; their number `alpha` is the
    /// digit size (`dnum = ceil((L + 1) / alpha)` digits).
    pub p_bits: Vec<u32>,
    /// Default scale `Delta = 2^log_scale`.
    pub log_scale: u32,
    /// Slots per ciphertext (a power of two up to `N/2`); `None` means `N/2`.
    pub slots: Option<usize>,
    /// Distribution of the secret key.
    pub secret: SecretDistribution,
    /// A name shown in summaries.
    pub name: String,
}

impl ParametersBuilder {
    /// Most primes in the chain `Q` (`q_0 ..= q_L`) a builder may ask for. Parameter literals
    /// come from files (every blob's header), and each prime costs a search and an NTT table
    /// of `N` words, so their number is bounded before anything is built. 64 primes are over
    /// twice the largest preset's 29 (`Preset::LeveledN16`); 64 primes of 40 bits plus
    /// [`Self::MAX_P_PRIMES`] of 61 (3536 bits) reach the 128-bit bound of the largest degree,
    /// `N = 2^17` (3523 bits).
    pub const MAX_Q_PRIMES: usize = 64;

    /// Most special primes `P` a builder may ask for (bounded for the same reason as
    /// [`Self::MAX_Q_PRIMES`]). The presets use at most 8. A `P` above the largest digit is
    /// never needed, and a digit holds at most 12 primes of at most 61 bits (732 bits), which
    /// 16 special primes of 50 bits or more cover.
    pub const MAX_P_PRIMES: usize = 16;

    /// A builder for `N = 2^log_n` with no primes yet, ternary secret, scale `2^40`.
    pub fn new(log_n: u32) -> Self {
        Self {
            log_n,
            q_bits: Vec::new(),
            p_bits: Vec::new(),
            log_scale: 40,
            slots: None,
            secret: SecretDistribution::Ternary,
            name: "custom".into(),
        }
    }

    /// Sets the bit sizes of `q_0..q_L`.
    pub fn q_bits(mut self, bits: Vec<u32>) -> Self {
        self.q_bits = bits;
        self
    }

    /// Sets the bit sizes of the special primes.
    pub fn p_bits(mut self, bits: Vec<u32>) -> Self {
        self.p_bits = bits;
        self
    }

    /// Sets the default scale `2^log_scale`.
    pub fn log_scale(mut self, log_scale: u32) -> Self {
        self.log_scale = log_scale;
        self
    }

    /// Sets the number of slots (sparse packing when below `N/2`).
    pub fn slots(mut self, slots: usize) -> Self {
        self.slots = Some(slots);
        self
    }

    /// Sets the secret distribution.
    pub fn secret(mut self, secret: SecretDistribution) -> Self {
        self.secret = secret;
        self
    }

    /// Sets the display name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Builds the parameters and checks 128-bit security by the Homomorphic Encryption
    /// Standard table (errors name `N`, `log QP` and the bound).
    pub fn build(self) -> Result<Parameters, SchemeError> {
        self.build_with(SecurityLevel::Classical128)
    }

    /// Builds the parameters without any security check: for tests and toy examples only.
    pub fn build_insecure(self) -> Result<Parameters, SchemeError> {
        self.build_with(SecurityLevel::Insecure)
    }

    fn build_with(self, security: SecurityLevel) -> Result<Parameters, SchemeError> {
        let slots = self.validate(security)?;
        let n = 1usize << self.log_n;
        // Generate primes size by size, in chain order, never reusing one.
        let mut used: Vec<u64> = Vec::new();
        let mut gen = |bits: &[u32]| -> Result<Vec<u64>, SchemeError> {
            let mut out = Vec::with_capacity(bits.len());
            for &b in bits {
                let q = ntt_primes(b, 2 * n as u64, 1, &used)?[0];
                used.push(q);
                out.push(q);
            }
            Ok(out)
        };
        let q_primes = gen(&self.q_bits)?;
        let p_primes = gen(&self.p_bits)?;
        if security == SecurityLevel::Classical128 {
            let log_qp: f64 = q_primes.iter().chain(&p_primes).map(|&x| (x as f64).log2()).sum();
            check_security(n, log_qp, self.secret)?;
        }
        let fft = SpecialFft::new(n, slots)?;
        assemble(self, slots, fft, &q_primes, &p_primes, security)
    }

    /// Checks the whole literal before any prime is generated or table allocated, so that a
    /// literal read from a file (a blob's header) costs at most [`Self::MAX_Q_PRIMES`] +
    /// [`Self::MAX_P_PRIMES`] primes of supported sizes however large the numbers it claims.
    /// For `Classical128`, a chain that cannot pass the security table is refused here too;
    /// the exact check on the real primes follows in `build_with`. Returns the slot count.
    fn validate(&self, security: SecurityLevel) -> Result<usize, SchemeError> {
        let bad = |reason: String| SchemeError::InvalidParameters { reason };
        if !(1..=17).contains(&self.log_n) {
            return Err(bad(format!("log N = {} is outside 1..=17", self.log_n)));
        }
        let n = 1usize << self.log_n;
        if self.q_bits.is_empty() {
            return Err(bad("the modulus chain needs at least q_0".into()));
        }
        if self.p_bits.is_empty() {
            return Err(bad("hybrid key switching needs at least one special prime".into()));
        }
        for (what, bits, max) in [("q", &self.q_bits, Self::MAX_Q_PRIMES), ("p", &self.p_bits, Self::MAX_P_PRIMES)] {
            if bits.len() > max {
                return Err(bad(format!("{} {what} primes requested, at most {max} are supported", bits.len())));
            }
            // A prime q = 1 mod 2N is at least 2N + 1, i.e. has at least log N + 2 bits;
            // `Modulus` holds primes of up to MAX_MODULUS_BITS bits.
            let range = MIN_PRIME_BITS.max(self.log_n + 2)..=MAX_MODULUS_BITS;
            if let Some((i, b)) = bits.iter().enumerate().find(|(_, b)| !range.contains(b)) {
                return Err(bad(format!(
                    "{what}_{i} has {b} bits, outside {}..={} for N = 2^{}",
                    range.start(),
                    range.end(),
                    self.log_n
                )));
            }
        }
        let slots = self.slots.unwrap_or(n / 2);
        SpecialFft::check_dimensions(n, slots)?;
        if !(1..=60).contains(&self.log_scale) {
            return Err(bad(format!("log scale {} is outside 1..=60", self.log_scale)));
        }
        if self.q_bits[0] <= self.log_scale {
            return Err(bad(format!(
                "q_0 has {} bits, not more than the scale 2^{}: nothing would survive the last rescale",
                self.q_bits[0], self.log_scale
            )));
        }
        if let SecretDistribution::SparseTernary { hamming_weight } = self.secret {
            check_hamming_weight(n, hamming_weight)?;
        }
        if security == SecurityLevel::Classical128 {
            // Every prime of b bits exceeds 2^(b - 1), so log QP > sum(b - 1): when that is
            // above the table, the exact check on the real primes would fail as well, and
            // check_security fails here on the nominal log QP = sum(b) (which is larger).
            // Degrees and secrets outside the table fail whatever the modulus.
            let nominal: u32 = self.q_bits.iter().chain(&self.p_bits).sum();
            let primes = (self.q_bits.len() + self.p_bits.len()) as u32;
            let hopeless =
                crate::security::max_log_qp(n, self.secret, security).is_none_or(|bound| nominal - primes > bound);
            if hopeless {
                check_security(n, f64::from(nominal), self.secret)?;
            }
        }
        Ok(slots)
    }
}

/// Accepts a sparse secret's Hamming weight `h` for ring degree `n` when `1 <= h <= n`: the
/// weight may come from a file (a header's secret, a bootstrapping-key blob), and sampling a
/// key of weight `h` needs `h` distinct coefficients; weight 0 is the zero key.
fn check_hamming_weight(n: usize, hamming_weight: usize) -> Result<(), SchemeError> {
    if !(1..=n).contains(&hamming_weight) {
        return Err(SchemeError::InvalidParameters {
            reason: format!("sparse secret of Hamming weight {hamming_weight} for N = {n}: it must be in 1..={n}"),
        });
    }
    Ok(())
}

/// Builds the bases and the caches of a parameter set from its primes (security already
/// decided by the caller); checks that every key-switching digit fits under `P`.
fn assemble(
    builder: ParametersBuilder,
    slots: usize,
    fft: SpecialFft,
    q_primes: &[u64],
    p_primes: &[u64],
    security: SecurityLevel,
) -> Result<Parameters, SchemeError> {
    let bad = |reason: String| SchemeError::InvalidParameters { reason };
    let n = 1usize << builder.log_n;
    let q = RnsBasis::new(n, q_primes)?;
    let p = RnsBasis::new(n, p_primes)?;
    let log_qp = q.log_product(q.len()) + p.log_product(p.len());
    let digits = key_switching_digits(q_primes, p.log_product(p.len())).map_err(bad)?;
    let levels = q.len();
    Ok(Parameters {
        inner: Arc::new(Inner {
            builder,
            n,
            slots,
            q,
            p,
            security,
            log_qp,
            fft,
            digits,
            level_cache: (0..levels).map(|_| OnceLock::new()).collect(),
            galois_tables: Mutex::new(HashMap::new()),
        }),
    })
}

/// Most primes of `Q` in one key-switching digit: the basis conversion of ModUp is unrolled up
/// to this many source primes.
pub(crate) const MAX_DIGIT_PRIMES: usize = 12;

/// Bits by which a digit's product `Q_j` stays below `P`: the key-switching noise grows with
/// `Q_j / P` (at `Q_j ~ P` the insecure test presets lost 2-3 bits in a rotation).
pub(crate) const DIGIT_MARGIN_BITS: f64 = 4.0;

/// Groups `Q`'s primes, from `q_0` up, into key-switching digits: each digit takes consecutive
/// primes while their product stays [`DIGIT_MARGIN_BITS`] below `P` (`log_p` bits) and they
/// number at most [`MAX_DIGIT_PRIMES`]. Hybrid key switching needs `Q_j < P` for each digit's
/// product `Q_j` (its noise is about `Q_j / P` times the key's); grouping by bits rather than by a fixed count
/// lets small primes share a digit: at `Preset::BootstrapN16` the 40-bit primes go eight to a
/// digit under a 366-bit `P`, and the chain takes 4 digits instead of 5, so every key switch
/// does a quarter fewer ModUp conversions and NTTs and its keys are a fifth smaller.
fn key_switching_digits(q_primes: &[u64], log_p: f64) -> Result<Vec<Range<usize>>, String> {
    let mut digits = Vec::new();
    let mut start = 0;
    while start < q_primes.len() {
        let mut end = start;
        let mut bits = 0.0;
        while end < q_primes.len() && end - start < MAX_DIGIT_PRIMES {
            let b = (q_primes[end] as f64).log2();
            if bits + b > log_p - DIGIT_MARGIN_BITS {
                break;
            }
            bits += b;
            end += 1;
        }
        if end == start {
            return Err(format!(
                "prime q_{start} has {:.1} bits but P only {log_p:.1} (a digit must stay {DIGIT_MARGIN_BITS} bits below P): add special primes",
                (q_primes[start] as f64).log2()
            ));
        }
        digits.push(start..end);
        start = end;
    }
    Ok(digits)
}

struct Inner {
    builder: ParametersBuilder,
    n: usize,
    slots: usize,
    q: Arc<RnsBasis>,
    p: Arc<RnsBasis>,
    security: SecurityLevel,
    log_qp: f64,
    fft: SpecialFft,
    /// The key-switching digits: ranges of consecutive primes of `Q`.
    digits: Vec<Range<usize>>,
    /// One slot per level for constants that a layer above the parameters derives from them
    /// (key switching's basis conversions), built on first use ([`Parameters::level_cache`]).
    /// Type-erased, so that this module names no type of those layers.
    level_cache: Vec<OnceLock<Box<dyn Any + Send + Sync>>>,
    /// NTT-domain gather tables of automorphisms, by Galois element, built on first use.
    galois_tables: Mutex<HashMap<usize, Arc<Vec<usize>>>>,
}

/// A built parameter set, cheap to clone (shared). Every key, plaintext and ciphertext holds
/// one, and operations check that their operands agree.
#[derive(Clone)]
pub struct Parameters {
    inner: Arc<Inner>,
}

impl PartialEq for Parameters {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || (self.inner.builder == other.inner.builder && self.inner.security == other.inner.security)
    }
}

impl fmt::Debug for Parameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Parameters({})", self.summary())
    }
}

impl Parameters {
    /// Ring degree `N`.
    pub fn degree(&self) -> usize {
        self.inner.n
    }

    /// `log2 N`.
    pub fn log_n(&self) -> u32 {
        self.inner.builder.log_n
    }

    /// Slots per ciphertext.
    pub fn slots(&self) -> usize {
        self.inner.slots
    }

    /// Highest level `L` (a fresh ciphertext's level).
    pub fn max_level(&self) -> usize {
        self.inner.q.len() - 1
    }

    /// The modulus chain `q_0..q_L`.
    pub fn q_basis(&self) -> &Arc<RnsBasis> {
        &self.inner.q
    }

    /// The special primes `P`.
    pub fn p_basis(&self) -> &Arc<RnsBasis> {
        &self.inner.p
    }

    /// Default scale `Delta`.
    pub fn default_scale(&self) -> f64 {
        2f64.powi(self.inner.builder.log_scale as i32)
    }

    /// Secret distribution.
    pub fn secret_distribution(&self) -> SecretDistribution {
        self.inner.builder.secret
    }

    /// Whether the set was checked against the security table.
    pub fn security(&self) -> SecurityLevel {
        self.inner.security
    }

    /// `log2(Q * P)`.
    pub fn log_qp(&self) -> f64 {
        self.inner.log_qp
    }

    /// Number `alpha` of special primes (the primes of `P`).
    pub fn alpha(&self) -> usize {
        self.inner.p.len()
    }

    /// Number of key-switching digits at the top level.
    pub fn dnum(&self) -> usize {
        self.inner.digits.len()
    }

    /// The key-switching digits: ranges of consecutive primes of `Q` whose products stay below
    /// `P`, from `q_0` up (see `MAX_DIGIT_PRIMES`).
    pub fn digits(&self) -> &[Range<usize>] {
        &self.inner.digits
    }

    /// Number of digits that key switching at `level` decomposes into: those holding a prime
    /// `q_i` with `i <= level` (the last one clipped to the level).
    pub fn digits_at(&self, level: usize) -> usize {
        self.inner.digits.iter().take_while(|d| d.start <= level).count()
    }

    /// The relative cost of one key switch at `level`, `(level + 1 + alpha) * digits_at(level)`:
    /// the NTTs of ModUp and the inner products scale with it (`crate::keyswitch`'s cost). A
    /// weight for plans that compare rotations at different levels, not a time.
    pub fn key_switch_weight(&self, level: usize) -> usize {
        (level + 1 + self.alpha()) * self.digits_at(level)
    }

    /// The builder the set was made from.
    pub fn builder(&self) -> &ParametersBuilder {
        &self.inner.builder
    }

    /// The special FFT of the slot encoding.
    pub fn fft(&self) -> &SpecialFft {
        &self.inner.fft
    }

    /// The parameters of sparse-secret encapsulation (eprint 2022/024): the same ring and
    /// slots, the chain reduced to `q_0` and the special primes to `p_0`, and a sparse ternary
    /// secret of Hamming weight `hamming_weight`. The ephemeral switching key that moves a
    /// level-0 ciphertext from the dense main key to the sparse key lives here, at the lowest
    /// modulus `q_0 p_0`, where the sparse secret is safe.
    ///
    /// Secure parameters give secure encapsulation parameters or an error: the modulus is
    /// checked by [`crate::security::check_sparse_encapsulation`]. Insecure parameters give
    /// insecure ones. Errors if `p_0 < q_0` (the single digit must fit under `P`) or if the
    /// weight is outside `1..=N` (it may come from a bootstrapping-key file).
    pub fn encapsulation_parameters(&self, hamming_weight: usize) -> Result<Parameters, SchemeError> {
        let (q0, p0) = (self.inner.q.modulus(0).value(), self.inner.p.modulus(0).value());
        let log_qp = (q0 as f64).log2() + (p0 as f64).log2();
        check_hamming_weight(self.degree(), hamming_weight)?;
        let security = self.inner.security;
        if security == SecurityLevel::Classical128 {
            crate::security::check_sparse_encapsulation(self.degree(), log_qp, hamming_weight)?;
        }
        let b = &self.inner.builder;
        let builder = ParametersBuilder {
            log_n: b.log_n,
            q_bits: vec![self.inner.q.modulus(0).bits()],
            p_bits: vec![self.inner.p.modulus(0).bits()],
            log_scale: b.log_scale,
            slots: b.slots,
            secret: SecretDistribution::SparseTernary { hamming_weight },
            name: format!("{}-encapsulation", b.name),
        };
        let fft = SpecialFft::new(self.degree(), self.slots())?;
        assemble(builder, self.slots(), fft, &[q0], &[p0], security)
    }

    /// The value of type `T` cached for `level`, built by `init` on first use and shared by
    /// every clone of these parameters: the per-level constants of a layer above the
    /// parameters (key switching keeps its basis-conversion constants here), which the
    /// parameters hold without naming their type. One type per crate uses the slots (a second
    /// type would find the slot taken: a bug, reported as an error). Errors above the top
    /// level, or as `init`.
    pub(crate) fn level_cache<T: Any + Send + Sync>(
        &self,
        level: usize,
        init: impl FnOnce() -> Result<T, SchemeError>,
    ) -> Result<&T, SchemeError> {
        let cell =
            self.inner.level_cache.get(level).ok_or(SchemeError::OutOfLevels { op: "key switch", level, needed: 0 })?;
        let value = match cell.get() {
            Some(value) => value,
            None => {
                let value: Box<dyn Any + Send + Sync> = Box::new(init()?);
                cell.get_or_init(|| value)
            }
        };
        value.downcast_ref::<T>().ok_or_else(|| SchemeError::InvalidParameters {
            reason: format!(
                "the per-level cache of level {level} holds another type than {}",
                std::any::type_name::<T>()
            ),
        })
    }

    /// The NTT-domain gather table of the automorphism `sigma_k: X -> X^k` (`k` odd): for `a`
    /// in NTT form, coefficient `c` of `sigma_k(a)` is coefficient `table[c]` of `a`, for every
    /// prime alike. `N` entries; cached, so rotations by the same element share it. The
    /// permutation that the lazy key-switching API ([`crate::keyswitch`]) takes to switch
    /// `sigma_k(c)` from a decomposition of `c`. Errors if `k` is even (it is read modulo `2N`).
    pub fn galois_table(&self, k: usize) -> Result<Arc<Vec<usize>>, SchemeError> {
        let mut tables = self.inner.galois_tables.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tables.get(&k) {
            return Ok(t.clone());
        }
        let t = Arc::new(ckks_math::automorphism::ntt_permutation(self.degree(), k)?);
        tables.insert(k, t.clone());
        Ok(t)
    }

    /// A one-line budget: name, `N`, slots, levels, `log QP`, scale, `dnum`, security.
    pub fn summary(&self) -> String {
        let b = &self.inner.builder;
        format!(
            "{}: N = 2^{}, {} slots, {} levels, log QP = {:.1}, scale = 2^{}, dnum = {} (alpha = {}), {}, {}",
            b.name,
            b.log_n,
            self.slots(),
            self.max_level(),
            self.log_qp(),
            b.log_scale,
            self.dnum(),
            self.alpha(),
            b.secret,
            match self.security() {
                SecurityLevel::Classical128 => "128-bit (HE standard)",
                SecurityLevel::Insecure => "INSECURE (tests only)",
            }
        )
    }

    /// A multi-line budget: degree, slots, levels, `log Q`, `log P`, `log QP` against the
    /// security bound, scale, key-switching digits, secret.
    pub fn describe(&self) -> String {
        let b = &self.inner.builder;
        let (q, p) = (&self.inner.q, &self.inner.p);
        let bound = crate::security::max_log_qp(self.degree(), b.secret, SecurityLevel::Classical128)
            .map_or("not covered by the HE standard table".to_string(), |v| format!("{v}"));
        let bits =
            |basis: &RnsBasis| basis.moduli().iter().map(|m| m.bits().to_string()).collect::<Vec<_>>().join(", ");
        format!(
            "parameters   {}\n\
             ring         N = 2^{} ({} slots{})\n\
             levels       {} (q_0 {} bits, then {} scaling primes)\n\
             log Q        {:.1}  [{}]\n\
             log P        {:.1}  [{}]\n\
             log QP       {:.1}  (128-bit bound: {})\n\
             scale        2^{}\n\
             key switch   dnum = {} digits ({}), alpha = {} special primes\n\
             secret       {}\n\
             security     {}",
            b.name,
            b.log_n,
            self.slots(),
            if self.slots() < self.degree() / 2 { ", sparse" } else { "" },
            self.max_level(),
            q.modulus(0).bits(),
            self.max_level(),
            q.log_product(q.len()),
            bits(q),
            p.log_product(p.len()),
            bits(p),
            self.log_qp(),
            bound,
            b.log_scale,
            self.dnum(),
            self.digits().iter().map(|d| (d.end - d.start).to_string()).collect::<Vec<_>>().join(" + "),
            self.alpha(),
            b.secret,
            match self.security() {
                SecurityLevel::Classical128 => "128-bit classical (checked)",
                SecurityLevel::Insecure => "INSECURE: test parameters, not checked",
            }
        )
    }

    /// Checks that `other` is the same parameter set, for operations mixing objects.
    pub(crate) fn check_same(&self, op: &'static str, other: &Parameters) -> Result<(), SchemeError> {
        if self != other {
            return Err(SchemeError::ParameterMismatch {
                op,
                detail: format!("{} vs {}", self.inner.builder.name, other.inner.builder.name),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;

    #[test]
    fn presets_build_and_secure_ones_pass_the_table() {
        for p in Preset::ALL {
            if p == Preset::LeveledN16 {
                continue; // covered by an ignored test: building its tables takes a moment
            }
            let params = p.build().unwrap();
            assert_eq!(params.security() == SecurityLevel::Insecure, p.is_insecure());
            assert!(params.summary().contains("slots"));
            let d = params.describe();
            assert!(d.contains("log QP") && d.contains("dnum"), "{d}");
            assert_eq!(d.contains("INSECURE"), p.is_insecure());
        }
    }

    #[test]
    #[ignore = "full-size parameters"]
    fn full_size_preset_builds() {
        let p = Preset::LeveledN16.build().unwrap();
        assert_eq!(p.max_level(), 28);
        // q_0 + 10 primes of 40 bits, 11, then the last 7, under a 480-bit P.
        assert_eq!(p.digits(), &[0..11, 11..22, 22..29]);
        assert!(p.log_qp() <= 1747.0);
    }

    #[test]
    fn digits_group_primes_by_bits_under_p() {
        // The bootstrapping preset's chain (50, 15 x 40, 12 x 60 bits) under six 61-bit
        // special primes: eight small primes per digit, six large ones.
        let mut b = Preset::BootstrapN16.builder();
        b.log_n = 12;
        let p = b.build_insecure().unwrap();
        assert_eq!(p.digits(), &[0..8, 8..16, 16..22, 22..28]);
        assert_eq!((p.dnum(), p.digits_at(0), p.digits_at(7), p.digits_at(8), p.digits_at(27)), (4, 1, 1, 2, 4));
        let log_p = p.p_basis().log_product(p.alpha());
        for d in p.digits() {
            let bits = p.q_basis().log_product(d.end) - p.q_basis().log_product(d.start);
            assert!(bits <= log_p - DIGIT_MARGIN_BITS, "{d:?}: {bits} bits under {log_p}");
            assert!(d.end - d.start <= MAX_DIGIT_PRIMES);
        }
        // Contiguous from q_0 to the top.
        assert!(p.digits().windows(2).all(|w| w[0].end == w[1].start));
        // Many small primes under a large P: capped at MAX_DIGIT_PRIMES per digit.
        let q: Vec<u32> = std::iter::once(50).chain(std::iter::repeat_n(30, 29)).collect();
        let many = Preset::InsecureTestN11.builder().q_bits(q).p_bits(vec![60; 8]).build_insecure().unwrap();
        assert_eq!(many.digits(), &[0..12, 12..24, 24..30]);
        // A prime too large for P (less the margin) is an error naming it.
        let err = Preset::InsecureTestN11.builder().q_bits(vec![50, 40]).p_bits(vec![45]).build_insecure().unwrap_err();
        assert!(err.to_string().contains("q_0"), "{err}");
    }

    #[test]
    fn insecure_sets_are_refused_by_build() {
        let err = Preset::InsecureTestN12.builder().build().unwrap_err();
        assert!(matches!(err, SchemeError::Security(_)), "{err}");
        assert!(err.to_string().contains("4096") || err.to_string().contains("2^12"), "{err}");
    }

    #[test]
    fn bad_builders_are_rejected() {
        let b = Preset::InsecureTestN11.builder();
        assert!(b.clone().q_bits(vec![]).build_insecure().is_err());
        assert!(b.clone().p_bits(vec![]).build_insecure().is_err());
        assert!(b.clone().q_bits(vec![40, 40]).build_insecure().is_err()); // q_0 not above scale
        assert!(b.clone().p_bits(vec![30]).build_insecure().is_err()); // digit larger than P
        assert!(b.clone().slots(3).build_insecure().is_err());
        let mut big = b.clone();
        big.log_n = 18;
        assert!(big.build_insecure().is_err());
    }
}
