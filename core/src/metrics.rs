//! Metrics as Prometheus text (0.0.4) and OpenMetrics (1.0), rendered from one
//! snapshot of the breakers and services a binding holds, read when scraped: nothing
//! is counted per call for metrics that the core does not count already, and every
//! runtime renders the same bytes for the same snapshot.
//!
//! Family names follow Resilience4j's where it has them, with Prometheus base units
//! (seconds, ratios in 0..1). Every series carries `name`, `service` and `operation`
//! (empty strings where they do not apply). A series is written once: when two
//! samples would give a family the same labels, the first is kept.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::breaker::{Durations, Lifetime, State, Stats, DURATION_EDGES};
use crate::resilience::{BulkheadConfig, BulkheadStats, DeadLetterStats, Health, RetryCounters};

/// A family with one sample per breaker or service: its name, help and value.
type Family<T, V> = (&'static str, &'static str, fn(&T) -> V);

fn service_labels<'a>(s: &ServiceSample<'a>) -> Labels<'a> {
    Labels {
        name: s.name,
        service: s.name,
        operation: "",
    }
}

/// Which exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    Prometheus,
    /// OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Which breaker a series is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Labels<'a> {
    /// The breaker's name (a service breaker's is its key's name).
    pub name: &'a str,
    /// Its service, or `""`.
    pub service: &'a str,
    /// Its operation, or `""`.
    pub operation: &'a str,
}

/// One breaker, read at scrape time.
#[derive(Clone, Copy, Debug)]
pub struct BreakerSample<'a> {
    /// Who.
    pub labels: Labels<'a>,
    /// `Breaker::stats` now.
    pub stats: Stats,
    /// `Breaker::lifetime`.
    pub lifetime: Lifetime,
    /// `Breaker::durations`.
    pub durations: Durations,
}

/// One service of a resilience service, read at scrape time.
#[derive(Clone, Copy, Debug)]
pub struct ServiceSample<'a> {
    /// The service's name.
    pub name: &'a str,
    /// Its health.
    pub health: Health,
    /// Its bulkhead's counters and limits.
    pub bulkhead: (BulkheadStats, BulkheadConfig),
    /// Its retry outcomes.
    pub retries: RetryCounters,
    /// Forced open as a whole.
    pub forced_open: bool,
}

/// Everything one scrape shows.
#[derive(Clone, Debug, Default)]
pub struct Snapshot<'a> {
    /// Every breaker: the registry's and the services'.
    pub breakers: Vec<BreakerSample<'a>>,
    /// Every service of every resilience service.
    pub services: Vec<ServiceSample<'a>>,
    /// Each resilience service's dead-letter queue (summed).
    pub dead_letters: Vec<DeadLetterStats>,
    /// The package version.
    pub version: &'a str,
    /// `"node"`, `"python"`, `"browser"` or `"rust"`.
    pub runtime: &'a str,
}

