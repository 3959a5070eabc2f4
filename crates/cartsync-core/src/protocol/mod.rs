//! Versioned wire formats. `v1` is served at `/api/v1`.
pub mod v1;
