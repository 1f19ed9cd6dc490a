//! The resilience service engine: breakers per (service, operation), per-service
//! configuration, bulkheads, the retry attempt driver, dead-letter bookkeeping, alert
//! episodes, health and lifetime counters — every decision a resilience service makes,
//! so that Node and Python make them the same way.
//!
//! The engine holds the binding's breaker handles (`B`) but never calls the user's
//! code, waits or reads a clock. A binding drives one call like this:
//!
//! 1. [`Service::circuit`] finds the breaker of a key, or asks the binding to make one
//!    ([`Lookup::New`], then [`Service::attach`], which may evict idle breakers).
//! 2. [`Service::begin`] enters the service's bulkhead: run now, wait, or refused.
//!    A waiting call is admitted by a later [`Ended::admit`] (or refused once
//!    [`Service::wait_over`] says its wait is over).
//! 3. The binding runs an attempt through the breaker, records its outcome there, then
//!    reports it to [`Service::ended`]: retry after a delay, done, or failed (with a
//!    dead-letter id when the call asked for one). A retry runs on the same circuit.
//! 4. Alerts the engine raised wait in [`Service::take_alerts`].

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::alerts::{all_circuits_open_alert, dead_letter_alert, error_rate_alert};
use super::bulkhead::{Bulkhead, BulkheadConfig, BulkheadStats, Entry, Ticket};
use super::dead_letter::DeadLetterQueue;
use super::health::{service_health, Health};
use super::update::{bulkhead_with, Retry, RetryUpdate, ServiceUpdate};
use super::{
    DEFAULT_DEAD_LETTER_SIZE, DEFAULT_MAX_BREAKERS, ERROR_RATE_ALERT, ERROR_RATE_ALERT_MIN_CALLS,
};
use crate::breaker::{Breaker, Durations, Lifetime, State, Stats};
use crate::config::{Config, ConfigError};
use crate::evict::{Eviction, Probe};
use crate::metrics::{BreakerSample, Labels, ServiceSample, Snapshot};
use crate::options::{OptionValue, Options, Unit};
use crate::rng::Rng;

/// Which breaker: a service's operation, or the service as a whole. Names are any
/// strings: `("a:b", "c")` and `("a", "b:c")` are different keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The service.
    pub service: String,
    /// The operation; `None` for the service-level breaker.
    pub operation: Option<String>,
}

impl Key {
    /// The breaker's name: `service:operation`, or `service` for the service-level
    /// breaker, with `%` and `:` inside each part written `%25` and `%3A`, so that no two
    /// keys share a name (`a%3Ab:c` is not `a:b%3Ac`). Report objects and the breaker
    /// registry use it.
    pub fn name(&self) -> String {
        let mut name = String::with_capacity(
            self.service.len() + 1 + self.operation.as_ref().map_or(0, String::len),
        );
        escape(&self.service, &mut name);
        if let Some(op) = &self.operation {
            name.push(':');
            escape(op, &mut name);
        }
        name
    }
}

fn escape(part: &str, out: &mut String) {
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
}

/// What the engine reads of a breaker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Facts {
    /// The effective state.
    pub state: State,
    /// Forced open (until reset).
    pub forced_open: bool,
    /// Calls in the breaker's window.
    pub window_calls: u32,
    /// Failures (slow calls included) in the window.
    pub window_failures: u32,
}

/// A breaker as the engine sees it: the binding's handle answers these questions.
pub trait Circuit {
    /// The breaker's state and window at `now`.
    fn facts(&self, now: u64) -> Facts;

    /// What metrics show of the breaker at `now` (`None`: the binding shows nothing).
    fn metrics(&self, now: u64) -> Option<(Stats, Lifetime, Durations)> {
        let _ = now;
        None
    }
}

impl Circuit for Breaker {
    fn metrics(&self, now: u64) -> Option<(Stats, Lifetime, Durations)> {
        Some((self.stats(now), self.lifetime(), self.durations()))
    }

    fn facts(&self, now: u64) -> Facts {
        let (window_calls, window_failures, _) = self.window_counts(now);
        Facts {
            state: self.state(now),
            forced_open: self.stats(now).forced_open,
            window_calls,
            window_failures,
        }
    }
}

/// A breaker's place in the engine; valid until the breaker is evicted (the engine
/// says so: [`Evicted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CircuitId(pub u32);

/// One call in the engine: from [`Service::begin`] to its last [`Service::ended`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u32);

/// The engine's limits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Breakers kept before idle ones are evicted (≥ 1).
    pub max_breakers: usize,
    /// Dead letters kept before the oldest is dropped (≥ 1).
    pub dead_letter_size: usize,
    /// The unit of durations in options.
    pub unit: Unit,
    /// Seeds the retry jitter of services whose policy names no seed.
    pub seed: u64,
    /// Whether service breakers time out after the core's default call timeout (30 s)
    /// unless configured; `false` gives them none, as Python's breakers have none.
    pub call_timeout: bool,
}

impl Settings {
    /// The defaults: 1,000 breakers, 1,000 dead letters.
    pub fn new(unit: Unit, seed: u64) -> Settings {
        Settings {
            max_breakers: DEFAULT_MAX_BREAKERS,
            dead_letter_size: DEFAULT_DEAD_LETTER_SIZE,
            unit,
            seed,
            call_timeout: true,
        }
    }

    /// The error for an option name [`Settings::set`] does not know: a `TypeError` naming
    /// it, with "did you mean" among the settings' names and `extra` (the binding's own
    /// options, such as `clock`).
    pub fn unknown(name: &str, extra: &[&str]) -> ConfigError {
        const NAMES: [&str; 5] = [
            "maxBreakers",
            "max_breakers",
            "deadLetterQueueSize",
            "dead_letter_queue_size",
            "seed",
        ];
        match crate::options::closest(name, NAMES.iter().chain(extra.iter())) {
            Some(s) => {
                crate::options::type_error(name, format!("unknown option (did you mean `{s}`?)"))
            }
            None => crate::options::type_error(name, "unknown option".to_string()),
        }
    }

    /// Sets `maxBreakers` / `max_breakers` or `deadLetterQueueSize` /
    /// `dead_letter_queue_size`; `Ok(false)` for another name.
    pub fn set(&mut self, name: &str, value: OptionValue<'_>) -> Result<bool, ConfigError> {
        let target = match name {
            "maxBreakers" | "max_breakers" => &mut self.max_breakers,
            "deadLetterQueueSize" | "dead_letter_queue_size" => &mut self.dead_letter_size,
            _ => return Ok(false),
        };
        let Some(n) = crate::options::read(name, value)? else {
            return Ok(true);
        };
        crate::options::check(name, n, crate::options::Kind::Count, self.unit)?;
        *target = n as usize;
        Ok(true)
    }
}

/// The answer to [`Service::circuit`].
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// The key's breaker.
    Found(CircuitId),
    /// No breaker yet: make one with `config` (forced open when `forced_open`), then
    /// [`Service::attach`] it to `id`.
    New {
        /// Where it goes.
        id: CircuitId,
        /// Its configuration.
        config: Arc<Config>,
        /// The service is forced open: open the new breaker too.
        forced_open: bool,
    },
}

/// A breaker the engine let go: the binding forgets `id` (it may be reused) and may
/// release the handle. A user still holding the breaker may keep using it.
#[derive(Debug)]
pub struct Evicted<B> {
    /// Its former place.
    pub id: CircuitId,
    /// Its key.
    pub key: Key,
    /// The binding's handle.
    pub handle: B,
}

/// Why a call never ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Every bulkhead slot and queue place was taken.
    BulkheadFull,
    /// The call waited longer than `maxQueueWait`.
    QueueTimeout,
}

impl Refusal {
    /// `"full"` or `"queue-timeout"`: the reason every binding reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::BulkheadFull => "full",
            Refusal::QueueTimeout => "queue-timeout",
        }
    }
}

/// The answer to [`Service::begin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// Run the first attempt now.
    Run(CallId),
    /// Wait for [`Ended::admit`] naming this call, at most `max_wait` ns (`None`: no limit).
    Queued(CallId, Option<u64>),
    /// Refused: the call is over (fallback or error).
    Refused(Refusal),
}