/// Renders `snapshot` in `format`.
pub fn render(snapshot: &Snapshot<'_>, format: Format) -> String {
    let mut out = Out {
        text: String::with_capacity(snapshot.breakers.len() * 3000),
        format,
        current: String::new(),
    };
    // Each breaker and service once (the first sample of a name wins), so that every
    // series is written once without checking series one by one.
    let mut seen = BTreeSet::new();
    let breakers: Vec<&BreakerSample<'_>> = snapshot
        .breakers
        .iter()
        .filter(|b| seen.insert((b.labels.name, b.labels.service, b.labels.operation)))
        .collect();
    let mut seen = BTreeSet::new();
    let services: Vec<&ServiceSample<'_>> = snapshot
        .services
        .iter()
        .filter(|s| seen.insert(s.name))
        .collect();
    let breakers = &breakers;
    let states = [
        ("closed", State::Closed, false, false),
        ("open", State::Open, false, false),
        ("half_open", State::HalfOpen, false, false),
        ("forced_open", State::Open, true, false),
        ("disabled", State::Closed, false, true),
    ];
    out.family(
        "tripwire_circuitbreaker_state",
        Kind::Gauge,
        "The breaker's state: 1 for the state it is in, 0 for the others.",
    );
    for b in breakers {
        let s = &b.stats;
        for (label, state, forced, disabled) in states {
            let on = if forced || disabled {
                s.forced_open == forced && s.disabled == disabled
            } else {
                s.state == state && !s.forced_open && !s.disabled
            };
            out.sample("", &b.labels, &[("state", label)], u64::from(on));
        }
    }
    out.family(
        "tripwire_circuitbreaker_calls",
        Kind::Counter,
        "Calls that ran, by how they ended.",
    );
    for b in breakers {
        let l = &b.lifetime;
        for (kind, n) in [
            ("successful", l.successful),
            ("failed", l.failed),
            ("timeout", l.timeouts),
            ("ignored", l.ignored),
        ] {
            out.sample("_total", &b.labels, &[("kind", kind)], n);
        }
    }
    let counters: [Family<Lifetime, u64>; 2] = [
        (
            "tripwire_circuitbreaker_not_permitted_calls",
            "Calls the breaker refused.",
            |l| l.not_permitted,
        ),
        (
            "tripwire_circuitbreaker_slow_calls",
            "Calls slower than the slow-call duration.",
            |l| l.slow,
        ),
    ];
    for (name, help, value) in counters {
        out.family(name, Kind::Counter, help);
        for b in breakers {
            out.sample("_total", &b.labels, &[], value(&b.lifetime));
        }
    }
    out.family(
        "tripwire_circuitbreaker_call_duration_seconds",
        Kind::Histogram,
        "Durations of the calls since the breaker was made or reset.",
    );
    for b in breakers {
        let d = &b.durations;
        for (edge, below) in DURATION_EDGES.iter().zip(d.below) {
            let mut le = String::new();
            nanos_as_seconds(&mut le, u128::from(*edge));
            out.sample("_bucket", &b.labels, &[("le", &le)], below);
        }
        out.sample("_bucket", &b.labels, &[("le", "+Inf")], d.count);
        out.sample("_count", &b.labels, &[], d.count);
        out.sample_seconds("_sum", &b.labels, d.sum);
    }
    let ratios: [Family<Stats, f64>; 2] = [
        (
            "tripwire_circuitbreaker_failure_ratio",
            "Failures over calls in the breaker's window (0..1).",
            |s| s.failure_rate,
        ),
        (
            "tripwire_circuitbreaker_slow_call_ratio",
            "Slow calls over calls in the breaker's window (0..1).",
            |s| s.slow_call_rate,
        ),
    ];
    for (name, help, value) in ratios {
        out.family(name, Kind::Gauge, help);
        for b in breakers {
            out.sample_ratio("", &b.labels, value(&b.stats));
        }
    }
    out.family(
        "tripwire_circuitbreaker_buffered_calls",
        Kind::Gauge,
        "Calls in the breaker's window, by outcome.",
    );
    for b in breakers {
        let s = &b.stats;
        let failed = u64::from(s.window_failures);
        out.sample(
            "",
            &b.labels,
            &[("kind", "successful")],
            u64::from(s.window_calls) - failed,
        );
        out.sample("", &b.labels, &[("kind", "failed")], failed);
    }
    out.family(
        "tripwire_circuitbreaker_transitions",
        Kind::Counter,
        "State changes, by the states left and entered.",
    );
    let names = ["closed", "open", "half_open"];
    for b in breakers {
        for (from, row) in b.lifetime.transitions.iter().enumerate() {
            for (to, n) in row.iter().enumerate() {
                if from != to {
                    out.sample(
                        "_total",
                        &b.labels,
                        &[("from_state", names[from]), ("to_state", names[to])],
                        *n,
                    );
                }
            }
        }
    }

    let services = &services;
    let gauges: [Family<(BulkheadStats, BulkheadConfig), u32>; 4] = [
        (
            "tripwire_bulkhead_max_allowed_concurrent_calls",
            "Calls a service's bulkhead runs at once.",
            |(_, c)| c.max_concurrent,
        ),
        (
            "tripwire_bulkhead_available_concurrent_calls",
            "Free slots of a service's bulkhead.",
            |(b, c)| c.max_concurrent.saturating_sub(b.running),
        ),
        (
            "tripwire_bulkhead_queue_depth",
            "Calls waiting for a slot.",
            |(b, _)| b.queued,
        ),
        (
            "tripwire_bulkhead_queue_capacity",
            "Calls that may wait for a slot.",
            |(_, c)| c.queue_size,
        ),
    ];
    for (name, help, value) in gauges {
        out.family(name, Kind::Gauge, help);
        for s in services {
            out.sample("", &service_labels(s), &[], u64::from(value(&s.bulkhead)));
        }
    }
    out.family(
        "tripwire_bulkhead_calls",
        Kind::Counter,
        "Calls a service's bulkhead admitted or refused.",
    );
    for s in services {
        let b = &s.bulkhead.0;
        for (kind, n) in [
            ("admitted", b.admitted),
            ("rejected_full", b.rejected_full),
            ("rejected_queue_timeout", b.rejected_queue_timeout),
        ] {
            out.sample("_total", &service_labels(s), &[("kind", kind)], n);
        }
    }
    out.family(
        "tripwire_bulkhead_queue_wait_seconds",
        Kind::Summary,
        "Time calls admitted from the queue waited.",
    );
    for s in services {
        out.sample_seconds("_sum", &service_labels(s), s.bulkhead.0.wait_sum);
        out.sample("_count", &service_labels(s), &[], s.bulkhead.0.waited);
    }
    out.family(
        "tripwire_retry_calls",
        Kind::Counter,
        "Calls of a service, by whether they succeeded and were retried.",
    );
    for s in services {
        let r = &s.retries;
        for (kind, n) in [
            ("successful_without_retry", r.successful_without_retry),
            ("successful_with_retry", r.successful_with_retry),
            ("failed_without_retry", r.failed_without_retry),
            ("failed_with_retry", r.failed_with_retry),
        ] {
            out.sample("_total", &service_labels(s), &[("kind", kind)], n);
        }
    }
    out.family(
        "tripwire_service_health",
        Kind::Gauge,
        "A service's health: 1 for its status, 0 for the others.",
    );
    for s in services {
        for status in [Health::Healthy, Health::Degraded, Health::Unhealthy] {
            out.sample(
                "",
                &service_labels(s),
                &[("status", status.as_str())],
                u64::from(s.health == status),
            );
        }
    }

    let none = Labels {
        name: "",
        service: "",
        operation: "",
    };
    if !snapshot.dead_letters.is_empty() {
        let sum = |f: fn(&DeadLetterStats) -> u64| snapshot.dead_letters.iter().map(f).sum::<u64>();
        out.family(
            "tripwire_dead_letter_queue_size",
            Kind::Gauge,
            "Failed calls kept for a retry.",
        );
        out.sample("", &none, &[], sum(|d| d.size as u64));
        out.family(
            "tripwire_dead_letter_queue_capacity",
            Kind::Gauge,
            "Failed calls the dead-letter queue keeps at most.",
        );
        out.sample("", &none, &[], sum(|d| d.capacity as u64));
        out.family(
            "tripwire_dead_letter_queue_enqueued",
            Kind::Counter,
            "Failed calls ever queued.",
        );
        out.sample("_total", &none, &[], sum(|d| d.enqueued));
        out.family(
            "tripwire_dead_letter_queue_dropped",
            Kind::Counter,
            "Failed calls dropped (the oldest) to make room.",
        );
        out.sample("_total", &none, &[], sum(|d| d.dropped));
    }
    out.family(
        "tripwire_build",
        Kind::Info,
        "The tripwire package that renders these metrics.",
    );
    out.sample(
        "_info",
        &none,
        &[("version", snapshot.version), ("runtime", snapshot.runtime)],
        1,
    );
    if format == Format::OpenMetrics {
        out.text.push_str("# EOF\n");
    }
    out.text
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Info,
}

