//! Model-based test: random operations and clock advances against a small reference
//! model that keeps every outcome in a plain list and recomputes everything from it.
//!
//! CI: 256 cases × 400 steps (> 100,000 steps). Long mode (`make proptest-long`):
//! `PROPTEST_CASES=1000 TRIPWIRE_MODEL_STEPS=1000` (1,000,000 steps).

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, FileFailurePersistence};
use tripwire_core::{Backoff, Breaker, Config, Outcome, Permit, State, Threshold, WindowKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Normal,
    Forced,
    Disabled,
}

/// The obviously-correct reference: a list of this generation's outcomes.
struct Model {
    cfg: Config,
    state: State,
    mode: Mode,
    generation: u64,
    events: Vec<(u64, bool, bool)>,
    consecutive_failures: u32,
    consecutive_successes: u32,
    open_until: u64,
    trips: u32,
    in_flight: u32,
    successes: u64,
    failures: u64,
    timeouts: u64,
    slow: u64,
    rejected: u64,
    ignored: u64,
}

/// What the model hands out: the generation and start of a call.
#[derive(Clone, Copy, Debug)]
struct ModelPermit {
    generation: u64,
    issued_at: u64,
    trial: bool,
}

impl Model {
    fn new(cfg: Config) -> Model {
        Model {
            cfg,
            state: State::Closed,
            mode: Mode::Normal,
            generation: 0,
            events: Vec::new(),
            consecutive_failures: 0,
            consecutive_successes: 0,
            open_until: 0,
            trips: 0,
            in_flight: 0,
            successes: 0,
            failures: 0,
            timeouts: 0,
            slow: 0,
            rejected: 0,
            ignored: 0,
        }
    }

    /// (calls, failures, slow) in the window at `now`.
    fn window(&self, now: u64) -> (u32, u32, u32) {
        let live: Vec<&(u64, bool, bool)> = match self.cfg.window {
            WindowKind::Count { size } => self.events.iter().rev().take(size as usize).collect(),
            WindowKind::Time { duration, buckets } => {
                let width = duration / u64::from(buckets);
                self.events
                    .iter()
                    .filter(|(t, _, _)| t / width + u64::from(buckets) > now / width)
                    .collect()
            }
        };
        let count =
            |f: &dyn Fn(&(u64, bool, bool)) -> bool| live.iter().filter(|e| f(e)).count() as u32;
        (live.len() as u32, count(&|e| e.1), count(&|e| e.2))
    }

    fn effective(&self, now: u64) -> State {
        match self.mode {
            Mode::Forced => State::Open,
            Mode::Disabled => State::Closed,
            Mode::Normal if self.state == State::Open && now >= self.open_until => State::HalfOpen,
            Mode::Normal => self.state,
        }
    }

    fn enter(&mut self, state: State) {
        self.state = state;
        self.generation += 1;
        if state != State::Open {
            self.events.clear();
        }
        self.consecutive_failures = 0;
        self.consecutive_successes = 0;
        self.in_flight = 0;
    }

    fn open_for(&self) -> u64 {
        match self.cfg.backoff {
            Backoff::Fixed => self.cfg.open_duration,
            Backoff::Exponential { max, .. } => {
                // The generated configs use a multiplier of exactly 2 and no jitter.
                let grown = self
                    .cfg
                    .open_duration
                    .saturating_mul(1u64 << (self.trips - 1).min(40));
                grown.min(max)
            }
        }
    }

    fn trip(&mut self, now: u64) {
        self.trips += 1;
        self.open_until = now + self.open_for();
        self.enter(State::Open);
    }

    fn acquire(&mut self, now: u64) -> Result<ModelPermit, (State, Option<u64>)> {
        let permit = |m: &Model, trial| ModelPermit {
            generation: m.generation,
            issued_at: now,
            trial,
        };
        let refused = match self.mode {
            Mode::Disabled => return Ok(permit(self, false)),
            Mode::Forced => Some((State::Open, None)),
            Mode::Normal => match self.state {
                State::Closed => return Ok(permit(self, false)),
                State::Open if now < self.open_until => {
                    Some((State::Open, Some(self.open_until - now)))
                }
                State::Open => {
                    self.enter(State::HalfOpen);
                    None
                }
                State::HalfOpen => None,
            },
        };
        if refused.is_none() && self.in_flight < self.cfg.half_open_max_calls {
            self.in_flight += 1;
            return Ok(permit(self, true));
        }
        self.rejected += 1;
        Err(refused.unwrap_or((State::HalfOpen, Some(0))))
    }

