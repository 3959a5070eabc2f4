//! Cart tokens: 192 random bits from the OS, URL-safe base64 (32 chars).
//! Only their SHA-256 is stored, so a database leak does not leak carts.

use crate::store::TokenHash;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Random bytes per token (192 bits, above the 128-bit floor).
const TOKEN_BYTES: usize = 24;
/// Encoded length of a token.
pub const TOKEN_LEN: usize = 32;

/// OS randomness. The OS source failing is not something a server can work
/// around, so it surfaces as an error the caller turns into a 500.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// A fresh token and the hash to store.
///
/// ```
/// let (token, hash) = cartsync_server::tokens::mint().unwrap();
/// assert_eq!(token.len(), 32);
/// assert_eq!(cartsync_server::tokens::hash(&token), Some(hash));
/// ```
pub fn mint() -> Result<(String, TokenHash), getrandom::Error> {
    let bytes: [u8; TOKEN_BYTES] = random_bytes()?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let h = sha256(token.as_bytes());
    Ok((token, h))
}

/// The stored form of a token, or `None` if it cannot be one of ours (then
/// the cart is simply not found).
pub fn hash(token: &str) -> Option<TokenHash> {
    let well_formed = token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| sha256(token.as_bytes()))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = Sha256::digest(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_url_safe_and_hash_back() {
        let (a, ha) = mint().unwrap();
        let (b, _) = mint().unwrap();
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(hash(&a), Some(ha));
        assert_eq!(hash("short"), None);
        assert_eq!(hash(&"%".repeat(32)), None);
    }
}
