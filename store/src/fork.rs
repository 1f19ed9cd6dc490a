//! Surviving `fork()` (Python's `os.fork()`, gunicorn with `--preload`).
//!
//! Only the forking thread exists in a child: the store's I/O threads are gone, and a
//! mutex one of them held at the fork would stay locked forever. So:
//!
//! * every lock the store's own threads take is taken inside [`gate`], and they never
//!   wait on the network or call the binding's code while inside it;
//! * a `pthread_atfork` *prepare* handler takes the gate before the fork (waiting at
//!   most for the I/O thread to finish its short section), then every lock a binding's
//!   thread may hold (every store's, every breaker's: [`crate::hold_all`]; each is held
//!   for microseconds); the *parent* and *child* handlers release them all: in the
//!   child no lock of the store is held by a thread that is gone;
//! * the child handler also bumps [`epoch`], which every handle compares (one atomic
//!   load) to restart the I/O threads lazily in the child.
//!
//! The handlers are installed once per process, by the first store.

use std::cell::RefCell;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

static EPOCH: AtomicU64 = AtomicU64::new(1);
static GATE: Mutex<()> = Mutex::new(());
static INSTALL: Once = Once::new();

thread_local! {
    // The gate held across a fork by the forking thread.
    static HELD: RefCell<Option<(crate::ForkHold, MutexGuard<'static, ()>)>> =
        const { RefCell::new(None) };
}

extern "C" {
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> c_int;
}

extern "C" fn prepare() {
    let guard = gate();
    let all = crate::hold_all();
    HELD.with(|h| *h.borrow_mut() = Some((all, guard)));
}

extern "C" fn parent() {
    HELD.with(|h| drop(h.borrow_mut().take()));
}

extern "C" fn child() {
    EPOCH.fetch_add(1, Ordering::AcqRel);
    HELD.with(|h| drop(h.borrow_mut().take()));
}

/// Installs the fork handlers (once per process).
pub(crate) fn install() {
    INSTALL.call_once(|| {
        // SAFETY: registers three `extern "C"` functions without arguments, as
        // pthread_atfork expects; they only touch this module's statics.
        let rc = unsafe { pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        // ENOMEM only: the store still works, a fork child just may not restart.
        debug_assert_eq!(rc, 0, "pthread_atfork");
    });
}

/// The process's fork generation: changes in a child after every `fork()`.
#[inline]
pub(crate) fn epoch() -> u64 {
    EPOCH.load(Ordering::Acquire)
}

/// The section the store's own threads hold whenever they hold any other lock.
pub(crate) fn gate() -> MutexGuard<'static, ()> {
    GATE.lock().unwrap_or_else(PoisonError::into_inner)
}
