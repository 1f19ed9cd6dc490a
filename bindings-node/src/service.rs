//! The resilience service (`CircuitBreakerService`, `bindings-node/resilience.js`) on
//! the core's engine, [`tripwire_core::resilience::Service`]: every decision (keys,
//! eviction, configuration and presets, bulkhead admission, retries, dead letters,
//! alert episodes, health, counters) is the engine's; this file converts values.
//!
//! The engine's breaker handle is a native breaker's id ([`Handle`], read from the
//! slab of `breaker.rs`); JS wraps the same id in a `CircuitBreaker` facade. Each
//! engine lives in a per-thread slab, named by id like the breakers.
//!
//! A call takes one crossing per step, each doing the engine's part and the breaker's
//! together (numbers in and out; what does not fit the return value goes to the
//! service cell, `shared().service`, laid out in `protocol.rs`):
//!
//! * `serviceBegin(svc, circuit, retry, deadLetter, acquire, nowMs)`: the bulkhead's
//!   admission and, when the call runs and `acquire` is 1, the breaker's permit code;
//! * `serviceAcquire(svc, call, nowMs)`: the permit of a retry or an admitted call;
//! * `serviceSucceed(svc, call, slot, nowMs)`: records the success and ends the call,
//!   and says (`CELL_QUIET`) whether the breaker's next call may be quiet;
//! * `serviceEnd(svc, call, slot, outcome, code, status, nowMs)`: records any other
//!   outcome and asks the engine what follows (retry after a delay, or the end).
//!
//! A refused permit is reported to the engine in the same crossing that asked for it.
//!
//! Most calls of a one-request-at-a-time caller make no crossing: while the engine
//! says a breaker may take a *quiet* call (`Service::quiet_start`: its bulkhead idle,
//! no alert episode) and the breaker itself is quiet, JS admits one call at a time
//! itself and queues its success in the cell's ring (the breaker's part goes to the
//! breakers' ring). [`apply_quiet`] tells the engines, in order, before anything
//! else reads or changes one; a failing quiet call ends with
//! `serviceEnd(svc, QUIET_CALL, ...)`.

use std::cell::{Cell, RefCell};
use std::ffi::CStr;
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{sys, Env, Error, JsValue, Result, Status, ValueType};
use napi_derive::napi;
use tripwire_core::resilience::{
    After, Alert, Attempt, Begin, CallId, CallPlan, Circuit, CircuitId, DeadLetterError, Ended,
    Facts, Lookup, Refusal, Retry, RetryUpdate, Section, Service, ServiceUpdate, Settings, Waited,
};
use tripwire_core::{Breaker, ConfigError, Durations, Lifetime, OptionValue, Stats, Unit};

use crate::breaker::{self, state_code, NativeSettings};
use crate::hot::{args, double, export_raw, finish, uint, Callback};
use crate::options::{option_value, options_from_js, throw};
use crate::protocol::*;
use crate::resilience::{strings, type_error, NativeBulkheadStats, NativeRetryPolicy};
use crate::slab::Slab;
use crate::{millis, nanos, now_nanos};

/// A native breaker, by its id in this thread's slab.
pub(crate) struct Handle(pub(crate) u32);

impl Circuit for Handle {
    fn facts(&self, now: u64) -> Facts {
        breaker::facts(self.0, now)
    }

    fn metrics(&self, now: u64) -> Option<(Stats, Lifetime, Durations)> {
        breaker::sample(self.0, now)
    }
}

/// Every service engine of this thread, by id (for metrics and the dashboard).
pub(crate) fn with_engines<R>(f: impl FnOnce(&[(u32, &Service<Handle>)]) -> R) -> R {
    ENGINES.with_borrow_mut(|slab| {
        apply_quiet(slab);
        let engines: Vec<(u32, &Service<Handle>)> =
            slab.iter().map(|(id, e)| (id, &e.service)).collect();
        f(&engines)
    })
}

/// Runs `f` on service `id`'s engine (read only).
pub(crate) fn with_service<R>(id: u32, f: impl FnOnce(&Service<Handle>) -> Result<R>) -> Result<R> {
    engine(id, |e| f(&e.service))
}

/// One service: the engine and the call retry policies JS holds by id.
struct Engine {
    service: Service<Handle>,
    retries: Slab<Arc<Retry>>,
}

thread_local! {
    static ENGINES: RefCell<Slab<Engine>> = const { RefCell::new(Slab::new()) };
    /// The service cell (`shared().service`, [`CELL_LEN`] numbers).
    static CELL: Cell<*mut f64> = const { Cell::new(ptr::null_mut()) };
}

/// Binds the service cell (alive for the life of the environment).
pub(crate) fn bind_cell(cell: *mut f64) {
    CELL.set(cell);
}

fn get(index: usize) -> f64 {
    let cell = CELL.get();
    if cell.is_null() || index >= CELL_LEN {
        return 0.0;
    }
    // SAFETY: as in `put`.
    unsafe { *cell.add(index) }
}

fn put(index: usize, value: f64) {
    let cell = CELL.get();
    if !cell.is_null() && index < CELL_LEN {
        // SAFETY: `hot::shared` made the array of CELL_LEN numbers and keeps it alive.
        unsafe { *cell.add(index) = value };
    }
}

