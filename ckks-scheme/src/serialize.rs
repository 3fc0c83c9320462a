//! Versioned, checked serialization of parameters, keys, plaintexts and ciphertexts.
//!
//! Every blob starts with a [`Header`]: the magic `HETALCKS`, a format version, the kind of
//! object, and the parameter literal it was made under. Loading checks all four against what
//! the caller expects, then checks every residue against its prime, so a truncated, corrupt or
//! mismatched file is a [`SchemeError::Format`] or [`SchemeError::ParameterMismatch`], never a
//! panic or a silently wrong object. The payload is bincode (serde).
//!
//! Uniform parts are stored as 32-byte seeds where possible (public key `a`, switching-key
//! `a_j`, the `c_1` of a fresh secret-key ciphertext), which halves those objects. The other
//! residues are packed at their primes' widths (a residue of a 40-bit prime takes 40 bits, not
//! 64): at `BootstrapN16` a key takes 0.80x the bytes, a ciphertext at the data level 0.64x.
//!
//! The secret key has its own kind ([`Kind::SecretKey`]) and is written only by
//! [`SecretKey::to_bytes`]; nothing a server receives contains it.

use crate::ciphertext::{Ciphertext, Plaintext};
use crate::keys::{expand_seeded, EvaluationKeys, GaloisKeys, PublicKey, RelinearizationKey, SecretKey};
use crate::keyswitch::{KeyDigit, SwitchingKey};
use crate::params::ParametersBuilder;
use crate::scale::Scale;
use crate::security::SecurityLevel;
use crate::{Parameters, SchemeError};
use ckks_math::{Representation, RnsPoly};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;

/// The magic bytes at the start of every blob.
pub const MAGIC: [u8; 8] = *b"HETALCKS";
/// The format version written. Version 2: switching keys have one digit per
/// [`Parameters::digits`] range (grouped by bits) instead of one per `alpha` primes. Version 3:
/// residues packed at their primes' widths ([`PACKED_SINCE`]).
pub const FORMAT_VERSION: u16 = 3;
/// The oldest version read: version 2 blobs (residues in whole words) load as before.
pub const OLDEST_READ_VERSION: u16 = 2;
/// The first version whose residues are packed at their primes' widths.
const PACKED_SINCE: u16 = 3;
/// Upper bound on a blob's size written by the encoder. Decoding is bounded by the input
/// instead (see `decode_options`).
const MAX_BLOB: u64 = 1 << 40;

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// [`Parameters`].
    Parameters,
    /// [`SecretKey`] (client only).
    SecretKey,
    /// [`PublicKey`].
    PublicKey,
    /// [`RelinearizationKey`].
    RelinearizationKey,
    /// [`GaloisKeys`].
    GaloisKeys,
    /// [`EvaluationKeys`] (the server's bundle).
    EvaluationKeys,
    /// [`Plaintext`].
    Plaintext,
    /// [`Ciphertext`].
    Ciphertext,
    /// [`SeededCiphertext`].
    SeededCiphertext,
    /// [`crate::circuits::bootstrap::BootstrapKeys`] (the encapsulation keys of bootstrapping).
    BootstrapKeys,
}

/// The header of every blob.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`FORMAT_VERSION`].
    pub version: u16,
    /// What follows.
    pub kind: Kind,
    /// The parameter literal the object was made under. Read from a file it is untrusted:
    /// parameters are made from it only through `ParametersBuilder`'s checks.
    pub params: ParametersBuilder,
    /// The security level the writer claims for those parameters: a claim, never trusted.
    /// Loading re-runs the security check for `Classical128` and gives `Insecure` parameters
    /// for `Insecure`; [`Parameters::security`] is what to report.
    pub security: SecurityLevel,
}

fn format_err(reason: impl Into<String>) -> SchemeError {
    SchemeError::Format { reason: reason.into() }
}

fn options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_fixint_encoding().with_limit(MAX_BLOB)
}

/// The options for reading `bytes`: a declared length beyond the input fails as soon as it is
/// read (strings and byte buffers are checked against the limit before they are copied).
/// Sequences are read element by element, each consuming input; serde preallocates at most
/// 1 MiB for one (`size_hint::cautious`), so memory stays proportional to the input.
fn decode_options(bytes: &[u8]) -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_fixint_encoding().with_limit(bytes.len() as u64)
}

fn header(params: &Parameters, kind: Kind) -> Header {
    Header {
        magic: MAGIC,
        version: FORMAT_VERSION,
        kind,
        params: params.builder().clone(),
        security: params.security(),
    }
}

/// The version whose blobs name an object for good ([`Parameters::identity_bytes`],
/// [`PublicKey::identity_bytes`]): fingerprints hash them, so a file bound to a key stays bound
/// to it whatever format later versions write.
const IDENTITY_VERSION: u16 = 2;

