//! Fingerprints that bind files together: the key a file was made under, the job it belongs
//! to.
//!
//! A [`Fingerprint`] is 128 bits, written as 32 lowercase hex digits in JSON and in messages.
//! A key's fingerprint is the first 16 bytes of the SHA-256 of its public key as serialized
//! (the blob header names the parameters, so the fingerprint binds them too): the server, which
//! holds only the public key, computes it itself, and the client records it when the key is
//! made. A job's fingerprint is random, drawn when the job is encrypted, so that a job
//! re-encrypted over an old one never picks up the old one's server state.

use ckks_scheme::{PublicKey, SchemeError};
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// 128 bits that name a key or a job.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// The fingerprint of no key or job (all zero): a file that is bound to nothing.
    pub const NONE: Self = Self([0; 16]);

    /// The first 16 bytes of the SHA-256 of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }

    /// The fingerprint of a key pair, from its public half ([`PublicKey::identity_bytes`]: the
    /// parameters are part of it, the file format version is not).
    pub fn of_public_key(pk: &PublicKey) -> Result<Self, SchemeError> {
        Ok(Self::of_bytes(&pk.identity_bytes()?))
    }

    /// The fingerprint of a parameter set: of its serialized literal (chain, special primes,
    /// scale, slots, secret distribution, name) and its security level
    /// ([`ckks_scheme::Parameters::identity_bytes`]).
    pub fn of_parameters(params: &ckks_scheme::Parameters) -> Result<Self, SchemeError> {
        Ok(Self::of_bytes(&params.identity_bytes()?))
    }

    /// A fresh random fingerprint (a job's).
    pub fn random(rng: &mut impl RngCore) -> Self {
        let mut out = [0u8; 16];
        rng.fill_bytes(&mut out);
        Self(out)
    }

    /// Whether this is [`Fingerprint::NONE`].
    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// Parses 32 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a fingerprint (32 hex digits)")))
    }
}

/// What a file is bound to: the parameters its CKKS objects are under, the key, and the job it
/// belongs to ([`Fingerprint::NONE`] for files outside a job, such as keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Binding {
    /// The parameters' fingerprint ([`Fingerprint::of_parameters`]).
    pub params: Fingerprint,
    /// The key's fingerprint.
    pub key: Fingerprint,
    /// The job's fingerprint.
    pub job: Fingerprint,
}

impl Binding {
    /// Bound to parameters and a key only (key files).
    pub fn key(params: Fingerprint, key: Fingerprint) -> Self {
        Self { params, key, job: Fingerprint::NONE }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Fingerprints of fixed parameters and keys, as the format version 2 build (9219826)
    /// computed them from `to_bytes`: format version 3 packs residues, and every file bound to
    /// a key or parameters before it must still match.
    #[test]
    fn fingerprints_outlive_the_format_version() {
        use ckks_scheme::{KeyGenerator, Preset};
        for (preset, params_fp, key_fp) in [
            (Preset::InsecureTestN11, "166aa5447a795146445325e99675f511", "0d2df06c9a98ceb37ae909bb6b358e43"),
            (Preset::InsecureTrainN12, "edbbc7de668216f80c3192b53b1d9844", "904f554ba6c44de75c68654fd6eef7b0"),
        ] {
            let params = preset.build().unwrap();
            let mut kg = KeyGenerator::from_seed(&params, [1; 32]);
            let sk = kg.secret_key().unwrap();
            let pk = kg.public_key(&sk).unwrap();
            assert_eq!(Fingerprint::of_parameters(&params).unwrap().to_string(), params_fp, "{preset:?}");
            assert_eq!(Fingerprint::of_public_key(&pk).unwrap().to_string(), key_fp, "{preset:?}");
            // The key as written now is smaller, and is not what the fingerprint hashes.
            assert!(pk.to_bytes().unwrap().len() < pk.identity_bytes().unwrap().len());
        }
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in any::<[u8; 16]>()) {
            let f = Fingerprint(bytes);
            prop_assert_eq!(Fingerprint::from_hex(&f.to_string()), Some(f));
            let json = serde_json::to_string(&f).unwrap();
            prop_assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), f);
        }
    }

    #[test]
    fn malformed_hex_is_refused() {
        for s in ["", "00", &"g".repeat(32), &"0".repeat(31), &"0".repeat(33), &"é".repeat(16)] {
            assert_eq!(Fingerprint::from_hex(s), None, "{s}");
        }
        assert!(serde_json::from_str::<Fingerprint>("\"xyz\"").unwrap_err().to_string().contains("xyz"));
    }

    #[test]
    fn digests_differ_and_match_sha256() {
        // SHA-256("abc") starts ba7816bf 8f01cfea 414140de 5dae2223.
        assert_eq!(Fingerprint::of_bytes(b"abc").to_string(), "ba7816bf8f01cfea414140de5dae2223");
        assert_ne!(Fingerprint::of_bytes(b"abc"), Fingerprint::of_bytes(b"abd"));
    }
}
