//! The native breakers: each a core [`Breaker`] plus the permits it has handed out,
//! kept in a per-thread slab and named by id.
//!
//! A [`Permit`] cannot cross into JS, so permits wait here in a slab and JS holds
//! the slot number. Every method converts numbers and nothing else: the rules are
//! the core's.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use napi::bindgen_prelude::Object;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use tripwire_core::{
    Backoff, Breaker, Config, ConfigShare, Outcome, Permit, Rejected, Snapshot, State, Stats,
    Threshold, WindowKind,
};

use tripwire_core::resilience::{Circuit, Facts};
use tripwire_store::{Admit, BreakerHandle, Lease, LeaseResult, RedisStore};

use crate::options::config_from_js;
pub(crate) use crate::protocol::{state_code, transition_code};
use crate::protocol::{
    GATE, OP_CLOSE, OP_DISABLE, OP_ENABLE, OP_HALF_OPEN, OP_OPEN, OP_RESET, OP_TRIP,
    OUTCOME_CANCELLED, OUTCOME_FAILURE, OUTCOME_IGNORED, OUTCOME_SUCCESS, OUTCOME_TIMEOUT,
    PERMIT_STRIDE,
};
use crate::slab::Slab;
use crate::{
    at, millis, nanos, NANOS_PER_MS, REJECTED_FORCED, REJECTED_HALF_OPEN, REJECTED_HALF_OPEN_WAIT,
    REJECTED_OPEN,
};

pub(crate) use crate::protocol::{RING_CAPACITY, RING_ENTRY};

fn outcome(code: u32) -> Result<Outcome> {
    Ok(match code {
        OUTCOME_SUCCESS => Outcome::Success,
        OUTCOME_FAILURE => Outcome::Failure,
        OUTCOME_TIMEOUT => Outcome::Timeout,
        OUTCOME_IGNORED => Outcome::Ignored,
        OUTCOME_CANCELLED => Outcome::Cancelled,
        _ => {
            return Err(Error::new(
                Status::InvalidArg,
                format!("unknown outcome code {code}"),
            ))
        }
    })
}

/// The resolved configuration, in the facade's units (milliseconds).
#[napi(object)]
pub struct NativeSettings {
    /// A rate in (0, 1] or a count of consecutive failures.
    pub failure_threshold: f64,
    /// Whether `failure_threshold` is a rate.
    pub rate_threshold: bool,
    /// Calls in the window before any rule applies (default applied).
    pub minimum_requests: u32,
    /// Open duration (ms).
    pub recovery_timeout: f64,
    /// Per-call timeout (ms), or null when disabled.
    pub request_timeout: Option<f64>,
    /// The longest success (ms) JS may queue while quiet (`Config::quiet_limit`,
    /// two nanoseconds short to absorb the conversion), or null for no limit.
    pub quiet_limit: Option<f64>,
    /// Trial successes that close.
    pub success_threshold: u32,
    /// Concurrent half-open trials.
    pub half_open_max_calls: u32,
    /// Time window (ms), or null with a count window.
    pub monitoring_window: Option<f64>,
    /// Count window size, or null with a time window.
    pub count_window: Option<u32>,
    /// Slow-call threshold (ms), or null.
    pub expected_response_time: Option<f64>,
    /// Slow-call rate that trips on its own, or null.
    pub slow_call_rate_threshold: Option<f64>,
    /// Buckets of the time window, or null with a count window.
    pub window_buckets: Option<u32>,
    /// Exponential backoff: growth per trip, or null with a fixed open duration.
    pub backoff_multiplier: Option<f64>,
    /// Exponential backoff: cap of the open duration (ms), or null.
    pub max_recovery_timeout: Option<f64>,
    /// Exponential backoff: jitter fraction, or null.
    pub backoff_jitter: Option<f64>,
    /// Jitter seed (below 2^53, so exact as a JS number).
    pub seed: f64,
    /// Ignored outcomes count as successes.
    pub ignored_as_success: bool,
    /// Rate rules trip above their threshold only.
    pub strict_rate_threshold: bool,
    /// Refused calls count as calls in the window.
    pub rejects_in_rate: bool,
    /// The window outlives half-open and close.
    pub keep_window: bool,
    /// OPEN → HALF_OPEN is reported from a timer.
    pub half_open_timer: bool,
    /// Callers may wait for a half-open trial.
    pub half_open_wait: bool,
    /// Windowed statistics are kept.
    pub window_stats: bool,
}

/// One bucket's (or the window's) counts.
#[napi(object)]
pub struct NativeBucket {
    pub successes: f64,
    pub failures: f64,
    pub rejects: f64,
    pub timeouts: f64,
    pub fallbacks: f64,
}

impl From<tripwire_core::BucketCounts> for NativeBucket {
    fn from(b: tripwire_core::BucketCounts) -> Self {
        NativeBucket {
            successes: b.successes as f64,
            failures: b.failures as f64,
            rejects: b.rejects as f64,
            timeouts: b.timeouts as f64,
            fallbacks: b.fallbacks as f64,
        }
    }
}

