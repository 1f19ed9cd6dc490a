//! `breaker.fetch` and `guardFetch`: fetch under a breaker, one breaker per origin.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use tripwire_core::Outcome;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::breaker::{CircuitBreaker, Inner};
use crate::clock::{race, Timer};
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

    type Url;
    #[wasm_bindgen(constructor, js_class = "URL", catch)]
    fn new(url: &JsValue, base: &JsValue) -> Result<Url, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn origin(this: &Url) -> String;

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

/// `fetch(input, init)` under the breaker of `inner`.
pub(crate) fn fetch(inner: Rc<Inner>, input: JsValue, init: JsValue) -> Promise {
    let permit = match inner.acquire() {
        Ok(permit) => permit,
        Err(rejected) => return inner.refuse(rejected),
    };
    let fetch_fn = match &inner.hooks.fetch {
        Some(f) => f.clone(),
        None => get(&GLOBAL.with(JsValue::clone), "fetch").unchecked_into::<Function>(),
    };
    let timeout = inner.call_timeout();
    let caller = caller_signal(&input, &init);
    // A timeout needs a signal of our own, joined with the caller's if there is one.
    let controller = timeout.map(|_| AbortController::new());
    let init = match (&controller, &caller) {
        (None, _) => init,
        (Some(ours), None) => with_signal(&init, &ours.signal()),
        (Some(ours), Some(theirs)) => {
            match AbortSignalClass::any(&Array::of2(theirs, &ours.signal())) {
                Ok(joined) => with_signal(&init, &joined),
                // No AbortSignal.any (older engines): the caller's signal wins, the timeout
                // still rejects and counts, but cannot abort the request itself.
                Err(_) => init,
            }
        }
    };
    let started = fetch_fn.call2(&GLOBAL.with(JsValue::clone), &input, &init);
    future_to_promise(async move {
        let timer = timeout.map(Timer::start);
        let result = match started {
            Ok(promise) => race(JsFuture::from(Promise::resolve(&promise)), timer.as_ref()).await,
            Err(thrown) => Some(Err(thrown)),
        };
        drop(timer);
        match result {
            None => {
                let error = errors::timeout_error(&inner.name, timeout.unwrap_or_default());
                if let Some(controller) = &controller {
                    controller.abort(&error);
                }
                inner.finish(permit, Outcome::Timeout);
                Err(error)
            }
            Some(Ok(response)) => match is_failure(&inner, &response) {
                Ok(failed) => {
                    inner.finish(
                        permit,
                        if failed {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        },
                    );
                    Ok(response)
                }
                Err(thrown) => {
                    inner.finish(permit, Outcome::Failure);
                    Err(thrown)
                }
            },
            Some(Err(thrown)) => {
                let outcome = if aborted(&caller) {
                    Outcome::Cancelled
                } else {
                    Outcome::Failure
                };
                inner.finish(permit, outcome);
                Err(thrown)
            }
        }
    })
}

/// One breaker per origin, built from the same options.
struct Guard {
    options: JsValue,
    breakers: RefCell<HashMap<String, (Rc<Inner>, JsValue)>>,
}

impl Guard {
    fn origin_of(input: &JsValue) -> Result<String, JsValue> {
        let url = if input.is_string() {
            input.clone()
        } else if let Some(u) = get(input, "url").as_string() {
            JsValue::from_str(&u)
        } else {
            JsValue::from_str(&String::from(js_sys::JsString::from(input.clone())))
        };
        let base = get(&get(&GLOBAL.with(JsValue::clone), "location"), "href");
        let parsed = Url::new(&url, &base).map_err(|_| {
            errors::type_error("guardFetch: cannot tell the origin of this request")
        })?;
        Ok(parsed.origin())
    }

    fn breaker(&self, origin: String) -> Result<(Rc<Inner>, JsValue), JsValue> {
        if let Some(entry) = self.breakers.borrow().get(&origin) {
            return Ok(entry.clone());
        }
        let inner = Rc::new(Inner::new(origin.clone(), &self.options)?);
        let js: JsValue = CircuitBreaker {
            inner: inner.clone(),
        }
        .into();
        self.breakers
            .borrow_mut()
            .insert(origin, (inner.clone(), js.clone()));
        Ok((inner, js))
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

/// A function with `fetch`'s signature that keeps one breaker per origin (relative
/// URLs resolve against the page), so one dead API does not block the others.
#[wasm_bindgen(js_name = guardFetch, unchecked_return_type = "GuardedFetch")]
pub fn guard_fetch(options: Option<GuardOptions>) -> Result<JsValue, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    // Validate now, so that bad options throw here rather than on the first fetch.
    Inner::new(String::new(), &options)?;
    let guard = Rc::new(Guard {
        options,
        breakers: RefCell::new(HashMap::new()),
    });
    let for_fetch = guard.clone();
    let guarded = Closure::<dyn Fn(JsValue, JsValue) -> Promise>::new(
        move |input: JsValue, init: JsValue| match Guard::origin_of(&input)
            .and_then(|origin| for_fetch.breaker(origin))
        {
            Ok((inner, _)) => fetch(inner, input, init),
            Err(error) => Promise::reject(&error),
        },
    )
    .into_js_value();
    let breaker_for =
        Closure::<dyn Fn(JsValue) -> Result<JsValue, JsValue>>::new(move |origin: JsValue| {
            Guard::origin_of(&origin)
                .and_then(|origin| guard.breaker(origin))
                .map(|(_, js)| js)
        })
        .into_js_value();
    Reflect::set(&guarded, &JsValue::from_str("breakerFor"), &breaker_for)?;
    Ok(guarded)
}
