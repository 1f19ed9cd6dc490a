//! `_core.Breaker`, the base of `tripwire.CircuitBreaker`: the hot paths (`call`,
//! the sync decorator, acquire/record through `Permit`) run here. The core breaker
//! sits behind a short mutex that is never held while Python code runs.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use pyo3::call::PyCallArgs;
use pyo3::exceptions::{PyException, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use pyo3::{intern, PyTraverseError, PyVisit};
use tripwire_core::{
    Breaker as CoreBreaker, ConfigShare, Outcome, Rejected, Snapshot, State, Transition,
};

use crate::clock::seconds;
use crate::errors;
use crate::name;
use crate::options::{self, Exclude};
use crate::service::Service;
use crate::store::{Admitted, Engine, LeaseAnswer, Manual, Ticket};
use crate::types;

thread_local! {
    /// Breakers made in a row (per thread) with equal options share their configuration.
    static CONFIGS: std::cell::RefCell<ConfigShare> = std::cell::RefCell::new(ConfigShare::default());
}

/// One circuit breaker. `tripwire.CircuitBreaker` is the class to use.
#[pyclass(subclass, frozen, module = "tripwire._core")]
pub struct Breaker {
    name: Py<PyString>,
    /// The process's own engine, or the fleet's through a store.
    pub(crate) engine: Engine,
    /// Replaced whole by `_reconfigure(exclude=...)` (pybreaker's
    /// `add_excluded_exception`); a call judges its error by the one it reads.
    exclude: Mutex<Arc<Exclude>>,
    fallback: Option<Py<PyAny>>,
    /// `is_failure_result(result)`: a returned value that counts as a failure (set at
    /// construction, or by a service's `config` when it makes the breaker).
    is_failure_result: OnceLock<Py<PyAny>>,
    /// Whether the facade has listeners: only then are the per-call `_hook_*` methods
    /// called (`_hook_state_change` is called on every transition: tripwire's logger).
    hooks: AtomicBool,
    /// The facade's `_slow` flag negated (`_set_hooks`): an async call through the
    /// service may then take its permit in `execute` (`quick_acquire`).
    quick: AtomicBool,
    /// The failure that last opened the circuit: the `__cause__` of rejections.
    last_failure: Mutex<Option<Py<PyAny>>>,
    /// Calls in flight: permits out and calls running (the registry's idle check).
    in_flight: AtomicU32,
    /// With `half_open_wait`: where callers wait for a half-open trial.
    gate: Option<Box<TrialGate>>,
    /// Set by `tripwire.pybreaker` (`_pybreaker(error_class)`): refusals are
    /// instances of that class, a generator result is guarded until it finishes
    /// (`_hook_generator`), the failure that trips may be replaced
    /// (`_hook_tripped`), and listeners hear pybreaker's order.
    pybreaker: OnceLock<Py<PyType>>,
}

/// Callers waiting for a half-open trial (`half_open_wait`) sleep here until a call
/// ends or the state is changed by hand (`ended` counts those), then ask the core
/// again: it decides who runs. Counting is one atomic add per trial; the mutex and
/// condition variable are touched only while someone waits (tripwire.pybreaker's
/// breakers all have a gate: its cost is on every call).
#[derive(Default)]
struct TrialGate {
    ended: AtomicU64,
    waiting: AtomicU32,
    lock: Mutex<()>,
    changed: std::sync::Condvar,
    /// The thread running the trial `run` admitted last, until it ends: a call it
    /// makes meanwhile is part of its trial and must not wait for it.
    holder: Mutex<Option<std::thread::ThreadId>>,
}

/// How the breaker sees an exception raised by a protected call.
enum Verdict {
    /// Counted as a failure.
    Failure,
    /// Excluded: propagates, not counted.
    Ignored,
    /// Not an `Exception` (cancellation, KeyboardInterrupt, SystemExit): not counted.
    Cancelled,
}

/// The outcome of a success that made a transition: one that opens the circuit was
/// slow (slow calls count as failures).
fn success_outcome(t: Transition) -> &'static str {
    if t.to == State::Open {
        "slowCall"
    } else {
        "success"
    }
}

/// What an error raised by a listener, an `exclude` predicate or `is_failure_result`
/// does: an `Exception` is reported through `sys.unraisablehook` and the call goes on;
/// anything else (`KeyboardInterrupt`, `SystemExit`) propagates to the caller once the
/// outcome is recorded.
fn callback_error(py: Python<'_>, error: PyErr, source: &Bound<'_, PyAny>) -> PyResult<()> {
    if error.is_instance_of::<PyException>(py) {
        error.write_unraisable(py, Some(source));
        Ok(())
    } else {
        Err(error)
    }
}

/// Asks `predicate` (an `exclude` one, `is_failure_result`) about `value`. One that
/// raises an `Exception` says no (the error is reported); its `KeyboardInterrupt` or
/// `SystemExit` is the `Err`.
fn ask(predicate: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    predicate
        .call1((value,))
        .and_then(|r| r.is_truthy())
        .or_else(|e| callback_error(predicate.py(), e, predicate).map(|()| false))
}

/// Whether `value` is a generator (`types.GeneratorType`).
fn is_generator(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    static GENERATOR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    Ok(value
        .get_type()
        .is(GENERATOR.import(py, "types", "GeneratorType")?))
}

impl Breaker {
    /// The name it was made with as the engine has it: its key in the registry.
    pub(crate) fn key(&self, py: Python<'_>) -> PyResult<String> {
        Ok(name::text(self.name.bind(py))?.into_owned())
    }

