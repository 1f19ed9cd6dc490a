//! The resilience rules one at a time (`tripwire_core::resilience`): retry schedules
//! and error classification, bulkhead accounting, a bounded dead-letter queue, health
//! aggregation, alert conditions and episodes, presets, and `error_info` (an
//! exception's code and status). `tripwire/health.py` and the resilience vectors use
//! them; the service itself runs on the whole engine (`service.rs`, `_core.Service`).
//! Conversion and error mapping only: every rule is the core's.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::{PyTimeoutError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString};
use pyo3::{intern, PyTraverseError, PyVisit};
use tripwire_core::resilience::{
    self as core, unknown_bulkhead_option, unknown_retry_option, Bulkhead as CoreBulkhead,
    BulkheadConfig, Classifier, Entry, Health, RetryPolicy as CorePolicy, Ticket,
};
use tripwire_core::{Clock, Rng, State, Unit};

use crate::clock::{seconds, AnyClock, ManualClock};
use crate::options::{config_error, set_option, type_name};

/// `try_enter()`'s answer for "run now".
const RUN: i64 = -1;
/// `try_enter()`'s answer for "refused".
const REJECTED: i64 = -2;
/// `try_enter()`'s answer for "run now; every slot is taken now".
const RUN_SATURATED: i64 = -3;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn clock_of(clock: Option<&Bound<'_, PyAny>>) -> PyResult<AnyClock> {
    match clock.filter(|c| !c.is_none()) {
        None => Ok(AnyClock::Monotonic),
        Some(c) => {
            let manual = c.cast::<ManualClock>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "invalid option `clock`: must be a ManualClock or None, not {}",
                    type_name(c)
                ))
            })?;
            Ok(AnyClock::Manual(manual.get().inner.clone()))
        }
    }
}

/// A list of error codes: an iterable of `str` (a lone `str` is refused, not split).
pub(crate) fn strings(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if value.is_none() {
        return Ok(Vec::new());
    }
    let bad = || {
        PyTypeError::new_err(format!(
            "invalid option `{name}`: must be an iterable of str error codes"
        ))
    };
    if value.is_instance_of::<PyString>() {
        return Err(bad());
    }
    value
        .try_iter()
        .map_err(|_| bad())?
        .map(|item| item.and_then(|i| i.extract::<String>().map_err(|_| bad())))
        .collect()
}

pub(crate) fn random_seed() -> u64 {
    RandomState::new().hash_one(std::time::SystemTime::now())
}

// ---- retry ----------------------------------------------------------------------

/// A retry policy (the backoff schedule) and its error classification.
#[pyclass(frozen, module = "tripwire._core")]
pub struct RetryPolicy {
    policy: CorePolicy,
    classifier: Classifier,
    rng: Mutex<Rng>,
    seed: Option<u64>,
}

#[pymethods]
impl RetryPolicy {
    /// `max_attempts` (first attempt included), `base_delay` / `max_delay` (seconds),
    /// `multiplier`, `jitter` (0..1), `retryable_errors`, `non_retryable_errors`
    /// (codes), `seed` (reproducible jitter); camelCase spellings are accepted too.
    #[new]
    #[pyo3(signature = (**options))]
    fn new(options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut policy = CorePolicy::default();
        let mut classifier = Classifier::default();
        let mut seed = None;
        if let Some(options) = options {
            for (key, value) in options.iter() {
                let key = key.cast_into::<PyString>()?;
                let name = key.to_cow()?;
                let name: &str = &name;
                match name {
                    "retryable_errors" | "retryableErrors" => {
                        classifier.retryable = strings(name, &value)?;
                    }
                    "non_retryable_errors" | "nonRetryableErrors" => {
                        classifier.non_retryable = strings(name, &value)?;
                    }
                    "seed" => {
                        if !value.is_none() {
                            seed = Some(value.extract::<u64>().map_err(|_| {
                                PyValueError::new_err(
                                    "invalid option `seed`: must be a whole number ≥ 0 below 2^64",
                                )
                            })?);
                        }
                    }
                    _ => {
                        if !set_option(name, &value, |n, v| policy.set(n, v, Unit::Seconds))? {
                            return Err(config_error(unknown_retry_option(name)));
                        }
                    }
                }
            }
        }
        policy.validate().map_err(config_error)?;
        Ok(RetryPolicy {
            policy,
            classifier,
            rng: Mutex::new(Rng::new(seed.unwrap_or_else(random_seed))),
            seed,
        })
    }

