//! `CircuitBreaker`: the core breaker, its clock and callbacks, and the two calls
//! (`__acquire`, `__settle`) through which settle.js runs `execute` and `fetch`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use tripwire_core::{
    Breaker, ConfigShare, Outcome, Permit as CorePermit, Rejected, State, Transition,
};
use wasm_bindgen::prelude::*;

use crate::clock::{to_millis, Clock};
use crate::errors;
use crate::options::{self, BreakerOptions, Hooks};
use crate::stats::{self, JsStats};

thread_local! {
    /// Breakers made in a row with equal options share their configuration.
    static CONFIGS: RefCell<ConfigShare> = RefCell::new(ConfigShare::default());
}

#[wasm_bindgen(typescript_custom_section)]
const BREAKER_TS: &'static str = r#"
/** A change of state reported by `record`, `open`, `close`, `reset`, `disable`, `enable`. */
export interface Transition {
  from: CircuitStateName;
  to: CircuitStateName;
}
/** What `execute`'s function receives, as in the Node package. */
export interface CallContext {
  /** Aborted (with the CircuitBreakerTimeoutError) when the call times out. */
  readonly signal: AbortSignal;
}
/**
 * `execute` and `fetch` are written in JS (settle.js) and put on the class when the
 * module starts: one call into wasm to take a permit, one to record the outcome.
 */
export interface CircuitBreaker {
  /**
   * Runs `fn` (sync or async) under the breaker. Resolves with its result; rejects
   * with its error, with `CircuitBreakerTimeoutError` after the call timeout, or
   * with `CircuitBreakerOpenError` (or resolves with the fallback's result) while open.
   */
  execute<T>(f: (ctx: CallContext) => T | PromiseLike<T>): Promise<Awaited<T>>;
  /** `fetch` under the breaker; see the README for what counts as a failure. */
  fetch(input: RequestInfo | URL, init?: RequestInit | null): Promise<Response>;
}
/** How a call guarded with `acquire()` ended. */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'ignored' | 'cancelled';
"#;

#[wasm_bindgen(module = "/src/settle.js")]
extern "C" {
    /// The value of the call being settled (settle.js holds it while `__settle` runs):
    /// read only when a hook or `lastError` needs it.
    pub(crate) fn settling() -> JsValue;
    /// Hands settle.js the error to reject with (or abort the call with, after a
    /// timeout) and the fallback's answer, for `__settle`'s answers 2 and 3.
    fn hand(error: &JsValue, answer: &JsValue);
    /// Puts `execute` and `fetch` (settle.js) on the class of `breaker`.
    fn install(breaker: &JsValue);
}

/// How a call ended, as settle.js reports it: resolved, rejected, timed out (2), or
/// (fetch) aborted by the caller's own signal.
pub(crate) const RESOLVED: u32 = 0;
pub(crate) const REJECTED: u32 = 1;
pub(crate) const CANCELLED: u32 = 3;

/// A call in flight: its breaker, its permit, and whether it is a `fetch` (whose
/// results are responses). It keeps the breaker alive until it settles.
struct Call {
    inner: Rc<Inner>,
    permit: CorePermit,
    fetch: bool,
}

/// The calls in flight of every breaker, by slot; slots are reused, so memory
/// follows concurrency.
struct Calls {
    slots: Vec<Option<Call>>,
    free: Vec<u32>,
}

impl Calls {
    fn insert(&mut self, call: Call) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(call);
                slot
            }
            None => {
                self.slots.push(Some(call));
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn remove(&mut self, slot: u32) -> Option<Call> {
        let call = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        Some(call)
    }
}

thread_local! {
    static CALLS: RefCell<Calls> = const {
        RefCell::new(Calls {
            slots: Vec::new(),
            free: Vec::new(),
        })
    };
    /// `retryAfter` (ms, NaN for `null`) of the last refusal of `__acquire`.
    static RETRY_AFTER: Cell<f64> = const { Cell::new(f64::NAN) };
    /// The error of the given clock when `__acquire` could not read it (its -4).
    static CLOCK_ERROR: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
}

