//! What the dashboard shows, as the JSON of the control API's `GET /snapshot`: the
//! same bytes in every runtime for the same state. Its history (call rate, success
//! ratio and p99 over the last ten minutes) is sampled when a snapshot is read, at
//! most every [`HISTORY_STEP`]: no timer runs for it.

use alloc::collections::VecDeque;
use alloc::string::String;
use core::fmt::Write;

use crate::breaker::State;
use crate::metrics::Snapshot;
use crate::resilience::Health;
use crate::{NANOS_PER_MILLI, NANOS_PER_SEC};

/// How far back the history goes.
pub const HISTORY_SPAN: u64 = 600 * NANOS_PER_SEC;
/// The least time between two history samples.
pub const HISTORY_STEP: u64 = 5 * NANOS_PER_SEC;
/// Alerts the feed keeps.
pub const FEED_SIZE: usize = 50;

/// One alert in the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedItem {
    /// `circuit-opened`, `high-error-rate`...
    pub kind: &'static str,
    /// The service, if any.
    pub service: Option<String>,
    /// The operation, if any.
    pub operation: Option<String>,
    /// The alert's sentence.
    pub message: String,
    /// When it fired, epoch milliseconds.
    pub time: f64,
}

/// The latest alerts, newest last.
#[derive(Clone, Debug, Default)]
pub struct Feed {
    items: VecDeque<FeedItem>,
}

