//! tripwire-store: the fleet store's client shared by tripwire's native bindings (the
//! Node addon and the Python extension). It owns the connections to Redis or Valkey and
//! a background I/O thread, and drives the core's sans-IO fleet protocol
//! ([`tripwire_core::fleet`]): the rules stay in the core, this crate sends, waits and
//! runs the timers.
//!
//! The contract for binding authors (API, threads, callbacks, fork) follows.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod conn;
mod fork;
mod io;
mod options;

use std::any::Any;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use redis::ConnectionInfo;
use tripwire_core::fleet::{
    self, FleetBreaker, FleetError, FleetOptions, LeaseCall, Link, LinkEvent, Tally,
};
use tripwire_core::{
    Breaker, Clock, Config, ConfigError, ErrorKind, Outcome, Permit, Rejected, State, Stats,
    Transition,
};

pub use conn::StoreFault;
pub use options::{StoreOptions, ENV_URL};

/// The store's events, for a binding's `storeDown` / `storeUp` and its one log line per
/// outage. Called from the store's I/O thread, never while it holds a lock; a panic is
/// caught and ignored.
pub trait StoreEvents: Send + Sync {
    /// The first breaker of this process went to local mode: an outage begins. `fault`
    /// is the error that ended it (for the log line; it never holds the URL's password).
    fn store_down(&self, fault: &StoreFault);
    /// The last breaker in local mode shares again: the outage is over.
    fn store_up(&self);
}

/// One shared breaker's events. Called from the store's I/O thread, never while it
/// holds a lock; a panic is caught and ignored. It must not keep the binding's breaker
/// object alive (hold it weakly), or that breaker is never dropped from the store.
pub trait BreakerEvents: Send + Sync {
    /// A state change found in the background: the fleet's state adopted, or a
    /// transition decided from the fleet's totals. (Transitions caused by this
    /// process's own calls are returned by [`BreakerHandle::record`] and the manual
    /// operations instead.)
    fn transition(&self, transition: Transition);
    /// This breaker went to local mode, or shares again.
    fn link(&self, event: LinkEvent) {
        let _ = event;
    }
    /// The fleet refused this process (its trip rules differ; the error names the
    /// option). The breaker stays in local mode.
    fn fleet_error(&self, error: &FleetError) {
        let _ = error;
    }
    /// The I/O thread has just changed the breaker's state or link in the background
    /// (`transition` or `link` follows). Called under the breaker's lock, before any
    /// other thread can see the change: a binding that caches
    /// [`BreakerHandle::quiet_until`] drops its copy here. Must be quick and must not
    /// call into the store.
    fn changing(&self) {}
}

/// What a lease's completion callback receives: a trial permit, or a refusal.
pub type LeaseResult = Result<Permit, Rejected>;

type Done = Box<dyn FnOnce(LeaseResult) + Send>;

/// What [`BreakerHandle::try_acquire`] answers.
#[must_use = "a permit must be recorded, and a lease sent"]
pub enum Admit {
    /// Run the call (closed, disabled, or local mode). Decided without I/O.
    Permit(Permit),
    /// Refused (open, forced open, or no free trial slot). Decided without I/O.
    Rejected(Rejected),
    /// Half-open: a trial needs a fleet-wide lease, the one awaited round trip. Send
    /// it with [`Lease::send`] or [`Lease::wait`].
    Lease(Lease),
}

/// A half-open trial lease not sent yet. Dropping it unsent sends it anyway and
/// records a granted permit as cancelled, so that no trial slot leaks.
pub struct Lease {
    handle: BreakerHandle,
    call: Option<LeaseCall>,
}

impl Lease {
    /// Sends the lease call at once (the I/O thread's next round) and calls `done`
    /// with the answer, from the I/O thread, within about the store's timeout. After
    /// [`RedisStore::close`] it is answered at once on this thread (a store error: the
    /// core refuses, or decides alone in local mode).
    pub fn send(mut self, done: impl FnOnce(LeaseResult) + Send + 'static) {
        let call = self.call.take().expect("a lease is sent once");
        self.handle.send_lease(call, Box::new(done));
    }

