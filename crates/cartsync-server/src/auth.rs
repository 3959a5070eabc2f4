//! User tokens: HS256 JWTs signed with the configured secret. A small
//! hmac + sha2 + base64 implementation: we only ever issue and accept one
//! header, so a general JWT library buys nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The only header we issue and accept (`alg: none` and friends are refused
/// by construction: the header must be byte-identical).
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
}

/// Signs and verifies user tokens.
#[derive(Clone)]
pub struct Jwt {
    secret: Vec<u8>,
}

impl Jwt {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Jwt { secret: secret.into() }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts every key length"),
        }
    }

    /// Issues a token for `user` valid until `exp` (seconds since epoch).
    ///
    /// ```
    /// use cartsync_server::auth::Jwt;
    /// let jwt = Jwt::new("secret");
    /// let t = jwt.issue("ada", 4_000_000_000);
    /// assert_eq!(jwt.verify(&t, 1_000).unwrap().sub, "ada");
    /// ```
    pub fn issue(&self, user: &str, exp: u64) -> String {
        let claims = Claims {
            sub: user.to_string(),
            exp,
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = mac.finalize().into_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Checks signature (constant time), header and expiry.
    pub fn verify(&self, token: &str, now_secs: u64) -> Result<Claims, AuthError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(AuthError::Malformed);
        };
        let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| AuthError::Malformed)?;
        let mut mac = self.mac();
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&sig).map_err(|_| AuthError::BadSignature)?;
        let header = URL_SAFE_NO_PAD.decode(h).map_err(|_| AuthError::Malformed)?;
        if header != HEADER.as_bytes() {
            return Err(AuthError::Malformed);
        }
        let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| AuthError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| AuthError::Malformed)?;
        if claims.exp <= now_secs {
            return Err(AuthError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_tamper_and_expiry() {
        let jwt = Jwt::new("k");
        let t = jwt.issue("ada", 100);
        assert_eq!(jwt.verify(&t, 50).unwrap().sub, "ada");
        assert_eq!(jwt.verify(&t, 100), Err(AuthError::Expired));
        assert_eq!(Jwt::new("other").verify(&t, 50), Err(AuthError::BadSignature));
        let forged = t.replacen('e', "f", 1);
        assert!(jwt.verify(&forged, 50).is_err());
        assert_eq!(jwt.verify("a.b", 50), Err(AuthError::Malformed));
        assert_eq!(jwt.verify("", 50), Err(AuthError::Malformed));
    }
}