/// [`encode`] in [`IDENTITY_VERSION`]; `body` must be in that version's layout (whole words).
fn encode_identity<T: Serialize>(params: &Parameters, kind: Kind, body: &T) -> Result<Vec<u8>, SchemeError> {
    use bincode::Options;
    let header = Header { version: IDENTITY_VERSION, ..header(params, kind) };
    options().serialize(&(header, body)).map_err(|e| format_err(format!("cannot encode {kind:?}: {e}")))
}

fn encode<T: Serialize>(params: &Parameters, kind: Kind, body: &T) -> Result<Vec<u8>, SchemeError> {
    use bincode::Options;
    options().serialize(&(header(params, kind), body)).map_err(|e| format_err(format!("cannot encode {kind:?}: {e}")))
}

/// The length of [`encode`]'s bytes, without making them (a walk over the body).
fn encoded_len<T: Serialize>(params: &Parameters, kind: Kind, body: &T) -> Result<u64, SchemeError> {
    use bincode::Options;
    options()
        .serialized_size(&(header(params, kind), body))
        .map_err(|e| format_err(format!("cannot size {kind:?}: {e}")))
}

/// [`encode`]'s bytes written to `w` as they are made, never held whole.
fn encode_to<T: Serialize>(
    params: &Parameters,
    kind: Kind,
    body: &T,
    w: &mut dyn std::io::Write,
) -> Result<(), SchemeError> {
    use bincode::Options;
    options()
        .serialize_into(w, &(header(params, kind), body))
        .map_err(|e| format_err(format!("cannot encode {kind:?}: {e}")))
}

/// Reads and checks the header only (which kind, which parameters).
pub fn read_header(bytes: &[u8]) -> Result<Header, SchemeError> {
    use bincode::Options;
    if bytes.len() < 8 || bytes[..8] != MAGIC {
        return Err(format_err("not a hetal CKKS blob (bad magic bytes)"));
    }
    let header: Header = decode_options(bytes)
        .allow_trailing_bytes()
        .deserialize(bytes)
        .map_err(|e| format_err(format!("corrupt header: {e}")))?;
    if !(OLDEST_READ_VERSION..=FORMAT_VERSION).contains(&header.version) {
        return Err(format_err(format!(
            "format version {} is not supported (this build reads versions {OLDEST_READ_VERSION} to {FORMAT_VERSION})",
            header.version
        )));
    }
    Ok(header)
}

fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    kind: Kind,
    params: Option<&Parameters>,
) -> Result<(Header, T), SchemeError> {
    use bincode::Options;
    let header = read_header(bytes)?;
    if header.kind != kind {
        return Err(format_err(format!("expected a {kind:?}, found a {:?}", header.kind)));
    }
    if let Some(p) = params {
        if &header.params != p.builder() || header.security != p.security() {
            return Err(SchemeError::ParameterMismatch {
                op: "load",
                detail: format!("the blob was made under '{}', not '{}'", header.params.name, p.builder().name),
            });
        }
    }
    let (header, body): (Header, T) =
        decode_options(bytes).deserialize(bytes).map_err(|e| format_err(format!("corrupt {kind:?} payload: {e}")))?;
    Ok((header, body))
}

/// The parameters a header names, built through [`ParametersBuilder`]'s checks (counts and sizes
/// of primes bounded before any is generated). Its security field is a claim: `Classical128`
/// is verified against the table, `Insecure` gives parameters that say `Insecure`.
fn params_from_header(h: &Header) -> Result<Parameters, SchemeError> {
    match h.security {
        SecurityLevel::Classical128 => h.params.clone().build(),
        SecurityLevel::Insecure => h.params.clone().build_insecure(),
    }
}

/// Bits a residue of the prime `q` takes (every residue is below `q`).
fn width(q: u64) -> u32 {
    u64::BITS - q.leading_zeros()
}

/// The widths of the first `limbs` primes of `basis`.
fn widths(basis: &ckks_math::rns::RnsBasis, limbs: usize) -> Vec<u32> {
    (0..limbs).map(|i| width(basis.modulus(i).value())).collect()
}

/// Words a limb of `n` residues of `w` bits takes packed: `ceil(n w / 64)` (exactly `n w / 64`
/// from `N = 64` on; below, the limb's last word is padded with zeros).
fn limb_words(n: usize, w: u32) -> usize {
    (n * w as usize).div_ceil(64)
}

