//! Counters for `GET /metrics`, rendered in the Prometheus text format.
//! Plain atomics: a handful of counters do not need a metrics framework.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every counter the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    pub requests_2xx: AtomicU64,
    pub requests_3xx: AtomicU64,
    pub requests_4xx: AtomicU64,
    pub requests_5xx: AtomicU64,
    pub mutations_applied: AtomicU64,
    pub mutations_duplicate: AtomicU64,
    pub mutations_rejected: AtomicU64,
    pub mutations_conflict: AtomicU64,
    pub store_retries: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub checkout_created: AtomicU64,
    pub checkout_replayed: AtomicU64,
    pub checkout_revalidation_failed: AtomicU64,
    pub checkout_closed: AtomicU64,
    pub recovery_expired_carts: AtomicU64,
    pub recovery_expired_records: AtomicU64,
    pub recovery_verified: AtomicU64,
    pub recovery_repaired: AtomicU64,
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n`.
pub fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// Counts a finished HTTP request by status class.
    pub fn request(&self, status: u16) {
        inc(match status {
            200..=299 => &self.requests_2xx,
            300..=399 => &self.requests_3xx,
            400..=499 => &self.requests_4xx,
            _ => &self.requests_5xx,
        });
    }

    /// The Prometheus text exposition.
    pub fn render(&self, cache_entries: usize) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut family = |name: &str, help: &str, kind: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {v}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {v}");
                }
            }
        };
        family(
            "cartsync_http_requests_total",
            "HTTP requests by status class.",
            "counter",
            &[
                ("class=\"2xx\"", g(&self.requests_2xx)),
                ("class=\"3xx\"", g(&self.requests_3xx)),
                ("class=\"4xx\"", g(&self.requests_4xx)),
                ("class=\"5xx\"", g(&self.requests_5xx)),
            ],
        );
        family(
            "cartsync_mutations_total",
            "Mutations by outcome.",
            "counter",
            &[
                ("status=\"applied\"", g(&self.mutations_applied)),
                ("status=\"duplicate\"", g(&self.mutations_duplicate)),
                ("status=\"rejected\"", g(&self.mutations_rejected)),
                ("status=\"conflict\"", g(&self.mutations_conflict)),
            ],
        );
        family(
            "cartsync_store_retries_total",
            "Batch decisions taken again because the cart moved on between read and commit.",
            "counter",
            &[("", g(&self.store_retries))],
        );
        family(
            "cartsync_cache_requests_total",
            "Session cache lookups.",
            "counter",
            &[
                ("result=\"hit\"", g(&self.cache_hits)),
                ("result=\"miss\"", g(&self.cache_misses)),
            ],
        );
        family(
            "cartsync_cache_entries",
            "Projections in the session cache.",
            "gauge",
            &[("", cache_entries as u64)],
        );
        family(
            "cartsync_checkouts_total",
            "Checkout attempts by outcome.",
            "counter",
            &[
                ("outcome=\"created\"", g(&self.checkout_created)),
                ("outcome=\"replayed\"", g(&self.checkout_replayed)),
                ("outcome=\"revalidation_failed\"", g(&self.checkout_revalidation_failed)),
                ("outcome=\"cart_closed\"", g(&self.checkout_closed)),
            ],
        );
        family(
            "cartsync_recovery_total",
            "Recovery worker actions.",
            "counter",
            &[
                ("action=\"expired_cart\"", g(&self.recovery_expired_carts)),
                (
                    "action=\"expired_idempotency_record\"",
                    g(&self.recovery_expired_records),
                ),
                ("action=\"verified\"", g(&self.recovery_verified)),
                ("action=\"repaired\"", g(&self.recovery_repaired)),
            ],
        );
        out
    }
}
