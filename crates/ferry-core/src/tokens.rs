//! Secrets handed to people: access link tokens and emailed one-time codes. Only their hashes
//! are stored, and they are compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 256 random bits, URL-safe: link tokens, and machine clients' secrets.
pub fn new_link_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A well-formed link token: 43 URL-safe base64 characters. Anything else is refused before it
/// reaches storage.
pub fn is_link_token(s: &str) -> bool {
    s.len() == 43 && URL_SAFE_NO_PAD.decode(s).is_ok_and(|b| b.len() == 32)
}

/// Six decimal digits, uniformly drawn.
pub fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// The stored form of a link token or code. Codes have only 10^6 values, so their hash is keyed
/// with the link's hash: a leaked table row does not reveal codes of other links by lookup.
pub fn hash_secret(secret: &str, context: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(context.as_bytes());
    hasher.update([0]);
    hasher.update(secret.as_bytes());
    hex::encode(hasher.finalize())
}

pub fn hashes_match(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_carry_256_bits() {
        let token = new_link_token();
        assert!(is_link_token(&token));
        assert_ne!(token, new_link_token());
        assert!(!is_link_token("short"));
        assert!(!is_link_token(&"A".repeat(44)));
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn hashes_depend_on_context() {
        assert_eq!(hash_secret("123456", "a"), hash_secret("123456", "a"));
        assert_ne!(hash_secret("123456", "a"), hash_secret("123456", "b"));
        assert!(hashes_match(&hash_secret("x", "c"), &hash_secret("x", "c")));
        assert!(!hashes_match(
            &hash_secret("x", "c"),
            &hash_secret("y", "c")
        ));
    }
}
