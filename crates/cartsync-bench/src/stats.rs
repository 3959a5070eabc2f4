//! Latency samples and their summary.

use serde_json::{json, Value};
use std::time::Duration;

/// Sorted latencies in microseconds plus what they were measured over.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub count: usize,
    pub elapsed: Duration,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Summary {
    pub fn of(mut micros: Vec<u64>, elapsed: Duration) -> Summary {
        micros.sort_unstable();
        Summary {
            count: micros.len(),
            elapsed,
            p50_us: percentile(&micros, 0.50),
            p99_us: percentile(&micros, 0.99),
            max_us: micros.last().copied().unwrap_or(0),
        }
    }

    /// Several measurements of one thing as one: samples pooled, times
    /// added.
    pub fn merge(parts: &[(Vec<u64>, Duration)]) -> Summary {
        let samples = parts.iter().flat_map(|(v, _)| v.iter().copied()).collect();
        Summary::of(samples, parts.iter().map(|(_, d)| *d).sum())
    }

    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.count as f64 / s
        } else {
            0.0
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "count": self.count,
            "secs": round(self.elapsed.as_secs_f64(), 3),
            "per_sec": round(self.rate(), 1),
            "p50_ms": round(self.p50_us as f64 / 1000.0, 3),
            "p99_ms": round(self.p99_us as f64 / 1000.0, 3),
            "max_ms": round(self.max_us as f64 / 1000.0, 3),
        })
    }
}

/// Nearest-rank percentile of sorted samples (0 when empty).
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

pub fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
