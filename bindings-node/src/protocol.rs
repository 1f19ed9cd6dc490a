//! The JS↔Rust protocol, declared once: the codes and strides the facade's numbers
//! mean. Rust uses these constants; JS reads them at load from [`protocol`] (and fails
//! to load if a value it must hard-code, such as the permit-code arithmetic, differs).

use napi::bindgen_prelude::{JsObjectValue, Object};
use napi::{Env, Result};
use napi_derive::napi;

/// The codes the shared facade and both engines use: declared once, in the core.
pub(crate) use tripwire_core::bindings::codes::*;

/// The service only: the breaker refused the attempt (nothing to record).
pub(crate) const OUTCOME_REFUSED: u32 = 5;

/// Numbers per breaker in the gates array:
/// `[quietUntilMs, generation, quietFailures, quietFailuresUntilMs]`.
pub(crate) const GATE: usize = 4;
/// Runs of quiet outcomes the ring holds, and numbers per run:
/// `[runs, (id, generation, startMs, endMs, calls) × RING_CAPACITY]`, `calls`
/// negative for a run of failures.
pub(crate) const RING_CAPACITY: usize = 256;
pub(crate) const RING_ENTRY: usize = 5;
/// The ticker array: `[nowMs, ticking, reads]`.
pub(crate) const TICKER_NOW: usize = 0;
pub(crate) const TICKER_TICKING: usize = 1;
pub(crate) const TICKER_READS: usize = 2;
pub(crate) const TICKER_LEN: usize = 3;
/// The hold array (`shared().hold`, see `hold.rs`): `[count, held]`.
pub(crate) const HOLD_COUNT: usize = 0;
pub(crate) const HOLD_HELD: usize = 1;
pub(crate) const HOLD_LEN: usize = 2;

/// The service cell (`shared().service`): what a service call's native step answers
/// besides its return value.
pub(crate) const CELL_BEGIN: usize = 0;
pub(crate) const CELL_CALL: usize = 1;
pub(crate) const CELL_WAIT: usize = 2;
pub(crate) const CELL_AFTER: usize = 3;
pub(crate) const CELL_VALUE: usize = 4;
pub(crate) const CELL_LETTER: usize = 5;
pub(crate) const CELL_DROPPED: usize = 6;
pub(crate) const CELL_ADMIT: usize = 7;
pub(crate) const CELL_ALERTS: usize = 8;
/// The quiet service calls (`Service::quiet_start`): JS admits one at a time without
/// a crossing and the engine hears of it before anything else touches an engine.
/// `CELL_EPOCH` changes whenever an engine may have; `CELL_QUIET` is 1 when, after
/// `serviceSucceed`, its breaker may take a quiet call (until the epoch changes).
pub(crate) const CELL_EPOCH: usize = 9;
pub(crate) const CELL_QUIET: usize = 10;
/// The quiet call in flight: `CELL_Q_STATE` (none; started, the engine not told yet;
/// told, `CELL_Q_CALL` is its call), its service, circuit, retry (as `serviceBegin`'s),
/// start (ms) and breaker generation.
pub(crate) const CELL_Q_STATE: usize = 11;
pub(crate) const CELL_Q_SVC: usize = 12;
pub(crate) const CELL_Q_CIRCUIT: usize = 13;
pub(crate) const CELL_Q_RETRY: usize = 14;
pub(crate) const CELL_Q_START: usize = 15;
pub(crate) const CELL_Q_GENERATION: usize = 16;
pub(crate) const CELL_Q_CALL: usize = 17;
/// The quiet calls that succeeded before the engine heard of them, in order:
/// `[count, (svc, circuit, retry, startMs, endMs) × CELL_RING_CAPACITY]` from here.
pub(crate) const CELL_RING: usize = 18;
pub(crate) const CELL_RING_ENTRY: usize = 5;
pub(crate) const CELL_RING_CAPACITY: usize = 64;
pub(crate) const CELL_LEN: usize = CELL_RING + 1 + CELL_RING_ENTRY * CELL_RING_CAPACITY;
/// The call id JS gives the engine for the quiet call in flight.
pub(crate) const QUIET_CALL: f64 = -1.0;
/// `CELL_Q_STATE` values.
pub(crate) const QUIET_NONE: f64 = 0.0;
pub(crate) const QUIET_STARTED: f64 = 1.0;
pub(crate) const QUIET_TOLD: f64 = 2.0;

/// `CELL_BEGIN`: run now (`CELL_CALL` is the call), wait (`CELL_WAIT` ms at most, -1
/// none), or refused (`CELL_CALL` is the refusal).
pub(crate) const BEGIN_RUN: f64 = 0.0;
pub(crate) const BEGIN_QUEUED: f64 = 1.0;
pub(crate) const BEGIN_REFUSED: f64 = 2.0;
/// Refusals: every slot and queue place taken; waited too long.
pub(crate) const REFUSED_FULL: f64 = 0.0;
pub(crate) const REFUSED_QUEUE_TIMEOUT: f64 = 1.0;