    /// Attempts in all, the first included.
    #[getter]
    fn max_attempts(&self) -> u32 {
        self.policy.max_attempts
    }

    /// Delay before the second attempt, in seconds.
    #[getter]
    fn base_delay(&self) -> f64 {
        seconds(self.policy.base_delay)
    }

    /// Cap on any delay, in seconds.
    #[getter]
    fn max_delay(&self) -> f64 {
        seconds(self.policy.max_delay)
    }

    /// Growth per attempt.
    #[getter]
    fn multiplier(&self) -> f64 {
        self.policy.multiplier
    }

    /// Random extra of up to this fraction of each delay.
    #[getter]
    fn jitter(&self) -> f64 {
        self.policy.jitter
    }

    /// Codes retried in addition to the defaults.
    #[getter]
    fn retryable_errors(&self) -> Vec<String> {
        self.classifier.retryable.clone()
    }

    /// Codes never retried (overriding every other list).
    #[getter]
    fn non_retryable_errors(&self) -> Vec<String> {
        self.classifier.non_retryable.clone()
    }

    /// The jitter seed, if one was given.
    #[getter]
    fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The options as a dict (snake_case keys, seconds), to merge and rebuild.
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("max_attempts", self.policy.max_attempts)?;
        d.set_item("base_delay", seconds(self.policy.base_delay))?;
        d.set_item("max_delay", seconds(self.policy.max_delay))?;
        d.set_item("multiplier", self.policy.multiplier)?;
        d.set_item("jitter", self.policy.jitter)?;
        d.set_item("retryable_errors", self.classifier.retryable.clone())?;
        d.set_item(
            "non_retryable_errors",
            self.classifier.non_retryable.clone(),
        )?;
        d.set_item("seed", self.seed)?;
        Ok(d)
    }

    /// Seconds to wait after attempt `attempt` (1-based) failed, with `unit` in [0, 1)
    /// as the jitter's uniform draw.
    fn delay(&self, attempt: u32, unit: f64) -> PyResult<f64> {
        if !(0.0..1.0).contains(&unit) {
            return Err(PyValueError::new_err("`unit` must be in [0, 1)"));
        }
        Ok(seconds(self.policy.delay(attempt.max(1), unit)))
    }

    /// Seconds to wait after attempt `attempt` failed, jitter drawn from the policy's
    /// stream (seeded by `seed`, else random).
    fn next_delay(&self, attempt: u32) -> f64 {
        let unit = if self.policy.jitter == 0.0 {
            0.0
        } else {
            lock(&self.rng).next_unit()
        };
        seconds(self.policy.delay(attempt.max(1), unit))
    }

    /// Whether an error with this code and HTTP status is worth another attempt.
    #[pyo3(signature = (code, status, circuit_open = false))]
    fn should_retry(&self, code: Option<&str>, status: Option<u16>, circuit_open: bool) -> bool {
        self.classifier.should_retry(code, status, circuit_open)
    }

    /// Whether the exception `exc` is worth another attempt: its code and status are
    /// read as `error_info` reads them.
    #[pyo3(signature = (exc, circuit_open = false))]
    fn retries(&self, exc: &Bound<'_, PyAny>, circuit_open: bool) -> PyResult<bool> {
        if circuit_open {
            return Ok(false);
        }
        let (code, status) = info(exc)?;
        Ok(self
            .classifier
            .should_retry(code.as_deref(), status, circuit_open))
    }

    fn __repr__(&self) -> String {
        format!(
            "RetryPolicy(max_attempts={}, base_delay={}, max_delay={}, multiplier={}, jitter={})",
            self.policy.max_attempts,
            seconds(self.policy.base_delay),
            seconds(self.policy.max_delay),
            self.policy.multiplier,
            self.policy.jitter
        )
    }
}

