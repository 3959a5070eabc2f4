//! Reading and writing the JSON tree field by field. Hand-written readers
//! over [`Json`] cost a fraction of the wasm that serde's per-type visitors
//! cost (see BENCHMARKS.md), and they read integers exactly, with no float
//! code.

use crate::json::{integer, Json};
use crate::prelude::*;
use cartsync_core::{MutationId, Options};

pub use crate::json::{num, signed};

/// The field (or argument) that was missing or had the wrong type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bad(pub &'static str);

/// The result of reading a value.
pub type Read<T> = Result<T, Bad>;

/// `Number.MAX_SAFE_INTEGER`: a JS caller's larger numbers are not exact.
const MAX_SAFE: i64 = 9_007_199_254_740_991;

/// `obj[key]`, or `None` when it is missing or `null` (or `obj` is not an
/// object).
pub fn field<'a>(obj: &'a Json, key: &str) -> Option<&'a Json> {
    obj.get(key).filter(|v| **v != Json::Null)
}

/// A field that has a default (serde's `#[serde(default)]` on a field that
/// is not an `Option`): `None` only when it is missing, so an explicit
/// `null` is a type error, as it is through serde.
pub fn defaulted<'a>(obj: &'a Json, key: &str) -> Option<&'a Json> {
    obj.get(key)
}

/// The text of a string value.
pub fn as_str(v: &Json) -> Option<&str> {
    match v {
        Json::Str(s) => Some(s),
        _ => None,
    }
}

/// A required string field.
pub fn string(obj: &Json, key: &'static str) -> Read<String> {
    field(obj, key).and_then(as_str).map(str::to_string).ok_or(Bad(key))
}

/// An optional string field (missing and `null` are `None`).
pub fn opt_string(obj: &Json, key: &'static str) -> Read<Option<String>> {
    field(obj, key)
        .map(|v| as_str(v).map(str::to_string).ok_or(Bad(key)))
        .transpose()
}

/// A number that is an integer a double holds exactly.
fn int_value(v: &Json) -> Option<i64> {
    match v {
        Json::Num(text) => integer(text).filter(|n| n.unsigned_abs() <= MAX_SAFE as u64),
        _ => None,
    }
}

/// A required signed integer field.
pub fn int(obj: &Json, key: &'static str) -> Read<i64> {
    opt_int(obj, key)?.ok_or(Bad(key))
}

/// An optional signed integer field.
pub fn opt_int(obj: &Json, key: &'static str) -> Read<Option<i64>> {
    field(obj, key).map(|v| int_value(v).ok_or(Bad(key))).transpose()
}

/// An integer field with a default (`null` is an error).
pub fn int_or(obj: &Json, key: &'static str, default: i64) -> Read<i64> {
    match defaulted(obj, key) {
        Some(v) => int_value(v).ok_or(Bad(key)),
        None => Ok(default),
    }
}

/// A non-negative integer field with a default (`null` is an error).
pub fn uint_or(obj: &Json, key: &'static str, default: u64) -> Read<u64> {
    u64::try_from(int_or(obj, key, default as i64)?).map_err(|_| Bad(key))
}

/// A required non-negative integer field.
pub fn uint(obj: &Json, key: &'static str) -> Read<u64> {
    opt_uint(obj, key)?.ok_or(Bad(key))
}

/// An optional non-negative integer field.
pub fn opt_uint(obj: &Json, key: &'static str) -> Read<Option<u64>> {
    match opt_int(obj, key)? {
        Some(n) => u64::try_from(n).map(Some).map_err(|_| Bad(key)),
        None => Ok(None),
    }
}

/// A required `u32` field (quantities, counts).
pub fn uint32(obj: &Json, key: &'static str) -> Read<u32> {
    u32::try_from(uint(obj, key)?).map_err(|_| Bad(key))
}

/// A required object field.
pub fn object<'a>(obj: &'a Json, key: &'static str) -> Read<&'a Json> {
    field(obj, key).filter(|v| matches!(v, Json::Obj(_))).ok_or(Bad(key))
}

/// An array field read element by element; missing is empty when
/// `required` is false.
pub fn list<T>(obj: &Json, key: &'static str, required: bool, read: impl Fn(&Json) -> Read<T>) -> Read<Vec<T>> {
    match defaulted(obj, key) {
        Some(v) => items(v, key, read),
        None if required => Err(Bad(key)),
        None => Ok(Vec::new()),
    }
}

/// Every element of an array (`what` names it when it is not one).
pub fn items<T>(v: &Json, what: &'static str, read: impl Fn(&Json) -> Read<T>) -> Read<Vec<T>> {
    let Json::Arr(items) = v else {
        return Err(Bad(what));
    };
    // A plain loop: `collect::<Result<Vec<_>, _>>()` costs an adapter per
    // element type in the wasm.
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(read(item)?);
    }
    Ok(out)
}

/// A line's options (`{name: value}` of strings); missing is empty.
pub fn options(obj: &Json, key: &'static str) -> Read<Options> {
    match defaulted(obj, key) {
        Some(v) => string_map(v, key),
        None => Ok(Options::new()),
    }
}

/// A plain object whose values are all strings.
pub fn string_map(v: &Json, what: &'static str) -> Read<Options> {
    let mut out = Options::new();
    for (k, v) in members(v, what)? {
        out.insert(k.clone(), as_str(v).ok_or(Bad(what))?.to_string());
    }
    Ok(out)
}

/// The `(key, value)` members of an object.
pub fn members<'a>(v: &'a Json, what: &'static str) -> Read<&'a [(String, Json)]> {
    match v {
        Json::Obj(m) => Ok(m),
        _ => Err(Bad(what)),
    }
}

/// A mutation id (a UUID string).
pub fn id(obj: &Json, key: &'static str) -> Read<MutationId> {
    parse_id(&string(obj, key)?).ok_or(Bad(key))
}

/// A mutation id from its text.
pub fn parse_id(text: &str) -> Option<MutationId> {
    MutationId::parse(text)
}

/// An object written field by field, straight to JSON text (no tree of
/// keys and values to build and walk).
pub struct Obj(String);

impl Default for Obj {
    fn default() -> Self {
        Obj::new()
    }
}

impl Obj {
    pub fn new() -> Self {
        Obj(String::from("{"))
    }

    pub fn set(self, key: &str, value: impl Into<Json>) -> Self {
        self.put(key, value.into())
    }

    /// One out-of-line body for every `set`.
    #[inline(never)]
    fn put(mut self, key: &str, value: Json) -> Self {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        crate::json::write_str(&mut self.0, key);
        self.0.push(':');
        value.write(&mut self.0);
        self
    }

    pub fn done(mut self) -> Json {
        self.0.push('}');
        Json::Raw(self.0)
    }
}

impl From<Obj> for Json {
    fn from(o: Obj) -> Json {
        o.done()
    }
}

/// An optional string (`null` when absent).
pub fn opt_str(s: Option<&str>) -> Json {
    s.map_or(Json::Null, Json::from)
}

/// An array of converted items, written straight to JSON text.
pub fn array<T>(items: &[T], write: impl Fn(&T) -> Json) -> Json {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(item).write(&mut out);
    }
    out.push(']');
    Json::Raw(out)
}

/// Options as an object (keys in order, as serde writes them).
pub fn options_js(options: &Options) -> Json {
    options.iter().fold(Obj::new(), |o, (k, v)| o.set(k, v.as_str())).done()
}

/// A mutation id as its lowercase hyphenated text.
pub fn id_js(id: &MutationId) -> Json {
    Json::Str(id.text())
}
