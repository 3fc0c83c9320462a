//! Blobs written by an attacker: headers that claim hundreds of primes, prime sizes out of
//! range, a 128-bit claim for insecure parameters, declared lengths beyond the input, and
//! random byte mutations. Each is refused with a typed error (or loads into something
//! consistent), never a panic, and the refusals allocate little: they happen before any prime
//! is generated. Allocations are counted per thread by the allocator below.

use bincode::Options;
use ckks_scheme::security::{SecretDistribution, SecurityError, SecurityLevel};
use ckks_scheme::serialize::{read_header, Header, Kind, FORMAT_VERSION, MAGIC};
use ckks_scheme::*;
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting on each thread the bytes requested and the largest request.
struct Counting;

thread_local! {
    static TOTAL: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    // try_with: allocations during thread teardown find the counters gone.
    let _ = TOTAL.try_with(|t| t.set(t.get() + size));
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is forwarded to `System` with the same arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result with the bytes it allocated on this thread in all and in
/// its largest request.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    TOTAL.with(|t| t.set(0));
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, TOTAL.with(Cell::get), LARGEST.with(Cell::get))
}

/// The bincode options of the blob format.
fn format() -> impl Options {
    bincode::DefaultOptions::new().with_fixint_encoding()
}

/// A blob of `kind` with the given header fields and no body.
fn blob(kind: Kind, params: ParametersBuilder, security: SecurityLevel) -> Vec<u8> {
    let header = Header { magic: MAGIC, version: FORMAT_VERSION, kind, params, security };
    format().serialize(&(header, ())).unwrap()
}

/// `bytes` with its header changed by `edit` (the body kept as it is).
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut Header)) -> Vec<u8> {
    let mut header = read_header(bytes).unwrap();
    let old_len = format().serialized_size(&header).unwrap() as usize;
    edit(&mut header);
    let mut out = format().serialize(&header).unwrap();
    out.extend_from_slice(&bytes[old_len..]);
    out
}

/// A chain that passes the 128-bit table at `N = 2^13` (190 of 218 bits).
fn secure_n13() -> ParametersBuilder {
    ParametersBuilder::new(13).q_bits(vec![50, 40, 40]).p_bits(vec![60]).name("secure-n13")
}

fn invalid_parameters(err: &SchemeError) -> &str {
    match err {
        SchemeError::InvalidParameters { reason } => reason,
        other => panic!("expected InvalidParameters, got {other:?}"),
    }
}

#[test]
fn the_crafted_blobs_are_the_real_format() {
    let params = Preset::InsecureTestN11.build().unwrap();
    let crafted = blob(Kind::Parameters, params.builder().clone(), SecurityLevel::Insecure);
    assert_eq!(crafted, params.to_bytes().unwrap());
    let bytes = params.to_bytes().unwrap();
    assert_eq!(with_header(&bytes, |_| {}), bytes);
}

#[test]
fn headers_claiming_hundreds_of_primes_are_refused_before_building() {
    // At N = 2^17, as in the reported attack: 500 primes took 2.4 GB and 13 s, 1500 aborted.
    let q_max = ParametersBuilder::MAX_Q_PRIMES;
    let p_max = ParametersBuilder::MAX_P_PRIMES;
    for (over_p, max) in [(false, q_max), (true, p_max)] {
        for count in [max + 1, 500, 1500] {
            let mut b = Preset::InsecureTestN13.builder();
            b.log_n = 17;
            if over_p {
                b.p_bits = vec![60; count];
            } else {
                b.q_bits = std::iter::once(60).chain(std::iter::repeat_n(40, count - 1)).collect();
            }
            for security in [SecurityLevel::Insecure, SecurityLevel::Classical128] {
                for kind in [Kind::Parameters, Kind::EvaluationKeys] {
                    let bytes = blob(kind, b.clone(), security);
                    let (result, total, largest) = measured(|| match kind {
                        Kind::Parameters => Parameters::from_bytes(&bytes).map(|_| ()),
                        _ => EvaluationKeys::from_bytes(&bytes).map(|_| ()),
                    });
                    let err = result.unwrap_err();
                    let reason = invalid_parameters(&err);
                    assert!(reason.contains(&format!("{count} ")) && reason.contains(&max.to_string()), "{reason}");
                    // The header decoded (twice at most) and nothing built: a few copies of
                    // the blob, where one NTT table at N = 2^17 alone is 1 MiB.
                    assert!(total < 8 * bytes.len() + 64 * 1024, "{total} bytes for a {}-byte blob", bytes.len());
                    assert!(largest <= 2 * bytes.len(), "{largest} bytes at once");
                }
            }
        }
    }
    // The limits themselves are accepted (prime generation only: N = 2^10 keeps it cheap).
    let b = ParametersBuilder::new(10)
        .q_bits(std::iter::once(60).chain(std::iter::repeat_n(50, q_max - 1)).collect())
        .p_bits(vec![61; p_max]);
    let params = b.build_insecure().unwrap();
    assert_eq!((params.max_level() + 1, params.alpha()), (q_max, p_max));
}

