//! The hot path as raw Node-API callbacks.
//!
//! Why raw: a `#[napi]` function with arguments costs about 90 ns per call here
//! (napi 3.16 / napi-derive 3.7 on Node 20), a raw callback doing the same work
//! about 17 ns: measured with one `u32` argument, `scripts/bench-node.sh` has the
//! figures. The functions on the per-call path are written against `napi::sys`
//! directly; everything else uses `#[napi]`.
//!
//! Most calls make no crossing at all. While a breaker is quiet
//! (`Breaker::quiet_until`, published to the gates array after every operation)
//! JS admits calls itself and queues their successes in the ring; the slab applies
//! the ring before anything else touches it (`breaker.rs`). Otherwise:
//!
//! * `acquireAt(id, nowMs)`: a permit code (see the crate docs); for a shared
//!   breaker in half-open, a Promise of one (the trial lease's round trip, `fleet.rs`);
//! * `recordAt(id, slot, outcome, nowMs)`: a permitted call's transition code;
//! * `recordQuietAt(id, generation, startMs, outcome, nowMs)`: the same for a call
//!   admitted while quiet (its failure, or a success too slow to queue);
//! * `flush()`: applies the ring when it is full.
//!
//! Clock readings come from JS: the caller's clock, or the ticking array of
//! `ticker.rs`. A bad id or slot throws a JS `Error` (a facade bug, never a user's).

use std::cell::Cell;
use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::Object;
use napi::sys;
use napi::{Env, JsValue, Result};
use napi_derive::napi;

use crate::breaker::{with_entry, Entry, RING_CAPACITY, RING_ENTRY};
use crate::nanos;

/// Reads up to `N` arguments of a callback.
///
/// # Safety
/// `env` and `info` must be the ones Node passed to the running callback.
pub(crate) unsafe fn args<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> [sys::napi_value; N] {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    // SAFETY: argv has room for argc values; `this` and `data` are not requested.
    unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    argv
}

/// # Safety
/// `env` must be the running callback's, `value` one of its arguments (or null).
pub(crate) unsafe fn uint(env: sys::napi_env, value: sys::napi_value) -> u32 {
    let mut out = 0u32;
    // SAFETY: on a non-number the status is an error and `out` stays 0; the
    // callers then fail on a missing id or slot instead of reading garbage.
    unsafe { sys::napi_get_value_uint32(env, value, &mut out) };
    out
}

/// # Safety
/// As for [`uint`].
pub(crate) unsafe fn double(env: sys::napi_env, value: sys::napi_value) -> f64 {
    let mut out = 0f64;
    // SAFETY: as in `uint`.
    unsafe { sys::napi_get_value_double(env, value, &mut out) };
    out
}

/// # Safety
/// `env` must be the running callback's.
unsafe fn number(env: sys::napi_env, value: f64) -> sys::napi_value {
    let mut out = ptr::null_mut();
    // SAFETY: creates a number in the current handle scope.
    unsafe { sys::napi_create_double(env, value, &mut out) };
    out
}

/// Throws `error` and returns `undefined` (a null value) to the caller.
///
/// # Safety
/// `env` must be the running callback's.
unsafe fn throw(env: sys::napi_env, error: &napi::Error) -> sys::napi_value {
    let message = std::ffi::CString::new(error.reason.replace('\0', " ")).unwrap_or_default();
    // SAFETY: both strings are NUL-terminated; a pending exception makes the call a no-op.
    unsafe { sys::napi_throw_error(env, ptr::null(), message.as_ptr()) };
    ptr::null_mut()
}

/// Returns `result`'s number, or throws its error.
///
/// # Safety
/// `env` must be the running callback's.
pub(crate) unsafe fn finish(env: sys::napi_env, result: Result<f64>) -> sys::napi_value {
    match result {
        // SAFETY (both arms): `env` is the running callback's.
        Ok(value) => unsafe { number(env, value) },
        Err(error) => unsafe { throw(env, &error) },
    }
}

/// `acquireAt(id, nowMs)`: a permit code at `nowMs` on the caller's clock.
unsafe extern "C" fn acquire_at(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as in `acquire`.
    unsafe {
        let [id, now] = args::<2>(env, info);
        let (id, now) = (uint(env, id), nanos(double(env, now)));
        let code = with_entry(id, |e: &mut Entry| Ok(e.acquire(now)));
        // NaN (`breaker::LEASE`): a shared breaker's lease to send; never a local one.
        if code.as_ref().is_ok_and(|c| c.is_nan()) {
            if let Some(lease) = crate::breaker::take_lease() {
                return match crate::fleet::lease_promise(env, lease) {
                    Ok(promise) => promise,
                    Err(error) => throw(env, &error),
                };
            }
        }
        finish(env, code)
    }
}