    /// The registry's question (core `Eviction`): idle (CLOSED, not forced or
    /// disabled, nothing in flight) with its activity count, or busy.
    pub(crate) fn probe(&self) -> tripwire_core::Probe {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return tripwire_core::Probe::Busy;
        }
        let s = self.engine.stats();
        if s.state != State::Closed || s.forced_open || s.disabled {
            return tripwire_core::Probe::Busy;
        }
        tripwire_core::Probe::Idle {
            activity: s.requests + s.rejected + s.ignored,
        }
    }

    /// Errs with an `exclude` predicate's `KeyboardInterrupt` or `SystemExit`.
    fn verdict(&self, slf: &Bound<'_, Self>, error: &Bound<'_, PyAny>) -> PyResult<Verdict> {
        let py = slf.py();
        if !error.is_instance_of::<PyException>() {
            return Ok(Verdict::Cancelled);
        }
        // A clone: a predicate may replace the exclusions (the lock is not held while it runs).
        let exclude = Arc::clone(&self.exclude.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(types) = &exclude.types {
            if error.is_instance(types.bind(py)).unwrap_or(false) {
                return Ok(Verdict::Ignored);
            }
        }
        for predicate in &exclude.predicates {
            if ask(predicate.bind(py), error)? {
                return Ok(Verdict::Ignored);
            }
        }
        Ok(Verdict::Failure)
    }

    /// Records the end of a call that raised `error`, judged by `verdict`; returns
    /// whether it counted as a failure. Errs with the error to raise instead: a
    /// listener's or an `exclude` predicate's `KeyboardInterrupt` / `SystemExit`, or
    /// pybreaker's `CircuitBreakerError` on the failure that trips.
    fn record_error(
        &self,
        slf: &Bound<'_, Self>,
        permit: Ticket,
        error: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let (verdict, interrupt) = match self.verdict(slf, error) {
            Ok(verdict) => (verdict, None),
            // The predicate did not exclude, as when it raises an `Exception`.
            Err(interrupt) => (Verdict::Failure, Some(interrupt)),
        };
        match verdict {
            Verdict::Failure => {
                let instead = self.record_failure(slf, permit, error)?;
                interrupt.or(instead).map_or(Ok(true), Err)
            }
            Verdict::Ignored => {
                self.record_ignored(slf, permit)?;
                Ok(false)
            }
            Verdict::Cancelled => {
                self.record(permit, Outcome::Cancelled);
                Ok(false)
            }
        }
    }

    /// After any transition: forget the last failure once closed, tell the facade
    /// (listeners and tripwire's logger) what changed, the core's cause of it, and the
    /// outcome of the call that made it (`"failure"`, `"timeout"`, `"success"`,
    /// `"slowCall"`; None for an acquire, a manual operation or the fleet's state
    /// adopted). Transitions are rare: the facade hears of each. Errs only with a
    /// listener's `KeyboardInterrupt` or `SystemExit`.
    pub(crate) fn transitioned(
        &self,
        slf: &Bound<'_, Self>,
        transition: Transition,
        outcome: Option<&'static str>,
    ) -> PyResult<()> {
        if transition.to == State::Closed {
            let old = self
                .last_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            drop(old);
        }
        if transition.from != transition.to {
            let py = slf.py();
            let result = (|| {
                let args = (
                    types::state(py, transition.from)?,
                    types::state(py, transition.to)?,
                    transition.cause.name(),
                    outcome,
                );
                slf.call_method1(intern!(py, "_hook_state_change"), args)
            })();
            if let Err(e) = result {
                return callback_error(py, e, slf.as_any());
            }
        }
        // Every transition (OPEN -> OPEN too: a trip ends a forced open) re-sets it.
        if self.engine.config().half_open_timer {
            slf.call_method0(intern!(slf.py(), "_arm_half_open"))?;
        }
        Ok(())
    }

    fn hook<'py>(
        &self,
        slf: &Bound<'py, Self>,
        name: &Bound<'py, PyString>,
        args: impl PyCallArgs<'py>,
    ) -> PyResult<()> {
        match slf.call_method1(name, args) {
            Ok(_) => Ok(()),
            Err(e) => callback_error(slf.py(), e, slf.as_any()),
        }
    }

    /// The refusal as an exception, with the failure that opened the circuit as its cause.
    fn refusal(&self, py: Python<'_>, rejected: Rejected) -> PyResult<PyErr> {
        let error = errors::open_error(py, self.pybreaker.get(), &self.name, rejected)?;
        let cause = self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|c| c.clone_ref(py));
        if let Some(cause) = cause {
            // SAFETY: `error` is an exception instance (a subclass of Exception) and
            // `cause` one too (only exceptions are kept); PyException_SetCause steals
            // the reference `into_ptr` hands over. This is `raise ... from cause`
            // without the two PyErr allocations of `PyErr::set_cause`.
            unsafe { pyo3::ffi::PyException_SetCause(error.as_ptr(), cause.into_ptr()) };
        }
        Ok(PyErr::from_value(error.into_any()))
    }

    /// Records a failure outcome and keeps the error if it opened the circuit. Returns
    /// the error to raise instead of the call's own, if any (pybreaker's
    /// `CircuitBreakerError` on the failure that trips: `_hook_tripped`).
    fn record_failure(
        &self,
        slf: &Bound<'_, Self>,
        permit: Ticket,
        error: &Bound<'_, PyAny>,
    ) -> PyResult<Option<PyErr>> {
        let transition = self.record(permit, Outcome::Failure);
        let pybreaker = self.pybreaker.get().is_some();
        let hooks = self.hooks.load(Ordering::Relaxed);
        // pybreaker tells the listeners' `failure` before the state change it causes,
        // and in the state before it (the facade shows that one to them).
        if hooks && pybreaker {
            let py = slf.py();
            let before = transition.map(|t| types::state(py, t.from)).transpose()?;
            self.hook(slf, intern!(py, "_hook_failure"), (error, before))?;
        }
        if let Some(t) = transition {
            if t.to == State::Open {
                let old = self
                    .last_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .replace(error.clone().unbind());
                drop(old);
            }
            self.transitioned(slf, t, Some("failure"))?;
        }
        if hooks && !pybreaker {
            self.hook(slf, intern!(slf.py(), "_hook_failure"), (error,))?;
        }
        match transition {
            Some(t) if pybreaker && t.to == State::Open && t.from != State::Open => {
                let py = slf.py();
                let instead = slf.call_method1(
                    intern!(py, "_hook_tripped"),
                    (error, types::state(py, t.from)?),
                )?;
                Ok((!instead.is_none()).then(|| PyErr::from_value(instead)))
            }
            _ => Ok(None),
        }
    }

    /// Records an excluded error: not counted, or a success with `ignored_as_success`
    /// (which may close a half-open circuit); pybreaker's listeners hear a success.
    fn record_ignored(&self, slf: &Bound<'_, Self>, permit: Ticket) -> PyResult<()> {
        if let Some(t) = self.record(permit, Outcome::Ignored) {
            self.transitioned(slf, t, Some("ignored"))?;
        }
        if self.pybreaker.get().is_some() && self.hooks.load(Ordering::Relaxed) {
            self.hook(slf, intern!(slf.py(), "_hook_success"), ())?;
        }
        Ok(())
    }

    /// pybreaker's generator functions: the call's outcome is the generator's, recorded
    /// when it finishes (`_hook_generator` wraps it with the permit). As pybreaker's
    /// lock is held only while the function is called, a trial's slot is handed back
    /// at once: no caller waits for a generator, iterated later or never.
    fn guard_generator(
        slf: &Bound<'_, Self>,
        permit: Ticket,
        generator: Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let permit = match this.engine.release_slot(permit) {
            released if permit.is_trial() && !released.is_trial() => {
                this.hold_trial(false);
                this.ended();
                released
            }
            kept => kept,
        };
        this.in_flight.fetch_add(1, Ordering::AcqRel);
        let permit = Py::new(
            py,
            Permit {
                breaker: slf.clone().unbind(),
                permit,
                done: AtomicBool::new(false),
                transition: None,
                service_call: OnceLock::new(),
            },
        )?;
        Ok(slf
            .call_method1(intern!(py, "_hook_generator"), (permit, generator))?
            .unbind())
    }

    /// Records a call that returned `value`: a failure when `is_failure_result` says so
    /// (the listeners' `failure` gets the value), else a success (also when the
    /// predicate raises). The value still goes to the caller. The sync path (`run`)
    /// and the async one (`Permit._resolved`) both end here. Returns whether it counted
    /// as a failure; errs with a listener's or the predicate's `KeyboardInterrupt` /
    /// `SystemExit`, raised once the outcome is recorded.
    fn record_value(
        &self,
        slf: &Bound<'_, Self>,
        permit: Ticket,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let (failed, interrupt) = match self.is_failure_result.get() {
            None => (false, None),
            Some(predicate) => match ask(predicate.bind(slf.py()), value) {
                Ok(failed) => (failed, None),
                Err(interrupt) => (false, Some(interrupt)),
            },
        };
        if failed {
            if let Some(t) = self.record(permit, Outcome::Failure) {
                self.transitioned(slf, t, Some("failure"))?;
            }
            if self.hooks.load(Ordering::Relaxed) {
                self.hook(slf, intern!(slf.py(), "_hook_failure"), (value,))?;
            }
        } else {
            self.record_success(slf, permit)?;
        }
        interrupt.map_or(Ok(failed), Err)
    }

    /// Records a success (a timeout if it overran `request_timeout`).
    fn record_success(&self, slf: &Bound<'_, Self>, permit: Ticket) -> PyResult<()> {
        if let Some(t) = self.record(permit, Outcome::Success) {
            self.transitioned(slf, t, Some(success_outcome(t)))?;
        }
        if self.hooks.load(Ordering::Relaxed) {
            self.hook(slf, intern!(slf.py(), "_hook_success"), ())?;
        }
        Ok(())
    }

    /// Records a permit's outcome; callers waiting for a trial ask again.
    fn record(&self, permit: Ticket, outcome: Outcome) -> Option<Transition> {
        let trial = permit.is_trial();
        if trial {
            self.hold_trial(false);
        }
        let transition = self.engine.record(permit, outcome);
        // Waiters wait for a trial slot: only a trial's end or a change of state can
        // free one (a permit of an older generation is not counted). Closed calls
        // leave the gate alone, so threads sharing a breaker share no counter.
        if trial || transition.is_some() {
            self.ended();
        }
        transition
    }

    /// A call ended or the state was changed: wakes the callers waiting for a trial.
    fn ended(&self) {
        if let Some(gate) = &self.gate {
            gate.ended.fetch_add(1, Ordering::SeqCst);
            // A waiter counts itself before it checks `ended` under the lock, and
            // waits without letting go of it: taking the lock here cannot miss it.
            if gate.waiting.load(Ordering::SeqCst) > 0 {
                drop(gate.lock.lock().unwrap_or_else(PoisonError::into_inner));
                gate.changed.notify_all();
            }
        }
    }

    /// Notes that this thread runs a trial (`true`), or no longer does. Trials only.
    fn hold_trial(&self, held: bool) {
        if let Some(gate) = &self.gate {
            let me = std::thread::current().id();
            let mut holder = gate.holder.lock().unwrap_or_else(PoisonError::into_inner);
            if held {
                *holder = Some(me);
            } else if *holder == Some(me) {
                *holder = None;
            }
        }
    }

    /// Whether this thread runs a trial `run` admitted (a re-entrant call is in it).
    fn holds_trial(&self) -> bool {
        self.gate.as_ref().is_some_and(|gate| {
            *gate.holder.lock().unwrap_or_else(PoisonError::into_inner)
                == Some(std::thread::current().id())
        })
    }

    /// How many calls have ended (the gate's count), or None without `half_open_wait`.
    fn epoch(&self) -> Option<u64> {
        self.gate
            .as_ref()
            .map(|gate| gate.ended.load(Ordering::SeqCst))
    }

    /// Waits, without the GIL, until a call ends after `seen` (see `epoch`). Signals
    /// (Ctrl-C) are checked every 50 ms.
    fn wait_trial(&self, py: Python<'_>, seen: u64) -> PyResult<()> {
        let Some(gate) = &self.gate else {
            return Ok(());
        };
        loop {
            let moved = py.detach(|| {
                gate.waiting.fetch_add(1, Ordering::SeqCst);
                let guard = gate.lock.lock().unwrap_or_else(PoisonError::into_inner);
                let (guard, _) = gate
                    .changed
                    .wait_timeout_while(guard, std::time::Duration::from_millis(50), |()| {
                        gate.ended.load(Ordering::SeqCst) == seen
                    })
                    .unwrap_or_else(PoisonError::into_inner);
                drop(guard);
                gate.waiting.fetch_sub(1, Ordering::SeqCst);
                gate.ended.load(Ordering::SeqCst) != seen
            });
            if moved {
                return Ok(());
            }
            py.check_signals()?;
        }
    }

    /// Runs `func(*args, **kwargs)` under the breaker: the sync hot path.
    pub(crate) fn run(
        slf: &Bound<'_, Self>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let this = slf.get();
        let py = slf.py();
        let refused = |rejected| match &this.fallback {
            Some(fallback) => {
                this.engine.record_fallback();
                Ok(fallback.bind(py).call(args, kwargs)?.unbind())
            }
            None => Err(this.refusal(py, rejected)?),
        };
        let permit = loop {
            // Read before asking: a call that ends in between still wakes this one.
            let seen = this.epoch();
            match this.engine.try_acquire() {
                Admitted::Permit(permit) => break permit,
                // A call made inside this thread's own trial (re-entrant, as pybreaker's
                // lock allows) runs as part of it: waiting would be for itself.
                Admitted::Rejected(rejected) if rejected.may_wait && this.holds_trial() => {
                    match this.engine.try_acquire_nested(rejected) {
                        Ok(permit) => break permit,
                        Err(rejected) => return refused(rejected),
                    }
                }
                Admitted::Rejected(rejected) if rejected.may_wait && seen.is_some() => {
                    this.wait_trial(py, seen.unwrap_or_default())?;
                }
                Admitted::Rejected(rejected) => return refused(rejected),
                // Half-open, shared: the fleet-wide trial lease, waited for without the GIL.
                Admitted::Lease(lease) => match py.detach(move || lease.wait()) {
                    Ok(permit) => break Ticket::Permit(permit),
                    Err(rejected) => return refused(rejected),
                },
            }
        };
        if permit.is_trial() {
            this.hold_trial(true);
        }
        // A listener's KeyboardInterrupt / SystemExit before the call: the call does
        // not run, and its permit is handed back.
        let before = (|| {
            if let Some(t) = permit.transition() {
                this.transitioned(slf, t, None)?;
            }
            if this.hooks.load(Ordering::Relaxed) {
                let kw = kwargs.map_or_else(|| PyDict::new(py), Clone::clone);
                this.hook(slf, intern!(py, "_hook_before_call"), (func, args, kw))?;
            }
            Ok(())
        })();
        if let Err(interrupt) = before {
            this.record(permit, Outcome::Cancelled);
            return Err(interrupt);
        }
        this.in_flight.fetch_add(1, Ordering::AcqRel);
        let result = func.call(args, kwargs);
        this.in_flight.fetch_sub(1, Ordering::AcqRel);
        match result {
            Ok(value) => {
                if this.pybreaker.get().is_some() && is_generator(py, &value)? {
                    return Breaker::guard_generator(slf, permit, value);
                }
                this.record_value(slf, permit, &value)?;
                Ok(value.unbind())
            }
            Err(err) => {
                let failed = this.record_error(slf, permit, err.value(py))?;
                match &this.fallback {
                    Some(fallback) if failed => {
                        this.engine.record_fallback();
                        Ok(fallback.bind(py).call(args, kwargs)?.unbind())
                    }
                    _ => Err(err),
                }
            }
        }
    }

    fn manual(slf: &Bound<'_, Self>, op: Manual) -> PyResult<Py<PyAny>> {
        let this = slf.get();
        let t = this.engine.manual(op);
        this.ended();
        this.transitioned(slf, t, None)?;
        Ok(types::transition(slf.py(), t)?.unbind())
    }
}

