//! Sorting the server's answers into what the engine understands: a parsed
//! response, a transient failure (retry) or a permanent one (a 4xx body).
//! The binding does the exchange and hands over the status and a way to
//! read the body; every decision about what an answer means is here.

use super::codes;
use super::types::{Failure, RequestKind, Response};
use crate::authority::MutationResult;
use crate::error::ErrorBody;
use crate::merge::MergeReport;
use crate::prelude::*;
use crate::protocol::v1;
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

/// Every answer body the client reads, as one flat shape: the fields of
/// all of protocol v1's responses, each optional. Read once and converted
/// to the typed response the request calls for (as `WireCommand` does for
/// commands): each response type read on its own would cost the browser
/// build its own monomorphised reader. The conversion is checked against
/// every response type in the tests below, so the two cannot drift.
#[derive(Debug, Default, Deserialize)]
struct AnyAnswer {
    code: Option<String>,
    message: Option<String>,
    token: Option<String>,
    cart: Option<v1::CartView>,
    results: Option<Vec<MutationResult>>,
    merge_report: Option<MergeReport>,
    order: Option<v1::Order>,
    problems: Option<Vec<v1::CheckoutProblem>>,
}

impl AnyAnswer {
    /// The response `kind` gets with `status`, if the body is one.
    fn response(self, kind: &RequestKind, status: u16) -> Option<Option<Response>> {
        let a = self;
        Some(match (kind, status) {
            (RequestKind::CreateCart, 200 | 201) => a
                .token
                .zip(a.cart)
                .map(|(token, cart)| Response::Created(v1::CreateCartResponse { token, cart })),
            (RequestKind::Mutations { .. }, 200) => a.cart.map(|cart| {
                Response::Mutations(v1::MutationsResponse {
                    cart,
                    results: a.results.unwrap_or_default(),
                })
            }),
            (RequestKind::Mutations { .. }, 409) if a.code.as_deref() == Some("version_conflict") => {
                a.cart.map(|cart| {
                    Response::Conflict(v1::ConflictResponse {
                        code: a.code.unwrap_or_default(),
                        message: a.message.unwrap_or_default(),
                        cart,
                        results: a.results.unwrap_or_default(),
                    })
                })
            }
            (RequestKind::Attach { .. }, 200) => match (a.token, a.cart, a.merge_report) {
                (Some(token), Some(cart), Some(merge_report)) => Some(Response::Attached(v1::AttachResponse {
                    token,
                    cart,
                    merge_report,
                })),
                _ => None,
            },
            (RequestKind::Checkout { .. }, 200 | 201) => {
                a.order.map(|order| Response::Ordered(v1::CheckoutResponse { order }))
            }
            (RequestKind::Checkout { .. }, 409) if a.code.as_deref() == Some("checkout_revalidation_failed") => {
                match (a.problems, a.cart) {
                    (Some(problems), Some(cart)) => Some(Response::CheckoutRejected(v1::CheckoutRejected {
                        code: a.code.unwrap_or_default(),
                        message: a.message.unwrap_or_default(),
                        problems,
                        cart,
                    })),
                    _ => None,
                }
            }
            _ => return None,
        })
    }

    /// The error body it is, if it is one.
    fn error(self) -> Option<ErrorBody> {
        Some(ErrorBody {
            code: self.code?,
            message: self.message?,
        })
    }
}

impl RequestKind {
    /// What an answer to this request means. `status` 0: no answer came.
    /// A 2xx whose body is not protocol v1 (a server bug or a proxy's page)
    /// is retried like a 5xx rather than dropping the shopper's mutations.
    pub fn sort<B: AnswerBody>(&self, status: u16, retry_after_ms: Option<u64>, body: &B) -> Result<Response, Failure> {
        match body.read::<AnyAnswer>() {
            Some(a) => match a.response_or_error(self, status) {
                Ok(Some(response)) => Ok(response),
                Ok(None) => Err(Failure::Transient {
                    retry_after_ms: None,
                    error: bad_response(),
                }),
                Err(error) => Err(failure(status, retry_after_ms, error)),
            },
            // No body, or not JSON: a 2xx is not protocol v1; else its status says.
            None if (200..300).contains(&status) && status != 204 => Err(Failure::Transient {
                retry_after_ms: None,
                error: bad_response(),
            }),
            None => Err(failure(status, retry_after_ms, None)),
        }
    }
}

impl AnyAnswer {
    /// `Ok(response)` when the request and status call for one (`None`
    /// when the body is not it), else `Err` with the error body, if any.
    fn response_or_error(self, kind: &RequestKind, status: u16) -> Result<Option<Response>, Option<ErrorBody>> {
        if is_response(kind, status, self.code.as_deref()) {
            return Ok(self.response(kind, status).flatten());
        }
        Err(self.error())
    }
}