fn engine<R>(id: u32, f: impl FnOnce(&mut Engine) -> Result<R>) -> Result<R> {
    ENGINES.with_borrow_mut(|slab| {
        apply_quiet(slab);
        // Whatever `f` does may change what `Service::quiet_start` says.
        put(CELL_EPOCH, get(CELL_EPOCH) + 1.0);
        match slab.get_mut(id) {
            Some(e) => f(e),
            None => Err(Error::new(Status::InvalidArg, format!("no service {id}"))),
        }
    })
}

/// Tells the engines of the quiet calls JS admitted without a crossing
/// (`Service::quiet_start`): those that succeeded meanwhile, in the order they ended,
/// then the one still running, which gets its call id. Runs before anything else reads
/// or changes an engine, so none sees a count, a bulkhead or a breaker in use other
/// than as it stands. The calls that ended change nothing `quiet_start` said; the one
/// still running does (the epoch moves).
fn apply_quiet(slab: &mut Slab<Engine>) {
    if CELL.get().is_null() {
        return;
    }
    let ring = (get(CELL_RING) as usize).min(CELL_RING_CAPACITY);
    for k in 0..ring {
        let at = CELL_RING + 1 + k * CELL_RING_ENTRY;
        let [svc, circuit, retry, start, end] = [0, 1, 2, 3, 4].map(|i| get(at + i));
        if let Some((e, circuit, plan)) = quiet_target(slab, svc, circuit, retry) {
            // False only if JS broke the rule; the engine then holds no trace of it.
            e.service
                .quiet_call(circuit, plan, nanos(start), nanos(end));
        }
    }
    put(CELL_RING, 0.0);
    if get(CELL_Q_STATE) == QUIET_STARTED {
        let target = quiet_target(
            slab,
            get(CELL_Q_SVC),
            get(CELL_Q_CIRCUIT),
            get(CELL_Q_RETRY),
        );
        if let Some((e, circuit, plan)) = target {
            match e.service.begin(circuit, plan, nanos(get(CELL_Q_START))) {
                Begin::Run(call) => {
                    put(CELL_Q_CALL, f64::from(call.0));
                    put(CELL_Q_STATE, QUIET_TOLD);
                }
                // Only if JS broke the rule: leave no waiting call behind.
                Begin::Queued(call, _) => {
                    e.service.abandon(call);
                }
                Begin::Refused(_) => {}
            }
        }
        put(CELL_EPOCH, get(CELL_EPOCH) + 1.0);
    }
}

/// The engine, live circuit and plan of a quiet call (none if either is gone: an
/// engine hears of its quiet calls before it is freed or evicts, so never in use).
fn quiet_target(
    slab: &mut Slab<Engine>,
    svc: f64,
    circuit: f64,
    retry: f64,
) -> Option<(&mut Engine, CircuitId, CallPlan)> {
    let e = slab.get_mut(svc as u32)?;
    let circuit = CircuitId(circuit as u32);
    e.service.handle(circuit)?;
    let plan = e.plan(retry, false).ok()?;
    Some((e, circuit, plan))
}

fn bad(what: &str) -> Error {
    Error::new(Status::InvalidArg, what.to_string())
}

/// Writes what follows an attempt to the cell.
fn put_ended(ended: Ended, has_alerts: bool) {
    let (kind, value, letter, dropped) = match ended.after {
        After::Retry { delay } => (AFTER_RETRY, millis(delay), -1.0, -1.0),
        After::Done => (AFTER_DONE, 0.0, -1.0, -1.0),
        After::Failed {
            attempts,
            dead_letter,
            dropped,
        } => (
            AFTER_FAILED,
            f64::from(attempts),
            dead_letter.map_or(-1.0, |d| d as f64),
            dropped.map_or(-1.0, |d| d as f64),
        ),
        After::Cancelled => (AFTER_CANCELLED, 0.0, -1.0, -1.0),
    };
    put(CELL_AFTER, kind);
    put(CELL_VALUE, value);
    put(CELL_LETTER, letter);
    put(CELL_DROPPED, dropped);
    put(CELL_ADMIT, ended.admit.map_or(-1.0, |c| f64::from(c.0)));
    put(CELL_ALERTS, f64::from(u8::from(has_alerts)));
}

fn put_no_end(has_alerts: bool) {
    put(CELL_AFTER, AFTER_NONE);
    put(CELL_ADMIT, -1.0);
    put(CELL_ALERTS, f64::from(u8::from(has_alerts)));
}

impl Engine {
    fn circuit_handle(&self, circuit: CircuitId) -> Result<u32> {
        self.service
            .handle(circuit)
            .map(|h| h.0)
            .ok_or_else(|| bad("no such circuit"))
    }

    fn call_handle(&self, call: CallId) -> Result<u32> {
        let circuit = self
            .service
            .call_circuit(call)
            .ok_or_else(|| bad("no such call"))?;
        self.circuit_handle(circuit)
    }

    /// The permit code of a running call's next attempt; a refusal is reported to the
    /// engine at once (its answer goes to the cell).
    fn acquire(&mut self, call: CallId, now: u64) -> Result<f64> {
        let code = breaker::acquire(self.call_handle(call)?, now)?;
        if code < 0.0 {
            let ended = self.service.ended(call, Attempt::Refused, now);
            put_ended(ended, self.service.has_alerts());
        } else {
            put_no_end(self.service.has_alerts());
        }
        Ok(code)
    }