#[pymethods]
impl Breaker {
    #[new]
    #[pyo3(signature = (name, *args, **options))]
    fn new(
        name: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let name = name.cast::<PyString>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "the breaker's name must be a str, not {}",
                name.get_type()
                    .name()
                    .map_or_else(|_| "an object".into(), |n| n.to_string())
            ))
        })?;
        if !args.is_empty() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "CircuitBreaker() takes the name as its only positional argument; options are keywords",
            ));
        }
        let parsed = options::parse(options)?;
        let config = CONFIGS.with_borrow_mut(|configs| configs.share(parsed.config));
        let engine = Engine::new(
            &name::text(name)?,
            config,
            parsed.clock,
            parsed.store,
            parsed.join_later,
        )?;
        Ok(Breaker {
            name: name.clone().unbind(),
            engine,
            exclude: Mutex::new(Arc::new(parsed.exclude)),
            fallback: parsed.fallback,
            is_failure_result: parsed
                .is_failure_result
                .map_or_else(OnceLock::new, OnceLock::from),
            hooks: AtomicBool::new(false),
            quick: AtomicBool::new(false),
            last_failure: Mutex::new(None),
            in_flight: AtomicU32::new(0),
            gate: parsed
                .config
                .half_open_wait
                .then(|| Box::new(TrialGate::default())),
            pybreaker: OnceLock::new(),
        })
    }

    /// The breaker's name (its key in the registry).
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// The effective state now: HALF_OPEN once the open duration has passed.
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        types::state(py, self.engine.state())
    }

    /// The per-call timeout in seconds, or None.
    #[getter]
    fn request_timeout(&self) -> Option<f64> {
        self.engine.config().call_timeout.map(seconds)
    }

    /// The fallback, or None.
    #[getter]
    fn fallback(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.fallback.as_ref().map(|f| f.clone_ref(py))
    }

    /// The `is_failure_result` predicate, or None.
    #[getter]
    fn is_failure_result(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.is_failure_result.get().map(|f| f.clone_ref(py))
    }

    /// Counters, rates and timings now, as a `CircuitBreakerStats`.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.engine.stats();
        let at = |t: Option<u64>| t.map(|t| self.engine.seconds(t));
        let fields = PyDict::new(py);
        fields.set_item("state", types::state(py, s.state)?)?;
        fields.set_item("failure_count", s.failures)?;
        fields.set_item("success_count", s.successes)?;
        fields.set_item("total_requests", s.requests)?;
        fields.set_item("failure_rate", s.failure_rate)?;
        fields.set_item("consecutive_failures", s.consecutive_failures)?;
        fields.set_item("consecutive_successes", s.consecutive_successes)?;
        fields.set_item("failure_streak", s.failure_streak)?;
        fields.set_item("timeout_count", s.timeouts)?;
        fields.set_item("rejected_count", s.rejected)?;
        fields.set_item("slow_call_count", s.slow_calls)?;
        fields.set_item("ignored_count", s.ignored)?;
        fields.set_item("slow_call_rate", s.slow_call_rate)?;
        fields.set_item("window_calls", s.window_calls)?;
        fields.set_item("window_failures", s.window_failures)?;
        fields.set_item("trips", s.trips)?;
        fields.set_item("last_failure_time", at(s.last_failure_at))?;
        fields.set_item("last_success_time", at(s.last_success_at))?;
        fields.set_item("next_attempt_time", at(s.next_attempt_at))?;
        fields.set_item("average_response_time", s.mean_latency / 1e9)?;
        fields.set_item("latency_p50", s.latency_p50.map(seconds))?;
        fields.set_item("latency_p90", s.latency_p90.map(seconds))?;
        fields.set_item("latency_p99", s.latency_p99.map(seconds))?;
        fields.set_item("forced_open", s.forced_open)?;
        fields.set_item("disabled", s.disabled)?;
        self.engine.link_fields(&fields)?;
        types::stats(py, &fields)
    }

    /// Runs `func(*args, **kwargs)` through the breaker and returns its result.
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn call(
        slf: &Bound<'_, Self>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        Breaker::run(slf, func, args, kwargs)
    }

    /// Asks leave to run one call: a `Permit` to end with its outcome, or
    /// `CircuitBreakerOpenError` (raised) when the breaker refuses.
    /// Half-open in a shared breaker, this waits (without the GIL) for the fleet-wide
    /// trial lease.
    fn acquire(slf: &Bound<'_, Self>) -> PyResult<Py<Permit>> {
        let admitted = match Breaker::try_acquire(slf)? {
            Ok(admitted) => admitted,
            Err(lease) => Breaker::admitted(
                slf,
                slf.py().detach(move || lease.wait()).map(Ticket::Permit),
            )?,
        };
        match admitted.cast_into::<Permit>() {
            Ok(permit) => Ok(permit.unbind()),
            Err(refusal) => Err(PyErr::from_value(refusal.into_inner())),
        }
    }

    /// Like `acquire`, but returns the refusal instead of raising it.
    fn _try_acquire(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Ok(match Breaker::try_acquire(slf)? {
            Ok(admitted) => admitted.unbind(),
            Err(lease) => Breaker::admitted(
                slf,
                slf.py().detach(move || lease.wait()).map(Ticket::Permit),
            )?
            .unbind(),
        })
    }

    /// Like `_try_acquire`, but a fleet-wide trial lease is an `asyncio.Future` of the
    /// running loop, resolved with the permit or the refusal.
    fn _try_acquire_async(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Ok(match Breaker::try_acquire(slf)? {
            Ok(admitted) => admitted.unbind(),
            Err(lease) => LeaseAnswer::future(slf, lease)?.unbind(),
        })
    }

    /// Lets the store's background events (transitions found in the background,
    /// `storeDown` / `storeUp`) reach this breaker; the facade calls it once.
    fn _bind_store(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().engine.bind(slf)
    }

    /// Opens the circuit until `close()` or `reset()`; returns the transition.
    fn open(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Breaker::manual(slf, Manual::ForceOpen)
    }

    /// Opens the circuit as if it had tripped: it half-opens after the open duration.
    fn trip(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Breaker::manual(slf, Manual::Trip)
    }

    /// Half-opens the circuit now: the next calls are trials.
    fn half_open(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Breaker::manual(slf, Manual::HalfOpen)
    }

    /// The windowed statistics (`window_stats=True`) as a dict, or None: per bucket of
    /// the time window (oldest first) and summed, successes, failures, rejects,
    /// timeouts and fallbacks; `latency_mean` and `percentiles` (fraction -> seconds).
    #[getter]
    fn window_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(w) = self
            .engine
            .local_with(|b, now| b.window_stats(now))
            .flatten()
        else {
            return Ok(None);
        };
        let counts = |b: &tripwire_core::BucketCounts, d: &Bound<'py, PyDict>| -> PyResult<()> {
            d.set_item("successes", b.successes)?;
            d.set_item("failures", b.failures)?;
            d.set_item("rejects", b.rejects)?;
            d.set_item("timeouts", b.timeouts)?;
            d.set_item("fallbacks", b.fallbacks)
        };
        let out = PyDict::new(py);
        out.set_item("bucket_width", seconds(w.bucket_width))?;
        let buckets = pyo3::types::PyList::empty(py);
        for b in &w.buckets {
            let d = PyDict::new(py);
            counts(b, &d)?;
            buckets.append(d)?;
        }
        out.set_item("buckets", buckets)?;
        counts(&w.total, &out)?;
        out.set_item("latency_mean", w.latency_mean / 1e9)?;
        let percentiles = PyDict::new(py);
        for (q, p) in tripwire_core::PERCENTILES.iter().zip(w.percentiles) {
            percentiles.set_item(q, p.map(seconds))?;
        }
        out.set_item("percentiles", percentiles)?;
        Ok(Some(out))
    }

    /// Counts a fallback the facade ran (windowed statistics only).
    fn _record_fallback(&self) {
        self.engine.record_fallback();
    }

    /// How many calls have ended, for `_wait_trial`; None without `half_open_wait`.
    fn _trial_epoch(&self) -> Option<u64> {
        self.epoch()
    }

    /// Blocks (without the GIL) until a call ends after `seen` (`_trial_epoch`): what
    /// `call_async` runs in an executor to wait for a half-open trial.
    fn _wait_trial(&self, py: Python<'_>, seen: u64) -> PyResult<()> {
        self.wait_trial(py, seen)
    }

    /// Whether OPEN -> HALF_OPEN is reported from a timer (`half_open_timer`).
    fn _has_half_open_timer(&self) -> bool {
        self.engine.config().half_open_timer
    }

    /// Seconds until the half-open timer should fire (0 if due), or None for no timer.
    fn _half_open_delay(&self) -> Option<f64> {
        self.engine
            .local_with(|b, now| {
                b.half_open_due()
                    .map(|due| seconds(due.saturating_sub(now)))
            })
            .flatten()
    }

    /// What the half-open timer does: OPEN -> HALF_OPEN once the open duration has
    /// ended (listeners told); whether it moved.
    fn _elapse(slf: &Bound<'_, Self>) -> PyResult<bool> {
        let this = slf.get();
        let Some(t) = this.engine.local_with(|b, now| b.elapse(now)).flatten() else {
            return Ok(false);
        };
        this.transitioned(slf, t, None)?;
        Ok(true)
    }

    /// Closes the circuit and clears the window (totals are kept).
    fn close(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Breaker::manual(slf, Manual::Close)
    }

    /// Back to a new breaker's state: closed, window and totals cleared.
    fn reset(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Breaker::manual(slf, Manual::Reset)
    }

    /// Always permits (still counting) until `enable()`.
    fn disable(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Breaker::manual(slf, Manual::Disable)
    }

    /// Ends `disable()`.
    fn enable(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Breaker::manual(slf, Manual::Enable)
    }

    /// The whole state as a JSON-compatible dict (for warm starts).
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let snapshot = self
            .engine
            .local("snapshot")?
            .with(|b, now| b.snapshot(now));
        let text =
            serde_json::to_string(&snapshot).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        py.import(intern!(py, "json"))?
            .call_method1(intern!(py, "loads"), (text,))
    }

    /// Takes the state of `snapshot` (from `snapshot()`, possibly of another process).
    fn restore(&self, py: Python<'_>, snapshot: &Bound<'_, PyAny>) -> PyResult<()> {
        let text: String = py
            .import(intern!(py, "json"))?
            .call_method1(intern!(py, "dumps"), (snapshot,))?
            .extract()?;
        let snapshot: Snapshot = serde_json::from_str(&text)
            .map_err(|e| PyValueError::new_err(format!("cannot restore snapshot: {e}")))?;
        self.engine
            .local("restore")?
            .with(|b, now| {
                CoreBreaker::restore(*b.config(), &snapshot, now).map(|restored| *b = restored)
            })
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let old = self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(old);
        Ok(())
    }

    /// Turns the `_hook_*` calls on or off (the facade does, when it has listeners);
    /// `slow`: the facade's `_slow` flag (kept here so that a call reads no attribute).
    #[pyo3(signature = (enabled, slow = true))]
    fn _set_hooks(&self, enabled: bool, slow: bool) {
        self.hooks.store(enabled, Ordering::Relaxed);
        self.quick.store(!slow, Ordering::Relaxed);
    }

    /// `tripwire.pybreaker`'s breaker: refusals are `error_class` instances (made as
    /// `CircuitBreakerOpenError`s are), and pybreaker's rules for generators, the
    /// tripping failure and the listeners' order apply. Once, at construction.
    fn _pybreaker(&self, error_class: &Bound<'_, PyType>) -> PyResult<()> {
        if !error_class.is_subclass(errors::refusal_class(error_class.py())?)? {
            return Err(PyValueError::new_err(
                "the refusal class must subclass tripwire.CircuitBreakerError",
            ));
        }
        self.pybreaker
            .set(error_class.clone().unbind())
            .map_err(|_| PyRuntimeError::new_err("_pybreaker() was already called"))
    }

    /// Runs on new options from now on, keeping the state and counts (pybreaker's
    /// `fail_max = ...`). The options are the constructor's; each must be given again
    /// (the engine's and `exclude`).
    #[pyo3(signature = (**options))]
    fn _reconfigure(&self, options: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let parsed = options::parse(options)?;
        let config = CONFIGS.with_borrow_mut(|configs| configs.share(parsed.config));
        self.reconfigure(config).map_err(options::config_error)?;
        let old = std::mem::replace(
            &mut *self.exclude.lock().unwrap_or_else(PoisonError::into_inner),
            Arc::new(parsed.exclude),
        );
        // Dropped after the lock: releasing a predicate may run Python code.
        drop(old);
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(f) = &self.fallback {
            visit.call(f)?;
        }
        if let Some(f) = self.is_failure_result.get() {
            visit.call(f)?;
        }
        if let Ok(exclude) = self.exclude.try_lock() {
            if let Some(t) = &exclude.types {
                visit.call(t)?;
            }
            for p in &exclude.predicates {
                visit.call(p)?;
            }
        }
        if let Some(c) = self.pybreaker.get() {
            visit.call(c)?;
        }
        // The kept failure's traceback may reach back to this breaker.
        if let Ok(last) = self.last_failure.try_lock() {
            if let Some(error) = last.as_ref() {
                visit.call(error)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let old = self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(old);
    }
}

impl Breaker {
    /// A service's `config` gives a breaker it just made its `is_failure_result` (as in
    /// Node, hooks apply when the breaker is made).
    pub(crate) fn judge_results(&self, predicate: Py<PyAny>) {
        // A breaker the service just made has none: the factory gives no options.
        let _ = self.is_failure_result.set(predicate);
    }

    /// What the service engine reads of this breaker at `now`.
    pub(crate) fn facts(&self, now: u64) -> tripwire_core::resilience::Facts {
        self.engine.facts(now)
    }

    /// What metrics show of this breaker: its stats at `now` (its own clock's reading
    /// when `None`), lifetime counters and durations.
    pub(crate) fn sample(
        &self,
        now: Option<u64>,
    ) -> (
        tripwire_core::Stats,
        tripwire_core::Lifetime,
        tripwire_core::Durations,
    ) {
        self.engine.sample(now)
    }

    /// Runs on `config` from now on, keeping the state (the service's configuration changed).
    pub(crate) fn reconfigure(
        &self,
        config: std::sync::Arc<tripwire_core::Config>,
    ) -> Result<(), tripwire_core::ConfigError> {
        self.engine.reconfigure(config)
    }

    /// Forces a breaker the service just made open (its service is forced open): no
    /// listener can be registered on it yet.
    pub(crate) fn force_open_new(&self) {
        // A local engine, or a shared one before it joins: never refused.
        let _ = self.engine.manual(Manual::ForceOpen);
    }
}

impl Breaker {
    /// Leave for an attempt that the resilience service awaits itself (its async path),
    /// asked here in the same crossing as the service's admission, so that the attempt
    /// needs no `call_async`: a `Permit`, or the refusal (a value). Only when
    /// `call_async` would do nothing more than ask, await and end the permit: a local
    /// breaker whose facade takes its fast async path (`_slow` false: no listener,
    /// call timeout or result predicate), with no fallback, no half-open waiting and no
    /// pybreaker shapes. None otherwise: the service goes through `call_async`.
    pub(crate) fn quick_acquire<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let this = slf.get();
        let plain = matches!(this.engine, Engine::Local(_))
            && this.fallback.is_none()
            && this.gate.is_none()
            && this.pybreaker.get().is_none();
        if !plain {
            return Ok(None);
        }
        // The facade's own flag (`_update_hooks`); a breaker without it is not quick.
        if !this.quick.load(Ordering::Relaxed) {
            return Ok(None);
        }
        match Breaker::try_acquire(slf)? {
            Ok(admitted) => Ok(Some(admitted)),
            // A local engine gives no lease.
            Err(_) => Ok(None),
        }
    }

    /// Asks leave: the permit or the refusal (as a value), or a fleet-wide trial lease
    /// to wait for (sync) or to send (async). Both ends go through `admitted`.
    fn try_acquire<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<Result<Bound<'py, PyAny>, tripwire_store::Lease>> {
        let result = match slf.get().engine.try_acquire() {
            Admitted::Permit(permit) => Ok(permit),
            Admitted::Rejected(rejected) => Err(rejected),
            Admitted::Lease(lease) => return Ok(Err(lease)),
        };
        Breaker::admitted(slf, result).map(Ok)
    }

    /// A decision as Python sees it: a `Permit`, or the refusal exception (a value).
    pub(crate) fn admitted<'py>(
        slf: &Bound<'py, Self>,
        result: Result<Ticket, Rejected>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let py = slf.py();
        match result {
            Ok(permit) => {
                let transition = permit.transition();
                if let Some(t) = transition {
                    if let Err(interrupt) = this.transitioned(slf, t, None) {
                        this.record(permit, Outcome::Cancelled);
                        return Err(interrupt);
                    }
                }
                this.in_flight.fetch_add(1, Ordering::AcqRel);
                let permit = Bound::new(
                    py,
                    Permit {
                        breaker: slf.clone().unbind(),
                        permit,
                        done: AtomicBool::new(false),
                        transition,
                        service_call: OnceLock::new(),
                    },
                )?;
                Ok(permit.into_any())
            }
            Err(rejected) => Ok(this
                .refusal(py, rejected)?
                .into_value(py)
                .into_bound(py)
                .into_any()),
        }
    }
}