#[test]
fn the_allocation_counter_sees_a_build() {
    // Guards the bound above: a real build at N = 2^11 (7 NTT tables of 2048 words) counts.
    let (params, total, largest) = measured(|| Preset::InsecureTestN11.build().unwrap());
    assert!(total > 7 * 2048 * 8, "{total}");
    assert!(largest >= 2048 * 8, "{largest}");
    assert_eq!(params.degree(), 2048);
}

#[test]
fn prime_sizes_out_of_range_are_refused() {
    // At N = 2^12 a prime = 1 mod 2N has at least 14 bits; `Modulus` holds up to 61.
    let base = Preset::InsecureTestN12.builder();
    let cases = [
        (base.clone().q_bits(vec![55, 40, 13]), "q_2 has 13 bits, outside 14..=61"),
        (base.clone().q_bits(vec![62, 40]), "q_0 has 62 bits"),
        (base.clone().q_bits(vec![55, 0]), "q_1 has 0 bits"),
        (base.clone().q_bits(vec![55, u32::MAX]), "q_1 has 4294967295 bits"),
        (base.clone().p_bits(vec![60, 64]), "p_1 has 64 bits"),
        (base.clone().p_bits(vec![9]), "p_0 has 9 bits"),
    ];
    for (b, expected) in cases {
        for result in [b.clone().build_insecure(), b.clone().build()] {
            let err = result.unwrap_err();
            assert!(invalid_parameters(&err).contains(expected), "{err}");
        }
        // The same literal from a file.
        let err = Parameters::from_bytes(&blob(Kind::Parameters, b, SecurityLevel::Insecure)).unwrap_err();
        assert!(invalid_parameters(&err).contains(expected), "{err}");
    }
    // At N = 2^10 the lower end is 12 bits (the minimum of the prime search).
    let err = ParametersBuilder::new(10).q_bits(vec![50, 11]).p_bits(vec![60]).build_insecure().unwrap_err();
    assert!(invalid_parameters(&err).contains("q_1 has 11 bits, outside 12..=61"), "{err}");
    // The upper end itself builds.
    assert!(base.p_bits(vec![61, 61]).build_insecure().is_ok());
}