/// The answer to [`Service::wait_over`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// The call was admitted meanwhile: run it.
    Admitted,
    /// Keep waiting this many ns more.
    Waiting(u64),
    /// Its wait is over: refused (queue timeout); the call is over.
    Refused,
}

/// How an attempt ended, as the binding saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt<'a> {
    /// The function returned.
    Success,
    /// It failed with this error code and HTTP status (either may be unknown).
    Failure {
        /// The error's code (`ECONNRESET`...).
        code: Option<&'a str>,
        /// The error's HTTP status.
        status: Option<u16>,
    },
    /// The breaker refused it (open, or no free trial).
    Refused,
    /// It was cancelled (the caller went away): the call ends, no fallback, not counted.
    Cancelled,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Wait `delay` ns, then attempt again on the same circuit.
    Retry {
        /// The backoff.
        delay: u64,
    },
    /// The call succeeded.
    Done,
    /// The call failed after `attempts` attempts: fallback or error.
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The dead-letter id the binding keeps the call's payload under, if queued.
        dead_letter: Option<u64>,
        /// A dead letter dropped to make room: the binding frees its payload.
        dropped: Option<u64>,
    },
    /// Cancelled: the call is over.
    Cancelled,
}

/// The answer to [`Service::ended`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended {
    /// What to do.
    pub after: After,
    /// A waiting call the freed bulkhead slot now runs.
    pub admit: Option<CallId>,
}

/// The answer to [`Service::update`].
#[derive(Clone, Debug, Default)]
pub struct Updated {
    /// Breakers to run on a new configuration (each keeps its state).
    pub reconfigure: Vec<(CircuitId, Arc<Config>)>,
    /// Waiting calls a larger bulkhead admits now.
    pub admitted: Vec<CallId>,
    /// Calls still waiting whose longest wait (`maxQueueWait`) changed: each asks again
    /// how long to wait ([`Service::wait_over`]), as one queued with no limit has no
    /// timer that would ever hear of a limit set later.
    pub rewait: Vec<CallId>,
}

/// What a call asks for besides the service's defaults.
#[derive(Clone, Debug, Default)]
pub struct CallPlan {
    /// This call's retry policy instead of the service's (`None`: the service's).
    pub retry: Option<Arc<Retry>>,
    /// A failed call goes to the dead-letter queue.
    pub dead_letter: bool,
}

/// The kinds of alert (the names every binding reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertKind {
    /// A breaker left CLOSED (until it closes again).
    CircuitOpened,
    /// A breaker's window holds at least 10 calls and more than 10 % failed.
    HighErrorRate,
    /// A call had to wait or was refused by the bulkhead (until a call ends with no one waiting).
    BulkheadFull,
    /// The dead-letter queue holds more than 10 items.
    DeadLetterQueue,
    /// Every breaker of a service is open (until one closes).
    AllCircuitsOpen,
}

impl AlertKind {
    /// `"circuit-opened"`, `"high-error-rate"`, `"bulkhead-full"`, `"dead-letter-queue"`
    /// or `"all-circuits-open"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::CircuitOpened => "circuit-opened",
            AlertKind::HighErrorRate => "high-error-rate",
            AlertKind::BulkheadFull => "bulkhead-full",
            AlertKind::DeadLetterQueue => "dead-letter-queue",
            AlertKind::AllCircuitsOpen => "all-circuits-open",
        }
    }
}

/// An alert: fired once per episode, when its condition becomes true.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Which.
    pub kind: AlertKind,
    /// The service, if the alert is about one.
    pub service: Option<String>,
    /// The operation, if the alert is about one breaker.
    pub operation: Option<String>,
    /// A sentence for people.
    pub message: String,
}

/// Retry outcomes of a service's calls since the engine started (never reset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryCounters {
    /// Succeeded at the first attempt.
    pub successful_without_retry: u64,
    /// Succeeded after retrying.
    pub successful_with_retry: u64,
    /// Failed at the first attempt, not retried.
    pub failed_without_retry: u64,
    /// Failed after retrying.
    pub failed_with_retry: u64,
}

/// Dead-letter counters since the engine started (never reset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeadLetterStats {
    /// Items held now.
    pub size: usize,
    /// Items held at most.
    pub capacity: usize,
    /// Items dropped (the oldest) to make room.
    pub dropped: u64,
    /// Items ever queued.
    pub enqueued: u64,
}

/// A dead letter: what failed, and how often.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// The call's breaker.
    pub key: Key,
    /// Attempts made so far, retries of the item included.
    pub attempts: u32,
    /// A retry of it is running.
    pub retrying: bool,
}

/// Why a dead letter cannot be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadLetterError {
    /// No item with that id.
    Unknown,
    /// A retry of it is running already.
    Busy,
}

/// A service's configuration as it stands.
#[derive(Clone, Debug)]
pub struct ServiceConfig<'a> {
    /// The preset applied last, if any.
    pub preset: Option<&'static str>,
    /// The breakers' options (seed-003 defaults, preset, updates).
    pub config: &'a Config,
    /// The bulkhead's limits.
    pub bulkhead: BulkheadConfig,
    /// The retry policy.
    pub retry: &'a Retry,
}

/// One service in a health report.
#[derive(Clone, Debug)]
pub struct ServiceHealth<'a> {
    /// Its name.
    pub name: &'a str,
    /// Unhealthy when every breaker is open, degraded when one is open or half-open or
    /// the bulkhead is saturated.
    pub status: Health,
    /// Each breaker's operation (`None`: the service-level one) and state, by name.
    pub circuits: Vec<(Option<&'a str>, State)>,
    /// The bulkhead's counters.
    pub bulkhead: BulkheadStats,
    /// The bulkhead's limits.
    pub bulkhead_config: BulkheadConfig,
    /// Forced open as a whole (operations first used later included).
    pub forced_open: bool,
}

/// How a service got its configuration (ordered: a later update never lowers it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Configured {
    /// The defaults: the service goes with its last breaker.
    No,
    /// A call's own defaults ([`Service::update_by_call`]): also gone with its last
    /// breaker, brought again by the next call.
    ByCall,
    /// [`Service::update`]: kept for the engine's lifetime.
    ByUpdate,
}

struct ServiceEntry {
    options: Options,
    config: Arc<Config>,
    retry: Arc<Retry>,
    rng: Rng,
    bulkhead: Bulkhead,
    preset: Option<&'static str>,
    configured: Configured,
    forced: bool,
    /// The service-level breaker, and the operations' breakers by name: looked up by
    /// `&str` (no key is made per call).
    whole: Option<u32>,
    operations: BTreeMap<String, u32>,
    waiting: BTreeMap<Ticket, u32>,
    bulkhead_episode: bool,
    all_open_episode: bool,
    retries: RetryCounters,
}

impl ServiceEntry {
    fn get(&self, operation: Option<&str>) -> Option<u32> {
        match operation {
            Some(op) => self.operations.get(op).copied(),
            None => self.whole,
        }
    }

    /// Its breakers, the service-level one first, then by operation.
    fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.whole
            .into_iter()
            .chain(self.operations.values().copied())
    }

    /// Its breakers with their operations (`None`: the service-level one), in order.
    fn entries(&self) -> impl Iterator<Item = (Option<&str>, u32)> + '_ {
        let ops = self
            .operations
            .iter()
            .map(|(op, &id)| (Some(op.as_str()), id));
        self.whole.map(|id| (None, id)).into_iter().chain(ops)
    }

    fn has_breakers(&self) -> bool {
        self.whole.is_some() || !self.operations.is_empty()
    }
}

struct CircuitSlot<B> {
    key: Key,
    handle: Option<B>,
    options: Options,
    config: Arc<Config>,
    in_flight: u32,
    /// Grows with every use: the eviction index reads it (no per-use bookkeeping there).
    uses: u64,
    opened_episode: bool,
    error_episode: bool,
}

enum Phase {
    Waiting(Ticket),
    /// Its wait expired while another call's timer looked: refused when its own looks.
    Expired,
    Running,
}

