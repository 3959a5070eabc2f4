//! What `GET /metrics` exports, in the Prometheus text format, through the
//! `prometheus` crate: request latency by route and status, store and cache
//! timings by operation and outcome, and the domain counters. One registry
//! per server instance (tests run several in one process).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::time::Duration;

/// Latency buckets (seconds): from a cached lookup (tens of µs) to a
/// commit waiting on a slow disk or a synchronous standby.
const BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub mutations_applied: IntCounter,
    pub mutations_duplicate: IntCounter,
    pub mutations_rejected: IntCounter,
    pub mutations_conflict: IntCounter,
    pub store_retries: IntCounter,
    pub store_seconds: HistogramVec,
    pub cache_hits: IntCounter,
    pub cache_misses: IntCounter,
    pub cache_seconds: HistogramVec,
    pub cache_entries: IntGauge,
    pub checkout_created: IntCounter,
    pub checkout_replayed: IntCounter,
    pub checkout_revalidation_failed: IntCounter,
    pub checkout_closed: IntCounter,
    pub recovery_expired_carts: IntCounter,
    pub recovery_expired_records: IntCounter,
    pub recovery_verified: IntCounter,
    pub recovery_repaired: IntCounter,
    pub recovery_skipped: IntCounter,
    pub recovery_pass_seconds: Histogram,
    /// `cartsync_payment_callbacks_total{outcome}`: what each callback did.
    payment_callbacks: IntCounterVec,
    pub payment_callbacks_duplicate: IntCounter,
    pub payment_callbacks_refused: IntCounter,
    /// Unpaid orders whose hold ran out (their stock given back).
    pub orders_expired: IntCounter,
}

/// Adds one.
pub fn inc(c: &IntCounter) {
    c.inc();
}

/// Adds `n`.
pub fn add(c: &IntCounter, n: u64) {
    c.inc_by(n);
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new("local")
    }
}

fn counter_vec(r: &Registry, name: &str, help: &str, label: &str, values: &[&str]) -> IntCounterVec {
    let v = IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric");
    r.register(Box::new(v.clone())).expect("registered once");
    // Every series from the start, so a zero reads as 0 rather than absent.
    for value in values {
        v.with_label_values(&[value]);
    }
    v
}

fn histogram_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let v = HistogramVec::new(HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()), labels).expect("valid metric");
    r.register(Box::new(v.clone())).expect("registered once");
    v
}