/// `CELL_AFTER`: nothing ended; retry after `CELL_VALUE` ms; done; failed after
/// `CELL_VALUE` attempts (dead letter `CELL_LETTER`, dropped `CELL_DROPPED`, -1 none);
/// cancelled.
pub(crate) const AFTER_NONE: f64 = -1.0;
pub(crate) const AFTER_RETRY: f64 = 0.0;
pub(crate) const AFTER_DONE: f64 = 1.0;
pub(crate) const AFTER_FAILED: f64 = 2.0;
pub(crate) const AFTER_CANCELLED: f64 = 3.0;

/// `serviceBegin`'s retry argument: the service's policy, or seed 003's single attempt.
pub(crate) const RETRY_SERVICE: f64 = -1.0;
pub(crate) const RETRY_NONE: f64 = -2.0;
/// `serviceWaitOver`: admitted meanwhile; refused (queue timeout); else ms more to wait.
pub(crate) const WAIT_ADMITTED: f64 = -1.0;
pub(crate) const WAIT_REFUSED: f64 = -2.0;

/// Every constant above, by its JS name: `protocol()`.
#[napi]
pub fn protocol(env: Env) -> Result<Object<'static>> {
    let mut o = Object::new(&env)?;
    let numbers: &[(&str, f64)] = &[
        ("OUTCOME_REFUSED", f64::from(OUTCOME_REFUSED)),
        ("GATE", GATE as f64),
        ("RING_CAPACITY", RING_CAPACITY as f64),
        ("RING_ENTRY", RING_ENTRY as f64),
        ("TICKER_NOW", TICKER_NOW as f64),
        ("TICKER_TICKING", TICKER_TICKING as f64),
        ("TICKER_READS", TICKER_READS as f64),
        ("TICKER_LEN", TICKER_LEN as f64),
        ("HOLD_COUNT", HOLD_COUNT as f64),
        ("HOLD_HELD", HOLD_HELD as f64),
        ("HOLD_LEN", HOLD_LEN as f64),
        ("CELL_BEGIN", CELL_BEGIN as f64),
        ("CELL_CALL", CELL_CALL as f64),
        ("CELL_WAIT", CELL_WAIT as f64),
        ("CELL_AFTER", CELL_AFTER as f64),
        ("CELL_VALUE", CELL_VALUE as f64),
        ("CELL_LETTER", CELL_LETTER as f64),
        ("CELL_DROPPED", CELL_DROPPED as f64),
        ("CELL_ADMIT", CELL_ADMIT as f64),
        ("CELL_ALERTS", CELL_ALERTS as f64),
        ("CELL_EPOCH", CELL_EPOCH as f64),
        ("CELL_QUIET", CELL_QUIET as f64),
        ("CELL_Q_STATE", CELL_Q_STATE as f64),
        ("CELL_Q_SVC", CELL_Q_SVC as f64),
        ("CELL_Q_CIRCUIT", CELL_Q_CIRCUIT as f64),
        ("CELL_Q_RETRY", CELL_Q_RETRY as f64),
        ("CELL_Q_START", CELL_Q_START as f64),
        ("CELL_Q_GENERATION", CELL_Q_GENERATION as f64),
        ("CELL_Q_CALL", CELL_Q_CALL as f64),
        ("CELL_RING", CELL_RING as f64),
        ("CELL_RING_ENTRY", CELL_RING_ENTRY as f64),
        ("CELL_RING_CAPACITY", CELL_RING_CAPACITY as f64),
        ("CELL_LEN", CELL_LEN as f64),
        ("QUIET_CALL", QUIET_CALL),
        ("QUIET_NONE", QUIET_NONE),
        ("QUIET_STARTED", QUIET_STARTED),
        ("QUIET_TOLD", QUIET_TOLD),
        ("BEGIN_RUN", BEGIN_RUN),
        ("BEGIN_QUEUED", BEGIN_QUEUED),
        ("BEGIN_REFUSED", BEGIN_REFUSED),
        ("REFUSED_FULL", REFUSED_FULL),
        ("REFUSED_QUEUE_TIMEOUT", REFUSED_QUEUE_TIMEOUT),
        ("AFTER_NONE", AFTER_NONE),
        ("AFTER_RETRY", AFTER_RETRY),
        ("AFTER_DONE", AFTER_DONE),
        ("AFTER_FAILED", AFTER_FAILED),
        ("AFTER_CANCELLED", AFTER_CANCELLED),
        ("RETRY_SERVICE", RETRY_SERVICE),
        ("RETRY_NONE", RETRY_NONE),
        ("WAIT_ADMITTED", WAIT_ADMITTED),
        ("WAIT_REFUSED", WAIT_REFUSED),
    ];
    for (name, value) in ENGINE_CODES.iter().chain(numbers) {
        o.set_named_property(name, *value)?;
    }
    o.set_named_property("CAUSE_NAMES", CAUSE_NAMES.to_vec())?;
    o.freeze()?;
    Ok(o)
}