/// Serializes `residues` (limb-major, `n` a limb, limb `i` below a prime of `widths[i]` bits)
/// as a sequence of words packed at those widths, low bits first, each limb starting on a new
/// word ([`limb_words`] each).
fn serialize_packed<S: serde::Serializer>(
    serializer: S,
    widths: &[u32],
    n: usize,
    mut residues: impl Iterator<Item = u64>,
) -> Result<S::Ok, S::Error> {
    use serde::ser::{Error, SerializeSeq};
    let len = widths.iter().map(|&w| limb_words(n, w)).sum();
    let mut seq = serializer.serialize_seq(Some(len))?;
    for &w in widths {
        // `acc` holds `bits < 64` bits not yet written.
        let (mut acc, mut bits) = (0u64, 0u32);
        for _ in 0..n {
            let r = residues.next().ok_or_else(|| S::Error::custom("fewer residues than the limbs hold"))?;
            acc |= r << bits;
            if bits + w >= 64 {
                seq.serialize_element(&acc)?;
                // 64 - bits of r's bits went out; the rest (fewer than w < 64) waits.
                acc = r.checked_shr(64 - bits).unwrap_or(0);
                bits = bits + w - 64;
            } else {
                bits += w;
            }
        }
        if bits > 0 {
            seq.serialize_element(&acc)?;
        }
    }
    seq.end()
}

/// The residues of [`serialize_packed`]'s `words`, limb by limb at `widths` (each limb from a
/// new word); `words` must hold exactly those limbs (checked by [`Residues::limbs`]).
fn unpack(words: &[u64], widths: &[u32], n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(n * widths.len());
    let mut words = words.iter().copied();
    for &w in widths {
        let mask = (1u64 << w) - 1;
        // `acc` holds `bits` bits not yet read.
        let (mut acc, mut bits) = (0u64, 0u32);
        for _ in 0..n {
            if bits >= w {
                out.push(acc & mask);
                acc >>= w;
                bits -= w;
            } else {
                let next = words.next().unwrap_or(0);
                out.push((acc | next << bits) & mask);
                let used = w - bits;
                acc = next >> used;
                bits = 64 - used;
            }
        }
    }
    out
}

/// The parameters' `Q` basis, or `P` with `over_p`.
fn basis(params: &Parameters, over_p: bool) -> &std::sync::Arc<ckks_math::rns::RnsBasis> {
    if over_p {
        params.p_basis()
    } else {
        params.q_basis()
    }
}

/// How a blob's residues read back: its parameters, and whether its version packs them.
#[derive(Clone, Copy)]
struct Residues<'a> {
    params: &'a Parameters,
    packed: bool,
}

impl<'a> Residues<'a> {
    fn of(params: &'a Parameters, header: &Header) -> Self {
        Self { params, packed: header.version >= PACKED_SINCE }
    }

    fn basis(&self, over_p: bool) -> &'a std::sync::Arc<ckks_math::rns::RnsBasis> {
        basis(self.params, over_p)
    }

    /// The number of leading limbs of `Q` (or of `P`) whose words make `words` exactly.
    fn limbs(&self, over_p: bool, words: usize) -> Result<usize, SchemeError> {
        let (basis, n) = (self.basis(over_p), self.params.degree());
        let mut total = 0;
        for limbs in 1..=basis.len() {
            total += if self.packed { limb_words(n, width(basis.modulus(limbs - 1).value())) } else { n };
            if total == words {
                return Ok(limbs);
            }
        }
        Err(format_err(format!(
            "{words} words are not a whole number of limbs of degree {n} (at most {} over {})",
            basis.len(),
            if over_p { "P" } else { "Q" }
        )))
    }

    /// A polynomial in NTT form over the leading limbs of `Q` (or `P`) that `words` hold.
    fn poly(&self, over_p: bool, words: Vec<u64>) -> Result<RnsPoly, SchemeError> {
        let limbs = self.limbs(over_p, words.len())?;
        let basis = self.basis(over_p);
        let data = if self.packed { unpack(&words, &widths(basis, limbs), self.params.degree()) } else { words };
        Ok(RnsPoly::from_data(basis, limbs, Representation::Ntt, data)?)
    }
}

/// The residues of a polynomial in NTT form, written packed ([`serialize_packed`]).
struct PolyWords<'a>(&'a RnsPoly);

impl Serialize for PolyWords<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        serialize_packed(serializer, &widths(p.basis(), p.limbs()), p.degree(), p.data().iter().copied())
    }
}

// ----- bodies -------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct CiphertextBody<V = Vec<u64>> {
    scale: Scale,
    components: Vec<V>,
}

#[derive(Serialize, Deserialize)]
struct PlaintextBody<V = Vec<u64>> {
    scale: f64,
    poly: V,
}

