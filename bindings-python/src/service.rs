//! `_core.Service`: the core's resilience service engine
//! (`tripwire_core::resilience::Service`) for `tripwire/service.py`.
//!
//! Every decision (keys, eviction, configuration and presets, bulkhead admission and
//! queue waits, retry schedules, dead-letter bookkeeping, alert episodes, health) is the
//! engine's. This class converts values, holds the Python breakers (real
//! `tripwire.CircuitBreaker` objects, made by the facade's factory) and the wakers of
//! waiting calls, and runs a synchronous attempt. The facade waits, sleeps and calls.
//!
//! A call is driven by steps, tuples whose first item says what to do:
//! `(DONE, value)`, `(RUN, call, breaker | permit)`, `(RETRY, call, seconds, breaker)`,
//! `(WAIT, call, seconds | None)`, `(FAILED, error, attempts, dead_letter_id, dropped_id)`,
//! `(REFUSED, reason)`, `(CANCELLED,)`.
//!
//! No Python code runs while the engine's mutex is held, except the breaker factory
//! (which never calls back into the service); a thread that finds the mutex taken waits
//! for it without the GIL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use pyo3::exceptions::{PyException, PyKeyError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyInt, PyList, PyString, PyTuple, PyType};
use pyo3::{intern, PyTraverseError, PyVisit};
use tripwire_core::resilience::{
    After, Alert, Attempt, Begin, BulkheadConfig, BulkheadStats, CallId, CallPlan, Circuit,
    CircuitId, DeadLetterError, Evicted, Facts, Lookup, Refusal, RetryUpdate, Section,
    Service as Engine, ServiceUpdate, Settings, Waited,
};
use tripwire_core::{Clock, Config, OptionValue, Options, Threshold, Unit};

use crate::breaker::{Breaker, Permit};
use crate::clock::{seconds, AnyClock, ManualClock};
use crate::name::{self, Name};
use crate::options::{config_error, set_option, type_name};
use crate::resilience::strings;
use crate::{errors, registry, types};

const DONE: u8 = 0;
const RUN: u8 = 1;
const RETRY: u8 = 2;
const WAIT: u8 = 3;
const FAILED: u8 = 4;
const REFUSED: u8 = 5;
const CANCELLED: u8 = 6;
/// The answer of `execute` (a sync call) or `report_outcome` when the call is not
/// over: its step, for the facade's driver. A call that is over answers its value
/// itself: the common call makes no step. (`execute` answers a coroutine function's
/// call with the coroutine of the facade's `_run_async`.)
/// It takes part in garbage collection: a failed call's step holds its error, whose
/// traceback holds the frame that holds this answer.
#[pyclass(module = "tripwire._core")]
pub struct Pending {
    step: Option<Py<PyAny>>,
}

#[pymethods]
impl Pending {
    /// The step (see the module's documentation).
    #[getter]
    fn step(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.step.as_ref().map(|s| s.clone_ref(py))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(step) = &self.step {
            visit.call(step)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.step = None;
    }
}

/// The first step of an async call whose coroutine has not started (`_run_async`'s
/// `via` when its `call` is None): `start()` hands the step over. A coroutine dropped
/// or cancelled before it started never runs a line of its body: then this releases
/// the call's bulkhead slot or queue place (a call admitted with a permit is released
/// by its `Permit` the same way).
#[pyclass(frozen, module = "tripwire._core")]
pub struct Unstarted {
    service: Py<Service>,
    call: Option<u32>,
    step: Py<PyAny>,
    armed: AtomicBool,
}

#[pymethods]
impl Unstarted {
    /// The step; the call is the coroutine's from here on.
    fn start(&self, py: Python<'_>) -> Py<PyAny> {
        self.armed.store(false, Ordering::Relaxed);
        self.step.clone_ref(py)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.service)?;
        visit.call(&self.step)
    }
}

impl Drop for Unstarted {
    fn drop(&mut self) {
        if let (true, Some(call)) = (*self.armed.get_mut(), self.call) {
            Python::attach(|py| self.service.get().release_unstarted(py, call));
        }
    }
}

/// Whether `func` is a coroutine function (`inspect.iscoroutinefunction`), with a
/// shortcut for plain functions: their code's flag decides, unless their `__dict__`
/// may hold 3.12's `markcoroutinefunction` mark.
fn is_async(func: &Bound<'_, PyAny>) -> PyResult<bool> {
    static FUNCTION_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static IS_COROUTINE_FUNCTION: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    /// `inspect.CO_COROUTINE`.
    const CO_COROUTINE: u32 = 0x80;
    static MARKS: PyOnceLock<bool> = PyOnceLock::new();
    let py = func.py();
    let function = FUNCTION_TYPE.import(py, "types", "FunctionType")?;
    // `inspect.markcoroutinefunction` (3.12) marks a function in its `__dict__`.
    let marks = *MARKS.get_or_init(py, || py.version_info() >= (3, 12));
    if func.get_type().is(function)
        && (!marks || func.getattr(intern!(py, "__dict__"))?.len()? == 0)
    {
        // The last code object seen, and its flag: a function called again (or
        // another closure of the same code) reads no `co_flags`. A code object is
        // immutable, and holds no user data but its constants.
        static LAST_CODE: Mutex<Option<(Py<PyAny>, bool)>> = Mutex::new(None);
        let code = func.getattr(intern!(py, "__code__"))?;
        if let Some((last, asynchronous)) = lock_plain(&LAST_CODE).as_ref() {
            if last.is(&code) {
                return Ok(*asynchronous);
            }
        }
        let flags: u32 = code.getattr(intern!(py, "co_flags"))?.extract()?;
        let asynchronous = flags & CO_COROUTINE != 0;
        let old = lock_plain(&LAST_CODE).replace((code.unbind(), asynchronous));
        drop(old);
        return Ok(asynchronous);
    }
    IS_COROUTINE_FUNCTION
        .import(py, "inspect", "iscoroutinefunction")?
        .call1((func,))?
        .is_truthy()
}

/// `types.CoroutineType`.
fn coroutine_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static COROUTINE_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    COROUTINE_TYPE.import(py, "types", "CoroutineType")
}

/// `tripwire.service._run_async` (`CircuitBreakerService._run_async`): the runner of
/// an async call, started by `execute`, so that the facade reads no answer object first.
fn run_async(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static RUN_ASYNC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    RUN_ASYNC.import(py, "tripwire.service", "_run_async")
}