fn int_attr(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> Option<i64> {
    let value = obj.getattr(name).ok()?;
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return None;
    }
    value.extract::<i64>().ok()
}

fn str_attr(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> Option<String> {
    let value = obj.getattr(name).ok()?;
    value
        .cast::<PyString>()
        .ok()?
        .to_cow()
        .ok()
        .map(String::from)
}

fn http_status(n: i64) -> Option<u16> {
    (100..=599).contains(&n).then_some(n as u16)
}

/// The code and HTTP status of an exception, as the classifier reads them.
fn info(exc: &Bound<'_, PyAny>) -> PyResult<(Option<String>, Option<u16>)> {
    info_of(exc, true)
}

/// `info`, following `reason` (one level) when `nested` is allowed.
fn info_of(exc: &Bound<'_, PyAny>, nested: bool) -> PyResult<(Option<String>, Option<u16>)> {
    let py = exc.py();
    static ERRNO_NAMES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let mut status = None;
    // `code`: a str code (`ECONNRESET`, `SQLITE_BUSY`...), or an HTTP status (urllib).
    let mut code = match exc.getattr(intern!(py, "code")) {
        Ok(v) if v.is_instance_of::<PyString>() => Some(v.extract::<String>()?),
        Ok(v) if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() => {
            status = v.extract::<i64>().ok().and_then(http_status);
            None
        }
        _ => None,
    };
    if code.is_none() {
        if let Some(n) = int_attr(exc, intern!(py, "errno")) {
            let names = ERRNO_NAMES.get_or_try_init(py, || -> PyResult<_> {
                Ok(py.import("errno")?.getattr("errorcode")?.unbind())
            })?;
            code = names
                .bind(py)
                .get_item(n)
                .ok()
                .and_then(|name| name.extract::<String>().ok());
        }
    }
    if code.is_none() {
        // sqlite3 errors (Python ≥ 3.11): the primary code of an extended name,
        // `SQLITE_CONSTRAINT_UNIQUE` → `SQLITE_CONSTRAINT`.
        if let Some(name) = str_attr(exc, intern!(py, "sqlite_errorname")) {
            let primary = match name.match_indices('_').nth(1) {
                Some((i, _)) => name[..i].to_string(),
                None => name,
            };
            code = Some(primary);
        }
    }
    if code.is_none() && nested {
        // urllib's URLError carries the socket error as its `reason`.
        if let Ok(reason) = exc.getattr(intern!(py, "reason")) {
            if reason.is_instance_of::<pyo3::exceptions::PyBaseException>() && !reason.is(exc) {
                let (inner, _) = info_of(&reason, false)?;
                code = inner;
            }
        }
    }
    if code.is_none() {
        // Errors raised without an errno: the kind is the code.
        code = if exc.is_instance_of::<pyo3::exceptions::PyConnectionResetError>() {
            Some("ECONNRESET".into())
        } else if exc.is_instance_of::<pyo3::exceptions::PyConnectionRefusedError>() {
            Some("ECONNREFUSED".into())
        } else if exc.is_instance_of::<PyTimeoutError>() {
            Some("TIMEOUT".into())
        } else {
            None
        };
    }
    if status.is_none() {
        for name in [intern!(py, "status"), intern!(py, "status_code")] {
            status = int_attr(exc, name).and_then(http_status);
            if status.is_some() {
                break;
            }
        }
    }
    if status.is_none() {
        if let Ok(response) = exc.getattr(intern!(py, "response")) {
            if !response.is_none() {
                for name in [intern!(py, "status"), intern!(py, "status_code")] {
                    status = int_attr(&response, name).and_then(http_status);
                    if status.is_some() {
                        break;
                    }
                }
            }
        }
    }
    Ok((code, status))
}

/// `(code, status)` of an exception as the retry classifier reads them: `exc.code`
/// (a str; an int is an HTTP status), the name of `exc.errno`, sqlite3's
/// `sqlite_errorname` (its primary code), the code of an exception in `exc.reason`
/// (urllib's URLError), else ECONNRESET / ECONNREFUSED / TIMEOUT for those exception kinds; the status from `exc.status`, `exc.status_code` or
/// `exc.response.status` / `.status_code`.
#[pyfunction]
pub(crate) fn error_info(exc: &Bound<'_, PyAny>) -> PyResult<(Option<String>, Option<u16>)> {
    info(exc)
}

// ---- bulkhead ---------------------------------------------------------------------

/// Bulkhead accounting: at most `max_concurrent` running, up to `queue_size` waiting
/// (FIFO), the rest refused. The caller does the waiting: `try_enter()` answers
/// `RUN` (-1), `RUN_SATURATED` (-3: run, and every slot is taken now), `REJECTED` (-2)
/// or a ticket (≥ 0) that a later `leave()` admits.
#[pyclass(frozen, module = "tripwire._core")]
pub struct Bulkhead {
    inner: Mutex<CoreBulkhead>,
    clock: AnyClock,
}

fn bulkhead_config(
    mut config: BulkheadConfig,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<BulkheadConfig> {
    if let Some(options) = options {
        for (key, value) in options.iter() {
            let key = key.cast_into::<PyString>()?;
            let name = key.to_cow()?;
            let name: &str = &name;
            if matches!(name, "max_queue_wait" | "maxQueueWait") && value.is_none() {
                config.max_queue_wait = None;
                continue;
            }
            if !set_option(name, &value, |n, v| config.set(n, v, Unit::Seconds))? {
                return Err(config_error(unknown_bulkhead_option(name)));
            }
        }
    }
    config.validate().map_err(config_error)?;
    Ok(config)
}

fn tickets(list: Vec<Ticket>) -> Vec<u64> {
    list.into_iter().map(|t| t.0).collect()
}

#[pymethods]
impl Bulkhead {
    #[classattr]
    const RUN: i64 = RUN;
    #[classattr]
    const REJECTED: i64 = REJECTED;
    #[classattr]
    const RUN_SATURATED: i64 = RUN_SATURATED;

    /// `max_concurrent` (default 10), `queue_size` (100), `max_queue_wait` (seconds,
    /// None = no limit); `clock` a ManualClock for tests.
    #[new]
    #[pyo3(signature = (*, clock = None, **options))]
    fn new(
        clock: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let config = bulkhead_config(
            BulkheadConfig {
                max_queue_wait: None,
                ..BulkheadConfig::default()
            },
            options,
        )?;
        Ok(Bulkhead {
            inner: Mutex::new(CoreBulkhead::new(config).map_err(config_error)?),
            clock: clock_of(clock)?,
        })
    }

    /// Asks to run a call now: `RUN`, `RUN_SATURATED`, `REJECTED`, or a ticket to wait with.
    fn try_enter(&self) -> i64 {
        let now = self.clock.now();
        let mut inner = lock(&self.inner);
        match inner.try_enter(now) {
            Entry::Run if inner.stats().saturated => RUN_SATURATED,
            Entry::Run => RUN,
            Entry::Rejected => REJECTED,
            Entry::Queued(Ticket(t)) => t as i64,
        }
    }

    /// A running call ended; returns the ticket that takes its slot, or None.
    fn leave(&self) -> Option<u64> {
        let now = self.clock.now();
        lock(&self.inner).leave(now).map(|t| t.0)
    }

    /// A waiting call gives up; True if it was still waiting (then counted as rejected).
    fn abandon(&self, ticket: u64) -> bool {
        lock(&self.inner).abandon(Ticket(ticket))
    }

    /// The waiting calls whose wait exceeds `max_queue_wait` now, removed and counted
    /// as rejected, oldest first.
    fn expire(&self) -> Vec<u64> {
        let now = self.clock.now();
        tickets(lock(&self.inner).expire(now))
    }

    /// Changes the limits (the given ones; the rest are kept); returns the tickets a
    /// larger limit admits now.
    #[pyo3(signature = (**options))]
    fn set_config(&self, options: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<u64>> {
        let now = self.clock.now();
        let mut inner = lock(&self.inner);
        let config = bulkhead_config(inner.config(), options)?;
        Ok(tickets(
            inner.set_config(config, now).map_err(config_error)?,
        ))
    }

    /// Every slot is taken.
    #[getter]
    fn saturated(&self) -> bool {
        lock(&self.inner).stats().saturated
    }

    /// The limits: `max_concurrent`, `queue_size`, `max_queue_wait` (seconds or None).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = lock(&self.inner).config();
        let d = PyDict::new(py);
        d.set_item("max_concurrent", c.max_concurrent)?;
        d.set_item("queue_size", c.queue_size)?;
        d.set_item("max_queue_wait", c.max_queue_wait.map(seconds))?;
        Ok(d)
    }

    /// `running`, `queued`, `rejected`, `admitted`, `peak_running`, `mean_wait`,
    /// `max_wait` (seconds), `saturated`, `max_concurrent`, `queue_size`.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (s, c) = {
            let inner = lock(&self.inner);
            (inner.stats(), inner.config())
        };
        let d = PyDict::new(py);
        d.set_item("running", s.running)?;
        d.set_item("queued", s.queued)?;
        d.set_item("rejected", s.rejected)?;
        d.set_item("admitted", s.admitted)?;
        d.set_item("peak_running", s.peak_running)?;
        d.set_item("mean_wait", s.mean_wait / 1e9)?;
        d.set_item("max_wait", seconds(s.max_wait))?;
        d.set_item("saturated", s.saturated)?;
        d.set_item("max_concurrent", c.max_concurrent)?;
        d.set_item("queue_size", c.queue_size)?;
        Ok(d)
    }
}

