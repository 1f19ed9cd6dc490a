//! Bulkhead accounting: at most `max_concurrent` running, up to `queue_size` waiting
//! in FIFO order, the rest refused at once. The binding does the waiting.

use alloc::collections::VecDeque;

use crate::config::ConfigError;
use crate::options::{check, range_error, read, Kind, OptionValue, Unit};

/// Limits of one bulkhead; durations in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkheadConfig {
    /// Calls running at once (≥ 1).
    pub max_concurrent: u32,
    /// Calls waiting for a slot (0 = no queue).
    pub queue_size: u32,
    /// Longest wait in the queue before the call is refused.
    pub max_queue_wait: Option<u64>,
}

impl Default for BulkheadConfig {
    /// 10 running, 100 waiting, no wait limit.
    fn default() -> Self {
        BulkheadConfig {
            max_concurrent: 10,
            queue_size: 100,
            max_queue_wait: None,
        }
    }
}

impl BulkheadConfig {
    /// Sets one option as a user spelled it (`maxConcurrent` / `max_concurrent`,
    /// `queueSize`, `maxQueueWait` in `unit`). Returns `Ok(false)` for a name that is not
    /// a bulkhead option; a bad value is an error naming it.
    pub fn set(
        &mut self,
        name: &str,
        value: OptionValue<'_>,
        unit: Unit,
    ) -> Result<bool, ConfigError> {
        let kind = match name {
            "maxConcurrent" | "max_concurrent" => Kind::Count,
            "queueSize" | "queue_size" => Kind::Whole,
            "maxQueueWait" | "max_queue_wait" => Kind::Duration,
            _ => return Ok(false),
        };
        let Some(number) = read(name, value)? else {
            return Ok(true);
        };
        check(name, number, kind, unit)?;
        match kind {
            Kind::Count => self.max_concurrent = number as u32,
            Kind::Whole => self.queue_size = number as u32,
            _ if number == 0.0 => return Err(range_error(name, "must be positive")),
            _ => self.max_queue_wait = Some(unit.to_nanos(number)),
        }
        Ok(true)
    }

    /// Checks the limits; the error names the bad one (snake_case).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_concurrent == 0 {
            return Err(ConfigError::range("max_concurrent", "must be at least 1"));
        }
        if self.max_queue_wait == Some(0) {
            return Err(ConfigError::range("max_queue_wait", "must be positive"));
        }
        Ok(())
    }
}

/// A place in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// The answer to a call asking to enter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Run now; call [`Bulkhead::leave`] when done.
    Run,
    /// Wait until [`Bulkhead::leave`] hands this ticket a slot (or [`Bulkhead::abandon`]).
    Queued(Ticket),
    /// Refused: every slot and every queue place is taken.
    Rejected,
}

/// Counters of one bulkhead.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BulkheadStats {
    /// Calls running now.
    pub running: u32,
    /// Calls waiting now.
    pub queued: u32,
    /// Calls refused (queue full, or waited longer than `max_queue_wait`).
    pub rejected: u64,
    /// Of those, calls refused at once: every slot and queue place was taken.
    pub rejected_full: u64,
    /// Of those, calls that gave up waiting (`max_queue_wait` passed, or the caller left).
    pub rejected_queue_timeout: u64,
    /// Calls admitted, at once or after waiting.
    pub admitted: u64,
    /// Most calls ever running at once.
    pub peak_running: u32,
    /// Mean wait of the calls admitted from the queue, in nanoseconds.
    pub mean_wait: f64,
    /// Longest wait of a call admitted from the queue, in nanoseconds.
    pub max_wait: u64,
    /// Calls admitted from the queue (the count behind `mean_wait`).
    pub waited: u64,
    /// Total wait of the calls admitted from the queue, in nanoseconds.
    pub wait_sum: u128,
    /// Every slot is taken.
    pub saturated: bool,
}

/// One bulkhead's state.
#[derive(Clone, Debug)]
pub struct Bulkhead {
    config: BulkheadConfig,
    running: u32,
    queue: VecDeque<(Ticket, u64)>,
    next_ticket: u64,
    rejected_full: u64,
    rejected_waiting: u64,
    admitted: u64,
    peak_running: u32,
    waited: u64,
    wait_sum: u128,
    max_wait: u64,
}

