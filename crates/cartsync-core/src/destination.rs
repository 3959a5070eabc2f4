//! Where an order goes: a country and a postal code, validated by the
//! core like every command's fields, so the browser refuses exactly what
//! the authority refuses.
//!
//! Rules (`set_destination`):
//! - `country` is an ISO 3166-1 alpha-2 code: two ASCII letters, stored
//!   upper case (`de` → `DE`);
//! - `postal_code` is trimmed and upper-cased; for the countries of
//!   [`FORMATS`] it must match one of the country's patterns and is stored
//!   in its canonical spacing (`1234ab` → `1234 AB` in NL); elsewhere it
//!   must be 1 to 10 characters of `A-Z 0-9`, space and `-`.

use crate::error::CartError;
use crate::prelude::*;
use alloc::borrow::Cow;
use serde::{Deserialize, Serialize};

/// A shipping destination, canonical (see the module docs).
///
/// ```
/// use cartsync_core::Destination;
/// let d = Destination::parse("nl", " 1234ab ").unwrap();
/// assert_eq!((d.country.as_str(), d.postal_code.as_str()), ("NL", "1234 AB"));
/// assert_eq!(Destination::parse("DE", "1234").unwrap_err().code(), "invalid_destination");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Destination {
    pub country: String,
    pub postal_code: String,
}

/// Postal code patterns of the countries the core knows: `9` a digit, `A` a
/// letter, `X` either, `-` itself, and a space an optional space (written
/// back as one space). Countries not listed take the generic rule.
pub const FORMATS: &[(&str, &[&str])] = &[
    ("AT", &["9999"]),
    ("BE", &["9999"]),
    ("CA", &["A9A 9A9"]),
    ("CH", &["9999"]),
    ("DE", &["99999"]),
    ("DK", &["9999"]),
    ("ES", &["99999"]),
    ("FI", &["99999"]),
    ("FR", &["99999"]),
    (
        "GB",
        &["A9 9AA", "A99 9AA", "AA9 9AA", "AA99 9AA", "A9A 9AA", "AA9A 9AA"],
    ),
    ("IE", &["A9X XXXX"]),
    ("IT", &["99999"]),
    ("LU", &["9999"]),
    ("NL", &["9999 AA"]),
    ("NO", &["9999"]),
    ("PL", &["99-999"]),
    ("PT", &["9999-999"]),
    ("SE", &["999 99"]),
    ("US", &["99999", "99999-9999"]),
];

/// Longest postal code of the generic rule.
pub const MAX_POSTAL_LEN: usize = 10;

fn invalid(field: &'static str, value: &str, reason: &'static str) -> CartError {
    CartError::InvalidDestination {
        field: Cow::Borrowed(field),
        value: value.chars().take(80).collect(),
        reason: Cow::Borrowed(reason),
    }
}

impl Destination {
    /// Validates and normalises a destination as `set_destination` does.
    pub fn parse(country: &str, postal_code: &str) -> Result<Destination, CartError> {
        let c = country.as_bytes();
        if c.len() != 2 || !c.iter().all(u8::is_ascii_alphabetic) {
            return Err(invalid("country", country, "expected a two-letter ISO 3166-1 code"));
        }
        let country = country.to_ascii_uppercase();
        let postal = postal_code.trim().to_ascii_uppercase();
        let postal_code = match FORMATS.iter().find(|(code, _)| *code == country) {
            Some((_, patterns)) => patterns
                .iter()
                .find_map(|p| fit(&postal, p))
                .ok_or_else(|| invalid("postal_code", postal_code, "not a postal code of this country"))?,
            None => {
                let ok = !postal.is_empty()
                    && postal.len() <= MAX_POSTAL_LEN
                    && postal
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
                if !ok {
                    return Err(invalid(
                        "postal_code",
                        postal_code,
                        "expected 1 to 10 characters of A-Z 0-9, space and -",
                    ));
                }
                postal
            }
        };
        Ok(Destination { country, postal_code })
    }
}

/// `text` in the canonical form of `pattern`, if it matches (spaces in
/// `text` are ignored; the pattern's optional spaces are written back).
fn fit(text: &str, pattern: &str) -> Option<String> {
    let mut chars = text.bytes().filter(|b| *b != b' ');
    let mut out = String::with_capacity(pattern.len());
    for p in pattern.bytes() {
        if p == b' ' {
            out.push(' ');
            continue;
        }
        let c = chars.next()?;
        let ok = match p {
            b'9' => c.is_ascii_digit(),
            b'A' => c.is_ascii_uppercase(),
            b'X' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            other => c == other,
        };
        if !ok {
            return None;
        }
        out.push(c as char);
    }
    chars.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_patterns_normalise_spacing_and_case() {
        let ok = [
            ("de", "10115", "DE", "10115"),
            ("NL", "1234ab", "NL", "1234 AB"),
            ("NL", "1234  AB", "NL", "1234 AB"),
            ("GB", "sw1a1aa", "GB", "SW1A 1AA"),
            ("GB", "M1 1AE", "GB", "M1 1AE"),
            ("US", "94105-1234", "US", "94105-1234"),
            ("PL", "00-950", "PL", "00-950"),
            ("SE", "11455", "SE", "114 55"),
            ("IE", "d02 x285", "IE", "D02 X285"),
            ("JP", "100-0001", "JP", "100-0001"),
            ("AU", " 2000 ", "AU", "2000"),
        ];
        for (c, p, country, postal) in ok {
            let d = Destination::parse(c, p).unwrap_or_else(|e| panic!("{c} {p}: {e}"));
            assert_eq!(
                (d.country.as_str(), d.postal_code.as_str()),
                (country, postal),
                "{c} {p}"
            );
        }
    }

    #[test]
    fn bad_countries_and_codes_name_the_field() {
        let field = |c: &str, p: &str| match Destination::parse(c, p) {
            Err(CartError::InvalidDestination { field, .. }) => field.into_owned(),
            other => panic!("{c} {p}: {other:?}"),
        };
        for c in ["", "D", "DEU", "1A", "é"] {
            assert_eq!(field(c, "10115"), "country");
        }
        for (c, p) in [
            ("DE", "1011"),
            ("DE", "101155"),
            ("DE", "1011A"),
            ("NL", "AB 1234"),
            ("US", "9410"),
            ("JP", ""),
            ("JP", "12345678901"),
            ("JP", "12_45"),
            ("PL", "00950"),
        ] {
            assert_eq!(field(c, p), "postal_code", "{c} {p}");
        }
    }
}