    /// A call's plan from `serviceBegin`'s `retry` and `deadLetter`.
    fn plan(&mut self, retry: f64, dead_letter: bool) -> Result<CallPlan> {
        let retry = if retry == RETRY_SERVICE {
            None
        } else if retry == RETRY_NONE {
            Some(self.service.no_retry())
        } else {
            Some(
                self.retries
                    .get_mut(retry as u32)
                    .ok_or_else(|| bad("no such retry policy"))?
                    .clone(),
            )
        };
        Ok(CallPlan { retry, dead_letter })
    }

    /// A call id from JS: `QUIET_CALL` is the quiet call in flight (told to the engine
    /// by now).
    fn peek(call: f64) -> CallId {
        CallId(if call == QUIET_CALL {
            get(CELL_Q_CALL)
        } else {
            call
        } as u32)
    }

    /// As [`Engine::peek`]; the quiet call is no longer in flight after this step (its
    /// id goes to `CELL_CALL`, for a retry).
    fn call_of(call: f64) -> Result<CallId> {
        if call == QUIET_CALL {
            if get(CELL_Q_STATE) != QUIET_TOLD {
                return Err(bad("no quiet call in flight"));
            }
            put(CELL_Q_STATE, QUIET_NONE);
            put(CELL_CALL, get(CELL_Q_CALL));
        }
        Ok(Self::peek(call))
    }

    fn begin(
        &mut self,
        circuit: u32,
        retry: f64,
        dead_letter: bool,
        acquire: bool,
        now: u64,
    ) -> Result<f64> {
        let circuit = CircuitId(circuit);
        self.circuit_handle(circuit)?;
        let plan = self.plan(retry, dead_letter)?;
        match self.service.begin(circuit, plan, now) {
            Begin::Run(call) => {
                put(CELL_BEGIN, BEGIN_RUN);
                put(CELL_CALL, f64::from(call.0));
                if acquire {
                    return self.acquire(call, now);
                }
                put_no_end(self.service.has_alerts());
                Ok(0.0)
            }
            Begin::Queued(call, wait) => {
                put(CELL_BEGIN, BEGIN_QUEUED);
                put(CELL_CALL, f64::from(call.0));
                put(CELL_WAIT, wait.map_or(-1.0, millis));
                put_no_end(self.service.has_alerts());
                Ok(0.0)
            }
            Begin::Refused(refusal) => {
                put(CELL_BEGIN, BEGIN_REFUSED);
                put(
                    CELL_CALL,
                    match refusal {
                        Refusal::BulkheadFull => REFUSED_FULL,
                        Refusal::QueueTimeout => REFUSED_QUEUE_TIMEOUT,
                    },
                );
                put_no_end(self.service.has_alerts());
                Ok(0.0)
            }
        }
    }

    /// Records an attempt's outcome on its breaker (unless `slot` is negative: the
    /// facade recorded it, or nothing ran) and reports it to the engine. Returns the
    /// breaker's transition code.
    /// `call` `QUIET_CALL`: the quiet call (its outcome is recorded on its breaker's
    /// quiet permit).
    fn end(
        &mut self,
        call: f64,
        slot: f64,
        outcome: u32,
        attempt: Attempt<'_>,
        now: u64,
    ) -> Result<u32> {
        let quiet = call == QUIET_CALL;
        let call = Self::call_of(call)?;
        let transition = if outcome == OUTCOME_REFUSED {
            0
        } else if quiet {
            let (generation, start) = (get(CELL_Q_GENERATION), nanos(get(CELL_Q_START)));
            breaker::record_quiet(
                self.call_handle(call)?,
                generation as u64,
                start,
                outcome,
                now,
            )?
        } else if slot >= 0.0 {
            breaker::record(self.call_handle(call)?, slot as u32, outcome, now)?
        } else {
            0
        };
        let ended = self.service.ended(call, attempt, now);
        put_ended(ended, self.service.has_alerts());
        Ok(transition)
    }
}

// ---- the per-call steps (raw callbacks) -------------------------------------------

unsafe extern "C" fn service_begin(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node passes this callback's env and info.
    unsafe {
        let [svc, circuit, retry, dead_letter, acquire, now] = args::<6>(env, info);
        let (svc, circuit) = (uint(env, svc), uint(env, circuit));
        let retry = double(env, retry);
        let (dead_letter, acquire) = (uint(env, dead_letter) != 0, uint(env, acquire) != 0);
        let now = nanos(double(env, now));
        finish(
            env,
            engine(svc, |e| e.begin(circuit, retry, dead_letter, acquire, now)),
        )
    }
}

unsafe extern "C" fn service_acquire(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node passes this callback's env and info.
    unsafe {
        let [svc, call, now] = args::<3>(env, info);
        let (svc, call, now) = (
            uint(env, svc),
            CallId(uint(env, call)),
            nanos(double(env, now)),
        );
        finish(env, engine(svc, |e| e.acquire(call, now)))
    }
}

unsafe extern "C" fn service_succeed(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node passes this callback's env and info.
    unsafe {
        let [svc, call, slot, now] = args::<4>(env, info);
        let (svc, call, slot) = (uint(env, svc), double(env, call), double(env, slot));
        let now = nanos(double(env, now));
        finish(
            env,
            engine(svc, |e| {
                let circuit = e.service.call_circuit(Engine::peek(call));
                let transition = e.end(call, slot, OUTCOME_SUCCESS, Attempt::Success, now)?;
                // Whether the next call on this breaker may be quiet (until the epoch moves).
                let quiet = circuit.is_some_and(|c| e.service.quiet_start(c));
                put(CELL_QUIET, f64::from(u8::from(quiet)));
                Ok(f64::from(transition))
            }),
        )
    }
}