#[derive(Serialize, Deserialize)]
struct SeededCiphertextBody<V = Vec<u64>> {
    scale: f64,
    c0: V,
    seed: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct PublicKeyBody<V = Vec<u64>> {
    b: V,
    a_seed: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct SwitchingKeyBody<V = Vec<u64>> {
    /// Per digit: `b` over `Q`, `b` over `P`, and the seed of `(a_Q, a_P)`.
    digits: Vec<(V, V, [u8; 32])>,
}

#[derive(Serialize, Deserialize)]
struct EvaluationKeysBody<V = Vec<u64>, K = Vec<u64>> {
    public: PublicKeyBody<V>,
    relinearization: Option<SwitchingKeyBody<K>>,
    galois: BTreeMap<usize, SwitchingKeyBody<K>>,
}

// The bodies are written from borrowed residues, packed on the fly (`PolyWords`, and for
// switching keys `KeyWords`; bincode encodes both exactly as a `Vec<u64>` of the packed words)
// and read into owned words, then unpacked: writing the server's keys at N = 2^16 (9 GB in
// memory) must not copy them first.

fn public_body(pk: &PublicKey) -> PublicKeyBody<PolyWords<'_>> {
    PublicKeyBody { b: PolyWords(&pk.b), a_seed: pk.a_seed }
}

fn public_from(r: Residues, body: PublicKeyBody) -> Result<PublicKey, SchemeError> {
    let q = r.params.q_basis();
    let b = r.poly(false, body.b)?;
    if b.limbs() != q.len() {
        return Err(format_err(format!("public key has {} limbs, not {}", b.limbs(), q.len())));
    }
    let a = expand_seeded(body.a_seed, &[q])?.remove(0);
    Ok(PublicKey { params: r.params.clone(), b, a, a_seed: body.a_seed })
}

/// One digit's `b_j` over `Q` or `P`, gathered from the key's interleaved layout and packed
/// ([`serialize_packed`]) while it is written, without a copy of the key.
struct KeyWords<'a> {
    key: &'a SwitchingKey,
    digit: usize,
    over_p: bool,
}

impl Serialize for KeyWords<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let params = self.key.params();
        let n = params.degree();
        let (len, words) = self.key.b_words(self.digit, self.over_p);
        serialize_packed(serializer, &widths(basis(params, self.over_p), len / n), n, words)
    }
}

fn switching_body(k: &SwitchingKey) -> SwitchingKeyBody<KeyWords<'_>> {
    let words = |digit, over_p| KeyWords { key: k, digit, over_p };
    SwitchingKeyBody { digits: (0..k.dnum()).map(|j| (words(j, false), words(j, true), k.seed(j))).collect() }
}

fn switching_from(r: Residues, body: SwitchingKeyBody) -> Result<SwitchingKey, SchemeError> {
    let params = r.params;
    let (q, p) = (params.q_basis(), params.p_basis());
    // A key may be truncated to a lower level (SwitchingKey::truncate): its digits then cover
    // the first `limbs` primes of Q.
    let limbs = match body.digits.first() {
        Some(d) => r.limbs(false, d.0.len())?,
        None => 0,
    };
    if limbs == 0 || body.digits.len() != params.digits_at(limbs - 1) {
        return Err(format_err(format!(
            "switching key has {} digits over {limbs} primes, expected {} digits over {} (or a truncation)",
            body.digits.len(),
            params.dnum(),
            q.len()
        )));
    }
    let digits = body
        .digits
        .into_iter()
        .map(|(b_q, b_p, a_seed)| {
            let (b_q, b_p) = (r.poly(false, b_q)?, r.poly(true, b_p)?);
            if b_q.limbs() != limbs || b_p.limbs() != p.len() {
                return Err(format_err("switching key digit has the wrong number of limbs"));
            }
            let mut a = expand_seeded(a_seed, &[q, p])?;
            let mut a_q = a.remove(0);
            a_q.drop_to_limbs(limbs)?;
            Ok(KeyDigit { b_q, b_p, a_q, a_p: a.remove(0), a_seed })
        })
        .collect::<Result<Vec<_>, SchemeError>>()?;
    SwitchingKey::from_digits(params.clone(), digits).map_err(|e| format_err(e.to_string()))
}

#[derive(Serialize, Deserialize)]
struct BootstrapKeysBody<V = Vec<u64>> {
    /// Hamming weight of the ephemeral key and the dense-to-sparse key (encapsulation
    /// parameters, rebuilt from the main ones on load).
    to_sparse: Option<(usize, SwitchingKeyBody<V>)>,
    /// The sparse-to-dense key (main parameters).
    to_dense: Option<SwitchingKeyBody<V>>,
}

// ----- public API ---------------------------------------------------------------------------

impl crate::circuits::bootstrap::BootstrapKeys {
    /// Serializes the keys under the main parameters `params` (each digit's `a` as its seed).
    pub fn to_bytes(&self, params: &Parameters) -> Result<Vec<u8>, SchemeError> {
        let to_sparse = match (&self.to_sparse, self.to_sparse.as_ref().map(|k| k.params().secret_distribution())) {
            (Some(k), Some(crate::security::SecretDistribution::SparseTernary { hamming_weight })) => {
                Some((hamming_weight, switching_body(k)))
            }
            (None, _) => None,
            _ => return Err(format_err("the dense-to-sparse key is not over encapsulation parameters")),
        };
        let body = BootstrapKeysBody { to_sparse, to_dense: self.to_dense.as_ref().map(switching_body) };
        encode(params, Kind::BootstrapKeys, &body)
    }

