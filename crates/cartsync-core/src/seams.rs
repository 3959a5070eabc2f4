//! The platform seams: time, ids and randomness come in through these traits
//! so the core never touches a clock, an RNG or the OS (y-crdt's pattern).

use crate::model::MutationId;

/// Milliseconds since the Unix epoch.
pub trait Clock {
    fn now_ms(&self) -> u64;
}

/// Randomness: uniformly random 64-bit numbers (jitter) and fresh mutation
/// ids.
pub trait Random {
    fn next_u64(&mut self) -> u64;

    /// A fresh mutation id (a UUID v4). The default builds it from
    /// [`Random::next_u64`]; a platform with its own UUID generator (the
    /// browser's `crypto.getRandomValues` through `uuid`) overrides it.
    fn next_id(&mut self) -> MutationId {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        MutationId::from_random_bytes(bytes)
    }
}

/// A small deterministic generator (SplitMix64) for tests and simulations.
/// Not for tokens or anything an attacker may guess.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl Random for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