/// Leave to run one call. End it exactly once with `success()`, `failure()`,
/// `timeout()`, `ignore()`, `cancel()` or `fail(exc)`; a permit dropped unused is
/// cancelled (its half-open slot handed back).
#[pyclass(frozen, freelist = 64, module = "tripwire")]
pub struct Permit {
    breaker: Py<Breaker>,
    permit: Ticket,
    done: AtomicBool,
    transition: Option<Transition>,
    /// The resilience service call this permit's attempt belongs to, released if the
    /// permit is dropped unused (its coroutine never started).
    service_call: OnceLock<(Py<Service>, u32)>,
}

impl Permit {
    /// Ties this permit to service call `call`: dropped unused, it releases the call too.
    pub(crate) fn release_if_unused(&self, service: Py<Service>, call: u32) {
        // A fresh permit: never set before.
        let _ = self.service_call.set((service, call));
    }

    fn take(&self) -> PyResult<Ticket> {
        if self.done.swap(true, Ordering::AcqRel) {
            return Err(PyRuntimeError::new_err("this permit has already been used"));
        }
        self.breaker.get().in_flight.fetch_sub(1, Ordering::AcqRel);
        Ok(self.permit)
    }

    fn end(&self, py: Python<'_>, outcome: Outcome) -> PyResult<Option<Py<PyAny>>> {
        let permit = self.take()?;
        let breaker = self.breaker.bind(py);
        let this = breaker.get();
        let transition = this.record(permit, outcome);
        if let Some(t) = transition {
            let outcome = match outcome {
                Outcome::Success => success_outcome(t),
                Outcome::Failure => "failure",
                Outcome::Timeout => "timeout",
                Outcome::Ignored => "ignored",
                Outcome::Cancelled => "cancelled",
            };
            this.transitioned(breaker, t, Some(outcome))?;
        }
        transition
            .map(|t| types::transition(py, t).map(Bound::unbind))
            .transpose()
    }
}