/// The coroutine that runs an async call from its first step (`run_async`).
#[allow(clippy::too_many_arguments)]
fn start_async(
    facade: &Bound<'_, PyAny>,
    call: Option<u32>,
    via: Bound<'_, PyAny>,
    service: &Bound<'_, PyAny>,
    operation: &Bound<'_, PyAny>,
    func: &Bound<'_, PyAny>,
    fallback_options: Option<&Bound<'_, PyAny>>,
    retry_policy: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let py = facade.py();
    let none = py.None().into_bound(py);
    let (fallback_options, retry_policy) = (
        fallback_options.unwrap_or(&none),
        retry_policy.unwrap_or(&none),
    );
    Ok(run_async(py)?
        .call1((
            facade,
            call,
            via,
            service,
            operation,
            func,
            fallback_options,
            retry_policy,
        ))?
        .unbind())
}

/// Every spelling of the call timeout: `None` there means no timeout.
const TIMEOUT_SPELLINGS: &[&str] = &["request_timeout", "requestTimeout", "timeout"];

/// A service breaker: the Python object, as the engine sees it.
pub(crate) struct Handle(Py<Breaker>);

impl Circuit for Handle {
    fn facts(&self, now: u64) -> Facts {
        self.0.get().facts(now)
    }

    fn metrics(
        &self,
        now: u64,
    ) -> Option<(
        tripwire_core::Stats,
        tripwire_core::Lifetime,
        tripwire_core::Durations,
    )> {
        Some(self.0.get().sample(Some(now)))
    }
}

impl Handle {
    /// The Python breaker.
    pub(crate) fn breaker(&self) -> &Py<Breaker> {
        &self.0
    }
}

pub(crate) struct Inner {
    pub(crate) engine: Engine<Handle>,
    /// The wakers of calls waiting in a bulkhead queue, by call.
    wakers: HashMap<u32, Py<PyAny>>,
    names: Names,
}

/// Slots of [`Names`] (a power of two).
const NAME_SLOTS: usize = 64;

/// The breakers that `execute` found lately, by the identity of the two `str` objects
/// it was called with (held, so that an identity stays theirs): a call with names seen
/// before reads no string and looks nothing up by name (the abi3 build copies a `str`
/// to read it). Direct-mapped and small, so memory stays bounded whatever the names;
/// emptied whenever the engine removes a breaker (its id may be given again).
struct Names {
    slots: Vec<Option<NameSlot>>,
}

/// The service name, the operation name and their breaker.
type NameSlot = (Py<PyString>, Py<PyString>, CircuitId);

impl Names {
    fn new() -> Self {
        Names {
            slots: (0..NAME_SLOTS).map(|_| None).collect(),
        }
    }

    fn slot(service: &Bound<'_, PyString>, operation: &Bound<'_, PyString>) -> usize {
        let (s, o) = (service.as_ptr() as u64, operation.as_ptr() as u64);
        let mixed = (s ^ o.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - NAME_SLOTS.trailing_zeros())) as usize
    }

    fn get(
        &self,
        service: &Bound<'_, PyString>,
        operation: &Bound<'_, PyString>,
    ) -> Option<CircuitId> {
        match &self.slots[Self::slot(service, operation)] {
            Some((s, o, id)) if s.is(service) && o.is(operation) => Some(*id),
            _ => None,
        }
    }

    fn put(
        &mut self,
        service: &Bound<'_, PyString>,
        operation: &Bound<'_, PyString>,
        id: CircuitId,
    ) {
        self.slots[Self::slot(service, operation)] =
            Some((service.clone().unbind(), operation.clone().unbind(), id));
    }

    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
    }
}

/// What to do once the engine's mutex is released.
#[derive(Default)]
struct Effects {
    alerts: Vec<Alert>,
    wake: Vec<Py<PyAny>>,
    evicted: Vec<Evicted<Handle>>,
    reconfigured: Vec<Py<Breaker>>,
}

impl Effects {
    fn collect(&mut self, inner: &mut Inner) {
        if inner.engine.has_alerts() {
            self.alerts.extend(inner.engine.take_alerts());
        }
    }

    /// Wakes a waiting call (admitted, or to ask again how long to wait).
    fn wake(&mut self, inner: &mut Inner, call: Option<CallId>) {
        if let Some(call) = call {
            if let Some(w) = inner.wakers.remove(&call.0) {
                self.wake.push(w);
            }
        }
    }
}

/// The resilience service engine with Python breakers.
#[pyclass(frozen, module = "tripwire._core")]
pub struct Service {
    inner: Mutex<Inner>,
    clock: AnyClock,
    /// `factory(name) -> CircuitBreaker` and `on_alerts([(type, service, operation, message)])`.
    callbacks: Mutex<Option<(Py<PyAny>, Py<PyAny>)>>,
    /// Calls whose coroutine was dropped unstarted while the engine was locked (a
    /// garbage collection inside the service's own critical section): released by the
    /// next `execute` or `wait`.
    unstarted: Mutex<Vec<u32>>,
    has_unstarted: AtomicBool,
}

fn lock_plain<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn mapping<'py>(
    what: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let items = value
        .call_method0(intern!(value.py(), "items"))
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "invalid option `{what}`: must be a dict, not {}",
                type_name(value)
            ))
        })?;
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
        let name = k.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "invalid option in `{what}`: names are str, not {}",
                type_name(&k)
            ))
        })?;
        out.push((name.to_cow()?.to_string(), v));
    }
    Ok(out)
}

/// Breaker options from a dict (a section `config`, or a call's own `config`).
/// A call's `config`: the core's options, and the facade's `is_failure_result` (given
/// to the breaker when the service makes it, as Node's hooks are).
struct BreakerConfig {
    options: Options,
    is_failure_result: Option<Py<PyAny>>,
}

/// The binding's own names in a call's `config` (suggested for near misses).
const CONFIG_HOOKS: &[&str] = &["is_failure_result"];

fn set_breaker_option(options: &mut Options, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let known = if value.is_none() && TIMEOUT_SPELLINGS.contains(&name) {
        options
            .set(name, OptionValue::Bool(false))
            .map_err(config_error)?
    } else {
        set_option(name, value, |n, v| options.set(n, v))?
    };
    if known {
        Ok(())
    } else {
        Err(config_error(
            options
                .unknown(name, CONFIG_HOOKS)
                .unwrap_or_else(|| tripwire_core::ConfigError {
                    field: name.to_string().into(),
                    reason: "unknown option".into(),
                    kind: tripwire_core::ErrorKind::Type,
                }),
        ))
    }
}

fn breaker_options(value: &Bound<'_, PyAny>) -> PyResult<BreakerConfig> {
    let mut options = Options::new(Unit::Seconds);
    let mut is_failure_result = None;
    for (name, v) in mapping("config", value)? {
        if name == "is_failure_result" {
            is_failure_result = crate::options::callable(&name, &v)?;
        } else {
            set_breaker_option(&mut options, &name, &v)?;
        }
    }
    Ok(BreakerConfig {
        options,
        is_failure_result,
    })
}

