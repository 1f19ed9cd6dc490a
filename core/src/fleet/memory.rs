//! The store's reference semantics: an in-memory store that runs the same operations
//! the Lua scripts run, on the same arguments, with the same replies. Tests compare
//! the two against a real redis-server; the fleet model test runs on this one.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use super::wire::{Script, StoreCall, Value};

#[derive(Clone, Debug, Default)]
struct Entry {
    // The hash's fields, as the scripts name them.
    g: u64,
    s: u64,
    m: u64,
    ou: u64,
    tr: u64,
    cf: u64,
    cs: u64,
    fs: u64,
    b: u64,
    totals: [u64; 6],
    fp: String,
    // Count window: runs (flags, count) oldest first, and their totals.
    runs: VecDeque<(u64, u64)>,
    wc: u64,
    wf: u64,
    ws: u64,
    // Time window: epoch -> (calls, failures, slow).
    buckets: BTreeMap<u64, [u64; 3]>,
    // Lease id -> expiry (µs).
    leases: BTreeMap<String, u64>,
    expires_at: u64,
}

/// An in-memory fleet store with exactly the scripts' semantics (key TTLs included).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    entries: BTreeMap<String, Entry>,
    /// The store's clock in µs, used when a call does not inject `now` (`ARGV[1]` empty).
    pub now: u64,
    /// Every `PUBLISH` made, as (channel, message).
    pub published: Vec<(String, String)>,
}

/// A call the in-memory store cannot parse (the scripts would raise a Lua error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedCall(pub &'static str);

fn numbers(s: &str) -> Result<Vec<u64>, MalformedCall> {
    s.split_ascii_whitespace()
        .map(|w| w.parse().map_err(|_| MalformedCall("a number")))
        .collect()
}

fn signed(s: &str) -> Result<i64, MalformedCall> {
    s.parse().map_err(|_| MalformedCall("a generation"))
}

enum Shape {
    Count(u64),
    Time(u64, u64),
}

impl MemoryStore {
    /// An empty store whose clock reads 0.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// How many breakers the store holds (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds no breaker.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops every key: what a restart of a store without persistence does.
    pub fn flush_all(&mut self) {
        self.entries.clear();
    }

