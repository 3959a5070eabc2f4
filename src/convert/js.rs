//! Reading and writing plain JavaScript objects field by field through
//! `js_sys::Reflect`. Hand-written readers cost a fraction of the wasm that
//! serde's per-type visitors cost (see BENCHMARKS.md), and they never touch
//! floats beyond one integer check.

use cartsync_core::{MutationId, Options};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// The field (or argument) that was missing or had the wrong type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bad(pub &'static str);

/// The result of reading a value from JavaScript.
pub type Read<T> = Result<T, Bad>;

/// `Number.MAX_SAFE_INTEGER`: larger numbers are not exact in a double.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// `obj[key]`, or `None` when it is `undefined` or `null` (or `obj` is not
/// an object).
#[inline(never)]
pub fn field(obj: &JsValue, key: &str) -> Option<JsValue> {
    if !obj.is_object() {
        return None;
    }
    let v = Reflect::get(obj, &JsValue::from_str(key)).ok()?;
    if v.is_undefined() || v.is_null() {
        None
    } else {
        Some(v)
    }
}

/// A field that has a default (serde's `#[serde(default)]` on a field that
/// is not an `Option`): `None` only when it is missing (`undefined`), so an
/// explicit `null` is a type error, as it was through serde.
pub fn defaulted(obj: &JsValue, key: &str) -> Option<JsValue> {
    if !obj.is_object() {
        return None;
    }
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined())
}

/// A required string field.
pub fn string(obj: &JsValue, key: &'static str) -> Read<String> {
    field(obj, key).and_then(|v| v.as_string()).ok_or(Bad(key))
}

/// An optional string field (`undefined` and `null` are `None`).
pub fn opt_string(obj: &JsValue, key: &'static str) -> Read<Option<String>> {
    field(obj, key).map(|v| v.as_string().ok_or(Bad(key))).transpose()
}

/// A JS number that is an integer a double holds exactly.
fn integer(v: &JsValue) -> Option<f64> {
    let f = v.as_f64()?;
    (f.trunc() == f && f.abs() <= MAX_SAFE).then_some(f)
}

/// A required signed integer field.
pub fn int(obj: &JsValue, key: &'static str) -> Read<i64> {
    opt_int(obj, key)?.ok_or(Bad(key))
}

/// An optional signed integer field.
pub fn opt_int(obj: &JsValue, key: &'static str) -> Read<Option<i64>> {
    field(obj, key)
        .map(|v| integer(&v).map(|f| f as i64).ok_or(Bad(key)))
        .transpose()
}

/// An integer field with a default (`null` is an error).
pub fn int_or(obj: &JsValue, key: &'static str, default: i64) -> Read<i64> {
    match defaulted(obj, key) {
        Some(v) => integer(&v).map(|f| f as i64).ok_or(Bad(key)),
        None => Ok(default),
    }
}

/// A non-negative integer field with a default (`null` is an error).
pub fn uint_or(obj: &JsValue, key: &'static str, default: u64) -> Read<u64> {
    match defaulted(obj, key) {
        Some(_) => u64::try_from(int_or(obj, key, 0)?).map_err(|_| Bad(key)),
        None => Ok(default),
    }
}

/// A required non-negative integer field.
pub fn uint(obj: &JsValue, key: &'static str) -> Read<u64> {
    opt_uint(obj, key)?.ok_or(Bad(key))
}

/// An optional non-negative integer field.
pub fn opt_uint(obj: &JsValue, key: &'static str) -> Read<Option<u64>> {
    match opt_int(obj, key)? {
        Some(n) => u64::try_from(n).map(Some).map_err(|_| Bad(key)),
        None => Ok(None),
    }
}

/// A required `u32` field (quantities, counts).
pub fn uint32(obj: &JsValue, key: &'static str) -> Read<u32> {
    u32::try_from(uint(obj, key)?).map_err(|_| Bad(key))
}

/// A required object field.
pub fn object(obj: &JsValue, key: &'static str) -> Read<JsValue> {
    field(obj, key).filter(JsValue::is_object).ok_or(Bad(key))
}