/// The windowed statistics (`Breaker::window_stats`), durations in ms.
#[napi(object)]
pub struct NativeWindowStats {
    /// Bucket width (ms).
    pub bucket_width: f64,
    /// Buckets, oldest first.
    pub buckets: Vec<NativeBucket>,
    /// Their sum.
    pub total: NativeBucket,
    /// Mean call duration (ms).
    pub latency_mean: f64,
    /// The fractions of `percentiles` (`tripwire_core::PERCENTILES`).
    pub quantiles: Vec<f64>,
    /// Durations (ms) at `quantiles`, null without calls.
    pub percentiles: Vec<Option<f64>>,
}

/// A point-in-time view, instants in the breaker's clock milliseconds.
#[napi(object)]
pub struct NativeStats {
    /// 0 CLOSED, 1 OPEN, 2 HALF_OPEN (effective).
    pub state: u32,
    /// Forced open.
    pub forced_open: bool,
    /// Disabled.
    pub disabled: bool,
    /// Calls that ran.
    pub requests: f64,
    /// Successes.
    pub successes: f64,
    /// Failures (timeouts included).
    pub failures: f64,
    /// Timeouts.
    pub timeouts: f64,
    /// Slow calls.
    pub slow_calls: f64,
    /// Rejections.
    pub rejected: f64,
    /// Ignored or cancelled calls.
    pub ignored: f64,
    /// Consecutive failures in the current state.
    pub consecutive_failures: u32,
    /// Consecutive successes in the current state.
    pub consecutive_successes: u32,
    /// Consecutive failures a trip does not reset.
    pub failure_streak: u32,
    /// Calls in the window.
    pub window_calls: u32,
    /// Failed or slow calls in the window.
    pub window_failures: u32,
    /// Window failure rate, 0..=1.
    pub failure_rate: f64,
    /// Window slow-call rate, 0..=1.
    pub slow_call_rate: f64,
    /// Last success (ms), or null.
    pub last_success_at: Option<f64>,
    /// Last failure (ms), or null.
    pub last_failure_at: Option<f64>,
    /// When an open breaker admits a trial (ms), or null.
    pub next_attempt_at: Option<f64>,
    /// Mean call duration (ms).
    pub mean_latency: f64,
    /// Median call duration (ms), or null.
    pub latency_p50: Option<f64>,
    /// 90th percentile (ms), or null.
    pub latency_p90: Option<f64>,
    /// 99th percentile (ms), or null.
    pub latency_p99: Option<f64>,
    /// Consecutive trips.
    pub trips: u32,
}

impl From<Stats> for NativeStats {
    fn from(s: Stats) -> Self {
        NativeStats {
            state: state_code(s.state),
            forced_open: s.forced_open,
            disabled: s.disabled,
            requests: s.requests as f64,
            successes: s.successes as f64,
            failures: s.failures as f64,
            timeouts: s.timeouts as f64,
            slow_calls: s.slow_calls as f64,
            rejected: s.rejected as f64,
            ignored: s.ignored as f64,
            consecutive_failures: s.consecutive_failures,
            consecutive_successes: s.consecutive_successes,
            failure_streak: s.failure_streak,
            window_calls: s.window_calls,
            window_failures: s.window_failures,
            failure_rate: s.failure_rate,
            slow_call_rate: s.slow_call_rate,
            last_success_at: s.last_success_at.map(millis),
            last_failure_at: s.last_failure_at.map(millis),
            next_attempt_at: s.next_attempt_at.map(millis),
            mean_latency: s.mean_latency / NANOS_PER_MS,
            latency_p50: s.latency_p50.map(millis),
            latency_p90: s.latency_p90.map(millis),
            latency_p99: s.latency_p99.map(millis),
            trips: s.trips,
        }
    }
}

/// One core breaker and the permits it has handed out.
pub(crate) struct Entry {
    id: u32,
    /// The instant of the last `publish`, to publish again into a new gates array.
    published_at: u64,
    breaker: Breaker,
    /// Permits handed out and not yet recorded, by slot. Made on the first
    /// permit: calls on a quiet breaker hold none.
    permits: Option<Box<Slab<Permit>>>,
    /// A shared breaker's engine (then `breaker` only holds its configuration).
    fleet: Option<Box<Fleet>>,
}

/// A breaker shared through a store (`fleet.rs`): decided by the handle, on the
/// store's clock. Quiet like a local one while closed with no rate rule (a success can
/// then never change its state: `quiet_until` is unbounded); every other call crosses,
/// and none waits but a trial lease.
pub(crate) struct Fleet {
    handle: BreakerHandle,
    /// Its gate as the store's I/O thread closes it (see [`FleetGate`]).
    gate: Arc<FleetGate>,
    /// The facade's token for this breaker: a lease answered after its id was reused
    /// must not land in another breaker.
    token: f64,
    /// The store it joined, to join again with a new configuration (a service's
    /// breaker whose service was reconfigured).
    store: RedisStore,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The id may be reused: the store's thread must not close another breaker's gate.
        self.gate.slot.store(NO_SLOT, Ordering::Release);
    }
}

const NO_SLOT: u32 = u32::MAX;

