//! The store's two threads: the I/O thread (flushes, reads, leases: one pipeline per
//! round on one connection) and the subscriber (one pub/sub connection, turning
//! published transitions into reads). Both hold the store weakly and end when it is
//! gone or closed. Every lock they take is taken inside [`fork::gate`], and they call
//! the binding's code only outside it.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use redis::Value as RedisValue;
use tripwire_core::fleet::{LinkEvent, Script, StoreCall, StoreError, Value};
use tripwire_core::Transition;

use crate::conn::{Conn, FdSlot, StoreFault};
use crate::{fork, guarded, lock, random_u64, Done, Inner, LeaseResult, PendingLease, Shared};

fn shas() -> &'static [String; 3] {
    static SHAS: OnceLock<[String; 3]> = OnceLock::new();
    SHAS.get_or_init(|| Script::ALL.map(|s| redis::Script::new(s.source()).get_hash().into()))
}

fn packed(call: &StoreCall, eval: bool) -> Vec<u8> {
    let index = Script::ALL
        .iter()
        .position(|s| *s == call.script)
        .unwrap_or(0);
    let mut cmd = if eval {
        let mut c = redis::cmd("EVAL");
        c.arg(call.script.source());
        c
    } else {
        let mut c = redis::cmd("EVALSHA");
        c.arg(&shas()[index]);
        c
    };
    cmd.arg(3)
        .arg(&call.keys[..])
        .arg(&call.args[..])
        .get_packed_command()
}

enum Answer {
    Items(Vec<Value>),
    NoScript,
    Fault(StoreFault),
}

fn answer(reply: RedisValue) -> Answer {
    match reply {
        RedisValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    RedisValue::Int(i) => Value::Int(i),
                    RedisValue::BulkString(b) => Value::Data(b),
                    _ => {
                        return Answer::Fault(StoreFault::new(
                            StoreError::BadReply,
                            "a script's reply is not a flat array",
                        ))
                    }
                });
            }
            Answer::Items(out)
        }
        RedisValue::ServerError(e) if e.code() == "NOSCRIPT" => Answer::NoScript,
        RedisValue::ServerError(e) => Answer::Fault(StoreFault::new(
            StoreError::Unavailable,
            format!(
                "the store refused a script: {} {}",
                e.code(),
                e.details().unwrap_or("")
            ),
        )),
        _ => Answer::Fault(StoreFault::new(
            StoreError::BadReply,
            "a script's reply is not an array",
        )),
    }
}

/// One store call of a round, and who its reply goes to.
enum Job {
    Flush(Arc<Shared>, StoreCall),
    Lease(PendingLease),
}

impl Job {
    fn call(&self) -> &StoreCall {
        match self {
            Job::Flush(_, c) => c,
            Job::Lease(l) => &l.call.call,
        }
    }
}

/// What a round hands to the binding's code once the locks are released.
#[derive(Default)]
struct Deliveries {
    transitions: Vec<(Arc<Shared>, Transition)>,
    links: Vec<(Arc<Shared>, LinkEvent)>,
    errors: Vec<(Arc<Shared>, tripwire_core::fleet::FleetError)>,
    leases: Vec<(Done, LeaseResult)>,
}

struct IoState {
    conn: Option<Conn>,
    connected_before: bool,
    resync: bool,
    next_poll: Instant,
    // Breakers in local mode: an outage episode lasts while there is one.
    local: usize,
    last_fault: Option<StoreFault>,
}

fn jittered(base: Duration, salt: u64) -> Duration {
    // ±25 %, so that a fleet's polls spread out.
    let r = (random_u64(salt) % 1000) as f64 / 1000.0;
    base.mul_f64(0.75 + 0.5 * r)
}

/// The I/O thread: sleeps until the flush interval passes or something wakes it (a
/// failure, a lease, a pub/sub message), then runs one round.
pub(crate) fn io_main(weak: Weak<Inner>, slot: Arc<FdSlot>) {
    let mut st = IoState {
        conn: None,
        connected_before: false,
        resync: false,
        next_poll: Instant::now(),
        local: 0,
        last_fault: None,
    };
    let mut next_tick = Instant::now();
    let mut rounds = 0u64;
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let closing = inner.closed.load(Ordering::Acquire);
        let now = Instant::now();
        let woken = inner.wake.swap(false, Ordering::AcqRel);
        if !closing && !woken && now < next_tick {
            drop(inner);
            std::thread::park_timeout(next_tick - now);
            continue;
        }
        if now >= next_tick {
            let interval = inner.options.flush_interval;
            // With no interval (a flush after every outcome) the tick still runs the
            // polls and the local mode's probes.
            next_tick = now
                + if interval.is_zero() {
                    Duration::from_millis(100)
                } else {
                    interval
                };
        }
        let poll = now >= st.next_poll;
        if poll {
            rounds += 1;
            st.next_poll = now + jittered(inner.options.poll_interval, rounds);
        }
        round(&inner, &mut st, &slot, poll);
        if closing {
            finish(&inner, &mut st);
            return;
        }
    }
}

