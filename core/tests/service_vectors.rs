//! Replays `tests/vectors/service/*.json` (format: its README) against the core's
//! service engine, with core breakers as the circuits and a manual clock with timers,
//! as the Node and Python packages replay them through their `CircuitBreakerService`.

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use serde_json::{json, Value};
use tripwire_core::metrics::{render, Format, Snapshot};
use tripwire_core::resilience::{
    After, Attempt, Begin, CallId, CallPlan, Circuit, CircuitId, Lookup, Section, Service,
    ServiceUpdate, Settings, Waited,
};
use tripwire_core::{Breaker, ConfigError, ErrorKind, Outcome, Permit, Threshold, Unit};

const NS_PER_MS: u64 = 1_000_000;

#[test]
fn service_vectors() {
    common::replay_all("service", 30, |path| drop(play(path)));
}

/// `tests/vectors/metrics/*.json` are service scenarios; after the last step the
/// metrics must read exactly as the `.prom` and `.openmetrics` files beside them
/// (`runtime="RUNTIME"` stands for each runtime's name). `TRIPWIRE_BLESS=1` writes them.
#[test]
fn metrics_golden() {
    common::replay_all("metrics", 1, |path| {
        let sim = play(path);
        let mut names = Vec::new();
        let mut snapshot = Snapshot {
            version: env!("CARGO_PKG_VERSION"),
            runtime: "RUNTIME",
            ..Snapshot::default()
        };
        sim.svc.metrics(sim.now, &mut names, &mut snapshot);
        for (format, ext) in [
            (Format::Prometheus, "prom"),
            (Format::OpenMetrics, "openmetrics"),
        ] {
            let text = render(&snapshot, format);
            let golden = path.with_extension(ext);
            if std::env::var_os("TRIPWIRE_BLESS").is_some() {
                std::fs::write(&golden, &text).unwrap();
            }
            let series: Vec<&str> = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| &l[..l.rfind(' ').unwrap()])
                .collect();
            let unique: std::collections::BTreeSet<&&str> = series.iter().collect();
            assert_eq!(unique.len(), series.len(), "a series written twice");
            let want = std::fs::read_to_string(&golden).unwrap_or_default();
            assert!(text == want, "{} differs:\n{text}", golden.display());
        }
    });
}

/// A vector's JSON value as the core reads an option.
fn option_value(value: &Value) -> tripwire_core::OptionValue<'static> {
    use tripwire_core::OptionValue;
    match value {
        Value::Null => OptionValue::Missing,
        Value::Bool(b) => OptionValue::Bool(*b),
        Value::Number(n) => OptionValue::Number(n.as_f64().unwrap()),
        Value::String(_) => OptionValue::Other("a string"),
        Value::Array(_) => OptionValue::Other("an array"),
        Value::Object(_) => OptionValue::Other("an object"),
    }
}

/// A vector's key as an option name: snake_case without `_ms` (the core reads both spellings).
fn option_name(key: &str) -> &str {
    key.strip_suffix("_ms").unwrap_or(key)
}

fn type_error(field: &str, reason: &str) -> ConfigError {
    ConfigError {
        field: field.to_string().into(),
        reason: reason.to_string().into(),
        kind: ErrorKind::Type,
    }
}

/// A service update from a vector's `update` object, as a binding builds it.
fn update(value: &Value) -> Result<ServiceUpdate, ConfigError> {
    let mut update = ServiceUpdate::new(Unit::Millis);
    for (key, section_value) in value.as_object().unwrap() {
        let section = ServiceUpdate::section(key)?;
        if section == Section::Preset {
            match section_value.as_str() {
                Some(name) => update.set_preset(name)?,
                None => return Err(type_error(key, "must be a preset name")),
            }
            continue;
        }
        let Some(fields) = section_value.as_object() else {
            return Err(type_error(key, "must be an object"));
        };
        update.touch(section);
        for (name, v) in fields {
            let name = option_name(name);
            if section == Section::Retry {
                if let Some(list) = tripwire_core::resilience::RetryUpdate::code_list(name) {
                    let codes = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_str().unwrap().to_string())
                        .collect();
                    update.retry_mut().set_codes(list, codes);
                    continue;
                }
            }
            update.set(section, name, option_value(v))?;
        }
    }
    Ok(update)
}