/// This environment's gates array as other threads reach it: (data, length), (0, 0)
/// once the environment is gone. Locked by whoever writes a shared breaker's gate.
pub(crate) struct SharedGates(Mutex<(usize, usize)>);

thread_local! {
    static SHARED_GATES: Arc<SharedGates> = Arc::new(SharedGates(Mutex::new((0, 0))));
}

impl SharedGates {
    fn lock(&self) -> MutexGuard<'_, (usize, usize)> {
        // Two words always written together: a panic cannot leave them inconsistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A horizon of the core (ns) as the gates array holds it (ms): one nanosecond short,
/// so that JS's `nowMs < untilMs` implies the core's `now < until` despite the
/// conversion; never for `u64::MAX`.
fn gate_millis(until: u64) -> f64 {
    if until == u64::MAX {
        f64::INFINITY
    } else {
        millis(until.saturating_sub(1))
    }
}

/// Writes breaker `slot`'s gate words into the array `(data, len)` (the lock held).
fn write_gate((data, len): (usize, usize), slot: u32, until: f64, generation: Option<f64>) {
    let at = slot as usize * GATE;
    if data == 0 || at + GATE > len {
        return;
    }
    let data = data as *mut f64;
    // SAFETY: the array (GATE-aligned f64, kept alive by `hot::shared` while bound)
    // has `at + 1 < len`; JS reads these words without atomics: aligned 8-byte stores
    // do not tear.
    unsafe {
        AtomicU64::from_ptr(data.add(at).cast()).store(until.to_bits(), Ordering::Relaxed);
        if let Some(generation) = generation {
            AtomicU64::from_ptr(data.add(at + 1).cast())
                .store(generation.to_bits(), Ordering::Relaxed);
        }
    }
}

/// A shared breaker's quiet gate as the store's I/O thread reaches it. A background
/// change (the fleet's trip adopted, a link lost) closes the gate from that thread,
/// under the breaker's lock, before anyone can see the change (`BreakerEvents::changing`):
/// once `getState()` says OPEN, no call is admitted quietly, instead of until the event
/// reaches the event loop. The version makes a publish computed before a background
/// change close the gate rather than reopen it (as Python's `Gate`).
pub(crate) struct FleetGate {
    slot: AtomicU32,
    version: AtomicU64,
    gates: Arc<SharedGates>,
}

impl FleetGate {
    /// A gate for a breaker of this environment, not yet in the slab.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(FleetGate {
            slot: AtomicU32::new(NO_SLOT),
            version: AtomicU64::new(0),
            gates: SHARED_GATES.with(Arc::clone),
        })
    }

    /// The store's I/O thread is changing the breaker in the background: closed.
    pub(crate) fn close(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        let slot = self.slot.load(Ordering::Acquire);
        if slot != NO_SLOT {
            write_gate(*self.gates.lock(), slot, 0.0, None);
        }
    }

    /// Publishes `(until, generation)`, computed from the handle after reading
    /// `version`: closed instead if a background change came in between.
    fn publish(&self, slot: u32, version: u64, until: f64, generation: f64) {
        let gates = self.gates.lock();
        let until = if self.version.load(Ordering::Acquire) == version {
            until
        } else {
            0.0
        };
        write_gate(*gates, slot, until, Some(generation));
    }
}

/// Nanoseconds to add to an instant of a store's clock to read it on the process clock.
fn store_to_process(handle: &BreakerHandle) -> i128 {
    i128::from(crate::now_nanos()) - i128::from(handle.now())
}

/// A process-clock instant (ns) on the store's clock.
fn on_store(handle: &BreakerHandle, process: u64) -> u64 {
    (i128::from(process) - store_to_process(handle)).max(0) as u64
}

/// Stats of a shared breaker, instants on the process clock.
fn fleet_stats(handle: &BreakerHandle) -> Stats {
    let shift = store_to_process(handle);
    let mut s = handle.stats();
    let map = |t: Option<u64>| t.map(|t| (i128::from(t) + shift).max(0) as u64);
    s.last_success_at = map(s.last_success_at);
    s.last_failure_at = map(s.last_failure_at);
    s.next_attempt_at = map(s.next_attempt_at);
    s
}

/// The permit code of an admission (see `acquireAt`), a refusal's code otherwise.
#[inline]
fn refusal_code(rejected: Rejected) -> f64 {
    match rejected {
        Rejected { may_wait: true, .. } => REJECTED_HALF_OPEN_WAIT,
        Rejected {
            state: State::HalfOpen,
            ..
        } => REJECTED_HALF_OPEN,
        Rejected {
            retry_after: None, ..
        } => REJECTED_FORCED,
        Rejected {
            retry_after: Some(wait),
            ..
        } => REJECTED_OPEN - millis(wait).ceil(),
    }
}

/// What `acquire` answers for a lease to send: the hot path then returns a Promise.
pub(crate) const LEASE: f64 = f64::NAN;

thread_local! {
    /// The lease `Entry::acquire` asked for, taken by the hot path (`hot::acquire_at`).
    static PENDING: RefCell<Option<(u32, f64, Lease, BreakerHandle)>> = const { RefCell::new(None) };
}