fn retry_update(what: &str, value: &Bound<'_, PyAny>) -> PyResult<RetryUpdate> {
    let mut update = RetryUpdate::default();
    for (name, v) in mapping(what, value)? {
        if let Some(list) = RetryUpdate::code_list(&name) {
            update.set_codes(list, strings(&name, &v)?);
            continue;
        }
        if name == "seed" && !v.is_none() {
            // A whole number below 2^64: the float conversion would round it.
            let seed = v.extract::<u64>().map_err(|_| {
                PyValueError::new_err(
                    "invalid option `seed`: must be a whole number ≥ 0 below 2^64",
                )
            })?;
            update
                .set("seed", OptionValue::Number(seed as f64), Unit::Seconds)
                .map_err(config_error)?;
            continue;
        }
        set_option(&name, &v, |n, value| {
            update.set(n, value, Unit::Seconds).map(|()| true)
        })?;
    }
    Ok(update)
}

/// A whole service update from `{section: value}`, checked option by option.
fn service_update(sections: &Bound<'_, PyDict>) -> PyResult<ServiceUpdate> {
    let mut update = ServiceUpdate::new(Unit::Seconds);
    for (key, value) in sections.iter() {
        let name = key
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("section names are str"))?
            .to_cow()?
            .to_string();
        let section = ServiceUpdate::section(&name).map_err(config_error)?;
        if value.is_none() {
            continue;
        }
        match section {
            Section::Preset => {
                let preset = value.cast::<PyString>().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "invalid option `preset`: must be a str, not {}",
                        type_name(&value)
                    ))
                })?;
                update.set_preset(&preset.to_cow()?).map_err(config_error)?;
            }
            Section::Config => {
                update.touch(section);
                for (n, v) in mapping(&name, &value)? {
                    if v.is_none() && TIMEOUT_SPELLINGS.contains(&n.as_str()) {
                        update
                            .set(section, &n, OptionValue::Bool(false))
                            .map_err(config_error)?;
                    } else {
                        set_option(&n, &v, |n, v| update.set(section, n, v).map(|()| true))?;
                    }
                }
            }
            Section::Bulkhead => {
                update.touch(section);
                for (n, v) in mapping(&name, &value)? {
                    set_option(&n, &v, |n, v| update.set(section, n, v).map(|()| true))?;
                }
            }
            Section::Retry => {
                update.touch(section);
                *update.retry_mut() = retry_update(&name, &value)?;
            }
        }
    }
    Ok(update)
}

fn bulkhead_dict<'py>(
    py: Python<'py>,
    s: &BulkheadStats,
    c: &BulkheadConfig,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("running", s.running)?;
    d.set_item("queued", s.queued)?;
    d.set_item("rejected", s.rejected)?;
    d.set_item("rejected_full", s.rejected_full)?;
    d.set_item("rejected_queue_timeout", s.rejected_queue_timeout)?;
    d.set_item("admitted", s.admitted)?;
    d.set_item("peak_running", s.peak_running)?;
    d.set_item("mean_wait", s.mean_wait / 1e9)?;
    d.set_item("max_wait", seconds(s.max_wait))?;
    d.set_item("saturated", s.saturated)?;
    d.set_item("max_concurrent", c.max_concurrent)?;
    d.set_item("queue_size", c.queue_size)?;
    d.set_item("max_queue_wait", c.max_queue_wait.map(seconds))?;
    Ok(d)
}

fn config_dict<'py>(py: Python<'py>, c: &Config) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match c.failure_threshold {
        Threshold::Count(n) => d.set_item("failure_threshold", n)?,
        Threshold::Rate(r) => d.set_item("failure_threshold", r)?,
    }
    d.set_item("minimum_requests", c.effective_minimum_requests())?;
    d.set_item("recovery_timeout", seconds(c.open_duration))?;
    d.set_item("success_threshold", c.success_threshold)?;
    d.set_item("half_open_max_calls", c.half_open_max_calls)?;
    d.set_item("request_timeout", c.call_timeout.map(seconds))?;
    d.set_item("slow_call_duration", c.slow_call_duration.map(seconds))?;
    d.set_item("slow_call_rate_threshold", c.slow_call_rate_threshold)?;
    Ok(d)
}

/// An id from Python: a whole number in u64, else `KeyError` (no such item).
fn item_id(id: &Bound<'_, PyAny>) -> PyResult<u64> {
    if !id.is_instance_of::<PyInt>() || id.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyKeyError::new_err(id.clone().unbind()));
    }
    id.extract::<u64>()
        .map_err(|_| PyKeyError::new_err(id.clone().unbind()))
}

/// A service or operation name: a str, else `TypeError` naming it.
fn name_of<'a, 'py>(
    what: &str,
    value: &'a Bound<'py, PyAny>,
) -> PyResult<&'a Bound<'py, PyString>> {
    value.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "the {what} name must be a str, not {}",
            type_name(value)
        ))
    })
}

fn refusal_step(py: Python<'_>, r: Refusal) -> PyResult<Py<PyAny>> {
    Ok((REFUSED, r.as_str()).into_pyobject(py)?.into_any().unbind())
}

/// What reporting an attempt's end gives: the call is over (with its value), or the
/// next step.
enum Next {
    Done(Option<Py<PyAny>>),
    Step(Py<PyAny>),
}

impl Next {
    fn into_step(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Next::Done(value) => Ok((DONE, value).into_pyobject(py)?.into_any().unbind()),
            Next::Step(step) => Ok(step),
        }
    }
}

/// What `begin` did: the call may run now (its step is made only if asked for: the
/// sync `execute` runs it at once), or another step.
enum Begun {
    Run(CallId, Py<Breaker>),
    /// The first step, and the call it holds a queue place for (WAIT).
    Step(Py<PyAny>, Option<CallId>),
}

impl Service {
    /// Releases `call`, whose coroutine was dropped before it started (see [`Unstarted`]):
    /// now, unless this thread is inside the engine's lock (then at the next entry).
    pub(crate) fn release_unstarted(&self, py: Python<'_>, call: u32) {
        // Tried in its own statement: the guard is dropped before `release_now` locks.
        let busy = matches!(self.inner.try_lock(), Err(TryLockError::WouldBlock));
        if busy {
            lock_plain(&self.unstarted).push(call);
            self.has_unstarted.store(true, Ordering::Release);
        } else {
            self.release_now(py, call);
        }
    }

    fn release_now(&self, py: Python<'_>, call: u32) {
        if !self.abandon(py, call) {
            if let Err(error) = self.cancel(py, call) {
                error.write_unraisable(py, None);
            }
        }
    }

    /// Releases the calls [`Service::release_unstarted`] could not (one load when there are none).
    fn release_deferred(&self, py: Python<'_>) {
        if self.has_unstarted.load(Ordering::Acquire) {
            self.has_unstarted.store(false, Ordering::Release);
            let calls = std::mem::take(&mut *lock_plain(&self.unstarted));
            for call in calls {
                self.release_now(py, call);
            }
        }
    }