#[test]
fn a_classical128_claim_is_checked_not_trusted() {
    // N = 2^12 with 415 bits of chain: refused before any prime is generated.
    let insecure = Preset::InsecureTestN12.builder();
    for kind in [Kind::Parameters, Kind::EvaluationKeys] {
        let bytes = blob(kind, insecure.clone(), SecurityLevel::Classical128);
        let (result, total, _) = measured(|| match kind {
            Kind::Parameters => Parameters::from_bytes(&bytes).map(|_| ()),
            _ => EvaluationKeys::from_bytes(&bytes).map(|_| ()),
        });
        let err = result.unwrap_err();
        assert!(
            matches!(err, SchemeError::Security(SecurityError::ModulusTooLarge { n: 4096, bound: 109, .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("415"), "{err}");
        assert!(total < 64 * 1024, "{total}");
    }
    // Refused before any prime is generated: a 14-bit prime = 1 mod 2^13 does not exist
    // (8193 = 3 * 2731), which the prime search reports for the same chain built insecure.
    let no_primes = ParametersBuilder::new(12).q_bits(vec![50, 14]).p_bits(vec![60]);
    let err = no_primes.clone().build_insecure().unwrap_err();
    assert!(matches!(err, SchemeError::Math(_)), "{err:?}");
    let err = Parameters::from_bytes(&blob(Kind::Parameters, no_primes, SecurityLevel::Classical128)).unwrap_err();
    assert!(matches!(err, SchemeError::Security(SecurityError::ModulusTooLarge { bound: 109, .. })), "{err:?}");
    // Just above the bound (nominal 110 bits, real 109.99): refused by the exact check on the
    // real primes, which the early check leaves to it.
    let near = ParametersBuilder::new(12).q_bits(vec![50]).p_bits(vec![60]);
    let err = Parameters::from_bytes(&blob(Kind::Parameters, near.clone(), SecurityLevel::Classical128)).unwrap_err();
    assert!(matches!(err, SchemeError::Security(SecurityError::ModulusTooLarge { bound: 109, .. })), "{err:?}");
    assert!(near.build_insecure().is_ok());
    // A sparse secret is not covered by the table: refused whatever the chain.
    let sparse = secure_n13().secret(SecretDistribution::SparseTernary { hamming_weight: 64 });
    let err = Parameters::from_bytes(&blob(Kind::Parameters, sparse, SecurityLevel::Classical128)).unwrap_err();
    assert!(matches!(err, SchemeError::Security(SecurityError::SecretNotCovered { .. })), "{err:?}");
    // A real secure chain keeps its claim through a round trip.
    let secure = secure_n13().build().unwrap();
    let loaded = Parameters::from_bytes(&secure.to_bytes().unwrap()).unwrap();
    assert_eq!(loaded.security(), SecurityLevel::Classical128);
}

#[test]
fn an_insecure_claim_loads_as_insecure() {
    let secure = secure_n13().build().unwrap();
    assert_eq!(secure.security(), SecurityLevel::Classical128);
    let bytes = with_header(&secure.to_bytes().unwrap(), |h| h.security = SecurityLevel::Insecure);
    let loaded = Parameters::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.security(), SecurityLevel::Insecure);
    assert!(loaded.summary().contains("INSECURE"), "{}", loaded.summary());
    assert_eq!(loaded.q_basis().moduli(), secure.q_basis().moduli());
    assert_ne!(loaded, secure);

    // A server's bundle: its parameters come from the header, claim included.
    let mut kg = KeyGenerator::from_seed(&secure, [5; 32]);
    let sk = kg.secret_key().unwrap();
    let bundle = kg.evaluation_keys(&sk, &[], false).unwrap().to_bytes().unwrap();
    assert_eq!(EvaluationKeys::from_bytes(&bundle).unwrap().params.security(), SecurityLevel::Classical128);
    let relabelled = with_header(&bundle, |h| h.security = SecurityLevel::Insecure);
    let keys = EvaluationKeys::from_bytes(&relabelled).unwrap();
    assert_eq!(keys.params.security(), SecurityLevel::Insecure);
    assert!(keys.params.describe().contains("INSECURE"));
    // Loading it under the secure parameters is a mismatch, not a silent relabel.
    let err = EvaluationKeys::from_bytes_with(&secure, &relabelled).unwrap_err();
    assert!(matches!(err, SchemeError::ParameterMismatch { .. }), "{err:?}");
}

#[test]
fn sparse_hamming_weights_are_bounded_by_the_degree() {
    let n = 1usize << 11;
    let b = Preset::InsecureTestN11.builder();
    for h in [0, n + 1, usize::MAX] {
        let sparse = b.clone().secret(SecretDistribution::SparseTernary { hamming_weight: h });
        let err = sparse.clone().build_insecure().unwrap_err();
        assert!(invalid_parameters(&err).contains(&format!("Hamming weight {h} for N = {n}")), "{err}");
        let err = Parameters::from_bytes(&blob(Kind::Parameters, sparse, SecurityLevel::Insecure)).unwrap_err();
        assert!(matches!(err, SchemeError::InvalidParameters { .. }), "{err:?}");
    }
    let params = b.clone().secret(SecretDistribution::SparseTernary { hamming_weight: n }).build_insecure().unwrap();
    assert_eq!(params.secret_distribution(), SecretDistribution::SparseTernary { hamming_weight: n });
    // The weight of bootstrapping's encapsulation parameters comes from a key file.
    // (InsecureTestN12: its q_0 fits under p_0, which encapsulation needs.)
    let params = Preset::InsecureTestN12.build().unwrap();
    let n = params.degree();
    for h in [0, n + 1] {
        let err = params.encapsulation_parameters(h).unwrap_err();
        assert!(invalid_parameters(&err).contains(&format!("Hamming weight {h} for N = {n}")), "{err}");
    }
    assert!(params.encapsulation_parameters(32).is_ok());
}

/// A level-1 ciphertext at `N = 2^11` and its blob.
fn ciphertext_blob() -> (Parameters, Vec<u8>) {
    let params = Preset::InsecureTestN11.build().unwrap();
    let mut kg = KeyGenerator::from_seed(&params, [1; 32]);
    let sk = kg.secret_key().unwrap();
    let pt = Encoder::new(&params).encode_real(&[0.5, -0.25], 1, params.default_scale()).unwrap();
    let ct = SymmetricEncryptor::from_seed(&sk, [2; 32]).encrypt(&pt).unwrap().expand().unwrap();
    let bytes = ct.to_bytes().unwrap();
    (params, bytes)
}

#[test]
fn declared_lengths_beyond_the_input_allocate_nothing_large() {
    let (params, bytes) = ciphertext_blob();
    let header_len = format().serialized_size(&read_header(&bytes).unwrap()).unwrap() as usize;
    // Body: scale (hi, lo), the number of components, then each component's length and words
    // (two limbs, each residue at its prime's width).
    let components = header_len + 16;
    let first_len = components + 8;
    assert_eq!(u64::from_le_bytes(bytes[components..first_len].try_into().unwrap()), 2);
    let bits: u64 = params.q_basis().moduli()[..2].iter().map(|q| u64::from(64 - q.value().leading_zeros())).sum();
    assert_eq!(u64::from_le_bytes(bytes[first_len..first_len + 8].try_into().unwrap()), 2048 * bits / 64);
    for (at, claim) in [(components, u64::MAX), (components, 1 << 40), (first_len, 1 << 40), (first_len, u64::MAX >> 3)]
    {
        let mut bad = bytes.clone();
        bad[at..at + 8].copy_from_slice(&claim.to_le_bytes());
        bad.truncate(first_len + 8 + 4096); // a small input claiming a huge vector
        let (result, _, largest) = measured(|| Ciphertext::from_bytes(&params, &bad));
        let err = result.unwrap_err();
        assert!(matches!(err, SchemeError::Format { .. }), "{err:?}");
        // serde preallocates at most 1 MiB for a sequence, whatever its declared length.
        assert!(largest <= 1 << 20, "{largest} bytes at once for a claim of {claim}");
    }
    // A name claiming 2^40 bytes in a Parameters header (the name is the builder's last
    // String; its length sits before its bytes): refused as soon as the length is read.
    let params_bytes = params.to_bytes().unwrap();
    let name = params.builder().name.as_bytes();
    let at = params_bytes.windows(name.len()).position(|w| w == name).unwrap() - 8;
    let mut bad = params_bytes.clone();
    bad[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let (result, total, _) = measured(|| Parameters::from_bytes(&bad));
    assert!(matches!(result, Err(SchemeError::Format { .. })), "{result:?}");
    assert!(total < 64 * 1024, "{total}");
}

#[test]
fn a_scale_that_is_not_a_normalized_double_double_is_refused() {
    let (params, bytes) = ciphertext_blob();
    let header_len = format().serialized_size(&read_header(&bytes).unwrap()).unwrap() as usize;
    let lo = header_len + 8;
    for bad_lo in [f64::NAN, f64::INFINITY, 1.0] {
        let mut bad = bytes.clone();
        bad[lo..lo + 8].copy_from_slice(&bad_lo.to_le_bytes());
        let err = Ciphertext::from_bytes(&params, &bad).unwrap_err();
        assert!(matches!(err, SchemeError::Format { .. }), "{bad_lo}: {err:?}");
    }
    assert!(Ciphertext::from_bytes(&params, &bytes).is_ok());
}

/// `bytes` with the given `(position, value)` writes (positions taken modulo the length).
fn mutated(bytes: &[u8], edits: &[(usize, u8)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(at, value) in edits {
        let len = out.len();
        out[at % len] = value;
    }
    out
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    proptest::collection::vec((any::<usize>(), any::<u8>()), 1..=4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn literals_with_too_many_primes_or_bad_sizes_are_refused_before_building(
        log_n in 0..=20u32,
        q_bits in proptest::collection::vec(0..=70u32, 0..=80),
        p_bits in proptest::collection::vec(0..=70u32, 0..=24),
        violation in 0..4usize,
        log_scale in 0..=70u32,
        slots in proptest::option::of(0..=(1usize << 17)),
        hamming_weight in any::<usize>(),
        secure in any::<bool>(),
    ) {
        let mut b = ParametersBuilder { log_n, q_bits, p_bits, log_scale, slots, ..ParametersBuilder::new(log_n) };
        b.secret = SecretDistribution::SparseTernary { hamming_weight };
        // Whatever else it holds, the literal breaks one bound; nothing is built for it.
        match violation {
            0 => b.q_bits.resize(ParametersBuilder::MAX_Q_PRIMES + 1, 40),
            1 => b.p_bits.resize(ParametersBuilder::MAX_P_PRIMES + 1, 60),
            2 => b.q_bits.push(62),
            _ => b.p_bits.push(log_n.min(9)),
        }
        let security = if secure { SecurityLevel::Classical128 } else { SecurityLevel::Insecure };
        let bytes = blob(Kind::Parameters, b, security);
        let (result, total, _) = measured(|| Parameters::from_bytes(&bytes));
        prop_assert!(matches!(result, Err(SchemeError::InvalidParameters { .. })), "{:?}", result);
        prop_assert!(total < 8 * bytes.len() + 64 * 1024, "{} bytes", total);
    }

    #[test]
    fn mutated_parameter_blobs_never_panic(edits in edits(), cut in any::<bool>()) {
        let bytes = Preset::InsecureTestN11.build().unwrap().to_bytes().unwrap();
        let mut bad = mutated(&bytes, &edits);
        if cut {
            bad.truncate(edits[0].0 % bytes.len());
        }
        if let Ok(params) = Parameters::from_bytes(&bad) {
            // What loads is what the header says, its claim verified.
            let header = read_header(&bad).unwrap();
            prop_assert_eq!(params.builder(), &header.params);
            prop_assert_eq!(params.security(), header.security);
            prop_assert!(params.max_level() < ParametersBuilder::MAX_Q_PRIMES);
            prop_assert!(params.alpha() <= ParametersBuilder::MAX_P_PRIMES);
            if params.security() == SecurityLevel::Classical128 {
                let dist = params.secret_distribution();
                prop_assert!(security::check_security(params.degree(), params.log_qp(), dist).is_ok());
            }
        }
    }

    #[test]
    fn mutated_ciphertext_blobs_never_panic(edits in edits(), cut in any::<bool>()) {
        let (params, bytes) = ciphertext_blob();
        let mut bad = mutated(&bytes, &edits);
        if cut {
            bad.truncate(edits[0].0 % bytes.len());
        }
        if let Ok(ct) = Ciphertext::from_bytes(&params, &bad) {
            // Whatever loads writes back the very bytes it came from.
            prop_assert_eq!(ct.to_bytes().unwrap(), bad);
        }
    }
}