/// Where a queued call stands ([`Service::wait_over`], [`Service::abandon`]).
enum Wait {
    /// Refused, or never was.
    Over,
    /// Holds a slot now.
    Admitted,
    /// Still in the queue (its ticket, its service).
    Waiting(Ticket, String),
}

struct CallState {
    circuit: u32,
    attempts: u32,
    retry: Option<(Arc<Retry>, Rng)>,
    dead_letter: bool,
    phase: Phase,
}

/// The engine. `B` is the binding's breaker handle.
pub struct Service<B> {
    settings: Settings,
    seed_defaults: Options,
    services: BTreeMap<String, ServiceEntry>,
    slots: Vec<Option<CircuitSlot<B>>>,
    eviction: Eviction,
    calls: Vec<Option<CallState>>,
    free_calls: Vec<u32>,
    dead_letters: DeadLetterQueue<DeadLetter>,
    dead_letters_enqueued: u64,
    dead_letter_episode: bool,
    alerts: Vec<Alert>,
    no_retry: Arc<Retry>,
    default_config: Config,
    default_retry: Retry,
}

impl<B: Circuit> Service<B> {
    /// An empty engine.
    pub fn new(settings: Settings) -> Result<Service<B>, ConfigError> {
        if settings.max_breakers == 0 {
            return Err(ConfigError::range("max_breakers", "must be at least 1"));
        }
        if settings.dead_letter_size == 0 {
            return Err(ConfigError::range(
                "dead_letter_queue_size",
                "must be at least 1",
            ));
        }
        // Seed 003's service breakers: one trial call half-open, one success closes.
        let mut seed_defaults = Options::new(settings.unit);
        let _ = seed_defaults.set("successThreshold", OptionValue::Number(1.0));
        let _ = seed_defaults.set("halfOpenMaxCalls", OptionValue::Number(1.0));
        if !settings.call_timeout {
            let _ = seed_defaults.set("timeout", OptionValue::Bool(false));
        }
        let default_config = seed_defaults.build()?;
        Ok(Service {
            default_config,
            default_retry: Retry::default(),
            settings,
            seed_defaults,
            services: BTreeMap::new(),
            slots: Vec::new(),
            eviction: Eviction::new(settings.max_breakers),
            calls: Vec::new(),
            free_calls: Vec::new(),
            dead_letters: DeadLetterQueue::new(settings.dead_letter_size),
            dead_letters_enqueued: 0,
            dead_letter_episode: false,
            alerts: Vec::new(),
            no_retry: Arc::new(Retry {
                policy: super::RetryPolicy {
                    max_attempts: 1,
                    ..super::RetryPolicy::default()
                },
                ..Retry::default()
            }),
        })
    }

    /// The limits the engine was made with.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    // ---- services and their configuration -------------------------------------------

    fn service_mut(&mut self, name: &str) -> &mut ServiceEntry {
        if !self.services.contains_key(name) {
            let entry = self.new_service(name);
            self.services.insert(name.to_string(), entry);
        }
        self.services.get_mut(name).expect("inserted above")
    }

    fn new_service(&self, name: &str) -> ServiceEntry {
        let options = self.seed_defaults.clone();
        let config = Arc::new(options.build().expect("the seed-003 defaults are valid"));
        ServiceEntry {
            options,
            config,
            retry: Arc::new(Retry::default()),
            rng: Rng::new(self.settings.seed ^ fnv(name)),
            bulkhead: Bulkhead::new(BulkheadConfig::default())
                .expect("the default bulkhead is valid"),
            preset: None,
            configured: Configured::No,
            forced: false,
            whole: None,
            operations: BTreeMap::new(),
            waiting: BTreeMap::new(),
            bulkhead_episode: false,
            all_open_episode: false,
            retries: RetryCounters::default(),
        }
    }

    /// Changes a service's configuration, checked whole before anything changes: the
    /// preset first, then `config`, `bulkhead` and `retryPolicy` over what it has.
    /// Returns the breakers to reconfigure (each keeps its state) and the waiting calls
    /// a larger bulkhead admits now.
    pub fn update(
        &mut self,
        service: &str,
        update: &ServiceUpdate,
        now: u64,
    ) -> Result<Updated, ConfigError> {
        self.configure(service, update, now, Configured::ByUpdate)
    }

    /// As [`Service::update`], for the defaults a call brings (a helper's preset, a
    /// call's own bulkhead): the service still goes with its last breaker, as one of
    /// defaults does (service names may come from request data), and the next call
    /// brings them again. An [`update`](Service::update) before or after keeps it.
    pub fn update_by_call(
        &mut self,
        service: &str,
        update: &ServiceUpdate,
        now: u64,
    ) -> Result<Updated, ConfigError> {
        self.configure(service, update, now, Configured::ByCall)
    }

    fn configure(
        &mut self,
        service: &str,
        update: &ServiceUpdate,
        now: u64,
        by: Configured,
    ) -> Result<Updated, ConfigError> {
        let unit = self.settings.unit;
        let scratch;
        let current = match self.services.get(service) {
            Some(s) => s,
            None => {
                scratch = self.new_service(service);
                &scratch
            }
        };
        // Check everything first.
        let mut options = current.options.clone();
        let mut bulkhead = current.bulkhead.config();
        let mut retry = (*current.retry).clone();
        if let Some(p) = update.preset {
            options.merge(&ServiceUpdate::preset_options(p, unit));
            bulkhead.max_concurrent = p.max_concurrent;
            retry.policy.max_attempts = p.retry_attempts + 1;
        }
        if let Some(config) = &update.config {
            options.merge(config);
        }
        let config = options.build()?;
        if let Some(changes) = &update.bulkhead {
            bulkhead = bulkhead_with(bulkhead, changes, unit)?;
        }
        if let Some(changes) = &update.retry {
            retry = changes.apply(&retry, unit)?;
        }
        let mut rebuilt = Vec::new();
        let circuit_ids: Vec<u32> = current.ids().collect();
        let config_changed = update.preset.is_some() || update.config.is_some();
        if config_changed {
            for &id in &circuit_ids {
                let slot = self.slot(id);
                let mut own = slot.options.clone();
                if let Some(p) = update.preset {
                    own.merge(&ServiceUpdate::preset_options(p, unit));
                }
                if let Some(c) = &update.config {
                    own.merge(c);
                }
                rebuilt.push((id, own.build()?, own));
            }
        }
        // Then apply.
        let seed = retry.seed;
        let entry = self.service_mut(service);
        entry.configured = entry.configured.max(by);
        if let Some(p) = update.preset {
            entry.preset = Some(p.name);
        }
        entry.options = options;
        entry.config = Arc::new(config);
        if update.retry.is_some() || update.preset.is_some() {
            if let Some(seed) = seed {
                entry.rng = Rng::new(seed);
            }
            entry.retry = Arc::new(retry);
        }
        let wait_changed = entry.bulkhead.config().max_queue_wait != bulkhead.max_queue_wait;
        let admitted_tickets = entry.bulkhead.set_config(bulkhead, now)?;
        let mut admitted = Vec::new();
        for ticket in admitted_tickets {
            if let Some(call) = self.admit(service, ticket) {
                admitted.push(call);
            }
        }
        let rewait = if wait_changed {
            self.service_mut(service)
                .waiting
                .values()
                .map(|&id| CallId(id))
                .collect()
        } else {
            Vec::new()
        };
        let mut reconfigure = Vec::new();
        for (id, config, options) in rebuilt {
            let config = Arc::new(config);
            let slot = self.slot_mut(id);
            slot.options = options;
            slot.config = config.clone();
            reconfigure.push((CircuitId(id), config));
        }
        Ok(Updated {
            reconfigure,
            admitted,
            rewait,
        })
    }

    /// Whether a service was configured (an update, a preset or a call's own defaults), as
    /// opposed to made by a call with the defaults.
    pub fn is_configured(&self, service: &str) -> bool {
        self.services
            .get(service)
            .is_some_and(|s| s.configured != Configured::No)
    }