// ---- dead-letter queue --------------------------------------------------------------

/// A bounded queue of failed operations under unique ids (from 1): when full, the
/// oldest item is dropped and counted.
#[pyclass(frozen, module = "tripwire._core")]
pub struct DeadLetterQueue {
    inner: Mutex<core::DeadLetterQueue<Py<PyAny>>>,
}

#[pymethods]
impl DeadLetterQueue {
    #[new]
    #[pyo3(signature = (capacity = 100))]
    fn new(capacity: usize) -> PyResult<Self> {
        if capacity == 0 {
            return Err(PyValueError::new_err(
                "invalid option `capacity`: must be at least 1",
            ));
        }
        Ok(DeadLetterQueue {
            inner: Mutex::new(core::DeadLetterQueue::new(capacity)),
        })
    }

    /// Adds `item`; returns its id and the `(id, item)` dropped to make room, or None.
    #[allow(clippy::type_complexity)]
    fn push(&self, item: Py<PyAny>) -> (u64, Option<(u64, Py<PyAny>)>) {
        lock(&self.inner).push(item)
    }

    /// The item with this id, or None.
    fn get(&self, py: Python<'_>, id: u64) -> Option<Py<PyAny>> {
        lock(&self.inner).get(id).map(|i| i.clone_ref(py))
    }

