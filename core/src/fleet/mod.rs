//! Fleet-wide breakers: one breaker state shared by many processes through a store
//! (Redis or Valkey), sans-IO. The store only stores and compares; this module decides.
//!
//! A [`FleetBreaker`] is what one process keeps per shared breaker: a local engine (a
//! [`Breaker`]) that is its view of the fleet's state mapped onto its own monotonic
//! clock, its unflushed outcomes in call order, the half-open trial leases it holds, and
//! whether it is sharing ([`Link::Shared`]) or deciding alone ([`Link::Local`]) because
//! the store is unreachable. The binding owns the connection, the timers and the
//! waiting; it hands the core's [`StoreCall`]s to the store and the replies back.
//!
//! ```text
//! try_acquire(now) ──► Permit | Rejected          closed, or open before open_until: no I/O
//!                  └─► Lease(call) ──store──► lease_reply(ticket, reply, now) ──► Permit | Rejected
//! record(permit, outcome, now) ──► { transition, flush: Now | Later }
//! flush_request(now) ──► Option<StoreCall> ──store──► complete(reply, now) ──► Completion
//! ```
//!
//! * **Zero awaited round trips while closed or open.** Outcomes are queued as runs
//!   (outcomes alike, in call order) and flushed in the background; a refusal uses the
//!   locally known `open_until`. Taking a half-open trial lease is the one round trip a
//!   call waits for.
//! * **Decisions from the fleet's totals plus the unflushed outcomes**, with the same
//!   rules as [`Breaker`] (one function, `rules_trip`, serves both). A process that
//!   decides a transition applies it at once and asks the store to compare-and-set the
//!   generation; if another process moved first, it adopts the store's state.
//! * **Exactly `half_open_max_calls` trials fleet-wide**, as leases with a TTL.
//! * **The store's clock.** Replies carry durations (µs); each process maps them onto
//!   its own clock. A time window's bucket phase is learned at the first reply.
//! * **Local mode.** A breaker around the store (a core [`Breaker`]) counts store
//!   errors; when it opens, the process runs on its engine alone (today's breaker) and
//!   keeps its outcomes; when a probe succeeds, the outcomes still inside the window are
//!   flushed, the fleet's state is adopted, and a trip made alone keeps this process
//!   open until its own `open_until`.
//!
//! The scripts are [`Script::source`]; [`MemoryStore`] is their reference semantics.
//! The protocol for binding authors (API, wire shapes, guarantees):
#![doc = include_str!("../../FLEET.md")]

mod memory;
mod wire;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

pub use memory::{MalformedCall, MemoryStore};
pub use wire::{
    BadReply, Control, Reply, Script, StoreCall, StoreError, Tally, Value, WindowImage,
};

use crate::breaker::{Breaker, Cause, Mode, Outcome, Permit, Rejected, State, Transition};
use crate::config::{Backoff, Config, ConfigError, Threshold, WindowKind};
use crate::options::Unit;
use crate::{NANOS_PER_MILLI, NANOS_PER_SEC};

const FAILED: u8 = 1;
const SLOW: u8 = 2;

/// How a process shares one breaker. Durations in nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetOptions {
    /// The breaker's name: every process sharing it uses the same one.
    pub name: String,
    /// The keys' prefix (default `tw`): keys are `{prefix:name}`, `{prefix:name}:w`
    /// and `{prefix:name}:l`; transitions are published on `{prefix:name}:events`.
    pub prefix: String,
    /// This process's id (random, e.g. from the OS), so that lease ids are unique.
    pub process_id: u64,
    /// A trial lease's lifetime: a crashed holder's slot frees after it. Default: the
    /// call timeout (30 s without one) plus 1 s.
    pub lease_ttl: Option<u64>,
    /// How long an abandoned breaker stays in the store (default 24 h; never less than
    /// twice the window plus the longest open duration).
    pub key_ttl: u64,
    /// Store errors in a row that switch the process to local mode (default 3).
    pub store_failures: u32,
    /// How long local mode lasts before a probe of the store (default 1 s).
    pub store_retry: u64,
    /// Refuse to join a fleet whose configuration's fingerprint differs (default true).
    pub check_fingerprint: bool,
    /// Send the caller's `now` (as µs) as the store's clock instead of the store's
    /// `TIME`: for tests replaying with a manual clock. Default false.
    pub inject_now: bool,
}

impl FleetOptions {
    /// The defaults for the breaker `name`.
    pub fn new(name: impl Into<String>) -> FleetOptions {
        FleetOptions {
            name: name.into(),
            prefix: "tw".into(),
            process_id: 0,
            lease_ttl: None,
            key_ttl: 24 * 3600 * NANOS_PER_SEC,
            store_failures: 3,
            store_retry: NANOS_PER_SEC,
            check_fingerprint: true,
            inject_now: false,
        }
    }
}

/// Whether the process shares the breaker or decides alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Outcomes go to the store; transitions are compared-and-set there.
    Shared,
    /// The store is unreachable: the process runs its own engine (local counts,
    /// `half_open_max_calls` per process) and keeps its outcomes for the recovery.
    Local,
}

/// A change of the link, for the binding's `storeDown` / `storeUp` events and its one
/// log line per outage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// Repeated store errors: local mode from now on.
    StoreDown,
    /// A probe succeeded: sharing again.
    StoreUp,
}

/// What [`FleetBreaker::try_acquire`] answers.
#[derive(Debug)]
#[must_use = "a permit must be recorded, and a lease call sent"]
pub enum Acquire {
    /// Run the call (closed, disabled, or local mode).
    Permit(Permit),
    /// The breaker refused the call.
    Rejected(Rejected),
    /// A half-open trial needs a lease: send `call`, then hand the reply to
    /// [`FleetBreaker::lease_reply`] with `ticket`.
    Lease(LeaseCall),
}

/// A lease request: the one store call a protected call waits for.
#[derive(Debug)]
pub struct LeaseCall {
    /// What to send.
    pub call: StoreCall,
    /// What to hand back with the reply.
    pub ticket: LeaseTicket,
}