    /// A service's configuration, or the defaults a new service would start with (without
    /// making the service: reading never grows the engine).
    pub fn service_config_or_default(&self, service: &str) -> ServiceConfig<'_> {
        self.service_config(service).unwrap_or(ServiceConfig {
            preset: None,
            config: &self.default_config,
            bulkhead: BulkheadConfig::default(),
            retry: &self.default_retry,
        })
    }

    /// A service's configuration (a service never configured reads the defaults).
    pub fn service_config(&self, service: &str) -> Option<ServiceConfig<'_>> {
        self.services.get(service).map(|s| ServiceConfig {
            preset: s.preset,
            config: &s.config,
            bulkhead: s.bulkhead.config(),
            retry: &s.retry,
        })
    }

    /// The retry policy a call's own `retryPolicy` makes over its service's.
    pub fn call_retry(
        &self,
        service: &str,
        update: &RetryUpdate,
    ) -> Result<Arc<Retry>, ConfigError> {
        let base = self
            .services
            .get(service)
            .map_or_else(|| Arc::new(Retry::default()), |s| s.retry.clone());
        Ok(Arc::new(update.apply(&base, self.settings.unit)?))
    }

    /// One attempt, no retry: the policy of seed 003's `execute`.
    pub fn no_retry(&self) -> Arc<Retry> {
        self.no_retry.clone()
    }

    /// The names of the services, in order.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.keys().map(String::as_str)
    }

    /// A service's bulkhead counters.
    pub fn bulkhead_stats(&self, service: &str) -> Option<(BulkheadStats, BulkheadConfig)> {
        self.services
            .get(service)
            .map(|s| (s.bulkhead.stats(), s.bulkhead.config()))
    }

    /// A service's retry outcomes.
    pub fn retry_counters(&self, service: &str) -> Option<RetryCounters> {
        self.services.get(service).map(|s| s.retries)
    }

    // ---- breakers ---------------------------------------------------------------------

    fn slot(&self, id: u32) -> &CircuitSlot<B> {
        self.slots[id as usize].as_ref().expect("a live circuit")
    }

    fn slot_mut(&mut self, id: u32) -> &mut CircuitSlot<B> {
        self.slots[id as usize].as_mut().expect("a live circuit")
    }

    /// The breaker of `(service, operation)`, or where to make it. `config` (a call's
    /// own breaker options) applies only when the breaker is made.
    pub fn circuit(
        &mut self,
        service: &str,
        operation: Option<&str>,
        config: Option<&Options>,
    ) -> Result<Lookup, ConfigError> {
        if let Some(id) = self.find(service, operation) {
            self.slot_mut(id.0).uses += 1;
            return Ok(Lookup::Found(id));
        }
        let key = Key {
            service: service.to_string(),
            operation: operation.map(str::to_string),
        };
        let entry = self.service_mut(service);
        let mut options = entry.options.clone();
        let forced_open = entry.forced;
        let config = match config {
            Some(own) => {
                options.merge(own);
                Arc::new(options.build()?)
            }
            None => entry.config.clone(),
        };
        let slot = CircuitSlot {
            key: key.clone(),
            handle: None,
            options,
            config: config.clone(),
            in_flight: 0,
            uses: 0,
            opened_episode: false,
            error_episode: false,
        };
        let id = self.eviction.insert();
        if self.slots.len() <= id as usize {
            self.slots.resize_with(id as usize + 1, || None);
        }
        self.slots[id as usize] = Some(slot);
        let entry = self.service_mut(service);
        match key.operation {
            Some(op) => drop(entry.operations.insert(op, id)),
            None => entry.whole = Some(id),
        }
        Ok(Lookup::New {
            id: CircuitId(id),
            config,
            forced_open,
        })
    }

    /// Gives the new breaker at `id` its handle; evicts idle breakers beyond
    /// `max_breakers` (never this one), returned for the binding to forget.
    pub fn attach(&mut self, id: CircuitId, handle: B, now: u64) -> Vec<Evicted<B>> {
        self.slot_mut(id.0).handle = Some(handle);
        self.evict(id.0, now)
    }

    /// Forgets a breaker made at `id` that the binding could not attach.
    pub fn discard(&mut self, id: CircuitId) {
        let _ = self.remove(id.0);
    }

    /// The binding's handle of a breaker.
    pub fn handle(&self, id: CircuitId) -> Option<&B> {
        self.slots.get(id.0 as usize)?.as_ref()?.handle.as_ref()
    }

    /// The binding's handle of a breaker, to change it.
    pub fn handle_mut(&mut self, id: CircuitId) -> Option<&mut B> {
        self.slots.get_mut(id.0 as usize)?.as_mut()?.handle.as_mut()
    }

    /// A breaker's key.
    pub fn key(&self, id: CircuitId) -> Option<&Key> {
        self.slots.get(id.0 as usize)?.as_ref().map(|s| &s.key)
    }

    /// The breaker of a key, if there is one (does not count as a use).
    pub fn find(&self, service: &str, operation: Option<&str>) -> Option<CircuitId> {
        self.services.get(service)?.get(operation).map(CircuitId)
    }

    /// Every breaker, by key.
    pub fn circuits(&self) -> impl Iterator<Item = (CircuitId, &Key, &B)> {
        self.services
            .values()
            .flat_map(ServiceEntry::ids)
            .filter_map(|id| {
                let slot = self.slot(id);
                Some((CircuitId(id), &slot.key, slot.handle.as_ref()?))
            })
    }

    /// Breakers held now.
    pub fn len(&self) -> usize {
        self.eviction.len()
    }

    /// Whether no breaker is held.
    pub fn is_empty(&self) -> bool {
        self.eviction.is_empty()
    }

    /// Breakers evicted since the engine started.
    pub fn evictions(&self) -> u64 {
        self.eviction.evictions()
    }

    /// How the eviction index sees a breaker: idle (closed, not forced, no call in
    /// flight) with its use count, or busy. `keep` (the breaker being attached) is busy.
    fn probe(&self, id: u32, keep: u32, now: u64) -> Probe {
        let Some(slot) = self.slots.get(id as usize).and_then(Option::as_ref) else {
            return Probe::Busy;
        };
        let idle = id != keep
            && slot.in_flight == 0
            && slot.handle.as_ref().is_some_and(|h| {
                let facts = h.facts(now);
                facts.state == State::Closed && !facts.forced_open
            });
        if idle {
            Probe::Idle {
                activity: slot.uses,
            }
        } else {
            Probe::Busy
        }
    }

    /// Evicts idle breakers beyond `max_breakers`, the registries' rule ([`Eviction`]:
    /// CLOCK, a breaker used since the hand last passed gets a second chance); never
    /// `keep`, never an open, forced-open, half-open or busy breaker.
    fn evict(&mut self, keep: u32, now: u64) -> Vec<Evicted<B>> {
        let mut eviction = core::mem::replace(&mut self.eviction, Eviction::new(1));
        let victims = eviction.evict_over_capacity(|id| self.probe(id, keep, now));
        self.eviction = eviction;
        victims
            .into_iter()
            .filter_map(|id| self.remove(id))
            .collect()
    }

    fn remove(&mut self, id: u32) -> Option<Evicted<B>> {
        let slot = self.slots[id as usize].take()?;
        self.eviction.remove(id);
        let service = &slot.key.service;
        let drop_service = match self.services.get_mut(service) {
            Some(entry) => {
                match &slot.key.operation {
                    Some(op) => drop(entry.operations.remove(op)),
                    None => entry.whole = None,
                }
                let b = entry.bulkhead.stats();
                // Service names may be unbounded too: an idle service of defaults goes
                // with its last breaker.
                !entry.has_breakers()
                    && entry.configured != Configured::ByUpdate
                    && !entry.forced
                    && b.running == 0
                    && b.queued == 0
            }
            None => false,
        };
        if drop_service {
            self.services.remove(service);
        }
        let handle = slot.handle?;
        Some(Evicted {
            id: CircuitId(id),
            key: slot.key,
            handle,
        })
    }

    // ---- calls ------------------------------------------------------------------------

    /// A call on `circuit` asks to run at `now`: its service's bulkhead admits it now,
    /// queues it, or refuses it.
    pub fn begin(&mut self, circuit: CircuitId, plan: CallPlan, now: u64) -> Begin {
        // Fields, not methods: the slot and its service are borrowed apart, so the
        // common path makes no copy of the service's name.
        let slot = self.slots[circuit.0 as usize]
            .as_mut()
            .expect("a live circuit");
        let entry = self
            .services
            .get_mut(&slot.key.service)
            .expect("a circuit's service");
        let entered = entry.bulkhead.try_enter(now);
        let max_wait = entry.bulkhead.config().max_queue_wait;
        let phase = match entered {
            Entry::Run => Phase::Running,
            Entry::Queued(ticket) => Phase::Waiting(ticket),
            Entry::Rejected => {
                let service = slot.key.service.clone();
                self.bulkhead_busy(&service);
                return Begin::Refused(Refusal::BulkheadFull);
            }
        };
        slot.in_flight += 1;
        slot.uses += 1;
        let retry = plan.retry.map(|r| {
            let seed = r
                .seed
                .unwrap_or(self.settings.seed ^ fnv(&slot.key.service));
            (r, Rng::new(seed))
        });
        let call = self.new_call(CallState {
            circuit: circuit.0,
            attempts: 0,
            retry,
            dead_letter: plan.dead_letter,
            phase,
        });
        if let Entry::Queued(ticket) = entered {
            let service = self.slot(circuit.0).key.service.clone();
            let entry = self
                .services
                .get_mut(&service)
                .expect("a circuit's service");
            entry.waiting.insert(ticket, call.0);
            self.bulkhead_busy(&service);
            return Begin::Queued(call, max_wait);
        }
        Begin::Run(call)
    }

    fn new_call(&mut self, state: CallState) -> CallId {
        match self.free_calls.pop() {
            Some(id) => {
                self.calls[id as usize] = Some(state);
                CallId(id)
            }
            None => {
                self.calls.push(Some(state));
                CallId((self.calls.len() - 1) as u32)
            }
        }
    }

    fn call(&self, call: CallId) -> Option<&CallState> {
        self.calls.get(call.0 as usize)?.as_ref()
    }

    #[doc(hidden)] // For tripwire's bindings (see `tripwire_core::bindings`).
    /// Whether a call on `circuit` may start *quietly*: admitted without asking the
    /// engine, which hears of it later, before anything else reads or changes it —
    /// through [`Service::begin`] at the call's start while it still runs, or
    /// [`Service::quiet_call`] once it succeeded. True while the service's bulkhead has
    /// no call running or waiting (so the call is admitted, and is the only one
    /// running), and no alert episode of the breaker is open (so its success
    /// changes nothing but counters). The answer holds until the engine next changes;
    /// a binding lets at most one quiet call be in flight at a time, and admits it only
    /// while the breaker itself is quiet (`Breaker::quiet_until`).
    pub fn quiet_start(&self, circuit: CircuitId) -> bool {
        let Some(slot) = self.slots.get(circuit.0 as usize).and_then(Option::as_ref) else {
            return false;
        };
        if slot.opened_episode || slot.error_episode || slot.handle.is_none() {
            return false;
        }
        self.services.get(&slot.key.service).is_some_and(|entry| {
            let b = entry.bulkhead.stats();
            // Nothing running or waiting: a bulkhead admits at least one call.
            b.running == 0 && b.queued == 0
        })
    }

    #[doc(hidden)] // For tripwire's bindings (see `tripwire_core::bindings`).
    /// A quiet call ([`Service::quiet_start`]) that started at `start` and succeeded at
    /// `end` (its breaker already heard): exactly [`Service::begin`] at `start`, then
    /// [`Service::ended`] with a success at `end`. Returns `false` (and leaves no call
    /// behind) if the bulkhead did not admit it: the binding broke the rule.
    pub fn quiet_call(&mut self, circuit: CircuitId, plan: CallPlan, start: u64, end: u64) -> bool {
        match self.begin(circuit, plan, start) {
            Begin::Run(call) => {
                self.ended(call, Attempt::Success, end);
                true
            }
            Begin::Queued(call, _) => {
                self.abandon(call);
                false
            }
            Begin::Refused(_) => false,
        }
    }

    /// The breaker a call runs on.
    pub fn call_circuit(&self, call: CallId) -> Option<CircuitId> {
        self.call(call).map(|c| CircuitId(c.circuit))
    }

    /// Attempts a call has made.
    pub fn call_attempts(&self, call: CallId) -> Option<u32> {
        self.call(call).map(|c| c.attempts)
    }

    fn bulkhead_busy(&mut self, service: &str) {
        let entry = self.services.get_mut(service).expect("a service");
        if entry.bulkhead_episode {
            return;
        }
        entry.bulkhead_episode = true;
        let c = entry.bulkhead.config();
        self.alerts.push(Alert {
            kind: AlertKind::BulkheadFull,
            service: Some(service.to_string()),
            operation: None,
            message: format!(
                "Bulkhead of '{service}' is at capacity ({} running, {} waiting at most)",
                c.max_concurrent, c.queue_size
            ),
        });
    }

    fn admit(&mut self, service: &str, ticket: Ticket) -> Option<CallId> {
        let entry = self.services.get_mut(service)?;
        let id = entry.waiting.remove(&ticket)?;
        let call = self.calls[id as usize].as_mut()?;
        call.phase = Phase::Running;
        Some(CallId(id))
    }

    /// A waiting call's timer fired at `now`: admitted meanwhile, still waiting (for
    /// how long), or refused because it waited longer than `maxQueueWait` (the call is
    /// then over).
    pub fn wait_over(&mut self, call: CallId, now: u64) -> Waited {
        let (ticket, service) = match self.wait_state(call) {
            Wait::Over => return Waited::Refused,
            Wait::Admitted => return Waited::Admitted,
            Wait::Waiting(ticket, service) => (ticket, service),
        };
        let entry = self
            .services
            .get_mut(&service)
            .expect("a circuit's service");
        let expired = entry.bulkhead.expire(now);
        for t in &expired {
            if let Some(id) = entry.waiting.remove(t) {
                // Each call hears of it from its own timer (its id stays taken until then).
                if let Some(other) = self.calls[id as usize].as_mut() {
                    other.phase = Phase::Expired;
                }
            }
        }
        if expired.contains(&ticket) {
            self.end_waiting(call.0);
            return Waited::Refused;
        }
        let entry = self
            .services
            .get_mut(&service)
            .expect("a circuit's service");
        let limit = entry.bulkhead.config().max_queue_wait.unwrap_or(u64::MAX);
        let since = entry.bulkhead.waiting_since(ticket).unwrap_or(now);
        // No limit: `u64::MAX` ns (saturating: `+ 1` overflowed here).
        Waited::Waiting(
            since
                .saturating_add(limit)
                .saturating_add(1)
                .saturating_sub(now)
                .max(1),
        )
    }

    /// A waiting call gives up (its caller went away). Returns `true` if it was still
    /// waiting (it is over now), `false` if it was admitted meanwhile: it holds a slot
    /// and must run, or end with [`Attempt::Cancelled`].
    pub fn abandon(&mut self, call: CallId) -> bool {
        let (ticket, service) = match self.wait_state(call) {
            Wait::Over => return true,
            Wait::Admitted => return false,
            Wait::Waiting(ticket, service) => (ticket, service),
        };
        let entry = self
            .services
            .get_mut(&service)
            .expect("a circuit's service");
        entry.bulkhead.abandon(ticket);
        entry.waiting.remove(&ticket);
        self.end_waiting(call.0);
        true
    }

    /// Where a queued call stands; a call whose wait expired is ended here.
    fn wait_state(&mut self, call: CallId) -> Wait {
        let Some(state) = self.call(call) else {
            return Wait::Over;
        };
        match state.phase {
            Phase::Running => Wait::Admitted,
            Phase::Expired => {
                self.end_waiting(call.0);
                Wait::Over
            }
            Phase::Waiting(ticket) => {
                Wait::Waiting(ticket, self.slot(state.circuit).key.service.clone())
            }
        }
    }

    fn end_waiting(&mut self, id: u32) {
        if let Some(state) = self.calls[id as usize].take() {
            self.free_calls.push(id);
            if let Some(slot) = self.slots[state.circuit as usize].as_mut() {
                slot.in_flight -= 1;
            }
        }
    }

    /// Whether a call is over (refused while waiting, or ended).
    pub fn is_over(&self, call: CallId) -> bool {
        self.call(call).is_none()
    }

    /// An attempt of `call` ended at `now` (its outcome already recorded on the
    /// breaker): retry after a delay, done, or failed.
    pub fn ended(&mut self, call: CallId, attempt: Attempt<'_>, now: u64) -> Ended {
        let Some(state) = self.calls.get_mut(call.0 as usize).and_then(Option::as_mut) else {
            return Ended {
                after: After::Cancelled,
                admit: None,
            };
        };
        state.attempts += 1;
        let attempts = state.attempts;
        let circuit = state.circuit;
        let after = match attempt {
            Attempt::Success => {
                if self.slot(circuit).opened_episode || self.slot(circuit).error_episode {
                    self.observe(CircuitId(circuit), now);
                }
                self.count(circuit, attempts, true);
                After::Done
            }
            Attempt::Cancelled => After::Cancelled,
            Attempt::Failure { .. } | Attempt::Refused => {
                let refused = attempt == Attempt::Refused;
                if !refused {
                    self.observe(CircuitId(circuit), now);
                }
                let open = refused
                    || self
                        .slot(circuit)
                        .handle
                        .as_ref()
                        .is_some_and(|h| h.facts(now).state == State::Open);
                let (code, status) = match attempt {
                    Attempt::Failure { code, status } => (code, status),
                    _ => (None, None),
                };
                if let Some(delay) = self.retry_delay(call, code, status, open) {
                    return Ended {
                        after: After::Retry { delay },
                        admit: None,
                    };
                }
                self.count(circuit, attempts, false);
                let wants = self.call(call).is_some_and(|c| c.dead_letter);
                let (dead_letter, dropped) = if wants {
                    let key = self.slot(circuit).key.clone();
                    let (id, dropped) = self.push_dead_letter(key, attempts);
                    (Some(id), dropped)
                } else {
                    (None, None)
                };
                After::Failed {
                    attempts,
                    dead_letter,
                    dropped,
                }
            }
        };
        let admit = self.finish(call, now);
        Ended { after, admit }
    }

    fn retry_delay(
        &mut self,
        call: CallId,
        code: Option<&str>,
        status: Option<u16>,
        open: bool,
    ) -> Option<u64> {
        let state = self.calls[call.0 as usize].as_mut()?;
        let attempts = state.attempts;
        let service = &self.slots[state.circuit as usize].as_ref()?.key.service;
        let entry = self.services.get_mut(service)?;
        let (retry, rng) = match &mut state.retry {
            Some((retry, rng)) => (&**retry, rng),
            None => (&*entry.retry, &mut entry.rng),
        };
        if attempts >= retry.policy.max_attempts
            || !retry.classifier.should_retry(code, status, open)
        {
            return None;
        }
        Some(retry.policy.delay(attempts, rng.next_unit()))
    }

    fn count(&mut self, circuit: u32, attempts: u32, success: bool) {
        let slots = &self.slots;
        let service = &slots[circuit as usize]
            .as_ref()
            .expect("a live circuit")
            .key
            .service;
        if let Some(entry) = self.services.get_mut(service) {
            let r = &mut entry.retries;
            match (success, attempts > 1) {
                (true, false) => r.successful_without_retry += 1,
                (true, true) => r.successful_with_retry += 1,
                (false, false) => r.failed_without_retry += 1,
                (false, true) => r.failed_with_retry += 1,
            }
        }
    }

    /// The call is over: its bulkhead slot goes to the next waiting call, if any.
    fn finish(&mut self, call: CallId, now: u64) -> Option<CallId> {
        let state = self.calls[call.0 as usize].take()?;
        self.free_calls.push(call.0);
        let slot = self.slots[state.circuit as usize].as_mut()?;
        slot.in_flight -= 1;
        let entry = self.services.get_mut(&slot.key.service)?;
        match entry.bulkhead.leave(now) {
            Some(ticket) => {
                let next = entry.waiting.remove(&ticket)?;
                self.calls[next as usize].as_mut()?.phase = Phase::Running;
                Some(CallId(next))
            }
            None => {
                if entry.bulkhead_episode && entry.bulkhead.stats().queued == 0 {
                    entry.bulkhead_episode = false;
                }
                None
            }
        }
    }

    // ---- alerts -------------------------------------------------------------------------

    /// Re-reads a breaker after a change the engine did not see (a transition, a manual
    /// operation) and raises the alerts whose episodes start.
    pub fn observe(&mut self, circuit: CircuitId, now: u64) {
        let Some(slot) = self.slots.get(circuit.0 as usize).and_then(Option::as_ref) else {
            return;
        };
        let Some(facts) = slot.handle.as_ref().map(|h| h.facts(now)) else {
            return;
        };
        let key = slot.key.clone();
        let name = key.name();
        let opened = facts.state != State::Closed;
        let high = error_rate_alert(facts.window_calls, facts.window_failures);
        let slot = self.slot_mut(circuit.0);
        let (was_opened, was_high) = (slot.opened_episode, slot.error_episode);
        slot.opened_episode = opened;
        slot.error_episode = high;
        if opened && !was_opened {
            self.alerts.push(Alert {
                kind: AlertKind::CircuitOpened,
                service: Some(key.service.clone()),
                operation: key.operation.clone(),
                message: format!("Circuit breaker '{name}' opened"),
            });
        }
        if high && !was_high {
            let rate = f64::from(facts.window_failures) / f64::from(facts.window_calls);
            self.alerts.push(Alert {
                kind: AlertKind::HighErrorRate,
                service: Some(key.service.clone()),
                operation: key.operation.clone(),
                message: format!(
                    "Error rate of '{name}' is {} over {} calls (alert above {} once {} calls are in the window)",
                    percent(rate),
                    facts.window_calls,
                    percent(ERROR_RATE_ALERT),
                    ERROR_RATE_ALERT_MIN_CALLS
                ),
            });
        }
        self.observe_service(&key.service, now);
    }

    fn observe_service(&mut self, service: &str, now: u64) {
        let Some(entry) = self.services.get(service) else {
            return;
        };
        let states: Vec<State> = entry
            .ids()
            .filter_map(|id| self.slot(id).handle.as_ref().map(|h| h.facts(now).state))
            .collect();
        let ongoing = entry.all_open_episode;
        let active = all_circuits_open_alert(states.iter().copied(), ongoing);
        let entry = self.services.get_mut(service).expect("checked above");
        entry.all_open_episode = active;
        if active && !ongoing {
            self.alerts.push(Alert {
                kind: AlertKind::AllCircuitsOpen,
                service: Some(service.to_string()),
                operation: None,
                message: format!(
                    "Every circuit of '{service}' is open: the service is unavailable"
                ),
            });
        }
    }

    /// Whether alerts wait in [`Service::take_alerts`].
    pub fn has_alerts(&self) -> bool {
        !self.alerts.is_empty()
    }

    /// The alerts raised since the last call, oldest first.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        core::mem::take(&mut self.alerts)
    }

    // ---- manual control -------------------------------------------------------------

    /// Forces open one breaker (the binding opens the ids returned), or a whole service,
    /// operations first used later included (until [`Service::reset`]).
    pub fn force_open(&mut self, service: &str, operation: Option<&str>) -> Vec<CircuitId> {
        match operation {
            Some(op) => self.find(service, Some(op)).into_iter().collect(),
            None => {
                let entry = self.service_mut(service);
                entry.forced = true;
                entry.ids().map(CircuitId).collect()
            }
        }
    }

    /// Resets one breaker, or every breaker of a service and its forced opening; the
    /// binding resets the ids returned.
    pub fn reset(&mut self, service: &str, operation: Option<&str>) -> Vec<CircuitId> {
        match operation {
            Some(op) => self.find(service, Some(op)).into_iter().collect(),
            None => match self.services.get_mut(service) {
                Some(entry) => {
                    entry.forced = false;
                    entry.ids().map(CircuitId).collect()
                }
                None => Vec::new(),
            },
        }
    }

    /// Whether a service is forced open as a whole.
    pub fn is_forced(&self, service: &str) -> bool {
        self.services.get(service).is_some_and(|s| s.forced)
    }

    // ---- dead letters -----------------------------------------------------------------

    fn push_dead_letter(&mut self, key: Key, attempts: u32) -> (u64, Option<u64>) {
        let (id, dropped) = self.dead_letters.push(DeadLetter {
            key,
            attempts,
            retrying: false,
        });
        self.dead_letters_enqueued += 1;
        self.observe_dead_letters();
        (id, dropped.map(|(id, _)| id))
    }

    fn observe_dead_letters(&mut self) {
        let size = self.dead_letters.len();
        let active = dead_letter_alert(size);
        if active && !self.dead_letter_episode {
            self.alerts.push(Alert {
                kind: AlertKind::DeadLetterQueue,
                service: None,
                operation: None,
                message: format!(
                    "Dead-letter queue holds {size} items (> {})",
                    super::DEAD_LETTER_ALERT
                ),
            });
        }
        self.dead_letter_episode = active;
    }

    /// The dead letters, oldest first.
    pub fn dead_letters(&self) -> impl Iterator<Item = (u64, &DeadLetter)> {
        self.dead_letters.iter()
    }

    /// A dead letter by id.
    pub fn dead_letter(&self, id: u64) -> Option<&DeadLetter> {
        self.dead_letters.get(id)
    }

    /// Starts a retry of a dead letter: its key, to run the call again with.
    pub fn retry_dead_letter(&mut self, id: u64) -> Result<Key, DeadLetterError> {
        let item = self
            .dead_letters
            .get_mut(id)
            .ok_or(DeadLetterError::Unknown)?;
        if item.retrying {
            return Err(DeadLetterError::Busy);
        }
        item.retrying = true;
        Ok(item.key.clone())
    }

    /// A retry of a dead letter ended after `attempts` attempts: removed when it
    /// succeeded, kept with the attempts added when it failed.
    pub fn dead_letter_retried(&mut self, id: u64, succeeded: bool, attempts: u32) {
        if succeeded {
            self.dead_letters.remove(id);
            self.observe_dead_letters();
        } else if let Some(item) = self.dead_letters.get_mut(id) {
            item.retrying = false;
            item.attempts += attempts;
        }
    }

    /// Removes a dead letter without running it; whether it was there.
    pub fn remove_dead_letter(&mut self, id: u64) -> bool {
        let removed = self.dead_letters.remove(id).is_some();
        self.observe_dead_letters();
        removed
    }

    /// Empties the dead-letter queue; returns the ids it held.
    pub fn clear_dead_letters(&mut self) -> Vec<u64> {
        let ids = self.dead_letters.iter().map(|(id, _)| id).collect();
        self.dead_letters.clear();
        self.observe_dead_letters();
        ids
    }

    /// The dead-letter queue's counters.
    pub fn dead_letter_stats(&self) -> DeadLetterStats {
        DeadLetterStats {
            size: self.dead_letters.len(),
            capacity: self.settings.dead_letter_size,
            dropped: self.dead_letters.dropped(),
            enqueued: self.dead_letters_enqueued,
        }
    }

    // ---- metrics ------------------------------------------------------------------------

    /// Whether the engine was never used: no breaker held, no service configured or
    /// seen, no dead letter ever queued. A binding gathering "every service" for
    /// metrics skips such an engine, so that a package's default instance, unused,
    /// adds nothing (its dead-letter capacity would otherwise be summed in).
    pub fn is_pristine(&self) -> bool {
        self.eviction.is_empty() && self.services.is_empty() && self.dead_letters_enqueued == 0
    }

    /// Adds this engine's breakers, services and dead-letter queue to a metrics
    /// snapshot (`names` holds the breakers' names, made here: pass an empty vector
    /// that outlives the snapshot).
    pub fn metrics<'s>(&'s self, now: u64, names: &'s mut Vec<String>, out: &mut Snapshot<'s>) {
        names.clear();
        let ids: Vec<u32> = self.services.values().flat_map(ServiceEntry::ids).collect();
        names.extend(ids.iter().map(|&id| self.slot(id).key.name()));
        for (&id, name) in ids.iter().zip(names.iter()) {
            let slot = self.slot(id);
            let key = &slot.key;
            let Some((stats, lifetime, durations)) =
                slot.handle.as_ref().and_then(|h| h.metrics(now))
            else {
                continue;
            };
            out.breakers.push(BreakerSample {
                labels: Labels {
                    name,
                    service: &key.service,
                    operation: key.operation.as_deref().unwrap_or(""),
                },
                stats,
                lifetime,
                durations,
            });
        }
        let (_, health) = self.health(now);
        for service in health {
            let entry = &self.services[service.name];
            out.services.push(ServiceSample {
                name: service.name,
                health: service.status,
                bulkhead: (service.bulkhead, service.bulkhead_config),
                retries: entry.retries,
                forced_open: entry.forced,
            });
        }
        out.dead_letters.push(self.dead_letter_stats());
    }

    // ---- health -------------------------------------------------------------------------

    /// Each service's health at `now`, by name, and the worst of them.
    pub fn health(&self, now: u64) -> (Health, Vec<ServiceHealth<'_>>) {
        let mut overall = Health::Healthy;
        let mut services = Vec::with_capacity(self.services.len());
        for (name, entry) in &self.services {
            let circuits: Vec<(Option<&str>, State)> = entry
                .entries()
                .filter_map(|(op, id)| Some((op, self.slot(id).handle.as_ref()?.facts(now).state)))
                .collect();
            let bulkhead = entry.bulkhead.stats();
            let status = service_health(circuits.iter().map(|(_, s)| *s), bulkhead.saturated);
            overall = overall.max(status);
            services.push(ServiceHealth {
                name,
                status,
                circuits,
                bulkhead,
                bulkhead_config: entry.bulkhead.config(),
                forced_open: entry.forced,
            });
        }
        (overall, services)
    }
}