/// Everything one breaker holds; shared by the JS object and its calls in flight.
pub(crate) struct Inner {
    pub(crate) name: String,
    /// The name as a JS string, made once (errors and stats carry it).
    pub(crate) name_js: JsValue,
    pub(crate) core: RefCell<Breaker>,
    pub(crate) clock: Clock,
    pub(crate) hooks: Hooks,
    /// The call timeout in ns (0: none).
    pub(crate) timeout_ns: u64,
    /// What settle.js needs to run a call, read once per breaker:
    /// `{ perf, ms, name, fallback, fetch, queue }` (see settle.js).
    handle: JsValue,
    /// The message of the last failure, for `stats().lastError`.
    pub(crate) last_error: RefCell<Option<String>>,
    /// Calls in flight (slots parked for settle.js, permits out): `guardFetch`'s idle check.
    in_flight: Cell<u32>,
}

/// What the promise of a settled call does.
pub(crate) enum Verdict {
    /// Resolve with the call's value.
    Resolve,
    /// Reject with the call's error.
    Reject,
    /// Reject with this error instead.
    RejectWith(JsValue),
    /// Resolve with the fallback's answer (a promise); after a timeout, the timeout
    /// error (to abort the call with), else `undefined`.
    Fallback(JsValue, JsValue),
}

/// `error.message`, else the error as a string (for `lastError`).
fn message_of(error: &JsValue) -> String {
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "error".into())
}

impl Inner {
    pub(crate) fn new(name: String, options: &JsValue) -> Result<Rc<Inner>, JsValue> {
        let parsed = options::parse(options)?;
        // A given clock is read once now: a bad one fails here, naming `clock`.
        parsed.clock.now()?;
        let config = CONFIGS.with_borrow_mut(|configs| configs.share(parsed.config));
        let core = Breaker::with_shared_config(config).map_err(options::config_error)?;
        let timeout_ns = parsed.config.call_timeout.unwrap_or(0);
        let name_js = JsValue::from_str(&name);
        let handle = Object::new();
        let set = |key: &str, value: &JsValue| {
            let _ = Reflect::set(&handle, &JsValue::from_str(key), value);
        };
        set("perf", &JsValue::from_bool(parsed.clock.is_performance()));
        set("ms", &JsValue::from_f64(to_millis(timeout_ns)));
        set("name", &name_js);
        let hook = |f: &Option<Function>| f.as_ref().map_or(JsValue::UNDEFINED, |f| f.into());
        set("fallback", &hook(&parsed.hooks.fallback));
        set("fetch", &hook(&parsed.hooks.fetch));
        set("queue", &JsValue::UNDEFINED);
        Ok(Rc::new(Inner {
            name_js,
            name,
            core: RefCell::new(core),
            clock: parsed.clock,
            hooks: parsed.hooks,
            timeout_ns,
            handle: handle.into(),
            last_error: RefCell::new(None),
            in_flight: Cell::new(0),
        }))
    }

    /// Records how a call ended (`now`: when); says what its promise does.
    fn settled(&self, permit: CorePermit, fetch: bool, how: u32, status: f64, now: u64) -> Verdict {
        match how {
            RESOLVED if fetch => crate::fetch::responded(self, permit, status, now),
            RESOLVED => {
                if self.hook_says(&self.hooks.is_failure_result, &settling) {
                    self.finish_at(permit, Outcome::Failure, now);
                    *self.last_error.borrow_mut() = Some("failure result".into());
                } else {
                    self.finish_at(permit, Outcome::Success, now);
                }
                Verdict::Resolve
            }
            REJECTED => {
                let error = settling();
                if self.hook_says(&self.hooks.error_filter, &|| error.clone()) {
                    self.finish_at(permit, Outcome::Ignored, now);
                    return Verdict::Reject;
                }
                self.finish_at(permit, Outcome::Failure, now);
                *self.last_error.borrow_mut() = Some(message_of(&error));
                self.after_failure(&error, true)
            }
            CANCELLED => {
                self.finish_at(permit, Outcome::Cancelled, now);
                Verdict::Reject
            }
            _ => {
                let error = errors::timeout_error(&self.name_js, self.timeout_ns);
                self.finish_at(permit, Outcome::Timeout, now);
                *self.last_error.borrow_mut() = Some(message_of(&error));
                match self.after_failure(&error, false) {
                    Verdict::Fallback(_, answer) => Verdict::Fallback(error, answer),
                    verdict => verdict,
                }
            }
        }
    }