impl Metrics {
    /// The metrics of the instance named `instance` (exported as
    /// `cartsync_instance_info{instance=…} 1`).
    pub fn new(instance: &str) -> Self {
        let r = Registry::new();
        let info = IntGaugeVec::new(
            Opts::new("cartsync_instance_info", "This server instance."),
            &["instance"],
        )
        .expect("valid metric");
        r.register(Box::new(info.clone())).expect("registered once");
        info.with_label_values(&[instance]).set(1);
        let requests = counter_vec(
            &r,
            "cartsync_http_requests_total",
            "HTTP requests by status class.",
            "class",
            &["2xx", "3xx", "4xx", "5xx"],
        );
        let mutations = counter_vec(
            &r,
            "cartsync_mutations_total",
            "Mutations by outcome.",
            "status",
            &["applied", "duplicate", "rejected", "conflict"],
        );
        let cache = counter_vec(
            &r,
            "cartsync_cache_requests_total",
            "Session cache lookups.",
            "result",
            &["hit", "miss"],
        );
        let checkouts = counter_vec(
            &r,
            "cartsync_checkouts_total",
            "Checkout attempts by outcome.",
            "outcome",
            &["created", "replayed", "revalidation_failed", "cart_closed"],
        );
        let recovery = counter_vec(
            &r,
            "cartsync_recovery_total",
            "Recovery worker actions.",
            "action",
            &[
                "expired_cart",
                "expired_idempotency_record",
                "verified",
                "repaired",
                "skipped_pass",
            ],
        );
        let payment_callbacks = counter_vec(
            &r,
            "cartsync_payment_callbacks_total",
            "Payment provider callbacks by what they did.",
            "outcome",
            &[
                "paid",
                "payment_failed",
                "already_paid",
                "ignored",
                "refund_due",
                "amount_mismatch",
                "duplicate",
                "refused",
            ],
        );
        let orders_expired = IntCounter::new(
            "cartsync_orders_expired_total",
            "Unpaid orders whose stock hold ran out; the recovery worker gave the stock back.",
        )
        .expect("valid metric");
        r.register(Box::new(orders_expired.clone())).expect("registered once");
        let store_retries = IntCounter::new(
            "cartsync_store_retries_total",
            "Batch decisions taken again because the cart moved on between read and commit.",
        )
        .expect("valid metric");
        r.register(Box::new(store_retries.clone())).expect("registered once");
        let cache_entries =
            IntGauge::new("cartsync_cache_entries", "Projections in the in-process session cache.").expect("valid");
        r.register(Box::new(cache_entries.clone())).expect("registered once");
        let recovery_pass_seconds = Histogram::with_opts(
            HistogramOpts::new("cartsync_recovery_pass_seconds", "Duration of recovery passes.")
                .buckets(vec![0.01, 0.1, 1.0, 10.0, 60.0, 600.0]),
        )
        .expect("valid metric");
        r.register(Box::new(recovery_pass_seconds.clone()))
            .expect("registered once");
        Metrics {
            request_seconds: histogram_vec(
                &r,
                "cartsync_http_request_duration_seconds",
                "HTTP request latency by route and status.",
                &["route", "status"],
            ),
            store_seconds: histogram_vec(
                &r,
                "cartsync_store_duration_seconds",
                "Store calls by operation and outcome.",
                &["op", "outcome"],
            ),
            cache_seconds: histogram_vec(
                &r,
                "cartsync_cache_duration_seconds",
                "Session cache calls by operation and outcome.",
                &["op", "outcome"],
            ),
            mutations_applied: mutations.with_label_values(&["applied"]),
            mutations_duplicate: mutations.with_label_values(&["duplicate"]),
            mutations_rejected: mutations.with_label_values(&["rejected"]),
            mutations_conflict: mutations.with_label_values(&["conflict"]),
            cache_hits: cache.with_label_values(&["hit"]),
            cache_misses: cache.with_label_values(&["miss"]),
            checkout_created: checkouts.with_label_values(&["created"]),
            checkout_replayed: checkouts.with_label_values(&["replayed"]),
            checkout_revalidation_failed: checkouts.with_label_values(&["revalidation_failed"]),
            checkout_closed: checkouts.with_label_values(&["cart_closed"]),
            recovery_expired_carts: recovery.with_label_values(&["expired_cart"]),
            recovery_expired_records: recovery.with_label_values(&["expired_idempotency_record"]),
            recovery_verified: recovery.with_label_values(&["verified"]),
            recovery_repaired: recovery.with_label_values(&["repaired"]),
            recovery_skipped: recovery.with_label_values(&["skipped_pass"]),
            recovery_pass_seconds,
            payment_callbacks_duplicate: payment_callbacks.with_label_values(&["duplicate"]),
            payment_callbacks_refused: payment_callbacks.with_label_values(&["refused"]),
            payment_callbacks,
            orders_expired,
            requests,
            store_retries,
            cache_entries,
            registry: r,
        }
    }

    /// Counts a payment callback the store applied, by its outcome.
    pub fn payment_event(&self, outcome: &str) {
        self.payment_callbacks.with_label_values(&[outcome]).inc();
    }

    /// Counts and times a finished HTTP request. `route` is the matched
    /// route template (never a path with a cart token in it).
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        let class = match status {
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests.with_label_values(&[class]).inc();
        let code = status.to_string();
        self.request_seconds
            .with_label_values(&[route, code.as_str()])
            .observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition. `cache_entries`: the in-process
    /// cache's size, when it has one.
    pub fn render(&self, cache_entries: Option<u64>) -> String {
        if let Some(n) = cache_entries {
            self.cache_entries.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "rendering metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_zero_series() {
        let m = Metrics::new("a");
        m.request("/api/v1/carts/{token}", 200, Duration::from_millis(3));
        inc(&m.mutations_applied);
        let text = m.render(Some(4));
        assert!(text.contains("cartsync_http_requests_total{class=\"2xx\"} 1"), "{text}");
        assert!(text.contains("cartsync_http_requests_total{class=\"5xx\"} 0"), "{text}");
        assert!(text.contains(
            "cartsync_http_request_duration_seconds_count{route=\"/api/v1/carts/{token}\",status=\"200\"} 1"
        ));
        assert!(text.contains("cartsync_mutations_total{status=\"applied\"} 1"));
        assert!(text.contains("cartsync_cache_entries 4"));
        assert!(text.contains("cartsync_instance_info{instance=\"a\"} 1"));
        assert!(text.contains("cartsync_recovery_total{action=\"repaired\"} 0"));
    }
}