    /// The engine, locked; waits for it without the GIL when another thread has it.
    pub(crate) fn lock(&self, py: Python<'_>) -> MutexGuard<'_, Inner> {
        loop {
            match self.inner.try_lock() {
                Ok(g) => return g,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    py.detach(|| drop(lock_plain(&self.inner)));
                }
            }
        }
    }

    fn callbacks(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        lock_plain(&self.callbacks)
            .as_ref()
            .map(|(f, a)| (f.clone_ref(py), a.clone_ref(py)))
            .ok_or_else(|| PyRuntimeError::new_err("the service was cleared"))
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Runs what waited for the mutex to be released.
    fn apply(&self, py: Python<'_>, fx: Effects) -> PyResult<()> {
        for e in &fx.evicted {
            registry::remove_if(py, &e.key.name(), &e.handle.0);
        }
        drop(fx.evicted);
        for b in &fx.reconfigured {
            let b = b.bind(py);
            if b.hasattr(intern!(py, "_reconfigured"))? {
                b.call_method0(intern!(py, "_reconfigured"))?;
            }
        }
        for w in fx.wake {
            if let Err(e) = w.bind(py).call0() {
                e.write_unraisable(py, None);
            }
        }
        if !fx.alerts.is_empty() {
            let (_, on_alerts) = self.callbacks(py)?;
            let list = PyList::empty(py);
            for a in fx.alerts {
                list.append((a.kind.as_str(), a.service, a.operation, a.message))?;
            }
            on_alerts.bind(py).call1((list,))?;
        }
        Ok(())
    }

    /// The breaker of a key, made (through the factory) if new.
    fn circuit_locked(
        &self,
        py: Python<'_>,
        inner: &mut Inner,
        service: &str,
        operation: Option<&str>,
        config: Option<&BreakerConfig>,
        fx: &mut Effects,
    ) -> PyResult<(CircuitId, Py<Breaker>)> {
        let hook = config
            .and_then(|c| c.is_failure_result.as_ref())
            .map(|p| p.clone_ref(py));
        match inner
            .engine
            .circuit(service, operation, config.map(|c| &c.options))
            .map_err(config_error)?
        {
            Lookup::Found(id) => {
                let b = inner
                    .engine
                    .handle(id)
                    .ok_or_else(|| PyRuntimeError::new_err("a service breaker has no handle"))?;
                Ok((id, b.0.clone_ref(py)))
            }
            Lookup::New {
                id,
                config,
                forced_open,
            } => {
                let key = inner.engine.key(id).cloned().expect("a new circuit's key");
                let made = (|| -> PyResult<Py<Breaker>> {
                    let (factory, _) = self.callbacks(py)?;
                    let b = factory.bind(py).call1((key.name(),))?;
                    let b = b.cast_into::<Breaker>().map_err(|_| {
                        PyTypeError::new_err(
                            "the service's breaker factory must return a CircuitBreaker",
                        )
                    })?;
                    b.get().reconfigure(config).map_err(config_error)?;
                    if let Some(predicate) = hook {
                        b.get().judge_results(predicate);
                    }
                    if forced_open {
                        b.get().force_open_new();
                    }
                    Ok(b.unbind())
                })();
                let breaker = match made {
                    Ok(b) => b,
                    Err(e) => {
                        inner.engine.discard(id);
                        return Err(e);
                    }
                };
                fx.reconfigured.push(breaker.clone_ref(py));
                let now = self.now();
                let evicted = inner.engine.attach(id, Handle(breaker.clone_ref(py)), now);
                if !evicted.is_empty() {
                    inner.names.clear();
                }
                fx.evicted.extend(evicted);
                if forced_open {
                    inner.engine.observe(id, now);
                }
                Ok((id, breaker))
            }
        }
    }

    fn breaker_of(&self, py: Python<'_>, inner: &Inner, call: CallId) -> PyResult<Py<Breaker>> {
        inner
            .engine
            .call_circuit(call)
            .and_then(|id| inner.engine.handle(id))
            .map(|h| h.0.clone_ref(py))
            .ok_or_else(|| PyRuntimeError::new_err("the call is over"))
    }

    #[allow(clippy::too_many_arguments)]
    fn begin_inner(
        &self,
        py: Python<'_>,
        service: &Bound<'_, PyString>,
        operation: &Bound<'_, PyString>,
        config: Option<&Bound<'_, PyAny>>,
        retry_policy: Option<&Bound<'_, PyAny>>,
        dead_letter: bool,
        no_retry: bool,
    ) -> PyResult<Begun> {
        let options = config
            .filter(|c| !c.is_none())
            .map(breaker_options)
            .transpose()?;
        let retry = retry_policy
            .filter(|r| !r.is_none())
            .map(|r| retry_update("retry_policy", r))
            .transpose()?;
        let mut fx = Effects::default();
        let result = {
            let mut inner = self.lock(py);
            let plan_retry = if no_retry {
                Some(inner.engine.no_retry())
            } else if let Some(update) = &retry {
                Some(
                    inner
                        .engine
                        .call_retry(&name::text(service)?, update)
                        .map_err(config_error)?,
                )
            } else {
                None
            };
            let known = inner.names.get(service, operation).and_then(|id| {
                let handle = inner.engine.handle(id)?;
                Some((id, handle.0.clone_ref(py)))
            });
            let (circuit, breaker) = match known {
                Some(found) => found,
                None => {
                    let found = self.circuit_locked(
                        py,
                        &mut inner,
                        &name::text(service)?,
                        Some(&name::text(operation)?),
                        options.as_ref(),
                        &mut fx,
                    )?;
                    inner.names.put(service, operation, found.0);
                    found
                }
            };
            let plan = CallPlan {
                retry: plan_retry,
                dead_letter,
            };
            let now = self.now();
            let r = match inner.engine.begin(circuit, plan, now) {
                Begin::Run(call) => Ok(Begun::Run(call, breaker)),
                Begin::Queued(call, max_wait) => Ok(Begun::Step(
                    (WAIT, call.0, max_wait.map(seconds))
                        .into_pyobject(py)?
                        .into_any()
                        .unbind(),
                    Some(call),
                )),
                Begin::Refused(r) => Ok(Begun::Step(refusal_step(py, r)?, None)),
            };
            fx.collect(&mut inner);
            r
        };
        self.apply(py, fx)?;
        result
    }

    /// Reports an attempt's end to the engine; the next step.
    fn report(
        &self,
        py: Python<'_>,
        call: CallId,
        attempt: Attempt<'_>,
        value: Option<Py<PyAny>>,
        error: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.report_next(py, call, attempt, value, error)?
            .into_step(py)
    }

    /// Reports an attempt's end to the engine: the call is over with its value, or
    /// the next step.
    fn report_next(
        &self,
        py: Python<'_>,
        call: CallId,
        attempt: Attempt<'_>,
        value: Option<Py<PyAny>>,
        error: Option<Py<PyAny>>,
    ) -> PyResult<Next> {
        let mut fx = Effects::default();
        let next = {
            let mut inner = self.lock(py);
            let now = self.now();
            let circuit = inner.engine.call_circuit(call);
            let ended = inner.engine.ended(call, attempt, now);
            fx.wake(&mut inner, ended.admit);
            fx.collect(&mut inner);
            match ended.after {
                After::Done => Next::Done(value),
                After::Retry { delay } => Next::Step(
                    (
                        RETRY,
                        call.0,
                        seconds(delay),
                        circuit
                            .and_then(|id| inner.engine.handle(id))
                            .map(|h| h.0.clone_ref(py)),
                    )
                        .into_pyobject(py)?
                        .into_any()
                        .unbind(),
                ),
                After::Failed {
                    attempts,
                    dead_letter,
                    dropped,
                } => Next::Step(
                    (FAILED, error, attempts, dead_letter, dropped)
                        .into_pyobject(py)?
                        .into_any()
                        .unbind(),
                ),
                After::Cancelled => Next::Step((CANCELLED,).into_pyobject(py)?.into_any().unbind()),
            }
        };
        self.apply(py, fx)?;
        Ok(next)
    }

    /// Reports a failed attempt (its exception); a cancellation is reported and raised.
    fn report_error(&self, py: Python<'_>, call: CallId, err: PyErr) -> PyResult<Py<PyAny>> {
        let value = err.value(py).clone();
        if value.is_instance(errors::refusal_class(py)?)? {
            return self.report(
                py,
                call,
                Attempt::Refused,
                None,
                Some(value.unbind().into_any()),
            );
        }
        if !value.is_instance_of::<PyException>() {
            self.report(py, call, Attempt::Cancelled, None, None)?;
            return Err(err);
        }
        let (code, status) = crate::resilience::error_info(&value)?;
        self.report(
            py,
            call,
            Attempt::Failure {
                code: code.as_deref(),
                status,
            },
            None,
            Some(value.unbind().into_any()),
        )
    }

    /// The first attempt of an async call the engine admitted, as `_run_async`'s
    /// `(call, via)`: `(call, permit)` when its breaker admitted it too (asked in this
    /// crossing: the caller awaits the function and reports with the permit, which
    /// releases the call if dropped unused), else `(None, Unstarted)` with the step
    /// after a refusal, or `(RUN, call, breaker)` for the caller to go through
    /// `call_async`. (A RUN step's parts: no step tuple on the common path.)
    fn first_async_attempt<'py>(
        slf: &Bound<'py, Self>,
        call: CallId,
        breaker: Py<Breaker>,
    ) -> PyResult<(Option<u32>, Bound<'py, PyAny>)> {
        let py = slf.py();
        let this = slf.get();
        let admitted = match Breaker::quick_acquire(breaker.bind(py)) {
            Ok(admitted) => admitted,
            Err(interrupt) => {
                this.report(py, call, Attempt::Cancelled, None, None)?;
                return Err(interrupt);
            }
        };
        match admitted {
            Some(permit) => match permit.cast::<Permit>() {
                Ok(held) => {
                    held.get().release_if_unused(slf.clone().unbind(), call.0);
                    Ok((Some(call.0), permit))
                }
                Err(_) => {
                    let step =
                        this.report(py, call, Attempt::Refused, None, Some(permit.unbind()))?;
                    Ok((None, Self::unstarted(slf, None, step)?))
                }
            },
            None => {
                let step = (RUN, call.0, breaker)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind();
                Ok((None, Self::unstarted(slf, Some(call.0), step)?))
            }
        }
    }