impl Feed {
    /// Adds an alert, dropping the oldest beyond [`FEED_SIZE`].
    pub fn push(&mut self, item: FeedItem) {
        if self.items.len() == FEED_SIZE {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    at: u64,
    epoch_ms: f64,
    calls: u64,
    successes: u64,
    p99: Option<u64>,
}

/// Samples of the whole snapshot over the last [`HISTORY_SPAN`].
#[derive(Clone, Debug, Default)]
pub struct History {
    samples: VecDeque<Sample>,
}

impl History {
    /// Samples `snapshot` at `now` (monotonic ns; `epoch_ms` for display) unless the
    /// last sample is younger than [`HISTORY_STEP`]; forgets samples older than the span.
    pub fn observe(&mut self, snapshot: &Snapshot<'_>, now: u64, epoch_ms: f64) {
        if self
            .samples
            .back()
            .is_some_and(|s| now.saturating_sub(s.at) < HISTORY_STEP)
        {
            return;
        }
        let (mut calls, mut successes, mut p99) = (0, 0, None::<u64>);
        for b in &snapshot.breakers {
            let l = &b.lifetime;
            calls += l.successful + l.failed + l.timeouts;
            successes += l.successful;
            if let Some(p) = b.stats.latency_p99 {
                p99 = Some(p99.map_or(p, |q| q.max(p)));
            }
        }
        self.samples.push_back(Sample {
            at: now,
            epoch_ms,
            calls,
            successes,
            p99,
        });
        while self
            .samples
            .front()
            .is_some_and(|s| now.saturating_sub(s.at) > HISTORY_SPAN)
        {
            self.samples.pop_front();
        }
    }
}

/// A dead letter as the dashboard lists it.
#[derive(Clone, Copy, Debug)]
pub struct DeadLetterView<'a> {
    /// Its id (for `POST /retry/:id`).
    pub id: u64,
    /// Its service.
    pub service: &'a str,
    /// Its operation.
    pub operation: &'a str,
    /// Attempts so far.
    pub attempts: u32,
    /// The last error's message.
    pub error: &'a str,
    /// When it failed last, epoch milliseconds.
    pub time: f64,
}

/// The `/snapshot` JSON. `forced` says which services are forced open as a whole.
pub fn render(
    snapshot: &Snapshot<'_>,
    dead_letters: &[DeadLetterView<'_>],
    feed: &Feed,
    history: &History,
    now: u64,
    epoch_ms: f64,
) -> String {
    let mut j = Json(String::new());
    let overall = snapshot
        .services
        .iter()
        .map(|s| s.health)
        .max()
        .unwrap_or(Health::Healthy);
    j.raw("{\"version\":");
    j.string(snapshot.version);
    j.raw(",\"runtime\":");
    j.string(snapshot.runtime);
    j.raw(",\"time\":");
    j.number(epoch_ms);
    j.raw(",\"overall\":");
    j.string(overall.as_str());
    j.raw(",\"services\":[");
    for (i, s) in snapshot.services.iter().enumerate() {
        j.comma(i);
        let (b, c) = &s.bulkhead;
        j.raw("{\"name\":");
        j.string(s.name);
        j.raw(",\"status\":");
        j.string(s.health.as_str());
        j.raw(",\"forcedOpen\":");
        j.raw(if s.forced_open { "true" } else { "false" });
        let _ = write!(
            j.0,
            ",\"bulkhead\":{{\"running\":{},\"maxConcurrent\":{},\"queued\":{},\"queueSize\":{},\"rejected\":{}}}",
            b.running, c.max_concurrent, b.queued, c.queue_size, b.rejected
        );
        j.raw("}");
    }
    j.raw("],\"breakers\":[");
    for (i, b) in snapshot.breakers.iter().enumerate() {
        j.comma(i);
        let s = &b.stats;
        j.raw("{\"name\":");
        j.string(b.labels.name);
        j.raw(",\"service\":");
        j.string(b.labels.service);
        j.raw(",\"operation\":");
        j.string(b.labels.operation);
        j.raw(",\"state\":");
        j.string(s.state.as_str());
        let _ = write!(
            j.0,
            ",\"forcedOpen\":{},\"disabled\":{},\"failureRatio\":",
            s.forced_open, s.disabled
        );
        j.number(s.failure_rate);
        let _ = write!(
            j.0,
            ",\"calls\":{},\"failures\":{},\"refused\":{},\"p50\":",
            s.requests, s.failures, s.rejected
        );
        j.millis(s.latency_p50);
        j.raw(",\"p99\":");
        j.millis(s.latency_p99);
        j.raw(",\"nextAttemptIn\":");
        let next = match (s.state, s.next_attempt_at) {
            (State::Open, Some(at)) if !s.forced_open => Some(at.saturating_sub(now)),
            _ => None,
        };
        j.millis(next);
        j.raw("}");
    }
    j.raw("],\"deadLetters\":{");
    let (size, capacity, dropped) = snapshot
        .dead_letters
        .iter()
        .fold((0, 0, 0), |(a, b, c), d| {
            (a + d.size, b + d.capacity, c + d.dropped)
        });
    let _ = write!(
        j.0,
        "\"size\":{size},\"capacity\":{capacity},\"dropped\":{dropped},\"items\":["
    );
    for (i, d) in dead_letters.iter().enumerate() {
        j.comma(i);
        let _ = write!(j.0, "{{\"id\":{},\"service\":", d.id);
        j.string(d.service);
        j.raw(",\"operation\":");
        j.string(d.operation);
        let _ = write!(j.0, ",\"attempts\":{},\"error\":", d.attempts);
        j.string(d.error);
        j.raw(",\"time\":");
        j.number(d.time);
        j.raw("}");
    }
    j.raw("]},\"alerts\":[");
    for (i, a) in feed.items.iter().enumerate() {
        j.comma(i);
        j.raw("{\"type\":");
        j.string(a.kind);
        j.raw(",\"service\":");
        j.opt_string(a.service.as_deref());
        j.raw(",\"operation\":");
        j.opt_string(a.operation.as_deref());
        j.raw(",\"message\":");
        j.string(&a.message);
        j.raw(",\"time\":");
        j.number(a.time);
        j.raw("}");
    }
    j.raw("],\"history\":[");
    let mut previous: Option<&Sample> = None;
    let mut first = true;
    for s in &history.samples {
        if let Some(p) = previous {
            if !first {
                j.raw(",");
            }
            first = false;
            let seconds = s.at.saturating_sub(p.at) as f64 / NANOS_PER_SEC as f64;
            let calls = s.calls.saturating_sub(p.calls);
            let successes = s.successes.saturating_sub(p.successes);
            j.raw("{\"time\":");
            j.number(s.epoch_ms);
            j.raw(",\"callRate\":");
            j.number(if seconds > 0.0 {
                calls as f64 / seconds
            } else {
                0.0
            });
            j.raw(",\"successRatio\":");
            if calls == 0 {
                j.raw("null");
            } else {
                j.number(successes as f64 / calls as f64);
            }
            j.raw(",\"p99\":");
            j.millis(s.p99);
            j.raw("}");
        }
        previous = Some(s);
    }
    j.raw("]}");
    j.0
}

struct Json(String);

impl Json {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }

    fn comma(&mut self, i: usize) {
        if i > 0 {
            self.0.push(',');
        }
    }

    fn number(&mut self, n: f64) {
        if n.is_finite() {
            let _ = write!(self.0, "{n}");
        } else {
            self.0.push_str("null");
        }
    }

    fn millis(&mut self, nanos: Option<u64>) {
        match nanos {
            Some(n) => self.number(n as f64 / NANOS_PER_MILLI as f64),
            None => self.0.push_str("null"),
        }
    }

    fn opt_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.0.push_str("null"),
        }
    }

    fn string(&mut self, s: &str) {
        crate::control::json_string(&mut self.0, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::Durations;
    use crate::metrics::{BreakerSample, Labels};

    #[test]
    fn history_is_sampled_when_read() {
        let mut breaker = crate::Breaker::new(crate::Config::default()).unwrap();
        let mut history = History::default();
        let sample = |b: &crate::Breaker| BreakerSample {
            labels: Labels {
                name: "x",
                service: "",
                operation: "",
            },
            stats: b.stats(0),
            lifetime: b.lifetime(),
            durations: Durations::default(),
        };
        let mut snapshot = Snapshot::default();
        snapshot.breakers.push(sample(&breaker));
        history.observe(&snapshot, 0, 0.0);
        for _ in 0..10 {
            let p = breaker.try_acquire(0).unwrap();
            breaker.record(p, crate::Outcome::Success, 1_000_000);
        }
        snapshot.breakers[0] = sample(&breaker);
        history.observe(&snapshot, NANOS_PER_SEC, 1000.0);
        assert_eq!(history.samples.len(), 1, "younger than a step: not sampled");
        history.observe(&snapshot, 10 * NANOS_PER_SEC, 10_000.0);
        let json = render(&snapshot, &[], &Feed::default(), &history, 0, 10_000.0);
        assert!(
            json.contains(
                r#""history":[{"time":10000,"callRate":1,"successRatio":1,"p99":1.048575}]"#
            ),
            "{json}"
        );
        history.observe(&snapshot, 700 * NANOS_PER_SEC, 0.0);
        assert_eq!(
            history.samples.len(),
            1,
            "older than ten minutes: forgotten"
        );
    }
}