struct Out {
    text: String,
    format: Format,
    /// The family being written.
    current: String,
}

impl Out {
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let (om, prom) = match kind {
            Kind::Counter => ("counter", "counter"),
            Kind::Gauge => ("gauge", "gauge"),
            Kind::Histogram => ("histogram", "histogram"),
            Kind::Summary => ("summary", "summary"),
            Kind::Info => ("info", "gauge"),
        };
        // Prometheus text names counters and info metrics with their suffix; OpenMetrics
        // names the family without it.
        let family = match (self.format, kind) {
            (Format::Prometheus, Kind::Counter) => alloc::format!("{name}_total"),
            (Format::Prometheus, Kind::Info) => alloc::format!("{name}_info"),
            _ => String::from(name),
        };
        let kind = if self.format == Format::OpenMetrics {
            om
        } else {
            prom
        };
        let _ = writeln!(self.text, "# HELP {family} {help}");
        let _ = writeln!(self.text, "# TYPE {family} {kind}");
        if self.format == Format::OpenMetrics && name.ends_with("_seconds") {
            let _ = writeln!(self.text, "# UNIT {family} seconds");
        }
        self.current = String::from(name);
    }

    fn series(&mut self, suffix: &str, labels: &Labels<'_>, extra: &[(&str, &str)]) {
        let _ = write!(self.text, "{}{suffix}{{name=\"", self.current);
        escape(&mut self.text, labels.name);
        self.text.push_str("\",service=\"");
        escape(&mut self.text, labels.service);
        self.text.push_str("\",operation=\"");
        escape(&mut self.text, labels.operation);
        self.text.push('"');
        for (k, v) in extra {
            let _ = write!(self.text, ",{k}=\"");
            escape(&mut self.text, v);
            self.text.push('"');
        }
        self.text.push_str("} ");
    }

    fn sample(&mut self, suffix: &str, labels: &Labels<'_>, extra: &[(&str, &str)], value: u64) {
        self.series(suffix, labels, extra);
        let _ = writeln!(self.text, "{value}");
    }

    fn sample_seconds(&mut self, suffix: &str, labels: &Labels<'_>, nanos: u128) {
        self.series(suffix, labels, &[]);
        nanos_as_seconds(&mut self.text, nanos);
        self.text.push('\n');
    }

    fn sample_ratio(&mut self, suffix: &str, labels: &Labels<'_>, ratio: f64) {
        self.series(suffix, labels, &[]);
        // Rust prints the shortest text that reads back as the same number, never with
        // an exponent: the same bytes in every runtime that calls this.
        let _ = writeln!(self.text, "{ratio}");
    }
}