    /// Loads bootstrapping keys made under `params`; the encapsulation parameters are rebuilt
    /// from them (and checked against the sparse-key bound for secure parameters).
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (header, body) = decode::<BootstrapKeysBody>(bytes, Kind::BootstrapKeys, Some(params))?;
        let to_sparse = body
            .to_sparse
            .map(|(h, k)| switching_from(Residues::of(&params.encapsulation_parameters(h)?, &header), k))
            .transpose()?;
        let to_dense = body.to_dense.map(|k| switching_from(Residues::of(params, &header), k)).transpose()?;
        Ok(Self { to_sparse, to_dense })
    }
}

impl Parameters {
    /// Serializes the parameter literal (the primes are regenerated, deterministically, on load).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        encode(self, Kind::Parameters, &())
    }

    /// The parameters' lasting name, for fingerprints: their blob in format version 2 (the
    /// literal and the security level), which no later format version changes.
    pub fn identity_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        encode_identity(self, Kind::Parameters, &())
    }

    /// Rebuilds parameters from [`Parameters::to_bytes`] (re-running the security check of the
    /// level they were built with).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SchemeError> {
        let (h, ()) = decode::<()>(bytes, Kind::Parameters, None)?;
        params_from_header(&h)
    }
}

impl Ciphertext {
    /// Serializes the ciphertext (all components, level, scale).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        let body = CiphertextBody { scale: self.scale, components: self.c.iter().map(PolyWords).collect() };
        encode(&self.params, Kind::Ciphertext, &body)
    }

    /// Loads a ciphertext made under `params`.
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (header, body) = decode::<CiphertextBody>(bytes, Kind::Ciphertext, Some(params))?;
        let r = Residues::of(params, &header);
        let c = body.components.into_iter().map(|words| r.poly(false, words)).collect::<Result<Vec<_>, _>>()?;
        crate::ciphertext::check_scale("Ciphertext::from_bytes", body.scale.value())?;
        if !body.scale.is_canonical() {
            return Err(format_err(format!("ciphertext scale {:?} is not a normalized double-double", body.scale)));
        }
        let mut ct = Ciphertext::from_components(params, c, body.scale.value())?;
        ct.scale = body.scale;
        Ok(ct)
    }
}

impl Plaintext {
    /// Serializes the plaintext.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        let body = PlaintextBody { scale: self.scale, poly: PolyWords(&self.poly) };
        encode(&self.params, Kind::Plaintext, &body)
    }

    /// Loads a plaintext made under `params`.
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (header, body) = decode::<PlaintextBody>(bytes, Kind::Plaintext, Some(params))?;
        let poly = Residues::of(params, &header).poly(false, body.poly)?;
        crate::ciphertext::check_scale("Plaintext::from_bytes", body.scale)?;
        Ok(Plaintext { params: params.clone(), poly, scale: body.scale })
    }
}

impl PublicKey {
    /// Serializes the key (`b` in full, `a` as its seed).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        encode(&self.params, Kind::PublicKey, &public_body(self))
    }

    /// The key's lasting name, for fingerprints: its blob in format version 2 (`b` in whole
    /// words, `a` as its seed, the parameters), which no later format version changes.
    pub fn identity_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        encode_identity(&self.params, Kind::PublicKey, &PublicKeyBody { b: self.b.data(), a_seed: self.a_seed })
    }

    /// Loads a public key made under `params`.
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (header, body) = decode::<PublicKeyBody>(bytes, Kind::PublicKey, Some(params))?;
        public_from(Residues::of(params, &header), body)
    }
}

impl RelinearizationKey {
    /// Serializes the key (each digit's `a` as its seed).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        encode(&self.0.params, Kind::RelinearizationKey, &switching_body(&self.0))
    }

    /// Loads a relinearization key made under `params`.
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (header, body) = decode::<SwitchingKeyBody>(bytes, Kind::RelinearizationKey, Some(params))?;
        Ok(RelinearizationKey(switching_from(Residues::of(params, &header), body)?))
    }
}

impl GaloisKeys {
    /// Serializes every key, by Galois element.
    pub fn to_bytes(&self, params: &Parameters) -> Result<Vec<u8>, SchemeError> {
        let body: BTreeMap<usize, SwitchingKeyBody<KeyWords<'_>>> =
            self.keys.iter().map(|(&k, v)| (k, switching_body(v))).collect();
        encode(params, Kind::GaloisKeys, &body)
    }

    /// Loads Galois keys made under `params`.
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (header, body) = decode::<BTreeMap<usize, SwitchingKeyBody>>(bytes, Kind::GaloisKeys, Some(params))?;
        galois_from(Residues::of(params, &header), body)
    }
}

fn galois_from(r: Residues, body: BTreeMap<usize, SwitchingKeyBody>) -> Result<GaloisKeys, SchemeError> {
    let mut keys = BTreeMap::new();
    for (k, v) in body {
        if k % 2 == 0 || k >= 2 * r.params.degree() {
            return Err(format_err(format!("invalid Galois element {k} for N = {}", r.params.degree())));
        }
        keys.insert(k, switching_from(r, v)?);
    }
    Ok(GaloisKeys { keys })
}