/// `recordAt(id, slot, outcome, nowMs)`: the transition code at `nowMs`.
unsafe extern "C" fn record_at(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as in `acquire`.
    unsafe {
        let [id, slot, outcome, now] = args::<4>(env, info);
        let (id, slot, outcome) = (uint(env, id), uint(env, slot), uint(env, outcome));
        let now = nanos(double(env, now));
        finish(
            env,
            with_entry(id, |e: &mut Entry| {
                e.record(slot, outcome, now).map(f64::from)
            }),
        )
    }
}

/// `recordQuietAt(id, generation, startMs, outcome, nowMs)`: the transition code of
/// a call admitted while the breaker was quiet (no permit: JS read the generation
/// from the gates array).
unsafe extern "C" fn record_quiet_at(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as in `acquire_at`.
    unsafe {
        let [id, generation, start, outcome, now] = args::<5>(env, info);
        let (id, outcome) = (uint(env, id), uint(env, outcome));
        let (generation, start) = (double(env, generation) as u64, nanos(double(env, start)));
        let now = nanos(double(env, now));
        finish(
            env,
            with_entry(id, |e: &mut Entry| {
                e.record_quiet(generation, start, outcome, now)
                    .map(f64::from)
            }),
        )
    }
}

/// `flush()`: applies the queued quiet successes (JS calls it when the ring is full).
unsafe extern "C" fn flush(env: sys::napi_env, _info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: `env` is the running callback's.
    unsafe { finish(env, crate::breaker::drain().map(|()| 0.0)) }
}

thread_local! {
    /// This environment's shared object (see [`shared`]).
    static SHARED: Cell<sys::napi_ref> = const { Cell::new(ptr::null_mut()) };
}

/// A new zeroed `Float64Array` of `len` numbers and its data.
///
/// # Safety
/// `env` must be the running callback's.
unsafe fn float64_array(
    env: sys::napi_env,
    len: usize,
) -> napi::Result<(sys::napi_value, *mut f64)> {
    let mut data = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    let mut array = ptr::null_mut();
    // SAFETY: creates values in the current scope; V8 zeroes new buffers.
    unsafe {
        let status = sys::napi_create_arraybuffer(env, len * 8, &mut data, &mut buffer);
        napi::check_status!(status, "cannot allocate {len} numbers")?;
        let status = sys::napi_create_typedarray(
            env,
            sys::TypedarrayType::float64_array,
            len,
            buffer,
            0,
            &mut array,
        );
        napi::check_status!(status, "cannot make a Float64Array")?;
    }
    Ok((array, data.cast()))
}

/// # Safety
/// `env` must be the running callback's, `object` one of its objects.
unsafe fn set(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &CStr,
    value: sys::napi_value,
) -> napi::Result<()> {
    // SAFETY: as documented.
    let status = unsafe { sys::napi_set_named_property(env, object, name.as_ptr(), value) };
    napi::check_status!(status, "cannot set {name:?}")
}

/// Makes this environment's shared object: `{ ticker, hold, gates, ring, service }`
/// (`hold` is `hold.rs`'s; `service` the resilience service's cell, see `resilience.rs`).
///
/// # Safety
/// `env` must be the running callback's.
unsafe fn make_shared(env: sys::napi_env) -> napi::Result<sys::napi_value> {
    // SAFETY: every value is created in, and bound for the life of, this environment:
    // the object is referenced below, and it holds the arrays.
    unsafe {
        let mut object = ptr::null_mut();
        napi::check_status!(
            sys::napi_create_object(env, &mut object),
            "cannot make an object"
        )?;
        let (ticker, ticker_data) = float64_array(env, crate::protocol::TICKER_LEN)?;
        let (gates, gates_data) = float64_array(env, GATE_BREAKERS * crate::protocol::GATE)?;
        let (ring, ring_data) = float64_array(env, 1 + RING_CAPACITY * RING_ENTRY)?;
        let (service, service_data) = float64_array(env, crate::protocol::CELL_LEN)?;
        let (hold, hold_data) = float64_array(env, crate::protocol::HOLD_LEN)?;
        set(env, object, c"ticker", ticker)?;
        set(env, object, c"hold", hold)?;
        set(env, object, c"gates", gates)?;
        set(env, object, c"ring", ring)?;
        set(env, object, c"service", service)?;
        let mut reference = ptr::null_mut();
        napi::check_status!(
            sys::napi_create_reference(env, object, 1, &mut reference),
            "cannot keep the shared object"
        )?;
        SHARED.set(reference);
        crate::ticker::bind(env, ticker_data);
        crate::breaker::bind_gates(gates_data, GATE_BREAKERS * crate::protocol::GATE);
        // The stores' threads write shared breakers' gates: not once the array is freed.
        sys::napi_add_env_cleanup_hook(env, Some(forget_gates), ptr::null_mut());
        crate::breaker::bind_ring(ring_data);
        crate::service::bind_cell(service_data);
        crate::hold::bind(hold_data);
        Ok(object)
    }
}

