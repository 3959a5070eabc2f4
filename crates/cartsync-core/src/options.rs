//! A line's options (size, colour, engraving...): string keys to string
//! values, kept sorted by key so two option sets with the same pairs are
//! equal, hash and order alike, whatever order they were written in.
//!
//! A sorted `Vec` rather than a `BTreeMap`: lines carry a handful of
//! options (at most `Limits::max_options`), where a linear vector is as
//! fast, and the browser build does not carry B-tree code (~3.5 KB of
//! wasm). Serialises as a JSON object in key order, as a `BTreeMap` did.

use crate::prelude::*;
use core::fmt;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(as = "std::collections::BTreeMap<String, String>")
)]
pub struct Options(Vec<(String, String)>);

impl Options {
    pub fn new() -> Self {
        Options(Vec::new())
    }

    /// Sets `key` to `value`; returns the value it replaces.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(core::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(key, value)` pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for Options {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut options = Options::new();
        for (k, v) in pairs {
            options.insert(k, v);
        }
        options
    }
}

impl<const N: usize> From<[(String, String); N]> for Options {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Options {
    type Item = (&'a String, &'a String);
    type IntoIter =
        core::iter::Map<core::slice::Iter<'a, (String, String)>, fn(&(String, String)) -> (&String, &String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Options {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Options {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Options;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Options, A::Error> {
                let mut options = Options::new();
                // A repeated key keeps its last value, as a map's insert does.
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    options.insert(k, v);
                }
                Ok(options)
            }
        }
        deserializer.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_like_a_sorted_map() {
        let pairs = [("size", "M"), ("colour", "black"), ("size", "L"), ("a", "1")];
        let options: Options = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(options.iter().collect::<Vec<_>>(), map.iter().collect::<Vec<_>>());
        assert_eq!(options.get("size").map(String::as_str), Some("L"));
        assert_eq!(options.get("none"), None);
        assert_eq!(
            serde_json::to_string(&options).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        let back: Options = serde_json::from_str(r#"{"b":"2","a":"1","b":"3"}"#).unwrap();
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            vec![
                (&"a".to_string(), &"1".to_string()),
                (&"b".to_string(), &"3".to_string())
            ]
        );
        assert!(serde_json::from_str::<Options>(r#"{"a":1}"#).is_err());
    }
}