/// Collects every breaker's store call (and the queued leases), sends them as one
/// pipeline, hands the replies back, then delivers the events.
fn round(inner: &Arc<Inner>, st: &mut IoState, slot: &Arc<FdSlot>, poll: bool) {
    let mut jobs = Vec::new();
    let mut late = Vec::new();
    {
        let _gate = fork::gate();
        let now = inner.now();
        let queued = lock(&inner.leases).as_mut().map(std::mem::take);
        let sync = poll || std::mem::take(&mut st.resync);
        let mut registry = lock(&inner.registry);
        let before = registry.len();
        registry.retain(|s| {
            let mut f = lock(&s.fleet);
            if sync || s.want_sync.swap(false, Ordering::AcqRel) {
                f.request_sync();
            }
            let call = f.flush_request(now);
            // Only the registry holds it: the binding dropped every handle.
            let orphan = Arc::strong_count(s) == 1;
            let keep = !orphan || call.is_some() || f.in_flight();
            if let Some(call) = call {
                jobs.push(Job::Flush(s.clone(), call));
            }
            if !keep && s.down.swap(false, Ordering::AcqRel) {
                st.local = st.local.saturating_sub(1);
            }
            keep
        });
        if registry.len() != before {
            inner.channels.fetch_add(1, Ordering::AcqRel);
        }
        // Leases after the flushes: a transition this process made (a forced
        // half-open) reaches the store before the lease of the trial it admits.
        let at = Instant::now();
        for l in queued.into_iter().flatten() {
            // Waited a whole timeout behind an earlier round: answered without sending.
            if l.deadline <= at {
                late.push(Job::Lease(l));
            } else {
                jobs.push(Job::Lease(l));
            }
        }
    }
    let mut results: Vec<Result<Vec<Value>, StoreFault>> = Vec::with_capacity(jobs.len());
    if !jobs.is_empty() {
        results = exec(inner, st, slot, &jobs);
    }
    let timeout = StoreFault::new(StoreError::Timeout, "a lease waited a whole timeout");
    for job in late {
        jobs.push(job);
        results.push(Err(timeout.clone()));
    }
    if jobs.is_empty() {
        return;
    }
    let out = complete(inner, jobs, results);
    deliver(inner, st, out);
}

/// Sends the calls (EVALSHA; EVAL for those the store answered NOSCRIPT), each round
/// within the timeout, connecting first if needed. Any I/O error drops the connection:
/// every call of the round fails (no retry), and the next round connects again.
fn exec(
    inner: &Inner,
    st: &mut IoState,
    slot: &Arc<FdSlot>,
    jobs: &[Job],
) -> Vec<Result<Vec<Value>, StoreFault>> {
    let timeout = inner.options.timeout;
    let deadline = Instant::now() + timeout;
    let fail = |st: &mut IoState, mut f: StoreFault| {
        if f.error == StoreError::Timeout {
            f.message = format!("{} (timeout {} ms)", f.message, timeout.as_millis());
        }
        st.conn = None;
        st.last_fault = Some(f.clone());
        vec![Err(f); jobs.len()]
    };
    if st.conn.is_none() {
        match Conn::open(&inner.info, deadline, slot) {
            Ok(c) => {
                st.conn = Some(c);
                // Messages may have been missed while disconnected: read every state
                // again at the next round.
                if st.connected_before {
                    st.resync = true;
                    inner.wake.store(true, Ordering::Release);
                }
                st.connected_before = true;
            }
            Err(f) => return fail(st, f),
        }
    }
    let conn = st.conn.as_mut().expect("connected");
    let commands: Vec<Vec<u8>> = jobs.iter().map(|j| packed(j.call(), false)).collect();
    let replies = match conn.round(&commands, deadline) {
        Ok(r) => r,
        Err(f) => return fail(st, f),
    };
    let mut results = Vec::with_capacity(jobs.len());
    let mut missing = Vec::new();
    for (i, reply) in replies.into_iter().enumerate() {
        results.push(match answer(reply) {
            Answer::Items(items) => Ok(items),
            Answer::Fault(f) => Err(f),
            Answer::NoScript => {
                missing.push(i);
                Err(StoreFault::new(StoreError::Unavailable, "NOSCRIPT"))
            }
        });
    }
    if !missing.is_empty() {
        // The script cache is empty (a restart, SCRIPT FLUSH): EVAL loads them.
        let commands: Vec<Vec<u8>> = missing
            .iter()
            .map(|&i| packed(jobs[i].call(), true))
            .collect();
        match conn.round(&commands, Instant::now() + timeout) {
            Ok(replies) => {
                for (&i, reply) in missing.iter().zip(replies) {
                    results[i] = match answer(reply) {
                        Answer::Items(items) => Ok(items),
                        Answer::Fault(f) => Err(f),
                        Answer::NoScript => Err(StoreFault::new(
                            StoreError::Unavailable,
                            "NOSCRIPT after EVAL",
                        )),
                    };
                }
            }
            Err(f) => {
                st.conn = None;
                for &i in &missing {
                    results[i] = Err(f.clone());
                }
            }
        }
    }
    if let Some(Err(f)) = results.iter().find(|r| r.is_err()) {
        st.last_fault = Some(f.clone());
    }
    results
}