    /// Whether a predicate option (`errorFilter`, `isFailureResult`) says yes; one
    /// that throws says no.
    /// `value` is read only when there is a hook.
    pub(crate) fn hook_says(&self, hook: &Option<Function>, value: &dyn Fn() -> JsValue) -> bool {
        hook.as_ref().is_some_and(|f| {
            f.call1(&JsValue::UNDEFINED, &value())
                .is_ok_and(|v| v.is_truthy())
        })
    }

    /// A failed or timed-out call: the fallback answers, if there is one; else the
    /// call rejects with its own error (`own`) or with `error`.
    pub(crate) fn after_failure(&self, error: &JsValue, own: bool) -> Verdict {
        match &self.hooks.fallback {
            Some(_) => Verdict::Fallback(JsValue::UNDEFINED, self.fallback(error).into()),
            None if own => Verdict::Reject,
            None => Verdict::RejectWith(error.clone()),
        }
    }

    /// The fallback's answer to `error` as a promise (it may return a value, a promise, or throw).
    fn fallback(&self, error: &JsValue) -> Promise {
        let Some(fallback) = &self.hooks.fallback else {
            return Promise::reject(error);
        };
        match fallback.call1(&JsValue::UNDEFINED, error) {
            Ok(value) => Promise::resolve(&value),
            Err(thrown) => Promise::reject(&thrown),
        }
    }

    /// Asks the core for a permit at `now`; reports OPEN → HALF_OPEN if this acquire caused it.
    fn acquire_at(&self, now: u64) -> Result<CorePermit, Rejected> {
        let acquired = self.core.borrow_mut().try_acquire(now);
        if let Ok(permit) = &acquired {
            self.report(permit.transition());
        }
        acquired
    }

    /// Hands the permit back with its outcome at `now`; reports the transition, if any.
    pub(crate) fn finish_at(
        &self,
        permit: CorePermit,
        outcome: Outcome,
        now: u64,
    ) -> Option<Transition> {
        let transition = self.core.borrow_mut().record(permit, outcome, now);
        self.report(transition);
        transition
    }

    /// Calls the state callbacks (never while the core is borrowed: they may call back in).
    fn report(&self, transition: Option<Transition>) {
        let Some(t) = transition else { return };
        if t.from == t.to {
            return;
        }
        if let Some(f) = &self.hooks.on_state_change {
            let _ = f.call3(
                &JsValue::UNDEFINED,
                &state_name(t.from),
                &state_name(t.to),
                &self.name_js,
            );
        }
        let hook = match t.to {
            State::Open => &self.hooks.on_open,
            State::Closed => &self.hooks.on_close,
            State::HalfOpen => &self.hooks.on_half_open,
        };
        if let Some(f) = hook {
            let _ = f.call0(&JsValue::UNDEFINED);
        }
    }

    fn manual(&self, op: fn(&mut Breaker, u64) -> Transition) -> Result<JsValue, JsValue> {
        let now = self.clock.now()?;
        let transition = op(&mut self.core.borrow_mut(), now);
        self.report(Some(transition));
        Ok(transition_to_js(Some(transition)))
    }
}

