//! The browser binding of cartsync. Until the SDK issue lands it only
//! re-exports the platform-free core so the workspace layout is final.
pub use cartsync_core as core;