    /// Removes and returns the item with this id, or None.
    fn remove(&self, id: u64) -> Option<Py<PyAny>> {
        lock(&self.inner).remove(id)
    }

    /// `(id, item)` pairs, oldest first.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let pairs: Vec<(u64, Py<PyAny>)> = lock(&self.inner)
            .iter()
            .map(|(id, item)| (id, item.clone_ref(py)))
            .collect();
        PyList::new(py, pairs)
    }

    /// Items dropped to make room, since construction.
    #[getter]
    fn dropped(&self) -> u64 {
        lock(&self.inner).dropped()
    }

    /// Removes every item (the dropped count stays).
    fn clear(&self) {
        let old: Vec<Py<PyAny>> = {
            let mut inner = lock(&self.inner);
            let ids: Vec<u64> = inner.iter().map(|(id, _)| id).collect();
            ids.into_iter().filter_map(|id| inner.remove(id)).collect()
        };
        drop(old);
    }

    /// Changes the capacity; the oldest items beyond it are dropped and counted.
    fn set_capacity(&self, capacity: usize) -> PyResult<()> {
        if capacity == 0 {
            return Err(PyValueError::new_err(
                "invalid option `capacity`: must be at least 1",
            ));
        }
        lock(&self.inner).set_capacity(capacity);
        Ok(())
    }

    fn __len__(&self) -> usize {
        lock(&self.inner).len()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(inner) = self.inner.try_lock() {
            for (_, item) in inner.iter() {
                visit.call(item)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        self.clear();
    }
}

// ---- alerts, health, presets ----------------------------------------------------------

/// Alert episodes: `observe(key, active)` is True when an episode starts (fire the
/// alert), False while it continues or after it ended.
#[pyclass(frozen, module = "tripwire._core")]
pub struct Episodes {
    inner: Mutex<core::Episodes>,
}

#[pymethods]
impl Episodes {
    #[new]
    fn new() -> Self {
        Episodes {
            inner: Mutex::new(core::Episodes::new()),
        }
    }

    /// Reports whether `key`'s condition holds now; True when its episode starts.
    fn observe(&self, key: &str, active: bool) -> bool {
        lock(&self.inner).observe(key, active)
    }

    /// Whether `key`'s episode is going on.
    fn is_active(&self, key: &str) -> bool {
        lock(&self.inner).is_active(key)
    }

    /// Ends every episode.
    fn clear(&self) {
        lock(&self.inner).clear();
    }
}

fn health_str(h: Health) -> &'static str {
    h.as_str()
}

