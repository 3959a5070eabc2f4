//! Sorting the server's answers into what the engine understands: a parsed
//! response, a transient failure (retry) or a permanent one (a 4xx body).
//! The binding does the exchange and hands over the status and a way to
//! read the body; every decision about what an answer means is here.

use super::codes;
use super::types::{Failure, RequestKind, Response};
use crate::error::ErrorBody;
use crate::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A response body, read as one of protocol v1's types. The binding
/// implements it over whatever it parsed the JSON into; `None` when there
/// was no body or it is not of that shape.
pub trait AnswerBody {
    fn read<T: DeserializeOwned>(&self) -> Option<T>;
}

/// No body at all (no answer came).
impl AnswerBody for () {
    fn read<T: DeserializeOwned>(&self) -> Option<T> {
        None
    }
}

/// Just the `code` of an error body.
#[derive(Deserialize)]
struct Code {
    code: String,
}

impl RequestKind {
    /// What an answer to this request means. `status` 0: no answer came.
    /// A 2xx whose body is not protocol v1 (a server bug or a proxy's page)
    /// is retried like a 5xx rather than dropping the shopper's mutations.
    pub fn sort<B: AnswerBody>(&self, status: u16, retry_after_ms: Option<u64>, body: &B) -> Result<Response, Failure> {
        let parsed = match (self, status) {
            (RequestKind::CreateCart, 200 | 201) => Some(body.read().map(Response::Created)),
            (RequestKind::Mutations { .. }, 200) => Some(body.read().map(Response::Mutations)),
            (RequestKind::Mutations { .. }, 409) if code(body).as_deref() == Some("version_conflict") => {
                Some(body.read().map(Response::Conflict))
            }
            (RequestKind::Attach { .. }, 200) => Some(body.read().map(Response::Attached)),
            (RequestKind::Checkout { .. }, 200 | 201) => Some(body.read().map(Response::Ordered)),
            (RequestKind::Checkout { .. }, 409) if code(body).as_deref() == Some("checkout_revalidation_failed") => {
                Some(body.read().map(Response::CheckoutRejected))
            }
            _ => None,
        };
        match parsed {
            Some(Some(response)) => Ok(response),
            Some(None) => Err(Failure::Transient {
                retry_after_ms: None,
                error: bad_response(),
            }),
            None => Err(failure(status, retry_after_ms, body)),
        }
    }
}

fn code<B: AnswerBody>(body: &B) -> Option<String> {
    body.read::<Code>().map(|c| c.code)
}

/// The 4xx/5xx sorting the engine relies on: no answer, 5xx, 408 and 429
/// are worth retrying; every other 4xx is the server's final word.
fn failure<B: AnswerBody>(status: u16, retry_after_ms: Option<u64>, body: &B) -> Failure {
    if status == 0 {
        return Failure::Transient {
            retry_after_ms,
            error: network_error(),
        };
    }
    let error = body.read::<ErrorBody>().unwrap_or_else(|| ErrorBody {
        code: if status >= 500 { "server_error" } else { "bad_request" }.into(),
        message: ["the server answered ", &crate::text::decimal(u64::from(status))].concat(),
    });
    if status >= 500 || status == 429 || status == 408 || status < 400 {
        Failure::Transient { retry_after_ms, error }
    } else {
        Failure::Permanent(error)
    }
}

/// No answer came.
pub fn network_error() -> ErrorBody {
    ErrorBody {
        code: codes::NETWORK_ERROR.into(),
        message: "the server could not be reached".into(),
    }
}

fn bad_response() -> ErrorBody {
    ErrorBody {
        code: codes::BAD_RESPONSE.into(),
        message: "the server's answer is not protocol v1".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body held as JSON (what the binding has after `response.json()`).
    struct Json(serde_json::Value);

    impl AnswerBody for Json {
        fn read<T: DeserializeOwned>(&self) -> Option<T> {
            serde_json::from_value(self.0.clone()).ok()
        }
    }

    fn batch() -> RequestKind {
        RequestKind::Mutations {
            token: "t".into(),
            body: crate::protocol::v1::MutationsRequest { mutations: vec![] },
        }
    }

    fn cart() -> serde_json::Value {
        serde_json::json!({"version": 3, "lines": [], "coupons": []})
    }

    #[test]
    fn statuses_sort_into_responses_and_failures() {
        let ok = Json(serde_json::json!({"cart": cart(), "results": []}));
        assert!(matches!(batch().sort(200, None, &ok), Ok(Response::Mutations(_))));
        let conflict = Json(serde_json::json!({"code": "version_conflict", "message": "m", "cart": cart()}));
        assert!(matches!(batch().sort(409, None, &conflict), Ok(Response::Conflict(_))));
        let closed = Json(serde_json::json!({"code": "cart_closed", "message": "closed"}));
        assert_eq!(
            batch().sort(409, None, &closed),
            Err(Failure::Permanent(ErrorBody {
                code: "cart_closed".into(),
                message: "closed".into()
            }))
        );
        for status in [0, 408, 429, 500, 503] {
            assert!(
                matches!(
                    batch().sort(status, Some(7), &()),
                    Err(Failure::Transient {
                        retry_after_ms: Some(7),
                        ..
                    })
                ),
                "{status}"
            );
        }
        let Err(Failure::Transient { error, .. }) = batch().sort(0, None, &()) else {
            panic!("no answer is transient")
        };
        assert_eq!(error.code, codes::NETWORK_ERROR);
    }

    #[test]
    fn a_2xx_that_is_not_protocol_v1_is_retried() {
        let page = Json(serde_json::json!("<html>"));
        assert!(matches!(
            batch().sort(200, None, &page),
            Err(Failure::Transient { error, .. }) if error.code == codes::BAD_RESPONSE
        ));
        assert!(matches!(
            RequestKind::CreateCart.sort(201, None, &page),
            Err(Failure::Transient { .. })
        ));
    }

    #[test]
    fn checkout_answers() {
        let checkout = RequestKind::Checkout {
            token: "t".into(),
            key: "k".into(),
            body: crate::protocol::v1::CheckoutRequest {
                expected_total: crate::money::Money::new(100, "EUR"),
            },
        };
        let rejected = Json(serde_json::json!({
            "code": "checkout_revalidation_failed", "message": "m", "problems": [], "cart": cart()
        }));
        assert!(matches!(
            checkout.sort(409, None, &rejected),
            Ok(Response::CheckoutRejected(_))
        ));
        let other = Json(serde_json::json!({"code": "cart_closed", "message": "m"}));
        assert!(matches!(checkout.sort(409, None, &other), Err(Failure::Permanent(_))));
        assert_eq!(checkout.idempotency_key(), Some("k"));
        assert_eq!(checkout.path(), "/carts/t/checkout");
    }
}