thread_local! {
    /// The three state names as JS strings, made once: `state` is read often.
    static STATE_NAMES: [JsValue; 3] = [State::Closed, State::Open, State::HalfOpen].map(|s| JsValue::from_str(s.as_str()));
}

/// `'CLOSED'`, `'OPEN'` or `'HALF_OPEN'` without building a new JS string.
pub(crate) fn state_name(state: State) -> JsValue {
    let index = match state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
    };
    STATE_NAMES.with(|names| names[index].clone())
}

pub(crate) fn transition_to_js(transition: Option<Transition>) -> JsValue {
    let Some(t) = transition else {
        return JsValue::UNDEFINED;
    };
    let object = Object::new();
    let _ = Reflect::set(&object, &"from".into(), &state_name(t.from));
    let _ = Reflect::set(&object, &"to".into(), &state_name(t.to));
    object.into()
}

/// A circuit breaker: `execute` async functions or `fetch` under it; read its `state`
/// and `stats()`; control it with `open()`, `close()`, `reset()`.
#[wasm_bindgen]
pub struct CircuitBreaker {
    pub(crate) inner: Rc<Inner>,
}

/// Leave to run one call, from `acquire()`; hand it back with `record(permit, outcome)`
/// on the breaker that issued it, exactly once.
#[wasm_bindgen]
pub struct Permit {
    permit: CorePermit,
    /// The breaker that issued it: a permit is recorded there or nowhere.
    owner: Rc<Inner>,
    /// Whether `record` has ended it. Until then (or until it is freed) it counts
    /// in its breaker's calls in flight.
    used: Cell<bool>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.used.get() {
            let count = &self.owner.in_flight;
            count.set(count.get().saturating_sub(1));
        }
    }
}

#[wasm_bindgen]
impl Permit {
    /// Whether this is a half-open trial call.
    #[wasm_bindgen(getter)]
    pub fn trial(&self) -> bool {
        self.permit.is_trial()
    }

    /// When it was issued, in ms of the breaker's clock.
    #[wasm_bindgen(getter, js_name = issuedAt)]
    pub fn issued_at(&self) -> f64 {
        to_millis(self.permit.issued_at())
    }

    /// `OPEN → HALF_OPEN` if this acquire caused it.
    #[wasm_bindgen(getter, unchecked_return_type = "Transition | undefined")]
    pub fn transition(&self) -> JsValue {
        transition_to_js(self.permit.transition())
    }
}

/// Puts settle.js's `execute` and `fetch` on the `CircuitBreaker` class (once, at start).
pub(crate) fn install_methods() {
    if let Ok(inner) = Inner::new(String::new(), &JsValue::UNDEFINED) {
        install(&CircuitBreaker { inner }.into());
    }
}

pub(crate) fn check_name(name: &JsValue) -> Result<String, JsValue> {
    name.as_string()
        .ok_or_else(|| errors::type_error("CircuitBreaker: `name` must be a string"))
}