fn parse_health(value: &str) -> PyResult<Health> {
    match value {
        "healthy" => Ok(Health::Healthy),
        "degraded" => Ok(Health::Degraded),
        "unhealthy" => Ok(Health::Unhealthy),
        other => Err(PyValueError::new_err(format!(
            "not a health status: {other:?} (healthy, degraded or unhealthy)"
        ))),
    }
}

fn parse_state(value: &Bound<'_, PyAny>) -> PyResult<State> {
    // CircuitState is a str enum: its value is the name.
    let text: String = if value.is_instance_of::<PyString>() {
        value.str()?.extract()?
    } else {
        value.getattr(intern!(value.py(), "value"))?.extract()?
    };
    match text.as_str() {
        "CLOSED" => Ok(State::Closed),
        "OPEN" => Ok(State::Open),
        "HALF_OPEN" => Ok(State::HalfOpen),
        other => Err(PyValueError::new_err(format!(
            "not a circuit state: {other:?}"
        ))),
    }
}

/// A health report's status from its checks, each `(critical, passed)`: any critical
/// failing → "unhealthy"; only non-critical failing → "degraded"; else "healthy".
#[pyfunction]
pub(crate) fn check_health(checks: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    let pairs: Vec<(bool, bool)> = checks
        .try_iter()?
        .map(|c| c.and_then(|c| c.extract::<(bool, bool)>()))
        .collect::<PyResult<_>>()?;
    Ok(health_str(core::check_health(pairs)))
}

/// A service's status from its breakers' states and its bulkhead: "unhealthy" when it
/// has breakers and all are open; "degraded" when any is open or half-open or the
/// bulkhead is saturated; else "healthy".
#[pyfunction]
pub(crate) fn service_health(
    states: &Bound<'_, PyAny>,
    bulkhead_saturated: bool,
) -> PyResult<&'static str> {
    let states: Vec<State> = states
        .try_iter()?
        .map(|s| s.and_then(|s| parse_state(&s)))
        .collect::<PyResult<_>>()?;
    Ok(health_str(core::service_health(states, bulkhead_saturated)))
}

