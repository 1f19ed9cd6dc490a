//! The state machine: permits, outcomes, transitions, manual control and stats.

use alloc::sync::Arc;

use crate::config::{Backoff, Config, ConfigError, Start, Threshold, WindowKind};
use crate::histogram::Histogram;
use crate::rng::Rng;
use crate::rolling::WindowStats;
#[cfg(feature = "window-stats")]
use crate::rolling::{Event, Rolling};
use crate::window::{Counts, Window};

/// The three states every runtime reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum State {
    /// Calls pass; outcomes are counted.
    Closed,
    /// Calls are refused until the open duration has passed (or, if forced, until closed).
    Open,
    /// A limited number of trial calls decide whether to close or reopen.
    HalfOpen,
}

impl State {
    /// `"CLOSED"`, `"OPEN"` or `"HALF_OPEN"`: the spelling of every binding.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Open => "OPEN",
            State::HalfOpen => "HALF_OPEN",
        }
    }
}

/// How a permitted call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It returned normally.
    Success,
    /// It failed.
    Failure,
    /// It ran out of time: a failure, also counted as a timeout.
    Timeout,
    /// Its result is not the upstream's fault (e.g. a filtered error): not counted.
    Ignored,
    /// It never ran to an end (e.g. aborted by the caller): not counted.
    Cancelled,
}

/// Why a transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A trip rule matched while closed.
    Tripped,
    /// The open duration passed and a call asked for a permit.
    OpenElapsed,
    /// Enough consecutive trial calls succeeded.
    TrialsSucceeded,
    /// A trial call failed.
    TrialFailed,
    /// `force_open`.
    ForcedOpen,
    /// `trip`: opened as if tripped.
    Opened,
    /// `half_open`.
    HalfOpened,
    /// `close`.
    Closed,
    /// `reset`.
    Reset,
    /// `disable`.
    Disabled,
    /// `enable`.
    Enabled,
}

impl Cause {
    /// Every cause, in declaration order: `Cause::ALL[c as usize] == c` (the bindings'
    /// transition codes carry `c as u32`).
    pub const ALL: [Cause; 11] = [
        Cause::Tripped,
        Cause::OpenElapsed,
        Cause::TrialsSucceeded,
        Cause::TrialFailed,
        Cause::ForcedOpen,
        Cause::Opened,
        Cause::HalfOpened,
        Cause::Closed,
        Cause::Reset,
        Cause::Disabled,
        Cause::Enabled,
    ];

    /// The cause's name in the bindings' log lines (`cause` of a transition line), the
    /// same in every runtime.
    pub const fn name(self) -> &'static str {
        match self {
            Cause::Tripped => "tripped",
            Cause::OpenElapsed => "openElapsed",
            Cause::TrialsSucceeded => "trialsSucceeded",
            Cause::TrialFailed => "trialFailed",
            Cause::ForcedOpen => "forcedOpen",
            Cause::Opened => "opened",
            Cause::HalfOpened => "halfOpened",
            Cause::Closed => "closed",
            Cause::Reset => "reset",
            Cause::Disabled => "disabled",
            Cause::Enabled => "enabled",
        }
    }
}

/// A change of state (or a manual operation, where `from` may equal `to`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before (the effective state, for manual operations).
    pub from: State,
    /// State after.
    pub to: State,
    /// What caused it.
    pub cause: Cause,
}

/// Leave to run one call; hand it back to [`Breaker::record`] with the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a permit must be handed back with `record`, or a half-open slot leaks"]
pub struct Permit {
    pub(crate) generation: u64,
    pub(crate) issued_at: u64,
    pub(crate) trial: bool,
    pub(crate) opened_half: bool,
}

impl Permit {
    /// When the permit was issued (the call's start).
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// Whether this is a half-open trial call.
    pub fn is_trial(&self) -> bool {
        self.trial
    }

    /// The transition this acquire caused: OPEN → HALF_OPEN once the open duration passed.
    pub fn transition(&self) -> Option<Transition> {
        self.opened_half.then_some(Transition {
            from: State::Open,
            to: State::HalfOpen,
            cause: Cause::OpenElapsed,
        })
    }
}

/// The breaker refused a call. A value, not an error path: it is cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// OPEN, or HALF_OPEN when every trial slot is taken.
    pub state: State,
    /// Nanoseconds until a call may be admitted; `None` while forced open.
    pub retry_after: Option<u64>,
    /// The caller may wait for the half-open trial in flight and ask again when a call
    /// ends, instead of failing ([`Config::half_open_wait`]); not counted as rejected.
    pub may_wait: bool,
}

