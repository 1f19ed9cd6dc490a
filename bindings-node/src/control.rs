//! The control API's decisions (`tripwire_core::control::Control`) and the dashboard's
//! state (its history and alert feed, `tripwire_core::dashboard`), for
//! `bindings-node/control.js`: JS reads the request, asks [`NativeControl::route`],
//! runs the route against its service and writes the response. Every rule (routes,
//! token, host, origin, body, rate limit, problem bodies) is the core's.

use napi::{Error, Result, Status};
use napi_derive::napi;
use tripwire_core::control::{Control, ControlConfig, Decision, Request, Response, Route};
use tripwire_core::dashboard::{self, DeadLetterView, Feed, FeedItem, History};
use tripwire_core::metrics::Format;

use crate::metrics::with_snapshot;
use crate::now_nanos;

/// The parts of a request the decisions read.
#[napi(object)]
pub struct NativeRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// The path as sent, query included, from the server's root (mount point included).
    pub path: String,
    /// `Host`.
    pub host: Option<String>,
    /// `Origin`.
    pub origin: Option<String>,
    /// `Authorization`.
    pub authorization: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Length`, when sent.
    pub content_length: Option<f64>,
    /// `Accept`.
    pub accept: Option<String>,
}

/// A whole response (a refusal or an error), `application/problem+json`.
#[napi(object)]
pub struct NativeResponse {
    /// The HTTP status.
    pub status: u32,
    /// Extra headers as `[name, value]` pairs.
    pub headers: Vec<Vec<String>>,
    /// The body.
    pub body: String,
}

impl From<Response> for NativeResponse {
    fn from(r: Response) -> Self {
        NativeResponse {
            status: u32::from(r.status),
            headers: r
                .headers
                .into_iter()
                .map(|(k, v)| vec![k.to_string(), v])
                .collect(),
            body: r.body,
        }
    }
}

/// A route to run.
#[napi(object)]
pub struct NativeRoute {
    /// `health`, `state`, `reset`, `force-open`, `dead-letter-queue`, `retry`,
    /// `config`, `metrics`, `snapshot`, `dashboard` or `asset`.
    pub kind: String,
    /// The name audit events carry (`Route::name`).
    pub name: String,
    /// Whether it changes the service (audited).
    pub mutation: bool,
    /// The service named in the path.
    pub service: Option<String>,
    /// The operation named in the path.
    pub operation: Option<String>,
    /// A dead letter's id.
    pub id: Option<f64>,
    /// `metrics`: OpenMetrics rather than Prometheus text.
    pub open_metrics: bool,
    /// `asset`: the file.
    pub asset: Option<String>,
}

/// What to do with a request: `kind` is `handle` (with `route`), `respond` (with
/// `response`) or `not-mine` (outside the base path).
#[napi(object)]
pub struct NativeDecision {
    /// `handle`, `respond` or `not-mine`.
    pub kind: String,
    /// For `handle`.
    pub route: Option<NativeRoute>,
    /// For `respond`.
    pub response: Option<NativeResponse>,
}

fn route_of(route: Route) -> NativeRoute {
    let mut out = NativeRoute {
        kind: route.name().to_string(),
        name: route.name().to_string(),
        mutation: route.is_mutation(),
        service: None,
        operation: None,
        id: None,
        open_metrics: false,
        asset: None,
    };
    match route {
        Route::State { service, operation } => {
            out.service = service;
            out.operation = operation;
        }
        Route::Reset { service, operation } | Route::ForceOpen { service, operation } => {
            out.service = Some(service);
            out.operation = operation;
        }
        Route::Config { service } => out.service = Some(service),
        Route::Retry { id } => out.id = Some(id as f64),
        Route::Metrics(format) => out.open_metrics = format == Format::OpenMetrics,
        Route::Asset(file) => {
            out.kind = "asset".into();
            out.asset = Some(file.to_string());
        }
        Route::Health | Route::DeadLetters | Route::Snapshot | Route::Dashboard => {}
    }
    out
}

/// A dead letter as the dashboard lists it (JS holds its error and time).
#[napi(object)]
pub struct NativeLetterView {
    /// Its id.
    pub id: f64,
    /// Its service.
    pub service: String,
    /// Its operation (`""` for none).
    pub operation: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The last error's message.
    pub error: String,
    /// When it failed last, epoch ms.
    pub time: f64,
}

/// Alert kinds the feed knows (the engine's, see `AlertKind::as_str`).
const ALERT_KINDS: [&str; 5] = [
    "circuit-opened",
    "high-error-rate",
    "bulkhead-full",
    "dead-letter-queue",
    "all-circuits-open",
];

/// One control API: its decisions, its mutation rate limit, the dashboard's history
/// and alert feed.
/// Why `token` cannot be a control token (the core's rule), or null.
#[napi]
pub fn control_token_problem(token: String) -> Option<String> {
    tripwire_core::control::token_problem(&token)
}

#[napi]
pub struct NativeControl {
    control: Control,
    history: History,
    feed: Feed,
}

#[napi]
impl NativeControl {
    /// A control API under `basePath`; `token` for mutations (none: mutations refused);
    /// `loopback`: bound to loopback only (reads open, `Host` checked).
    #[napi(constructor)]
    pub fn new(base_path: String, token: Option<String>, loopback: bool) -> Self {
        NativeControl {
            control: Control::new(ControlConfig {
                base_path,
                token,
                loopback,
            }),
            history: History::default(),
            feed: Feed::default(),
        }
    }

    /// The base path, without a trailing `/`.
    #[napi(getter)]
    pub fn base_path(&self) -> String {
        self.control.config().base_path.clone()
    }

    /// Decides what to do with a request (the rate limit reads the process clock).
    #[napi]
    pub fn route(&mut self, request: NativeRequest) -> NativeDecision {
        let content_length = request
            .content_length
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n as usize);
        let r = Request {
            method: &request.method,
            path: &request.path,
            host: request.host.as_deref(),
            origin: request.origin.as_deref(),
            authorization: request.authorization.as_deref(),
            content_type: request.content_type.as_deref(),
            content_length,
            accept: request.accept.as_deref(),
        };
        match self.control.route(&r, now_nanos()) {
            Decision::Handle(route) => NativeDecision {
                kind: "handle".into(),
                route: Some(route_of(route)),
                response: None,
            },
            Decision::Respond(response) => NativeDecision {
                kind: "respond".into(),
                route: None,
                response: Some(response.into()),
            },
            Decision::NotMine => NativeDecision {
                kind: "not-mine".into(),
                route: None,
                response: None,
            },
        }
    }

    /// The 413 response to a body found too long while reading it.
    #[napi]
    pub fn too_large(&self) -> NativeResponse {
        self.control.too_large().into()
    }

    /// The response to a user error (a bad configuration, an unknown item).
    #[napi]
    pub fn error(&self, status: u32, detail: String) -> NativeResponse {
        self.control
            .error(u16::try_from(status).unwrap_or(500), &detail)
            .into()
    }

    /// Headers every response carries, as `[name, value]` pairs.
    #[napi]
    pub fn headers(&self) -> Vec<Vec<String>> {
        self.control
            .headers()
            .iter()
            .map(|(k, v)| vec![k.to_string(), v.to_string()])
            .collect()
    }

    /// Adds an alert to the dashboard's feed (unknown kinds are ignored).
    #[napi]
    pub fn push_alert(
        &mut self,
        kind: String,
        service: Option<String>,
        operation: Option<String>,
        message: String,
        time: f64,
    ) {
        if let Some(kind) = ALERT_KINDS.iter().find(|k| **k == kind) {
            self.feed.push(FeedItem {
                kind,
                service,
                operation,
                message,
                time,
            });
        }
    }

    /// The `/snapshot` JSON of service `svc` read at `svcNowMs` (NaN: the process
    /// clock), with its dead letters; samples the history first.
    #[napi]
    pub fn snapshot(
        &mut self,
        svc: u32,
        svc_now_ms: f64,
        epoch_ms: f64,
        letters: Vec<NativeLetterView>,
        version: String,
    ) -> Result<String> {
        let views: Vec<DeadLetterView<'_>> = letters
            .iter()
            .map(|l| DeadLetterView {
                id: l.id as u64,
                service: &l.service,
                operation: &l.operation,
                attempts: l.attempts,
                error: &l.error,
                time: l.time,
            })
            .collect();
        let (history, feed) = (&mut self.history, &self.feed);
        let found = crate::service::with_service(svc, |_| Ok(()));
        found.map_err(|_| Error::new(Status::InvalidArg, format!("no service {svc}")))?;
        with_snapshot(
            &[],
            &[],
            &[],
            &[svc],
            &[svc_now_ms],
            &version,
            |snapshot, process| {
                history.observe(snapshot, process, epoch_ms);
                let now = crate::metrics::instant(svc_now_ms, process);
                dashboard::render(snapshot, &views, feed, history, now, epoch_ms)
            },
        )
    }
}