    /// Sends the lease call and blocks until the answer (about the store's timeout at
    /// most). Python releases the GIL around this.
    pub fn wait(self) -> LeaseResult {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send(move |r| {
            let _ = tx.send(r);
        });
        // The I/O thread always answers; a closed channel (a callback that panicked)
        // is a refusal.
        rx.recv().unwrap_or(Err(Rejected {
            state: State::HalfOpen,
            retry_after: Some(0),
            may_wait: false,
        }))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            let handle = self.handle.clone();
            self.handle.send_lease(
                call,
                Box::new(move |r| {
                    if let Ok(permit) = r {
                        let _ = handle.record(permit, Outcome::Cancelled);
                    }
                }),
            );
        }
    }
}

/// A shared breaker's link to the fleet, for `getStats()` / `stats`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetView {
    /// Sharing, or deciding alone (the store is unreachable, or the fleet refused
    /// this process).
    pub link: Link,
    /// Whether a reply from the store has been adopted yet.
    pub joined: bool,
    /// How long ago the last reply arrived (`None`: never).
    pub last_sync_age: Option<Duration>,
    /// The fleet's lifetime totals at the last reply.
    pub fleet_totals: Tally,
    /// Why the fleet refused this process, if it did.
    pub error: Option<FleetError>,
}

struct Shared {
    name: String,
    channel: String,
    config: Config,
    options: FleetOptions,
    fleet: Mutex<FleetBreaker>,
    events: Option<Arc<dyn BreakerEvents>>,
    want_sync: AtomicBool,
    // The store clock's reading (ns) + 1 at the last reply; 0: none.
    last_sync: AtomicU64,
    error: Mutex<Option<FleetError>>,
    // Counted in the store's outage (written by the I/O thread only).
    down: AtomicBool,
}

struct PendingLease {
    shared: Arc<Shared>,
    call: LeaseCall,
    deadline: Instant,
    done: Done,
}

struct Runtime {
    // The fork epoch the process id and breakers were made in (0: never started).
    made: u64,
    io: Option<JoinHandle<()>>,
    io_thread: Option<Thread>,
    fds: [Arc<conn::FdSlot>; 2],
}

struct Inner {
    options: StoreOptions,
    info: ConnectionInfo,
    clock: StoreClock,
    events: Option<Arc<dyn StoreEvents>>,
    registry: Mutex<Vec<Arc<Shared>>>,
    channels: AtomicU64,
    // None once the I/O thread has stopped taking leases (closed).
    leases: Mutex<Option<Vec<PendingLease>>>,
    wake: AtomicBool,
    // The fork epoch the threads run in (0: none).
    running: AtomicU64,
    closed: AtomicBool,
    runtime: Mutex<Runtime>,
    process: AtomicU64,
    next_id: AtomicU64,
}

/// A monotonic clock counted from its creation: quanta's (the TSC where it is
/// invariant, else the OS clock), about 10 ns a read where `Instant` takes about 25: a
/// binding's closed path reads it twice per call (start and end). Each store has one;
/// a binding may use it as its own process clock.
pub struct StoreClock {
    clock: quanta::Clock,
    origin: quanta::Instant,
}

impl StoreClock {
    /// A clock reading 0 now.
    pub fn new() -> StoreClock {
        let clock = quanta::Clock::new();
        let origin = clock.now();
        StoreClock { clock, origin }
    }
}

impl Default for StoreClock {
    fn default() -> StoreClock {
        StoreClock::new()
    }
}

impl Clock for StoreClock {
    #[inline]
    fn now(&self) -> u64 {
        // u64 nanoseconds last 584 years from the origin.
        self.clock
            .now()
            .saturating_duration_since(self.origin)
            .as_nanos() as u64
    }
}

/// Every live store, for the fork handler.
static STORES: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// Every lock of every store, held across a `fork()` by the forking thread (see
/// `fork.rs`). Unlocked in reverse order, before the stores and breakers they are in
/// are released.
pub(crate) struct ForkHold {
    guards: Vec<Box<dyn Any>>,
    _breakers: Vec<Arc<Shared>>,
    _stores: Vec<Arc<Inner>>,
}

impl Drop for ForkHold {
    fn drop(&mut self) {
        while let Some(g) = self.guards.pop() {
            drop(g);
        }
    }
}