/// A ratio as a percentage with one decimal (`12.5 %`), the same in every runtime.
fn percent(ratio: f64) -> String {
    let tenths = (ratio * 1000.0 + 0.5) as u64;
    format!("{}.{} %", tenths / 10, tenths % 10)
}

/// FNV-1a: mixes a service's name into the jitter seed, so services draw different streams.
fn fnv(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::Outcome;
    use crate::resilience::Section;

    fn engine(max: usize) -> Service<Breaker> {
        let mut settings = Settings::new(Unit::Millis, 7);
        settings.max_breakers = max;
        Service::new(settings).unwrap()
    }

    fn make(s: &mut Service<Breaker>, service: &str, op: &str) -> CircuitId {
        match s.circuit(service, Some(op), None).unwrap() {
            Lookup::Found(id) => id,
            Lookup::New { id, config, .. } => {
                let evicted = s.attach(id, Breaker::with_shared_config(config).unwrap(), 0);
                drop(evicted);
                id
            }
        }
    }

    #[test]
    fn reading_a_config_never_makes_a_service() {
        let mut s = engine(10);
        let c = s.service_config_or_default("nobody");
        assert_eq!(c.preset, None);
        assert_eq!(c.config.success_threshold, 1);
        assert_eq!(c.retry.policy.max_attempts, 3);
        assert_eq!(s.services().count(), 0);
        assert!(!s.is_configured("nobody"));
        let mut update = ServiceUpdate::new(Unit::Millis);
        update.set_preset("llm").unwrap();
        s.update("nobody", &update, 0).unwrap();
        assert!(s.is_configured("nobody"));
        assert_eq!(s.service_config_or_default("nobody").preset, Some("llm"));
        let e = Settings::unknown("maxBreaker", &["clock"]);
        assert!(e.to_string().contains("did you mean `maxBreakers`"), "{e}");
        let e = Settings::unknown("clok", &["clock"]);
        assert!(e.to_string().contains("`clock`"), "{e}");
    }

    #[test]
    fn a_changed_max_queue_wait_asks_the_waiting_calls_to_look_again() {
        let bulkhead = |max_queue_wait: OptionValue<'static>| {
            let mut u = ServiceUpdate::new(Unit::Millis);
            u.set(Section::Bulkhead, "maxConcurrent", OptionValue::Number(1.0))
                .unwrap();
            u.set(Section::Bulkhead, "maxQueueWait", max_queue_wait)
                .unwrap();
            u
        };
        let mut s = engine(10);
        s.update("db", &bulkhead(OptionValue::Missing), 0).unwrap();
        let c = make(&mut s, "db", "query");
        let Begin::Run(_running) = s.begin(c, CallPlan::default(), 0) else {
            panic!("admitted")
        };
        let Begin::Queued(waiting, _) = s.begin(c, CallPlan::default(), 0) else {
            panic!("queued")
        };
        // Queued with no limit: nothing would ever tell it of one set now.
        const MS: u64 = 1_000_000;
        let updated = s
            .update("db", &bulkhead(OptionValue::Number(100.0)), 10 * MS)
            .unwrap();
        assert_eq!(updated.rewait, vec![waiting]);
        assert_eq!(s.wait_over(waiting, 10 * MS), Waited::Waiting(90 * MS + 1));
        assert_eq!(s.wait_over(waiting, 101 * MS), Waited::Refused);
        // The same limit again changes no wait.
        let updated = s
            .update("db", &bulkhead(OptionValue::Number(100.0)), 102 * MS)
            .unwrap();
        assert!(updated.rewait.is_empty());
    }

    #[test]
    fn an_unused_engine_is_pristine() {
        let s = engine(10);
        assert!(s.is_pristine());
        let mut s = engine(10);
        make(&mut s, "db", "query");
        assert!(!s.is_pristine(), "a breaker was made");
        let mut s = engine(10);
        s.update("db", &ServiceUpdate::new(Unit::Millis), 0)
            .unwrap();
        assert!(!s.is_pristine(), "a service was configured");
    }

    #[test]
    fn a_quiet_call_is_a_begin_and_a_success() {
        let mut s = engine(10);
        let c = make(&mut s, "db", "query");
        let other = make(&mut s, "db", "insert");
        assert!(s.quiet_start(c));
        assert!(s.quiet_call(c, CallPlan::default(), 5, 7));
        let b = s.bulkhead_stats("db").unwrap().0;
        assert_eq!((b.admitted, b.running, b.peak_running), (1, 0, 1));
        assert_eq!(s.retry_counters("db").unwrap().successful_without_retry, 1);
        // A call running on any breaker of the service: no quiet start (the bulkhead is shared).
        let Begin::Run(call) = s.begin(other, CallPlan::default(), 8) else {
            panic!("admitted")
        };
        assert!(!s.quiet_start(c));
        s.ended(call, Attempt::Success, 9);
        assert!(s.quiet_start(c));
        // An open alert episode: the success must be observed, so no quiet start.
        s.handle_mut(c).unwrap().force_open(10);
        s.observe(c, 10);
        assert!(!s.quiet_start(c));
        assert!(s.quiet_start(other), "another breaker's episode is its own");
    }

    #[test]
    fn keys_are_typed_not_joined() {
        let mut s = engine(10);
        let a = make(&mut s, "a:b", "c");
        let b = make(&mut s, "a", "b:c");
        assert_ne!(a, b);
        assert_eq!(s.len(), 2);
        let names: Vec<String> = s.circuits().map(|(_, k, _)| k.name()).collect();
        assert_eq!(names, ["a:b%3Ac", "a%3Ab:c"]);
    }

    #[test]
    fn eviction_keeps_the_cap_and_spares_busy_and_open_breakers() {
        let mut s = engine(2);
        for i in 0..50 {
            make(&mut s, "api:v1", &format!("op{i}"));
        }
        assert_eq!(s.len(), 2);
        assert_eq!(s.evictions(), 48);

        let mut s = engine(2);
        let busy = make(&mut s, "svc", "busy");
        let Begin::Run(_) = s.begin(busy, CallPlan::default(), 0) else {
            panic!()
        };
        let open = make(&mut s, "svc", "open");
        s.handle_mut(open).unwrap().force_open(0);
        for i in 0..10 {
            make(&mut s, "svc", &format!("op{i}"));
        }
        assert!(s.find("svc", Some("busy")).is_some());
        assert!(s.find("svc", Some("open")).is_some());
        assert_eq!(s.len(), 3, "the two kept, plus the newest");
    }

    #[test]
    fn a_wait_without_a_limit_waits_on() {
        let mut s = engine(10);
        let id = make(&mut s, "db", "q");
        let mut update = ServiceUpdate::new(Unit::Millis);
        update
            .set(
                super::super::Section::Bulkhead,
                "maxConcurrent",
                OptionValue::Number(1.0),
            )
            .unwrap();
        s.update("db", &update, 0).unwrap();
        let Begin::Run(_) = s.begin(id, CallPlan::default(), 0) else {
            panic!()
        };
        let Begin::Queued(waiting, None) = s.begin(id, CallPlan::default(), 0) else {
            panic!("no max_queue_wait: queued without a limit")
        };
        assert_eq!(s.wait_over(waiting, 5), Waited::Waiting(u64::MAX - 5));
    }

    #[test]
    fn a_service_is_configured_only_by_an_update() {
        let mut s = engine(10);
        assert!(!s.is_configured("db"));
        make(&mut s, "db", "q");
        assert!(
            !s.is_configured("db"),
            "using a service does not configure it"
        );
        let mut update = ServiceUpdate::new(Unit::Millis);
        update.touch(super::super::Section::Bulkhead);
        s.update("db", &update, 0).unwrap();
        assert!(s.is_configured("db"));
        assert!(!s.is_configured("other"));
    }

    #[test]
    fn a_calls_own_defaults_go_with_the_services_last_breaker_an_update_stays() {
        let preset = || {
            let mut u = ServiceUpdate::new(Unit::Millis);
            u.set_preset("external-api").unwrap();
            u
        };
        let mut s = engine(2);
        s.update_by_call("api-1", &preset(), 0).unwrap();
        assert!(s.is_configured("api-1"), "a helper applies its preset once");
        make(&mut s, "api-1", "get");
        s.update("kept", &preset(), 0).unwrap();
        make(&mut s, "kept", "get");
        s.update_by_call("kept", &ServiceUpdate::new(Unit::Millis), 0)
            .unwrap();
        // Two more breakers evict both: the call-configured service goes with its last.
        make(&mut s, "x", "a");
        make(&mut s, "y", "a");
        assert!(
            !s.is_configured("api-1"),
            "gone: the next call brings it again"
        );
        assert!(s.service_config("api-1").is_none());
        assert!(
            s.is_configured("kept"),
            "an update is kept, whatever a call brings later"
        );
        assert_eq!(
            s.service_config("kept").unwrap().preset,
            Some("external-api")
        );
    }

    #[test]
    fn retries_until_the_policy_says_no() {
        let mut s = engine(10);
        let id = make(&mut s, "db", "q");
        let Begin::Run(call) = s.begin(id, CallPlan::default(), 0) else {
            panic!()
        };
        let fail = Attempt::Failure {
            code: Some("ECONNRESET"),
            status: None,
        };
        let mut delays = Vec::new();
        loop {
            let b = s.handle_mut(id).unwrap();
            let p = b.try_acquire(0).unwrap();
            b.record(p, Outcome::Failure, 0);
            match s.ended(call, fail, 0).after {
                After::Retry { delay } => delays.push(delay / 1_000_000),
                After::Failed { attempts, .. } => {
                    assert_eq!(attempts, 3);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(delays.len(), 2);
        assert!(delays[0] >= 100 && delays[0] < 120, "{delays:?}");
        assert_eq!(s.retry_counters("db").unwrap().failed_with_retry, 1);
    }
}
