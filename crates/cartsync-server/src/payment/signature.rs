//! Signed provider callbacks: `Cartsync-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256 of "<t>.<body>">` (Stripe's scheme). The timestamp is part
//! of what is signed, so a captured callback cannot be re-dated; a message
//! older (or newer) than the tolerance is refused, and the store refuses
//! the same signed message twice within it.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header that carries the signature.
pub const HEADER: &str = "cartsync-signature";

/// Why a callback's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the callback is not signed (no Cartsync-Signature header)")]
    Missing,
    #[error("the Cartsync-Signature header is not `t=<seconds>,v1=<hex>`")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature's timestamp is outside the accepted window")]
    Expired,
}

fn mac(secret: &[u8], t: u64, body: &[u8]) -> HmacSha256 {
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts every key length"),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` signed at `t` (providers, tests and the dev
/// lever sign this way).
///
/// ```
/// use cartsync_server::payment::signature::{sign, verify};
/// let h = sign(b"k", 1_700_000_000, b"{}");
/// assert_eq!(verify(b"k", Some(&h), b"{}", 1_700_000_100, 300), Ok(1_700_000_000));
/// assert!(verify(b"k", Some(&h), b"{ }", 1_700_000_100, 300).is_err());
/// ```
pub fn sign(secret: &[u8], t: u64, body: &[u8]) -> String {
    let sig = mac(secret, t, body).finalize().into_bytes();
    let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Checks `header` against `body`; returns the signed timestamp. The MAC
/// is compared in constant time; the window is `tolerance` seconds either
/// side of `now`.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: u64,
    tolerance: u64,
) -> Result<u64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<u64>().ok(),
            Some(("v1", value)) => v1 = decode_hex(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(SignatureError::Malformed);
    };
    mac(secret, t, body)
        .verify_slice(&v1)
        .map_err(|_| SignatureError::Mismatch)?;
    if t.abs_diff(now) > tolerance {
        return Err(SignatureError::Expired);
    }
    Ok(t)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_to_get_it_wrong_is_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(b"secret", 1_000, body);
        assert_eq!(verify(b"secret", Some(&good), body, 1_000, 300), Ok(1_000));
        assert_eq!(verify(b"secret", None, body, 1_000, 300), Err(SignatureError::Missing));
        for bad in ["", "t=1000", "v1=00", "t=x,v1=00", "t=1000,v1=zz"] {
            assert_eq!(
                verify(b"secret", Some(bad), body, 1_000, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify(b"other", Some(&good), body, 1_000, 300),
            Err(SignatureError::Mismatch),
            "another key"
        );
        assert_eq!(
            verify(b"secret", Some(&good), br#"{"id":"evt_2"}"#, 1_000, 300),
            Err(SignatureError::Mismatch),
            "a tampered body"
        );
        let redated = good.replace("t=1000", "t=1200");
        assert_eq!(
            verify(b"secret", Some(&redated), body, 1_200, 300),
            Err(SignatureError::Mismatch),
            "the timestamp is signed too"
        );
        assert_eq!(
            verify(b"secret", Some(&good), body, 1_301, 300),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(b"secret", Some(&good), body, 699, 300),
            Err(SignatureError::Expired)
        );
        assert_eq!(verify(b"secret", Some(&good), body, 1_300, 300), Ok(1_000));
    }
}