/// Hands every reply (or error) back to its breaker, under the locks.
fn complete(
    inner: &Inner,
    jobs: Vec<Job>,
    results: Vec<Result<Vec<Value>, StoreFault>>,
) -> Deliveries {
    let mut out = Deliveries::default();
    let _gate = fork::gate();
    let now = inner.now();
    for (job, result) in jobs.into_iter().zip(results) {
        let reply = result.as_deref().map_err(|f| f.error.clone());
        match job {
            Job::Flush(s, _) => {
                let mut f = lock(&s.fleet);
                match f.complete(reply, now) {
                    Ok(c) => {
                        if !c.transitions.is_empty() || c.link.is_some() {
                            if let Some(ev) = &s.events {
                                guarded(|| ev.changing());
                            }
                        }
                        out.transitions
                            .extend(c.transitions.into_iter().map(|t| (s.clone(), t)));
                        out.links.extend(c.link.map(|l| (s.clone(), l)));
                        if c.flush_now {
                            inner.wake.store(true, Ordering::Release);
                        }
                    }
                    Err(e) => {
                        *lock(&s.error) = Some(e.clone());
                        out.errors.push((s.clone(), e));
                    }
                }
                if result.is_ok() {
                    s.last_sync.store(now + 1, Ordering::Release);
                }
            }
            Job::Lease(l) => {
                let s = l.shared;
                let mut f = lock(&s.fleet);
                let r = f.lease_reply(l.call.ticket, reply, now);
                let links = f.take_link_events();
                if !links.is_empty() {
                    if let Some(ev) = &s.events {
                        guarded(|| ev.changing());
                    }
                }
                out.links.extend(links.into_iter().map(|e| (s.clone(), e)));
                if result.is_ok() {
                    s.last_sync.store(now + 1, Ordering::Release);
                }
                out.leases.push((l.done, r));
            }
        }
    }
    out
}

/// Calls the binding's code, outside every lock: lease answers first (a call waits on
/// them), then events; the store's outage episodes from the breakers' link changes.
fn deliver(inner: &Inner, st: &mut IoState, out: Deliveries) {
    for (done, r) in out.leases {
        guarded(|| done(r));
    }
    for (s, t) in out.transitions {
        if let Some(ev) = &s.events {
            guarded(|| ev.transition(t));
        }
    }
    for (s, e) in out.errors {
        if let Some(ev) = &s.events {
            guarded(|| ev.fleet_error(&e));
        }
    }
    for (s, link) in out.links {
        if let Some(ev) = &s.events {
            guarded(|| ev.link(link));
        }
        let down = link == LinkEvent::StoreDown;
        if s.down.swap(down, Ordering::AcqRel) == down {
            continue;
        }
        if down {
            st.local += 1;
            if st.local == 1 {
                if let Some(ev) = &inner.events {
                    let fault = st.last_fault.clone().unwrap_or_else(|| {
                        StoreFault::new(StoreError::Unavailable, "the store failed")
                    });
                    guarded(|| ev.store_down(&fault));
                }
            }
        } else {
            st.local = st.local.saturating_sub(1);
            if st.local == 0 {
                if let Some(ev) = &inner.events {
                    guarded(|| ev.store_up());
                }
            }
        }
    }
}