impl EvaluationKeys {
    /// Serializes the server's bundle (public, relinearization and Galois keys; no secret).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        encode(&self.params, Kind::EvaluationKeys, &self.body())
    }

    /// The length of [`EvaluationKeys::to_bytes`], without making the bytes.
    pub fn encoded_len(&self) -> Result<u64, SchemeError> {
        encoded_len(&self.params, Kind::EvaluationKeys, &self.body())
    }

    /// [`EvaluationKeys::to_bytes`] streamed into `w`: the keys are never held twice (at
    /// `N = 2^16` the bytes are GBs beside the keys themselves).
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> Result<(), SchemeError> {
        encode_to(&self.params, Kind::EvaluationKeys, &self.body(), w)
    }

    /// What is serialized: the words of the keys, borrowed.
    fn body(&self) -> EvaluationKeysBody<PolyWords<'_>, KeyWords<'_>> {
        EvaluationKeysBody {
            public: public_body(&self.public),
            relinearization: self.relinearization.as_ref().map(|r| switching_body(&r.0)),
            galois: self.galois.keys.iter().map(|(&k, v)| (k, switching_body(v))).collect(),
        }
    }

    /// Loads a bundle, rebuilding its parameters from the header (what a server does: it
    /// receives the parameters with the keys).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SchemeError> {
        let header = read_header(bytes)?;
        let params = params_from_header(&header)?;
        Self::from_bytes_with(&params, bytes)
    }

    /// Loads a bundle made under `params`.
    pub fn from_bytes_with(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (header, body) = decode::<EvaluationKeysBody>(bytes, Kind::EvaluationKeys, Some(params))?;
        let r = Residues::of(params, &header);
        Ok(EvaluationKeys {
            params: params.clone(),
            public: public_from(r, body.public)?,
            relinearization: body.relinearization.map(|k| switching_from(r, k).map(RelinearizationKey)).transpose()?,
            galois: galois_from(r, body.galois)?,
        })
    }
}

impl SecretKey {
    /// Serializes the secret key (its ternary coefficients, one byte each). Keep this file on
    /// the client.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        let body: Vec<i8> = self.coeffs.iter().map(|&c| c as i8).collect();
        encode(&self.params, Kind::SecretKey, &body)
    }

    /// Loads a secret key made under `params`.
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (_, body) = decode::<Vec<i8>>(bytes, Kind::SecretKey, Some(params))?;
        SecretKey::from_coeffs(params, body.into_iter().map(i64::from).collect())
    }
}

/// A fresh secret-key ciphertext stored as `(c_0, seed of c_1)`: half the size of a
/// [`Ciphertext`]. Made by [`crate::SymmetricEncryptor`]; [`SeededCiphertext::expand`] gives the
/// usual ciphertext.
#[derive(Clone, Debug)]
pub struct SeededCiphertext {
    pub(crate) params: Parameters,
    pub(crate) c0: RnsPoly,
    pub(crate) seed: [u8; 32],
    pub(crate) scale: f64,
}

impl SeededCiphertext {
    /// The full ciphertext (`c_1` expanded from the seed).
    pub fn expand(&self) -> Result<Ciphertext, SchemeError> {
        let limbs = self.c0.limbs();
        let mut c1 = expand_seeded(self.seed, &[self.params.q_basis()])?.remove(0);
        c1.drop_to_limbs(limbs)?;
        Ciphertext::from_components(&self.params, vec![self.c0.clone(), c1], self.scale)
    }

    /// Level.
    pub fn level(&self) -> usize {
        self.c0.level()
    }