#[wasm_bindgen]
impl CircuitBreaker {
    /// A closed breaker. Bad options throw a `TypeError` or `RangeError` naming the option.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        options: Option<BreakerOptions>,
    ) -> Result<CircuitBreaker, JsValue> {
        let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        Ok(CircuitBreaker {
            inner: Inner::new(check_name(&name)?, &options)?,
        })
    }

    /// The name given at construction.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// settle.js's `execute` and `fetch`: a permit at `now_ms` (NaN: read the
    /// breaker's clock), parked in a slot for `__settle`; or, when refused,
    /// -2 (OPEN) or -3 (HALF_OPEN), with `__retryAfter()` telling when to retry.
    #[wasm_bindgen(js_name = __acquire, skip_typescript)]
    pub fn acquire_slot(&self, now_ms: f64, fetch: bool) -> f64 {
        let now = match self.inner.clock.at(now_ms) {
            Ok(now) => now,
            Err(error) => {
                // settle.js rejects the call with it (`__clockError()`).
                CLOCK_ERROR.with(|e| e.replace(error));
                return -4.0;
            }
        };
        match self.inner.acquire_at(now) {
            Ok(permit) => {
                let inner = Rc::clone(&self.inner);
                inner.in_flight.set(inner.in_flight.get() + 1);
                let call = Call {
                    inner,
                    permit,
                    fetch,
                };
                f64::from(CALLS.with(|calls| calls.borrow_mut().insert(call)))
            }
            Err(rejected) => {
                let retry = rejected.retry_after.map_or(f64::NAN, to_millis);
                RETRY_AFTER.with(|r| r.set(retry));
                match rejected.state {
                    State::HalfOpen => -3.0,
                    _ => -2.0,
                }
            }
        }
    }

    /// `guardFetch`'s idle check (core `Eviction`): this breaker's activity count
    /// (total calls) when it is CLOSED, not forced or disabled, with nothing in
    /// flight; else -1.
    #[wasm_bindgen(js_name = __idle, skip_typescript)]
    pub fn idle(&self) -> f64 {
        if self.inner.in_flight.get() > 0 {
            return -1.0;
        }
        let Ok(now) = self.inner.clock.now() else {
            return -1.0;
        };
        let s = self.inner.core.borrow().stats(now);
        if s.state != State::Closed || s.forced_open || s.disabled {
            return -1.0;
        }
        (s.requests + s.rejected + s.ignored) as f64
    }

    /// The clock's error when `__acquire` answered -4 (taken: asked once).
    #[wasm_bindgen(js_name = __clockError, skip_typescript)]
    pub fn clock_error() -> JsValue {
        CLOCK_ERROR.with(|e| e.replace(JsValue::UNDEFINED))
    }

    /// `retryAfter` of the last refusal of `__acquire`, in ms (NaN: `null`, forced open).
    #[wasm_bindgen(js_name = __retryAfter, skip_typescript)]
    pub fn retry_after() -> f64 {
        RETRY_AFTER.with(Cell::get)
    }

    /// What settle.js needs to run this breaker's calls (read once per breaker).
    #[wasm_bindgen(js_name = __handle, skip_typescript)]
    pub fn handle(&self) -> JsValue {
        self.inner.handle.clone()
    }

    /// Records how the call in `slot` ended (`how`: 0 resolved, 1 rejected, 2 timed
    /// out, 3 cancelled; `status`: a response's; `now_ms`: when, NaN to read the
    /// clock) and answers what its promise does: 0 resolve with its value, 1 reject
    /// with its error, 2 reject with the handed error, 3 resolve with the handed answer.
    #[wasm_bindgen(js_name = __settle, skip_typescript)]
    pub fn settle(slot: u32, how: u32, status: f64, now_ms: f64) -> u32 {
        let Some(call) = CALLS.with(|calls| calls.borrow_mut().remove(slot)) else {
            return u32::from(how != RESOLVED);
        };
        let Call {
            inner,
            permit,
            fetch,
        } = call;
        inner.in_flight.set(inner.in_flight.get().saturating_sub(1));
        let now = match inner.clock.at(now_ms) {
            Ok(now) => now,
            Err(error) => {
                // No end can be read: the permit is handed back (at the last reading)
                // and the call rejects with the clock's error.
                inner.finish_at(permit, Outcome::Cancelled, inner.clock.last());
                hand(&error, &JsValue::UNDEFINED);
                return 2;
            }
        };
        match inner.settled(permit, fetch, how, status, now) {
            Verdict::Resolve => 0,
            Verdict::Reject => 1,
            Verdict::RejectWith(error) => {
                hand(&error, &JsValue::UNDEFINED);
                2
            }
            Verdict::Fallback(error, answer) => {
                hand(&error, &answer);
                3
            }
        }
    }

    /// The effective state now: `'HALF_OPEN'` once the open duration has passed.
    #[wasm_bindgen(getter, unchecked_return_type = "CircuitStateName")]
    pub fn state(&self) -> Result<JsValue, JsValue> {
        let now = self.inner.clock.now()?;
        Ok(state_name(self.inner.core.borrow().state(now)))
    }

    /// The effective state now, as the Node package's `getState()`.
    #[wasm_bindgen(js_name = getState, unchecked_return_type = "CircuitStateName")]
    pub fn get_state(&self) -> Result<JsValue, JsValue> {
        self.state()
    }

    /// Counters, rates and timings now.
    pub fn stats(&self) -> Result<JsStats, JsValue> {
        let now = self.inner.clock.now()?;
        let stats = self.inner.core.borrow().stats(now);
        Ok(stats::to_js(&self.inner, &stats))
    }

    /// Alias of `stats()`, as in the Node package.
    #[wasm_bindgen(js_name = getStats)]
    pub fn get_stats(&self) -> Result<JsStats, JsValue> {
        self.stats()
    }

    /// Opens the circuit until `close()` or `reset()`.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn open(&self) -> Result<JsValue, JsValue> {
        self.inner.manual(Breaker::force_open)
    }

    /// Closes the circuit and clears the window; totals are kept.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn close(&self) -> Result<JsValue, JsValue> {
        self.inner.manual(Breaker::close)
    }

    /// Back to a new breaker: closed, window and totals cleared.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn reset(&self) -> Result<JsValue, JsValue> {
        self.inner.last_error.replace(None);
        self.inner.manual(Breaker::reset)
    }

    /// Always permits, still counts, never trips, until `enable()`.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn disable(&self) -> Result<JsValue, JsValue> {
        self.inner.manual(Breaker::disable)
    }

    /// Ends `disable()`.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn enable(&self) -> Result<JsValue, JsValue> {
        self.inner.manual(Breaker::enable)
    }

    /// Asks for a permit without running anything (for calls that are not promises).
    /// Throws `CircuitBreakerOpenError` when refused.
    pub fn acquire(&self) -> Result<Permit, JsValue> {
        let now = self.inner.clock.now()?;
        match self.inner.acquire_at(now) {
            Ok(permit) => {
                let count = &self.inner.in_flight;
                count.set(count.get() + 1);
                Ok(Permit {
                    permit,
                    owner: Rc::clone(&self.inner),
                    used: Cell::new(false),
                })
            }
            Err(rejected) => Err(errors::open_error(&self.inner.name_js, rejected)),
        }
    }

    /// Ends a call started with `acquire()`; returns the transition it caused.
    #[wasm_bindgen(unchecked_return_type = "Transition | undefined")]
    pub fn record(
        &self,
        permit: &Permit,
        #[wasm_bindgen(unchecked_param_type = "CallOutcome")] outcome: JsValue,
    ) -> Result<JsValue, JsValue> {
        let outcome = match outcome.as_string().as_deref() {
            Some("success") => Outcome::Success,
            Some("failure") => Outcome::Failure,
            Some("timeout") => Outcome::Timeout,
            Some("ignored") => Outcome::Ignored,
            Some("cancelled") => Outcome::Cancelled,
            _ => {
                return Err(errors::type_error(
                    "record: `outcome` must be 'success', 'failure', 'timeout', 'ignored' or 'cancelled'",
                ))
            }
        };
        // Everything is checked before the permit is used: a mistake leaves it live.
        if !Rc::ptr_eq(&permit.owner, &self.inner) {
            return Err(errors::type_error(&format!(
                "record: this permit was issued by breaker '{}', not by '{}'; record it there",
                permit.owner.name, self.inner.name
            )));
        }
        if permit.used.get() {
            return Err(errors::type_error(
                "record: this permit was already recorded",
            ));
        }
        let now = self.inner.clock.now()?;
        permit.used.set(true);
        self.inner
            .in_flight
            .set(self.inner.in_flight.get().saturating_sub(1));
        Ok(transition_to_js(self.inner.finish_at(
            permit.permit,
            outcome,
            now,
        )))
    }
}
