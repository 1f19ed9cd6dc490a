//! The fleet store (issue 13): `tripwire.RedisStore`, and the engine behind a breaker,
//! local or shared. Conversion and waiting only: the rules are the core's
//! (`tripwire_core::fleet`), the I/O is `tripwire-store`'s (one client for Node and
//! Python).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString, PyWeakrefReference};
use pyo3::{intern, PyTraverseError, PyVisit};
use tripwire_core::fleet::{FleetBreaker, FleetError, FleetOptions, Link, LinkEvent};
use tripwire_core::{
    Breaker as CoreBreaker, Clock, Config, ConfigError, Durations, Lifetime, Outcome, Permit,
    Rejected, State, Stats, SyncBreaker, Transition, Unit,
};
use tripwire_store::{Admit, BreakerEvents, BreakerHandle, Lease, StoreEvents, StoreFault};

use crate::breaker::Breaker;
use crate::clock::{seconds, AnyClock};
use crate::options::{config_error, type_name};

/// The options of `RedisStore(url, **options)`, as Python spells them.
const STORE_OPTIONS: &[&str] = &[
    "prefix",
    "flush_interval",
    "timeout",
    "lease_ttl",
    "poll_interval",
    "check_rules",
];

/// A connection to the fleet store (Redis ≥ 6.2 or Valkey), shared by the breakers made
/// with `store=`. Nothing connects until the first breaker uses it.
#[pyclass(subclass, frozen, module = "tripwire._core", name = "RedisStore")]
pub struct PyRedisStore {
    pub(crate) inner: tripwire_store::RedisStore,
}

/// Seconds (an int or float, not a bool) as a `Duration`; the error names `name`.
fn duration(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if !(value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>())
        || value.is_instance_of::<pyo3::types::PyBool>()
    {
        return Err(PyTypeError::new_err(format!(
            "invalid option `{name}`: must be a number of seconds, not {}",
            type_name(value)
        )));
    }
    // Finite and ≥ 0 here; the store checks its own bounds (naming the option).
    Ok(Duration::from_nanos(crate::clock::nanos(
        name,
        value.extract()?,
    )?))
}

/// Logs one line per outage episode of a store (`tripwire._logger.store_outage`: tripwire's
/// logger, else the standard library's `"tripwire"`), whatever the number of its breakers.
struct LogEvents;

impl StoreEvents for LogEvents {
    fn store_down(&self, fault: &StoreFault) {
        log("storeDown", Some(&fault.message));
    }

    fn store_up(&self) {
        log("storeUp", None);
    }
}