/// The lease the last `acquire` returned [`LEASE`] for: (id, token, lease, handle).
pub(crate) fn take_lease() -> Option<(u32, f64, Lease, BreakerHandle)> {
    PENDING.take()
}

thread_local! {
    /// The gates array (data, length; made by `hot::shared`): each breaker's quiet
    /// horizon and generation, written after every operation that can change them.
    static GATES: Cell<(*mut f64, usize)> = const { Cell::new((ptr::null_mut(), 0)) };
    /// The ring (made by `hot::shared`): quiet successes JS recorded without a crossing.
    static RING: Cell<*mut f64> = const { Cell::new(ptr::null_mut()) };
}

/// The bound gates array (data, length).
pub(crate) fn gates() -> (*mut f64, usize) {
    GATES.get()
}

/// Binds the gates array (a longer one as ids grow) and fills it in.
pub(crate) fn bind_gates(data: *mut f64, len: usize) {
    GATES.set((data, len));
    // Before the publishes below (they lock it): the old array is never written again.
    SHARED_GATES.with(|shared| *shared.lock() = (data as usize, len));
    with_slab(|slab| {
        for entry in slab.values_mut() {
            entry.publish(entry.published_at);
        }
    });
}

/// The environment is going: its gates array must not be written from other threads.
pub(crate) fn forget_gates() {
    SHARED_GATES.with(|shared| *shared.lock() = (0, 0));
}

/// Binds the ring of quiet successes.
pub(crate) fn bind_ring(data: *mut f64) {
    RING.set(data);
}

impl Entry {
    /// Tells JS until when this breaker is quiet (`Breaker::quiet_until`), in which
    /// generation, and how many failures ending before when can follow without a
    /// transition (`Breaker::quiet_failures`): while it is quiet, JS admits calls and
    /// queues successes within the quiet limit, and that many failures, in the ring
    /// instead of crossing.
    fn publish(&mut self, now: u64) {
        self.published_at = now;
        let (gates, len) = GATES.get();
        let at = self.id as usize * GATE;
        if at + GATE > len {
            return;
        }
        // A shared breaker's version before its horizon is read (see FleetGate::publish).
        let version = self
            .fleet
            .as_ref()
            .map(|f| f.gate.version.load(Ordering::Acquire));
        let (until, generation) = match &self.fleet {
            // Quiet only while unbounded: a bounded horizon (a rate rule) could end
            // with a sync from the background, and a quiet success must never be the
            // one that trips (its transition would go unreported).
            Some(fleet) => match fleet.handle.quiet_until() {
                (u64::MAX, generation) => (u64::MAX, generation),
                (_, generation) => (0, generation),
            },
            None => (self.breaker.quiet_until(now), self.breaker.generation()),
        };
        let until = gate_millis(until);
        // A shared breaker's failures all cross: the fleet decides.
        let (failures, failures_until) = match &self.fleet {
            Some(_) => (0, 0),
            None => self.breaker.quiet_failures(now),
        };
        // SAFETY: `hot::shared` made the array and keeps it alive; `at + 3 < len`.
        unsafe {
            *gates.add(at + 2) = f64::from(failures);
            *gates.add(at + 3) = gate_millis(failures_until);
        }
        if let (Some(fleet), Some(version)) = (&self.fleet, version) {
            fleet
                .gate
                .publish(self.id, version, until, generation as f64);
            return;
        }
        // SAFETY: as above.
        unsafe {
            *gates.add(at) = until;
            *gates.add(at + 1) = generation as f64;
        }
    }

    /// Records the outcome of a call admitted while quiet, in `generation` at `start`.
    #[inline]
    pub(crate) fn record_quiet(
        &mut self,
        generation: u64,
        start: u64,
        outcome_code: u32,
        now: u64,
    ) -> Result<u32> {
        let outcome = outcome(outcome_code)?;
        let permit = match &self.fleet {
            // The engine's generation now, not the gate's: a sync adopting the fleet's
            // state moves it without a transition (so without publishing again).
            Some(fleet) => {
                let h = &fleet.handle;
                h.quiet_permit(h.quiet_until().1, on_store(h, start))
            }
            None => self.breaker.quiet_permit(generation, start),
        };
        Ok(self.end(permit, outcome, now))
    }

    /// Records `permit`'s outcome and publishes; returns the transition code.
    fn end(&mut self, permit: Permit, outcome: Outcome, now: u64) -> u32 {
        let transition = match &self.fleet {
            Some(fleet) => fleet.handle.record(permit, outcome),
            None => self.breaker.record(permit, outcome, now),
        };
        self.publish(now);
        transition_code(transition)
    }

    #[inline]
    pub(crate) fn acquire(&mut self, now: u64) -> f64 {
        if self.fleet.is_some() {
            return self.acquire_shared();
        }
        match self.breaker.try_acquire(now) {
            Ok(permit) => {
                let code = self.permit_code(permit);
                self.publish(now);
                code
            }
            Err(rejected) => refusal_code(rejected),
        }
    }