    /// An [`Unstarted`] of `step`, releasing `call` (if any) when dropped armed.
    fn unstarted<'py>(
        slf: &Bound<'py, Self>,
        call: Option<u32>,
        step: Py<PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let guard = Unstarted {
            service: slf.clone().unbind(),
            call,
            step,
            armed: AtomicBool::new(true),
        };
        Ok(Bound::new(slf.py(), guard)?.into_any())
    }

    fn attempt_inner(
        &self,
        py: Python<'_>,
        call: CallId,
        breaker: &Bound<'_, Breaker>,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<Next> {
        match Breaker::run(breaker, func, &PyTuple::empty(py), None) {
            Ok(v) => self.report_next(py, call, Attempt::Success, Some(v), None),
            Err(e) => self.report_error(py, call, e).map(Next::Step),
        }
    }
}

#[pymethods]
impl Service {
    /// `factory(name)` makes a breaker (a `tripwire.CircuitBreaker` on the service's
    /// clock); `on_alerts(list)` hears the alerts as `(type, service, operation, message)`.
    #[new]
    #[pyo3(signature = (factory, on_alerts, *, clock = None, max_breakers = None, dead_letter_queue_size = None, seed = None))]
    fn new(
        factory: Py<PyAny>,
        on_alerts: Py<PyAny>,
        clock: Option<&Bound<'_, PyAny>>,
        max_breakers: Option<&Bound<'_, PyAny>>,
        dead_letter_queue_size: Option<&Bound<'_, PyAny>>,
        seed: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let seed = match seed.filter(|s| !s.is_none()) {
            None => crate::resilience::random_seed(),
            Some(s) => {
                if !s.is_instance_of::<PyInt>() || s.is_instance_of::<pyo3::types::PyBool>() {
                    return Err(PyTypeError::new_err(format!(
                        "invalid option `seed`: must be an int, not {}",
                        type_name(s)
                    )));
                }
                s.extract::<u64>().map_err(|_| {
                    PyValueError::new_err(
                        "invalid option `seed`: must be a whole number ≥ 0 below 2^64",
                    )
                })?
            }
        };
        let mut settings = Settings::new(Unit::Seconds, seed);
        // As `tripwire.CircuitBreaker`: no call timeout unless configured.
        settings.call_timeout = false;
        for (name, value) in [
            ("max_breakers", max_breakers),
            ("dead_letter_queue_size", dead_letter_queue_size),
        ] {
            if let Some(v) = value.filter(|v| !v.is_none()) {
                if !v.is_instance_of::<PyInt>() || v.is_instance_of::<pyo3::types::PyBool>() {
                    return Err(PyTypeError::new_err(format!(
                        "invalid option `{name}`: must be an int, not {}",
                        type_name(v)
                    )));
                }
                set_option(name, v, |n, v| settings.set(n, v))?;
            }
        }
        let clock = match clock.filter(|c| !c.is_none()) {
            None => AnyClock::Monotonic,
            Some(c) => {
                let manual = c.cast::<ManualClock>().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "invalid option `clock`: must be a ManualClock or None, not {}",
                        type_name(c)
                    ))
                })?;
                AnyClock::Manual(manual.get().inner.clone())
            }
        };
        let engine = Engine::new(settings).map_err(config_error)?;
        Ok(Service {
            inner: Mutex::new(Inner {
                engine,
                wakers: HashMap::new(),
                names: Names::new(),
            }),
            clock,
            callbacks: Mutex::new(Some((factory, on_alerts))),
            unstarted: Mutex::new(Vec::new()),
            has_unstarted: AtomicBool::new(false),
        })
    }

    /// The (service, operation) breaker; made if new (`operation` None: the service's own).
    #[pyo3(signature = (service, operation, config = None))]
    fn circuit(
        &self,
        py: Python<'_>,
        service: &Bound<'_, PyAny>,
        operation: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Breaker>> {
        let service = name::text(name_of("service", service)?)?;
        let service: &str = &service;
        let operation = match operation.filter(|o| !o.is_none()) {
            Some(o) => Some(name::text(name_of("operation", o)?)?.into_owned()),
            None => None,
        };
        let options = config
            .filter(|c| !c.is_none())
            .map(breaker_options)
            .transpose()?;
        let mut fx = Effects::default();
        let b = {
            let mut inner = self.lock(py);
            let r = self.circuit_locked(
                py,
                &mut inner,
                service,
                operation.as_deref(),
                options.as_ref(),
                &mut fx,
            );
            fx.collect(&mut inner);
            r
        };
        self.apply(py, fx)?;
        Ok(b?.1)
    }

    /// The (service, operation) breaker if there is one.
    #[pyo3(signature = (service, operation))]
    fn find(&self, py: Python<'_>, service: Name, operation: Option<Name>) -> Option<Py<Breaker>> {
        let inner = self.lock(py);
        let id = inner.engine.find(&service, operation.as_deref())?;
        inner.engine.handle(id).map(|h| h.0.clone_ref(py))
    }

    /// A call asks to run: its first step is `(RUN, call, breaker)`, `(WAIT, call,
    /// seconds | None)` or `(REFUSED, reason)`. A call that may run now runs its first
    /// attempt here, synchronously: the answer is its value if that ended the call,
    /// else a `Pending` with the step after it. For a coroutine function nothing runs:
    /// the answer is `facade._run_async(call, via, service, operation, func,
    /// fallback_options, retry_policy)`, the coroutine that awaits the attempts (`call`
    /// and `via`: the first RUN step's parts, or None and the first step).
    #[pyo3(signature = (facade, service, operation, func, config = None, retry_policy = None, dead_letter = false, no_retry = false, fallback_options = None))]
    #[allow(clippy::too_many_arguments)]
    fn execute(
        slf: &Bound<'_, Self>,
        facade: &Bound<'_, PyAny>,
        service: &Bound<'_, PyAny>,
        operation: &Bound<'_, PyAny>,
        func: &Bound<'_, PyAny>,
        config: Option<&Bound<'_, PyAny>>,
        retry_policy: Option<&Bound<'_, PyAny>>,
        dead_letter: bool,
        no_retry: bool,
        fallback_options: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        this.release_deferred(py);
        let service_name = name_of("service", service)?;
        let operation_name = name_of("operation", operation)?;
        let asynchronous = is_async(func)?;
        let begun = this.begin_inner(
            py,
            service_name,
            operation_name,
            config,
            retry_policy,
            dead_letter,
            no_retry,
        )?;
        if asynchronous {
            let (call, via) = match begun {
                Begun::Run(call, breaker) => Self::first_async_attempt(slf, call, breaker)?,
                Begun::Step(step, call) => (None, Self::unstarted(slf, call.map(|c| c.0), step)?),
            };
            return start_async(
                facade,
                call,
                via,
                service,
                operation,
                func,
                fallback_options,
                retry_policy,
            );
        }
        let step = match begun {
            Begun::Run(call, breaker) => {
                match this.attempt_inner(py, call, breaker.bind(py), func)? {
                    // A coroutine returned by a plain function goes to the facade (an error).
                    Next::Done(Some(value))
                        if !value.bind(py).get_type().is(coroutine_type(py)?) =>
                    {
                        return Ok(value)
                    }
                    next => next.into_step(py)?,
                }
            }
            Begun::Step(step, _) => step,
        };
        Ok(Py::new(py, Pending { step: Some(step) })?.into_any())
    }

    /// Runs one attempt of `call` through `breaker`, synchronously; the next step.
    fn attempt(
        &self,
        py: Python<'_>,
        call: u32,
        breaker: &Bound<'_, Breaker>,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        self.attempt_inner(py, CallId(call), breaker, func)?
            .into_step(py)
    }

    /// Reports an attempt run by the caller: `ok` with its value, else the exception
    /// it raised. The answer is the call's value when that ended it (as `execute`'s:
    /// the common success makes no step), else a `Pending` with the next step
    /// (`(CANCELLED,)` for a cancellation: re-raise it).
    /// `via`: what the RUN step gave; a permit is ended first (as `call_async` ends
    /// it), a breaker was called through and has heard already.
    #[pyo3(signature = (call, ok, value, via = None))]
    fn report_outcome(
        &self,
        py: Python<'_>,
        call: u32,
        ok: bool,
        value: Py<PyAny>,
        via: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let call = CallId(call);
        if let Some(permit) = via.and_then(|v| v.cast::<Permit>().ok()) {
            let v = value.bind(py);
            let ended = if ok {
                permit.get()._resolved(py, v)
            } else {
                permit.get().fail(py, v)
            };
            if let Err(interrupt) = ended {
                // A listener's or predicate's KeyboardInterrupt / SystemExit: the call is over.
                self.report(py, call, Attempt::Cancelled, None, None)?;
                return Err(interrupt);
            }
        }
        let next = if ok {
            self.report_next(py, call, Attempt::Success, Some(value), None)?
        } else {
            let v = value.bind(py);
            if v.is_instance(errors::refusal_class(py)?)? {
                self.report_next(py, call, Attempt::Refused, None, Some(value))?
            } else if !v.is_instance_of::<PyException>() {
                self.report_next(py, call, Attempt::Cancelled, None, None)?
            } else {
                let (code, status) = crate::resilience::error_info(v)?;
                self.report_next(
                    py,
                    call,
                    Attempt::Failure {
                        code: code.as_deref(),
                        status,
                    },
                    None,
                    Some(value),
                )?
            }
        };
        Ok(match next {
            Next::Done(value) => value.unwrap_or_else(|| py.None()),
            Next::Step(step) => Py::new(py, Pending { step: Some(step) })?.into_any(),
        })
    }

    /// A waiting call looks: `(RUN, call, breaker)` once admitted, `(WAIT, call,
    /// seconds | None)` to wait more (`waker()` is called when it is admitted), or
    /// `(REFUSED, "queue-timeout")`.
    fn wait(&self, py: Python<'_>, call: u32, waker: Py<PyAny>) -> PyResult<Py<PyAny>> {
        self.release_deferred(py);
        let call = CallId(call);
        let mut inner = self.lock(py);
        let now = self.now();
        match inner.engine.wait_over(call, now) {
            Waited::Admitted => {
                inner.wakers.remove(&call.0);
                let b = self.breaker_of(py, &inner, call)?;
                Ok((RUN, call.0, b).into_pyobject(py)?.into_any().unbind())
            }
            Waited::Waiting(ns) => {
                inner.wakers.insert(call.0, waker);
                let wait = (ns < (1u64 << 62)).then(|| seconds(ns));
                Ok((WAIT, call.0, wait).into_pyobject(py)?.into_any().unbind())
            }
            Waited::Refused => {
                inner.wakers.remove(&call.0);
                drop(inner);
                refusal_step(py, Refusal::QueueTimeout)
            }
        }
    }

    /// A waiting call gives up: True if it was still waiting (it is over), False if it
    /// was admitted meanwhile (end it with `cancel`).
    fn abandon(&self, py: Python<'_>, call: u32) -> bool {
        let mut inner = self.lock(py);
        let waker = inner.wakers.remove(&call);
        let r = inner.engine.abandon(CallId(call));
        drop(inner);
        drop(waker);
        r
    }

    /// Ends a running call that was cancelled (its slot goes to the next waiting call).
    fn cancel(&self, py: Python<'_>, call: u32) -> PyResult<()> {
        self.report(py, CallId(call), Attempt::Cancelled, None, None)
            .map(drop)
    }

    /// Changes a service's configuration: `{section: value}` with sections `preset`,
    /// `config`, `bulkhead`, `retry_policy` (or `retryPolicy`), checked whole first.
    /// `by_call`: the defaults a call brings (a helper's preset, a call's bulkhead),
    /// which leave the service to go with its last breaker.
    #[pyo3(signature = (service, sections, by_call = false))]
    fn update(
        &self,
        py: Python<'_>,
        service: &Bound<'_, PyAny>,
        sections: &Bound<'_, PyDict>,
        by_call: bool,
    ) -> PyResult<()> {
        let service = name::text(name_of("service", service)?)?;
        let service: &str = &service;
        let update = service_update(sections)?;
        let mut fx = Effects::default();
        let r = {
            let mut inner = self.lock(py);
            let now = self.now();
            let r = if by_call {
                inner.engine.update_by_call(service, &update, now)
            } else {
                inner.engine.update(service, &update, now)
            };
            if let Ok(updated) = &r {
                for (id, config) in &updated.reconfigure {
                    if let Some(h) = inner.engine.handle(*id) {
                        // Checked by the engine already.
                        let _ = h.0.get().reconfigure(config.clone());
                        fx.reconfigured.push(h.0.clone_ref(py));
                    }
                }
                for &call in updated.admitted.iter().chain(&updated.rewait) {
                    fx.wake(&mut inner, Some(call));
                }
            }
            fx.collect(&mut inner);
            r
        };
        self.apply(py, fx)?;
        r.map(drop).map_err(config_error)
    }

    /// A service's configuration: `preset`, `config`, `bulkhead`, `retry_policy` (a
    /// service never used reads the defaults).
    fn service_config<'py>(&self, py: Python<'py>, service: Name) -> PyResult<Bound<'py, PyDict>> {
        let inner = self.lock(py);
        let c = inner.engine.service_config_or_default(&service);
        let d = PyDict::new(py);
        d.set_item("preset", c.preset)?;
        d.set_item("config", config_dict(py, c.config)?)?;
        let b = PyDict::new(py);
        b.set_item("max_concurrent", c.bulkhead.max_concurrent)?;
        b.set_item("queue_size", c.bulkhead.queue_size)?;
        b.set_item("max_queue_wait", c.bulkhead.max_queue_wait.map(seconds))?;
        d.set_item("bulkhead", b)?;
        let r = PyDict::new(py);
        let p = &c.retry.policy;
        r.set_item("max_attempts", p.max_attempts)?;
        r.set_item("base_delay", seconds(p.base_delay))?;
        r.set_item("max_delay", seconds(p.max_delay))?;
        r.set_item("multiplier", p.multiplier)?;
        r.set_item("jitter", p.jitter)?;
        r.set_item("retryable_errors", c.retry.classifier.retryable.clone())?;
        r.set_item(
            "non_retryable_errors",
            c.retry.classifier.non_retryable.clone(),
        )?;
        r.set_item("seed", c.retry.seed)?;
        d.set_item("retry_policy", r)?;
        Ok(d)
    }

    /// Whether a service was configured (a preset or options), not on the defaults.
    fn is_configured(&self, py: Python<'_>, service: Name) -> bool {
        self.lock(py).engine.is_configured(&service)
    }

    /// `{"retries": {...}, "bulkhead": {...}}` of a service, or None.
    fn service_stats<'py>(
        &self,
        py: Python<'py>,
        service: Name,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let inner = self.lock(py);
        let (Some(r), Some((s, c))) = (
            inner.engine.retry_counters(&service),
            inner.engine.bulkhead_stats(&service),
        ) else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        let retries = PyDict::new(py);
        retries.set_item("successful_without_retry", r.successful_without_retry)?;
        retries.set_item("successful_with_retry", r.successful_with_retry)?;
        retries.set_item("failed_without_retry", r.failed_without_retry)?;
        retries.set_item("failed_with_retry", r.failed_with_retry)?;
        d.set_item("retries", retries)?;
        d.set_item("bulkhead", bulkhead_dict(py, &s, &c)?)?;
        Ok(Some(d))
    }

    /// A service's bulkhead counters and limits, or None.
    fn bulkhead_stats<'py>(
        &self,
        py: Python<'py>,
        service: Name,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let inner = self.lock(py);
        match inner.engine.bulkhead_stats(&service) {
            Some((s, c)) => Ok(Some(bulkhead_dict(py, &s, &c)?)),
            None => Ok(None),
        }
    }

    /// Every breaker as `(name, service, operation, breaker)`, in key order.
    #[allow(clippy::type_complexity)]
    fn circuits(&self, py: Python<'_>) -> Vec<(String, String, Option<String>, Py<Breaker>)> {
        let inner = self.lock(py);
        inner
            .engine
            .circuits()
            .map(|(_, k, h)| {
                (
                    k.name(),
                    k.service.clone(),
                    k.operation.clone(),
                    h.0.clone_ref(py),
                )
            })
            .collect()
    }

    /// Wakers held for waiting calls (white-box tests: none is left behind).
    fn waker_count(&self, py: Python<'_>) -> usize {
        self.lock(py).wakers.len()
    }

    /// `(count, max, evictions)` of the breakers.
    fn breaker_counts(&self, py: Python<'_>) -> (usize, usize, u64) {
        let inner = self.lock(py);
        (
            inner.engine.len(),
            inner.engine.settings().max_breakers,
            inner.engine.evictions(),
        )
    }

    /// `(overall, {service: {"status", "circuits", "bulkhead", "forced_open"}})`.
    fn health<'py>(&self, py: Python<'py>) -> PyResult<(&'static str, Bound<'py, PyDict>)> {
        let inner = self.lock(py);
        let (overall, services) = inner.engine.health(self.now());
        let out = PyDict::new(py);
        for s in services {
            let d = PyDict::new(py);
            d.set_item("status", s.status.as_str())?;
            let circuits = PyDict::new(py);
            for (op, state) in &s.circuits {
                circuits.set_item(*op, types::state(py, *state)?.getattr("value")?)?;
            }
            d.set_item("circuits", circuits)?;
            d.set_item(
                "bulkhead",
                bulkhead_dict(py, &s.bulkhead, &s.bulkhead_config)?,
            )?;
            d.set_item("forced_open", s.forced_open)?;
            out.set_item(s.name, d)?;
        }
        Ok((overall.as_str(), out))
    }

    /// Forces open one breaker (made if new) or a whole service, operations first used
    /// later included, until `reset`.
    #[pyo3(signature = (service, operation = None))]
    fn force_open(&self, py: Python<'_>, service: Name, operation: Option<Name>) -> PyResult<()> {
        self.manual(py, &service, operation.as_deref(), true)
    }

    /// Resets one breaker, or every breaker of a service and its forced opening.
    #[pyo3(signature = (service, operation = None))]
    fn reset(&self, py: Python<'_>, service: Name, operation: Option<Name>) -> PyResult<()> {
        self.manual(py, &service, operation.as_deref(), false)
    }

    /// The dead letters, oldest first: `(id, service, operation, attempts)`.
    #[allow(clippy::type_complexity)]
    fn dead_letters(&self, py: Python<'_>) -> Vec<(u64, String, Option<String>, u32)> {
        let inner = self.lock(py);
        inner
            .engine
            .dead_letters()
            .map(|(id, d)| {
                (
                    id,
                    d.key.service.clone(),
                    d.key.operation.clone(),
                    d.attempts,
                )
            })
            .collect()
    }

    /// Starts a retry of a dead letter: `(service, operation)`; KeyError for an unknown
    /// id (any int, or not an int), RuntimeError while a retry of it runs.
    fn retry_dead_letter(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
    ) -> PyResult<(String, Option<String>)> {
        let n = item_id(id)?;
        let mut inner = self.lock(py);
        match inner.engine.retry_dead_letter(n) {
            Ok(k) => Ok((k.service, k.operation)),
            Err(DeadLetterError::Unknown) => Err(PyKeyError::new_err(id.clone().unbind())),
            Err(DeadLetterError::Busy) => Err(PyRuntimeError::new_err(format!(
                "dead-letter item {n} is being retried already"
            ))),
        }
    }

    /// A retry of a dead letter ended.
    fn dead_letter_retried(
        &self,
        py: Python<'_>,
        id: u64,
        succeeded: bool,
        attempts: u32,
    ) -> PyResult<()> {
        let mut fx = Effects::default();
        {
            let mut inner = self.lock(py);
            inner.engine.dead_letter_retried(id, succeeded, attempts);
            fx.collect(&mut inner);
        }
        self.apply(py, fx)
    }

    /// Removes a dead letter; whether it was there (False for any unknown id).
    fn remove_dead_letter(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(n) = item_id(id) else { return Ok(false) };
        let mut fx = Effects::default();
        let removed = {
            let mut inner = self.lock(py);
            let r = inner.engine.remove_dead_letter(n);
            fx.collect(&mut inner);
            r
        };
        self.apply(py, fx)?;
        Ok(removed)
    }

    /// Empties the dead-letter queue; the ids it held.
    fn clear_dead_letters(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        let mut fx = Effects::default();
        let ids = {
            let mut inner = self.lock(py);
            let ids = inner.engine.clear_dead_letters();
            fx.collect(&mut inner);
            ids
        };
        self.apply(py, fx)?;
        Ok(ids)
    }

    /// `{"size", "capacity", "dropped"}`.
    fn dead_letter_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.lock(py).engine.dead_letter_stats();
        let d = PyDict::new(py);
        d.set_item("size", s.size)?;
        d.set_item("capacity", s.capacity)?;
        d.set_item("dropped", s.dropped)?;
        Ok(d)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(cb) = self.callbacks.try_lock() {
            if let Some((f, a)) = cb.as_ref() {
                visit.call(f)?;
                visit.call(a)?;
            }
        }
        if let Ok(inner) = self.inner.try_lock() {
            for w in inner.wakers.values() {
                visit.call(w)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let old = lock_plain(&self.callbacks).take();
        drop(old);
        let wakers = std::mem::take(&mut lock_plain(&self.inner).wakers);
        drop(wakers);
    }
}

