//! Keeps this environment's event loop alive while calls with a deadline are in flight.
//!
//! Such a call must time out even when nothing else holds the process (a promise that
//! never settles), so its breaker's timer must keep the loop alive while calls are in
//! flight, and only then: an idle process must exit. Referencing the JS timer as the
//! first call starts and unreferencing it as the last ends cost two crossings into
//! libuv a call when calls run one at a time (~30 ns, a sixth of a timed call).
//!
//! Instead the timers of the default clock stay unreferenced, and JS counts the
//! breakers with calls in flight in `shared().hold`, `[count, held]`. When the count
//! leaves 0 with nothing held, JS calls [`hold_loop`], which starts a libuv prepare
//! handle of this environment's loop: an active handle keeps the loop alive. Its
//! callback runs once per turn of the loop, before the poll, and stops the handle when
//! the count is back to 0. Calls made back to back cross once per turn of the loop.
//! While the handle holds the loop a timer is always pending (the breakers' timers of
//! the calls in flight), so the poll never waits without an end.
//!
//! Before the poll, not after it (a check handle): a call that ends in a timer's
//! callback (the last phase of a turn) would leave the handle active into the next
//! turn's poll, which then waited for the call's deadline, holding the process for up
//! to the call timeout after its last call had ended.

use std::cell::Cell;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use napi::sys;

use crate::protocol::{HOLD_COUNT, HOLD_HELD};

/// libuv's `uv_handle_type` of a prepare handle (`UV_PREPARE`, stable across libuv 1.x).
const UV_PREPARE: c_int = 9;

// libuv, as the Node binary exports it to addons.
extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_prepare_init(uv_loop: *mut sys::uv_loop_s, prepare: *mut c_void) -> c_int;
    fn uv_prepare_start(prepare: *mut c_void, callback: unsafe extern "C" fn(*mut c_void))
        -> c_int;
    fn uv_prepare_stop(prepare: *mut c_void) -> c_int;
    fn uv_close(handle: *mut c_void, callback: unsafe extern "C" fn(*mut c_void));
}

/// This environment's prepare handle: zeroed words of `uv_handle_size(UV_PREPARE)` bytes,
/// whose first word (libuv's `data`, never touched by libuv) points back here.
struct Hold {
    handle: *mut u64,
    words: usize,
    /// The async cleanup hook's handle, removed once libuv has closed the prepare handle.
    remove: sys::napi_async_cleanup_hook_handle,
}

thread_local! {
    /// This environment's `hold` array (bound by `hot::make_shared`).
    static ARRAY: Cell<*mut f64> = const { Cell::new(ptr::null_mut()) };
    /// Its prepare handle, once made.
    static HOLD: Cell<*mut Hold> = const { Cell::new(ptr::null_mut()) };
}

/// Binds this environment's `hold` array of [`crate::protocol::HOLD_LEN`] numbers, kept
/// alive by the shared object for the life of the environment.
pub(crate) fn bind(array: *mut f64) {
    ARRAY.set(array);
}

/// `holdLoop()`: the loop stays alive until a turn ends with no call in flight (see the
/// module docs). Throws if libuv refuses the handle.
pub(crate) unsafe extern "C" fn hold_loop(
    env: sys::napi_env,
    _info: sys::napi_callback_info,
) -> sys::napi_value {
    let array = ARRAY.get();
    // SAFETY: Node calls this with a valid env, on the environment's own thread; the
    // array is bound while the environment lives.
    unsafe {
        let mut hold = HOLD.get();
        if hold.is_null() {
            match make(env) {
                Ok(made) => hold = made,
                Err(message) => {
                    sys::napi_throw_error(env, ptr::null(), message.as_ptr());
                    return ptr::null_mut();
                }
            }
        }
        // Starting a started handle is a no-op.
        uv_prepare_start((*hold).handle.cast(), on_prepare);
        *array.add(HOLD_HELD) = 1.0;
    }
    ptr::null_mut()
}

/// Makes the prepare handle on this environment's loop, closed by an async cleanup hook
/// as the environment ends (a worker's loop must have no handle left open).
///
/// # Safety
/// `env` must be the running callback's.
unsafe fn make(env: sys::napi_env) -> Result<*mut Hold, &'static CStr> {
    if ARRAY.get().is_null() {
        return Err(c"tripwire: holdLoop() before shared()");
    }
    // SAFETY: as documented; the handle's memory is zeroed, 8-aligned and as large as
    // libuv says a prepare handle is, and freed only once libuv has closed it.
    unsafe {
        let mut uv_loop = ptr::null_mut();
        if sys::napi_get_uv_event_loop(env, &mut uv_loop) != sys::Status::napi_ok {
            return Err(c"tripwire: no event loop to hold");
        }
        let words = uv_handle_size(UV_PREPARE).div_ceil(8);
        let handle = Box::into_raw(vec![0u64; words].into_boxed_slice()).cast::<u64>();
        if uv_prepare_init(uv_loop, handle.cast()) != 0 {
            free_handle(handle, words);
            return Err(c"tripwire: libuv refused a prepare handle");
        }
        let hold = Box::into_raw(Box::new(Hold {
            handle,
            words,
            remove: ptr::null_mut(),
        }));
        *handle = hold as u64;
        HOLD.set(hold);
        sys::napi_add_async_cleanup_hook(env, Some(on_cleanup), hold.cast(), &mut (*hold).remove);
        Ok(hold)
    }
}

/// # Safety
/// `handle` must be the words `make` allocated, `words` of them, no longer used by libuv.
unsafe fn free_handle(handle: *mut u64, words: usize) {
    // SAFETY: as documented.
    drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(handle, words)) });
}

/// Once per turn of the loop while holding, before the poll: stops holding when no
/// call is in flight.
unsafe extern "C" fn on_prepare(handle: *mut c_void) {
    let array = ARRAY.get();
    // SAFETY: the handle runs on its environment's thread while the array is bound
    // (the cleanup hook closes it before the array goes).
    unsafe {
        if *array.add(HOLD_COUNT) <= 0.0 {
            uv_prepare_stop(handle);
            *array.add(HOLD_HELD) = 0.0;
        }
    }
}

/// The environment ends: close the handle; libuv calls `on_close` on a later turn.
unsafe extern "C" fn on_cleanup(_remove: sys::napi_async_cleanup_hook_handle, data: *mut c_void) {
    HOLD.set(ptr::null_mut());
    ARRAY.set(ptr::null_mut());
    // SAFETY: `data` is the Hold `make` leaked, with an initialised handle.
    unsafe { uv_close((*data.cast::<Hold>()).handle.cast(), on_close) };
}

/// libuv has closed the handle: free it, and tell Node the cleanup is done.
unsafe extern "C" fn on_close(handle: *mut c_void) {
    // SAFETY: the handle's first word points to its Hold (see `make`); nothing uses
    // either any more.
    unsafe {
        let hold = Box::from_raw(*handle.cast::<*mut Hold>());
        free_handle(hold.handle, hold.words);
        sys::napi_remove_async_cleanup_hook(hold.remove);
    }
}