impl core::fmt::Display for Rejected {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the circuit is {}", self.state.as_str())?;
        match self.retry_after {
            // Whole milliseconds, rounded up: what a Retry-After is made from.
            Some(ns) => write!(
                f,
                ": retry after {} ms",
                ns.div_ceil(crate::NANOS_PER_MILLI)
            ),
            None => write!(f, " (forced open)"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Rejected {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub(crate) enum Mode {
    Normal,
    ForcedOpen,
    Disabled,
}

/// Lifetime totals since construction or the last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Totals {
    pub(crate) successes: u64,
    pub(crate) failures: u64,
    pub(crate) timeouts: u64,
    pub(crate) slow: u64,
    pub(crate) rejected: u64,
    pub(crate) ignored: u64,
    pub(crate) latency_sum: u128,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.successes += other.successes;
        self.failures += other.failures;
        self.timeouts += other.timeouts;
        self.slow += other.slow;
        self.rejected += other.rejected;
        self.ignored += other.ignored;
        self.latency_sum += other.latency_sum;
    }
}

/// A point-in-time view of a breaker, as every binding reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// The effective state.
    pub state: State,
    /// Forced open by `force_open`.
    pub forced_open: bool,
    /// Disabled by `disable`.
    pub disabled: bool,
    /// Calls that ran: successes + failures (timeouts included).
    pub requests: u64,
    /// Calls that succeeded (slow ones included).
    pub successes: u64,
    /// Calls that failed (timeouts included).
    pub failures: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Calls slower than `slow_call_duration`.
    pub slow_calls: u64,
    /// Calls refused.
    pub rejected: u64,
    /// Calls ignored or cancelled.
    pub ignored: u64,
    /// Consecutive failures counted in the current state.
    pub consecutive_failures: u32,
    /// Consecutive failures that a trip does not reset: a counted success, `close`
    /// or `reset` ends the streak (pybreaker's `fail_counter`: the failure threshold
    /// once tripped on a count, one more after a failed trial).
    pub failure_streak: u32,
    /// Consecutive successes counted in the current state.
    pub consecutive_successes: u32,
    /// Calls in the window.
    pub window_calls: u32,
    /// Failed (or slow) calls in the window.
    pub window_failures: u32,
    /// Failure rate over the window, 0..=1.
    pub failure_rate: f64,
    /// Slow-call rate over the window, 0..=1.
    pub slow_call_rate: f64,
    /// Instant of the last success.
    pub last_success_at: Option<u64>,
    /// Instant of the last failure.
    pub last_failure_at: Option<u64>,
    /// When an OPEN (not forced) breaker will admit a trial.
    pub next_attempt_at: Option<u64>,
    /// Mean duration of the calls that ran, in nanoseconds (0 if none).
    pub mean_latency: f64,
    /// Median call duration (ns), from a 12.5 %-resolution histogram.
    pub latency_p50: Option<u64>,
    /// 90th percentile call duration (ns).
    pub latency_p90: Option<u64>,
    /// 99th percentile call duration (ns).
    pub latency_p99: Option<u64>,
    /// Consecutive trips without closing (drives backoff).
    pub trips: u32,
}

/// One circuit breaker. Not thread-safe by itself: see `SyncBreaker`.
#[derive(Clone, Debug)]
pub struct Breaker {
    // Shared: breakers made from one configuration need not carry a copy each.
    pub(crate) config: Arc<Config>,
    pub(crate) minimum_requests: u32,
    pub(crate) state: State,
    pub(crate) mode: Mode,
    pub(crate) generation: u64,
    pub(crate) window: Window,
    pub(crate) consecutive_failures: u32,
    pub(crate) consecutive_successes: u32,
    pub(crate) failure_streak: u32,
    pub(crate) open_until: u64,
    pub(crate) trips: u32,
    pub(crate) trials_in_flight: u32,
    pub(crate) rng: Rng,
    pub(crate) totals: Totals,
    pub(crate) last_success_at: Option<u64>,
    pub(crate) last_failure_at: Option<u64>,
    // Allocated on the first recorded call, so idle breakers stay small.
    pub(crate) latencies: Option<Histogram>,
    // Made at the first transition or reset: most breakers never need it.
    pub(crate) history: Option<alloc::boxed::Box<History>>,
    // With `window_stats`, made at the first call counted.
    #[cfg(feature = "window-stats")]
    pub(crate) rolling: Option<alloc::boxed::Box<Rolling>>,
}

/// What [`Breaker::lifetime`] adds to the current totals: the totals `reset()` cleared,
/// and the transitions.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    cleared: Totals,
    transitions: [[u64; 3]; 3],
}

/// A breaker's counts since it was made: `reset()` clears the stats' totals, never
/// these (metrics read them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lifetime {
    /// Calls that succeeded.
    pub successful: u64,
    /// Calls that failed, timeouts not included.
    pub failed: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Calls whose outcome was ignored.
    pub ignored: u64,
    /// Calls refused.
    pub not_permitted: u64,
    /// Calls slower than the slow-call duration.
    pub slow: u64,
    /// State changes, `[from][to]`, indexed CLOSED = 0, OPEN = 1, HALF_OPEN = 2.
    pub transitions: [[u64; 3]; 3],
}

/// The edges of [`Breaker::durations`], in nanoseconds: 2^k − 1 for k = 20, 22, ...,
/// 36 (about 1 ms, 4 ms, 17 ms, 67 ms, 268 ms, 1.07 s, 4.3 s, 17 s and 69 s).
pub const DURATION_EDGES: [u64; 9] = [
    (1 << 20) - 1,
    (1 << 22) - 1,
    (1 << 24) - 1,
    (1 << 26) - 1,
    (1 << 28) - 1,
    (1 << 30) - 1,
    (1 << 32) - 1,
    (1 << 34) - 1,
    (1 << 36) - 1,
];

/// A breaker's call durations as a cumulative histogram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    /// Calls that took at most each of [`DURATION_EDGES`].
    pub below: [u64; 9],
    /// Calls in all.
    pub count: u64,
    /// Their durations added up, in nanoseconds.
    pub sum: u128,
}

impl State {
    /// CLOSED = 0, OPEN = 1, HALF_OPEN = 2: the index of [`Lifetime::transitions`].
    pub fn index(self) -> usize {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
        }
    }
}

impl Breaker {
    /// A breaker in the configuration's start state ([`Config::start`]) at instant 0
    /// (see [`Breaker::new_at`]); fails if the configuration is invalid.
    pub fn new(config: Config) -> Result<Breaker, ConfigError> {
        Self::with_shared_config(Arc::new(config))
    }

    /// A breaker in the configuration's start state ([`Config::start`]) at `now`: an
    /// open start half-opens `remaining` after `now`.
    pub fn new_at(config: Config, now: u64) -> Result<Breaker, ConfigError> {
        Self::with_shared_config_at(Arc::new(config), now)
    }

    /// [`Breaker::with_shared_config_at`] at instant 0.
    pub fn with_shared_config(config: Arc<Config>) -> Result<Breaker, ConfigError> {
        Self::with_shared_config_at(config, 0)
    }

    /// A breaker with a configuration other breakers may share (each copy is about
    /// 150 bytes), in the configuration's start state at `now`; fails if the
    /// configuration is invalid.
    pub fn with_shared_config_at(config: Arc<Config>, now: u64) -> Result<Breaker, ConfigError> {
        config.validate()?;
        let start = config.start;
        let mut breaker = Breaker {
            minimum_requests: config.effective_minimum_requests(),
            window: Window::new(config.window),
            rng: Rng::new(config.seed),
            config,
            state: State::Closed,
            mode: Mode::Normal,
            generation: 0,
            consecutive_failures: 0,
            consecutive_successes: 0,
            failure_streak: 0,
            open_until: 0,
            trips: 0,
            trials_in_flight: 0,
            totals: Totals::default(),
            last_success_at: None,
            last_failure_at: None,
            latencies: None,
            history: None,
            #[cfg(feature = "window-stats")]
            rolling: None,
        };
        // Not a transition: the breaker is made in that state (one trip counted, so a
        // backoff continues from there).
        match start {
            Start::Closed => {}
            Start::Open { remaining } => {
                breaker.state = State::Open;
                breaker.trips = 1;
                let remaining = remaining.unwrap_or(breaker.config.open_duration);
                breaker.open_until = now.saturating_add(remaining);
            }
            Start::HalfOpen => {
                breaker.state = State::HalfOpen;
                breaker.trips = 1;
            }
        }
        Ok(breaker)
    }