impl Service {
    fn manual(
        &self,
        py: Python<'_>,
        service: &str,
        operation: Option<&str>,
        open: bool,
    ) -> PyResult<()> {
        let mut fx = Effects::default();
        let targets: Vec<(CircuitId, Py<Breaker>)> = {
            let mut inner = self.lock(py);
            let r = (|| -> PyResult<_> {
                if open {
                    if let Some(op) = operation {
                        self.circuit_locked(py, &mut inner, service, Some(op), None, &mut fx)?;
                    }
                }
                let ids = if open {
                    inner.engine.force_open(service, operation)
                } else {
                    inner.engine.reset(service, operation)
                };
                Ok(ids
                    .into_iter()
                    .filter_map(|id| inner.engine.handle(id).map(|h| (id, h.0.clone_ref(py))))
                    .collect())
            })();
            fx.collect(&mut inner);
            r
        }?;
        self.apply(py, fx)?;
        // Through the facade, so that the breakers' listeners hear it.
        let method = if open {
            intern!(py, "open")
        } else {
            intern!(py, "reset")
        };
        for (_, b) in &targets {
            b.bind(py).call_method0(method)?;
        }
        let mut fx = Effects::default();
        {
            let mut inner = self.lock(py);
            let now = self.now();
            for (id, b) in &targets {
                if inner.engine.handle(*id).is_some_and(|h| h.0.is(b)) {
                    inner.engine.observe(*id, now);
                }
            }
            fx.collect(&mut inner);
        }
        self.apply(py, fx)
    }
}

/// Registers `_core.Service` and its step kinds.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Service>()?;
    m.add_class::<Pending>()?;
    m.add_class::<Unstarted>()?;
    m.add("STEP_DONE", DONE)?;
    m.add("STEP_RUN", RUN)?;
    m.add("STEP_RETRY", RETRY)?;
    m.add("STEP_WAIT", WAIT)?;
    m.add("STEP_FAILED", FAILED)?;
    m.add("STEP_REFUSED", REFUSED)?;
    m.add("STEP_CANCELLED", CANCELLED)?;
    Ok(())
}
