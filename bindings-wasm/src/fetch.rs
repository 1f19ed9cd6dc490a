//! `breaker.fetch` and `guardFetch`: fetch under a breaker, one breaker per origin.

use js_sys::{Array, Function, Object, Promise, Reflect};
use tripwire_core::{Outcome, Permit};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::breaker::{settle, CircuitBreaker, Inner, REJECTED, RESOLVED};
use crate::errors;
use crate::options::GuardOptions;

#[wasm_bindgen]
extern "C" {
    type AbortController;
    #[wasm_bindgen(constructor)]
    fn new() -> AbortController;
    #[wasm_bindgen(method, getter)]
    fn signal(this: &AbortController) -> JsValue;
    #[wasm_bindgen(method)]
    fn abort(this: &AbortController, reason: &JsValue);

    #[wasm_bindgen(js_name = AbortSignal)]
    type AbortSignalClass;
    #[wasm_bindgen(static_method_of = AbortSignalClass, js_class = "AbortSignal", js_name = any, catch)]
    fn any(signals: &Array) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(thread_local_v2, js_name = globalThis)]
    static GLOBAL: JsValue;
}

fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_object() || target.is_function() {
        Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// The caller's own abort signal: `init.signal`, else the `Request`'s.
fn caller_signal(input: &JsValue, init: &JsValue) -> Option<JsValue> {
    let signal = get(init, "signal");
    let signal = if signal.is_undefined() || signal.is_null() {
        get(input, "signal")
    } else {
        signal
    };
    (signal.is_object()).then_some(signal)
}

fn aborted(signal: &Option<JsValue>) -> bool {
    signal
        .as_ref()
        .is_some_and(|s| get(s, "aborted").is_truthy())
}

/// `init` with `signal` in place of the caller's.
fn with_signal(init: &JsValue, signal: &JsValue) -> JsValue {
    let copy = Object::new();
    if init.is_object() {
        let _ = Object::assign(&copy, init.unchecked_ref());
    }
    let _ = Reflect::set(&copy, &JsValue::from_str("signal"), signal);
    copy.into()
}

/// Whether `response` counts as a failure: the `isFailureResponse` option, else
/// status ≥ 500 or 429.
fn is_failure(inner: &Inner, response: &JsValue) -> Result<bool, JsValue> {
    match &inner.hooks.is_failure_response {
        Some(rule) => Ok(rule.call1(&JsValue::UNDEFINED, response)?.is_truthy()),
        None => {
            let status = get(response, "status").as_f64().unwrap_or(0.0);
            Ok(status >= 500.0 || status == 429.0)
        }
    }
}

/// What deciding a fetch's outcome needs, kept while it is in flight.
pub(crate) struct FetchCall {
    /// Ours, to abort the request on timeout.
    controller: Option<AbortController>,
    /// The caller's, to tell their abort (cancelled) from a failure.
    caller: Option<JsValue>,
}

/// `fetch(input, init)` under the breaker of `inner`.
pub(crate) fn fetch(inner: &Inner, input: JsValue, init: JsValue) -> Promise {
    let permit = match inner.acquire() {
        Ok(permit) => permit,
        Err(rejected) => return inner.refuse(rejected),
    };
    let caller = caller_signal(&input, &init);
    // A timeout needs a signal of our own, joined with the caller's if there is one.
    let controller = (inner.timeout_ns > 0).then(AbortController::new);
    let init = match (&controller, &caller) {
        (None, _) => init,
        (Some(ours), None) => with_signal(&init, &ours.signal()),
        (Some(ours), Some(theirs)) => {
            match AbortSignalClass::any(&Array::of2(theirs, &ours.signal())) {
                Ok(joined) => with_signal(&init, &joined),
                // No AbortSignal.any (older engines): the caller's signal stays; the timeout
                // still rejects and counts, but cannot abort the request itself.
                Err(_) => init,
            }
        }
    };
    let global = GLOBAL.with(JsValue::clone);
    let started = match &inner.hooks.fetch {
        Some(f) => f.call2(&global, &input, &init),
        None => get(&global, "fetch")
            .unchecked_into::<Function>()
            .call2(&global, &input, &init),
    };
    let slot = inner.start(permit, Some(FetchCall { controller, caller }));
    match started {
        Ok(promise) => settle(&promise, inner.timeout_ms, slot, &inner.done),
        Err(thrown) => match inner.settled(slot, REJECTED, thrown) {
            Ok(value) => Promise::resolve(&value),
            Err(error) => Promise::reject(&error),
        },
    }
}

/// How a fetch ended: a response (a failure if `isFailureResponse`, else status ≥ 500
/// or 429, but resolved either way), an error (cancelled if the caller aborted), or
/// the timeout (which aborts the request).
pub(crate) fn settled(
    inner: &Inner,
    permit: Permit,
    call: FetchCall,
    how: u32,
    value: JsValue,
) -> Result<JsValue, JsValue> {
    match how {
        RESOLVED => match is_failure(inner, &value) {
            Ok(failed) => {
                inner.finish(
                    permit,
                    if failed {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    },
                );
                Ok(value)
            }
            Err(thrown) => {
                inner.finish(permit, Outcome::Failure);
                Err(thrown)
            }
        },
        REJECTED => {
            let outcome = if aborted(&call.caller) {
                Outcome::Cancelled
            } else {
                Outcome::Failure
            };
            inner.finish(permit, outcome);
            Err(value)
        }
        _ => {
            let error = errors::timeout_error(&inner.name, inner.timeout_ns);
            if let Some(controller) = &call.controller {
                controller.abort(&error);
            }
            inner.finish(permit, Outcome::Timeout);
            Err(error)
        }
    }
}

#[wasm_bindgen(typescript_custom_section)]
const GUARD_TS: &'static str = r#"
/** `fetch` guarded by one circuit breaker per origin. */
export interface GuardedFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The breaker of `origin` (or of any URL's origin), created on first use. */
  breakerFor(origin: string | URL): CircuitBreaker;
}
"#;

#[wasm_bindgen(module = "/src/settle.js")]
extern "C" {
    /// The guarded function around `create(origin)` (see settle.js).
    fn guard(create: &JsValue) -> JsValue;
}

/// A function with `fetch`'s signature that keeps one breaker per origin (relative
/// URLs resolve against the page), so one dead API does not block the others.
#[wasm_bindgen(js_name = guardFetch, unchecked_return_type = "GuardedFetch")]
pub fn guard_fetch(options: Option<GuardOptions>) -> Result<JsValue, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    // Validate now, so that bad options throw here rather than on the first fetch.
    Inner::new(String::new(), &options)?;
    let create =
        Closure::<dyn Fn(String) -> Result<JsValue, JsValue>>::new(move |origin: String| {
            Ok(CircuitBreaker {
                inner: Inner::new(origin, &options)?,
            }
            .into())
        })
        .into_js_value();
    Ok(guard(&create))
}
