//! `CircuitBreaker`: the core breaker, its clock and callbacks, and `execute`.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use tripwire_core::{Breaker, Outcome, Permit as CorePermit, Rejected, State, Transition};
use wasm_bindgen::prelude::*;

use crate::clock::{to_millis, Clock};
use crate::errors;
use crate::options::{self, BreakerOptions, Hooks};
use crate::stats::{self, JsStats};

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
/** How a call guarded with `acquire()` ended. */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'ignored' | 'cancelled';
"#;

#[wasm_bindgen(module = "/src/settle.js")]
extern "C" {
    /// Calls `f`, then settles its result under the breaker (see settle.js).
    fn run(f: &Function, ms: f64, slot: u32, ctx: &JsValue) -> Promise;
}

/// How a call ended, as settle.js reports it: resolved, rejected, timed out (2), or
/// (fetch) aborted by the caller's own signal.
pub(crate) const RESOLVED: u32 = 0;
pub(crate) const REJECTED: u32 = 1;
pub(crate) const CANCELLED: u32 = 3;

/// A call in flight: its permit, and whether it is a `fetch` (whose results are responses).
struct Call {
    permit: CorePermit,
    fetch: bool,
}

/// The calls in flight, by slot; slots are reused, so memory follows concurrency.
#[derive(Default)]
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

/// Everything one breaker holds; shared by the JS object and guardFetch.
pub(crate) struct Inner {
    pub(crate) name: String,
    /// The name as a JS string, made once (errors and stats carry it).
    pub(crate) name_js: JsValue,
    pub(crate) core: RefCell<Breaker>,
    pub(crate) clock: Clock,
    pub(crate) hooks: Hooks,
    /// The call timeout in ms for settle.js (0: none), and in ns.
    pub(crate) timeout_ms: f64,
    pub(crate) timeout_ns: u64,
    calls: RefCell<Calls>,
    /// `{ done(slot, how, value, status), take(), answer() }` for settle.js: `done`
    /// records how a call ended and answers 0 (resolve with its value), 1 (reject with
    /// its error), 2 (reject with `take()`: a timeout error, or what a hook threw) or
    /// 3 (resolve with `answer()`: the fallback's; after a timeout `take()` holds the
    /// timeout error, to abort the call with). Owned by the JS GC and holding only a
    /// weak reference, so a call still in flight when the breaker is freed is harmless.
    pub(crate) ctx: JsValue,
    pending_error: RefCell<JsValue>,
    pending_answer: RefCell<JsValue>,
    /// The message of the last failure, for `stats().lastError`.
    pub(crate) last_error: RefCell<Option<String>>,
}