    /// Serializes `c_0` and the seed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SchemeError> {
        let body = SeededCiphertextBody { scale: self.scale, c0: PolyWords(&self.c0), seed: self.seed };
        encode(&self.params, Kind::SeededCiphertext, &body)
    }

    /// Loads a seeded ciphertext made under `params`.
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self, SchemeError> {
        let (header, body) = decode::<SeededCiphertextBody>(bytes, Kind::SeededCiphertext, Some(params))?;
        let c0 = Residues::of(params, &header).poly(false, body.c0)?;
        crate::ciphertext::check_scale("SeededCiphertext::from_bytes", body.scale)?;
        Ok(Self { params: params.clone(), c0, seed: body.seed, scale: body.scale })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decryptor, Encoder, Encryptor, Evaluator, KeyGenerator, Preset, SymmetricEncryptor};
    use std::sync::Arc;

    #[test]
    fn round_trips_and_compression() {
        let params = Preset::InsecureTestN11.build().unwrap();
        let params2 = Parameters::from_bytes(&params.to_bytes().unwrap()).unwrap();
        assert_eq!(params2, params);
        assert_eq!(params2.q_basis().moduli(), params.q_basis().moduli());

        let mut kg = KeyGenerator::from_seed(&params, [1; 32]);
        let sk = kg.secret_key().unwrap();
        let keys = kg.evaluation_keys(&sk, &[1, 3], true).unwrap();
        let sk2 = SecretKey::from_bytes(&params, &sk.to_bytes().unwrap()).unwrap();
        assert_eq!(sk2.coeffs(), sk.coeffs());

        // The server loads its bundle with nothing but the bytes.
        let blob = keys.to_bytes().unwrap();
        let keys2 = EvaluationKeys::from_bytes(&blob).unwrap();
        assert_eq!(keys2.public.b, keys.public.b);
        assert_eq!(keys2.public.a, keys.public.a);
        let relin = keys.relinearization.as_ref().unwrap();
        let relin2 = RelinearizationKey::from_bytes(&params, &relin.to_bytes().unwrap()).unwrap();
        assert_eq!(relin.0.packed(), relin2.0.packed());
        // Seeded a-parts: the key blob is about half the key in memory.
        let in_memory = relin.0.size_bytes();
        let on_disk = relin.to_bytes().unwrap().len();
        assert!(on_disk * 2 <= in_memory + 4096, "{on_disk} vs {in_memory}");
        let g2 = GaloisKeys::from_bytes(&params, &keys.galois.to_bytes(&params).unwrap()).unwrap();
        assert_eq!(g2.elements().collect::<Vec<_>>(), keys.galois.elements().collect::<Vec<_>>());
        let pk2 = PublicKey::from_bytes(&params, &keys.public.to_bytes().unwrap()).unwrap();
        assert_eq!(pk2.b, keys.public.b);

        let enc = Encoder::new(&params);
        let z = [0.5, -0.25, 0.125];
        let pt = enc.encode_real(&z, params.max_level(), params.default_scale()).unwrap();
        let pt2 = Plaintext::from_bytes(&params, &pt.to_bytes().unwrap()).unwrap();
        assert_eq!(pt2.poly, pt.poly);
        let ct = Encryptor::from_seed(&keys.public, [2; 32]).encrypt(&pt).unwrap();
        let ct2 = Ciphertext::from_bytes(&params, &ct.to_bytes().unwrap()).unwrap();
        assert_eq!(ct2.c, ct.c);
        assert_eq!(ct2.scale, ct.scale);

        // Evaluation on loaded keys and loaded ciphertexts decrypts right.
        let eval = Evaluator::new(Arc::new(keys2));
        let sq = eval.rotate(&eval.mul_relin_rescale(&ct2, &ct2).unwrap(), 1).unwrap();
        let out = enc.decode_real(&Decryptor::new(&sk2).decrypt(&sq).unwrap()).unwrap();
        assert!((out[0] - 0.0625).abs() < 1e-5 && (out[1] - 0.015625).abs() < 1e-5, "{:?}", &out[..3]);

        // Secret-key ciphertexts travel as (c0, seed): half a ciphertext.
        let seeded = SymmetricEncryptor::from_seed(&sk, [3; 32]).encrypt(&pt).unwrap();
        let bytes = seeded.to_bytes().unwrap();
        assert!(bytes.len() * 2 <= ct.to_bytes().unwrap().len() + 4096);
        let full = SeededCiphertext::from_bytes(&params, &bytes).unwrap().expand().unwrap();
        let out = enc.decode_real(&Decryptor::new(&sk).decrypt(&full).unwrap()).unwrap();
        assert!(out.iter().zip(z.iter().chain(std::iter::repeat(&0.0))).all(|(a, b)| (a - b).abs() < 1e-8));
    }

    /// Residues at given widths, written by [`serialize_packed`].
    struct Raw<'a>(&'a [u32], usize, &'a [u64]);

    impl Serialize for Raw<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serialize_packed(serializer, self.0, self.1, self.2.iter().copied())
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Packing then unpacking gives the residues back, for any widths the parameters allow
        /// (12 to 61 bits), any residues below them and any `n` from 2, in `ceil(n w / 64)`
        /// words a limb.
        #[test]
        fn packed_residues_round_trip(
            widths in proptest::collection::vec(12u32..=61, 1..6),
            log_n in 1u32..11,
            seed in proptest::prelude::any::<u64>(),
        ) {
            use bincode::Options;
            let n = 1usize << log_n;
            let mut state = seed | 1;
            let residues: Vec<u64> = widths
                .iter()
                .flat_map(|&w| std::iter::repeat_n(w, n))
                .map(|w| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state >> (64 - w)
                })
                .collect();
            let bytes = options().serialize(&Raw(&widths, n, &residues)).unwrap();
            let words: Vec<u64> = decode_options(&bytes).deserialize(&bytes).unwrap();
            let expected: usize = widths.iter().map(|&w| (n * w as usize).div_ceil(64)).sum();
            proptest::prop_assert_eq!(words.len(), expected);
            proptest::prop_assert_eq!(unpack(&words, &widths, n), residues);
        }
    }

    /// Residues take their primes' widths on disk, and a blob of version 2 (whole words) still
    /// loads, to the same ciphertext.
    #[test]
    fn residues_are_packed_and_version_2_still_reads() {
        use bincode::Options;
        let params = Preset::InsecureTestN11.build().unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [1; 32]);
        let sk = kg.secret_key().unwrap();
        let pk = kg.public_key(&sk).unwrap();
        let enc = Encoder::new(&params);
        let pt = enc.encode_real(&[0.5, -0.25], params.max_level(), params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&pk, [2; 32]).encrypt(&pt).unwrap();
        let bytes = ct.to_bytes().unwrap();
        let n = params.degree();
        let bits: usize = params.q_basis().moduli().iter().map(|q| width(q.value()) as usize).sum();
        let packed = 2 * n * bits / 8;
        assert!(bytes.len() >= packed && bytes.len() < packed + 1024, "{} bytes for {packed} of residues", bytes.len());
        assert!(bits < 64 * (params.max_level() + 1), "the test parameters have primes below 64 bits");

        let mut header = header(&params, Kind::Ciphertext);
        header.version = 2;
        let body = CiphertextBody { scale: ct.scale, components: ct.c.iter().map(|p| p.data().to_vec()).collect() };
        let old = options().serialize(&(header.clone(), body)).unwrap();
        assert!(old.len() > bytes.len());
        let loaded = Ciphertext::from_bytes(&params, &old).unwrap();
        assert_eq!(loaded.c, ct.c);
        // Packed words read as version 2 are refused (the wrong number of words, or words above
        // their primes), never read as another ciphertext.
        let mut relabelled = bytes.clone();
        header.version = 2;
        let head = options().serialize(&header).unwrap();
        relabelled[..head.len()].copy_from_slice(&head);
        assert!(Ciphertext::from_bytes(&params, &relabelled).is_err());
        header.version = FORMAT_VERSION + 1;
        let newer = [options().serialize(&header).unwrap(), bytes[head.len()..].to_vec()].concat();
        let err = Ciphertext::from_bytes(&params, &newer).unwrap_err();
        assert!(err.to_string().contains("versions 2 to 3"), "{err}");
    }

    #[test]
    fn corrupt_or_mismatched_input_is_an_error_not_a_panic() {
        let params = Preset::InsecureTestN11.build().unwrap();
        let other = Preset::InsecureTestN12.build().unwrap();
        let mut kg = KeyGenerator::from_seed(&params, [1; 32]);
        let sk = kg.secret_key().unwrap();
        let pk = kg.public_key(&sk).unwrap();
        let enc = Encoder::new(&params);
        let pt = enc.encode_real(&[1.0], 2, params.default_scale()).unwrap();
        let ct = Encryptor::from_seed(&pk, [2; 32]).encrypt(&pt).unwrap();
        let bytes = ct.to_bytes().unwrap();

        // Truncation anywhere.
        for cut in [0, 4, 8, 20, 60, bytes.len() / 2, bytes.len() - 1] {
            let err = Ciphertext::from_bytes(&params, &bytes[..cut]).unwrap_err();
            assert!(matches!(err, SchemeError::Format { .. }), "cut {cut}: {err}");
        }
        // Wrong magic, wrong kind, wrong parameters.
        let mut bad = bytes.clone();
        bad[0] ^= 1;
        assert!(Ciphertext::from_bytes(&params, &bad).unwrap_err().to_string().contains("magic"));
        let err = PublicKey::from_bytes(&params, &bytes).unwrap_err();
        assert!(err.to_string().contains("expected a PublicKey, found a Ciphertext"), "{err}");
        let err = Ciphertext::from_bytes(&other, &bytes).unwrap_err();
        assert!(matches!(err, SchemeError::ParameterMismatch { .. }), "{err}");
        // A residue pushed out of range in the payload: the last word of the last limb all
        // ones, so its last residue is `2^w - 1`, at least its `w`-bit prime.
        let mut bad = bytes.clone();
        let len = bad.len();
        bad[len - 8..].fill(0xff);
        let err = Ciphertext::from_bytes(&params, &bad).unwrap_err();
        assert!(matches!(err, SchemeError::Math(_)), "{err}");
        // Random garbage after a valid header.
        let header_len = {
            use bincode::Options;
            options().serialized_size(&header(&params, Kind::Ciphertext)).unwrap() as usize
        };
        let mut junk = bytes[..header_len].to_vec();
        junk.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        assert!(Ciphertext::from_bytes(&params, &junk).is_err());
        // A secret key blob is not loadable as anything the server takes.
        let skb = sk.to_bytes().unwrap();
        assert!(EvaluationKeys::from_bytes(&skb).is_err());
        let mut bad_sk = skb.clone();
        let last = bad_sk.len() - 1;
        bad_sk[last] = 5;
        assert!(SecretKey::from_bytes(&params, &bad_sk).is_err());
    }
}