    #[cold]
    fn acquire_shared(&mut self) -> f64 {
        let fleet = self.fleet.as_ref().expect("shared");
        match fleet.handle.try_acquire() {
            Admit::Permit(permit) => {
                let code = self.permit_code(permit);
                self.publish(crate::now_nanos());
                code
            }
            Admit::Rejected(rejected) => refusal_code(rejected),
            Admit::Lease(lease) => {
                PENDING.set(Some((self.id, fleet.token, lease, fleet.handle.clone())));
                LEASE
            }
        }
    }

    #[inline]
    fn permit_code(&mut self, permit: Permit) -> f64 {
        let half_opened = permit.transition().is_some();
        let slot = self.permits.get_or_insert_with(Box::default).insert(permit);
        f64::from(slot) * f64::from(PERMIT_STRIDE) + f64::from(u8::from(half_opened))
    }

    #[inline]
    pub(crate) fn record(&mut self, slot: u32, outcome_code: u32, now: u64) -> Result<u32> {
        let outcome = outcome(outcome_code)?;
        let permit = self
            .permits
            .as_mut()
            .and_then(|permits| permits.remove(slot))
            .ok_or_else(|| {
                Error::new(
                    Status::InvalidArg,
                    format!("permit {slot} is not outstanding"),
                )
            })?;
        Ok(self.end(permit, outcome, now))
    }
}

/// Applies the successes queued in the ring, in order. Runs before every other use
/// of the breakers, so the core sees every outcome in the order JS saw it. A quiet
/// success cannot change a state or shorten a quiet horizon (`Breaker::quiet_until`),
/// so the gates stay as published.
fn apply_ring(breakers: &mut Slab<Box<Entry>>) {
    let ring = RING.get();
    if ring.is_null() {
        return;
    }
    // SAFETY: `hot::shared` made the ring of 1 + RING_CAPACITY * RING_ENTRY numbers and
    // keeps it alive; JS never writes more than RING_CAPACITY.
    unsafe {
        let queued = (*ring as usize).min(RING_CAPACITY);
        *ring = 0.0;
        for k in 0..queued {
            let item = ring.add(1 + k * RING_ENTRY);
            if let Some(entry) = breakers.get_mut(*item as u32) {
                let (start, end) = (nanos(*item.add(2)), nanos(*item.add(3)));
                // Negative: a run of failures (within `quiet_failures`, never a shared
                // breaker's: `publish` gives those none).
                let calls = *item.add(4);
                let count = calls.abs() as u32;
                match &entry.fleet {
                    // Unbounded quiet (see `publish`): no transition to report.
                    Some(fleet) => {
                        let h = &fleet.handle;
                        let _ =
                            h.record_quiet_successes(on_store(h, start), on_store(h, end), count);
                    }
                    None if calls < 0.0 => {
                        entry
                            .breaker
                            .record_quiet_failures(*item.add(1) as u64, start, end, count);
                    }
                    None => {
                        entry.breaker.record_quiet_successes(
                            *item.add(1) as u64,
                            start,
                            end,
                            count,
                        );
                    }
                }
            }
        }
    }
}

thread_local! {
    /// The breakers of this thread (one JS environment), by id.
    ///
    /// Plain functions take the id (the hot path, `acquireAt` and `recordAt`, in
    /// `hot.rs`); the facade frees an entry with `release` once its breaker is
    /// collected. Entries are boxed: a `Vec` of ~250-byte entries doubling its
    /// capacity would hold up to twice that per breaker; a box is one allocation of
    /// the exact size.
    static BREAKERS: RefCell<Slab<Box<Entry>>> = const { RefCell::new(Slab::new()) };
}

/// Applies the queued quiet successes.
pub(crate) fn drain() -> Result<()> {
    with_slab(|_| Ok(()))
}

/// The breakers, their queued successes applied first.
fn with_slab<R>(f: impl FnOnce(&mut Slab<Box<Entry>>) -> R) -> R {
    BREAKERS.with_borrow_mut(|breakers| {
        apply_ring(breakers);
        f(breakers)
    })
}

fn insert(breaker: Breaker, now: u64) -> u32 {
    insert_entry(breaker, None, now)
}

fn insert_entry(breaker: Breaker, fleet: Option<Box<Fleet>>, now: u64) -> u32 {
    with_slab(|slab| {
        let mut entry = Box::new(Entry {
            id: slab.vacant(),
            published_at: now,
            breaker,
            permits: None,
            fleet,
        });
        entry.publish(now);
        slab.insert(entry)
    })
}

/// Adds a shared breaker (`fleet::create_shared`); returns its id. Its `breaker` is
/// a local one with the same configuration, for `settings` only.
pub(crate) fn insert_shared(
    handle: BreakerHandle,
    gate: Arc<FleetGate>,
    token: f64,
    store: RedisStore,
) -> u32 {
    let config = shared_config(*handle.config());
    let breaker = Breaker::with_shared_config(config).expect("the store accepted this config");
    let slot = Arc::clone(&gate);
    let id = insert_entry(
        breaker,
        Some(Box::new(Fleet {
            handle,
            gate,
            token,
            store,
        })),
        crate::now_nanos(),
    );
    slot.slot.store(id, Ordering::Release);
    id
}

