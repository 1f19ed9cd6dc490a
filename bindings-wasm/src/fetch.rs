//! `breaker.fetch` and `guardFetch`: fetch under a breaker, one breaker per origin.
//!
//! settle.js runs the request (signals, the `AbortController` of the timeout) and
//! reports how it ended; this decides what that means for the breaker.

use js_sys::Promise;
use tripwire_core::{Outcome, Permit};
use wasm_bindgen::prelude::*;

use crate::breaker::{CircuitBreaker, Inner, Verdict};
use crate::options::GuardOptions;

#[wasm_bindgen]
extern "C" {
    /// `RequestInit` in the generated `.d.ts` (an optional argument).
    #[wasm_bindgen(typescript_type = "RequestInit")]
    pub type RequestInitArg;
}

#[wasm_bindgen(module = "/src/settle.js")]
extern "C" {
    /// Calls `fetch_fn` (or the global `fetch`) with the timeout's signal joined to
    /// the caller's, and settles the call under the breaker (see settle.js).
    #[wasm_bindgen(js_name = fetchCall)]
    fn fetch_call(
        fetch_fn: &JsValue,
        input: &JsValue,
        init: &JsValue,
        ms: f64,
        slot: u32,
        ctx: &JsValue,
    ) -> Promise;
}

/// `fetch(input, init)` under the breaker of `inner`.
pub(crate) fn fetch(inner: &Inner, input: JsValue, init: JsValue) -> Promise {
    let permit = match inner.acquire() {
        Ok(permit) => permit,
        Err(rejected) => return inner.refuse(rejected),
    };
    let slot = inner.start(permit, true);
    let fetch_fn = inner
        .hooks
        .fetch
        .as_ref()
        .map_or(JsValue::UNDEFINED, |f| f.into());
    fetch_call(&fetch_fn, &input, &init, inner.timeout_ms, slot, &inner.ctx)
}

/// Whether a response with `status` counts as a failure: the `isFailureResponse`
/// option, else status ≥ 500 or 429.
fn is_failure(inner: &Inner, response: &JsValue, status: f64) -> Result<bool, JsValue> {
    match &inner.hooks.is_failure_response {
        Some(rule) => Ok(rule.call1(&JsValue::UNDEFINED, response)?.is_truthy()),
        None => Ok(status >= 500.0 || status == 429.0),
    }
}

/// A response: a failure if `isFailureResponse` says so, else if status ≥ 500 or 429;
/// it resolves either way. (Errors, the caller's abort and timeouts are settled like
/// any call's, in `Inner::settled`.)
pub(crate) fn responded(inner: &Inner, permit: Permit, response: &JsValue, status: f64) -> Verdict {
    match is_failure(inner, response, status) {
        Ok(failed) => {
            inner.finish(
                permit,
                if failed {
                    Outcome::Failure
                } else {
                    Outcome::Success
                },
            );
            if failed {
                *inner.last_error.borrow_mut() = Some(format!("HTTP {}", status as u32));
            }
            Verdict::Resolve
        }
        Err(thrown) => {
            inner.finish(permit, Outcome::Failure);
            Verdict::RejectWith(thrown)
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