unsafe extern "C" fn forget_gates(_data: *mut std::ffi::c_void) {
    crate::breaker::forget_gates();
}

/// Breakers the first gates array has room for.
const GATE_BREAKERS: usize = 64;

/// `shared()`: this environment's `{ ticker, hold, gates, ring, service }` (made on the
/// first call).
/// Every copy of the facade loaded into the environment (a test runner's module
/// registry may load it twice) must read the same arrays the native side writes.
unsafe extern "C" fn shared(env: sys::napi_env, _info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: Node calls this with a valid env.
    unsafe {
        let reference = SHARED.get();
        if reference.is_null() {
            return match make_shared(env) {
                Ok(object) => object,
                Err(error) => throw(env, &error),
            };
        }
        let mut object = ptr::null_mut();
        sys::napi_get_reference_value(env, reference, &mut object);
        object
    }
}

/// `growGates(minLength)`: replaces `shared().gates` with a longer array, which
/// `bind_gates` fills in for every live breaker.
unsafe extern "C" fn grow_gates(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node calls this with a valid env and callback info.
    unsafe {
        let [min_len] = args::<1>(env, info);
        let min_len = uint(env, min_len) as usize;
        let reference = SHARED.get();
        let (_, old_len) = crate::breaker::gates();
        if reference.is_null() || min_len <= old_len {
            return ptr::null_mut();
        }
        let len = min_len.max(old_len * 2);
        let grown = float64_array(env, len).and_then(|(array, data)| {
            let mut object = ptr::null_mut();
            sys::napi_get_reference_value(env, reference, &mut object);
            set(env, object, c"gates", array)?;
            crate::breaker::bind_gates(data, len);
            Ok(())
        });
        match grown {
            Ok(()) => ptr::null_mut(),
            Err(error) => throw(env, &error),
        }
    }
}

const HOT: [(&CStr, Callback); 8] = [
    (c"acquireAt", acquire_at),
    (c"recordAt", record_at),
    (c"recordQuietAt", record_quiet_at),
    (c"flush", flush),
    (c"shared", shared),
    (c"growGates", grow_gates),
    (c"readClock", crate::ticker::read_clock),
    (c"holdLoop", crate::hold::hold_loop),
];

/// A raw Node-API callback.
pub(crate) type Callback =
    unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Sets each raw callback as a named function property of `target`.
pub(crate) fn export_raw(
    env: &Env,
    target: &Object,
    callbacks: &[(&CStr, Callback)],
) -> Result<()> {
    for (name, callback) in callbacks {
        let mut function = ptr::null_mut();
        // SAFETY: `env` is live and `target` one of its objects; `name` is NUL-terminated
        // and `callback` has the signature Node-API expects.
        let status = unsafe {
            sys::napi_create_function(
                env.raw(),
                name.as_ptr(),
                name.to_bytes().len() as isize,
                Some(*callback),
                ptr::null_mut(),
                &mut function,
            )
        };
        napi::check_status!(status, "cannot create {name:?}")?;
        // SAFETY: as above.
        let status = unsafe {
            sys::napi_set_named_property(env.raw(), target.raw(), name.as_ptr(), function)
        };
        napi::check_status!(status, "cannot export {name:?}")?;
    }
    Ok(())
}

/// Adds the raw hot-path functions to the module's exports.
#[napi(module_exports)]
pub fn export_hot_path(exports: Object, env: Env) -> Result<()> {
    export_raw(&env, &exports, &HOT)
}