    /// Returns (from, to) if the state changed.
    fn record(&mut self, p: ModelPermit, outcome: Outcome, now: u64) -> Option<(State, State)> {
        let duration = now - p.issued_at;
        let mut outcome = outcome;
        if outcome == Outcome::Success && self.cfg.call_timeout.is_some_and(|t| duration > t) {
            outcome = Outcome::Timeout;
        }
        if matches!(outcome, Outcome::Ignored | Outcome::Cancelled) {
            self.ignored += 1;
            if p.trial && p.generation == self.generation {
                self.in_flight -= 1;
            }
            return None;
        }
        let slow = self.cfg.slow_call_duration.is_some_and(|s| duration > s);
        match outcome {
            Outcome::Success => self.successes += 1,
            Outcome::Timeout => {
                self.failures += 1;
                self.timeouts += 1;
            }
            _ => self.failures += 1,
        }
        self.slow += u64::from(slow);
        if p.generation != self.generation {
            return None;
        }
        let failed = outcome != Outcome::Success || slow;
        self.events.push((now, failed, slow));
        if failed {
            self.consecutive_failures += 1;
            self.consecutive_successes = 0;
        } else {
            self.consecutive_successes += 1;
            self.consecutive_failures = 0;
        }
        if self.mode != Mode::Normal {
            return None;
        }
        let from = self.state;
        match self.state {
            State::Closed => {
                let (calls, fails, slows) = self.window(now);
                let min = self.cfg.effective_minimum_requests();
                let rule = match self.cfg.failure_threshold {
                    Threshold::Count(c) => self.consecutive_failures >= c,
                    Threshold::Rate(r) => f64::from(fails) / f64::from(calls) >= r,
                };
                let slow_rule = self
                    .cfg
                    .slow_call_rate_threshold
                    .is_some_and(|r| f64::from(slows) / f64::from(calls) >= r);
                if calls >= min && (rule || slow_rule) {
                    self.trip(now);
                }
            }
            State::HalfOpen => {
                self.in_flight -= 1;
                if failed {
                    self.trip(now);
                } else if self.consecutive_successes >= self.cfg.success_threshold {
                    self.trips = 0;
                    self.enter(State::Closed);
                }
            }
            State::Open => unreachable!("no permit is issued while open"),
        }
        (from != self.state).then_some((from, self.state))
    }

    fn manual(&mut self, now: u64, mode: Mode, state: State) {
        let _ = now;
        self.mode = mode;
        self.enter(state);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Acquire,
    Record {
        pick: usize,
        outcome: u8,
        after: u64,
    },
    Advance(u64),
    ForceOpen,
    Close,
    Reset,
    Disable,
    Enable,
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => Just(Op::Acquire),
        40 => (any::<usize>(), 0u8..5, prop_oneof![0u64..60, 0u64..400]).prop_map(|(pick, outcome, after)| Op::Record { pick, outcome, after }),
        15 => prop_oneof![0u64..100, 0u64..3000].prop_map(Op::Advance),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::Close),
        1 => Just(Op::Reset),
        1 => Just(Op::Disable),
        1 => Just(Op::Enable),
        2 => Just(Op::Snapshot),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    let threshold = prop_oneof![
        (1u32..5).prop_map(Threshold::Count),
        prop_oneof![Just(0.3), Just(0.5), Just(1.0)].prop_map(Threshold::Rate)
    ];
    let window = prop_oneof![
        (1u32..8).prop_map(|size| WindowKind::Count { size: size + 4 }),
        (1u32..6).prop_map(|buckets| WindowKind::Time {
            duration: 1000,
            buckets
        }),
    ];
    let backoff = prop_oneof![
        Just(Backoff::Fixed),
        Just(Backoff::Exponential {
            multiplier: 2.0,
            max: 3500,
            jitter: 0.0
        })
    ];
    (
        threshold,
        prop::option::of(1u32..5),
        window,
        backoff,
        1u32..4,
        1u32..4,
        prop::option::of(Just(50u64)),
        any::<bool>(),
        prop::option::of(Just(300u64)),
    )
        .prop_map(
            |(
                failure_threshold,
                minimum_requests,
                window,
                backoff,
                half_open_max_calls,
                success_threshold,
                slow,
                slow_rate,
                call_timeout,
            )| Config {
                failure_threshold,
                minimum_requests,
                window,
                open_duration: 500,
                backoff,
                seed: 0,
                half_open_max_calls,
                success_threshold,
                slow_call_duration: slow,
                slow_call_rate_threshold: (slow.is_some() && slow_rate).then_some(0.5),
                call_timeout,
                // The opossum / pybreaker rule variants are covered by vectors.
                ..Config::default()
            },
        )
}