/// What one attempt of a vector's function does.
#[derive(Clone, Debug)]
enum Spec {
    Ok,
    Fail(Option<String>, Option<u16>),
    Hang,
}

fn spec(value: &Value) -> Spec {
    match value {
        Value::String(s) if s == "ok" => Spec::Ok,
        Value::String(s) if s == "fail" => Spec::Fail(None, None),
        Value::String(s) if s == "hang" => Spec::Hang,
        Value::Object(o) => Spec::Fail(
            o.get("code").and_then(Value::as_str).map(str::to_string),
            o.get("status").and_then(Value::as_u64).map(|s| s as u16),
        ),
        other => panic!("unknown attempt {other}"),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Waiting,
    Running,
    Hanging(Permit),
    RetryWait,
    Done(Value),
}

struct SimCall {
    call: Option<CallId>,
    circuit: CircuitId,
    attempts: VecDeque<Spec>,
    runs: u32,
    started: u64,
    ended: u64,
    fallback: bool,
    phase: Phase,
    last_refused: bool,
    dead_letter_retry: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Retry,
    Queue,
}

struct Sim {
    svc: Service<Breaker>,
    now: u64,
    calls: BTreeMap<String, SimCall>,
    by_call: BTreeMap<CallId, String>,
    /// (at, sequence, kind, call name)
    timers: Vec<(u64, u64, TimerKind, String)>,
    seq: u64,
    alerts: Vec<Value>,
    /// Dead-letter id → the failed call's attempts, as a binding keeps its payload.
    payloads: BTreeMap<u64, ()>,
    anon: u64,
}

impl Sim {
    fn circuit(&mut self, service: &str, operation: &str, config: Option<&Value>) -> CircuitId {
        // The call's own breaker options, as a `config` section reads them.
        let options = config.map(|c| {
            let mut o = tripwire_core::Options::new(Unit::Millis);
            for (k, v) in c.as_object().unwrap() {
                assert!(
                    o.set(option_name(k), option_value(v)).unwrap(),
                    "unknown option {k}"
                );
            }
            o
        });
        match self
            .svc
            .circuit(service, Some(operation), options.as_ref())
            .unwrap()
        {
            Lookup::Found(id) => id,
            Lookup::New {
                id,
                config,
                forced_open,
            } => {
                let mut breaker = Breaker::with_shared_config(config).unwrap();
                if forced_open {
                    breaker.force_open(self.now);
                }
                let _evicted = self.svc.attach(id, breaker, self.now);
                if forced_open {
                    // A transition like any other: the bindings' facades report it.
                    self.svc.observe(id, self.now);
                    self.collect_alerts();
                }
                id
            }
        }
    }

    fn timer(&mut self, at: u64, kind: TimerKind, name: &str) {
        self.seq += 1;
        self.timers.push((at, self.seq, kind, name.to_string()));
        self.timers.sort();
    }

    fn start(&mut self, name: &str, step: &Value, dead_letter_retry: Option<u64>) {
        let service = step["service"].as_str().unwrap();
        let operation = step["operation"].as_str().unwrap();
        let circuit = self.circuit(service, operation, step.get("config"));
        let fallback = step["fallback"].as_str().unwrap_or("");
        let mut plan = CallPlan {
            retry: None,
            dead_letter: fallback.contains("queue"),
        };
        if step["kind"].as_str() == Some("execute") {
            plan.retry = Some(self.svc.no_retry());
        } else if let Some(r) = step.get("retry_policy") {
            let mut retry = tripwire_core::resilience::RetryUpdate::default();
            for (k, v) in r.as_object().unwrap() {
                retry
                    .set(option_name(k), option_value(v), Unit::Millis)
                    .unwrap();
            }
            plan.retry = Some(self.svc.call_retry(service, &retry).unwrap());
        }
        let attempts = step["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(spec)
            .collect();
        let sim = SimCall {
            call: None,
            circuit,
            attempts,
            runs: 0,
            started: self.now,
            ended: self.now,
            fallback: fallback.contains("value"),
            phase: Phase::Waiting,
            last_refused: false,
            dead_letter_retry,
        };
        self.calls.insert(name.to_string(), sim);
        self.begin(name, plan);
    }

    fn begin(&mut self, name: &str, plan: CallPlan) {
        let circuit = self.calls[name].circuit;
        match self.svc.begin(circuit, plan, self.now) {
            Begin::Run(call) => {
                self.link(name, call);
                self.attempt(name);
            }
            Begin::Queued(call, max_wait) => {
                self.link(name, call);
                if let Some(wait) = max_wait {
                    // As the bindings' timers: whole milliseconds, just after the limit.
                    self.timer(self.now + wait + NS_PER_MS, TimerKind::Queue, name);
                }
            }
            Begin::Refused(_) => self.finish(name, Err("bulkhead-full")),
        }
    }

    fn link(&mut self, name: &str, call: CallId) {
        self.calls.get_mut(name).unwrap().call = Some(call);
        self.by_call.insert(call, name.to_string());
    }

    fn attempt(&mut self, name: &str) {
        let now = self.now;
        let circuit = self.calls[name].circuit;
        self.calls.get_mut(name).unwrap().phase = Phase::Running;
        let breaker = self.svc.handle_mut(circuit).unwrap();
        let acquired = breaker.try_acquire(now);
        if acquired.as_ref().is_ok_and(|p| p.transition().is_some()) {
            self.svc.observe(circuit, now);
        }
        let Ok(permit) = acquired else {
            // Refused by the breaker: the function does not run.
            self.calls.get_mut(name).unwrap().last_refused = true;
            return self.ended(name, Attempt::Refused);
        };
        let sim = self.calls.get_mut(name).unwrap();
        sim.last_refused = false;
        sim.runs += 1;
        let spec = sim
            .attempts
            .pop_front()
            .unwrap_or_else(|| panic!("call {name} ran more often than its attempts"));
        match spec {
            Spec::Hang => sim.phase = Phase::Hanging(permit),
            other => self.outcome(name, permit, &other),
        }
    }

    fn outcome(&mut self, name: &str, permit: Permit, spec: &Spec) {
        let now = self.now;
        let circuit = self.calls[name].circuit;
        let breaker = self.svc.handle_mut(circuit).unwrap();
        match spec {
            Spec::Ok => {
                if breaker.record(permit, Outcome::Success, now).is_some() {
                    self.svc.observe(circuit, now);
                }
                self.ended(name, Attempt::Success);
            }
            Spec::Fail(code, status) => {
                if breaker.record(permit, Outcome::Failure, now).is_some() {
                    self.svc.observe(circuit, now);
                }
                let attempt = Attempt::Failure {
                    code: code.as_deref(),
                    status: *status,
                };
                self.ended(name, attempt);
            }
            Spec::Hang => panic!("settle needs an outcome"),
        }
    }

    fn ended(&mut self, name: &str, attempt: Attempt<'_>) {
        let call = self.calls[name].call.unwrap();
        let ended = self.svc.ended(call, attempt, self.now);
        match ended.after {
            After::Retry { delay } => {
                self.calls.get_mut(name).unwrap().phase = Phase::RetryWait;
                self.timer(self.now + delay, TimerKind::Retry, name);
            }
            After::Done => self.finish(name, Ok(())),
            After::Failed {
                dead_letter,
                dropped,
                ..
            } => {
                if let Some(id) = dead_letter {
                    self.payloads.insert(id, ());
                }
                if let Some(id) = dropped {
                    self.payloads.remove(&id);
                }
                let error = if self.calls[name].last_refused {
                    "open"
                } else {
                    "upstream"
                };
                self.finish(name, Err(error));
            }
            After::Cancelled => panic!("no vector cancels"),
        }
        if let Some(next) = ended.admit {
            let next = self.by_call[&next].clone();
            self.attempt(&next);
        }
        self.collect_alerts();
    }

    fn finish(&mut self, name: &str, result: Result<(), &str>) {
        let now = self.now;
        let sim = self.calls.get_mut(name).unwrap();
        sim.ended = now;
        let outcome = match result {
            Ok(()) => json!({ "result": "ok" }),
            Err(_) if sim.fallback => json!({ "result": "fallback" }),
            Err(error) => json!({ "result": "error", "error": error }),
        };
        sim.phase = Phase::Done(outcome);
        if let Some(id) = sim.dead_letter_retry {
            let ok = matches!(result, Ok(()));
            let runs = sim.runs;
            self.svc.dead_letter_retried(id, ok, runs);
        }
        self.collect_alerts();
    }

    fn collect_alerts(&mut self) {
        for a in self.svc.take_alerts() {
            self.alerts
                .push(json!([a.kind.as_str(), a.service, a.operation]));
        }
    }

    fn fire_next(&mut self, until: u64) -> bool {
        let Some(&(at, _, _, _)) = self.timers.first() else {
            return false;
        };
        if at > until {
            return false;
        }
        let (at, _, kind, name) = self.timers.remove(0);
        self.now = self.now.max(at);
        match kind {
            TimerKind::Retry => self.attempt(&name),
            TimerKind::Queue => {
                if self.calls[&name].phase != Phase::Waiting {
                    return true;
                }
                let call = self.calls[&name].call.unwrap();
                match self.svc.wait_over(call, self.now) {
                    Waited::Admitted => {}
                    Waited::Waiting(more) => self.timer(self.now + more, TimerKind::Queue, &name),
                    Waited::Refused => self.finish(&name, Err("queue-timeout")),
                }
            }
        }
        true
    }

    fn advance(&mut self, ms: u64) {
        let target = self.now + ms * NS_PER_MS;
        while self.fire_next(target) {}
        self.now = target;
    }

    fn run_until_done(&mut self, name: &str) {
        while !matches!(self.calls[name].phase, Phase::Done(_)) {
            assert!(
                self.fire_next(u64::MAX),
                "call {name} never ends (a hang with no settle?)"
            );
        }
    }

    fn check_call(&self, name: &str, expect: &Value, ctx: &str) {
        let sim = &self.calls[name];
        let Phase::Done(outcome) = &sim.phase else {
            panic!("{ctx}: call {name} has not ended")
        };
        for (key, want) in expect.as_object().unwrap() {
            let got = match key.as_str() {
                "result" | "error" => outcome[key.as_str()].clone(),
                "runs" => json!(sim.runs),
                "elapsed_ms" => json!((sim.ended - sim.started) / NS_PER_MS),
                other => panic!("{ctx}: unknown call expectation {other}"),
            };
            assert_eq!(&got, want, "{ctx}: {key}");
        }
    }

    fn check(&mut self, expect: &Value, ctx: &str) {
        let now = self.now;
        for (key, want) in expect.as_object().unwrap() {
            let got = match key.as_str() {
                "breakers" => {
                    let mut all: Vec<Value> = self
                        .svc
                        .circuits()
                        .map(|(_, k, b)| {
                            json!([k.service, k.operation, b.facts(now).state.as_str()])
                        })
                        .collect();
                    all.sort_by_key(|v| v.to_string());
                    let mut want_sorted = want.as_array().unwrap().clone();
                    want_sorted.sort_by_key(|v| v.to_string());
                    assert_eq!(all, want_sorted, "{ctx}: breakers");
                    continue;
                }
                "count" => json!(self.svc.len()),
                "evictions" => json!(self.svc.evictions()),
                "names" => {
                    let mut names: Vec<String> =
                        self.svc.circuits().map(|(_, k, _)| k.name()).collect();
                    names.sort();
                    json!(names)
                }
                "health" => {
                    let (overall, services) = self.svc.health(now);
                    let map: serde_json::Map<String, Value> = services
                        .iter()
                        .map(|s| (s.name.to_string(), json!(s.status.as_str())))
                        .collect();
                    json!({ "overall": overall.as_str(), "services": map })
                }
                "alerts" => json!(std::mem::take(&mut self.alerts)),
                "dead_letters" => json!(self
                    .svc
                    .dead_letters()
                    .map(|(_, d)| json!([d.key.service, d.key.operation, d.attempts]))
                    .collect::<Vec<_>>()),
                "dead_letter_stats" => {
                    let s = self.svc.dead_letter_stats();
                    json!({ "size": s.size, "capacity": s.capacity, "dropped": s.dropped })
                }
                "bulkhead" => {
                    let service = want["service"].as_str().unwrap();
                    let (s, _) = self.svc.bulkhead_stats(service).unwrap();
                    json!({ "service": service, "running": s.running, "queued": s.queued, "rejected": s.rejected })
                }
                "retries" => {
                    let service = want["service"].as_str().unwrap();
                    let r = self.svc.retry_counters(service).unwrap();
                    json!({
                        "service": service,
                        "successful_without_retry": r.successful_without_retry,
                        "successful_with_retry": r.successful_with_retry,
                        "failed_without_retry": r.failed_without_retry,
                        "failed_with_retry": r.failed_with_retry,
                    })
                }
                "config" => {
                    let service = want["service"].as_str().unwrap();
                    let c = self.svc.service_config(service).unwrap();
                    let threshold = match c.config.failure_threshold {
                        Threshold::Count(n) => json!(n),
                        Threshold::Rate(r) => json!(r),
                    };
                    json!({
                        "service": service,
                        "preset": c.preset,
                        "max_attempts": c.retry.policy.max_attempts,
                        "max_concurrent": c.bulkhead.max_concurrent,
                        "failure_threshold": threshold,
                    })
                }
                "stats" => {
                    let service = want["service"].as_str().unwrap();
                    let operation = want["operation"].as_str().unwrap();
                    let id = self
                        .svc
                        .find(service, Some(operation))
                        .expect("a live breaker");
                    let s = self.svc.handle(id).unwrap().stats(now);
                    json!({
                        "service": service,
                        "operation": operation,
                        "state": s.state.as_str(),
                        "failures": s.failures,
                        "successes": s.successes,
                        "rejected": s.rejected,
                    })
                }
                other => panic!("{ctx}: unknown check {other}"),
            };
            assert_eq!(&got, want, "{ctx}: {key}");
        }
    }
}

fn play(path: &Path) -> Sim {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let vector: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let s = &vector["settings"];
    let mut settings = Settings::new(Unit::Millis, s["seed"].as_u64().unwrap_or(0));
    if let Some(n) = s["max_breakers"].as_u64() {
        settings.max_breakers = n as usize;
    }
    if let Some(n) = s["dead_letter_queue_size"].as_u64() {
        settings.dead_letter_size = n as usize;
    }
    let mut sim = Sim {
        svc: Service::new(settings).unwrap(),
        now: 0,
        calls: BTreeMap::new(),
        by_call: BTreeMap::new(),
        timers: Vec::new(),
        seq: 0,
        alerts: Vec::new(),
        payloads: BTreeMap::new(),
        anon: 0,
    };
    for (i, step) in vector["steps"].as_array().unwrap().iter().enumerate() {
        let ctx = format!("{file} step {i}");
        let op = step["op"].as_str().unwrap();
        match op {
            "configure" => {
                let service = step["service"].as_str().unwrap();
                let result =
                    update(&step["update"]).and_then(|u| sim.svc.update(service, &u, sim.now));
                match (&step.get("error"), result) {
                    (Some(want), Err(e)) => {
                        let kind = if e.kind == ErrorKind::Type {
                            "type"
                        } else {
                            "range"
                        };
                        assert_eq!(kind, want["kind"].as_str().unwrap(), "{ctx}: {e}");
                        assert_eq!(
                            e.field,
                            option_name(want["option"].as_str().unwrap()),
                            "{ctx}: {e}"
                        );
                    }
                    (Some(_), Ok(_)) => panic!("{ctx}: expected an error"),
                    (None, Err(e)) => panic!("{ctx}: {e}"),
                    (None, Ok(updated)) => {
                        for (id, config) in updated.reconfigure {
                            sim.svc.handle_mut(id).unwrap().reconfigure(config).unwrap();
                        }
                        for call in updated.admitted {
                            let name = sim.by_call[&call].clone();
                            sim.attempt(&name);
                        }
                    }
                }
            }
            "call" => {
                let name = match step["id"].as_str() {
                    Some(id) => id.to_string(),
                    None => {
                        sim.anon += 1;
                        format!("#{}", sim.anon)
                    }
                };
                sim.start(&name, step, None);
                if step.get("id").is_none() {
                    sim.run_until_done(&name);
                }
                if let Some(expect) = step.get("expect") {
                    sim.check_call(&name, expect, &ctx);
                }
            }
            "settle" => {
                let name = step["id"].as_str().unwrap();
                let Phase::Hanging(permit) = sim.calls[name].phase.clone() else {
                    panic!("{ctx}: call {name} is not waiting for an outcome")
                };
                sim.outcome(name, permit, &spec(&step["outcome"]));
            }
            "await" => {
                let name = step["id"].as_str().unwrap();
                sim.run_until_done(name);
                sim.check_call(name, &step["expect"], &ctx);
            }
            "advance" => sim.advance(step["ms"].as_u64().unwrap()),
            "get" => {
                sim.circuit(
                    step["service"].as_str().unwrap(),
                    step["operation"].as_str().unwrap(),
                    None,
                );
            }
            "force_open" | "reset" => {
                let service = step["service"].as_str().unwrap();
                let operation = step.get("operation").and_then(Value::as_str);
                if op == "force_open" {
                    if let Some(o) = operation {
                        sim.circuit(service, o, None);
                    }
                }
                let ids = if op == "force_open" {
                    sim.svc.force_open(service, operation)
                } else {
                    sim.svc.reset(service, operation)
                };
                let now = sim.now;
                for id in ids {
                    let b = sim.svc.handle_mut(id).unwrap();
                    if op == "force_open" {
                        b.force_open(now);
                    } else {
                        b.reset(now);
                    }
                    sim.svc.observe(id, now);
                }
                sim.collect_alerts();
            }
            "retry_dead_letter" => {
                let index = step["index"].as_u64().unwrap() as usize;
                let (id, _) = sim
                    .svc
                    .dead_letters()
                    .nth(index)
                    .map(|(id, d)| (id, d.clone()))
                    .unwrap();
                let key = sim.svc.retry_dead_letter(id).unwrap();
                let name = format!("dlq#{id}");
                let mut call = json!({
                    "service": key.service,
                    "operation": key.operation,
                    "attempts": step["attempts"],
                });
                if let Some(r) = step.get("retry_policy") {
                    call["retry_policy"] = r.clone();
                }
                sim.calls.remove(&name);
                sim.start(&name, &call, Some(id));
                sim.run_until_done(&name);
                sim.check_call(&name, &step["expect"], &ctx);
            }
            "remove_dead_letter" => {
                let index = step["index"].as_u64().unwrap() as usize;
                let id = sim.svc.dead_letters().nth(index).map(|(id, _)| id).unwrap();
                assert!(sim.svc.remove_dead_letter(id));
                sim.payloads.remove(&id);
                sim.collect_alerts();
            }
            "check" => sim.check(&step["expect"], &ctx),
            other => panic!("{ctx}: unknown op {other}"),
        }
    }
    sim
}