/// Whether a breaker's window (`window_calls` calls, `window_failures` of them failed or
/// slow) is a high error rate: at least `ERROR_RATE_ALERT_MIN_CALLS` calls and more than
/// `ERROR_RATE_ALERT` of them failed.
#[pyfunction]
pub(crate) fn error_rate_alert(window_calls: u32, window_failures: u32) -> bool {
    core::error_rate_alert(window_calls, window_failures)
}

/// Whether a dead-letter queue of `size` items is an alert (more than `DEAD_LETTER_ALERT`).
#[pyfunction]
pub(crate) fn dead_letter_alert(size: usize) -> bool {
    core::dead_letter_alert(size)
}

/// Whether a service is unavailable, from its breakers' states and whether that episode
/// is `ongoing`: every breaker open, or while ongoing, none closed.
#[pyfunction]
pub(crate) fn all_circuits_open_alert(states: &Bound<'_, PyAny>, ongoing: bool) -> PyResult<bool> {
    let states: Vec<State> = states
        .try_iter()?
        .map(|s| s.and_then(|s| parse_state(&s)))
        .collect::<PyResult<_>>()?;
    Ok(core::all_circuits_open_alert(states, ongoing))
}

/// The worst of some statuses ("healthy" < "degraded" < "unhealthy"); "healthy" for none.
#[pyfunction]
pub(crate) fn worst_health(statuses: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    let mut worst = Health::Healthy;
    for s in statuses.try_iter()? {
        worst = worst.max(parse_health(&s?.extract::<String>()?)?);
    }
    Ok(health_str(worst))
}

fn preset_dict<'py>(py: Python<'py>, p: &core::Preset) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", p.name)?;
    d.set_item("failure_threshold", p.failure_threshold)?;
    d.set_item("timeout", seconds(p.timeout))?;
    d.set_item("max_concurrent", p.max_concurrent)?;
    d.set_item("retry_attempts", p.retry_attempts)?;
    d.set_item("fallback", p.fallback)?;
    Ok(d)
}

/// Seed 004's service presets: `name`, `failure_threshold`, `timeout` (seconds),
/// `max_concurrent`, `retry_attempts` (retries after the first attempt), `fallback`.
#[pyfunction]
pub(crate) fn presets(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for p in &core::PRESETS {
        list.append(preset_dict(py, p)?)?;
    }
    Ok(list)
}

/// The preset named `name`, or None.
#[pyfunction]
pub(crate) fn preset<'py>(py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
    core::preset(name).map(|p| preset_dict(py, p)).transpose()
}

/// Registers the module's resilience names.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RetryPolicy>()?;
    m.add_class::<Bulkhead>()?;
    m.add_class::<DeadLetterQueue>()?;
    m.add_class::<Episodes>()?;
    m.add_function(wrap_pyfunction!(error_info, m)?)?;
    m.add_function(wrap_pyfunction!(check_health, m)?)?;
    m.add_function(wrap_pyfunction!(service_health, m)?)?;
    m.add_function(wrap_pyfunction!(worst_health, m)?)?;
    m.add_function(wrap_pyfunction!(error_rate_alert, m)?)?;
    m.add_function(wrap_pyfunction!(dead_letter_alert, m)?)?;
    m.add_function(wrap_pyfunction!(all_circuits_open_alert, m)?)?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(preset, m)?)?;
    m.add("ERROR_RATE_ALERT", core::ERROR_RATE_ALERT)?;
    m.add(
        "ERROR_RATE_ALERT_MIN_CALLS",
        core::ERROR_RATE_ALERT_MIN_CALLS,
    )?;
    m.add("DEAD_LETTER_ALERT", core::DEAD_LETTER_ALERT)?;
    m.add("DEFAULT_MAX_BREAKERS", core::DEFAULT_MAX_BREAKERS)?;
    m.add("DEFAULT_DEAD_LETTER_SIZE", core::DEFAULT_DEAD_LETTER_SIZE)?;
    Ok(())
}