fn outcome(code: u8) -> Outcome {
    [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Timeout,
        Outcome::Ignored,
        Outcome::Cancelled,
    ][code as usize]
}

fn steps() -> usize {
    std::env::var("TRIPWIRE_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400)
}

/// What `quiet_until` promises: until then, acquiring is the plain closed permit and
/// successes within the quiet limit change no state, however many and whenever.
fn check_quiet(breaker: &Breaker, now: u64, step: usize) -> Result<(), TestCaseError> {
    let until = breaker.quiet_until(now);
    if until <= now {
        return Ok(());
    }
    let mut b = breaker.clone();
    let state = b.state(now);
    let limit = b.config().quiet_limit();
    let mut at = now;
    for k in 0..12u64 {
        let permit = b
            .try_acquire(at)
            .map_err(|r| TestCaseError::fail(format!("step {step}: quiet but refused: {r:?}")))?;
        prop_assert_eq!(
            permit,
            b.quiet_permit(breaker.generation(), at),
            "step {}: quiet permit",
            step
        );
        let end = at.saturating_add(limit.min(k * 37)).min(until - 1);
        prop_assert_eq!(
            b.record(permit, Outcome::Success, end),
            None,
            "step {}: a quiet success moved the state",
            step
        );
        prop_assert_eq!(b.state(end), state, "step {}", step);
        prop_assert!(b.quiet_until(end) > end, "step {}: quiet ended early", step);
        at = end.saturating_add((k * 613) % 997).min(until - 1);
    }
    // A run of successes with the same readings, recorded at once, is the same run
    // recorded one by one.
    for count in [1u32, 2, 7, 40] {
        let (mut batch, mut single) = (breaker.clone(), breaker.clone());
        let (start, end) = (now, now.saturating_add(limit.min(25)).min(until - 1));
        let g = breaker.generation();
        prop_assert_eq!(
            batch.record_quiet_successes(g, start, end, count),
            None,
            "step {}",
            step
        );
        for _ in 0..count {
            prop_assert_eq!(
                single.record(single.quiet_permit(g, start), Outcome::Success, end),
                None,
                "step {}",
                step
            );
        }
        prop_assert_eq!(
            batch.stats(end),
            single.stats(end),
            "step {}: a run of {} successes",
            step,
            count
        );
        prop_assert_eq!(
            batch.quiet_until(end),
            single.quiet_until(end),
            "step {}",
            step
        );
    }
    // What `quiet_failures` promises: that many failures, mixed with quiet successes,
    // all ending before its instant, change no state, and a run of them recorded at
    // once is the run one by one.
    let (failures, failures_until) = breaker.quiet_failures(now);
    let before = until.min(failures_until);
    if failures > 0 && before > now {
        let g = breaker.generation();
        let (start, end) = (now, now.saturating_add(limit.min(25)).min(before - 1));
        let mut batch = breaker.clone();
        prop_assert_eq!(
            batch.record_quiet_failures(g, start, end, failures),
            None,
            "step {}: {} quiet failures",
            step,
            failures
        );
        // Spread over the time left (within the quiet limit), successes between: a
        // bounded sample of the run.
        let last = (before - 1)
            .min(start.saturating_add(limit))
            .min(end + (1 << 30));
        let (n, span) = (failures.min(60), last - end);
        let mut single = breaker.clone();
        for k in 0..n {
            let at = end + span * u64::from(k) / u64::from(n);
            if k % 3 == 1 {
                prop_assert_eq!(
                    single.record(single.quiet_permit(g, start), Outcome::Success, at),
                    None,
                    "step {}",
                    step
                );
            }
            prop_assert_eq!(
                single.record(single.quiet_permit(g, start), Outcome::Failure, at),
                None,
                "step {}: a quiet failure moved the state",
                step
            );
        }
        let (mut run, mut one_by_one) = (breaker.clone(), breaker.clone());
        prop_assert_eq!(
            run.record_quiet_failures(g, start, end, n),
            None,
            "step {}",
            step
        );
        for _ in 0..n {
            let permit = one_by_one.quiet_permit(g, start);
            let _ = one_by_one.record(permit, Outcome::Failure, end);
        }
        prop_assert_eq!(
            run.stats(end),
            one_by_one.stats(end),
            "step {}: a run of {} failures",
            step,
            n
        );
    }
    // One success at a time further on, each on a fresh copy: outcomes may have left
    // a time window by then.
    for later in [100, 250, 400, 600, 800, 1000, 1500, 2500] {
        let mut b = breaker.clone();
        let at = now.saturating_add(later).min(until - 1);
        let permit = b
            .try_acquire(at)
            .map_err(|r| TestCaseError::fail(format!("step {step}: quiet but refused: {r:?}")))?;
        prop_assert_eq!(
            b.record(permit, Outcome::Success, at),
            None,
            "step {}: a later quiet success moved the state",
            step
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(RunnerConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..RunnerConfig::default()
    })]

    #[test]
    fn breaker_matches_model(cfg in config().prop_filter("valid", |c| c.validate().is_ok()), ops in prop::collection::vec(op(), steps())) {
        let mut breaker = Breaker::new(cfg).unwrap();
        let mut model = Model::new(cfg);
        let mut permits: Vec<(Permit, ModelPermit)> = Vec::new();
        let mut now = 0u64;
        for (i, op) in ops.iter().enumerate() {
            match *op {
                Op::Acquire => {
                    let real = breaker.try_acquire(now);
                    let expected = model.acquire(now);
                    match (real, expected) {
                        (Ok(r), Ok(m)) => {
                            prop_assert_eq!(r.is_trial(), m.trial, "step {}", i);
                            permits.push((r, m));
                        }
                        (Err(r), Err((state, retry))) => {
                            prop_assert_eq!((r.state, r.retry_after), (state, retry), "step {}", i);
                        }
                        (r, m) => prop_assert!(false, "step {}: real {:?}, model {:?}", i, r, m),
                    }
                }
                Op::Record { pick, outcome: code, after } if !permits.is_empty() => {
                    now += after;
                    let (r, m) = permits.swap_remove(pick % permits.len());
                    let real = breaker.record(r, outcome(code), now).map(|t| (t.from, t.to));
                    let expected = model.record(m, outcome(code), now);
                    prop_assert_eq!(real, expected, "step {}", i);
                }
                Op::Record { .. } => {}
                Op::Advance(dt) => now += dt,
                Op::ForceOpen => { breaker.force_open(now); model.manual(now, Mode::Forced, State::Open); }
                Op::Close => { breaker.close(now); model.trips = 0; model.manual(now, Mode::Normal, State::Closed); }
                Op::Reset => {
                    breaker.reset(now);
                    model.trips = 0;
                    model.manual(now, Mode::Normal, State::Closed);
                    (model.successes, model.failures, model.timeouts, model.slow, model.rejected, model.ignored) = (0, 0, 0, 0, 0, 0);
                }
                Op::Disable => { breaker.disable(now); model.trips = 0; model.manual(now, Mode::Disabled, State::Closed); }
                Op::Enable => { breaker.enable(now); if model.mode == Mode::Disabled { model.mode = Mode::Normal; } }
                Op::Snapshot => {
                    let json = serde_json::to_string(&breaker.snapshot(now)).unwrap();
                    breaker = Breaker::restore(cfg, &serde_json::from_str(&json).unwrap(), now).unwrap();
                    // Permits in flight become stale in the restored breaker.
                    model.generation += 1;
                    model.in_flight = 0;
                }
            }
            check_quiet(&breaker, now, i)?;
            let stats = breaker.stats(now);
            prop_assert_eq!(stats.state, model.effective(now), "step {}: state", i);
            let (calls, fails, slows) = model.window(now);
            prop_assert_eq!((stats.window_calls, stats.window_failures), (calls, fails), "step {}: window", i);
            prop_assert_eq!(breaker.window_counts(now).2, slows, "step {}: slow in window", i);
            prop_assert_eq!(
                (stats.successes, stats.failures, stats.timeouts, stats.slow_calls, stats.rejected, stats.ignored),
                (model.successes, model.failures, model.timeouts, model.slow, model.rejected, model.ignored),
                "step {}: totals", i
            );
            prop_assert_eq!((stats.consecutive_failures, stats.consecutive_successes, stats.trips),
                (model.consecutive_failures, model.consecutive_successes, model.trips), "step {}: counters", i);
        }
    }
}
