//! Every conversion between JavaScript values and Rust types lives here.
//! JS sees camelCase; storage and the wire keep protocol v1's snake_case.
//!
//! The conversions are hand-written over `js_sys::Reflect` rather than
//! derived through serde-wasm-bindgen: serde monomorphises visitors,
//! field identifiers and error paths (with float formatting) for every type,
//! which was most of the wasm a browser downloaded. What the binding never
//! needs to understand (the login merge report, a checkout's order and
//! problems) passes through as the plain object the server sent.
//!
//! - [`js`]: field readers and an object builder;
//! - [`wire`]: protocol v1 bodies; [`stored`]: localStorage records;
//! - [`api`]: method arguments, `view()` and events; [`rules`]: the core
//!   types the exported pure rules take and return.

pub mod api;
pub mod json;
pub mod rules;
pub mod stored;
pub mod wire;
