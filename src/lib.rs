//! # cartsync (browser binding)
//!
//! The wasm half of the JavaScript `CartClient`: [`Core`] runs the core's
//! sans-IO sync engine and answers the package's JS (pkg-template/client.js),
//! which does the browser's IO — localStorage, fetch, timers, storage
//! events and Web Locks. Everything crosses the boundary as JSON text
//! ([`json`]); conversions live in `convert/`; nothing here decides what a
//! cart is (that is `cartsync-core`).
//!
//! On wasm32 the crate is `no_std` + `alloc`: built for the package
//! (feature `standalone`, which adds the panic handler) the module carries
//! no std panic machinery or formatting code. Test builds link std (through
//! their own dependencies) and its handler, so they leave `standalone` off.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// What the modules take from `alloc` (the std prelude's names).
mod prelude {
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

pub use cartsync_core as core;

#[cfg(feature = "client")]
mod answer;
#[cfg(feature = "client")]
mod client;
/// Public only for the round-trip tests in tests/web.rs; not part of the
/// SDK's API.
#[doc(hidden)]
#[cfg_attr(not(all(feature = "client", feature = "rules")), allow(dead_code))]
pub mod convert;
#[cfg_attr(not(feature = "client"), allow(dead_code))]
mod error;
#[doc(hidden)]
pub mod json;
#[cfg(feature = "client")]
mod random;
#[cfg(feature = "rules")]
pub mod rules;

#[cfg(feature = "client")]
pub use client::Core;

/// A panic (a bug: input never panics) traps. Only in the package's own
/// build: test binaries link std, which brings its own handler.
#[cfg(all(target_arch = "wasm32", feature = "standalone"))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}

/// A small free-list allocator (coalescing, address-ordered) instead of
/// dlmalloc: about 8 KB less wasm (3.4 KB gzip). A cart makes few, small
/// allocations, so a linear free list is fast enough.
// SAFETY: wasm32-unknown-unknown without the atomics feature runs on one
// thread, which is what `AssumeSingleThreaded` requires.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