/// `serviceFlush()`: tells the engines of the quiet calls (JS calls it when the cell's
/// ring is full).
unsafe extern "C" fn service_flush(
    _env: sys::napi_env,
    _info: sys::napi_callback_info,
) -> sys::napi_value {
    ENGINES.with_borrow_mut(apply_quiet);
    ptr::null_mut()
}

const HOT: [(&CStr, Callback); 4] = [
    (c"serviceBegin", service_begin),
    (c"serviceAcquire", service_acquire),
    (c"serviceSucceed", service_succeed),
    (c"serviceFlush", service_flush),
];

/// The raw per-call steps (`serviceBegin`, `serviceAcquire`, `serviceSucceed`,
/// `serviceFlush`); the facade asks once.
#[napi]
pub fn service_hot_path(env: Env) -> Result<Object<'static>> {
    let exports = Object::new(&env)?;
    export_raw(&env, &exports, &HOT)?;
    Ok(exports)
}

/// Any outcome but a plain success: `outcome` is a breaker outcome code (recorded on
/// permit `slot` when `slot` ≥ 0, on the quiet permit when `call` is `QUIET_CALL`) or `OUTCOME_REFUSED`; `code` and `status` are the
/// error's, for the retry classification. Returns the breaker's transition code; what
/// follows goes to the cell.
#[napi]
pub fn service_end(
    svc: u32,
    call: f64,
    slot: f64,
    outcome: u32,
    code: Option<String>,
    status: Option<f64>,
    now_ms: f64,
) -> Result<u32> {
    let status = status
        .filter(|s| s.fract() == 0.0 && (0.0..=65535.0).contains(s))
        .map(|s| s as u16);
    let attempt = match outcome {
        OUTCOME_SUCCESS => Attempt::Success,
        OUTCOME_CANCELLED => Attempt::Cancelled,
        OUTCOME_REFUSED => Attempt::Refused,
        OUTCOME_FAILURE | OUTCOME_TIMEOUT | OUTCOME_IGNORED => Attempt::Failure {
            code: code.as_deref(),
            status,
        },
        _ => return Err(bad("unknown outcome")),
    };
    engine(svc, |e| e.end(call, slot, outcome, attempt, nanos(now_ms)))
}

/// A waiting call's timer fired: `WAIT_ADMITTED`, `WAIT_REFUSED` (the call is over), or
/// the milliseconds to wait more.
#[napi]
pub fn service_wait_over(svc: u32, call: u32, now_ms: f64) -> Result<f64> {
    engine(svc, |e| {
        let waited = e.service.wait_over(CallId(call), nanos(now_ms));
        put(CELL_ALERTS, f64::from(u8::from(e.service.has_alerts())));
        Ok(match waited {
            Waited::Admitted => WAIT_ADMITTED,
            Waited::Refused => WAIT_REFUSED,
            Waited::Waiting(ns) => millis(ns),
        })
    })
}

/// A waiting call's caller gives up (the clock failed, so no wait can be judged): the
/// call is over if it still waits; if it was admitted meanwhile (it holds a slot) it
/// ends as cancelled at `now_ms`, and the cell says what that freed.
#[napi]
pub fn service_abandon(svc: u32, call: u32, now_ms: f64) -> Result<()> {
    engine(svc, |e| {
        if e.service.abandon(CallId(call)) {
            put_no_end(e.service.has_alerts());
        } else {
            let ended = e
                .service
                .ended(CallId(call), Attempt::Cancelled, nanos(now_ms));
            put_ended(ended, e.service.has_alerts());
        }
        Ok(())
    })
}

// ---- the service ------------------------------------------------------------------

/// Names the JS facade reads itself from the constructor's options.
const FACADE_SETTINGS: [&str; 5] = ["clock", "services", "onAlert", "logger", "store"];

