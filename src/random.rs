//! The client's random source behind the core's `Random` seam: xoshiro256**
//! seeded with 32 bytes from `crypto.getRandomValues` by the JS side when a
//! client opens. Mutation ids (UUID v4) only need to be unique, and 256
//! bits of fresh seed per tab make a collision between tabs or shoppers
//! vanishingly unlikely; jitter needs nothing stronger.

use cartsync_core::Random;

pub struct SeededRandom {
    s: [u64; 4],
}

impl SeededRandom {
    /// Seeded from up to 32 bytes (missing bytes are zero; an all-zero
    /// state, which xoshiro cannot leave, is replaced by a constant).
    pub fn new(seed: &[u8]) -> Self {
        let mut s = [0u64; 4];
        for (i, b) in seed.iter().take(32).enumerate() {
            s[i / 8] |= (*b as u64) << ((i % 8) * 8);
        }
        if s == [0; 4] {
            s = [0x9E37_79B9_7F4A_7C15, 0xBF58_476D_1CE4_E5B9, 0x94D0_49BB_1331_11EB, 1];
        }
        SeededRandom { s }
    }
}

impl Random for SeededRandom {
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_seeds_give_different_streams() {
        let mut a = SeededRandom::new(&[1; 32]);
        let mut b = SeededRandom::new(&[2; 32]);
        let mut z = SeededRandom::new(&[]);
        let xs: alloc::vec::Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_ne!(xs, (0..4).map(|_| b.next_u64()).collect::<alloc::vec::Vec<_>>());
        assert_ne!(z.next_u64(), z.next_u64());
        assert_eq!(xs[0], SeededRandom::new(&[1; 32]).next_u64());
    }
}