    /// The configuration this breaker runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs on `config` from now on, keeping the state, the totals and, when the
    /// window's shape is unchanged, the window (a new shape starts an empty one).
    /// A state change is a new generation, so nothing changes for permits out now.
    pub fn reconfigure(&mut self, config: Arc<Config>) -> Result<(), ConfigError> {
        config.validate()?;
        #[cfg(feature = "window-stats")]
        if config.window != self.config.window || !config.window_stats {
            self.rolling = None;
        }
        if config.window != self.config.window {
            self.window = Window::new(config.window);
        }
        if config.seed != self.config.seed {
            self.rng = Rng::new(config.seed);
        }
        self.minimum_requests = config.effective_minimum_requests();
        self.config = config;
        Ok(())
    }

    /// Asks leave to run a call at `now`.
    #[inline]
    pub fn try_acquire(&mut self, now: u64) -> Result<Permit, Rejected> {
        let mut opened_half = false;
        match self.mode {
            Mode::Normal => {}
            Mode::Disabled => return Ok(self.permit(now, false, false)),
            Mode::ForcedOpen => return Err(self.refuse(now, State::Open, None)),
        }
        match self.state {
            State::Closed => return Ok(self.permit(now, false, false)),
            State::Open if now < self.open_until => {
                return Err(self.refuse(now, State::Open, Some(self.open_until - now)));
            }
            State::Open => {
                self.enter(State::HalfOpen);
                opened_half = true;
            }
            State::HalfOpen => {}
        }
        if self.trials_in_flight < self.config.half_open_max_calls {
            self.trials_in_flight += 1;
            Ok(self.permit(now, true, opened_half))
        } else if self.config.half_open_wait {
            Err(Rejected {
                state: State::HalfOpen,
                retry_after: Some(0),
                may_wait: true,
            })
        } else {
            Err(self.refuse(now, State::HalfOpen, Some(0)))
        }
    }

    /// Admits a call that runs inside a half-open trial of the same caller (a
    /// re-entrant call, as pybreaker's lock allows): while HALF_OPEN it runs as a
    /// trial without taking a trial slot, so it never waits for the trial it is part
    /// of; its outcome counts as a trial's. In any other state, [`Breaker::try_acquire`].
    pub fn try_acquire_nested(&mut self, now: u64) -> Result<Permit, Rejected> {
        if self.mode == Mode::Normal && self.state == State::HalfOpen {
            return Ok(self.permit(now, false, false));
        }
        self.try_acquire(now)
    }

    /// Hands back a trial's slot while its outcome is still to come (a generator
    /// iterated later): other calls may be trials meanwhile. The permit returned is
    /// recorded as usual; its outcome still counts as a trial's.
    pub fn release_slot(&mut self, permit: Permit) -> Permit {
        if permit.trial && permit.generation == self.generation {
            self.trials_in_flight = self.trials_in_flight.saturating_sub(1);
        }
        Permit {
            trial: false,
            ..permit
        }
    }

    /// Reports how a permitted call ended at `now`; returns the transition it caused.
    ///
    /// A success that took longer than the call timeout is recorded as a timeout.
    /// An outcome from an older generation (issued before the last transition)
    /// counts in the totals but does not move the current state.
    #[inline]
    pub fn record(&mut self, permit: Permit, outcome: Outcome, now: u64) -> Option<Transition> {
        self.record_n(permit, outcome, now, 1)
    }

    #[doc(hidden)] // For tripwire's bindings (see `tripwire_core::bindings`).
    /// Records `count` successes of calls admitted while quiet in `generation`, all
    /// started at `started` and ended at `ended`: a run of calls a binding saw with the
    /// same clock readings. While the breaker is quiet ([`Breaker::quiet_until`]) this
    /// is exactly `count` calls of `record(quiet_permit(generation, started), Success,
    /// ended)`, and returns `None`.
    pub fn record_quiet_successes(
        &mut self,
        generation: u64,
        started: u64,
        ended: u64,
        count: u32,
    ) -> Option<Transition> {
        let permit = self.quiet_permit(generation, started);
        self.record_n(permit, Outcome::Success, ended, count)
    }

    #[doc(hidden)] // For tripwire's bindings (see `tripwire_core::bindings`).
    /// Records `count` failures of calls admitted while quiet in `generation`, all
    /// started at `started` and ended at `ended`. Within [`Breaker::quiet_failures`]
    /// this is exactly `count` calls of `record(quiet_permit(generation, started),
    /// Failure, ended)`, and returns `None`.
    pub fn record_quiet_failures(
        &mut self,
        generation: u64,
        started: u64,
        ended: u64,
        count: u32,
    ) -> Option<Transition> {
        let permit = self.quiet_permit(generation, started);
        self.record_n(permit, Outcome::Failure, ended, count)
    }