#[pymethods]
impl Permit {
    /// The transition this acquire caused (OPEN → HALF_OPEN), or None.
    #[getter]
    fn transition(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.transition
            .map(|t| types::transition(py, t).map(Bound::unbind))
            .transpose()
    }

    /// Whether this is a half-open trial call.
    #[getter]
    fn is_trial(&self) -> bool {
        self.permit.is_trial()
    }

    /// The call succeeded (a timeout if it overran `request_timeout`); returns the transition.
    fn success(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let permit = self.take()?;
        let breaker = self.breaker.bind(py);
        let this = breaker.get();
        let transition = this.record(permit, Outcome::Success);
        if let Some(t) = transition {
            this.transitioned(breaker, t, Some(success_outcome(t)))?;
        }
        if this.hooks.load(Ordering::Relaxed) {
            this.hook(breaker, intern!(py, "_hook_success"), ())?;
        }
        transition
            .map(|t| types::transition(py, t).map(Bound::unbind))
            .transpose()
    }

    /// The call returned `value`: a failure if `is_failure_result(value)` says so, else
    /// a success (the async path's end; `call()` does the same). Returns whether it
    /// counted as a failure.
    pub(crate) fn _resolved(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        let permit = self.take()?;
        let breaker = self.breaker.bind(py);
        breaker.get().record_value(breaker, permit, value)
    }