/// An array field read element by element; missing is empty when
/// `required` is false.
pub fn list<T>(obj: &JsValue, key: &'static str, required: bool, read: impl Fn(&JsValue) -> Read<T>) -> Read<Vec<T>> {
    match defaulted(obj, key) {
        Some(v) => items(&v, key, read),
        None if required => Err(Bad(key)),
        None => Ok(Vec::new()),
    }
}

/// Every element of a JS array (`what` names it when it is not one).
pub fn items<T>(v: &JsValue, what: &'static str, read: impl Fn(&JsValue) -> Read<T>) -> Read<Vec<T>> {
    if !Array::is_array(v) {
        return Err(Bad(what));
    }
    let array = Array::from(v);
    let mut out = Vec::with_capacity(array.length() as usize);
    for i in 0..array.length() {
        out.push(read(&array.get(i))?);
    }
    Ok(out)
}

/// A line's options (`{name: value}` of strings); missing is empty.
pub fn options(obj: &JsValue, key: &'static str) -> Read<Options> {
    match defaulted(obj, key) {
        Some(v) => string_map(&v, key),
        None => Ok(Options::new()),
    }
}

/// A plain object whose values are all strings.
pub fn string_map(v: &JsValue, what: &'static str) -> Read<Options> {
    let mut out = Options::new();
    entries(v, what, &mut |k, v| {
        out.insert(k, v.as_string().ok_or(Bad(what))?);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `each` with the own enumerable `(key, value)` pairs of a plain
/// object. (Inserting one by one, rather than collecting, keeps the sort
/// that `BTreeMap::from_iter` does out of the wasm.)
pub fn entries(v: &JsValue, what: &'static str, each: &mut dyn FnMut(String, JsValue) -> Read<()>) -> Read<()> {
    if !v.is_object() || Array::is_array(v) {
        return Err(Bad(what));
    }
    let keys = Object::keys(v.unchecked_ref::<Object>());
    for key in keys.iter() {
        let value = Reflect::get(v, &key).map_err(|_| Bad(what))?;
        each(key.as_string().ok_or(Bad(what))?, value)?;
    }
    Ok(())
}

/// A mutation id (a UUID string).
pub fn id(obj: &JsValue, key: &'static str) -> Read<MutationId> {
    parse_id(&string(obj, key)?).ok_or(Bad(key))
}

/// A mutation id from its text.
pub fn parse_id(text: &str) -> Option<MutationId> {
    uuid::Uuid::try_parse(text).ok().map(MutationId)
}

/// An object built field by field.
#[derive(Default)]
pub struct Obj(Object);

impl Obj {
    pub fn new() -> Self {
        Obj(Object::new())
    }

    /// Sets `key` (setting a property of a fresh plain object cannot fail).
    pub fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        self.put(key, value.into())
    }

    /// One out-of-line body for every `set`: a call per field instead of
    /// the key, the set and the drops inlined at every site.
    #[inline(never)]
    fn put(self, key: &str, value: JsValue) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value);
        self
    }

    pub fn done(self) -> JsValue {
        self.0.into()
    }
}

impl From<Obj> for JsValue {
    fn from(o: Obj) -> JsValue {
        o.done()
    }
}

/// A number (every integer of ours is a safe integer: versions, counts,
/// millisecond times).
pub fn num(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// A signed number (money amounts, wire quantities).
pub fn signed(n: i64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// A string, or `null`.
pub fn opt_str(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

/// A JS array of converted items.
pub fn array<T>(items: &[T], write: impl Fn(&T) -> JsValue) -> JsValue {
    let out = Array::new();
    for item in items {
        out.push(&write(item));
    }
    out.into()
}

/// Options as a plain object (keys in order, as serde wrote them).
pub fn options_js(options: &Options) -> JsValue {
    let out = Obj::new();
    options.iter().fold(out, |o, (k, v)| o.set(k, v.as_str())).done()
}

/// A mutation id as its lowercase hyphenated text.
pub fn id_js(id: &MutationId) -> JsValue {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    JsValue::from_str(id.0.hyphenated().encode_lower(&mut buf))
}