    /// `record` for `n` outcomes alike. Beyond one, only for quiet successes and for
    /// quiet failures within [`Breaker::quiet_failures`]: the rules are checked once,
    /// after all of them.
    #[inline]
    fn record_n(
        &mut self,
        permit: Permit,
        outcome: Outcome,
        now: u64,
        n: u32,
    ) -> Option<Transition> {
        if n == 0 {
            return None;
        }
        let duration = now.saturating_sub(permit.issued_at);
        let outcome = match outcome {
            Outcome::Ignored if self.config.ignored_as_success => Outcome::Success,
            _ => outcome,
        };
        let outcome = match (outcome, self.config.call_timeout) {
            (Outcome::Success, Some(limit)) if duration > limit => Outcome::Timeout,
            _ => outcome,
        };
        let failed = match outcome {
            Outcome::Success => false,
            Outcome::Failure | Outcome::Timeout => true,
            Outcome::Ignored | Outcome::Cancelled => {
                self.totals.ignored += u64::from(n);
                if permit.trial && permit.generation == self.generation {
                    self.trials_in_flight = self.trials_in_flight.saturating_sub(1);
                }
                return None;
            }
        };
        let slow = self
            .config
            .slow_call_duration
            .is_some_and(|limit| duration > limit);
        self.count_totals(outcome, slow, duration, now, n);
        if permit.generation != self.generation {
            return None;
        }
        let failed = failed || slow;
        self.window.record_n(now, failed, slow, n);
        if failed {
            self.consecutive_failures = self.consecutive_failures.saturating_add(n);
            self.failure_streak = self.failure_streak.saturating_add(n);
            self.consecutive_successes = 0;
        } else {
            self.consecutive_successes = self.consecutive_successes.saturating_add(n);
            self.consecutive_failures = 0;
            self.failure_streak = 0;
        }
        if self.mode != Mode::Normal {
            return None;
        }
        match self.state {
            State::Closed if self.rules_trip(now) => {
                Some(self.trip_from(now, State::Closed, Cause::Tripped))
            }
            State::HalfOpen => {
                // Saturating: a permit (Copy) recorded twice must not wrap the count.
                // A permit without a slot (`try_acquire_nested`, `release_slot`) frees none.
                if permit.trial {
                    self.trials_in_flight = self.trials_in_flight.saturating_sub(1);
                }
                if failed {
                    Some(self.trip_from(now, State::HalfOpen, Cause::TrialFailed))
                } else if self.consecutive_successes >= self.config.success_threshold {
                    self.trips = 0;
                    self.enter(State::Closed);
                    Some(Transition {
                        from: State::HalfOpen,
                        to: State::Closed,
                        cause: Cause::TrialsSucceeded,
                    })
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    #[doc(hidden)] // For tripwire's bindings (see `tripwire_core::bindings`).
    /// Until when the breaker is *quiet*, as seen at `now`: before the returned instant
    /// every call is admitted as [`Breaker::quiet_permit`] would (no state change,
    /// nothing counted), and no success of this generation recorded before it can
    /// change the state, as long as its duration is within [`Config::quiet_limit`].
    /// `0` when the breaker is not quiet (open, half-open, forced open, or one success
    /// could trip a rate rule).
    ///
    /// Bindings use it to admit calls and to batch such successes without crossing
    /// into native code per call; the order of outcomes must still be kept.
    pub fn quiet_until(&self, now: u64) -> u64 {
        match (self.mode, self.state) {
            (Mode::Disabled, _) => return u64::MAX,
            (Mode::Normal, State::Closed) => {}
            _ => return 0,
        }
        let failure_rate = match self.config.failure_threshold {
            Threshold::Rate(rate) => Some(rate),
            Threshold::Count(_) => None,
        };
        let slow_rate = self.config.slow_call_rate_threshold;
        if failure_rate.is_none() && slow_rate.is_none() {
            // A success only resets the consecutive failures.
            return u64::MAX;
        }
        let counts = self.window.counts(now);
        // The worst case after more successes: the same failed and slow calls (eviction
        // only removes some) over the fewest calls at which the rules apply.
        let calls = match self.config.window {
            WindowKind::Count { size } => counts.calls.saturating_add(1).min(size),
            WindowKind::Time { .. } => counts.calls.saturating_add(1),
        };
        let trips_on = |part: u32, threshold: Option<f64>| {
            threshold.is_some_and(|rate| self.reaches_where_applied(calls, part, rate))
        };
        if trips_on(counts.failures, failure_rate) || trips_on(counts.slow, slow_rate) {
            return 0;
        }
        let relevant = (failure_rate.is_some() && counts.failures > 0)
            || (slow_rate.is_some() && counts.slow > 0);
        if relevant {
            // Until an outcome leaves a time window, nothing but successes change it.
            self.window.stable_until(now)
        } else {
            u64::MAX
        }
    }

    #[doc(hidden)] // For tripwire's bindings (see `tripwire_core::bindings`).
    /// How many failures of calls admitted while quiet can be recorded, in any order
    /// with quiet successes and all ending before the returned instant, without a
    /// transition, as seen at `now`. While closed (and without a slow-call rule):
    /// under a count of consecutive failures, one short of the threshold less the
    /// failures already in a row (successes only reset them), for ever; under a rate
    /// over a time window, the most that keep the rate below it even at the fewest
    /// calls the rule applies at (more successes only lower it), until the window
    /// next loses outcomes (which may raise it). `(0, 0)` otherwise.
    ///
    /// Bindings use it to queue such failures with the quiet successes instead of
    /// crossing per call; a failure past it is recorded at once (it may trip), and a
    /// success after a queued failure must end before the instant too.
    pub fn quiet_failures(&self, now: u64) -> (u32, u64) {
        if self.mode != Mode::Normal
            || self.state != State::Closed
            || self.config.slow_call_rate_threshold.is_some()
        {
            return (0, 0);
        }
        let rate = match (self.config.failure_threshold, self.config.window) {
            (Threshold::Count(count), _) => {
                let left = count
                    .saturating_sub(1)
                    .saturating_sub(self.consecutive_failures);
                return (left, u64::MAX);
            }
            (Threshold::Rate(rate), WindowKind::Time { .. }) => rate,
            (Threshold::Rate(_), WindowKind::Count { .. }) => return (0, 0),
        };
        let counts = self.window.counts(now);
        // The rate after `k` more failures and any successes, where the rule applies:
        // it grows with `k` (failures never outnumber calls), so the answer is the
        // largest `k` below the threshold, found by bisection up to a bound (any
        // crossing publishes a new answer).
        let trips = |k: u32| {
            let (calls, failures) = (
                counts.calls.saturating_add(k),
                counts.failures.saturating_add(k),
            );
            self.reaches_where_applied(calls, failures, rate)
        };
        const BOUND: u32 = 1 << 16;
        if trips(1) {
            return (0, 0);
        }
        let (mut fits, mut over) = (1, BOUND);
        if !trips(over) {
            fits = over;
        }
        while over - fits > 1 {
            let mid = fits + (over - fits) / 2;
            if trips(mid) {
                over = mid;
            } else {
                fits = mid;
            }
        }
        (fits, self.window.stable_until(now))
    }

    /// Whether `part` (failed or slow) of `calls` reaches `rate` where the rule applies:
    /// counted over `minimum_requests` calls if fewer (the worst case the quiet path
    /// must rule out).
    fn reaches_where_applied(&self, calls: u32, part: u32, rate: f64) -> bool {
        let worst = Counts {
            calls: calls.max(self.minimum_requests),
            failures: 0,
            slow: 0,
        };
        part > 0 && self.config.rate_reaches(worst.rate(part), rate)
    }

    #[doc(hidden)] // For tripwire's bindings (see `tripwire_core::bindings`).
    /// The generation calls admitted now belong to; see [`Breaker::quiet_permit`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[doc(hidden)] // For tripwire's bindings (see `tripwire_core::bindings`).
    /// The permit `try_acquire` hands out at `issued_at` while the breaker is quiet
    /// ([`Breaker::quiet_until`]) in `generation`, made without asking the breaker.
    pub fn quiet_permit(&self, generation: u64, issued_at: u64) -> Permit {
        Permit {
            generation,
            issued_at,
            trial: false,
            opened_half: false,
        }
    }

    /// The effective state at `now`: HALF_OPEN once the open duration has passed,
    /// without waiting for the next acquire. Changes nothing.
    pub fn state(&self, now: u64) -> State {
        match (self.mode, self.state) {
            (Mode::ForcedOpen, _) => State::Open,
            (Mode::Disabled, _) => State::Closed,
            (Mode::Normal, State::Open) if now >= self.open_until => State::HalfOpen,
            (Mode::Normal, state) => state,
        }
    }

    /// Opens the circuit until `close` or `reset`.
    pub fn force_open(&mut self, now: u64) -> Transition {
        self.manual(now, Mode::ForcedOpen, State::Open, Cause::ForcedOpen)
    }

    /// When a binding's half-open timer should fire ([`Config::half_open_timer`]): the
    /// end of the open duration while OPEN (not forced); `None` otherwise (no timer:
    /// closed, half-open, forced open, disabled, or the option off). Ask again after
    /// every transition: at most one timer per breaker, only while it is open.
    pub fn half_open_due(&self) -> Option<u64> {
        (self.config.half_open_timer && self.mode == Mode::Normal && self.state == State::Open)
            .then_some(self.open_until)
    }

    /// Half-opens an OPEN breaker whose open duration has ended at `now` (what a
    /// half-open timer does; an acquire would do it too): the OPEN → HALF_OPEN
    /// transition, or `None` when there is nothing to do (not open, forced, or early).
    pub fn elapse(&mut self, now: u64) -> Option<Transition> {
        if self.mode != Mode::Normal || self.state != State::Open || now < self.open_until {
            return None;
        }
        self.enter(State::HalfOpen);
        Some(Transition {
            from: State::Open,
            to: State::HalfOpen,
            cause: Cause::OpenElapsed,
        })
    }

    /// Opens the circuit as if it had tripped: it half-opens after the open duration
    /// (backoff included: one more trip is counted), unlike [`Breaker::force_open`].
    /// Ends `disable` and a forced open.
    pub fn trip(&mut self, now: u64) -> Transition {
        let from = self.state(now);
        self.mode = Mode::Normal;
        self.trip_from(now, from, Cause::Opened)
    }

    /// Half-opens the circuit now: the next calls are trials. Ends `disable` and a
    /// forced open.
    pub fn half_open(&mut self, now: u64) -> Transition {
        self.manual(now, Mode::Normal, State::HalfOpen, Cause::HalfOpened)
    }

    /// Closes the circuit and clears the window (kept with [`Config::keep_window`]);
    /// totals are kept.
    pub fn close(&mut self, now: u64) -> Transition {
        self.trips = 0;
        self.failure_streak = 0;
        self.manual(now, Mode::Normal, State::Closed, Cause::Closed)
    }

    /// Back to a new breaker's state: closed, window and totals cleared.
    pub fn reset(&mut self, now: u64) -> Transition {
        self.trips = 0;
        self.failure_streak = 0;
        let cleared = core::mem::take(&mut self.totals);
        let history = &mut self.history.get_or_insert_with(Default::default).cleared;
        history.add(&cleared);
        self.last_success_at = None;
        self.last_failure_at = None;
        self.latencies = None;
        #[cfg(feature = "window-stats")]
        {
            self.rolling = None;
        }
        // `keep_window` keeps it across transitions, never across a reset.
        self.window.clear();
        self.manual(now, Mode::Normal, State::Closed, Cause::Reset)
    }

    /// Always permits, still counts, never trips, until `enable`.
    pub fn disable(&mut self, now: u64) -> Transition {
        self.trips = 0;
        self.manual(now, Mode::Disabled, State::Closed, Cause::Disabled)
    }

    /// Ends `disable`: the breaker applies its rules again, from the closed state.
    pub fn enable(&mut self, now: u64) -> Transition {
        let from = self.state(now);
        if self.mode == Mode::Disabled {
            self.mode = Mode::Normal;
        }
        Transition {
            from,
            to: self.state(now),
            cause: Cause::Enabled,
        }
    }

    /// Call durations since the breaker was made or reset, as a histogram with the
    /// edges [`DURATION_EDGES`] (exact counts: each edge is an edge of the breaker's
    /// own histogram).
    pub fn durations(&self) -> Durations {
        let below = self
            .latencies
            .as_ref()
            .map_or([0; DURATION_EDGES.len()], |h| h.cumulative(&DURATION_EDGES));
        Durations {
            below,
            count: self.totals.successes + self.totals.failures,
            sum: self.totals.latency_sum,
        }
    }

    /// Counts since the breaker was made, which `reset()` leaves alone.
    pub fn lifetime(&self) -> Lifetime {
        let mut all = self.totals;
        let mut transitions = [[0; 3]; 3];
        if let Some(h) = &self.history {
            all.add(&h.cleared);
            transitions = h.transitions;
        }
        Lifetime {
            successful: all.successes,
            failed: all.failures - all.timeouts,
            timeouts: all.timeouts,
            ignored: all.ignored,
            not_permitted: all.rejected,
            slow: all.slow,
            transitions,
        }
    }

    /// Counters, rates and timings at `now`. Changes nothing.
    pub fn stats(&self, now: u64) -> Stats {
        let window = self.window.counts(now);
        let requests = self.totals.successes + self.totals.failures;
        let quantile = |q| self.latencies.as_ref().and_then(|h| h.quantile(q));
        Stats {
            state: self.state(now),
            forced_open: self.mode == Mode::ForcedOpen,
            disabled: self.mode == Mode::Disabled,
            requests,
            successes: self.totals.successes,
            failures: self.totals.failures,
            timeouts: self.totals.timeouts,
            slow_calls: self.totals.slow,
            rejected: self.totals.rejected,
            ignored: self.totals.ignored,
            consecutive_failures: self.consecutive_failures,
            consecutive_successes: self.consecutive_successes,
            failure_streak: self.failure_streak,
            window_calls: window.calls,
            window_failures: window.failures,
            failure_rate: window.rate(window.failures),
            slow_call_rate: window.rate(window.slow),
            last_success_at: self.last_success_at,
            last_failure_at: self.last_failure_at,
            next_attempt_at: (self.mode == Mode::Normal && self.state == State::Open)
                .then_some(self.open_until),
            mean_latency: if requests == 0 {
                0.0
            } else {
                self.totals.latency_sum as f64 / requests as f64
            },
            latency_p50: quantile(0.5),
            latency_p90: quantile(0.9),
            latency_p99: quantile(0.99),
            trips: self.trips,
        }
    }

    /// The window's counts at `now` (calls, failures, slow).
    pub fn window_counts(&self, now: u64) -> (u32, u32, u32) {
        let c: Counts = self.window.counts(now);
        (c.calls, c.failures, c.slow)
    }

    fn permit(&self, now: u64, trial: bool, opened_half: bool) -> Permit {
        Permit {
            generation: self.generation,
            issued_at: now,
            trial,
            opened_half,
        }
    }

    /// A refusal at `now`, counted (and in the windowed statistics; and in the window,
    /// as a call that neither failed nor succeeded, with [`Config::rejects_in_rate`]).
    fn refuse(&mut self, now: u64, state: State, retry_after: Option<u64>) -> Rejected {
        if self.config.rejects_in_rate {
            self.window.record_n(now, false, false, 1);
        }
        #[cfg(feature = "window-stats")]
        if self.config.window_stats {
            self.rolling(now, Event::Reject, 1);
        }
        self.reject(state, retry_after)
    }

    /// Counts `n` events alike in the windowed statistics (made on first use).
    #[cfg(feature = "window-stats")]
    fn rolling(&mut self, now: u64, event: Event, n: u32) {
        if let WindowKind::Time { duration, buckets } = self.config.window {
            self.rolling
                .get_or_insert_with(|| alloc::boxed::Box::new(Rolling::new(duration, buckets)))
                .record(now, event, n);
        }
    }

    /// Counts a fallback the binding ran at `now` in the windowed statistics
    /// ([`Config::window_stats`]; nothing without it). No rule reads it.
    #[cfg_attr(not(feature = "window-stats"), allow(unused_variables))]
    pub fn record_fallback(&mut self, now: u64) {
        #[cfg(feature = "window-stats")]
        if self.config.window_stats {
            self.rolling(now, Event::Fallback, 1);
        }
    }

    /// The windowed statistics at `now` ([`Config::window_stats`]), or `None` without
    /// them. Changes nothing. Transitions keep them; `reset` clears them.
    #[cfg_attr(not(feature = "window-stats"), allow(unused_variables))]
    pub fn window_stats(&self, now: u64) -> Option<WindowStats> {
        #[cfg(feature = "window-stats")]
        if let (true, WindowKind::Time { duration, buckets }) =
            (self.config.window_stats, self.config.window)
        {
            return Some(match &self.rolling {
                Some(rolling) => rolling.stats(now),
                None => Rolling::new(duration, buckets).stats(now),
            });
        }
        None
    }

    pub(crate) fn reject(&mut self, state: State, retry_after: Option<u64>) -> Rejected {
        self.totals.rejected += 1;
        Rejected {
            state,
            retry_after,
            may_wait: false,
        }
    }

    fn count_totals(&mut self, outcome: Outcome, slow: bool, duration: u64, now: u64, n: u32) {
        let n64 = u64::from(n);
        match outcome {
            Outcome::Success => {
                self.totals.successes += n64;
                self.last_success_at = Some(now);
            }
            _ => {
                self.totals.failures += n64;
                if outcome == Outcome::Timeout {
                    self.totals.timeouts += n64;
                }
                self.last_failure_at = Some(now);
            }
        }
        if slow {
            self.totals.slow += n64;
        }
        self.totals.latency_sum += u128::from(duration) * u128::from(n);
        self.latencies
            .get_or_insert_with(Histogram::new)
            .record_n(duration, n);
        #[cfg(feature = "window-stats")]
        if self.config.window_stats {
            let event = match outcome {
                Outcome::Success => Event::Success(duration),
                _ => Event::Failure {
                    duration,
                    timeout: outcome == Outcome::Timeout,
                },
            };
            self.rolling(now, event, n);
        }
    }

    pub(crate) fn rules_trip(&self, now: u64) -> bool {
        rules_trip(
            &self.config,
            self.minimum_requests,
            self.window.counts(now),
            self.consecutive_failures,
        )
    }

    pub(crate) fn trip_from(&mut self, now: u64, from: State, cause: Cause) -> Transition {
        self.trips = self.trips.saturating_add(1);
        let duration = self.open_duration(self.trips);
        self.open_until = now.saturating_add(duration);
        self.enter(State::Open);
        Transition {
            from,
            to: State::Open,
            cause,
        }
    }

    /// The open duration for the `trips`-th consecutive trip.
    fn open_duration(&mut self, trips: u32) -> u64 {
        let base = self.config.open_duration;
        match self.config.backoff {
            Backoff::Fixed => base,
            Backoff::Exponential {
                multiplier,
                max,
                jitter,
            } => {
                let mut grown = base as f64;
                for _ in 1..trips {
                    grown *= multiplier;
                    if grown >= max as f64 {
                        break;
                    }
                }
                let capped = if grown >= max as f64 {
                    max
                } else {
                    grown as u64
                };
                if jitter == 0.0 {
                    return capped;
                }
                let extra = (capped as f64 * jitter * self.rng.next_unit()) as u64;
                capped.saturating_add(extra)
            }
        }
    }

    /// Enters `state` in a new generation with fresh counters. An open circuit keeps
    /// the window that tripped it, so its stats still say why it opened; half-open
    /// and closed start a fresh one, unless [`Config::keep_window`].
    pub(crate) fn enter(&mut self, state: State) {
        if state != self.state {
            let history = self.history.get_or_insert_with(Default::default);
            history.transitions[self.state.index()][state.index()] += 1;
        }
        self.state = state;
        self.generation += 1;
        if state != State::Open && !self.config.keep_window {
            self.window.clear();
        }
        self.consecutive_failures = 0;
        self.consecutive_successes = 0;
        self.trials_in_flight = 0;
    }

    fn manual(&mut self, now: u64, mode: Mode, state: State, cause: Cause) -> Transition {
        let from = self.state(now);
        self.mode = mode;
        self.enter(state);
        Transition {
            from,
            to: self.state(now),
            cause,
        }
    }
}

/// The trip rules, as one pure function of the window's counts and the consecutive
/// failures: what [`Breaker`] checks after a counted outcome while closed, and what
/// the fleet protocol checks on the fleet's totals plus a process's unflushed outcomes.
#[inline]
pub(crate) fn rules_trip(
    config: &Config,
    minimum_requests: u32,
    window: Counts,
    consecutive_failures: u32,
) -> bool {
    if window.calls < minimum_requests {
        return false;
    }
    let on_failures = match config.failure_threshold {
        Threshold::Count(count) => consecutive_failures >= count,
        Threshold::Rate(rate) => config.rate_reaches(window.rate(window.failures), rate),
    };
    on_failures
        || config
            .slow_call_rate_threshold
            .is_some_and(|rate| config.rate_reaches(window.rate(window.slow), rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Backoff;

    fn breaker(config: Config) -> Breaker {
        Breaker::new(config).unwrap()
    }

    #[test]
    fn every_cause_has_a_distinct_name() {
        let causes = Cause::ALL;
        let mut names: alloc::vec::Vec<&str> = causes.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), causes.len());
        let mut b = breaker(Config {
            failure_threshold: Threshold::Count(1),
            ..Config::default()
        });
        let p = b.try_acquire(0).unwrap();
        let t = b.record(p, Outcome::Failure, 0).unwrap();
        assert_eq!(t.cause.name(), "tripped");
    }

    #[test]
    fn durations_at_exact_edges() {
        assert!(DURATION_EDGES.iter().all(|&e| Histogram::is_edge(e)));
        let mut b = breaker(Config::default());
        for d in [0, 1_048_575, 1_048_576, 5_000_000, 1 << 40] {
            let p = b.try_acquire(0).unwrap();
            b.record(p, Outcome::Success, d);
        }
        let h = b.durations();
        assert_eq!(
            (h.count, h.below[0], h.below[1], h.below[2], h.below[8]),
            (5, 2, 3, 4, 4)
        );
    }

    #[test]
    fn lifetime_counts_survive_reset() {
        let mut b = breaker(Config {
            failure_threshold: Threshold::Count(1),
            ..Config::default()
        });
        let p = b.try_acquire(0).unwrap();
        b.record(p, Outcome::Success, 0);
        let p = b.try_acquire(0).unwrap();
        b.record(p, Outcome::Timeout, 0);
        assert!(b.try_acquire(0).is_err());
        b.reset(0);
        let p = b.try_acquire(0).unwrap();
        b.record(p, Outcome::Failure, 0);
        assert_eq!(
            b.stats(0).failures,
            1,
            "the stats' totals start again at reset"
        );
        let life = b.lifetime();
        assert_eq!(
            (
                life.successful,
                life.failed,
                life.timeouts,
                life.not_permitted
            ),
            (1, 1, 1, 1)
        );
        let t = life.transitions;
        assert_eq!(t[State::Closed.index()][State::Open.index()], 2);
        assert_eq!(
            t[State::Open.index()][State::Closed.index()],
            1,
            "reset closes"
        );
    }

    #[test]
    fn invalid_config_is_refused() {
        let err = Breaker::new(Config {
            success_threshold: 0,
            ..Config::default()
        })
        .unwrap_err();
        assert_eq!(err.field, "success_threshold");
    }

    #[test]
    fn latency_stats_come_from_recorded_durations() {
        let mut b = breaker(Config::default());
        for (start, took) in [(0, 10), (100, 20), (200, 30), (300, 40)] {
            let permit = b.try_acquire(start).unwrap();
            b.record(permit, Outcome::Success, start + took);
        }
        let stats = b.stats(400);
        assert_eq!(stats.mean_latency, 25.0);
        // Percentiles are bucket upper bounds: within 12.5 % above the true value.
        assert!(
            matches!(stats.latency_p50, Some(20..=22)),
            "{:?}",
            stats.latency_p50
        );
        assert!(
            matches!(stats.latency_p99, Some(40..=45)),
            "{:?}",
            stats.latency_p99
        );
        let idle = breaker(Config::default()).stats(0);
        assert_eq!((idle.mean_latency, idle.latency_p50), (0.0, None));
    }

    #[test]
    fn quiet_failures_stop_one_short_of_the_trip() {
        let mut b = breaker(Config {
            failure_threshold: Threshold::Count(3),
            ..Config::default()
        });
        let g = b.generation();
        assert_eq!(b.quiet_failures(0), (2, u64::MAX));
        assert_eq!(b.record_quiet_failures(g, 0, 1, 1), None);
        assert_eq!(b.quiet_failures(1).0, 1);
        assert_eq!(b.record_quiet_successes(g, 1, 2, 1), None);
        assert_eq!(
            b.quiet_failures(2).0,
            2,
            "a success resets the failures in a row"
        );
        assert_eq!(b.record_quiet_failures(g, 2, 3, 2), None);
        assert_eq!(b.quiet_failures(3).0, 0);
        let permit = b.quiet_permit(g, 3);
        assert!(
            b.record(permit, Outcome::Failure, 4).is_some(),
            "the third trips"
        );
        assert_eq!(b.quiet_failures(4), (0, 0), "open");
    }

    #[test]
    fn quiet_failures_under_a_rate_keep_it_below_until_the_window_moves() {
        // 50 % over a 10 s window of 1 s buckets (in ns), from 4 calls.
        let mut b = breaker(Config {
            failure_threshold: Threshold::Rate(0.5),
            minimum_requests: Some(4),
            window: WindowKind::Time {
                duration: 10_000,
                buckets: 10,
            },
            ..Config::default()
        });
        let g = b.generation();
        assert_eq!(b.quiet_failures(0), (1, 1_000), "1 of 4 stays below 50 %");
        assert_eq!(b.record_quiet_successes(g, 0, 1, 6), None);
        // With 6 successes, 5 failures make 5 of 11; a 6th would make 6 of 12.
        assert_eq!(b.quiet_failures(1_500), (5, 2_000));
        assert_eq!(b.record_quiet_failures(g, 1_500, 1_600, 5), None);
        assert_eq!(b.quiet_failures(1_600), (0, 0));
        let permit = b.quiet_permit(g, 1_600);
        assert!(
            b.record(permit, Outcome::Failure, 1_700).is_some(),
            "the 6th trips"
        );
        let counted = breaker(Config {
            failure_threshold: Threshold::Rate(0.5),
            window: WindowKind::Count { size: 100 },
            ..Config::default()
        });
        assert_eq!(
            counted.quiet_failures(0),
            (0, 0),
            "a count window pushes outcomes out"
        );
    }

    #[test]
    fn quiet_ends_when_outcomes_leave_the_time_window() {
        let mut b = breaker(Config {
            failure_threshold: Threshold::Rate(0.5),
            minimum_requests: Some(2),
            window: crate::config::WindowKind::Time {
                duration: 1_000,
                buckets: 2,
            },
            ..Config::default()
        });
        assert_eq!(b.quiet_until(0), u64::MAX, "no failure yet");
        for (at, outcome) in [
            (0, Outcome::Success),
            (1, Outcome::Success),
            (2, Outcome::Success),
            (600, Outcome::Failure),
        ] {
            let p = b.try_acquire(at).unwrap();
            assert_eq!(b.record(p, outcome, at), None);
        }
        // At 1000 the three successes leave: one success then makes 1 failure in 2.
        assert_eq!(b.quiet_until(600), 1_000);
        let p = b.try_acquire(1_000).unwrap();
        assert!(b.record(p, Outcome::Success, 1_000).is_some());
        assert_eq!(b.quiet_until(1_000), 0, "open");
    }

    #[test]
    fn not_quiet_when_one_success_reaches_the_minimum_over_the_rate() {
        let mut b = breaker(Config {
            failure_threshold: Threshold::Rate(0.5),
            minimum_requests: Some(3),
            ..Config::default()
        });
        for at in 0..2 {
            let p = b.try_acquire(at).unwrap();
            b.record(p, Outcome::Failure, at);
        }
        assert_eq!(b.quiet_until(2), 0, "2 failures in 3 calls would trip");
        let mut counted = breaker(Config::default());
        let p = counted.try_acquire(0).unwrap();
        counted.record(p, Outcome::Failure, 0);
        assert_eq!(
            counted.quiet_until(0),
            u64::MAX,
            "a success only resets a count"
        );
    }

    #[test]
    fn a_permit_recorded_twice_does_not_wrap_the_trial_count() {
        let config = Config {
            failure_threshold: Threshold::Count(1),
            open_duration: 10,
            success_threshold: 3,
            ..Config::default()
        };
        let mut b = breaker(config);
        let p = b.try_acquire(0).unwrap();
        b.record(p, Outcome::Failure, 0);
        let trial = b.try_acquire(10).unwrap();
        assert!(trial.is_trial() && trial.transition().is_some());
        b.record(trial, Outcome::Success, 11);
        b.record(trial, Outcome::Success, 12);
        assert_eq!(b.state(12), State::HalfOpen);
        assert!(b.try_acquire(12).is_ok());
        assert!(b.try_acquire(12).is_err(), "still one trial at a time");
    }

    #[test]
    fn nested_and_released_permits_count_without_holding_a_slot() {
        let config = Config {
            failure_threshold: Threshold::Count(1),
            open_duration: 10,
            success_threshold: 2,
            half_open_wait: true,
            ..Config::default()
        };
        let mut b = breaker(config);
        let p = b.try_acquire(0).unwrap();
        b.record(p, Outcome::Failure, 0);
        let outer = b.try_acquire(10).unwrap();
        assert!(b.try_acquire(10).unwrap_err().may_wait, "one trial slot");
        let inner = b.try_acquire_nested(10).unwrap();
        assert!(!inner.is_trial());
        assert_eq!(b.record(inner, Outcome::Success, 11), None);
        assert!(b.try_acquire(11).is_err(), "the nested call freed no slot");
        let outer = b.release_slot(outer);
        let other = b.try_acquire(12).expect("the released slot is free");
        assert!(b.try_acquire(12).is_err());
        let t = b
            .record(outer, Outcome::Success, 13)
            .expect("two trial successes close");
        assert_eq!(t.to, State::Closed);
        b.record(other, Outcome::Failure, 14);
        assert_eq!(
            b.state(14),
            State::Closed,
            "a permit of an older generation"
        );
        assert!(b.try_acquire_nested(14).is_ok_and(|p| !p.is_trial()));
    }

    #[test]
    fn backoff_jitter_stays_within_its_fraction() {
        let config = Config {
            failure_threshold: Threshold::Count(1),
            open_duration: 1_000,
            backoff: Backoff::Exponential {
                multiplier: 3.0,
                max: 100_000,
                jitter: 0.25,
            },
            seed: 7,
            ..Config::default()
        };
        let mut b = breaker(config);
        let mut now = 0;
        let mut expected = 1_000u64;
        for _ in 0..8 {
            let p = b.try_acquire(now).unwrap();
            b.record(p, Outcome::Failure, now);
            let wait = b.stats(now).next_attempt_at.unwrap() - now;
            assert!(
                wait >= expected && wait <= expected + expected / 4,
                "{wait} vs {expected}"
            );
            now += wait;
            expected = (expected * 3).min(100_000);
        }
    }
}
