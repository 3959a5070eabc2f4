//! Request bodies: the 64 KiB limit answers `413 payload_too_large`, and any
//! parse failure answers `400 bad_request` with the path of the offending
//! field (`mutations[0].id: UUID parsing failed ...`).

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// The request body limit.
pub const MAX_BODY: usize = 64 * 1024;

/// How long a request body may take to arrive: a request extension the
/// router adds (`--body-timeout-ms`); 10 s where it is missing.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub std::time::Duration);

const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON body parsed with field paths in its errors.
pub struct ApiJson<T>(pub T);

/// A request body type. serde's derive reads a struct from a JSON array
/// too (`[null, null]` is a `CouponBody`, `[[]]` a `MutationsRequest`,
/// `[2500, "EUR"]` a `Money`), which the spec does not allow (found by
/// schemathesis): a body must be an object, the fields named in
/// `OBJECT_FIELDS` hold objects (or null), never arrays, and the arrays
/// named in `ARRAYS_OF_OBJECTS` never hold arrays. Unknown fields stay
/// ignored, whatever they hold (the spec allows them). See
/// [`check_shape`].
pub trait Body: DeserializeOwned {
    /// Fields (at any depth) whose values are objects.
    const OBJECT_FIELDS: &'static [&'static str] = &[];
    /// Fields (at any depth) whose values are arrays of objects.
    const ARRAYS_OF_OBJECTS: &'static [&'static str] = &[];
}

impl Body for cartsync_core::protocol::v1::MutationsRequest {
    const OBJECT_FIELDS: &'static [&'static str] = &["command", "options"];
    const ARRAYS_OF_OBJECTS: &'static [&'static str] = &["mutations"];
}
impl Body for cartsync_core::protocol::v1::CheckoutRequest {
    const OBJECT_FIELDS: &'static [&'static str] = &["expected_total", "expected_tax", "amount"];
}

impl<S: Send + Sync, T: Body> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        check_shape(&bytes, T::OBJECT_FIELDS, T::ARRAYS_OF_OBJECTS)?;
        parse(&bytes).map(ApiJson)
    }
}

/// The body's exact bytes (a signed callback is verified over them), under
/// the same limit and timeout.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<BodyTimeout>()
            .map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
        // A body trickled in a byte at a time must not hold the connection
        // (and its descriptor) for as long as the client likes.
        let read = tokio::time::timeout(limit, Bytes::from_request(req, state))
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!("the request body did not arrive within {} ms", limit.as_millis()),
                )
            })?;
        let bytes = read.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request body is over {MAX_BODY} bytes"),
                )
            } else {
                ApiError::bad_request(format!("body: {}", r.body_text()))
            }
        })?;
        Ok(RawBody(bytes))
    }
}

/// Refuses a body that is not a JSON object, an array as the value of one
/// of `object_fields`, and an array inside one of `arrays_of_objects`. One
/// pass over the bytes, tracking strings and the open containers;
/// malformed JSON is left to the parser's message.
pub fn check_shape(bytes: &[u8], object_fields: &[&str], arrays_of_objects: &[&str]) -> Result<(), ApiError> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'[' | b'"' | b'0'..=b'9' | b'-' | b't' | b'f' | b'n')) {
        return Err(ApiError::bad_request("body: expected a JSON object"));
    }
    let named = |list: &[&str], key: &[u8]| list.iter().any(|f| f.as_bytes() == key);
    // Open containers (`true`: an array) with the key they are the value
    // of; in an object, the last string closed (its key, when a value
    // follows).
    let mut open: Vec<(bool, &[u8])> = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    let mut string_start = 0;
    let mut key: &[u8] = b"";
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    if matches!(open.last(), Some((false, _))) {
                        key = &bytes[string_start..i];
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_start = i + 1;
            }
            b'{' => open.push((false, key)),
            b'[' => {
                match open.last() {
                    Some((true, of)) if named(arrays_of_objects, of) => {
                        let field = String::from_utf8_lossy(of);
                        return Err(ApiError::bad_request(format!(
                            "{field}: expected objects, found an array"
                        )));
                    }
                    Some((false, _)) if named(object_fields, key) => {
                        let field = String::from_utf8_lossy(key);
                        return Err(ApiError::bad_request(format!(
                            "{field}: expected an object, found an array"
                        )));
                    }
                    _ => {}
                }
                open.push((true, key));
            }
            b'}' | b']' => {
                open.pop();
            }
            _ => {}
        }
    }
    Ok(())
}

/// Parses JSON, naming the field that failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Straight from the bytes: one pass and no intermediate tree. Only when
    // that fails is the body parsed again the slow way below, which words
    // the error (and decides: a body it accepts, e.g. with a repeated key,
    // is accepted as before).
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match T::deserialize(&mut de).and_then(|t| de.end().map(|()| t)) {
        Ok(t) => Ok(t),
        Err(_) => parse_slowly(bytes),
    }
}

