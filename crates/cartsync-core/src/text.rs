//! Integers as decimal text without `core::fmt`: error messages, storage
//! keys and ids are built by concatenation, so the browser build carries no
//! formatting machinery for them.

use crate::prelude::*;

/// `n` in decimal.
pub fn decimal(mut n: u64) -> String {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[i..].iter().map(|&b| b as char).collect()
}

/// `n` in decimal, with a leading `-` when negative.
pub fn signed(n: i64) -> String {
    let text = decimal(n.unsigned_abs());
    if n < 0 {
        ["-", &text].concat()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_display() {
        for n in [0u64, 7, 10, 999, u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
        for n in [0i64, -1, 42, i64::MIN, i64::MAX] {
            assert_eq!(signed(n), n.to_string());
        }
    }
}