/// Publishes breaker `id`'s quiet horizon again (after a transition found in the
/// background). Unknown ids are ignored.
#[napi]
pub fn republish(id: u32) {
    with_slab(|slab| {
        if let Some(e) = slab.get_mut(id) {
            e.publish(crate::now_nanos());
        }
    });
}

/// Runs `f` on breaker `id`'s store handle; `None` for a local breaker.
pub(crate) fn with_handle<R>(id: u32, f: impl FnOnce(&BreakerHandle) -> R) -> Result<Option<R>> {
    with(id, |e| e.fleet.as_ref().map(|fleet| f(&fleet.handle)))
}

/// A lease's answer, on the JS thread: a permit code (the permit kept in breaker
/// `id`'s slab) or a refusal code. A permit whose breaker is gone is cancelled.
pub(crate) fn place(id: u32, token: f64, handle: &BreakerHandle, result: LeaseResult) -> f64 {
    let permit = match result {
        Ok(permit) => permit,
        Err(rejected) => return refusal_code(rejected),
    };
    let placed = with_slab(|slab| match slab.get_mut(id) {
        Some(e) if e.fleet.as_ref().is_some_and(|f| f.token == token) => Ok(e.permit_code(permit)),
        _ => Err(permit),
    });
    placed.unwrap_or_else(|permit| {
        let _ = handle.record(permit, Outcome::Cancelled);
        REJECTED_HALF_OPEN
    })
}

fn gone(id: u32) -> Error {
    Error::new(Status::InvalidArg, format!("no breaker {id}"))
}

#[inline]
pub(crate) fn with_entry<R>(id: u32, f: impl FnOnce(&mut Entry) -> Result<R>) -> Result<R> {
    with_slab(|slab| match slab.get_mut(id) {
        Some(entry) => f(entry),
        None => Err(gone(id)),
    })
}

fn with<R>(id: u32, f: impl FnOnce(&mut Entry) -> R) -> Result<R> {
    with_entry(id, |e| Ok(f(e)))
}

/// A closed breaker from a JS options object; returns its id. Throws
/// `TypeError`/`RangeError` naming the option as spelled.
///
/// Breakers are owned by id, not by a napi class: the facade frees them with
/// [`release`] from a `FinalizationRegistry`. A class instance per breaker
/// (`napi_wrap`, its reference, type tag and finalizer) cost about 1 KB of native
/// memory each here, and its methods ~210 ns per call.
#[napi]
pub fn create(env: Env, options: Object, now_ms: Option<f64>) -> Result<u32> {
    let config = shared_config(config_from_js(&env, &options)?);
    let breaker = Breaker::with_shared_config_at(config, at(now_ms))
        .map_err(|e| crate::options::throw(&env, &e))?;
    external(&env, true);
    Ok(insert(breaker, at(now_ms)))
}

thread_local! {
    /// Breakers made in a row with equal options share their configuration.
    static CONFIGS: RefCell<ConfigShare> = RefCell::new(ConfigShare::default());
}

fn shared_config(config: Config) -> Arc<Config> {
    CONFIGS.with_borrow_mut(|configs| configs.share(config))
}

/// A breaker with `options` in the state of a snapshot (JSON text) taken by
/// [`snapshot`]; returns its id.
#[napi]
pub fn restore(env: Env, options: Object, snapshot: String, now_ms: Option<f64>) -> Result<u32> {
    let config = config_from_js(&env, &options)?;
    let snapshot: Snapshot = serde_json::from_str(&snapshot)
        .map_err(|e| Error::new(Status::InvalidArg, format!("cannot restore snapshot: {e}")))?;
    let breaker = Breaker::restore(config, &snapshot, at(now_ms))
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    external(&env, true);
    Ok(insert(breaker, at(now_ms)))
}

/// Native bytes a breaker holds, as V8 is told ([`external`]): its windows and
/// latency histogram live outside the JS heap, and V8 schedules the collections that
/// free them (through the facade's `FinalizationRegistry`) only if it knows.
const EXTERNAL_BYTES: i64 = 4096;

/// Tells V8 a breaker was made (`made`) or freed.
pub(crate) fn external(env: &Env, made: bool) {
    let mut total = 0;
    let delta = if made {
        EXTERNAL_BYTES
    } else {
        -EXTERNAL_BYTES
    };
    // SAFETY: `env` is the running call's.
    unsafe { napi::sys::napi_adjust_external_memory(env.raw(), delta, &mut total) };
}

/// Frees breaker `id` (its id may be reused). Unknown ids are ignored.
#[napi]
pub fn release(env: Env, id: u32) {
    if with_slab(|slab| slab.remove(id)).is_some() {
        external(&env, false);
    }
}

/// The effective state code (0 CLOSED, 1 OPEN, 2 HALF_OPEN).
#[napi]
pub fn state(id: u32, now_ms: Option<f64>) -> Result<u32> {
    with(id, |e| match &e.fleet {
        Some(fleet) => state_code(fleet.handle.state()),
        None => state_code(e.breaker.state(at(now_ms))),
    })
}