impl Bulkhead {
    /// An empty bulkhead; fails on invalid limits.
    pub fn new(config: BulkheadConfig) -> Result<Bulkhead, ConfigError> {
        config.validate()?;
        Ok(Bulkhead {
            config,
            running: 0,
            queue: VecDeque::new(),
            next_ticket: 0,
            rejected_full: 0,
            rejected_waiting: 0,
            admitted: 0,
            peak_running: 0,
            waited: 0,
            wait_sum: 0,
            max_wait: 0,
        })
    }

    /// The limits in force.
    pub fn config(&self) -> BulkheadConfig {
        self.config
    }

    /// Changes the limits for new calls; returns the tickets that a larger limit admits now.
    /// Running calls are never interrupted; waiting calls beyond a smaller queue keep their place.
    pub fn set_config(
        &mut self,
        config: BulkheadConfig,
        now: u64,
    ) -> Result<alloc::vec::Vec<Ticket>, ConfigError> {
        config.validate()?;
        self.config = config;
        let mut admitted = alloc::vec::Vec::new();
        while self.running < self.config.max_concurrent {
            match self.admit_next(now) {
                Some(ticket) => admitted.push(ticket),
                None => break,
            }
        }
        Ok(admitted)
    }

    /// Asks to run a call at `now`.
    pub fn try_enter(&mut self, now: u64) -> Entry {
        if self.running < self.config.max_concurrent && self.queue.is_empty() {
            self.start();
            return Entry::Run;
        }
        if self.queue.len() < self.config.queue_size as usize {
            let ticket = Ticket(self.next_ticket);
            self.next_ticket += 1;
            self.queue.push_back((ticket, now));
            return Entry::Queued(ticket);
        }
        self.rejected_full += 1;
        Entry::Rejected
    }

    /// A running call ended at `now`; returns the waiting call that takes its slot.
    pub fn leave(&mut self, now: u64) -> Option<Ticket> {
        self.running = self.running.saturating_sub(1);
        if self.running < self.config.max_concurrent {
            self.admit_next(now)
        } else {
            None
        }
    }

    /// A waiting call gives up (its caller went away, or `max_queue_wait` passed).
    /// Returns whether it was still waiting; if so it counts as rejected.
    pub fn abandon(&mut self, ticket: Ticket) -> bool {
        match self.queue.iter().position(|(t, _)| *t == ticket) {
            Some(index) => {
                self.queue.remove(index);
                self.rejected_waiting += 1;
                true
            }
            None => false,
        }
    }

    /// The waiting calls whose wait exceeds `max_queue_wait` at `now`, removed and
    /// counted as rejected, oldest first.
    pub fn expire(&mut self, now: u64) -> alloc::vec::Vec<Ticket> {
        let mut expired = alloc::vec::Vec::new();
        if let Some(limit) = self.config.max_queue_wait {
            while let Some(&(ticket, since)) = self.queue.front() {
                if now.saturating_sub(since) <= limit {
                    break;
                }
                self.queue.pop_front();
                self.rejected_waiting += 1;
                expired.push(ticket);
            }
        }
        expired
    }

    /// When a waiting call queued, if it still waits.
    pub fn waiting_since(&self, ticket: Ticket) -> Option<u64> {
        self.queue
            .iter()
            .find(|(t, _)| *t == ticket)
            .map(|(_, since)| *since)
    }

    /// The counters now.
    pub fn stats(&self) -> BulkheadStats {
        BulkheadStats {
            running: self.running,
            queued: self.queue.len() as u32,
            rejected: self.rejected_full + self.rejected_waiting,
            rejected_full: self.rejected_full,
            rejected_queue_timeout: self.rejected_waiting,
            admitted: self.admitted,
            peak_running: self.peak_running,
            mean_wait: if self.waited == 0 {
                0.0
            } else {
                self.wait_sum as f64 / self.waited as f64
            },
            max_wait: self.max_wait,
            waited: self.waited,
            wait_sum: self.wait_sum,
            saturated: self.running >= self.config.max_concurrent,
        }
    }

    fn start(&mut self) {
        self.running += 1;
        self.admitted += 1;
        self.peak_running = self.peak_running.max(self.running);
    }