/// What the promise of a settled call does.
pub(crate) enum Verdict {
    /// Resolve with the call's value.
    Resolve,
    /// Reject with the call's error.
    Reject,
    /// Reject with this error instead.
    RejectWith(JsValue),
    /// Resolve with the fallback's answer (a promise).
    Fallback(JsValue),
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
        let core = Breaker::new(parsed.config).map_err(options::config_error)?;
        let timeout_ns = parsed.config.call_timeout.unwrap_or(0);
        Ok(Rc::new_cyclic(|weak: &Weak<Inner>| {
            let for_done = weak.clone();
            let done = Closure::<dyn Fn(u32, u32, JsValue, f64) -> u32>::new(
                move |slot, how, value, status| {
                    let Some(inner) = for_done.upgrade() else {
                        return u32::from(how != RESOLVED);
                    };
                    match inner.settled(slot, how, value, status) {
                        Verdict::Resolve => 0,
                        Verdict::Reject => 1,
                        Verdict::RejectWith(error) => {
                            *inner.pending_error.borrow_mut() = error;
                            2
                        }
                        Verdict::Fallback(answer) => {
                            *inner.pending_answer.borrow_mut() = answer;
                            3
                        }
                    }
                },
            )
            .into_js_value();
            let for_take = weak.clone();
            let take = Closure::<dyn Fn() -> JsValue>::new(move || {
                for_take.upgrade().map_or(JsValue::UNDEFINED, |inner| {
                    inner.pending_error.replace(JsValue::UNDEFINED)
                })
            })
            .into_js_value();
            let for_answer = weak.clone();
            let answer = Closure::<dyn Fn() -> JsValue>::new(move || {
                for_answer.upgrade().map_or(JsValue::UNDEFINED, |inner| {
                    inner.pending_answer.replace(JsValue::UNDEFINED)
                })
            })
            .into_js_value();
            let ctx = Object::new();
            let _ = Reflect::set(&ctx, &"done".into(), &done);
            let _ = Reflect::set(&ctx, &"take".into(), &take);
            let _ = Reflect::set(&ctx, &"answer".into(), &answer);
            Inner {
                name_js: JsValue::from_str(&name),
                name,
                core: RefCell::new(core),
                clock: parsed.clock,
                hooks: parsed.hooks,
                timeout_ms: to_millis(timeout_ns),
                timeout_ns,
                calls: RefCell::new(Calls::default()),
                ctx: ctx.into(),
                pending_error: RefCell::new(JsValue::UNDEFINED),
                pending_answer: RefCell::new(JsValue::UNDEFINED),
                last_error: RefCell::new(None),
            }
        }))
    }

    /// Keeps a permitted call until settle.js reports how it ended.
    pub(crate) fn start(&self, permit: CorePermit, fetch: bool) -> u32 {
        self.calls.borrow_mut().insert(Call { permit, fetch })
    }

    /// Records how the call in `slot` ended; says what its promise does.
    pub(crate) fn settled(&self, slot: u32, how: u32, value: JsValue, status: f64) -> Verdict {
        let call = self.calls.borrow_mut().remove(slot);
        let Some(Call { permit, fetch }) = call else {
            return if how == RESOLVED {
                Verdict::Resolve
            } else {
                Verdict::Reject
            };
        };
        match how {
            RESOLVED if fetch => crate::fetch::responded(self, permit, &value, status),
            RESOLVED => {
                if self.hook_says(&self.hooks.is_failure_result, &value) {
                    self.finish(permit, Outcome::Failure);
                    *self.last_error.borrow_mut() = Some("failure result".into());
                } else {
                    self.finish(permit, Outcome::Success);
                }
                Verdict::Resolve
            }
            REJECTED => {
                if self.hook_says(&self.hooks.error_filter, &value) {
                    self.finish(permit, Outcome::Ignored);
                    return Verdict::Reject;
                }
                self.finish(permit, Outcome::Failure);
                *self.last_error.borrow_mut() = Some(message_of(&value));
                self.after_failure(&value, true)
            }
            CANCELLED => {
                self.finish(permit, Outcome::Cancelled);
                Verdict::Reject
            }
            _ => {
                let error = errors::timeout_error(&self.name_js, self.timeout_ns);
                self.finish(permit, Outcome::Timeout);
                *self.last_error.borrow_mut() = Some(message_of(&error));
                *self.pending_error.borrow_mut() = error.clone();
                self.after_failure(&error, false)
            }
        }
    }

    /// Whether a predicate option (`errorFilter`, `isFailureResult`) says yes; one
    /// that throws says no.
    fn hook_says(&self, hook: &Option<Function>, value: &JsValue) -> bool {
        hook.as_ref().is_some_and(|f| {
            f.call1(&JsValue::UNDEFINED, value)
                .is_ok_and(|v| v.is_truthy())
        })
    }

    /// A failed or timed-out call: the fallback answers, if there is one; else the
    /// call rejects with its own error (`own`) or with `error`.
    pub(crate) fn after_failure(&self, error: &JsValue, own: bool) -> Verdict {
        match &self.hooks.fallback {
            Some(_) => Verdict::Fallback(self.fallback(error).into()),
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

    /// Asks the core for a permit now; reports OPEN → HALF_OPEN if this acquire caused it.
    pub(crate) fn acquire(&self) -> Result<CorePermit, Rejected> {
        let now = self.clock.now();
        let acquired = self.core.borrow_mut().try_acquire(now);
        if let Ok(permit) = &acquired {
            self.report(permit.transition());
        }
        acquired
    }

    /// Hands the permit back with its outcome; reports the transition, if any.
    pub(crate) fn finish(&self, permit: CorePermit, outcome: Outcome) -> Option<Transition> {
        let now = self.clock.now();
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

    /// The answer to a refused call: the fallback's result, or `CircuitBreakerOpenError`.
    pub(crate) fn refuse(&self, rejected: Rejected) -> Promise {
        self.fallback(&errors::open_error(&self.name_js, rejected))
    }

    fn manual(&self, op: fn(&mut Breaker, u64) -> Transition) -> JsValue {
        let now = self.clock.now();
        let transition = op(&mut self.core.borrow_mut(), now);
        self.report(Some(transition));
        transition_to_js(Some(transition))
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

/// Runs `f` under the breaker: the promise it returns settles the call.
fn execute(inner: &Inner, f: &Function) -> Promise {
    // A caller's mistake, not the upstream's: refused before asking for a permit.
    if !f.is_function() {
        return Promise::reject(&errors::type_error(
            "execute: the argument must be a function",
        ));
    }
    let permit = match inner.acquire() {
        Ok(permit) => permit,
        Err(rejected) => return inner.refuse(rejected),
    };
    let slot = inner.start(permit, false);
    run(f, inner.timeout_ms, slot, &inner.ctx)
}

/// A circuit breaker: `execute` async functions or `fetch` under it; read its `state`
/// and `stats()`; control it with `open()`, `close()`, `reset()`.
#[wasm_bindgen]
pub struct CircuitBreaker {
    pub(crate) inner: Rc<Inner>,
}

/// Leave to run one call, from `acquire()`; hand it back with `record(permit, outcome)`.
#[wasm_bindgen]
pub struct Permit {
    permit: CorePermit,
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

    /// Runs `fn` (sync or async) under the breaker. Resolves with its result; rejects
    /// with its error, with `CircuitBreakerTimeoutError` after the call timeout, or
    /// with `CircuitBreakerOpenError` (or resolves with the fallback's result) while open.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn execute(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(ctx: CallContext) => unknown")] f: &Function,
    ) -> Promise {
        execute(&self.inner, f)
    }

    /// `fetch` under the breaker; see the README for what counts as a failure.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RequestInfo | URL")] input: JsValue,
        init: Option<crate::fetch::RequestInitArg>,
    ) -> Promise {
        crate::fetch::fetch(
            &self.inner,
            input,
            init.map_or(JsValue::UNDEFINED, Into::into),
        )
    }

    /// The effective state now: `'HALF_OPEN'` once the open duration has passed.
    #[wasm_bindgen(getter, unchecked_return_type = "CircuitStateName")]
    pub fn state(&self) -> JsValue {
        let now = self.inner.clock.now();
        state_name(self.inner.core.borrow().state(now))
    }

    /// The effective state now, as the Node package's `getState()`.
    #[wasm_bindgen(js_name = getState, unchecked_return_type = "CircuitStateName")]
    pub fn get_state(&self) -> JsValue {
        self.state()
    }

    /// Counters, rates and timings now.
    pub fn stats(&self) -> JsStats {
        let now = self.inner.clock.now();
        let stats = self.inner.core.borrow().stats(now);
        stats::to_js(&self.inner, &stats)
    }

    /// Alias of `stats()`, as in the Node package.
    #[wasm_bindgen(js_name = getStats)]
    pub fn get_stats(&self) -> JsStats {
        self.stats()
    }

    /// Opens the circuit until `close()` or `reset()`.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn open(&self) -> JsValue {
        self.inner.manual(Breaker::force_open)
    }

    /// Closes the circuit and clears the window; totals are kept.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn close(&self) -> JsValue {
        self.inner.manual(Breaker::close)
    }

    /// Back to a new breaker: closed, window and totals cleared.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn reset(&self) -> JsValue {
        self.inner.last_error.replace(None);
        self.inner.manual(Breaker::reset)
    }

    /// Always permits, still counts, never trips, until `enable()`.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn disable(&self) -> JsValue {
        self.inner.manual(Breaker::disable)
    }

    /// Ends `disable()`.
    #[wasm_bindgen(unchecked_return_type = "Transition")]
    pub fn enable(&self) -> JsValue {
        self.inner.manual(Breaker::enable)
    }

    /// Asks for a permit without running anything (for calls that are not promises).
    /// Throws `CircuitBreakerOpenError` when refused.
    pub fn acquire(&self) -> Result<Permit, JsValue> {
        match self.inner.acquire() {
            Ok(permit) => Ok(Permit { permit }),
            Err(rejected) => Err(errors::open_error(&self.inner.name_js, rejected)),
        }
    }

    /// Ends a call started with `acquire()`; returns the transition it caused.
    #[wasm_bindgen(unchecked_return_type = "Transition | undefined")]
    pub fn record(
        &self,
        permit: Permit,
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
        Ok(transition_to_js(self.inner.finish(permit.permit, outcome)))
    }
}
