//! # cartsync (browser binding)
//!
//! `CartClient` for JavaScript: a thin wasm-bindgen layer that wires the
//! core's sans-IO sync engine to localStorage, fetch, timers, storage events
//! and Web Locks. Domain rules live in `cartsync-core`; conversions in
//! `convert/`; nothing here decides what a cart is.

pub use cartsync_core as core;

#[cfg(all(target_arch = "wasm32", feature = "client"))]
mod client;
#[cfg(target_arch = "wasm32")]
#[cfg_attr(not(feature = "client"), allow(dead_code))]
mod clock;
/// Public only for the round-trip tests in tests/web.rs; not part of the
/// SDK's API.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[cfg_attr(not(all(feature = "client", feature = "rules")), allow(dead_code))]
pub mod convert;
#[cfg(target_arch = "wasm32")]
pub mod error;
#[cfg(all(target_arch = "wasm32", feature = "rules"))]
pub mod rules;
#[cfg(all(target_arch = "wasm32", feature = "client"))]
mod runtime;
#[cfg(all(target_arch = "wasm32", feature = "client"))]
mod storage;
#[cfg(all(target_arch = "wasm32", feature = "client"))]
mod tabs;
#[cfg(all(target_arch = "wasm32", feature = "client"))]
mod transport;

#[cfg(all(target_arch = "wasm32", feature = "client"))]
pub use client::CartClient;

/// A small free-list allocator (coalescing, address-ordered) instead of
/// dlmalloc: about 8 KB less wasm (3.4 KB gzip). A cart makes few, small
/// allocations, so a linear free list is fast enough.
// SAFETY: wasm32-unknown-unknown without the atomics feature runs on one
// thread, which is what `AssumeSingleThreaded` requires.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