/// Identifies a lease request when its reply comes back.
#[derive(Debug)]
pub struct LeaseTicket {
    store_permit: Permit,
    id: String,
    generation: Option<u64>,
}

/// When to flush after a [`FleetBreaker::record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flush {
    /// A failure, slow call, trial or transition: flush now.
    Now,
    /// At the next flush interval.
    Later,
}

/// What [`FleetBreaker::record`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The transition the outcome caused in this process (compared-and-set in the
    /// store by the next flush).
    pub transition: Option<Transition>,
    /// When to flush.
    pub flush: Flush,
}

/// What handing a reply (or an error) back caused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// State changes in this process: the fleet's state adopted, or a transition
    /// decided from the fleet's totals (to be compared-and-set by the next flush).
    pub transitions: Vec<Transition>,
    /// The link went down or came back.
    pub link: Option<LinkEvent>,
    /// Something is waiting to be sent: call [`FleetBreaker::flush_request`] again now.
    pub flush_now: bool,
}

/// The fleet refused this process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FleetError {
    /// The fleet's configuration differs in a trip-rule option (see
    /// [`FleetOptions::check_fingerprint`]). The process stays in local mode.
    ConfigMismatch {
        /// The first differing option, snake_case (e.g. `failure_threshold`).
        option: String,
        /// This process's value.
        ours: String,
        /// The fleet's value.
        fleet: String,
    },
}

impl FleetError {
    /// The differing option as a runtime spells it (camelCase for [`Unit::Millis`],
    /// snake_case for [`Unit::Seconds`]; see [`crate::option_name`]).
    pub fn option(&self, unit: Unit) -> String {
        let FleetError::ConfigMismatch { option, .. } = self;
        crate::options::option_name(option, unit)
    }

    /// What the bindings tell the user, naming the option and writing its values as the
    /// runtime spells them (durations in ms for [`Unit::Millis`], in s for
    /// [`Unit::Seconds`]).
    pub fn message(&self, unit: Unit) -> String {
        let FleetError::ConfigMismatch {
            option,
            ours,
            fleet,
        } = self;
        describe(
            &self.option(unit),
            &user_value(option, ours, unit),
            &user_value(option, fleet, unit),
        )
    }
}

fn describe(option: &str, ours: &str, fleet: &str) -> String {
    format!(
        "option `{option}` differs from the fleet's: this process has {ours}, the fleet {fleet}; the breaker decides locally"
    )
}

/// A fingerprint value (see [`fingerprint`]) as a user of `unit` wrote it: a count or a
/// rate for the failure threshold, durations in the runtime's unit.
fn user_value(field: &str, value: &str, unit: Unit) -> String {
    let duration = |ns: &str| -> String {
        let Ok(ns) = ns.parse::<u64>() else {
            return ns.to_string(); // "none"
        };
        match unit {
            Unit::Millis => format!("{} ms", ns as f64 / NANOS_PER_MILLI as f64),
            Unit::Seconds => format!("{} s", ns as f64 / NANOS_PER_SEC as f64),
        }
    };
    match (field, value.split_once(':')) {
        ("failure_threshold", Some((_, threshold))) => threshold.to_string(),
        ("window", Some(("count", size))) => format!("the last {size} calls"),
        ("window", Some(("time", time))) => match time.split_once('/') {
            Some((span, buckets)) => format!("{} in {buckets} buckets", duration(span)),
            None => value.to_string(),
        },
        ("open_duration" | "slow_call_duration" | "call_timeout", _) => duration(value),
        ("backoff", Some(("exponential", rest))) => match rest.split(':').collect::<Vec<_>>()[..] {
            [multiplier, max, jitter] => format!(
                "exponential (×{multiplier} up to {}, jitter {jitter})",
                duration(max)
            ),
            _ => value.to_string(),
        },
        _ => value.to_string(),
    }
}

/// The message with the field's own (snake_case) name and the fingerprint's values.
impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let FleetError::ConfigMismatch {
            option,
            ours,
            fleet,
        } = self;
        f.write_str(&describe(option, ours, fleet))
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FleetError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    flags: u8,
    count: u32,
    // Local clock (not shifted).
    at: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TransitionArg {
    state: State,
    mode: Mode,
    // Aligned local instant; sent as the duration left at send time.
    open_until: Option<u64>,
    trips: u32,
    flags: u8,
    streak: u32,
}

#[derive(Debug)]
struct Sealed {
    generation: Option<u64>,
    runs: VecDeque<Run>,
    transition: TransitionArg,
}

#[derive(Debug)]
struct InFlight {
    store_permit: Permit,
    read: bool,
    generation: Option<u64>,
    runs: VecDeque<Run>,
    tally: Tally,
    releases: Vec<String>,
    transition: Option<TransitionArg>,
}

/// One process's side of a shared breaker. See the [module docs](self).
#[derive(Debug)]
pub struct FleetBreaker {
    engine: Breaker,
    store: Breaker,
    keys: [String; 3],
    fingerprint: String,
    window_arg: String,
    time_width: Option<u64>,
    window_span: u64,
    count_size: u32,
    lease_ttl_us: u64,
    key_ttl_ms: u64,
    process_id: u64,
    inject_now: bool,
    check_fingerprint: bool,
    shift: u64,
    joined: bool,
    born: Option<u64>,
    generation: Option<u64>,
    runs: VecDeque<Run>,
    sealed: VecDeque<Sealed>,
    tally: Tally,
    releases: Vec<String>,
    held: Vec<String>,
    next_lease: u64,
    in_flight: Option<InFlight>,
    link: Link,
    local_hold: u64,
    need_sync: bool,
    mismatch: bool,
    events: Vec<LinkEvent>,
    fleet_totals: Tally,
    news: bool,
    joined_generation: u64,
}

