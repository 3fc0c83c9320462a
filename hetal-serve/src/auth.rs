//! Bearer tokens: 32 random bytes from the operating system, given to the client once, stored
//! only as their SHA-256 hash and compared in constant time.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh token: 64 hexadecimal digits of 32 bytes from the OS's random source.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex(&b)
}

/// The stored form of a token: SHA-256 of its text, hexadecimal.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Whether `token` hashes to `stored`, comparing every byte (no early exit on a mismatch).
pub(crate) fn token_matches(token: &str, stored: &str) -> bool {
    let h = hash_token(token);
    h.len() == stored.len() && h.bytes().zip(stored.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_only_their_own_hash_matches() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(token_matches(&a, &hash_token(&a)));
        assert!(!token_matches(&b, &hash_token(&a)));
        assert!(!token_matches("", &hash_token(&a)));
        // The hash is not the token.
        assert_ne!(hash_token(&a), a);
    }
}