/// Whether `kind` answered with `status` (and this error code) is a
/// response the engine reads rather than a failure.
fn is_response(kind: &RequestKind, status: u16, code: Option<&str>) -> bool {
    matches!(
        (kind, status, code),
        (RequestKind::CreateCart, 200 | 201, _)
            | (RequestKind::Mutations { .. }, 200, _)
            | (RequestKind::Mutations { .. }, 409, Some("version_conflict"))
            | (RequestKind::Attach { .. }, 200, _)
            | (RequestKind::Checkout { .. }, 200 | 201, _)
            | (RequestKind::Checkout { .. }, 409, Some("checkout_revalidation_failed"))
    )
}

/// The 4xx/5xx sorting the engine relies on: no answer, 5xx, 408 and 429
/// are worth retrying; every other 4xx is the server's final word.
fn failure(status: u16, retry_after_ms: Option<u64>, body: Option<ErrorBody>) -> Failure {
    if status == 0 {
        return Failure::Transient {
            retry_after_ms,
            error: network_error(),
        };
    }
    let error = body.unwrap_or_else(|| ErrorBody {
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

    /// Every response type read through the flat shape comes back equal:
    /// a field added to a response and forgotten in `AnyAnswer` fails here.
    #[test]
    fn the_flat_reader_reads_every_response_type_whole() {
        use crate::protocol::v1::*;
        let cart: CartView = serde_json::from_value(cart()).unwrap();
        let result = MutationResult {
            id: crate::model::MutationId::from_random_bytes([3; 16]),
            status: crate::authority::MutationStatus::Applied,
            version: 4,
            error: None,
        };
        let order: Order = serde_json::from_value(serde_json::json!({
            "id": "o1", "status": "pending_payment", "coupons": ["SAVE"], "shipping_option": "express",
            "lines": [{"sku": "tee", "options": {"size": "M"}, "quantity": 2, "name": "Tee",
                       "unit_price": {"amount": 1500, "currency": "EUR"}}],
            "totals": {"subtotal": {"amount": 3000, "currency": "EUR"}, "discount": {"amount": 0, "currency": "EUR"},
                       "estimated_total": {"amount": 3000, "currency": "EUR"}},
            "created_at": 7
        }))
        .unwrap();
        let report: MergeReport = serde_json::from_value(serde_json::json!({
            "summed": [{"sku": "a", "options": {}, "account_quantity": 1, "anonymous_quantity": 2, "quantity": 3, "excess": 0}],
            "added": [{"sku": "b", "options": {}, "quantity": 1}], "dropped": [],
            "coupons_pending": ["X"], "coupons_dropped": [], "shipping_option": null
        }))
        .unwrap();
        let checkout = RequestKind::Checkout {
            token: "t".into(),
            key: "k".into(),
            body: CheckoutRequest {
                expected_total: crate::money::Money::new(1, "EUR"),
                expected_tax: None,
            },
        };
        let cases: Vec<(RequestKind, u16, Response)> = vec![
            (
                RequestKind::CreateCart,
                201,
                Response::Created(CreateCartResponse {
                    token: "t".into(),
                    cart: cart.clone(),
                }),
            ),
            (
                batch(),
                200,
                Response::Mutations(MutationsResponse {
                    cart: cart.clone(),
                    results: vec![result.clone()],
                }),
            ),
            (
                batch(),
                409,
                Response::Conflict(ConflictResponse {
                    code: "version_conflict".into(),
                    message: "m".into(),
                    cart: cart.clone(),
                    results: vec![result],
                }),
            ),
            (
                RequestKind::Attach { token: "t".into() },
                200,
                Response::Attached(AttachResponse {
                    token: "a".into(),
                    cart: cart.clone(),
                    merge_report: report,
                }),
            ),
            (checkout.clone(), 201, Response::Ordered(CheckoutResponse { order })),
            (
                checkout,
                409,
                Response::CheckoutRejected(CheckoutRejected {
                    code: "checkout_revalidation_failed".into(),
                    message: "m".into(),
                    problems: vec![CheckoutProblem::TotalChanged {
                        expected: crate::money::Money::new(1, "EUR"),
                        actual: crate::money::Money::new(2, "EUR"),
                    }],
                    cart,
                }),
            ),
        ];
        for (kind, status, response) in cases {
            let json = match &response {
                Response::Created(r) => serde_json::to_value(r),
                Response::Mutations(r) => serde_json::to_value(r),
                Response::Conflict(r) => serde_json::to_value(r),
                Response::Attached(r) => serde_json::to_value(r),
                Response::Ordered(r) => serde_json::to_value(r),
                Response::CheckoutRejected(r) => serde_json::to_value(r),
            }
            .unwrap();
            assert_eq!(kind.sort(status, None, &Json(json)), Ok(response));
        }
    }

    #[test]
    fn checkout_answers() {
        let checkout = RequestKind::Checkout {
            token: "t".into(),
            key: "k".into(),
            body: crate::protocol::v1::CheckoutRequest {
                expected_total: crate::money::Money::new(100, "EUR"),
                expected_tax: None,
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