/// Runs `f` with the GIL from a store thread; nothing once the interpreter is finalizing
/// (a store still open at exit: its events have no one left to tell).
fn from_store_thread(f: impl FnOnce(Python<'_>)) {
    let _ = Python::try_attach(f);
}

fn log(event: &str, error: Option<&str>) {
    from_store_thread(|py| {
        let logged = py
            .import(intern!(py, "tripwire._logger"))
            .and_then(|m| m.call_method1(intern!(py, "store_outage"), (event, error)));
        if let Err(e) = logged {
            e.write_unraisable(py, None);
        }
    });
}

fn new_store(
    options: tripwire_store::StoreOptions,
) -> Result<tripwire_store::RedisStore, ConfigError> {
    tripwire_store::RedisStore::new(options, Some(Arc::new(LogEvents)))
}

#[pymethods]
impl PyRedisStore {
    #[new]
    #[pyo3(signature = (url, **options))]
    fn new(url: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let url = url.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "invalid option `url`: must be a str (redis://host:port/db), not {}",
                type_name(url)
            ))
        })?;
        let mut parsed = tripwire_store::StoreOptions::new(url.to_cow()?);
        for (key, value) in options.into_iter().flatten() {
            let key = key.cast_into::<PyString>()?;
            match &*key.to_cow()? {
                "prefix" => {
                    parsed.prefix = value
                        .cast::<PyString>()
                        .map_err(|_| {
                            PyTypeError::new_err(format!(
                                "invalid option `prefix`: must be a str, not {}",
                                type_name(&value)
                            ))
                        })?
                        .to_cow()?
                        .into_owned();
                }
                "flush_interval" => parsed.flush_interval = duration("flush_interval", &value)?,
                "timeout" => parsed.timeout = duration("timeout", &value)?,
                "poll_interval" => parsed.poll_interval = duration("poll_interval", &value)?,
                "check_rules" => {
                    parsed.check_rules = value
                        .cast::<pyo3::types::PyBool>()
                        .map_err(|_| {
                            PyTypeError::new_err(format!(
                                "invalid option `check_rules`: must be a bool, not {}",
                                type_name(&value)
                            ))
                        })?
                        .is_true();
                }
                "lease_ttl" => {
                    parsed.lease_ttl = if value.is_none() {
                        None
                    } else {
                        Some(duration("lease_ttl", &value)?)
                    }
                }
                other => {
                    let hint = tripwire_core::suggest_name(other, STORE_OPTIONS)
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    return Err(PyTypeError::new_err(format!(
                        "RedisStore() got an unknown option `{other}`{hint}"
                    )));
                }
            }
        }
        Ok(PyRedisStore {
            inner: new_store(parsed).map_err(config_error)?,
        })
    }

    /// Flushes what is pending, answers waiting trials and stops the store's threads
    /// (blocks about two `timeout`s at most, without the GIL). The breakers keep
    /// working, deciding locally. Idempotent.
    fn close(&self, py: Python<'_>) {
        let store = self.inner.clone();
        py.detach(move || store.close());
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close(py);
    }

    /// The key prefix.
    #[getter]
    fn prefix(&self) -> &str {
        &self.inner.options().prefix
    }

    /// Seconds between background flushes.
    #[getter]
    fn flush_interval(&self) -> f64 {
        self.inner.options().flush_interval.as_secs_f64()
    }

    /// Seconds every store operation may take.
    #[getter]
    fn timeout(&self) -> f64 {
        self.inner.options().timeout.as_secs_f64()
    }

    /// Seconds a half-open trial's lease lives, or None (the call timeout + 1 s).
    #[getter]
    fn lease_ttl(&self) -> Option<f64> {
        self.inner.options().lease_ttl.map(|d| d.as_secs_f64())
    }

    /// Seconds between the background polls of the fleet's state (jittered).
    #[getter]
    fn poll_interval(&self) -> f64 {
        self.inner.options().poll_interval.as_secs_f64()
    }

    /// Whether a breaker whose trip rules differ from the fleet's decides locally.
    #[getter]
    fn check_rules(&self) -> bool {
        self.inner.options().check_rules
    }

    fn __repr__(&self) -> String {
        // Never the URL: it may hold a password.
        format!(
            "<RedisStore prefix={:?} breakers={}>",
            self.inner.options().prefix,
            self.inner.len()
        )
    }
}

/// What `store=` asked for.
pub(crate) enum StoreChoice {
    /// Not given: the `TRIPWIRE_STORE_URL` store if set, else local.
    Default,
    /// `store=None`: local, whatever the environment says (Node's `store: null`).
    Local,
    /// A `RedisStore`.
    Given(tripwire_store::RedisStore),
}

impl StoreChoice {
    pub(crate) fn parse(value: &Bound<'_, PyAny>) -> PyResult<StoreChoice> {
        if value.is_none() {
            return Ok(StoreChoice::Local);
        }
        let store = value.cast::<PyRedisStore>().map_err(|_| {
            PyTypeError::new_err(format!(
                "invalid option `store`: must be a tripwire.RedisStore or None (local), not {}",
                type_name(value)
            ))
        })?;
        Ok(StoreChoice::Given(store.get().inner.clone()))
    }

    /// The store to share through, if any.
    fn resolve(self) -> PyResult<Option<tripwire_store::RedisStore>> {
        match self {
            StoreChoice::Local => Ok(None),
            StoreChoice::Given(store) => Ok(Some(store)),
            StoreChoice::Default => {
                // One lazily made store per process; a fork child reuses it (the store
                // restarts its threads there).
                static ENV: OnceLock<Option<Result<tripwire_store::RedisStore, ConfigError>>> =
                    OnceLock::new();
                match ENV.get_or_init(|| {
                    tripwire_store::StoreOptions::from_env().map(|o| o.and_then(new_store))
                }) {
                    None => Ok(None),
                    Some(Ok(store)) => Ok(Some(store.clone())),
                    Some(Err(e)) => Err(config_error(e.clone())),
                }
            }
        }
    }
}