/// Manual control: 0 force open, 1 close, 2 reset, 3 disable, 4 enable, 5 trip
/// (timed open), 6 half-open.
/// Returns the transition code (never 0: a manual operation always reports one).
/// Permits still outstanding belong to the old generation; their slots stay
/// valid until recorded.
#[napi]
pub fn control(id: u32, op: u32, now_ms: Option<f64>) -> Result<u32> {
    let now = at(now_ms);
    with_entry(id, |e| {
        if let Some(fleet) = &e.fleet {
            let h = &fleet.handle;
            let transition = match op {
                OP_OPEN => h.force_open(),
                OP_CLOSE => h.close(),
                OP_RESET => h.reset(),
                OP_DISABLE => h.disable(),
                OP_ENABLE => h.enable(),
                OP_TRIP => h.trip(),
                OP_HALF_OPEN => h.half_open(),
                _ => {
                    return Err(Error::new(
                        Status::InvalidArg,
                        format!("unknown operation {op}"),
                    ))
                }
            };
            e.publish(now);
            return Ok(transition_code(Some(transition)));
        }
        let transition = match op {
            OP_OPEN => e.breaker.force_open(now),
            OP_CLOSE => e.breaker.close(now),
            OP_RESET => e.breaker.reset(now),
            OP_DISABLE => e.breaker.disable(now),
            OP_ENABLE => e.breaker.enable(now),
            OP_TRIP => e.breaker.trip(now),
            OP_HALF_OPEN => e.breaker.half_open(now),
            _ => {
                return Err(Error::new(
                    Status::InvalidArg,
                    format!("unknown operation {op}"),
                ))
            }
        };
        e.publish(now);
        Ok(transition_code(Some(transition)))
    })
}

/// When the facade's half-open timer should fire (ms), or null for no timer
/// (`Breaker::half_open_due`).
#[napi]
pub fn half_open_at(id: u32) -> Result<Option<f64>> {
    with(id, |e| e.breaker.half_open_due().map(millis))
}

/// What the half-open timer does at `now`: the transition code (0 for none).
#[napi]
pub fn elapse(id: u32, now_ms: Option<f64>) -> Result<u32> {
    let now = at(now_ms);
    with(id, |e| {
        let transition = e.breaker.elapse(now);
        e.publish(now);
        transition_code(transition)
    })
}

/// The windowed statistics, or null without `windowStats`.
#[napi]
pub fn window_stats(id: u32, now_ms: Option<f64>) -> Result<Option<NativeWindowStats>> {
    with(id, |e| {
        e.breaker
            .window_stats(at(now_ms))
            .map(|w| NativeWindowStats {
                bucket_width: millis(w.bucket_width),
                buckets: w.buckets.into_iter().map(NativeBucket::from).collect(),
                total: w.total.into(),
                latency_mean: w.latency_mean / NANOS_PER_MS,
                quantiles: tripwire_core::PERCENTILES.to_vec(),
                percentiles: w.percentiles.iter().map(|p| p.map(millis)).collect(),
            })
    })
}

/// Counts a fallback the facade ran (windowed statistics only).
#[napi]
pub fn record_fallback(id: u32, now_ms: Option<f64>) -> Result<()> {
    with(id, |e| e.breaker.record_fallback(at(now_ms)))
}

/// Counters, rates and timings.
#[napi]
pub fn stats(id: u32, now_ms: Option<f64>) -> Result<NativeStats> {
    with(id, |e| match &e.fleet {
        Some(fleet) => fleet_stats(&fleet.handle).into(),
        None => e.breaker.stats(at(now_ms)).into(),
    })
}

/// Permits handed out and not yet recorded.
#[napi]
pub fn outstanding(id: u32) -> Result<u32> {
    with(id, |e| e.permits.as_ref().map_or(0, |p| p.len() as u32))
}

/// The whole state as JSON text, for [`restore`].
#[napi]
pub fn snapshot(id: u32, now_ms: Option<f64>) -> Result<String> {
    with_entry(id, |e| {
        if e.fleet.is_some() {
            return Err(Error::new(
                Status::InvalidArg,
                "a shared breaker has no snapshot: its state lives in the store",
            ));
        }
        serde_json::to_string(&e.breaker.snapshot(at(now_ms)))
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
    })
}

/// The resolved configuration, defaults applied.
#[napi]
pub fn settings(id: u32) -> Result<NativeSettings> {
    with(id, |e| settings_of(e.breaker.config()))
}

/// Breakers alive on this thread (for leak tests).
#[napi]
pub fn live_breakers() -> u32 {
    with_slab(|slab| slab.len() as u32)
}

/// What the service engine reads of breaker `id` (a closed, empty breaker once freed).
pub(crate) fn facts(id: u32, now: u64) -> Facts {
    with_slab(|slab| {
        slab.get_mut(id).map(|e| match &e.fleet {
            // The fleet's state and window (`breaker` only holds the configuration).
            Some(fleet) => {
                let s = fleet.handle.stats();
                Facts {
                    state: s.state,
                    forced_open: s.forced_open,
                    window_calls: s.window_calls,
                    window_failures: s.window_failures,
                }
            }
            None => e.breaker.facts(now),
        })
    })
    .unwrap_or(Facts {
        state: State::Closed,
        forced_open: false,
        window_calls: 0,
        window_failures: 0,
    })
}

