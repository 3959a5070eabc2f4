//! # cartsync-core
//!
//! The platform-free heart of cartsync, shared by the browser SDK and the
//! server: the cart model, commands and their validation, the authority's
//! batch decision, the merge and rebase rules, protocol v1 and the sans-IO
//! client sync engine. No wasm, async runtime, database, clock or RNG in
//! here: those come in through [`Clock`] and [`Random`], and
//! the engine takes events and returns actions.
//!
//! `no_std` (with `alloc`) without the default feature `std`: the browser
//! build then carries no std panic machinery or formatting.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

/// What the modules take from `alloc` (the std prelude's names, for builds
/// without std).
mod prelude {
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

pub mod api;
pub mod apply;
pub mod authority;
pub mod command;
pub mod destination;
pub mod engine;
pub mod error;
pub mod limits;
pub mod merge;
pub mod model;
pub mod money;
pub mod options;
pub mod protocol;
pub mod rebase;
pub mod seams;
pub mod shipping;
pub mod tax;
pub mod terms;
pub mod text;
#[cfg(feature = "vectors")]
pub mod vectors;

pub use apply::{apply, apply_in_place, normalize_coupon, validate, Applied, CartBody, CartLine};
pub use authority::{
    decide_batch, replay, AppliedEvent, BatchDecision, CommandCheck, Conflict, IdempotencyLog, IdempotencyRecord,
    MutationResult, MutationStatus,
};
pub use command::{Command, Mutation};
pub use error::{CartError, ErrorBody};
pub use limits::Limits;
pub use merge::{merge, LineRef, MergeReport, SummedLine};
pub use model::{Cart, Coupon, CouponState, Destination, Line, MutationId, Options, Sku};
pub use money::{Money, Totals};
pub use rebase::{rebase, Reconciliation};
pub use seams::{Clock, Random, SplitMix64};
pub use shipping::{ShippingQuote, ShippingReason, ShippingRule, ShippingStatus, WeightBand};
pub use tax::{Tax, TaxRate, TaxRules};
pub use terms::CartRules;
