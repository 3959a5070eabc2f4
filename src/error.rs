//! Errors cross to JavaScript as `{error: {code, message}}` in a method's
//! JSON answer; the package's JS turns them into `CartError` objects (a real
//! `Error` with `name = "CartError"` and a stable `code`), never strings.

use cartsync_core::{CartError, ErrorBody};

/// Codes only the browser binding produces (the core's are in
/// `CartError::CODES`).
pub mod codes {
    /// The request never got an answer (offline, DNS, CORS, reset).
    pub const NETWORK_ERROR: &str = "network_error";
    /// The server answered with something that is not protocol v1.
    pub const BAD_RESPONSE: &str = "bad_response";
    /// The operation needs a cart token and there is none yet.
    pub const NO_CART: &str = "no_cart";
}

pub fn cart_error(code: &str, message: &str) -> ErrorBody {
    ErrorBody {
        code: code.into(),
        message: message.into(),
    }
}

/// A core error with its code and message.
pub fn from_core(error: &CartError) -> ErrorBody {
    cart_error(error.code(), &error.message())
}

/// `bad_request` naming what was wrong with the caller's argument.
pub fn bad_argument(message: impl AsRef<str>) -> ErrorBody {
    cart_error("bad_request", message.as_ref())
}