/// A label value with `\`, `"` and newlines escaped (both formats; other characters,
/// non-ASCII included, are written as UTF-8).
fn escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Nanoseconds as exact decimal seconds (`1.5`, `0.001048575`, `0`).
fn nanos_as_seconds(out: &mut String, nanos: u128) {
    let whole = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let _ = write!(out, "{whole}");
    if frac != 0 {
        let mut digits = alloc::format!("{frac:09}");
        while digits.ends_with('0') {
            digits.pop();
        }
        out.push('.');
        out.push_str(&digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_seconds() {
        let mut s = String::new();
        escape(&mut s, "a\"b\\c\nλ");
        assert_eq!(s, "a\\\"b\\\\c\\nλ");
        for (nanos, text) in [(0, "0"), (1_500_000_000, "1.5"), (1_048_575, "0.001048575")] {
            let mut s = String::new();
            nanos_as_seconds(&mut s, nanos);
            assert_eq!(s, text);
        }
    }

    #[test]
    fn a_series_is_written_once() {
        let labels = Labels {
            name: "x",
            service: "",
            operation: "",
        };
        let mut snapshot = Snapshot::default();
        let sample = BreakerSample {
            labels,
            stats: crate::Breaker::new(crate::Config::default())
                .unwrap()
                .stats(0),
            lifetime: Lifetime::default(),
            durations: Durations::default(),
        };
        snapshot.breakers = alloc::vec![sample, sample];
        let text = render(&snapshot, Format::OpenMetrics);
        assert_eq!(
            text.matches("tripwire_circuitbreaker_slow_calls_total{")
                .count(),
            1
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
