//! `breaker.fetch` and `guardFetch`: fetch under a breaker, one breaker per origin.
//!
//! settle.js runs the request (signals, the `AbortController` of the timeout) and
//! reports how it ended; this decides what that means for a response.

use std::cell::RefCell;

use js_sys::{Function, Reflect};
use tripwire_core::{Eviction, Outcome, Permit, Probe, DEFAULT_ORIGIN_CAPACITY};
use wasm_bindgen::prelude::*;

use crate::breaker::{settling, CircuitBreaker, Inner, Verdict};
use crate::errors;
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
/** What an `evict` event carries: an idle origin's breaker dropped to keep the bound. */
export interface GuardEvictEvent {
  /** The origin. */
  name: string;
  /** Still usable by whoever holds it. */
  breaker: CircuitBreaker;
}
/** `fetch` guarded by one circuit breaker per origin. */
export interface GuardedFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The breaker of `origin` (or of any URL's origin), created on first use. */
  breakerFor(origin: string | URL): CircuitBreaker;
  /** Origins kept before idle ones are evicted (`maxOrigins`, default 1,000). */
  readonly capacity: number;
  /** Origins evicted to keep the bound. */
  readonly evictions: number;
  /** Origins with a breaker now. */
  readonly size: number;
  on(type: 'evict', listener: (event: GuardEvictEvent) => void): GuardedFetch;
  once(type: 'evict', listener: (event: GuardEvictEvent) => void): GuardedFetch;
  off(type: 'evict', listener: (event: GuardEvictEvent) => void): GuardedFetch;
}
"#;

#[wasm_bindgen(module = "/src/settle.js")]
extern "C" {
    /// The guarded function around `create(origin)` (see settle.js), bounded by `index`.
    fn guard(create: &JsValue, index: OriginIndex) -> JsValue;
}

/// The eviction index of one `guardFetch` (the core's [`Eviction`]): settle.js keeps
/// the map of origins; this decides which idle one goes when it is full.
#[wasm_bindgen(skip_typescript)]
pub struct OriginIndex {
    index: RefCell<Eviction>,
}

#[wasm_bindgen]
impl OriginIndex {
    /// Admits an origin: its slot, then the slots evicted to make room. `probe(slot)`
    /// answers the breaker's activity (≥ 0) when idle, -1 when busy; a throw is busy.
    pub fn admit(&self, probe: &Function) -> Vec<u32> {
        let (slot, evicted) = self.index.borrow_mut().admit(|candidate| {
            match probe
                .call1(&JsValue::UNDEFINED, &JsValue::from(candidate))
                .ok()
                .and_then(|v| v.as_f64())
            {
                Some(activity) if activity >= 0.0 => Probe::Idle {
                    activity: activity as u64,
                },
                _ => Probe::Busy,
            }
        });
        let mut out = Vec::with_capacity(1 + evicted.len());
        out.push(slot);
        out.extend(evicted);
        out
    }

    /// The capacity.
    pub fn capacity(&self) -> f64 {
        self.index.borrow().capacity() as f64
    }

    /// Evictions so far.
    pub fn evictions(&self) -> f64 {
        self.index.borrow().evictions() as f64
    }
}

/// `maxOrigins`: a whole number ≥ 1, default [`DEFAULT_ORIGIN_CAPACITY`].
fn max_origins(options: &JsValue) -> Result<usize, JsValue> {
    if !options.is_object() {
        return Ok(DEFAULT_ORIGIN_CAPACITY);
    }
    let value = Reflect::get(options, &JsValue::from_str("maxOrigins"))?;
    if value.is_undefined() || value.is_null() {
        return Ok(DEFAULT_ORIGIN_CAPACITY);
    }
    let Some(n) = value.as_f64() else {
        return Err(errors::type_error(
            "invalid option `maxOrigins`: must be a number",
        ));
    };
    if !(1.0..=4_294_967_295.0).contains(&n) || n.fract() != 0.0 {
        return Err(errors::range_error(
            "invalid option `maxOrigins`: must be a whole number ≥ 1",
        ));
    }
    Ok(n as usize)
}

/// A function with `fetch`'s signature that keeps one breaker per origin (relative
/// URLs resolve against the page), so one dead API does not block the others.
#[wasm_bindgen(js_name = guardFetch, unchecked_return_type = "GuardedFetch")]
pub fn guard_fetch(options: Option<GuardOptions>) -> Result<JsValue, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    // Validate now, so that bad options throw here rather than on the first fetch.
    let capacity = max_origins(&options)?;
    Inner::new(String::new(), &options)?;
    let create =
        Closure::<dyn Fn(String) -> Result<JsValue, JsValue>>::new(move |origin: String| {
            Ok(CircuitBreaker {
                inner: Inner::new(origin, &options)?,
            }
            .into())
        })
        .into_js_value();
    let index = OriginIndex {
        index: RefCell::new(Eviction::new(capacity)),
    };
    Ok(guard(&create, index))
}