/// A guard that outlives its borrow's lifetime in the type only.
///
/// # Safety
/// The mutex must stay alive until the guard is dropped.
unsafe fn unbound<T: 'static>(g: MutexGuard<'_, T>) -> Box<dyn Any> {
    // SAFETY: only the lifetime changes; the caller keeps the mutex alive.
    Box::new(unsafe { std::mem::transmute::<MutexGuard<'_, T>, MutexGuard<'static, T>>(g) })
}

/// Takes, in the crate's lock order (runtime, leases, registry, breaker), every lock a
/// binding's thread may hold, in every store: after the fork none is held by a thread
/// that the child does not have. Called by the prepare handler, inside the gate.
pub(crate) fn hold_all() -> ForkHold {
    let mut hold = ForkHold {
        guards: Vec::new(),
        _breakers: Vec::new(),
        _stores: Vec::new(),
    };
    let stores: Vec<Arc<Inner>> = lock(&STORES).iter().filter_map(Weak::upgrade).collect();
    for inner in &stores {
        // SAFETY (each `unbound`): the store and breaker Arcs are kept in `hold`, and
        // `ForkHold::drop` releases every guard before them.
        unsafe {
            hold.guards.push(unbound(lock(&inner.runtime)));
            hold.guards.push(unbound(lock(&inner.leases)));
            let registry = lock(&inner.registry);
            let breakers: Vec<Arc<Shared>> = registry.clone();
            hold.guards.push(unbound(registry));
            for shared in &breakers {
                hold.guards.push(unbound(lock(&shared.fleet)));
                hold.guards.push(unbound(lock(&shared.error)));
            }
            hold._breakers.extend(breakers);
        }
    }
    hold._stores = stores;
    hold
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Calls the binding's code, containing a panic (it must not kill the I/O thread).
fn guarded(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

fn random_u64(salt: u64) -> u64 {
    // RandomState's keys are inherited by a fork child: the pid and time make it differ.
    let mut h = RandomState::new().build_hasher();
    (salt, std::process::id(), std::time::SystemTime::now()).hash(&mut h);
    Instant::now().hash(&mut h);
    h.finish()
}

impl Inner {
    fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Starts the I/O threads unless they run in this process already: one atomic load.
    #[inline]
    fn ensure(self: &Arc<Inner>) {
        if self.running.load(Ordering::Acquire) != fork::epoch() {
            self.start();
        }
    }

    #[cold]
    fn start(self: &Arc<Inner>) {
        let mut rt = lock(&self.runtime);
        let epoch = fork::epoch();
        if self.running.load(Ordering::Acquire) == epoch {
            return;
        }
        if rt.made != epoch {
            if rt.made != 0 {
                self.after_fork(&mut rt);
            }
            rt.made = epoch;
        }
        if !self.closed.load(Ordering::Acquire) {
            let [io_fd, sub_fd] = rt.fds.clone();
            let weak = Arc::downgrade(self);
            let io = std::thread::Builder::new()
                .name("tripwire-store-io".into())
                .spawn(move || io::io_main(weak, io_fd));
            // Without threads the breakers still decide alone (nothing is flushed).
            if let Ok(io) = io {
                let thread = io.thread().clone();
                let weak = Arc::downgrade(self);
                let sub_thread = thread.clone();
                let _ = std::thread::Builder::new()
                    .name("tripwire-store-sub".into())
                    .spawn(move || io::sub_main(weak, sub_fd, sub_thread));
                rt.io = Some(io);
                rt.io_thread = Some(thread);
            }
        }
        self.running.store(epoch, Ordering::Release);
    }

    /// In a fork child: the parent's threads are gone. Close this process's copies of
    /// their sockets (the parent's connections are untouched), forget their queued
    /// leases (their waiters are in the parent), and make every breaker again with a new
    /// process id: the parent flushes its own pending outcomes, the child joins anew.
    fn after_fork(&self, rt: &mut Runtime) {
        for slot in rt.fds.iter() {
            let fd = slot.swap(-1, Ordering::AcqRel);
            if fd >= 0 {
                use std::os::fd::{FromRawFd, OwnedFd};
                // SAFETY: the slot holds an fd only while this store's socket owns it
                // (set after open, cleared before close); the thread that owned it
                // does not exist in this process, so nothing else will close it.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
        // JoinHandles of threads that do not exist here: never join or detach them.
        std::mem::forget(rt.io.take());
        rt.io_thread = None;
        if let Some(old) = lock(&self.leases).replace(Vec::new()) {
            std::mem::forget(old);
        }
        self.process.store(
            random_u64(self.process.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        for shared in lock(&self.registry).iter() {
            let mut options = shared.options.clone();
            options.process_id = self.process_id();
            if let Ok(fresh) = FleetBreaker::new_at(shared.config, options, self.now()) {
                *lock(&shared.fleet) = fresh;
            }
            shared.last_sync.store(0, Ordering::Relaxed);
            shared.down.store(false, Ordering::Relaxed);
            *lock(&shared.error) = None;
        }
    }

    fn process_id(&self) -> u64 {
        let seq = self.next_id.fetch_add(1, Ordering::Relaxed);
        RandomState::new().hash_one((self.process.load(Ordering::Relaxed), seq))
    }

    fn wake(&self) {
        self.wake.store(true, Ordering::Release);
        if let Some(t) = &lock(&self.runtime).io_thread {
            t.unpark();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The threads hold the store weakly: wake the I/O thread so that it sees it gone.
        if let Some(t) = &lock(&self.runtime).io_thread {
            t.unpark();
        }
    }
}

/// A process's connection to the fleet store. Cheap to clone (one shared store); the
/// binding's `RedisStore` object holds one. See the [crate docs](crate).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

impl RedisStore {
    /// A store with `options` (validated whole: the error names the option). Nothing
    /// connects yet: the I/O threads start at the first registration, and again in a
    /// fork child at its first use. `events` receives the outage episodes.
    pub fn new(
        options: StoreOptions,
        events: Option<Arc<dyn StoreEvents>>,
    ) -> Result<RedisStore, ConfigError> {
        options.validate()?;
        let info = options.connection_info()?;
        fork::install();
        let inner = Arc::new(Inner {
            options,
            info,
            clock: StoreClock::new(),
            events,
            registry: Mutex::new(Vec::new()),
            channels: AtomicU64::new(0),
            leases: Mutex::new(Some(Vec::new())),
            wake: AtomicBool::new(false),
            running: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            runtime: Mutex::new(Runtime {
                made: 0,
                io: None,
                io_thread: None,
                fds: [
                    Arc::new(conn::FdSlot::new(-1)),
                    Arc::new(conn::FdSlot::new(-1)),
                ],
            }),
            process: AtomicU64::new(random_u64(0)),
            next_id: AtomicU64::new(0),
        });
        let mut stores = lock(&STORES);
        stores.retain(|w| w.strong_count() > 0);
        stores.push(Arc::downgrade(&inner));
        drop(stores);
        Ok(RedisStore { inner })
    }

    /// The options it was made with.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The store's clock (monotonic nanoseconds): the instants
    /// [`BreakerHandle::record_quiet_successes`] takes, and what [`Stats`] instants
    /// are measured on.
    pub fn now(&self) -> u64 {
        self.inner.now()
    }

    /// Shares the breaker `options.name` with the fleet: a handle the binding keeps and
    /// locks on its call path. The store sets `options.prefix` (its own) and
    /// `options.process_id` (unique per registration), and `options.lease_ttl` when the
    /// breaker has none and the store has one; `inject_now` must stay false. The join
    /// (a read of the fleet's state) is sent at once; until its reply the breaker
    /// decides alone. A start state in `config` (open, half-open) becomes the fleet's
    /// state if the store holds none; a fleet that exists is adopted as it is (joining
    /// never resets anything). Registering the same name twice gives two members of the fleet
    /// (as two processes would be). The breaker leaves the store once every clone of
    /// the handle is dropped and its last outcomes are flushed.
    pub fn register(
        &self,
        config: Config,
        mut options: FleetOptions,
        events: Option<Arc<dyn BreakerEvents>>,
    ) -> Result<BreakerHandle, ConfigError> {
        if options.name.is_empty() || options.name.contains(['{', '}']) {
            return Err(ConfigError {
                field: "name".into(),
                reason: "a shared breaker needs a name, without `{` or `}`".into(),
                kind: ErrorKind::Range,
            });
        }
        let inner = &self.inner;
        inner.ensure();
        options.prefix.clone_from(&inner.options.prefix);
        options.process_id = inner.process_id();
        options.inject_now = false;
        options.check_fingerprint &= inner.options.check_rules;
        if options.lease_ttl.is_none() {
            options.lease_ttl = inner.options.lease_ttl.map(|d| d.as_nanos() as u64);
        }
        let fleet = FleetBreaker::new_at(config, options.clone(), inner.now())?;
        let shared = Arc::new(Shared {
            name: options.name.clone(),
            channel: fleet.channel(),
            config,
            options,
            fleet: Mutex::new(fleet),
            events,
            want_sync: AtomicBool::new(false),
            last_sync: AtomicU64::new(0),
            error: Mutex::new(None),
            down: AtomicBool::new(false),
        });
        lock(&inner.registry).push(shared.clone());
        inner.channels.fetch_add(1, Ordering::AcqRel);
        inner.wake();
        Ok(BreakerHandle {
            shared,
            inner: inner.clone(),
        })
    }

    /// How many breakers the store holds (dropped handles leave at the next flush).
    pub fn len(&self) -> usize {
        lock(&self.inner.registry).len()
    }

    /// Whether the store holds no breaker.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flushes what is pending (one last round, bounded by the timeout), answers the
    /// leases still queued, and stops the I/O thread; blocks until then (about two
    /// timeouts at most: run it off the event loop in Node). The breakers keep working,
    /// deciding alone. Idempotent.
    pub fn close(&self) {
        let inner = &self.inner;
        inner.closed.store(true, Ordering::Release);
        // In a fork child, forgets the parent's threads (never joined here); starts none.
        inner.ensure();
        let io = {
            let mut rt = lock(&inner.runtime);
            if let Some(t) = &rt.io_thread {
                t.unpark();
            }
            rt.io.take()
        };
        if let Some(io) = io {
            let _ = io.join();
        }
    }
}

/// A shared breaker, as a binding holds it. Every method but [`Lease`]'s decides
/// under the breaker's lock without I/O (the lock is held by the I/O thread only for
/// microseconds, never across a network wait). Cheap to clone.
#[derive(Clone)]
pub struct BreakerHandle {
    shared: Arc<Shared>,
    inner: Arc<Inner>,
}

impl BreakerHandle {
    fn fleet(&self) -> MutexGuard<'_, FleetBreaker> {
        self.inner.ensure();
        lock(&self.shared.fleet)
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The configuration it was registered with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The store's clock, as [`RedisStore::now`].
    pub fn now(&self) -> u64 {
        self.inner.now()
    }

    /// Asks leave to run a call: a permit or a refusal at once, or, half-open, a lease
    /// to send.
    pub fn try_acquire(&self) -> Admit {
        let mut f = self.fleet();
        match f.try_acquire(self.inner.now()) {
            fleet::Acquire::Permit(p) => Admit::Permit(p),
            fleet::Acquire::Rejected(r) => Admit::Rejected(r),
            fleet::Acquire::Lease(call) => Admit::Lease(Lease {
                handle: self.clone(),
                call: Some(call),
            }),
        }
    }

    /// Reports how a permitted call ended; the transition it caused in this process,
    /// if any (the binding emits it). A failure, slow call, trial or transition wakes
    /// the I/O thread to flush at once.
    pub fn record(&self, permit: Permit, outcome: Outcome) -> Option<Transition> {
        let recorded = self.fleet().record(permit, outcome, self.inner.now());
        self.after(recorded.flush == fleet::Flush::Now);
        recorded.transition
    }

    /// Records `count` quiet successes of calls started at `started` and ended at
    /// `ended` (instants of [`RedisStore::now`]): the binding's batched closed path.
    pub fn record_quiet_successes(
        &self,
        started: u64,
        ended: u64,
        count: u32,
    ) -> Option<Transition> {
        let recorded = self.fleet().record_quiet_successes(started, ended, count);
        self.after(recorded.flush == fleet::Flush::Now);
        recorded.transition
    }

    #[doc(hidden)] // The bindings' quiet path (see `Breaker::quiet_until`).
    /// Until when (the store's clock) calls may be admitted without asking, and the
    /// generation they belong to; `0` while not quiet. A background transition ends it:
    /// publish again on [`BreakerEvents::transition`].
    pub fn quiet_until(&self) -> (u64, u64) {
        let f = self.fleet();
        (f.quiet_until(self.inner.now()), f.engine().generation())
    }

    #[doc(hidden)] // The bindings' quiet path.
    /// The permit of a call admitted while quiet in `generation` at `issued_at` (the
    /// store's clock), to [`BreakerHandle::record`] when it did not succeed quietly.
    pub fn quiet_permit(&self, generation: u64, issued_at: u64) -> Permit {
        self.fleet().quiet_permit(generation, issued_at)
    }

    fn after(&self, now: bool) {
        if now || self.inner.options.flush_interval.is_zero() {
            self.inner.wake();
        }
    }

    /// Reads this process's own engine inside the shared breaker under its lock: its
    /// lifetime counters and call durations, for metrics.
    pub fn with_engine<R>(&self, f: impl FnOnce(&Breaker) -> R) -> R {
        f(self.fleet().engine())
    }

    /// The effective state.
    pub fn state(&self) -> State {
        self.fleet().state(self.inner.now())
    }

    /// The stats: state, window, consecutive counts and rates are the fleet's (as last
    /// synced, plus this process's unflushed outcomes); totals and latencies this
    /// process's own. Instants are on [`RedisStore::now`]'s clock.
    pub fn stats(&self) -> Stats {
        self.fleet().stats(self.inner.now())
    }

    /// The link to the fleet: mode, last sync age, the fleet's totals.
    pub fn fleet_view(&self) -> FleetView {
        let now = self.inner.now();
        let (link, joined, fleet_totals) = {
            let f = self.fleet();
            (f.link(), f.joined(), f.fleet_totals())
        };
        let at = self.shared.last_sync.load(Ordering::Acquire);
        FleetView {
            link,
            joined,
            last_sync_age: (at > 0).then(|| Duration::from_nanos(now.saturating_sub(at - 1))),
            fleet_totals,
            error: lock(&self.shared.error).clone(),
        }
    }

    fn manual(&self, op: impl FnOnce(&mut FleetBreaker, u64) -> Transition) -> Transition {
        let t = op(&mut self.fleet(), self.inner.now());
        self.inner.wake();
        t
    }

    /// Opens the circuit fleet-wide until closed or reset.
    pub fn force_open(&self) -> Transition {
        self.manual(FleetBreaker::force_open)
    }

    /// Opens the circuit fleet-wide as if it had tripped (it half-opens after the open
    /// duration).
    pub fn trip(&self) -> Transition {
        self.manual(FleetBreaker::trip)
    }

    /// Half-opens the circuit fleet-wide: the next calls are trials, at most
    /// `half_open_max_calls` across the fleet.
    pub fn half_open(&self) -> Transition {
        self.manual(FleetBreaker::half_open)
    }

    /// Closes the circuit fleet-wide (window cleared, totals kept).
    pub fn close(&self) -> Transition {
        self.manual(FleetBreaker::close)
    }

    /// A new breaker's state fleet-wide: closed, window and fleet totals cleared.
    pub fn reset(&self) -> Transition {
        self.manual(FleetBreaker::reset)
    }

    /// Always permits, still counts, never trips, fleet-wide.
    pub fn disable(&self) -> Transition {
        self.manual(FleetBreaker::disable)
    }

    /// Ends `disable` fleet-wide.
    pub fn enable(&self) -> Transition {
        self.manual(FleetBreaker::enable)
    }

    fn send_lease(&self, call: LeaseCall, done: Done) {
        let inner = &self.inner;
        inner.ensure();
        let pending = PendingLease {
            shared: self.shared.clone(),
            call,
            deadline: Instant::now() + inner.options.timeout,
            done,
        };
        let refused = {
            let mut queue = lock(&inner.leases);
            match queue.as_mut() {
                Some(q) if !inner.closed.load(Ordering::Acquire) => {
                    q.push(pending);
                    None
                }
                _ => Some(pending),
            }
        };
        match refused {
            None => inner.wake(),
            Some(p) => {
                let r = lock(&p.shared.fleet).lease_reply(
                    p.call.ticket,
                    Err(fleet::StoreError::Unavailable),
                    inner.now(),
                );
                (p.done)(r);
            }
        }
    }
}