/// The trip-rule options as text, one `name=value` per option: what the store keeps
/// so that a process with other rules can be told which option differs.
pub fn fingerprint(config: &Config) -> String {
    let threshold = match config.failure_threshold {
        Threshold::Count(n) => format!("count:{n}"),
        Threshold::Rate(r) => format!("rate:{r}"),
    };
    let window = match config.window {
        WindowKind::Count { size } => format!("count:{size}"),
        WindowKind::Time { duration, buckets } => format!("time:{duration}/{buckets}"),
    };
    let backoff = match config.backoff {
        Backoff::Fixed => "fixed".to_string(),
        Backoff::Exponential {
            multiplier,
            max,
            jitter,
        } => format!("exponential:{multiplier}:{max}:{jitter}"),
    };
    let opt = |v: Option<u64>| v.map_or("none".to_string(), |v| v.to_string());
    let rate = |v: Option<f64>| v.map_or("none".to_string(), |v| v.to_string());
    let mut print = format!(
        "failure_threshold={threshold};minimum_requests={};window={window};open_duration={};backoff={backoff};half_open_max_calls={};success_threshold={};slow_call_duration={};slow_call_rate_threshold={};call_timeout={}",
        config.effective_minimum_requests(),
        config.open_duration,
        config.half_open_max_calls,
        config.success_threshold,
        opt(config.slow_call_duration),
        rate(config.slow_call_rate_threshold),
        opt(config.call_timeout),
    );
    // Rules added later: named only when set, so fleets made before keep their print.
    if config.strict_rate_threshold {
        print.push_str(";strict_rate_threshold=true");
    }
    if config.ignored_as_success {
        print.push_str(";ignored_as_success=true");
    }
    print
}