/// A shared breaker's events, delivered to the Python breaker through a weak reference
/// (the store's thread must not keep the breaker alive).
#[derive(Default)]
struct Events {
    target: OnceLock<Py<PyWeakrefReference>>,
    /// The breaker's quiet gate (not the breaker: the store must not keep it alive).
    gate: Arc<Gate>,
}

impl Events {
    fn with_breaker(&self, f: impl FnOnce(&Bound<'_, Breaker>) -> PyResult<()>) {
        let Some(target) = self.target.get() else {
            return;
        };
        from_store_thread(|py| {
            let Some(breaker) = target.bind(py).upgrade() else {
                return;
            };
            if let Ok(breaker) = breaker.cast::<Breaker>() {
                if let Err(e) = f(breaker) {
                    e.write_unraisable(py, Some(breaker.as_any()));
                }
            }
        });
    }

    fn store_event(&self, event: &'static str, error: Option<PyErr>) {
        self.with_breaker(|b| {
            let py = b.py();
            let error = error.map(|e| e.into_value(py));
            b.call_method1(intern!(py, "_hook_store_event"), (event, error))
                .map(drop)
        });
    }
}

impl BreakerEvents for Events {
    fn transition(&self, transition: Transition) {
        // The gate was closed by `changing`; opened again from the handle's answer.
        self.with_breaker(|b| {
            b.get().engine.publish();
            b.get().transitioned(b, transition, None)
        });
    }

    fn link(&self, event: LinkEvent) {
        self.with_breaker(|b| {
            b.get().engine.publish();
            Ok(())
        });
        // The names the facade's hook expects (and Node's event names).
        let name = match event {
            LinkEvent::StoreDown => "storeDown",
            LinkEvent::StoreUp => "storeUp",
        };
        self.store_event(name, None);
    }

    fn changing(&self) {
        self.gate.changing();
    }

    fn fleet_error(&self, error: &FleetError) {
        let message = error.message(Unit::Seconds);
        self.store_event("storeError", Some(PyValueError::new_err(message)));
    }
}

/// A shared breaker's quiet gate: whether calls may be admitted without asking the
/// store's handle (`BreakerHandle::quiet_until`, as Node's gates). Only an unbounded
/// horizon opens it: a bounded one (a rate rule) could end with a sync from the
/// background, and a quiet success must never be the one that trips.
///
/// One word: a version (bumped by the store's thread when it changes the breaker in the
/// background, under the breaker's lock: `BreakerEvents::changing`) times two, plus the
/// quiet bit. A publish stores its answer only if no background change came in between,
/// so a stale horizon never reopens the gate; admission is one load.
#[derive(Default)]
struct Gate {
    word: AtomicU64,
    /// Serialises publishes (a background change is the only other writer).
    publishing: Mutex<()>,
}

impl Gate {
    #[inline]
    fn quiet(&self) -> bool {
        self.word.load(Ordering::Acquire) & 1 == 1
    }

    /// Closes the gate and bumps the version (the store's thread, under the breaker's lock).
    fn changing(&self) {
        let _ = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| Some((w | 1) + 1));
    }