    /// The call failed; returns the transition.
    fn failure(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.end(py, Outcome::Failure)
    }

    /// The call timed out (a failure, also counted as a timeout); returns the transition.
    fn timeout(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.end(py, Outcome::Timeout)
    }

    /// The outcome does not count (hands a half-open slot back).
    fn ignore(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.end(py, Outcome::Ignored)
    }

    /// The call never ran to an end (hands a half-open slot back).
    fn cancel(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.end(py, Outcome::Cancelled)
    }

    /// Ends the call with the exception it raised, judged as `call()` judges it:
    /// excluded → ignored, not an `Exception` → cancelled, else a failure.
    /// Returns True when it was counted as a failure.
    pub(crate) fn fail(&self, py: Python<'_>, exc: &Bound<'_, PyAny>) -> PyResult<bool> {
        let permit = self.take()?;
        let breaker = self.breaker.bind(py);
        breaker.get().record_error(breaker, permit, exc)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.breaker)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done.swap(true, Ordering::AcqRel) {
            self.breaker.get().in_flight.fetch_sub(1, Ordering::AcqRel);
            // Cancelled outcomes never cause a transition: nothing to report.
            Python::attach(|py| {
                self.breaker.get().record(self.permit, Outcome::Cancelled);
                if let Some((service, call)) = self.service_call.get() {
                    service.get().release_unstarted(py, *call);
                }
            });
        }
    }
}

/// The sync function `@breaker` returns: calls go straight to the Rust hot path.
#[pyclass(frozen, dict, weakref, module = "tripwire")]
pub struct Guarded {
    breaker: Py<Breaker>,
    func: Py<PyAny>,
}

#[pymethods]
impl Guarded {
    #[new]
    fn new(breaker: Py<Breaker>, func: Py<PyAny>) -> Self {
        Guarded { breaker, func }
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        Breaker::run(self.breaker.bind(py), self.func.bind(py), args, kwargs)
    }

    /// Binds like a function, so decorated methods receive `self`.
    fn __get__(
        slf: &Bound<'_, Self>,
        instance: Option<&Bound<'_, PyAny>>,
        owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = owner;
        let Some(instance) = instance.filter(|i| !i.is_none()) else {
            return Ok(slf.clone().into_any().unbind());
        };
        static METHOD_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let method_type = METHOD_TYPE.import(slf.py(), "types", "MethodType")?;
        Ok(method_type.call1((slf, instance))?.unbind())
    }

    /// The breaker guarding this function.
    #[getter]
    fn breaker(&self, py: Python<'_>) -> Py<Breaker> {
        self.breaker.clone_ref(py)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.breaker)?;
        visit.call(&self.func)
    }
}