/// A service from the constructor's options (`maxBreakers`, `deadLetterQueueSize`,
/// `seed`; `clock`, `services`, `onAlert`, `logger` and `store` are the facade's); returns its id. An
/// unknown name is a `TypeError` with "did you mean".
#[napi]
pub fn service_create(env: Env, options: Object) -> Result<u32> {
    let mut settings = Settings::new(Unit::Millis, now_nanos() ^ 0x9E37_79B9_7F4A_7C15);
    for name in Object::keys(&options)? {
        if FACADE_SETTINGS.contains(&name.as_str()) {
            continue;
        }
        let value: Unknown = options.get_named_property(&name)?;
        let value = option_value(&value)?;
        if name == "seed" {
            match value {
                OptionValue::Missing => {}
                OptionValue::Number(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => {
                    settings.seed = n as u64
                }
                _ => {
                    return Err(throw(
                        &env,
                        &ConfigError {
                            field: "seed".into(),
                            reason: "must be a whole number ≥ 0".into(),
                            kind: tripwire_core::ErrorKind::Type,
                        },
                    ))
                }
            }
            continue;
        }
        match settings.set(&name, value) {
            Ok(true) => {}
            Ok(false) => return Err(throw(&env, &Settings::unknown(&name, &FACADE_SETTINGS))),
            Err(error) => return Err(throw(&env, &error)),
        }
    }
    let service = Service::new(settings).map_err(|e| throw(&env, &e))?;
    Ok(ENGINES.with_borrow_mut(|s| {
        // An id may be reused: the quiet calls of the last holder go first.
        apply_quiet(s);
        s.insert(Engine {
            service,
            retries: Slab::new(),
        })
    }))
}

/// Frees service `id` (its breakers stay with whoever holds them). Unknown ids are ignored.
#[napi]
pub fn service_release(id: u32) {
    let gone = ENGINES.with_borrow_mut(|s| {
        apply_quiet(s);
        s.remove(id)
    });
    drop(gone);
}

/// A breaker of the service: found, or made now (`isNew`: JS wraps `breaker` in a
/// facade) with the evicted circuits JS must forget.
#[napi(object)]
pub struct NativeCircuit {
    /// The engine's id of it.
    pub circuit: u32,
    /// The native breaker's id.
    pub breaker: u32,
    /// Made by this call.
    pub is_new: bool,
    /// Its name (`Key::name`).
    pub name: String,
    /// Circuits evicted to make room.
    pub evicted: Vec<u32>,
}

/// The breaker of (service, operation), made with the service's configuration (then
/// `config`, a call's own breaker options) if new.
/// `store` (with `token`, naming the facade in background events): the breaker, when
/// new, joins that store's fleet (`CircuitBreakerService`'s `store` option).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn service_circuit(
    env: Env,
    svc: u32,
    service: String,
    operation: String,
    config: Option<Object>,
    now_ms: f64,
    store: Option<&crate::fleet::NativeStore>,
    token: f64,
) -> Result<NativeCircuit> {
    let own = match config {
        Some(o) => Some(options_from_js(&env, &o)?),
        None => None,
    };
    let now = nanos(now_ms);
    engine(svc, |e| {
        let lookup = e
            .service
            .circuit(&service, Some(&operation), own.as_ref())
            .map_err(|error| throw(&env, &error))?;
        let (id, is_new, evicted) = match lookup {
            Lookup::Found(id) => (id, false, Vec::new()),
            Lookup::New {
                id,
                config,
                forced_open,
            } => {
                let made = match store {
                    // The service's `store`: a member of the fleet under the breaker's
                    // name, joining with the configuration the engine just gave it.
                    Some(store) => {
                        let name = e.service.key(id).map(|k| k.name()).unwrap_or_default();
                        let gate = breaker::FleetGate::new();
                        crate::fleet::join(
                            store.store(),
                            *config,
                            name,
                            Arc::clone(&gate),
                            token,
                            |error| throw(&env, error),
                        )
                        .map(|h| breaker::insert_shared(h, gate, token, store.store().clone()))
                    }
                    None => Breaker::with_shared_config_at(config, now)
                        .map(|b| breaker::adopt(b, now))
                        .map_err(|error| throw(&env, &error)),
                };
                let handle = match made {
                    Ok(handle) => handle,
                    Err(error) => {
                        e.service.discard(id);
                        return Err(error);
                    }
                };
                breaker::external(&env, true);
                if forced_open {
                    breaker::control(handle, OP_OPEN, Some(now_ms))?;
                }
                let evicted = e.service.attach(id, Handle(handle), now);
                if forced_open {
                    // Opened as it was made: the engine hears of it like any manual opening.
                    e.service.observe(id, now);
                }
                (id, true, evicted.into_iter().map(|g| g.id.0).collect())
            }
        };
        put(CELL_ALERTS, f64::from(u8::from(e.service.has_alerts())));
        Ok(NativeCircuit {
            circuit: id.0,
            breaker: e.circuit_handle(id)?,
            is_new,
            name: e.service.key(id).map(|k| k.name()).unwrap_or_default(),
            evicted,
        })
    })
}

fn read_retry(env: &Env, object: &Object, update: &mut RetryUpdate, unit: Unit) -> Result<()> {
    for name in Object::keys(object)? {
        let value: Unknown = object.get_named_property(&name)?;
        if let Some(list) = RetryUpdate::code_list(&name) {
            let codes = strings(&name, &value).map_err(|e| throw(env, &e))?;
            update.set_codes(list, codes);
            continue;
        }
        let value = option_value(&value)?;
        update.set(&name, value, unit).map_err(|e| throw(env, &e))?;
    }
    Ok(())
}

fn describe(value: &Unknown) -> Result<&'static str> {
    Ok(match value.get_type()? {
        ValueType::Null => "null",
        ValueType::Undefined => "undefined",
        ValueType::Number => "a number",
        ValueType::String => "a string",
        ValueType::Boolean => "a boolean",
        ValueType::Function => "a function",
        _ => "not an object",
    })
}

/// An object argument, or a `TypeError` naming `what`.
fn object_of<'a>(env: &Env, what: &str, value: &Unknown<'a>) -> Result<Object<'a>> {
    if value.get_type()? == ValueType::Object {
        // SAFETY: the type was just checked.
        let object = unsafe { value.cast::<Object>() }?;
        if !object.is_array()? {
            return Ok(object);
        }
    }
    let reason = format!(
        "must be an object, not {}",
        describe(value).unwrap_or("an array")
    );
    let reason = if value.get_type()? == ValueType::Object {
        "must be an object, not an array".to_string()
    } else {
        reason
    };
    Err(throw(
        env,
        &ConfigError {
            field: what.to_string().into(),
            reason: reason.into(),
            kind: tripwire_core::ErrorKind::Type,
        },
    ))
}