/// After the last round of a closed store: answer the leases queued since, and take
/// no more.
fn finish(inner: &Inner, st: &mut IoState) {
    let queued = {
        let _gate = fork::gate();
        lock(&inner.leases).take().unwrap_or_default()
    };
    if queued.is_empty() {
        return;
    }
    let closed = StoreFault::new(StoreError::Unavailable, "the store is closed");
    let results = vec![Err(closed); queued.len()];
    let jobs = queued.into_iter().map(Job::Lease).collect();
    let out = complete(inner, jobs, results);
    deliver(inner, st, out);
}

/// The subscriber thread: one connection subscribed to every registered breaker's
/// channel; a message (or the subscription's confirmation) asks its breakers for a read
/// and wakes the I/O thread. After a reconnect every breaker reads again (messages may
/// have been lost).
pub(crate) fn sub_main(weak: Weak<Inner>, slot: Arc<FdSlot>, io: Thread) {
    let mut conn: Option<Conn> = None;
    let mut subscribed: HashSet<String> = HashSet::new();
    let mut seen = u64::MAX;
    let mut connected_before = false;
    loop {
        let wait;
        {
            let Some(inner) = weak.upgrade() else { return };
            if inner.closed.load(Ordering::Acquire) {
                return;
            }
            // How long a read waits before the subscriptions are checked again.
            wait = inner
                .options
                .flush_interval
                .clamp(Duration::from_millis(10), Duration::from_millis(250));
            if conn.is_none() {
                let deadline = Instant::now() + inner.options.timeout;
                match Conn::open(&inner.info, deadline, &slot) {
                    Ok(c) => {
                        conn = Some(c);
                        subscribed.clear();
                        seen = u64::MAX;
                        if connected_before {
                            sync_all(&inner, &io);
                        }
                        connected_before = true;
                    }
                    Err(_) => {
                        // The I/O thread reports outages; here, try again later.
                        drop(inner);
                        std::thread::sleep(wait);
                        continue;
                    }
                }
            }
            let version = inner.channels.load(Ordering::Acquire);
            if version != seen {
                let want: HashSet<String> = {
                    let _gate = fork::gate();
                    lock(&inner.registry)
                        .iter()
                        .map(|s| s.channel.clone())
                        .collect()
                };
                let mut commands = Vec::new();
                let add: Vec<&String> = want.difference(&subscribed).collect();
                let remove: Vec<&String> = subscribed.difference(&want).collect();
                for chunk in add.chunks(512) {
                    commands.push(redis::cmd("SUBSCRIBE").arg(chunk).get_packed_command());
                }
                for chunk in remove.chunks(512) {
                    commands.push(redis::cmd("UNSUBSCRIBE").arg(chunk).get_packed_command());
                }
                let c = conn.as_mut().expect("connected");
                if c.send(&commands, Instant::now() + inner.options.timeout)
                    .is_err()
                {
                    conn = None;
                    continue;
                }
                subscribed = want;
                seen = version;
            }
        }
        let c = conn.as_mut().expect("connected");
        match c.read(Instant::now() + wait) {
            Ok(RedisValue::Array(items)) => {
                if let [RedisValue::BulkString(kind), RedisValue::BulkString(channel), _] =
                    &items[..]
                {
                    // A subscription's confirmation too: a transition published
                    // between a breaker's join and its subscription is read now, not
                    // at the next poll.
                    if kind == b"message" || kind == b"subscribe" {
                        let Some(inner) = weak.upgrade() else { return };
                        let mut any = false;
                        {
                            let _gate = fork::gate();
                            for s in lock(&inner.registry).iter() {
                                if s.channel.as_bytes() == &channel[..] {
                                    s.want_sync.store(true, Ordering::Release);
                                    any = true;
                                }
                            }
                        }
                        if any {
                            inner.wake.store(true, Ordering::Release);
                            io.unpark();
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(f) if f.error == StoreError::Timeout => {}
            Err(_) => conn = None,
        }
    }
}

fn sync_all(inner: &Inner, io: &Thread) {
    {
        let _gate = fork::gate();
        for s in lock(&inner.registry).iter() {
            s.want_sync.store(true, Ordering::Release);
        }
    }
    inner.wake.store(true, Ordering::Release);
    io.unpark();
}
