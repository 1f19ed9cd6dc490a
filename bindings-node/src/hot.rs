//! The hot path as raw Node-API callbacks: `acquire`, `acquireAt`, `record`, `recordAt`.
//!
//! Why raw: a `#[napi]` function with arguments costs about 90 ns per call here
//! (napi 3.16 / napi-derive 3.7 on Node 20), a raw callback doing the same work
//! about 17 ns: measured with one `u32` argument, `scripts/bench-node.sh` has the
//! figures. These four functions are the only ones on the per-call path, so they
//! are written against `napi::sys` directly; everything else uses `#[napi]`.
//!
//! Each reads its numeric arguments, calls into the slab (`breaker.rs`), and
//! returns a number. A bad id or slot throws a JS `Error` (a facade bug, never a
//! user's).

use std::cell::Cell;
use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::Object;
use napi::sys;
use napi::{Env, JsValue, Result};
use napi_derive::napi;

use crate::breaker::{with_entry, Entry};
use crate::{nanos, now_nanos};

thread_local! {
    /// Where `acquire` writes the process-clock instant (ms) it read: the first
    /// element of a `Float64Array` the facade hands over once with `bindClock`, so
    /// JS learns a call's start time without another crossing or clock read.
    static CLOCK_OUT: Cell<*mut f64> = const { Cell::new(ptr::null_mut()) };
}

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

/// `acquire(id)`: a permit code (see the crate docs) on the process clock; the
/// instant read goes to the bound clock cell too.
unsafe extern "C" fn acquire(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: Node calls this with a valid env and callback info.
    unsafe {
        let [id] = args::<1>(env, info);
        let id = uint(env, id);
        let now = now_nanos();
        let out = CLOCK_OUT.get();
        if !out.is_null() {
            // SAFETY: `bind_clock` checked the array holds an f64 and keeps it alive.
            *out = now as f64 / 1e6;
        }
        finish(env, with_entry(id, |e: &mut Entry| Ok(e.acquire(now))))
    }
}

/// The data of a `Float64Array` argument holding at least `min_len` numbers, kept
/// alive (referenced) for the life of the environment: a cell native code writes
/// into and JS reads without a crossing.
///
/// # Safety
/// `env` and `info` must be the running callback's.
pub(crate) unsafe fn bind_cell(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    what: &str,
    min_len: usize,
) -> std::result::Result<*mut f64, napi::Error> {
    // SAFETY: the typed-array checks below guard the pointer.
    unsafe {
        let [array] = args::<1>(env, info);
        let mut is_typed = false;
        sys::napi_is_typedarray(env, array, &mut is_typed);
        let mut kind = 0;
        let mut length = 0usize;
        let mut data: *mut std::ffi::c_void = ptr::null_mut();
        if is_typed {
            sys::napi_get_typedarray_info(
                env,
                array,
                &mut kind,
                &mut length,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            );
        }
        if !is_typed
            || kind != sys::TypedarrayType::float64_array
            || length < min_len
            || data.is_null()
        {
            return Err(napi::Error::from_reason(format!(
                "{what} needs a Float64Array of at least {min_len} elements"
            )));
        }
        let mut reference = ptr::null_mut();
        if sys::napi_create_reference(env, array, 1, &mut reference) != sys::Status::napi_ok {
            return Err(napi::Error::from_reason(format!(
                "{what} cannot reference the array"
            )));
        }
        Ok(data.cast())
    }
}

/// `bindClock(float64Array)`: from now on `acquire` writes its instant (ms) into
/// element 0. The array is referenced for the life of the environment.
unsafe extern "C" fn bind_clock(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: Node calls this with a valid env and callback info.
    unsafe {
        match bind_cell(env, info, "bindClock", 1) {
            Ok(cell) => {
                CLOCK_OUT.set(cell);
                ptr::null_mut()
            }
            Err(error) => throw(env, &error),
        }
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
        finish(env, with_entry(id, |e: &mut Entry| Ok(e.acquire(now))))
    }
}

/// `record(id, slot, outcome)`: the transition code, on the process clock.
unsafe extern "C" fn record(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: as in `acquire`.
    unsafe {
        let [id, slot, outcome] = args::<3>(env, info);
        let (id, slot, outcome) = (uint(env, id), uint(env, slot), uint(env, outcome));
        let now = now_nanos();
        finish(
            env,
            with_entry(id, |e: &mut Entry| {
                e.record(slot, outcome, now).map(f64::from)
            }),
        )
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

const HOT: [(&CStr, Callback); 5] = [
    (c"acquire", acquire),
    (c"acquireAt", acquire_at),
    (c"record", record),
    (c"recordAt", record_at),
    (c"bindClock", bind_clock),
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