/// Reads `{ preset, config, bulkhead, retryPolicy }`, every name and value checked.
fn read_update(env: &Env, update: &Unknown) -> Result<ServiceUpdate> {
    let update = object_of(env, "update", update)?;
    let mut out = ServiceUpdate::new(Unit::Millis);
    for name in Object::keys(&update)? {
        let section = ServiceUpdate::section(&name).map_err(|e| throw(env, &e))?;
        let value: Unknown = update.get_named_property(&name)?;
        if section == Section::Preset {
            if value.get_type()? != ValueType::String {
                return Err(throw(
                    env,
                    &type_error(name, "must be a preset name (a string)"),
                ));
            }
            // SAFETY: the type was just checked.
            let preset = unsafe { value.cast::<String>() }?;
            out.set_preset(&preset).map_err(|e| throw(env, &e))?;
            continue;
        }
        let object = object_of(env, &name, &value)?;
        out.touch(section);
        if section == Section::Retry {
            read_retry(env, &object, out.retry_mut(), Unit::Millis)?;
            continue;
        }
        for option in Object::keys(&object)? {
            let value: Unknown = object.get_named_property(&option)?;
            let value = option_value(&value)?;
            out.set(section, &option, value)
                .map_err(|e| throw(env, &e))?;
        }
    }
    Ok(out)
}

/// What an update changed: circuits JS refreshes (their options changed in place) and
/// waiting calls a larger bulkhead admits now.
#[napi(object)]
pub struct NativeUpdated {
    /// Circuits reconfigured.
    pub reconfigured: Vec<u32>,
    /// Calls admitted.
    pub admitted: Vec<u32>,
    /// Calls still waiting whose longest wait changed: each asks again how long.
    pub rewait: Vec<u32>,
}

/// `updateServiceConfig(service, update)`: checked whole before anything changes; each
/// breaker of the service is reconfigured in place (it keeps its state). `byCall`: the
/// defaults a call brings (a helper's preset, a call's bulkhead), which leave the
/// service evictable ([`Service::update_by_call`](tripwire_core::resilience::Service::update_by_call)).
#[napi]
pub fn service_update(
    env: Env,
    svc: u32,
    service: String,
    update: Unknown,
    now_ms: f64,
    by_call: bool,
) -> Result<NativeUpdated> {
    let update = read_update(&env, &update)?;
    let now = nanos(now_ms);
    engine(svc, |e| {
        let updated = if by_call {
            e.service.update_by_call(&service, &update, now)
        } else {
            e.service.update(&service, &update, now)
        }
        .map_err(|error| throw(&env, &error))?;
        let mut reconfigured = Vec::with_capacity(updated.reconfigure.len());
        for (circuit, config) in updated.reconfigure {
            breaker::reconfigure(e.circuit_handle(circuit)?, config, now)?;
            reconfigured.push(circuit.0);
        }
        put(CELL_ALERTS, f64::from(u8::from(e.service.has_alerts())));
        Ok(NativeUpdated {
            reconfigured,
            admitted: updated.admitted.into_iter().map(|c| c.0).collect(),
            rewait: updated.rewait.into_iter().map(|c| c.0).collect(),
        })
    })
}

/// A call's own retry policy (`retryPolicy`, over the service's); returns its id, freed
/// with [`service_retry_release`].
#[napi]
pub fn service_call_retry(
    env: Env,
    svc: u32,
    service: String,
    retry_policy: Unknown,
) -> Result<u32> {
    let object = object_of(&env, "retryPolicy", &retry_policy)?;
    let mut update = RetryUpdate::default();
    read_retry(&env, &object, &mut update, Unit::Millis)?;
    engine(svc, |e| {
        let retry = e
            .service
            .call_retry(&service, &update)
            .map_err(|error| throw(&env, &error))?;
        Ok(e.retries.insert(retry))
    })
}

/// Frees a call's retry policy. Unknown ids are ignored.
#[napi]
pub fn service_retry_release(svc: u32, id: u32) {
    let _ = engine(svc, |e| {
        e.retries.remove(id);
        Ok(())
    });
}

/// Whether a service was configured (an update or a preset).
#[napi]
pub fn service_is_configured(svc: u32, service: String) -> Result<bool> {
    engine(svc, |e| Ok(e.service.is_configured(&service)))
}

/// The circuits to force open: one operation's, or every one of the service (and the
/// service stays forced for operations first used later, until reset).
#[napi]
pub fn service_force_open(
    svc: u32,
    service: String,
    operation: Option<String>,
) -> Result<Vec<u32>> {
    engine(svc, |e| {
        Ok(e.service
            .force_open(&service, operation.as_deref())
            .into_iter()
            .map(|c| c.0)
            .collect())
    })
}

/// The circuits to reset: one operation's, or every one of the service (ending its
/// forced opening).
#[napi]
pub fn service_reset(svc: u32, service: String, operation: Option<String>) -> Result<Vec<u32>> {
    engine(svc, |e| {
        Ok(e.service
            .reset(&service, operation.as_deref())
            .into_iter()
            .map(|c| c.0)
            .collect())
    })
}

/// An alert the engine raised.
#[napi(object)]
pub struct NativeAlert {
    /// `circuit-opened`, `high-error-rate`, `bulkhead-full`, `dead-letter-queue` or
    /// `all-circuits-open`.
    pub r#type: String,
    /// The service, if about one.
    pub service: Option<String>,
    /// The operation, if about one breaker.
    pub operation: Option<String>,
    /// The sentence.
    pub message: String,
}

fn alerts_of(alerts: Vec<Alert>) -> Vec<NativeAlert> {
    alerts
        .into_iter()
        .map(|a| NativeAlert {
            r#type: a.kind.as_str().to_string(),
            service: a.service,
            operation: a.operation,
            message: a.message,
        })
        .collect()
}

