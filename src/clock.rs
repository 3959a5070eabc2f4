//! The browser's clock and random source, behind the core's seams.

use cartsync_core::Random;

/// Milliseconds since the Unix epoch, from `Date.now()`.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Randomness from `crypto.getRandomValues`, refilled 32 bytes at a time.
/// Mutation ids are UUID v4 built from these bytes.
pub struct CryptoRandom {
    buf: [u8; 32],
    used: usize,
}

impl CryptoRandom {
    pub fn new() -> Self {
        CryptoRandom { buf: [0; 32], used: 32 }
    }

    fn refill(&mut self) {
        let filled = web_sys::window()
            .and_then(|w| w.crypto().ok())
            .map(|c| c.get_random_values_with_u8_array(&mut self.buf).is_ok())
            .unwrap_or(false);
        if !filled {
            // No Web Crypto (very old browser, some workers): Math.random is
            // weaker but ids only need to be unique, not secret.
            for b in self.buf.iter_mut() {
                *b = (js_sys::Math::random() * 256.0) as u8;
            }
        }
        self.used = 0;
    }
}

impl Default for CryptoRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl Random for CryptoRandom {
    fn next_u64(&mut self) -> u64 {
        if self.used + 8 > self.buf.len() {
            self.refill();
        }
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&self.buf[self.used..self.used + 8]);
        self.used += 8;
        u64::from_le_bytes(bytes)
    }
}
