//! `breaker.fetch` and `guardFetch`: fetch under a breaker, one breaker per origin.
//!
//! settle.js runs the request (signals, the `AbortController` of the timeout) and
//! reports how it ended; this decides what that means for a response.

use tripwire_core::{Outcome, Permit};
use wasm_bindgen::prelude::*;

use crate::breaker::{settling, CircuitBreaker, Inner, Verdict};
use crate::options::GuardOptions;

/// Whether a response with `status` counts as a failure: the `isFailureResponse`
/// option, else status ≥ 500 or 429.
fn is_failure(inner: &Inner, status: f64) -> Result<bool, JsValue> {
    match &inner.hooks.is_failure_response {
        Some(rule) => Ok(rule.call1(&JsValue::UNDEFINED, &settling())?.is_truthy()),
        None => Ok(status >= 500.0 || status == 429.0),
    }
}

/// A response: a failure if `isFailureResponse` says so, else if status ≥ 500 or 429;
/// it resolves either way. (Errors, the caller's abort and timeouts are settled like
/// any call's, in `Inner::settled`.)
pub(crate) fn responded(inner: &Inner, permit: Permit, status: f64, now: u64) -> Verdict {
    match is_failure(inner, status) {
        Ok(failed) => {
            inner.finish_at(
                permit,
                if failed {
                    Outcome::Failure
                } else {
                    Outcome::Success
                },
                now,
            );
            if failed {
                *inner.last_error.borrow_mut() = Some(format!("HTTP {}", status as u32));
            }
            Verdict::Resolve
        }
        Err(thrown) => {
            inner.finish_at(permit, Outcome::Failure, now);
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