/// Re-reads a breaker after a transition or a manual operation; returns the alerts
/// raised since the last take.
#[napi]
pub fn service_observe(svc: u32, circuit: u32, now_ms: f64) -> Result<Vec<NativeAlert>> {
    engine(svc, |e| {
        e.service.observe(CircuitId(circuit), nanos(now_ms));
        Ok(alerts_of(e.service.take_alerts()))
    })
}

/// The alerts raised since the last take, oldest first.
#[napi]
pub fn service_take_alerts(svc: u32) -> Result<Vec<NativeAlert>> {
    engine(svc, |e| Ok(alerts_of(e.service.take_alerts())))
}

/// A breaker of the service, by key.
#[napi(object)]
pub struct NativeKey {
    /// The engine's id.
    pub circuit: u32,
    /// Its service.
    pub service: String,
    /// Its operation (null for a service-level breaker).
    pub operation: Option<String>,
    /// Its name (`Key::name`).
    pub name: String,
}

/// Every breaker, ordered by service then operation.
#[napi]
pub fn service_circuits(svc: u32) -> Result<Vec<NativeKey>> {
    engine(svc, |e| {
        Ok(e.service
            .circuits()
            .map(|(id, key, _)| NativeKey {
                circuit: id.0,
                service: key.service.clone(),
                operation: key.operation.clone(),
                name: key.name(),
            })
            .collect())
    })
}

fn bulkhead_stats(
    stats: tripwire_core::resilience::BulkheadStats,
    c: tripwire_core::resilience::BulkheadConfig,
) -> NativeBulkheadStats {
    NativeBulkheadStats {
        running: stats.running,
        queued: stats.queued,
        rejected: stats.rejected as f64,
        admitted: stats.admitted as f64,
        peak_running: stats.peak_running,
        mean_wait: stats.mean_wait / crate::NANOS_PER_MS,
        max_wait: millis(stats.max_wait),
        saturated: stats.saturated,
        max_concurrent: c.max_concurrent,
        queue_size: c.queue_size,
        max_queue_wait: c.max_queue_wait.map(millis),
    }
}

/// A service's bulkhead, or null for a service it does not know.
#[napi]
pub fn service_bulkhead_stats(svc: u32, service: String) -> Result<Option<NativeBulkheadStats>> {
    engine(svc, |e| {
        Ok(e.service
            .bulkhead_stats(&service)
            .map(|(s, c)| bulkhead_stats(s, c)))
    })
}

/// A service's retry outcomes since the service was made.
#[napi(object)]
pub struct NativeRetryCounters {
    /// Succeeded at the first attempt.
    pub successful_without_retry: f64,
    /// Succeeded after retrying.
    pub successful_with_retry: f64,
    /// Failed at the first attempt, not retried.
    pub failed_without_retry: f64,
    /// Failed after retrying.
    pub failed_with_retry: f64,
}

/// A service's retry counters (zeros for a service it does not know).
#[napi]
pub fn service_retry_counters(svc: u32, service: String) -> Result<NativeRetryCounters> {
    engine(svc, |e| {
        let r = e.service.retry_counters(&service).unwrap_or_default();
        Ok(NativeRetryCounters {
            successful_without_retry: r.successful_without_retry as f64,
            successful_with_retry: r.successful_with_retry as f64,
            failed_without_retry: r.failed_without_retry as f64,
            failed_with_retry: r.failed_with_retry as f64,
        })
    })
}

/// A service's configuration as it stands (the defaults for a service never seen).
#[napi(object)]
pub struct NativeServiceConfig {
    /// The preset applied last, if any.
    pub preset: Option<String>,
    /// Its breakers' options, resolved.
    pub config: NativeSettings,
    /// Bulkhead: calls running at once.
    pub max_concurrent: u32,
    /// Bulkhead: calls waiting.
    pub queue_size: u32,
    /// Bulkhead: longest wait (ms), or null.
    pub max_queue_wait: Option<f64>,
    /// The retry policy.
    pub retry_policy: NativeRetryPolicy,
}

/// `getServiceConfig(service)`.
#[napi]
pub fn service_config(svc: u32, service: String) -> Result<NativeServiceConfig> {
    engine(svc, |e| {
        let c = e.service.service_config_or_default(&service);
        Ok(NativeServiceConfig {
            preset: c.preset.map(str::to_string),
            config: breaker::settings_of(c.config),
            max_concurrent: c.bulkhead.max_concurrent,
            queue_size: c.bulkhead.queue_size,
            max_queue_wait: c.bulkhead.max_queue_wait.map(millis),
            retry_policy: NativeRetryPolicy {
                max_attempts: c.retry.policy.max_attempts,
                base_delay: millis(c.retry.policy.base_delay),
                max_delay: millis(c.retry.policy.max_delay),
                multiplier: c.retry.policy.multiplier,
                jitter: c.retry.policy.jitter,
                retryable_errors: c.retry.classifier.retryable.clone(),
                non_retryable_errors: c.retry.classifier.non_retryable.clone(),
            },
        })
    })
}

/// One service in the health report.
#[napi(object)]
pub struct NativeServiceHealth {
    /// Its name.
    pub name: String,
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: String,
    /// Its breakers' operations (null: the service-level one)...
    pub operations: Vec<Option<String>>,
    /// ...and their state codes.
    pub states: Vec<u32>,
    /// Its bulkhead.
    pub bulkhead: NativeBulkheadStats,
    /// Forced open as a whole.
    pub forced_open: bool,
}

