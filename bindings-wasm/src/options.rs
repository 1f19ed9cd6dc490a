//! JS option objects to a core `Config` (through the core's one table of spellings),
//! plus the options only the binding knows: callbacks, the clock, the failure rule.

use js_sys::{Function, Object, Reflect};
use tripwire_core::{
    Config, ConfigError, ErrorKind, OptionValue, Options, Unit, JS_TIMER_LIMIT_MS,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::clock::Clock;
use crate::errors;

#[wasm_bindgen(typescript_custom_section)]
const OPTIONS_TS: &'static str = r#"
/** A state name, as every tripwire runtime spells it. */
export type CircuitStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/**
 * Options of `new CircuitBreaker(name, options)`: the Node package's names and
 * meanings. Durations are milliseconds. Aliases (one spelling per option):
 * `recoveryTimeout` = `resetTimeout` = `retryDelay`, `requestTimeout` = `timeout`,
 * `minimumRequests` = `minimumRequestCount`, `expectedResponseTime` = `slowCallDuration`.
 */
export interface CircuitBreakerOptions {
  /** < 1: failure rate over the window (0.5 = 50 %); ≥ 1: consecutive failures. Default 5. */
  failureThreshold?: number;
  /** Calls in the window before any rule applies. Default 1 (count threshold) or 10 (rate). */
  minimumRequests?: number;
  minimumRequestCount?: number;
  /** How long the circuit stays open, ms. Default 60000. */
  recoveryTimeout?: number;
  resetTimeout?: number;
  retryDelay?: number;
  /** Per-call timeout, ms (default 30000); `false` disables it. */
  requestTimeout?: number | false;
  timeout?: number | false;
  /** Consecutive trial successes that close the circuit. Default 2. */
  successThreshold?: number;
  /** Concurrent trial calls while half-open. Default 1. */
  halfOpenMaxCalls?: number;
  /** Length of the time window, ms. Default 60000. */
  monitoringWindow?: number;
  /** Buckets of the time window. Default 10. */
  windowBuckets?: number;
  /** Use the last N calls as the window instead of a time window. */
  countWindow?: number;
  /** A call slower than this (ms) counts as a failure and as slow. */
  expectedResponseTime?: number;
  slowCallDuration?: number;
  /** Trip when this share of the window's calls is slow (needs expectedResponseTime). */
  slowCallRateThreshold?: number;
  /** Exponential open duration: multiplier per consecutive trip (≥ 1). */
  backoffMultiplier?: number;
  /** Cap of the exponential open duration, ms. */
  maxRecoveryTimeout?: number;
  /** Random extra open time, as a fraction of the open duration (0..1). */
  backoffJitter?: number;
  /** Seed of the jitter, for reproducible runs. */
  seed?: number;
  /**
   * Answers refusals, failures and timeouts (not the caller's own abort); receives
   * the error; what it returns (or throws) is the call's result.
   */
  fallback?: (error: unknown) => unknown;
  /** `true`: the error is not the upstream's fault (not counted; still thrown). */
  errorFilter?: (error: unknown) => boolean;
  /** `true`: a returned value counts as a failure (it is still returned). */
  isFailureResult?: (result: unknown) => boolean;
  /** Called on every change of state, with the breaker's name (guardFetch: the origin). */
  onStateChange?: (from: CircuitStateName, to: CircuitStateName, name: string) => void;
  onOpen?: () => void;
  onClose?: () => void;
  onHalfOpen?: () => void;
  /** Milliseconds: a function or an object with `now()`. Default `performance.now()`. */
  clock?: (() => number) | { now(): number };
  /** `fetch` only: whether a response counts as a failure. Default: status ≥ 500 or 429. */
  isFailureResponse?: (response: Response) => boolean;
  /** `fetch` only: the fetch to guard. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** Options of `guardFetch`: the options of every origin's breaker, and the bound. */
export interface GuardFetchOptions extends CircuitBreakerOptions {
  /**
   * Origins kept with a breaker (default 1,000): past it, a new origin evicts an idle
   * one (closed, not forced or disabled, nothing in flight).
   */
  maxOrigins?: number;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `CircuitBreakerOptions` in the generated `.d.ts`.
    #[wasm_bindgen(typescript_type = "CircuitBreakerOptions")]
    pub type BreakerOptions;
    /// `GuardFetchOptions` in the generated `.d.ts`.
    #[wasm_bindgen(typescript_type = "GuardFetchOptions")]
    pub type GuardOptions;
}

/// The options the binding handles itself (the core ignores them).
pub(crate) const BINDING_OPTIONS: &[&str] = &[
    "fallback",
    "onStateChange",
    "onOpen",
    "onClose",
    "onHalfOpen",
    "clock",
    "isFailureResponse",
    "fetch",
    "name",
    "maxOrigins",
];

/// The binding's own options, checked.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) fallback: Option<Function>,
    pub(crate) on_state_change: Option<Function>,
    pub(crate) on_open: Option<Function>,
    pub(crate) on_close: Option<Function>,
    pub(crate) on_half_open: Option<Function>,
    pub(crate) is_failure_response: Option<Function>,
    pub(crate) error_filter: Option<Function>,
    pub(crate) is_failure_result: Option<Function>,
    pub(crate) fetch: Option<Function>,
}

/// Everything a breaker is built from.
pub(crate) struct Parsed {
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    pub(crate) hooks: Hooks,
}

fn value_of<'a>(value: &JsValue, kind: &'a mut String) -> OptionValue<'a> {
    if value.is_undefined() || value.is_null() {
        OptionValue::Missing
    } else if let Some(n) = value.as_f64() {
        OptionValue::Number(n)
    } else if let Some(b) = value.as_bool() {
        OptionValue::Bool(b)
    } else {
        *kind = value
            .js_typeof()
            .as_string()
            .unwrap_or_else(|| "a value of another type".into());
        OptionValue::Other(kind)
    }
}