    fn admit_next(&mut self, now: u64) -> Option<Ticket> {
        let (ticket, since) = self.queue.pop_front()?;
        let wait = now.saturating_sub(since);
        self.waited += 1;
        self.wait_sum += u128::from(wait);
        self.max_wait = self.max_wait.max(wait);
        self.start();
        Some(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulkhead(max_concurrent: u32, queue_size: u32) -> Bulkhead {
        Bulkhead::new(BulkheadConfig {
            max_concurrent,
            queue_size,
            max_queue_wait: Some(100),
        })
        .unwrap()
    }

    #[test]
    fn runs_queues_rejects_in_fifo_order() {
        let mut b = bulkhead(2, 2);
        assert_eq!(b.try_enter(0), Entry::Run);
        assert_eq!(b.try_enter(0), Entry::Run);
        assert_eq!(b.try_enter(1), Entry::Queued(Ticket(0)));
        assert_eq!(b.try_enter(2), Entry::Queued(Ticket(1)));
        assert_eq!(b.try_enter(3), Entry::Rejected);
        assert!(b.stats().saturated);
        assert_eq!(b.leave(11), Some(Ticket(0)));
        assert_eq!(b.leave(12), Some(Ticket(1)));
        assert_eq!(b.leave(13), None);
        let s = b.stats();
        assert_eq!(
            (
                s.running,
                s.queued,
                s.rejected,
                s.admitted,
                s.peak_running,
                s.max_wait
            ),
            (1, 0, 1, 4, 2, 10)
        );
        assert_eq!(s.mean_wait, 10.0);
    }

    #[test]
    fn a_new_call_does_not_overtake_the_queue() {
        let mut b = bulkhead(1, 5);
        assert_eq!(b.try_enter(0), Entry::Run);
        assert_eq!(b.try_enter(0), Entry::Queued(Ticket(0)));
        assert_eq!(b.leave(1), Some(Ticket(0)));
        assert_eq!(b.try_enter(1), Entry::Queued(Ticket(1)));
    }

    #[test]
    fn waits_expire_and_callers_abandon() {
        let mut b = bulkhead(1, 5);
        b.try_enter(0);
        let Entry::Queued(first) = b.try_enter(0) else {
            panic!()
        };
        let Entry::Queued(second) = b.try_enter(50) else {
            panic!()
        };
        let Entry::Queued(third) = b.try_enter(60) else {
            panic!()
        };
        assert_eq!(b.expire(100), []);
        assert_eq!(b.expire(101), [first]);
        assert!(b.abandon(third));
        assert!(!b.abandon(third));
        assert_eq!(b.leave(120), Some(second));
        assert_eq!(b.stats().rejected, 2);
    }

    #[test]
    fn options_by_either_spelling() {
        let mut c = BulkheadConfig::default();
        assert!(c
            .set("maxConcurrent", OptionValue::Number(3.0), Unit::Millis)
            .unwrap());
        assert!(c
            .set("max_queue_wait", OptionValue::Number(1.5), Unit::Seconds)
            .unwrap());
        assert!(!c
            .set("other", OptionValue::Number(1.0), Unit::Millis)
            .unwrap());
        assert_eq!(
            (c.max_concurrent, c.max_queue_wait),
            (3, Some(1_500_000_000))
        );
        let err = c
            .set("queueSize", OptionValue::Number(1.5), Unit::Millis)
            .unwrap_err();
        assert_eq!(err.field, "queueSize");
        let err = c
            .set("maxConcurrent", OptionValue::Number(0.0), Unit::Millis)
            .unwrap_err();
        assert_eq!(err.field, "maxConcurrent");
    }

    #[test]
    fn raising_the_limit_admits_waiting_calls() {
        let mut b = bulkhead(1, 5);
        b.try_enter(0);
        b.try_enter(0);
        b.try_enter(0);
        let admitted = b
            .set_config(
                BulkheadConfig {
                    max_concurrent: 3,
                    queue_size: 5,
                    max_queue_wait: None,
                },
                5,
            )
            .unwrap();
        assert_eq!(admitted, [Ticket(0), Ticket(1)]);
        assert_eq!(b.stats().running, 3);
        assert!(b
            .set_config(
                BulkheadConfig {
                    max_concurrent: 0,
                    ..b.config()
                },
                6
            )
            .is_err());
    }
}