/// The health report's parts the engine answers.
#[napi(object)]
pub struct NativeHealth {
    /// The worst service's status.
    pub overall: String,
    /// Each service, by name.
    pub services: Vec<NativeServiceHealth>,
    /// Breakers held.
    pub count: u32,
    /// Breakers kept before idle ones are evicted.
    pub max: u32,
    /// Breakers evicted since the service was made.
    pub evictions: f64,
    /// Dead letters held.
    pub size: u32,
    /// Dead letters kept at most.
    pub capacity: u32,
    /// Dead letters dropped to make room.
    pub dropped: f64,
}

/// `getSystemHealth()`'s engine part.
#[napi]
pub fn service_health(svc: u32, now_ms: f64) -> Result<NativeHealth> {
    engine(svc, |e| {
        let (overall, services) = e.service.health(nanos(now_ms));
        let services = services
            .into_iter()
            .map(|s| NativeServiceHealth {
                name: s.name.to_string(),
                status: s.status.as_str().to_string(),
                operations: s
                    .circuits
                    .iter()
                    .map(|(op, _)| op.map(str::to_string))
                    .collect(),
                states: s.circuits.iter().map(|(_, st)| state_code(*st)).collect(),
                bulkhead: bulkhead_stats(s.bulkhead, s.bulkhead_config),
                forced_open: s.forced_open,
            })
            .collect();
        let d = e.service.dead_letter_stats();
        Ok(NativeHealth {
            overall: overall.as_str().to_string(),
            services,
            count: e.service.len() as u32,
            max: e.service.settings().max_breakers as u32,
            evictions: e.service.evictions() as f64,
            size: d.size as u32,
            capacity: d.capacity as u32,
            dropped: d.dropped as f64,
        })
    })
}

// ---- dead letters -------------------------------------------------------------------

/// A dead letter as the engine keeps it (JS keeps its payload by `id`).
#[napi(object)]
pub struct NativeDeadLetter {
    /// Its id.
    pub id: f64,
    /// The failed call's service.
    pub service: String,
    /// Its operation.
    pub operation: Option<String>,
    /// Attempts made, retries of the item included.
    pub attempts: u32,
}

/// The dead letters, oldest first.
#[napi]
pub fn service_dead_letters(svc: u32) -> Result<Vec<NativeDeadLetter>> {
    engine(svc, |e| {
        Ok(e.service
            .dead_letters()
            .map(|(id, d)| NativeDeadLetter {
                id: id as f64,
                service: d.key.service.clone(),
                operation: d.key.operation.clone(),
                attempts: d.attempts,
            })
            .collect())
    })
}

/// Starts a retry of dead letter `id`: its key. A `RangeError` for an unknown id, an
/// `Error` while a retry of it runs.
#[napi]
pub fn service_retry_dead_letter(env: Env, svc: u32, id: f64) -> Result<NativeKey> {
    engine(svc, |e| match e.service.retry_dead_letter(id as u64) {
        Ok(key) => Ok(NativeKey {
            circuit: 0,
            name: key.name(),
            service: key.service,
            operation: key.operation,
        }),
        Err(DeadLetterError::Unknown) => {
            let _ = env.throw_range_error(&format!("no dead-letter item {id}"), None);
            Err(Error::new(Status::PendingException, "no dead-letter item"))
        }
        Err(DeadLetterError::Busy) => Err(Error::new(
            Status::GenericFailure,
            format!("dead-letter item {id} is already being retried"),
        )),
    })
}

/// A retry of dead letter `id` ended after `attempts` attempts.
#[napi]
pub fn service_dead_letter_retried(
    svc: u32,
    id: f64,
    succeeded: bool,
    attempts: u32,
) -> Result<()> {
    engine(svc, |e| {
        e.service
            .dead_letter_retried(id as u64, succeeded, attempts);
        put(CELL_ALERTS, f64::from(u8::from(e.service.has_alerts())));
        Ok(())
    })
}

/// Removes a dead letter; whether it was there.
#[napi]
pub fn service_remove_dead_letter(svc: u32, id: f64) -> Result<bool> {
    engine(svc, |e| {
        let removed = e.service.remove_dead_letter(id as u64);
        put(CELL_ALERTS, f64::from(u8::from(e.service.has_alerts())));
        Ok(removed)
    })
}

/// Empties the dead-letter queue; the ids it held.
#[napi]
pub fn service_clear_dead_letters(svc: u32) -> Result<Vec<f64>> {
    engine(svc, |e| {
        let ids = e.service.clear_dead_letters();
        put(CELL_ALERTS, f64::from(u8::from(e.service.has_alerts())));
        Ok(ids.into_iter().map(|i| i as f64).collect())
    })
}

/// `[size, capacity, dropped]` of the dead-letter queue.
#[napi]
pub fn service_dead_letter_stats(svc: u32) -> Result<Vec<f64>> {
    engine(svc, |e| {
        let d = e.service.dead_letter_stats();
        Ok(vec![d.size as f64, d.capacity as f64, d.dropped as f64])
    })
}

/// `[breakers held, breakers evicted]`.
#[napi]
pub fn service_size(svc: u32) -> Result<Vec<f64>> {
    engine(svc, |e| {
        Ok(vec![e.service.len() as f64, e.service.evictions() as f64])
    })
}