fn parse_slowly<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = parse_value(bytes)?;
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let refined = command_index(&path).and_then(|i| describe_command(&value["mutations"][i]["command"]));
        match refined {
            Some(detail) => ApiError::bad_request(format!("{path}.{detail}")),
            None if path == "." || path == "?" => ApiError::bad_request(format!("body: {}", e.inner())),
            None => ApiError::bad_request(format!("{path}: {}", e.inner())),
        }
    })
}

/// `Some(i)` for the path `mutations[i].command`.
fn command_index(path: &str) -> Option<usize> {
    path.strip_prefix("mutations[")?.strip_suffix("].command")?.parse().ok()
}

/// Commands are internally tagged (`{"type": ...}`), and serde loses the
/// field path inside those; this names the field for the usual mistakes.
fn describe_command(command: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let Value::Object(map) = command else {
        return Some("type: a command must be an object with a \"type\"".into());
    };
    let kind = match map.get("type") {
        Some(Value::String(k)) => k.as_str(),
        Some(_) => return Some("type: must be a string".into()),
        None => return Some("type: missing".into()),
    };
    let fields: &[(&str, &str)] = match kind {
        "add_item" => &[("sku", "string"), ("quantity", "integer"), ("options", "options")],
        "set_quantity" => &[("sku", "string"), ("options", "options"), ("quantity", "integer")],
        "remove_item" => &[("sku", "string"), ("options", "options")],
        "apply_coupon" | "remove_coupon" => &[("code", "string")],
        "select_shipping" => &[("option", "string")],
        "clear" => &[],
        other => {
            let other: String = other.chars().take(40).collect();
            return Some(format!(
                "type: unknown command {other:?}; expected one of add_item, set_quantity, remove_item, \
                 apply_coupon, remove_coupon, select_shipping, clear"
            ));
        }
    };
    for (name, want) in fields {
        let ok = match (map.get(*name), *want) {
            (None, "options") => true,
            (None, _) => return Some(format!("{name}: missing")),
            (Some(Value::String(_)), "string") => true,
            (Some(Value::Number(n)), "integer") => n.is_i64(),
            (Some(Value::Object(o)), "options") => o.values().all(Value::is_string),
            (Some(Value::Null), "options") => false,
            _ => false,
        };
        if !ok {
            let what = match *want {
                "options" => "an object of string values",
                "integer" => "an integer",
                _ => "a string",
            };
            return Some(format!("{name}: expected {what}"));
        }
    }
    None
}

fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    // Syntax errors concern the body as a whole (the line and column are in
    // serde's message).
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::{check_shape, parse};

    #[test]
    fn arrays_stand_only_where_the_type_has_them() {
        let (m, a) = (&["command", "options", "expected_total"], &["mutations"]);
        for ok in [
            &br#"{"mutations": [{"id": "x", "command": {"type": "add_item", "options": {"a": "[b]"}}}]}"#[..],
            br#" {"mutations": []}"#,
            br#"{"a": "[", "mutations": [{}, {}], "b": {"c": 1}, "extra": [1, {"command": 2}, [[3]]]}"#,
            br#"{"mutations": [{"x": [[1]], "command": {"y": [[]]}}]}"#,
            br#"{"esc\"[": 1, "x": []}"#,
            b"{ not JSON: left to the parser",
            b"",
        ] {
            assert!(check_shape(ok, m, a).is_ok(), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"[[]]"[..],
            br#"[null, null]"#,
            br#""s""#,
            b"5",
            br#"{"mutations": [[]]}"#,
            br#"{"mutations": [{"command": [1]}]}"#,
            br#"{"mutations": [{"command": {"type": "add_item", "options": []}}]}"#,
            br#"{"expected_total": [100, "EUR"]}"#,
        ] {
            assert!(check_shape(bad, m, a).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[derive(Debug, serde::Deserialize)]
    struct A {
        a: u32,
    }

    #[test]
    fn the_fast_path_decides_nothing_the_tree_did_not() {
        assert_eq!(parse::<A>(br#"{"a": 1}"#).unwrap().a, 1);
        // serde's derive refuses a repeated key; the tree keeps the last,
        // and bodies were always parsed through the tree.
        assert_eq!(parse::<A>(br#"{"a": 1, "a": 2}"#).unwrap().a, 2);
        let e = parse::<A>(br#"{"a": 1} x"#).unwrap_err();
        assert!(format!("{e:?}").contains("body: trailing characters"), "{e:?}");
        let e = parse::<A>(br#"{"a": -1}"#).unwrap_err();
        assert!(format!("{e:?}").contains("a: invalid value"), "{e:?}");
    }
}
