//! A small JSON tree, parser and writer: what crosses the wasm boundary is
//! JSON text (the JS side calls `JSON.parse` / `JSON.stringify`), so the
//! module needs no per-field glue, no `js_sys::Reflect` round trips and no
//! serde visitors. Numbers keep their text: the binding reads integers
//! exactly and passes anything else through untouched, with no float code.

use crate::prelude::*;

/// A parsed JSON value. Objects keep their members in order (a linear
/// lookup is fast at cart sizes and keeps map code out of the module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's text as written.
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
    /// JSON text written elsewhere (`convert::json::Obj`), kept verbatim.
    Raw(String),
}

/// Deeper nesting than any cartsync shape: hostile input cannot exhaust the
/// stack.
const MAX_DEPTH: u32 = 64;

impl Json {
    /// Parses `text`; `None` if it is not one complete JSON value.
    pub fn parse(text: &str) -> Option<Json> {
        let mut p = Parser {
            text,
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value(0)?;
        p.ws();
        (p.i == p.s.len()).then_some(v)
    }

    /// `self[key]` for an object (`None` for other values).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The JSON text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) | Json::Raw(n) => out.push_str(n),
            Json::Str(s) => write_str(out, s),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Json {
        num(n as u64)
    }
}

/// A non-negative integer.
pub fn num(n: u64) -> Json {
    Json::Num(cartsync_core::text::decimal(n))
}

/// A signed integer.
pub fn signed(n: i64) -> Json {
    Json::Num(cartsync_core::text::signed(n))
}

/// The integer a number's text stands for, if it is one (no fraction, no
/// exponent) within `i64`.
pub fn integer(text: &str) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: i64 = 0;
    for b in body.bytes() {
        n = n.checked_mul(10)?.checked_add((b - b'0') as i64)?;
    }
    Some(if negative { -n } else { n })
}

pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

struct Parser<'a> {
    /// The text, for slicing out runs (always at ASCII delimiters, so no
    /// UTF-8 check is needed); `s` is the same as bytes.
    text: &'a str,
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&b);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn word(&mut self, w: &str, v: Json) -> Option<Json> {
        let end = self.i + w.len();
        (self.s.get(self.i..end)? == w.as_bytes()).then(|| {
            self.i = end;
            v
        })
    }

    fn value(&mut self, depth: u32) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'n' => self.word("null", Json::Null),
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Json::Arr(items))
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Json::Obj(members))
            }
            _ => self.number(),
        }
    }

    /// A number's text, checked against JSON's grammar.
    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i > from
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        if self.s.get(self.i) == Some(&b'0') {
            self.i += 1;
        } else if !digits(self) {
            return None;
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        Some(Json::Num(self.text.get(start..self.i)?.to_string()))
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut n = 0;
        for _ in 0..4 {
            let d = (*self.s.get(self.i)? as char).to_digit(16)?;
            n = n * 16 + d;
            self.i += 1;
        }
        Some(n)
    }

    /// A string literal (the cursor on its opening quote). A lone surrogate
    /// becomes U+FFFD, as the browser's own string conversion does.
    fn string(&mut self) -> Option<String> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out = String::new();
        // Unescaped bytes are copied a run at a time, as text.
        let mut run = self.i;
        loop {
            let b = *self.s.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => {
                    out.push_str(self.text.get(run..self.i - 1)?);
                    return Some(out);
                }
                b'\\' => {
                    out.push_str(self.text.get(run..self.i - 1)?);
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.escaped_char()?,
                        _ => return None,
                    };
                    out.push(c);
                    run = self.i;
                }
                b if b < 0x20 => return None,
                _ => {}
            }
        }
    }

    /// The character of a `\uXXXX` escape (after the `u`), joining a
    /// surrogate pair.
    fn escaped_char(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s.get(self.i..self.i + 2) == Some(b"\\u") {
            let save = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                return char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
            }
            self.i = save;
        }
        Some(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        let text = r#"{"a":[1,-2,3.5e-1,true,false,null],"b":"x\"\\\n\u00e9\ud83d\ude00","c":{}}"#;
        let v = Json::parse(text).unwrap();
        assert_eq!(v.get("b"), Some(&Json::Str("x\"\\\n\u{e9}\u{1F600}".into())));
        assert_eq!(Json::parse(&v.text()), Some(v));
        let raw = Json::parse("\"日本語 é\\t😀\"").unwrap();
        assert_eq!(raw, Json::Str("日本語 é\t😀".into()));
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "1.",
            "\"\u{1}\"",
            "nul",
            "{\"a\" 1}",
            "[] x",
            "-",
            "\"\\x\"",
        ] {
            assert_eq!(Json::parse(bad), None, "{bad}");
        }
        assert_eq!(Json::parse("\"\\ud800\""), Some(Json::Str("\u{FFFD}".into())));
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(Json::parse(&deep), None);
    }

    #[test]
    fn integers_are_exact() {
        assert_eq!(integer("-9007199254740991"), Some(-9007199254740991));
        assert_eq!(integer("1.0"), None);
        assert_eq!(integer("1e3"), None);
        assert_eq!(integer("99999999999999999999"), None);
        assert_eq!(signed(-42).text(), "-42");
        assert_eq!(num(0).text(), "0");
        assert_eq!(Json::Str("\u{1}".into()).text(), "\"\\u0001\"");
    }
}