    fn publish(&self, handle: &BreakerHandle) {
        let _held = self
            .publishing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let seen = self.word.load(Ordering::Acquire);
        let quiet = handle.quiet_until().0 == u64::MAX;
        // Fails only if a background change came in between: it closed the gate, and its
        // `transition` or `link` event publishes again.
        let _ = self.word.compare_exchange(
            seen,
            (seen & !1) | u64::from(quiet),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

/// A call's leave: the core's permit, or a call a shared breaker admitted while quiet
/// (without locking anything; its permit is made when its outcome is recorded).
#[derive(Clone, Copy)]
pub(crate) enum Ticket {
    Permit(Permit),
    /// Started at `start` (the store's clock).
    Quiet {
        start: u64,
    },
}

impl Ticket {
    /// The transition the acquire caused (OPEN → HALF_OPEN), if any.
    pub(crate) fn transition(&self) -> Option<Transition> {
        match self {
            Ticket::Permit(p) => p.transition(),
            Ticket::Quiet { .. } => None,
        }
    }

    /// Whether it is a half-open trial.
    pub(crate) fn is_trial(&self) -> bool {
        matches!(self, Ticket::Permit(p) if p.is_trial())
    }
}

/// A breaker shared through a store.
pub(crate) struct Fleet {
    store: tripwire_store::RedisStore,
    /// The member of the fleet; read on the call path. `None` until the first use for
    /// a service's breaker (it joins with the options the service gives it right after
    /// it is made: joining with others would store another fingerprint). Replaced when
    /// the service reconfigures the breaker (a new member with the new rules).
    member: RwLock<Member>,
    options: FleetOptions,
    events: Arc<Events>,
    /// The longest success the quiet path records as one (`Config::quiet_limit`).
    quiet_limit: AtomicU64,
}

struct Member {
    config: Config,
    handle: Option<BreakerHandle>,
}

impl Fleet {
    fn join(&self, member: &mut Member) -> Result<BreakerHandle, ConfigError> {
        let handle = self.store.register(
            member.config,
            self.options.clone(),
            Some(self.events.clone()),
        )?;
        member.handle = Some(handle.clone());
        self.quiet_limit
            .store(member.config.quiet_limit(), Ordering::Relaxed);
        self.events.gate.publish(&handle);
        Ok(handle)
    }

    /// Records a call admitted while quiet: a success within the quiet limit as one
    /// (it cannot change the state), anything else with its permit made now, in the
    /// engine's generation (a sync adopting the fleet's state moves it without a
    /// transition), as Node's quiet path does.
    fn record_quiet(&self, h: &BreakerHandle, start: u64, outcome: Outcome) -> Option<Transition> {
        let end = h.now();
        if outcome == Outcome::Success
            && end.saturating_sub(start) <= self.quiet_limit.load(Ordering::Relaxed)
        {
            return h.record_quiet_successes(start, end, 1);
        }
        h.record(h.quiet_permit(h.quiet_until().1, start), outcome)
    }

    #[inline]
    fn with<R>(&self, f: impl FnOnce(&BreakerHandle) -> R) -> R {
        {
            let member = self.member.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(handle) = &member.handle {
                return f(handle);
            }
        }
        let handle = {
            let mut member = self.member.write().unwrap_or_else(PoisonError::into_inner);
            match &member.handle {
                Some(handle) => handle.clone(),
                // A service's breaker used before its service configured it (not done
                // by the service itself): it joins with the options checked when made.
                None => self
                    .join(&mut member)
                    .expect("options checked by Engine::new"),
            }
        };
        f(&handle)
    }
}

/// The engine behind a `Breaker`: the process's own, or shared with the fleet.
pub(crate) enum Engine {
    Local(SyncBreaker<AnyClock>),
    Shared(Fleet),
}

/// What asking leave answers.
pub(crate) enum Admitted {
    Permit(Ticket),
    Rejected(Rejected),
    /// Half-open in a shared breaker: the fleet-wide trial lease to wait for.
    Lease(Lease),
}

/// A manual operation.
#[derive(Clone, Copy)]
pub(crate) enum Manual {
    ForceOpen,
    Close,
    Reset,
    Disable,
    Enable,
    /// Opens as if tripped (a timed open, fleet-wide on a shared breaker).
    Trip,
    /// Forced half-open (fleet-wide on a shared breaker).
    HalfOpen,
}

impl Engine {
    /// The engine for `config`: shared when `store` says so (not with a `ManualClock`:
    /// a shared breaker runs on the store's clock). It joins the fleet at once, or at
    /// its first use with `join_later` (a service's breaker, configured right after).
    pub(crate) fn new(
        name: &str,
        config: Arc<Config>,
        clock: AnyClock,
        store: StoreChoice,
        join_later: bool,
    ) -> PyResult<Engine> {
        let manual = matches!(clock, AnyClock::Manual(_));
        if manual && matches!(store, StoreChoice::Given(_)) {
            return Err(PyValueError::new_err(
                "invalid option `clock`: a breaker with a store runs on the store's clock, not a ManualClock",
            ));
        }
        let store = if manual { None } else { store.resolve()? };
        let Some(store) = store else {
            let breaker =
                CoreBreaker::with_shared_config_at(config, clock.now()).map_err(config_error)?;
            return Ok(Engine::Local(SyncBreaker::from_breaker(breaker, clock)));
        };
        let fleet = Fleet {
            store,
            member: RwLock::new(Member {
                config: *config,
                handle: None,
            }),
            options: FleetOptions::new(name),
            events: Arc::new(Events::default()),
            quiet_limit: AtomicU64::new(0),
        };
        if join_later {
            // Checked without joining (no I/O): the service's `reconfigure` joins.
            FleetBreaker::new(*config, fleet.options.clone()).map_err(config_error)?;
        } else {
            let mut member = fleet.member.write().unwrap_or_else(PoisonError::into_inner);
            fleet.join(&mut member).map_err(config_error)?;
        }
        Ok(Engine::Shared(fleet))
    }

    /// Lets the store's events reach `breaker` (held weakly).
    pub(crate) fn bind(&self, breaker: &Bound<'_, Breaker>) -> PyResult<()> {
        if let Engine::Shared(fleet) = self {
            let weak = PyWeakrefReference::new(breaker)?;
            let _ = fleet.events.target.set(weak.unbind());
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn try_acquire(&self) -> Admitted {
        match self {
            Engine::Local(core) => match core.try_acquire() {
                Ok(permit) => Admitted::Permit(Ticket::Permit(permit)),
                Err(rejected) => Admitted::Rejected(rejected),
            },
            Engine::Shared(fleet) if fleet.events.gate.quiet() => Admitted::Permit(Ticket::Quiet {
                start: fleet.store.now(),
            }),
            Engine::Shared(fleet) => match fleet.with(BreakerHandle::try_acquire) {
                Admit::Permit(permit) => {
                    if permit.transition().is_some() {
                        self.publish();
                    }
                    Admitted::Permit(Ticket::Permit(permit))
                }
                Admit::Rejected(rejected) => Admitted::Rejected(rejected),
                Admit::Lease(lease) => Admitted::Lease(lease),
            },
        }
    }

    /// A call made inside a half-open trial by the same caller: admitted without a
    /// trial slot (see the core's `try_acquire_nested`). A shared breaker's trial is
    /// the fleet's lease: refused instead.
    pub(crate) fn try_acquire_nested(&self, rejected: Rejected) -> Result<Ticket, Rejected> {
        match self {
            Engine::Local(core) => core
                .with(|b, now| b.try_acquire_nested(now))
                .map(Ticket::Permit),
            Engine::Shared(_) => Err(rejected),
        }
    }

    /// A trial's slot handed back before its outcome is known (see the core's
    /// `release_slot`); a shared breaker's is kept.
    pub(crate) fn release_slot(&self, ticket: Ticket) -> Ticket {
        match (self, ticket) {
            (Engine::Local(core), Ticket::Permit(permit)) => {
                Ticket::Permit(core.with(|b, _| b.release_slot(permit)))
            }
            _ => ticket,
        }
    }

    #[inline]
    pub(crate) fn record(&self, ticket: Ticket, outcome: Outcome) -> Option<Transition> {
        match (self, ticket) {
            (Engine::Local(core), Ticket::Permit(permit)) => core.record(permit, outcome),
            // Never made: local engines hand out permits only.
            (Engine::Local(_), Ticket::Quiet { .. }) => None,
            (Engine::Shared(fleet), ticket) => {
                let transition = fleet.with(|h| match ticket {
                    Ticket::Permit(permit) => h.record(permit, outcome),
                    Ticket::Quiet { start } => fleet.record_quiet(h, start, outcome),
                });
                if transition.is_some() {
                    self.publish();
                }
                transition
            }
        }
    }

    /// Reads a shared breaker's quiet horizon again (after anything that may have
    /// changed it: a transition, a join, a change of link).
    pub(crate) fn publish(&self) {
        if let Engine::Shared(fleet) = self {
            fleet.with(|h| fleet.events.gate.publish(h));
        }
    }

    pub(crate) fn state(&self) -> State {
        match self {
            Engine::Local(core) => core.state(),
            Engine::Shared(fleet) => fleet.with(BreakerHandle::state),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        match self {
            Engine::Local(core) => core.stats(),
            Engine::Shared(fleet) => fleet.with(BreakerHandle::stats),
        }
    }

    pub(crate) fn config(&self) -> Config {
        match self {
            Engine::Local(core) => core.with(|b, _| *b.config()),
            // Not a use: a service's breaker has not joined before its service configures it.
            Engine::Shared(fleet) => {
                fleet
                    .member
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .config
            }
        }
    }

    pub(crate) fn manual(&self, op: Manual) -> Transition {
        let transition = match self {
            Engine::Local(core) => core.with(|b, now| match op {
                Manual::ForceOpen => b.force_open(now),
                Manual::Close => b.close(now),
                Manual::Reset => b.reset(now),
                Manual::Disable => b.disable(now),
                Manual::Enable => b.enable(now),
                Manual::Trip => b.trip(now),
                Manual::HalfOpen => b.half_open(now),
            }),
            Engine::Shared(fleet) => match op {
                Manual::ForceOpen => fleet.with(BreakerHandle::force_open),
                Manual::Close => fleet.with(BreakerHandle::close),
                Manual::Reset => fleet.with(BreakerHandle::reset),
                Manual::Disable => fleet.with(BreakerHandle::disable),
                Manual::Enable => fleet.with(BreakerHandle::enable),
                Manual::Trip => fleet.with(BreakerHandle::trip),
                Manual::HalfOpen => fleet.with(BreakerHandle::half_open),
            },
        };
        self.publish();
        transition
    }

    /// `f` on the local engine at its clock's now; None for a shared breaker (what
    /// only a process's own engine keeps: windowed statistics, the half-open timer).
    pub(crate) fn local_with<R>(&self, f: impl FnOnce(&mut CoreBreaker, u64) -> R) -> Option<R> {
        match self {
            Engine::Local(core) => Some(core.with(f)),
            Engine::Shared(_) => None,
        }
    }

    /// Counts a fallback run (windowed statistics: local breakers only).
    pub(crate) fn record_fallback(&self) {
        self.local_with(|b, now| b.record_fallback(now));
    }

    /// An instant of this engine's clock as Python reports it (epoch seconds, or a
    /// `ManualClock`'s reading).
    pub(crate) fn seconds(&self, at: u64) -> f64 {
        match self {
            Engine::Local(core) => core.clock().seconds(at),
            Engine::Shared(fleet) => {
                let wall = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                wall - seconds(fleet.store.now().saturating_sub(at))
                    + seconds(at.saturating_sub(fleet.store.now()))
            }
        }
    }

    /// The stats fields of the link: `mode` (`"shared"` | `"local"`), `last_sync_age`
    /// (seconds since the store's last reply, or None) and the fleet's totals at it.
    pub(crate) fn link_fields(&self, fields: &Bound<'_, PyDict>) -> PyResult<()> {
        let Engine::Shared(fleet) = self else {
            return fields.set_item("mode", "local");
        };
        let view = fleet.with(BreakerHandle::fleet_view);
        let mode = match view.link {
            Link::Shared => "shared",
            Link::Local => "local",
        };
        fields.set_item("mode", mode)?;
        fields.set_item("last_sync_age", view.last_sync_age.map(|d| d.as_secs_f64()))?;
        if view.joined {
            let t = view.fleet_totals;
            fields.set_item("fleet_success_count", t.successes)?;
            fields.set_item("fleet_failure_count", t.failures)?;
            fields.set_item("fleet_rejected_count", t.rejected)?;
        }
        Ok(())
    }

    /// What metrics show: stats at `now` (the local clock's reading; a shared breaker
    /// reads the store's clock), this process's lifetime counters and durations.
    pub(crate) fn sample(&self, now: Option<u64>) -> (Stats, Lifetime, Durations) {
        match self {
            Engine::Local(core) => {
                core.with(|b, own| (b.stats(now.unwrap_or(own)), b.lifetime(), b.durations()))
            }
            Engine::Shared(fleet) => fleet.with(|h| {
                let (lifetime, durations) = h.with_engine(|b| (b.lifetime(), b.durations()));
                (h.stats(), lifetime, durations)
            }),
        }
    }

    /// The service engine's question: state and window at `now`.
    pub(crate) fn facts(&self, now: u64) -> tripwire_core::resilience::Facts {
        match self {
            Engine::Local(core) => {
                core.with(|b, _| tripwire_core::resilience::Circuit::facts(&*b, now))
            }
            Engine::Shared(_) => {
                let s = self.stats();
                tripwire_core::resilience::Facts {
                    state: s.state,
                    forced_open: s.forced_open,
                    window_calls: s.window_calls,
                    window_failures: s.window_failures,
                }
            }
        }
    }

    /// Runs on `config` from now on. A shared breaker joins the fleet again with it
    /// (and adopts the fleet's state).
    pub(crate) fn reconfigure(&self, config: Arc<Config>) -> Result<(), ConfigError> {
        match self {
            Engine::Local(core) => core.with(|b, _| b.reconfigure(config)),
            Engine::Shared(fleet) => {
                let mut member = fleet.member.write().unwrap_or_else(PoisonError::into_inner);
                member.config = *config;
                fleet.join(&mut member).map(drop)
            }
        }
    }

    /// The local engine, for what only a process's own state supports (snapshots).
    pub(crate) fn local(&self, what: &str) -> PyResult<&SyncBreaker<AnyClock>> {
        match self {
            Engine::Local(core) => Ok(core),
            Engine::Shared(_) => Err(PyValueError::new_err(format!(
                "{what}() works on local breakers only: a shared breaker's state is the fleet's (in its store)"
            ))),
        }
    }
}

/// A fleet-wide trial lease's answer, handed from the store's thread to the event
/// loop's (`loop.call_soon_threadsafe(answer, future)`).
#[pyclass(frozen, module = "tripwire._core")]
pub(crate) struct LeaseAnswer {
    breaker: Py<Breaker>,
    answer: std::sync::Mutex<Option<Result<Permit, Rejected>>>,
}

impl LeaseAnswer {
    /// Sends `lease` and resolves a new future of the running loop with its permit or
    /// refusal (as `_try_acquire` returns them).
    pub(crate) fn future<'py>(
        breaker: &Bound<'py, Breaker>,
        lease: Lease,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = breaker.py();
        let event_loop = py
            .import(intern!(py, "asyncio"))?
            .call_method0(intern!(py, "get_running_loop"))?;
        let future = event_loop.call_method0(intern!(py, "create_future"))?;
        let (target, settle) = (breaker.clone().unbind(), future.clone().unbind());
        let event_loop = event_loop.unbind();
        lease.send(move |answer| {
            from_store_thread(|py| {
                // On any error the answer is dropped undelivered, and its drop hands a
                // granted trial back.
                let answer = LeaseAnswer {
                    breaker: target,
                    answer: std::sync::Mutex::new(Some(answer)),
                };
                let _ = Py::new(py, answer).and_then(|a| {
                    event_loop
                        .bind(py)
                        .call_method1(intern!(py, "call_soon_threadsafe"), (a, settle))
                });
            });
        });
        Ok(future)
    }
}

#[pymethods]
impl LeaseAnswer {
    fn __call__(&self, py: Python<'_>, future: &Bound<'_, PyAny>) -> PyResult<()> {
        let Some(answer) = self
            .answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Ok(());
        };
        let breaker = self.breaker.bind(py);
        if future.call_method0(intern!(py, "done"))?.is_truthy()? {
            // The waiting task was cancelled: a granted trial is handed back.
            if let Ok(permit) = answer {
                breaker
                    .get()
                    .engine
                    .record(Ticket::Permit(permit), Outcome::Cancelled);
            }
            return Ok(());
        }
        let value = Breaker::admitted(breaker, answer.map(Ticket::Permit))?;
        future.call_method1(intern!(py, "set_result"), (value,))?;
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.breaker)
    }
}

impl Drop for LeaseAnswer {
    fn drop(&mut self) {
        // Never delivered (the loop closed first): a granted trial is handed back.
        if let Some(Ok(permit)) = self
            .answer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            self.breaker
                .get()
                .engine
                .record(Ticket::Permit(permit), Outcome::Cancelled);
        }
    }
}