    /// Runs `call` as its script would, and answers what the script answers.
    pub fn call(&mut self, call: &StoreCall) -> Result<Vec<Value>, MalformedCall> {
        let a = &call.args;
        let arg = |i: usize| a.get(i).map(String::as_str).ok_or(MalformedCall("ARGV"));
        let now = match arg(0)? {
            "" => self.now,
            t => t.parse().map_err(|_| MalformedCall("now"))?,
        };
        let ttl_ms = arg(1)?.parse::<u64>().map_err(|_| MalformedCall("ttl"))?;
        let shape = {
            let w = numbers(arg(2)?.get(1..).unwrap_or(""))?;
            match (arg(2)?.as_bytes().first(), w.as_slice()) {
                (Some(b'c'), [size]) => Shape::Count(*size),
                (Some(b't'), [width, buckets]) => Shape::Time(*width, *buckets),
                _ => return Err(MalformedCall("window")),
            }
        };
        let key = call.keys[0].clone();
        let fresh = Entry {
            b: now,
            ..Entry::default()
        };
        let (mut e, made) = match self.entries.remove(&key) {
            Some(e) if e.expires_at > now => (e, false),
            _ => (fresh, true),
        };
        let cur = match shape {
            Shape::Time(width, buckets) => {
                let cur = now / width;
                e.buckets.retain(|epoch, _| epoch + buckets > cur);
                cur
            }
            Shape::Count(_) => 0,
        };
        let channel = alloc::format!("{}:events", call.keys[0]);
        let mut extra = None;
        let result = match call.script {
            Script::Read => {
                let mine = arg(3)?;
                let start = numbers(a.get(4).map_or("", String::as_str))?;
                match start.as_slice() {
                    [] => {}
                    [s, open_for, trips] if made => {
                        self.enter(&mut e, &channel, now, *s, 0, *open_for, *trips, 0, false)
                    }
                    [_, _, _] => {}
                    _ => return Err(MalformedCall("start")),
                }
                if e.fp.is_empty() {
                    e.fp = mine.into();
                }
                if e.fp == mine {
                    1
                } else {
                    extra = Some(e.fp.clone());
                    0
                }
            }
            Script::Flush => {
                let gen = signed(arg(3)?)?;
                let runs = numbers(arg(4)?)?;
                let t = numbers(arg(5)?)?;
                if t.len() != 6 {
                    return Err(MalformedCall("totals"));
                }
                for (total, add) in e.totals.iter_mut().zip(&t) {
                    *total += add;
                }
                for id in arg(6)?.split_ascii_whitespace() {
                    e.leases.remove(id);
                }
                if gen == e.g as i64 {
                    for run in runs.chunks(3) {
                        let [flags, n, age] = run else {
                            return Err(MalformedCall("runs"));
                        };
                        add_run(&mut e, &shape, now, cur, *flags, *n, *age);
                    }
                }
                let tr = numbers(arg(7)?)?;
                match tr.as_slice() {
                    [] => 0,
                    [expected, s, m, open_for, trips, flags, streak] => {
                        if *expected == e.g {
                            let (clear, mode_only) = (flags % 2 == 1, *flags >= 2);
                            if mode_only {
                                e.g += 1;
                                e.m = *m;
                                let msg = alloc::format!("{} {} {}", e.g, e.s, m);
                                self.published.push((channel.clone(), msg));
                            } else {
                                self.enter(
                                    &mut e, &channel, now, *s, *m, *open_for, *trips, *streak,
                                    clear,
                                );
                            }
                            1
                        } else {
                            2
                        }
                    }
                    _ => return Err(MalformedCall("transition")),
                }
            }
            Script::Lease => {
                let gen = signed(arg(3)?)?;
                let id = arg(4)?;
                let lease_ttl: u64 = arg(5)?.parse().map_err(|_| MalformedCall("lease ttl"))?;
                let max: u64 = arg(6)?.parse().map_err(|_| MalformedCall("max"))?;
                let mut granted = 0;
                if gen == e.g as i64 && e.m == 0 {
                    if e.s == 1 && now >= e.ou {
                        let (trips, streak) = (e.tr, e.fs);
                        self.enter(&mut e, &channel, now, 2, 0, 0, trips, streak, false);
                    }
                    e.leases.retain(|_, exp| *exp > now);
                    if e.s == 2 && (e.leases.len() as u64) < max {
                        e.leases.insert(id.into(), now + lease_ttl);
                        granted = 1;
                    }
                }
                granted
            }
        };
        // finish()
        e.leases.retain(|_, exp| *exp > now);
        e.expires_at = now.saturating_add(ttl_ms.saturating_mul(1000));
        let remaining = if e.s == 1 && e.m == 0 && e.ou > now {
            e.ou - now
        } else {
            0
        };
        let mut r: Vec<u64> = alloc::vec![
            e.g,
            e.s,
            e.m,
            remaining,
            e.tr,
            e.cf,
            e.cs,
            e.fs,
            e.leases.len() as u64,
            result,
            e.b
        ];
        r.extend_from_slice(&e.totals);
        match shape {
            Shape::Time(width, _) => {
                r.push(now % width);
                r.push(e.buckets.len() as u64);
                for (epoch, c) in &e.buckets {
                    r.push(cur.wrapping_sub(*epoch));
                    r.extend_from_slice(c);
                }
            }
            Shape::Count(_) => {
                r.push(e.runs.len() as u64);
                for (flags, n) in &e.runs {
                    r.push(*flags);
                    r.push(*n);
                }
            }
        }
        let mut out: Vec<Value> = r.into_iter().map(|v| Value::Int(v as i64)).collect();
        if let Some(fp) = extra {
            out.push(Value::Data(fp.into_bytes()));
        }
        self.entries.insert(key, e);
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn enter(
        &mut self,
        e: &mut Entry,
        channel: &str,
        now: u64,
        s: u64,
        m: u64,
        open_for: u64,
        trips: u64,
        streak: u64,
        clear_totals: bool,
    ) {
        e.g += 1;
        e.s = s;
        e.m = m;
        e.ou = if s == 1 && m == 0 { now + open_for } else { 0 };
        e.tr = trips;
        e.fs = streak;
        e.cf = 0;
        e.cs = 0;
        if s != 1 {
            e.runs.clear();
            (e.wc, e.wf, e.ws) = (0, 0, 0);
            e.buckets.clear();
        }
        e.leases.clear();
        if clear_totals {
            e.totals = [0; 6];
        }
        self.published
            .push((channel.into(), alloc::format!("{} {} {}", e.g, s, m)));
    }
}

fn add_run(e: &mut Entry, shape: &Shape, now: u64, cur: u64, flags: u64, n: u64, age: u64) {
    let (failed, slow) = (flags % 2 == 1, flags >= 2);
    if failed {
        e.cf += n;
        e.fs += n;
        e.cs = 0;
    } else {
        e.cs += n;
        e.cf = 0;
        e.fs = 0;
    }
    match *shape {
        Shape::Time(width, buckets) => {
            let epoch = now.saturating_sub(age) / width;
            if epoch + buckets <= cur {
                return;
            }
            let b = e.buckets.entry(epoch).or_default();
            b[0] += n;
            b[1] += if failed { n } else { 0 };
            b[2] += if slow { n } else { 0 };
        }
        Shape::Count(size) => {
            let n = n.min(size);
            let mut evict = (e.wc + n).saturating_sub(size);
            while evict > 0 {
                let Some(head) = e.runs.front_mut() else {
                    break;
                };
                let (hf, hc) = *head;
                let k = hc.min(evict);
                e.wc -= k;
                e.wf -= if hf % 2 == 1 { k } else { 0 };
                e.ws -= if hf >= 2 { k } else { 0 };
                if k == hc {
                    e.runs.pop_front();
                } else {
                    head.1 = hc - k;
                }
                evict -= k;
            }
            match e.runs.back_mut() {
                Some(tail) if tail.0 == flags => tail.1 += n,
                _ => e.runs.push_back((flags, n)),
            }
            e.wc += n;
            e.wf += if failed { n } else { 0 };
            e.ws += if slow { n } else { 0 };
        }
    }
}