fn function(name: &str, value: JsValue) -> Result<Option<Function>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_into::<Function>()
        .map(Some)
        .map_err(|_| errors::type_error(&format!("invalid option `{name}`: must be a function")))
}

/// Reads `options` (`undefined`, or a plain object).
pub(crate) fn parse(options: &JsValue) -> Result<Parsed, JsValue> {
    let mut core = Options::new(Unit::Millis).timer_limit(JS_TIMER_LIMIT_MS);
    let mut hooks = Hooks::default();
    let mut clock = JsValue::UNDEFINED;
    if !(options.is_undefined() || options.is_null()) {
        let Some(object) = options.dyn_ref::<Object>().filter(|_| options.is_object()) else {
            return Err(errors::type_error("options must be an object"));
        };
        for key in Object::keys(object) {
            let Some(name) = key.as_string() else {
                continue;
            };
            let value = Reflect::get(object, &key)?;
            let mut kind = String::new();
            if core
                .set(&name, value_of(&value, &mut kind))
                .map_err(config_error)?
            {
                continue;
            }
            match name.as_str() {
                "fallback" => hooks.fallback = function(&name, value)?,
                "onStateChange" => hooks.on_state_change = function(&name, value)?,
                "onOpen" => hooks.on_open = function(&name, value)?,
                "onClose" => hooks.on_close = function(&name, value)?,
                "onHalfOpen" => hooks.on_half_open = function(&name, value)?,
                "isFailureResponse" => hooks.is_failure_response = function(&name, value)?,
                "errorFilter" => hooks.error_filter = function(&name, value)?,
                "isFailureResult" => hooks.is_failure_result = function(&name, value)?,
                "fetch" => hooks.fetch = function(&name, value)?,
                "clock" => clock = value,
                // guardFetch's bound, read by guard_fetch.
                "name" | "maxOrigins" => {}
                _ => {
                    if let Some(error) = core.unknown(&name, BINDING_OPTIONS) {
                        return Err(config_error(error));
                    }
                }
            }
        }
    }
    let config = core.build().map_err(config_error)?;
    let clock = Clock::from_js(&clock)
        .map_err(|reason| errors::type_error(&format!("invalid option `clock`: {reason}")))?;
    Ok(Parsed {
        config,
        clock,
        hooks,
    })
}

/// A core validation error as a `TypeError` or `RangeError` naming the option.
pub(crate) fn config_error(error: ConfigError) -> JsValue {
    let message = error.to_string();
    let js = if error.kind == ErrorKind::Type {
        errors::type_error(&message)
    } else {
        errors::range_error(&message)
    };
    let _ = Reflect::set(
        &js,
        &JsValue::from_str("option"),
        &JsValue::from_str(&error.field),
    );
    js
}