fn mismatch(ours: &str, fleet: &str) -> FleetError {
    let pairs = |s: &str| -> Vec<(String, String)> {
        s.split(';')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    let (a, b) = (pairs(ours), pairs(fleet));
    for (k, v) in &a {
        let other = b.iter().find(|(k2, _)| k2 == k).map(|(_, v)| v.clone());
        if other.as_ref() != Some(v) {
            return FleetError::ConfigMismatch {
                option: k.clone(),
                ours: v.clone(),
                fleet: other.unwrap_or_else(|| "(absent)".into()),
            };
        }
    }
    FleetError::ConfigMismatch {
        option: "fingerprint".into(),
        ours: ours.into(),
        fleet: fleet.into(),
    }
}

fn micros_up(ns: u64) -> u64 {
    ns.div_ceil(1000)
}

impl FleetBreaker {
    /// [`FleetBreaker::new_at`] at instant 0.
    pub fn new(config: Config, options: FleetOptions) -> Result<FleetBreaker, ConfigError> {
        Self::new_at(config, options, 0)
    }

    /// A process's side of the shared breaker `options.name` at `now`, in the
    /// configuration's start state ([`Config::start`]) and not joined yet: until the
    /// first reply it decides alone. Send [`FleetBreaker::flush_request`] at once (a
    /// read: the join). The join makes the fleet's state in this start state if the
    /// store holds none; a fleet that exists is adopted as it is (joining never resets
    /// anything). A time window's buckets must be whole microseconds long (the store's
    /// unit); a width that is not is rounded down.
    pub fn new_at(
        config: Config,
        options: FleetOptions,
        now: u64,
    ) -> Result<FleetBreaker, ConfigError> {
        config.validate()?;
        if config.window_stats {
            return Err(ConfigError::range(
                "window_stats",
                "not kept by a fleet breaker (its window is the store's)",
            ));
        }
        // The store's window holds the outcomes of calls that ran, and a close
        // clears it for every process: opossum's window is a local rule.
        for (set, name) in [
            (config.rejects_in_rate, "rejects_in_rate"),
            (config.keep_window, "keep_window"),
        ] {
            if set {
                return Err(ConfigError::range(
                    name,
                    "not kept by a fleet breaker (its window is the store's)",
                ));
            }
        }
        let mut config = config;
        let (window_arg, time_width, window_span, count_size) = match config.window {
            WindowKind::Count { size } => (format!("c {size}"), None, 0, size),
            WindowKind::Time { duration, buckets } => {
                let width_us = duration / u64::from(buckets) / 1000;
                if width_us == 0 {
                    return Err(ConfigError::range(
                        "monitoring_window",
                        "a shared breaker needs at least 1 µs per bucket",
                    ));
                }
                let width = width_us * 1000;
                config.window = WindowKind::Time {
                    duration: width * u64::from(buckets),
                    buckets,
                };
                (
                    format!("t {width_us} {buckets}"),
                    Some(width),
                    width * u64::from(buckets),
                    0,
                )
            }
        };
        let longest_open = match config.backoff {
            Backoff::Fixed => config.open_duration,
            Backoff::Exponential { max, jitter, .. } => {
                max.saturating_add((max as f64 * jitter) as u64)
            }
        };
        let key_ttl = options
            .key_ttl
            .max(window_span.saturating_add(longest_open).saturating_mul(2));
        let lease_ttl = options.lease_ttl.unwrap_or_else(|| {
            config
                .call_timeout
                .unwrap_or(30 * NANOS_PER_SEC)
                .saturating_add(NANOS_PER_SEC)
        });
        let failures = options.store_failures.max(1);
        let store = Breaker::new(Config {
            failure_threshold: Threshold::Count(failures),
            minimum_requests: Some(1),
            window: WindowKind::Count { size: failures },
            open_duration: options.store_retry.max(1),
            backoff: Backoff::Fixed,
            seed: 0,
            half_open_max_calls: 1,
            success_threshold: 1,
            slow_call_duration: None,
            slow_call_rate_threshold: None,
            call_timeout: None,
            ..Config::default()
        })?;
        let tag = format!("{{{}:{}}}", options.prefix, options.name);
        Ok(FleetBreaker {
            fingerprint: fingerprint(&config),
            engine: Breaker::new_at(config, now)?,
            store,
            keys: [tag.clone(), format!("{tag}:w"), format!("{tag}:l")],
            window_arg,
            time_width,
            window_span,
            count_size,
            lease_ttl_us: micros_up(lease_ttl).max(1),
            key_ttl_ms: key_ttl.div_ceil(NANOS_PER_MILLI).max(1),
            process_id: options.process_id,
            inject_now: options.inject_now,
            check_fingerprint: options.check_fingerprint,
            shift: 0,
            joined: false,
            born: None,
            generation: None,
            runs: VecDeque::new(),
            sealed: VecDeque::new(),
            tally: Tally::default(),
            releases: Vec::new(),
            held: Vec::new(),
            next_lease: 0,
            in_flight: None,
            link: Link::Shared,
            local_hold: 0,
            need_sync: true,
            mismatch: false,
            events: Vec::new(),
            fleet_totals: Tally::default(),
            news: false,
            joined_generation: 0,
        })
    }

    /// The configuration (a time window's width rounded to whole µs).
    pub fn config(&self) -> &Config {
        self.engine.config()
    }

    /// The three keys every call uses.
    pub fn keys(&self) -> &[String; 3] {
        &self.keys
    }

    /// The pub/sub channel transitions are published on: on a message, call
    /// [`FleetBreaker::request_sync`].
    pub fn channel(&self) -> String {
        format!("{}:events", self.keys[0])
    }

    /// The store generation this process's state belongs to (`None` before the join).
    pub fn generation(&self) -> Option<u64> {
        self.generation
    }

    /// Sharing or deciding alone.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Whether a reply has been adopted since the process started.
    pub fn joined(&self) -> bool {
        self.joined
    }

    /// The fleet's lifetime totals at the last reply (this process's unflushed outcomes
    /// not included).
    pub fn fleet_totals(&self) -> Tally {
        self.fleet_totals
    }

    /// Whether a store call is out (at most one flush or read is; leases aside).
    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Asks for a read of the fleet's state at the next [`FleetBreaker::flush_request`]
    /// (after a pub/sub message, a reconnect, or the periodic poll).
    pub fn request_sync(&mut self) {
        self.need_sync = true;
    }

    /// Link events not yet returned by [`FleetBreaker::complete`] (a lease reply can
    /// change the link too).
    pub fn take_link_events(&mut self) -> Vec<LinkEvent> {
        core::mem::take(&mut self.events)
    }

    fn aligned(&self, now: u64) -> u64 {
        now.wrapping_add(self.shift)
    }

    fn sharing(&self) -> bool {
        self.joined && self.link == Link::Shared
    }

    /// The effective state at `now`.
    pub fn state(&self, now: u64) -> State {
        let a = self.aligned(now);
        if a < self.local_hold {
            return State::Open;
        }
        self.engine.state(a)
    }

    /// This process's stats at `now`: the state, window, consecutive counts and rates
    /// are the fleet's (as last synced, plus the unflushed outcomes); the totals and
    /// latencies are this process's own.
    pub fn stats(&self, now: u64) -> crate::Stats {
        let a = self.aligned(now);
        let mut s = self.engine.stats(a);
        let back = |t: Option<u64>| t.map(|t| t.wrapping_sub(self.shift));
        s.last_success_at = back(s.last_success_at);
        s.last_failure_at = back(s.last_failure_at);
        s.next_attempt_at = back(s.next_attempt_at);
        if a < self.local_hold {
            s.state = State::Open;
            s.next_attempt_at = back(Some(self.local_hold));
        }
        s
    }

    /// This process's engine (its view of the fleet, or its own breaker in local mode).
    pub fn engine(&self) -> &Breaker {
        &self.engine
    }

    fn reject(&mut self, state: State, retry_after: Option<u64>) -> Rejected {
        self.tally.rejected += 1;
        self.engine.reject(state, retry_after)
    }

    /// Asks leave to run a call at `now`. Closed, disabled, forced open, or open before
    /// `open_until`: answered at once. Half-open (or open past `open_until`): a lease
    /// call to send, unless every local trial slot is taken.
    #[inline]
    pub fn try_acquire(&mut self, now: u64) -> Acquire {
        let a = self.aligned(now);
        if a < self.local_hold {
            let wait = self.local_hold - a;
            return Acquire::Rejected(self.reject(State::Open, Some(wait)));
        }
        let trial_time = self.engine.mode == Mode::Normal
            && match self.engine.state {
                State::Closed => false,
                State::Open => a >= self.engine.open_until,
                State::HalfOpen => true,
            };
        if !trial_time || !self.sharing() {
            return match self.engine.try_acquire(a) {
                Ok(p) => Acquire::Permit(p),
                Err(r) => {
                    self.tally.rejected += 1;
                    Acquire::Rejected(r)
                }
            };
        }
        if self.engine.state == State::HalfOpen
            && self.engine.trials_in_flight >= self.engine.config.half_open_max_calls
        {
            return Acquire::Rejected(self.reject(State::HalfOpen, Some(0)));
        }
        let Ok(store_permit) = self.store.try_acquire(now) else {
            return Acquire::Rejected(self.reject(State::HalfOpen, Some(0)));
        };
        self.next_lease += 1;
        let id = format!("{:x}.{}", self.process_id, self.next_lease);
        let generation = self.generation;
        let args = alloc::vec![
            self.now_arg(now),
            self.key_ttl_ms.to_string(),
            self.window_arg.clone(),
            generation.map_or("-1".into(), |g| g.to_string()),
            id.clone(),
            self.lease_ttl_us.to_string(),
            self.engine.config.half_open_max_calls.to_string(),
        ];
        Acquire::Lease(LeaseCall {
            call: StoreCall {
                script: Script::Lease,
                keys: self.keys.clone(),
                args,
            },
            ticket: LeaseTicket {
                store_permit,
                id,
                generation,
            },
        })
    }

    /// The reply to a lease call (or its error), at `now`: a trial permit, or a refusal.
    /// In local mode (the error was one too many) the engine answers alone.
    pub fn lease_reply(
        &mut self,
        ticket: LeaseTicket,
        reply: Result<&[Value], StoreError>,
        now: u64,
    ) -> Result<Permit, Rejected> {
        let a = self.aligned(now);
        let reply = reply.and_then(|items| {
            Reply::decode(items, self.time_width.is_some()).map_err(|_| StoreError::BadReply)
        });
        let r = match reply {
            Err(_) => {
                self.store_result(ticket.store_permit, false, now);
                if self.link == Link::Local {
                    return self.engine.try_acquire(a).inspect_err(|_| {
                        self.tally.rejected += 1;
                    });
                }
                return Err(self.reject(State::HalfOpen, Some(0)));
            }
            Ok(r) => r,
        };
        self.store_result(ticket.store_permit, true, now);
        self.fleet_totals = r.totals;
        if r.result == 1 && self.sharing() && self.generation == ticket.generation {
            let same = Some(r.generation) == ticket.generation;
            let moved = ticket.generation.map(|g| g + 1) == Some(r.generation);
            if same && self.engine.state == State::HalfOpen
                || moved && self.engine.state == State::Open
            {
                if moved {
                    // The store's open time passed first: so does ours.
                    self.engine.open_until = self.engine.open_until.min(a);
                }
                if let Ok(permit) = self.engine.try_acquire(a) {
                    if moved {
                        self.generation = Some(r.generation);
                        self.runs.clear();
                    }
                    self.held.push(ticket.id);
                    return Ok(permit);
                }
                self.tally.rejected += 1;
            }
            // Granted, but this process has moved on meanwhile: hand it back.
            self.releases.push(ticket.id);
            self.need_sync = true;
            return Err(self.reject(State::HalfOpen, Some(0)));
        }
        if Some(r.generation) != self.generation || r.state != self.engine.state {
            self.need_sync = true;
        }
        match (r.state, r.control) {
            (_, Control::ForcedOpen) => Err(self.reject(State::Open, None)),
            (State::Open, Control::Normal) if r.open_remaining > 0 => {
                Err(self.reject(State::Open, Some(r.open_remaining.saturating_mul(1000))))
            }
            _ => Err(self.reject(State::HalfOpen, Some(0))),
        }
    }

    /// Reports how a permitted call ended at `now`. The outcome is queued for the
    /// store; the transition (if any) is this process's decision, from the fleet's
    /// totals plus its unflushed outcomes, compared-and-set by the next flush.
    pub fn record(&mut self, permit: Permit, outcome: Outcome, now: u64) -> Recorded {
        // A permit issued before the join was issued on the unshifted clock.
        let a = if permit.generation < self.joined_generation {
            now
        } else {
            self.aligned(now)
        };
        let config = &self.engine.config;
        let duration = a.saturating_sub(permit.issued_at);
        let outcome = match outcome {
            Outcome::Ignored if config.ignored_as_success => Outcome::Success,
            _ => outcome,
        };
        let outcome = match (outcome, config.call_timeout) {
            (Outcome::Success, Some(limit)) if duration > limit => Outcome::Timeout,
            _ => outcome,
        };
        let slow = config.slow_call_duration.is_some_and(|l| duration > l);
        let current = permit.generation == self.engine.generation;
        let mut urgent = permit.trial;
        let counted = match outcome {
            Outcome::Ignored | Outcome::Cancelled => {
                self.tally.ignored += 1;
                false
            }
            Outcome::Success => {
                self.tally.successes += 1;
                true
            }
            Outcome::Failure | Outcome::Timeout => {
                self.tally.failures += 1;
                if outcome == Outcome::Timeout {
                    self.tally.timeouts += 1;
                }
                true
            }
        };
        if counted {
            if slow {
                self.tally.slow += 1;
            }
            let failed = outcome != Outcome::Success || slow;
            urgent |= failed;
            if current {
                let flags = if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
                self.push_run(flags, 1, now);
            }
        }
        if permit.trial && current && self.engine.state == State::HalfOpen {
            if let Some(id) = self.held.pop() {
                self.releases.push(id);
            }
        }
        let transition = self.engine.record(permit, outcome, a);
        if transition.is_some() {
            urgent = true;
            self.seal(a, 0);
        }
        Recorded {
            transition,
            flush: if urgent { Flush::Now } else { Flush::Later },
        }
    }

    #[doc(hidden)] // The quiet path of the bindings, as on `Breaker`.
    /// Until when (on the caller's clock) calls are admitted without asking and no
    /// success can change the state ([`Breaker::quiet_until`] of this process's view of
    /// the fleet); `0` while not quiet, including while a trip made alone holds.
    pub fn quiet_until(&self, now: u64) -> u64 {
        let a = self.aligned(now);
        if a < self.local_hold {
            return 0;
        }
        match self.engine.quiet_until(a) {
            0 => 0,
            u64::MAX => u64::MAX,
            until => until.wrapping_sub(self.shift),
        }
    }

    #[doc(hidden)] // The quiet path of the bindings, as on `Breaker`.
    /// The permit a call admitted while quiet in `generation` (the engine's, see
    /// [`FleetBreaker::engine`]) at `issued_at` (the caller's clock) holds.
    pub fn quiet_permit(&self, generation: u64, issued_at: u64) -> Permit {
        self.engine
            .quiet_permit(generation, self.aligned(issued_at))
    }

    #[doc(hidden)] // The quiet path of the bindings, as on `Breaker`.
    /// Records `count` quiet successes of calls started at `started` and ended at
    /// `ended` in the engine's current generation (see `Breaker::record_quiet_successes`).
    pub fn record_quiet_successes(&mut self, started: u64, ended: u64, count: u32) -> Recorded {
        let (s, e) = (self.aligned(started), self.aligned(ended));
        self.tally.successes += u64::from(count);
        self.push_run(0, count, ended);
        let generation = self.engine.generation;
        let transition = self.engine.record_quiet_successes(generation, s, e, count);
        if transition.is_some() {
            self.seal(e, 0);
        }
        Recorded {
            transition,
            flush: if transition.is_some() {
                Flush::Now
            } else {
                Flush::Later
            },
        }
    }

    fn push_run(&mut self, flags: u8, count: u32, at: u64) {
        if count == 0 {
            return;
        }
        let same_bucket = |r: &Run| match self.time_width {
            None => true,
            Some(w) => r.at.wrapping_add(self.shift) / w == at.wrapping_add(self.shift) / w,
        };
        match self.runs.back_mut() {
            Some(last) if last.flags == flags && same_bucket(last) => {
                last.count = last.count.saturating_add(count)
            }
            _ => self.runs.push_back(Run { flags, count, at }),
        }
        // Keep only what can still be in the window.
        if self.time_width.is_some() {
            while self
                .runs
                .front()
                .is_some_and(|r| r.at.saturating_add(self.window_span) <= at)
            {
                self.runs.pop_front();
            }
        } else {
            let mut total: u64 = self.runs.iter().map(|r| u64::from(r.count)).sum();
            let size = u64::from(self.count_size);
            while total > size {
                let front = self.runs.front_mut().expect("runs");
                let k = (total - size).min(u64::from(front.count));
                front.count -= k as u32;
                total -= k;
                if front.count == 0 {
                    self.runs.pop_front();
                }
            }
        }
    }

    /// After the engine made a transition at aligned `a`: the runs so far go with a
    /// compare-and-set of the generation they were counted in.
    fn seal(&mut self, a: u64, flags: u8) {
        self.held.clear();
        if !self.sharing() {
            return;
        }
        let e = &self.engine;
        let _ = a;
        let open_until = (e.state == State::Open && e.mode == Mode::Normal).then_some(e.open_until);
        let transition = TransitionArg {
            state: e.state,
            mode: e.mode,
            open_until,
            trips: e.trips,
            flags,
            streak: e.failure_streak,
        };
        self.sealed.push_back(Sealed {
            generation: self.generation,
            runs: core::mem::take(&mut self.runs),
            transition,
        });
        self.generation = self.generation.map(|g| g + 1);
    }

    /// Opens the circuit fleet-wide until closed or reset.
    pub fn force_open(&mut self, now: u64) -> Transition {
        let a = self.aligned(now);
        let t = self.engine.force_open(a);
        self.seal(a, 0);
        t
    }

    /// Opens the circuit fleet-wide as if it had tripped: it half-opens after the
    /// open duration (a timed open, beside `force_open`'s forced one).
    pub fn trip(&mut self, now: u64) -> Transition {
        let a = self.aligned(now);
        let t = self.engine.trip(a);
        self.seal(a, 0);
        t
    }

    /// Half-opens the circuit fleet-wide now: the next calls are trials, at most
    /// `half_open_max_calls` of them across the fleet. Ends `disable` and a forced open.
    pub fn half_open(&mut self, now: u64) -> Transition {
        let a = self.aligned(now);
        self.local_hold = 0;
        let t = self.engine.half_open(a);
        self.seal(a, 0);
        t
    }

    /// Closes the circuit fleet-wide (window cleared, totals kept).
    pub fn close(&mut self, now: u64) -> Transition {
        let a = self.aligned(now);
        self.local_hold = 0;
        let t = self.engine.close(a);
        self.seal(a, 0);
        t
    }

    /// Back to a new breaker's state fleet-wide: closed, window and fleet totals cleared.
    pub fn reset(&mut self, now: u64) -> Transition {
        let a = self.aligned(now);
        self.local_hold = 0;
        let t = self.engine.reset(a);
        self.seal(a, 1);
        t
    }

    /// Always permits, still counts, never trips, fleet-wide.
    pub fn disable(&mut self, now: u64) -> Transition {
        let a = self.aligned(now);
        let t = self.engine.disable(a);
        self.seal(a, 0);
        t
    }

    /// Ends `disable` fleet-wide (the state, window and counts are kept).
    pub fn enable(&mut self, now: u64) -> Transition {
        let a = self.aligned(now);
        let disabled = self.engine.mode == Mode::Disabled;
        let t = self.engine.enable(a);
        if disabled {
            self.seal(a, 2);
        }
        t
    }

    fn now_arg(&self, now: u64) -> String {
        if self.inject_now {
            (now / 1000).to_string()
        } else {
            String::new()
        }
    }

    /// The next store call to send at `now`, if any: the join (a read), a sealed
    /// transition with the runs before it, the pending outcomes, or a read asked for by
    /// [`FleetBreaker::request_sync`]. `None` while a call is out, when nothing is
    /// pending, or in local mode until the next probe is due. Call it every flush
    /// interval, and at once when `record` or `complete` says so.
    pub fn flush_request(&mut self, now: u64) -> Option<StoreCall> {
        if self.in_flight.is_some() || self.mismatch {
            return None;
        }
        let pending = !self.sealed.is_empty()
            || !self.runs.is_empty()
            || !self.tally.is_empty()
            || !self.releases.is_empty();
        let read = !self.joined || (self.need_sync && !pending);
        if !read && !pending {
            return None;
        }
        let store_permit = self.store.try_acquire(now).ok()?;
        let mut args = alloc::vec![
            self.now_arg(now),
            self.key_ttl_ms.to_string(),
            self.window_arg.clone(),
        ];
        if read {
            args.push(self.fingerprint.clone());
            // The start state, untouched since this process made it: the fleet's state
            // if the store has none.
            let e = &self.engine;
            if !self.joined && e.generation == 0 && e.state != State::Closed {
                let open_for = match e.state {
                    State::Open => micros_up(e.open_until.saturating_sub(self.aligned(now))),
                    _ => 0,
                };
                let state = if e.state == State::Open { 1 } else { 2 };
                args.push(format!("{state} {open_for} {}", e.trips));
            }
            self.in_flight = Some(InFlight {
                store_permit,
                read: true,
                generation: None,
                runs: VecDeque::new(),
                tally: Tally::default(),
                releases: Vec::new(),
                transition: None,
            });
            return Some(StoreCall {
                script: Script::Read,
                keys: self.keys.clone(),
                args,
            });
        }
        let (generation, runs, transition) = match self.sealed.pop_front() {
            Some(s) => (s.generation, s.runs, Some(s.transition)),
            None => (self.generation, core::mem::take(&mut self.runs), None),
        };
        let mut text = String::new();
        for r in &runs {
            let age = now.saturating_sub(r.at) / 1000;
            text.push_str(&format!("{} {} {} ", r.flags, r.count, age));
        }
        text.pop();
        let tally = core::mem::take(&mut self.tally);
        let releases = core::mem::take(&mut self.releases);
        args.push(generation.map_or("-1".into(), |g| g.to_string()));
        args.push(text);
        args.push(tally.arg());
        args.push(releases.join(" "));
        args.push(transition.map_or(String::new(), |t| {
            let state = match t.state {
                State::Closed => 0,
                State::Open => 1,
                State::HalfOpen => 2,
            };
            let mode = match t.mode {
                Mode::Normal => 0,
                Mode::ForcedOpen => 1,
                Mode::Disabled => 2,
            };
            format!(
                "{} {state} {mode} {} {} {} {}",
                generation.map_or(-1, |g| g as i64),
                t.open_until
                    .map_or(0, |u| micros_up(u.saturating_sub(self.aligned(now)))),
                t.trips,
                t.flags,
                t.streak
            )
        }));
        self.in_flight = Some(InFlight {
            store_permit,
            read: false,
            generation,
            runs,
            tally,
            releases,
            transition,
        });
        Some(StoreCall {
            script: Script::Flush,
            keys: self.keys.clone(),
            args,
        })
    }

    fn store_result(&mut self, permit: Permit, ok: bool, now: u64) {
        let t = self.store.record(
            permit,
            if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            now,
        );
        match t.map(|t| t.to) {
            Some(State::Open) if self.link == Link::Shared => self.go_local(),
            Some(State::Closed) if self.link == Link::Local && !self.mismatch => {
                self.link = Link::Shared;
                self.events.push(LinkEvent::StoreUp);
                // The next reply is adopted in full.
                self.born = None;
            }
            _ => {}
        }
    }

    fn go_local(&mut self) {
        self.link = Link::Local;
        self.events.push(LinkEvent::StoreDown);
        // Transitions not sent stay local; their outcomes wait with the others, in the
        // generation this process last saw from the store.
        let mut runs = VecDeque::new();
        let mut generation = self.generation;
        if let Some(first) = self.sealed.front() {
            generation = first.generation;
        }
        for s in self.sealed.drain(..) {
            runs.extend(s.runs);
        }
        runs.extend(self.runs.drain(..));
        self.runs = runs;
        self.generation = generation;
        self.held.clear();
    }

    /// Hands back the reply to the call [`FleetBreaker::flush_request`] gave (or the
    /// error it met) at `now`. Errors count against the store; enough of them in a row
    /// switch to local mode (nothing is lost: the call's outcomes are queued again).
    /// A join whose fingerprint differs is an error (and the process stays local).
    pub fn complete(
        &mut self,
        reply: Result<&[Value], StoreError>,
        now: u64,
    ) -> Result<Completion, FleetError> {
        let Some(f) = self.in_flight.take() else {
            return Ok(Completion::default());
        };
        let reply = reply.and_then(|items| {
            Reply::decode(items, self.time_width.is_some()).map_err(|_| StoreError::BadReply)
        });
        let mut out = Completion::default();
        match reply {
            Err(_) => self.requeue(f, now),
            Ok(r) => {
                self.store_result(f.store_permit, true, now);
                if let Err(e) = self.on_reply(&r, f, now, &mut out) {
                    out.link = self.events.pop();
                    return Err(e);
                }
            }
        }
        out.link = self.events.drain(..).next_back();
        out.flush_now = self.in_flight.is_none()
            && self.link == Link::Shared
            && (!self.sealed.is_empty() || !self.releases.is_empty() || self.need_sync);
        Ok(out)
    }

    fn requeue(&mut self, f: InFlight, now: u64) {
        self.tally.add(&f.tally);
        let mut releases = f.releases;
        releases.append(&mut self.releases);
        self.releases = releases;
        match f.transition {
            Some(transition) => self.sealed.push_front(Sealed {
                generation: f.generation,
                runs: f.runs,
                transition,
            }),
            None if f.generation == self.generation => {
                let mut runs = f.runs;
                runs.extend(self.runs.drain(..));
                self.runs = runs;
            }
            None => {}
        }
        // Counted against the store after the requeue, so that going local merges them.
        self.store_result(f.store_permit, false, now);
    }

    fn on_reply(
        &mut self,
        r: &Reply,
        f: InFlight,
        now: u64,
        out: &mut Completion,
    ) -> Result<(), FleetError> {
        self.fleet_totals = r.totals;
        if f.read || r.result != 2 {
            self.need_sync &= !f.read;
        }
        if !self.joined {
            if r.result == 0 {
                if let Some(fleet) = &r.fingerprint {
                    if self.check_fingerprint {
                        self.mismatch = true;
                        if self.link == Link::Shared {
                            self.go_local();
                        }
                        return Err(mismatch(&self.fingerprint, fleet));
                    }
                }
            }
            if let (Some(width), WindowImage::Time { phase, .. }) = (self.time_width, &r.window) {
                let phase = phase.saturating_mul(1000) % width;
                self.shift = (phase + width - now % width) % width;
            }
            self.joined = true;
        }
        let a = self.aligned(now);
        self.news = false;
        if self.born != Some(r.born) {
            // The join, a recovery, or a store that lost the breaker: adopt it all; a
            // trip made alone keeps this process open until its own open_until.
            // (A start state is not a trip: generation 0 has made no transition.)
            let e = &self.engine;
            if e.mode == Mode::Normal
                && e.state == State::Open
                && e.open_until > a
                && e.generation > 0
            {
                self.local_hold = e.open_until;
            }
            // Outcomes not flushed yet (at the join: every one recorded before it) join
            // the fleet's window when both sides are closed: nothing inside the window is
            // lost. Otherwise they belong to another state (totals only, as an older
            // generation's).
            let closed = |state, mode| state == State::Closed && mode == Mode::Normal;
            let keep_runs = closed(e.state, e.mode) && closed(r.state, r.control.mode());
            self.born = Some(r.born);
            self.sealed.clear();
            let runs = if keep_runs {
                core::mem::take(&mut self.runs)
            } else {
                VecDeque::new()
            };
            self.adopt(r, a, true, out);
            if !runs.is_empty() {
                self.runs = runs;
                self.refresh(r, a);
            }
            if self.joined_generation == 0 {
                self.joined_generation = self.engine.generation;
            }
        } else {
            let base = self
                .sealed
                .front()
                .map_or(self.generation, |s| s.generation);
            match (f.transition, r.result) {
                (Some(_), 1) if self.sealed.is_empty() => self.refresh(r, a),
                (Some(_), 1) => {}
                (Some(_), _) => {
                    // Refused: this process's generation numbers were tentative.
                    self.sealed.clear();
                    self.adopt(r, a, true, out);
                }
                (None, _) if Some(r.generation) == base => {
                    if self.sealed.is_empty() {
                        self.refresh(r, a);
                    }
                }
                (None, _) if base.is_some_and(|b| r.generation < b) => {}
                (None, _) => {
                    let tentative = !self.sealed.is_empty();
                    self.sealed.clear();
                    self.adopt(r, a, tentative, out);
                }
            }
        }
        if self.sealed.is_empty() && core::mem::take(&mut self.news) {
            if let Some(t) = self.decide(a) {
                out.transitions.push(t);
            }
        }
        Ok(())
    }

    /// The fleet's state replaces this process's.
    fn adopt(&mut self, r: &Reply, a: u64, force: bool, out: &mut Completion) {
        let before = self.engine.state(a);
        let mode = r.control.mode();
        let e = &mut self.engine;
        if force || Some(r.generation) != self.generation || e.state != r.state || e.mode != mode {
            e.enter(r.state);
            e.mode = mode;
            if r.state == State::Open && mode == Mode::Normal {
                e.open_until = a.saturating_add(r.open_remaining.saturating_mul(1000));
            }
            self.held.clear();
            self.runs.clear();
        }
        self.generation = Some(r.generation);
        self.refresh(r, a);
        let after = self.engine.state(a);
        if before != after {
            let cause = match (after, mode) {
                (State::Open, Mode::ForcedOpen) => Cause::ForcedOpen,
                (State::Open, _) if before == State::HalfOpen => Cause::TrialFailed,
                (State::Open, _) => Cause::Tripped,
                (State::HalfOpen, _) if before == State::Open => Cause::OpenElapsed,
                (State::HalfOpen, _) => Cause::HalfOpened,
                (State::Closed, Mode::Disabled) => Cause::Disabled,
                (State::Closed, _) if before == State::HalfOpen => Cause::TrialsSucceeded,
                (State::Closed, _) => Cause::Closed,
            };
            out.transitions.push(Transition {
                from: before,
                to: after,
                cause,
            });
        }
    }

    /// The fleet's window and counts, plus this process's unflushed outcomes. Notes
    /// whether they differ from what the engine had (others' outcomes): only then are
    /// the rules checked again, as a lone breaker checks them only on an outcome.
    fn refresh(&mut self, r: &Reply, a: u64) {
        let e = &mut self.engine;
        let before = (
            e.window.counts(a),
            e.consecutive_failures,
            e.consecutive_successes,
        );
        match &r.window {
            WindowImage::Count(runs) => e.window.load_runs(runs, a),
            WindowImage::Time { buckets, .. } => e.window.load_buckets(buckets, a),
        }
        e.consecutive_failures = r.consecutive_failures;
        e.consecutive_successes = r.consecutive_successes;
        e.failure_streak = r.failure_streak;
        e.trips = r.trips;
        for run in &self.runs {
            let failed = run.flags & FAILED != 0;
            let at = run.at.wrapping_add(self.shift);
            e.window
                .record_n(at, failed, run.flags & SLOW != 0, run.count);
            if failed {
                e.consecutive_failures = e.consecutive_failures.saturating_add(run.count);
                e.failure_streak = e.failure_streak.saturating_add(run.count);
                e.consecutive_successes = 0;
            } else {
                e.consecutive_successes = e.consecutive_successes.saturating_add(run.count);
                e.consecutive_failures = 0;
                e.failure_streak = 0;
            }
        }
        let after = (
            e.window.counts(a),
            e.consecutive_failures,
            e.consecutive_successes,
        );
        self.news |= before != after;
    }

    /// The rules on the fleet's counts: a transition for the next flush to
    /// compare-and-set, if one is due.
    fn decide(&mut self, a: u64) -> Option<Transition> {
        if !self.sharing() || self.engine.mode != Mode::Normal {
            return None;
        }
        let e = &mut self.engine;
        let t = match e.state {
            State::Closed if e.rules_trip(a) => e.trip_from(a, State::Closed, Cause::Tripped),
            State::HalfOpen if e.consecutive_failures > 0 => {
                e.trip_from(a, State::HalfOpen, Cause::TrialFailed)
            }
            State::HalfOpen if e.consecutive_successes >= e.config.success_threshold => {
                e.trips = 0;
                e.enter(State::Closed);
                Transition {
                    from: State::HalfOpen,
                    to: State::Closed,
                    cause: Cause::TrialsSucceeded,
                }
            }
            _ => return None,
        };
        self.seal(a, 0);
        Some(t)
    }
}

impl Control {
    /// The engine's mode for the fleet's.
    fn mode(self) -> Mode {
        match self {
            Control::Normal => Mode::Normal,
            Control::ForcedOpen => Mode::ForcedOpen,
            Control::Disabled => Mode::Disabled,
        }
    }
}
