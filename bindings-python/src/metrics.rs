//! Metrics at scrape time and the control API's decisions, for `tripwire/_ops.py`.
//!
//! [`metrics_text`] builds one core snapshot ([`tripwire_core::metrics::Snapshot`]) of
//! the registry's breakers and of the services passed (the live
//! `CircuitBreakerService`s), rendered by the core. [`Control`] wraps the core's
//! `Control` (routes, token, host, origin, body, rate limit, problem+json bodies) and
//! the dashboard's history and alert feed (`tripwire_core::dashboard`). Nothing here
//! runs per call, and no rule lives here.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use tripwire_core::control::{
    Control as CoreControl, ControlConfig, Decision, Request, Response, Route,
};
use tripwire_core::dashboard::{self, DeadLetterView, Feed, FeedItem, History};
use tripwire_core::metrics::{render, BreakerSample, Format, Labels, Snapshot};
use tripwire_core::Clock;

use crate::breaker::Breaker;
use crate::clock::AnyClock;
use crate::registry;
use crate::service::Service;

/// Builds one snapshot and hands it to `f` with the process clock's reading: first
/// the services (each read on its own clock; unused ones skipped), then the registry's
/// breakers that no service holds, as standalone breakers (each on its own clock).
fn with_snapshot<R>(
    py: Python<'_>,
    services: &[Bound<'_, Service>],
    version: &str,
    f: impl FnOnce(&Snapshot<'_>, u64) -> R,
) -> R {
    // The registry first, copied: its lock is never held while an engine is locked (a
    // service's breaker factory registers breakers under the engine's lock).
    let entries = registry::entries(py);
    let mut seen = HashSet::new();
    let services: Vec<&Service> = services
        .iter()
        .map(Bound::get)
        .filter(|s| seen.insert(*s as *const Service))
        .collect();
    let guards: Vec<_> = services.iter().map(|s| s.lock(py)).collect();
    let mut names_of: Vec<Vec<String>> = Vec::new();
    names_of.resize_with(guards.len(), Vec::new);
    let mut snapshot = Snapshot {
        version,
        runtime: "python",
        ..Snapshot::default()
    };
    let mut held: HashSet<*const Breaker> = HashSet::new();
    for ((guard, names), svc) in guards.iter().zip(names_of.iter_mut()).zip(&services) {
        let engine = &guard.engine;
        if engine.is_pristine() {
            continue;
        }
        engine.metrics(svc.now(), names, &mut snapshot);
        held.extend(
            engine
                .circuits()
                .map(|(_, _, h)| h.breaker().get() as *const Breaker),
        );
    }
    let standalone: Vec<(&str, _)> = entries
        .iter()
        .filter(|(_, b)| !held.contains(&(b.get() as *const Breaker)))
        .map(|(name, b)| (name.as_str(), b.get().sample(None)))
        .collect();
    for (name, (stats, lifetime, durations)) in standalone {
        snapshot.breakers.push(BreakerSample {
            labels: Labels {
                name,
                service: "",
                operation: "",
            },
            stats,
            lifetime,
            durations,
        });
    }
    let process = AnyClock::Monotonic.now();
    let out = f(&snapshot, process);
    drop(snapshot);
    drop(guards);
    out
}

/// The metrics of the registry's breakers and of `services` (the live
/// `CircuitBreakerService` engines), as Prometheus text 0.0.4 or, with `open_metrics`,
/// OpenMetrics 1.0.
#[pyfunction]
fn _metrics_text(
    py: Python<'_>,
    open_metrics: bool,
    services: Vec<Bound<'_, Service>>,
    version: &str,
) -> String {
    let format = if open_metrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    with_snapshot(py, &services, version, |s, _| render(s, format))
}

/// `(prometheus, openmetrics)`: the `Content-Type` of each format.
#[pyfunction]
fn _metrics_content_types() -> (&'static str, &'static str) {
    (
        Format::Prometheus.content_type(),
        Format::OpenMetrics.content_type(),
    )
}

/// Alert kinds the feed knows (the engine's, see `AlertKind::as_str`).
const ALERT_KINDS: [&str; 5] = [
    "circuit-opened",
    "high-error-rate",
    "bulkhead-full",
    "dead-letter-queue",
    "all-circuits-open",
];

struct ControlState {
    control: CoreControl,
    history: History,
    feed: Feed,
}

/// One control API: the core's decisions and mutation rate limit, the dashboard's
/// history and alert feed.
#[pyclass(frozen, module = "tripwire._core")]
pub struct Control {
    state: Mutex<ControlState>,
}

/// A whole response: `(status, [(name, value)], body)`.
type Whole = (u16, Vec<(String, String)>, String);

fn whole(r: Response) -> Whole {
    (
        r.status,
        r.headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        r.body,
    )
}

/// A route as `(kind, name, mutation, service, operation, id, open_metrics, asset)`.
type RouteTuple = (
    &'static str,
    &'static str,
    bool,
    Option<String>,
    Option<String>,
    Option<u64>,
    bool,
    Option<&'static str>,
);

fn route_tuple(route: Route) -> RouteTuple {
    let (name, mutation) = (route.name(), route.is_mutation());
    let mut out: RouteTuple = (name, name, mutation, None, None, None, false, None);
    match route {
        Route::State { service, operation } => {
            out.3 = service;
            out.4 = operation;
        }
        Route::Reset { service, operation } | Route::ForceOpen { service, operation } => {
            out.3 = Some(service);
            out.4 = operation;
        }
        Route::Config { service } => out.3 = Some(service),
        Route::Retry { id } => out.5 = Some(id),
        Route::Metrics(format) => out.6 = format == Format::OpenMetrics,
        Route::Asset(file) => {
            out.0 = "asset";
            out.7 = Some(file);
        }
        Route::Health | Route::DeadLetters | Route::Snapshot | Route::Dashboard => {}
    }
    out
}

impl Control {
    fn state(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl Control {
    /// A control API under `base_path`; `token` for mutations (None: mutations
    /// refused); `loopback`: bound to loopback only (reads open, `Host` checked).
    #[new]
    #[pyo3(signature = (base_path, token, loopback))]
    fn new(base_path: String, token: Option<String>, loopback: bool) -> Self {
        Control {
            state: Mutex::new(ControlState {
                control: CoreControl::new(ControlConfig {
                    base_path,
                    token,
                    loopback,
                }),
                history: History::default(),
                feed: Feed::default(),
            }),
        }
    }

    /// The base path, without a trailing `/`.
    #[getter]
    fn base_path(&self) -> String {
        self.state().control.config().base_path.clone()
    }

    /// What to do with a request: `("handle", route)`, `("respond", (status, headers,
    /// body))` or `("not-mine", None)` (outside the base path). The rate limit reads
    /// the process clock.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, path, host, origin, authorization, content_type, content_length, accept))]
    fn route<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        path: &str,
        host: Option<&str>,
        origin: Option<&str>,
        authorization: Option<&str>,
        content_type: Option<&str>,
        content_length: Option<u64>,
        accept: Option<&str>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let request = Request {
            method,
            path,
            host,
            origin,
            authorization,
            content_type,
            content_length: content_length.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            accept,
        };
        let decision = self
            .state()
            .control
            .route(&request, AnyClock::Monotonic.now());
        match decision {
            Decision::Handle(route) => ("handle", route_tuple(route)).into_pyobject(py),
            Decision::Respond(r) => ("respond", whole(r)).into_pyobject(py),
            Decision::NotMine => ("not-mine", py.None()).into_pyobject(py),
        }
    }

    /// The 413 response to a body found too long while reading it.
    fn too_large(&self) -> Whole {
        whole(self.state().control.too_large())
    }

    /// The response to a user error (a bad configuration, an unknown item).
    fn error(&self, status: u16, detail: &str) -> Whole {
        whole(self.state().control.error(status, detail))
    }

    /// Headers every response carries, after its `Content-Type`.
    fn headers(&self) -> Vec<(&'static str, &'static str)> {
        self.state().control.headers().to_vec()
    }

    /// Adds an alert to the dashboard's feed (`time` in epoch ms; unknown kinds are
    /// ignored).
    #[pyo3(signature = (kind, service, operation, message, time))]
    fn push_alert(
        &self,
        kind: &str,
        service: Option<String>,
        operation: Option<String>,
        message: String,
        time: f64,
    ) {
        if let Some(kind) = ALERT_KINDS.iter().find(|k| **k == kind) {
            self.state().feed.push(FeedItem {
                kind,
                service,
                operation,
                message,
                time,
            });
        }
    }

    /// The `/snapshot` JSON of `service` with its dead letters `letters` (`(id,
    /// service, operation, attempts, error, time_ms)`); samples the history first.
    fn snapshot(
        &self,
        py: Python<'_>,
        service: Bound<'_, Service>,
        epoch_ms: f64,
        letters: &Bound<'_, PyList>,
        version: &str,
    ) -> PyResult<String> {
        let letters: Vec<(u64, String, String, u32, String, f64)> = letters
            .iter()
            .map(|l| l.extract())
            .collect::<PyResult<_>>()
            .map_err(|e| PyValueError::new_err(format!("dead letters: {e}")))?;
        let views: Vec<DeadLetterView<'_>> = letters
            .iter()
            .map(|l| DeadLetterView {
                id: l.0,
                service: &l.1,
                operation: &l.2,
                attempts: l.3,
                error: &l.4,
                time: l.5,
            })
            .collect();
        let now = service.get().now();
        let services = [service];
        // The control's lock is taken inside the snapshot, after the engine's (the
        // control never locks an engine while holding its own lock).
        Ok(with_snapshot(
            py,
            &services,
            version,
            |snapshot, process| {
                let mut state = self.state();
                let state = &mut *state;
                state.history.observe(snapshot, process, epoch_ms);
                dashboard::render(snapshot, &views, &state.feed, &state.history, now, epoch_ms)
            },
        ))
    }
}

/// Why `token` cannot be a control token (the core's rule), or None.
#[pyfunction]
fn _control_token_problem(token: &str) -> Option<String> {
    tripwire_core::control::token_problem(token)
}

/// Registers the functions and `Control`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_metrics_text, m)?)?;
    m.add_function(wrap_pyfunction!(_metrics_content_types, m)?)?;
    m.add_function(wrap_pyfunction!(_control_token_problem, m)?)?;
    m.add_class::<Control>()?;
    Ok(())
}