/// What metrics show of breaker `id` at `now`, or `None` once it is freed.
pub(crate) fn sample(
    id: u32,
    now: u64,
) -> Option<(Stats, tripwire_core::Lifetime, tripwire_core::Durations)> {
    with_slab(|slab| {
        slab.get_mut(id).map(|e| {
            let stats = match &e.fleet {
                Some(fleet) => fleet_stats(&fleet.handle),
                None => e.breaker.stats(now),
            };
            (stats, e.breaker.lifetime(), e.breaker.durations())
        })
    })
}

/// Adds a breaker the service engine configured; returns its id.
pub(crate) fn adopt(breaker: Breaker, now: u64) -> u32 {
    insert(breaker, now)
}

/// Runs breaker `id` on a new configuration, keeping its state (`Breaker::reconfigure`).
/// A shared breaker joins its fleet again with it, as a new member (the fleet compares
/// trip rules: the state is the fleet's), as Python's service breakers do.
pub(crate) fn reconfigure(id: u32, config: Arc<Config>, now: u64) -> Result<()> {
    with_entry(id, |e| {
        if let Some(fleet) = &mut e.fleet {
            let name = fleet.handle.name().to_string();
            let gate = Arc::clone(&fleet.gate);
            fleet.handle =
                crate::fleet::join(&fleet.store, *config, name, gate, fleet.token, |e| {
                    Error::new(Status::InvalidArg, e.to_string())
                })?;
        }
        e.breaker
            .reconfigure(config)
            .map_err(|error| Error::new(Status::InvalidArg, error.to_string()))?;
        e.publish(now);
        Ok(())
    })
}

/// A permit code of breaker `id` at `now` (see `acquireAt`).
pub(crate) fn acquire(id: u32, now: u64) -> Result<f64> {
    with_entry(id, |e| Ok(e.acquire(now)))
}

/// Records the outcome of a call admitted while breaker `id` was quiet, in
/// `generation` at `start`; the transition code.
pub(crate) fn record_quiet(
    id: u32,
    generation: u64,
    start: u64,
    outcome_code: u32,
    now: u64,
) -> Result<u32> {
    with_entry(id, |e| e.record_quiet(generation, start, outcome_code, now))
}

/// Records permit `slot`'s outcome on breaker `id`; the transition code.
pub(crate) fn record(id: u32, slot: u32, outcome_code: u32, now: u64) -> Result<u32> {
    with_entry(id, |e| e.record(slot, outcome_code, now))
}

pub(crate) fn settings_of(config: &Config) -> NativeSettings {
    let (failure_threshold, rate_threshold) = match config.failure_threshold {
        Threshold::Count(n) => (f64::from(n), false),
        Threshold::Rate(r) => (r, true),
    };
    let (monitoring_window, window_buckets, count_window) = match config.window {
        WindowKind::Time { duration, buckets } => (Some(millis(duration)), Some(buckets), None),
        WindowKind::Count { size } => (None, None, Some(size)),
    };
    let (backoff_multiplier, max_recovery_timeout, backoff_jitter) = match config.backoff {
        Backoff::Fixed => (None, None, None),
        Backoff::Exponential {
            multiplier,
            max,
            jitter,
        } => (Some(multiplier), Some(millis(max)), Some(jitter)),
    };
    NativeSettings {
        failure_threshold,
        rate_threshold,
        minimum_requests: config.effective_minimum_requests(),
        recovery_timeout: millis(config.open_duration),
        request_timeout: config.call_timeout.map(millis),
        quiet_limit: Some(config.quiet_limit())
            .filter(|&limit| limit != u64::MAX)
            .map(|limit| millis(limit.saturating_sub(2))),
        success_threshold: config.success_threshold,
        half_open_max_calls: config.half_open_max_calls,
        monitoring_window,
        count_window,
        expected_response_time: config.slow_call_duration.map(millis),
        slow_call_rate_threshold: config.slow_call_rate_threshold,
        window_buckets,
        backoff_multiplier,
        max_recovery_timeout,
        backoff_jitter,
        seed: config.seed as f64,
        ignored_as_success: config.ignored_as_success,
        strict_rate_threshold: config.strict_rate_threshold,
        rejects_in_rate: config.rejects_in_rate,
        keep_window: config.keep_window,
        half_open_timer: config.half_open_timer,
        half_open_wait: config.half_open_wait,
        window_stats: config.window_stats,
    }
}

/// Whether the permit in `slot` is a half-open trial (`undefined` if not outstanding).
#[napi]
pub fn permit_trial(id: u32, slot: u32) -> Result<Option<bool>> {
    with(id, |e| {
        e.permits
            .as_mut()
            .and_then(|permits| permits.get_mut(slot))
            .map(|permit| permit.is_trial())
    })
}
