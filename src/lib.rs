//! # cartsync (browser binding)
//!
//! [`CartClient`] is the browser SDK, exported to JavaScript by
//! wasm-bindgen. It carries out what the core's sans-IO engine decides
//! (`cartsync_core::engine`): it writes and reads localStorage (gloo-storage),
//! sends requests with `fetch` and an `AbortController` timeout, listens to
//! `storage` and `online`/`offline` events and holds the Web Lock or runs the
//! storage lease (web-sys), keeps timers and promises (js-sys), converts every
//! JS value in and out with serde-wasm-bindgen and makes mutation ids with
//! uuid from `crypto.getRandomValues`. It decides nothing about carts, retries
//! or leadership itself.
//!
//! Modules: `client` (the exported class), `hub` (one engine per storage
//! namespace in a document, shared by every client of it), `storage`,
//! `transport`, `tabs` (events, locks, timers), `handoff` and `idb` (the
//! IndexedDB copy a service worker sends from, and taking in what it
//! settled), `worker` (`flushPending`, for `cartsync/sw`: feature `worker`, its own
//! build), `view` (the view's JS
//! snapshot, redone only where it changed), `convert` and `camel` (the one
//! configured serializer), `error` (`CartError` objects), `rules` (the pure
//! rules for a JavaScript backend, feature `rules`). The client is built for
//! `wasm32` only: it is the browser's.

// Native builds compile it for its unit tests.
#[cfg(any(test, all(feature = "client", target_arch = "wasm32")))]
mod camel;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
mod client;
// The rules use a part of what the client does.
#[cfg(any(feature = "client", feature = "rules"))]
#[cfg_attr(not(all(feature = "client", target_arch = "wasm32")), allow(dead_code))]
mod convert;
#[cfg(any(feature = "client", feature = "rules"))]
#[cfg_attr(not(all(feature = "client", target_arch = "wasm32")), allow(dead_code))]
mod error;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
mod handoff;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
mod hub;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
mod idb;
#[cfg(feature = "rules")]
pub mod rules;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
mod storage;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
mod tabs;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
mod transport;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
mod view;
#[cfg(all(feature = "worker", target_arch = "wasm32"))]
mod worker;

pub use cartsync_core as core;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
pub use client::CartClient;
