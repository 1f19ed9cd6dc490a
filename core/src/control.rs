//! The control API's decisions, the same in every runtime: which route a request is,
//! whether it may run (token, host, origin, body, rate), and the error responses.
//! A binding reads the request, asks [`Control::route`], runs the route against its
//! resilience service and writes the response with [`Control::headers`]; every refusal
//! is answered here, as `application/problem+json`.
//!
//! Secure by default: reads are open on a loopback bind (and need the token
//! otherwise, except the dashboard's page and files, which hold no data: a browser
//! cannot send a header when it loads a page); every mutation needs `Authorization: Bearer <token>` (compared in
//! constant time), and is refused outright when no token is configured; on a
//! loopback bind the `Host` must be a loopback name (DNS rebinding); a mutation's
//! body must be empty or JSON of at most [`MAX_BODY`] bytes; an `Origin`, when sent,
//! must be the server's own; mutations are rate-limited by a token bucket.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::metrics::Format;
use crate::NANOS_PER_SEC;

/// The base path the control API answers under by default.
pub const DEFAULT_BASE_PATH: &str = "/api/circuit-breaker";
/// The largest request body accepted (64 KiB).
pub const MAX_BODY: usize = 64 * 1024;
/// The longest token accepted (HTTP servers refuse longer headers sooner or later).
pub const MAX_TOKEN: usize = 1024;
/// Mutations allowed in a burst.
pub const MUTATION_BURST: u32 = 20;
/// Mutations allowed per second after a burst.
pub const MUTATIONS_PER_SECOND: u32 = 5;
/// The files of the dashboard served under `/dashboard/` (`dashboard.css` is the page's
/// own stylesheet: `index.html` links it, and the CSP allows no inline style).
pub const DASHBOARD_ASSETS: [&str; 4] = [
    "tripwire-dashboard.js",
    "uPlot.iife.min.js",
    "uPlot.min.css",
    "dashboard.css",
];

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`: the service's health report.
    Health,
    /// `GET /state[/:service[/:operation]]`: breakers' stats.
    State {
        /// Only this service's.
        service: Option<String>,
        /// Only this operation's.
        operation: Option<String>,
    },
    /// `POST /reset/:service[/:operation]`.
    Reset {
        /// The service.
        service: String,
        /// One operation, or all.
        operation: Option<String>,
    },
    /// `POST /force-open/:service[/:operation]`.
    ForceOpen {
        /// The service.
        service: String,
        /// One operation, or all (and those first used later).
        operation: Option<String>,
    },
    /// `GET /dead-letter-queue`.
    DeadLetters,
    /// `POST /retry/:itemId`.
    Retry {
        /// The dead letter.
        id: u64,
    },
    /// `PUT /config/:service` with a JSON body, as `updateServiceConfig`.
    Config {
        /// The service.
        service: String,
    },
    /// `GET /metrics`, in the format the `Accept` header prefers.
    Metrics(Format),
    /// `GET /snapshot`: everything the dashboard shows, in one response.
    Snapshot,
    /// `GET /dashboard`: the dashboard page (`dashboard/index.html`: relative URLs, so
    /// it works wherever the API is mounted).
    Dashboard,
    /// `GET /dashboard/<file>`: one of [`DASHBOARD_ASSETS`].
    Asset(&'static str),
}

impl Route {
    /// Whether the route is the dashboard's page or one of its files: static, no data.
    pub fn is_page(&self) -> bool {
        matches!(self, Route::Dashboard | Route::Asset(_))
    }

    /// Whether the route changes the service (and so needs the token, and is audited).
    pub fn is_mutation(&self) -> bool {
        matches!(
            self,
            Route::Reset { .. }
                | Route::ForceOpen { .. }
                | Route::Retry { .. }
                | Route::Config { .. }
        )
    }

    /// A short name for audit events and logs (`reset`, `force-open`...).
    pub fn name(&self) -> &'static str {
        match self {
            Route::Health => "health",
            Route::State { .. } => "state",
            Route::Reset { .. } => "reset",
            Route::ForceOpen { .. } => "force-open",
            Route::DeadLetters => "dead-letter-queue",
            Route::Retry { .. } => "retry",
            Route::Config { .. } => "config",
            Route::Metrics(_) => "metrics",
            Route::Snapshot => "snapshot",
            Route::Dashboard | Route::Asset(_) => "dashboard",
        }
    }
}

/// The parts of a request the decisions read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Request<'a> {
    /// `GET`, `POST`...
    pub method: &'a str,
    /// The path as sent, query included, relative to the server's root (with the mount
    /// point of a framework included: the base path is matched within it).
    pub path: &'a str,
    /// The `Host` header.
    pub host: Option<&'a str>,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body's length, when known before reading it.
    pub content_length: Option<usize>,
    /// The `Accept` header.
    pub accept: Option<&'a str>,
}

/// A response the decisions made whole (a refusal or an error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Headers besides [`Control::headers`].
    pub headers: Vec<(&'static str, String)>,
    /// `application/problem+json`.
    pub body: String,
}

/// The answer to [`Control::route`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Run this route (a mutation's body, if any, is at most [`MAX_BODY`] bytes: check
    /// its length as it is read with [`Control::too_large`]).
    Handle(Route),
    /// Answer with this.
    Respond(Response),
    /// The path is outside the base path: the next handler's (or a 404).
    NotMine,
}

/// How a control API is set up.
#[derive(Clone, Debug)]
pub struct ControlConfig {
    /// Where it answers (no trailing `/`).
    pub base_path: String,
    /// The bearer token for mutations (and for reads off loopback); `None`: no mutation.
    pub token: Option<String>,
    /// Bound to a loopback address only: reads need no token, `Host` must be loopback.
    pub loopback: bool,
}

/// One control API's decisions and its mutation rate limit.
#[derive(Clone, Debug)]
pub struct Control {
    config: ControlConfig,
    tokens: f64,
    refilled_at: Option<u64>,
}

impl Control {
    /// A control API answering under `config.base_path`.
    pub fn new(mut config: ControlConfig) -> Control {
        while config.base_path.ends_with('/') {
            config.base_path.pop();
        }
        Control {
            config,
            tokens: f64::from(MUTATION_BURST),
            refilled_at: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ControlConfig {
        &self.config
    }

    /// Decides what to do with `request` at `now` (monotonic ns, for the rate limit).
    pub fn route(&mut self, request: &Request<'_>, now: u64) -> Decision {
        let path = request.path.split(['?', '#']).next().unwrap_or("");
        let Some(rest) = path.strip_prefix(self.config.base_path.as_str()) else {
            return Decision::NotMine;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Decision::NotMine;
        }
        if self.config.loopback && !request.host.is_some_and(is_loopback_host) {
            return respond(
                403,
                "Host not allowed",
                "this control API answers loopback host names only (DNS rebinding protection)",
            );
        }
        let segments: Vec<&str> = rest.split('/').skip(1).collect();
        let mut decoded = Vec::with_capacity(segments.len());
        for s in &segments {
            match percent_decode(s) {
                Some(d) => decoded.push(d),
                None => {
                    return respond(
                        400,
                        "Bad path",
                        "a path segment is not valid percent-encoded UTF-8",
                    )
                }
            }
        }
        let route = match self.parse(request, &segments, decoded) {
            Ok(route) => route,
            Err(response) => return Decision::Respond(response),
        };
        let needs_token = route.is_mutation() || !(self.config.loopback || route.is_page());
        if needs_token {
            let Some(token) = &self.config.token else {
                if route.is_mutation() {
                    return respond(403, "Mutations disabled", "no control token is configured: set one to reset, force open, retry or configure");
                }
                return respond(403, "Forbidden", "a control API off loopback needs a token");
            };
            // The scheme's name is case-insensitive (RFC 9110).
            let given = request
                .authorization
                .filter(|a| {
                    a.get(..7)
                        .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
                })
                .map_or("", |a| &a[7..]);
            if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
                let mut r = problem(401, "Unauthorized", "send Authorization: Bearer <token>");
                r.headers
                    .push(("WWW-Authenticate", "Bearer realm=\"tripwire\"".to_string()));
                return Decision::Respond(r);
            }
        }
        if route.is_mutation() {
            if let Some(origin) = request.origin {
                if !same_origin(origin, request.host.unwrap_or("")) {
                    return respond(
                        403,
                        "Cross-origin request",
                        "mutations are accepted from this server's own origin only",
                    );
                }
            }
            let has_body =
                request.content_length.is_none_or(|n| n > 0) && request.content_type.is_some();
            if has_body && !request.content_type.is_some_and(is_json) {
                return respond(
                    415,
                    "Unsupported media type",
                    "send a JSON body (application/json) or none",
                );
            }
            if request.content_length.is_some_and(|n| n > MAX_BODY) {
                return Decision::Respond(self.too_large());
            }
            if let Some(wait) = self.take_token(now) {
                let mut r = problem(429, "Too many requests", "mutations are rate-limited");
                r.headers.push(("Retry-After", wait.to_string()));
                return Decision::Respond(r);
            }
        }
        Decision::Handle(route)
    }

    fn parse(
        &self,
        request: &Request<'_>,
        raw: &[&str],
        seg: Vec<String>,
    ) -> Result<Route, Response> {
        let method = request.method;
        let name = |i: usize| seg.get(i).cloned();
        let (allowed, route) = match raw {
            ["health"] => ("GET", Some(Route::Health)),
            ["state"] | ["state", _] | ["state", _, _] => (
                "GET",
                Some(Route::State {
                    service: name(1),
                    operation: name(2),
                }),
            ),
            ["reset", _] | ["reset", _, _] => (
                "POST",
                Some(Route::Reset {
                    service: seg[1].clone(),
                    operation: name(2),
                }),
            ),
            ["force-open", _] | ["force-open", _, _] => (
                "POST",
                Some(Route::ForceOpen {
                    service: seg[1].clone(),
                    operation: name(2),
                }),
            ),
            ["dead-letter-queue"] => ("GET", Some(Route::DeadLetters)),
            ["retry", _] => match seg[1].parse::<u64>() {
                Ok(id) if !seg[1].starts_with('+') => ("POST", Some(Route::Retry { id })),
                _ => {
                    return Err(problem(
                        404,
                        "Not found",
                        "no dead-letter item with that id",
                    ))
                }
            },
            ["config", _] => (
                "PUT",
                Some(Route::Config {
                    service: seg[1].clone(),
                }),
            ),
            ["metrics"] => ("GET", Some(Route::Metrics(negotiate(request.accept)))),
            ["snapshot"] => ("GET", Some(Route::Snapshot)),
            ["dashboard"] => ("GET", Some(Route::Dashboard)),
            ["dashboard", file] => match DASHBOARD_ASSETS.iter().find(|a| *a == file) {
                Some(asset) => ("GET", Some(Route::Asset(asset))),
                None => ("GET", None),
            },
            _ => ("GET", None),
        };
        let Some(route) = route else {
            return Err(problem(404, "Not found", "no such control endpoint"));
        };
        let method_ok = method == allowed || (allowed == "GET" && method == "HEAD");
        if !method_ok {
            let mut r = problem(405, "Method not allowed", &format!("use {allowed}"));
            r.headers.push(("Allow", allowed.to_string()));
            return Err(r);
        }
        Ok(route)
    }

    /// The response to a body found longer than [`MAX_BODY`] while reading it.
    pub fn too_large(&self) -> Response {
        problem(
            413,
            "Payload too large",
            &format!("bodies are limited to {MAX_BODY} bytes"),
        )
    }

    /// The response to a route that failed with a user error (a bad configuration, an
    /// unknown item): `status` 400 or 404, and the error's message.
    pub fn error(&self, status: u16, detail: &str) -> Response {
        let title = match status {
            400 => "Bad request",
            404 => "Not found",
            409 => "Conflict",
            _ => "Error",
        };
        problem(status, title, detail)
    }

    /// Headers every response carries, after its `Content-Type`.
    pub fn headers(&self) -> [(&'static str, &'static str); 4] {
        [
            (
                "Content-Security-Policy",
                "default-src 'self'; frame-ancestors 'none'",
            ),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),
        ]
    }

    /// Takes one mutation from the bucket; `Some(seconds)` to wait when it is empty.
    fn take_token(&mut self, now: u64) -> Option<u64> {
        let burst = f64::from(MUTATION_BURST);
        let rate = f64::from(MUTATIONS_PER_SECOND);
        if let Some(at) = self.refilled_at {
            let elapsed = now.saturating_sub(at) as f64 / NANOS_PER_SEC as f64;
            self.tokens = (self.tokens + elapsed * rate).min(burst);
        }
        self.refilled_at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            // Whole seconds, at least 1 (`Retry-After` takes no fraction).
            Some((((1.0 - self.tokens) / rate) as u64).max(1))
        }
    }
}

fn respond(status: u16, title: &str, detail: &str) -> Decision {
    Decision::Respond(problem(status, title, detail))
}

/// An `application/problem+json` response (RFC 9457).
pub fn problem(status: u16, title: &str, detail: &str) -> Response {
    let mut body = String::from("{\"type\":\"about:blank\",\"title\":");
    json_string(&mut body, title);
    body.push_str(",\"status\":");
    body.push_str(&status.to_string());
    body.push_str(",\"detail\":");
    json_string(&mut body, detail);
    body.push('}');
    Response {
        status,
        headers: Vec::new(),
        body,
    }
}

/// `value` as a JSON string literal.
pub(crate) fn json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// OpenMetrics when the `Accept` header asks for it, Prometheus text otherwise.
fn negotiate(accept: Option<&str>) -> Format {
    match accept {
        Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
        _ => Format::Prometheus,
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether a `Host` header names this machine: `localhost`, `127.x.y.z` or `[::1]`,
/// with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inner, port)) if port.is_empty() || port.starts_with(':') => {
                return inner == "::1"
            }
            _ => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4 && parts[0] == "127" && parts.iter().all(|p| p.parse::<u8>().is_ok())
}

/// Whether `origin` (`scheme://host[:port]`) is the server at `host`.
fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    (scheme == "http" || scheme == "https") && authority.eq_ignore_ascii_case(host)
}

/// Compares secrets in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Decodes `%XX` escapes; `None` for a bad escape or invalid UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = core::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Why `token` cannot be a control token, or `None`. It must be 1 to [`MAX_TOKEN`]
/// visible ASCII characters: an `Authorization` header carries those as they are (HTTP
/// servers trim spaces and read other bytes as Latin-1), so a token with others could
/// never match and every request would get a bare 401.
pub fn token_problem(token: &str) -> Option<String> {
    if token.is_empty() {
        return Some("must not be empty".to_string());
    }
    if token.len() > MAX_TOKEN {
        return Some(format!("must be at most {MAX_TOKEN} characters"));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Some("must be visible ASCII characters only, no spaces (what an Authorization header carries as is)".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(token: Option<&str>) -> Control {
        Control::new(ControlConfig {
            base_path: DEFAULT_BASE_PATH.to_string(),
            token: token.map(str::to_string),
            loopback: true,
        })
    }

    fn get(path: &str) -> Request<'_> {
        Request {
            method: "GET",
            path,
            host: Some("127.0.0.1:8080"),
            ..Request::default()
        }
    }

    fn status(d: &Decision) -> u16 {
        match d {
            Decision::Respond(r) => r.status,
            Decision::Handle(_) => 200,
            Decision::NotMine => 0,
        }
    }

    #[test]
    fn routes_with_decoded_names() {
        let mut c = control(None);
        assert_eq!(
            c.route(&get("/api/circuit-breaker/health"), 0),
            Decision::Handle(Route::Health)
        );
        assert_eq!(
            c.route(&get("/api/circuit-breaker/state/a%3Ab/%2Fx?y=1"), 0),
            Decision::Handle(Route::State {
                service: Some("a:b".into()),
                operation: Some("/x".into())
            })
        );
        assert_eq!(c.route(&get("/elsewhere"), 0), Decision::NotMine);
        assert_eq!(c.route(&get("/api/circuit-breakerx"), 0), Decision::NotMine);
        assert_eq!(status(&c.route(&get("/api/circuit-breaker/nope"), 0)), 404);
        assert_eq!(
            status(&c.route(&get("/api/circuit-breaker/state/%ff"), 0)),
            400
        );
        assert_eq!(
            status(&c.route(&get("/api/circuit-breaker/reset/a"), 0)),
            405
        );
        assert_eq!(
            status(&c.route(&get("/api/circuit-breaker/dashboard/evil.js"), 0)),
            404
        );
        for asset in DASHBOARD_ASSETS {
            let path = format!("/api/circuit-breaker/dashboard/{asset}");
            assert_eq!(
                c.route(&get(&path), 0),
                Decision::Handle(Route::Asset(asset)),
                "every asset the page links is served"
            );
        }
    }

    #[test]
    fn off_loopback_reads_need_the_token_but_the_dashboards_page_and_files_do_not() {
        let mut c = Control::new(ControlConfig {
            base_path: DEFAULT_BASE_PATH.to_string(),
            token: Some("secret".to_string()),
            loopback: false,
        });
        fn at<'a>(path: &'a str, auth: Option<&'a str>) -> Request<'a> {
            Request {
                authorization: auth,
                host: Some("ops.example:8080"),
                ..get(path)
            }
        }
        // A browser loads the page without headers; its script sends the token.
        assert_eq!(
            c.route(&at("/api/circuit-breaker/dashboard", None), 0),
            Decision::Handle(Route::Dashboard)
        );
        for asset in DASHBOARD_ASSETS {
            let path = format!("/api/circuit-breaker/dashboard/{asset}");
            assert_eq!(status(&c.route(&at(&path, None), 0)), 200, "{asset}");
        }
        for data in [
            "snapshot",
            "health",
            "state",
            "metrics",
            "dead-letter-queue",
        ] {
            let path = format!("/api/circuit-breaker/{data}");
            assert_eq!(status(&c.route(&at(&path, None), 0)), 401, "{data}");
            assert_eq!(
                status(&c.route(&at(&path, Some("Bearer secret")), 0)),
                200,
                "{data}"
            );
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut c = control(Some("secret"));
        let mut reset = |auth| {
            let post = Request {
                method: "POST",
                path: "/api/circuit-breaker/reset/db",
                host: Some("localhost:1"),
                authorization: Some(auth),
                ..Request::default()
            };
            status(&c.route(&post, 0))
        };
        for auth in ["Bearer secret", "bearer secret", "BEARER secret"] {
            assert_eq!(reset(auth), 200, "{auth}");
        }
        for auth in ["Bearer  secret", "Bearersecret", "Basic secret", "secret"] {
            assert_eq!(reset(auth), 401, "{auth}");
        }
    }

    #[test]
    fn a_token_no_client_could_send_is_refused_with_the_reason() {
        assert_eq!(token_problem("s3cret"), None);
        assert_eq!(token_problem(&"x".repeat(MAX_TOKEN)), None);
        assert_eq!(token_problem("").as_deref(), Some("must not be empty"));
        assert!(
            token_problem(&"x".repeat(MAX_TOKEN + 1)).is_some_and(|p| p.contains("at most 1024"))
        );
        for bad in [
            "secret ",
            " secret",
            "sec ret",
            "sécret",
            "tab\there",
            "new\nline",
        ] {
            assert!(
                token_problem(bad).is_some_and(|p| p.contains("visible ASCII")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn mutations_need_the_token() {
        let post = |auth| Request {
            method: "POST",
            path: "/api/circuit-breaker/reset/db",
            host: Some("localhost:1"),
            authorization: auth,
            ..Request::default()
        };
        assert_eq!(
            status(&control(None).route(&post(Some("Bearer t")), 0)),
            403
        );
        let mut c = control(Some("secret"));
        assert_eq!(status(&c.route(&post(None), 0)), 401);
        assert_eq!(status(&c.route(&post(Some("Bearer secre")), 0)), 401);
        assert_eq!(status(&c.route(&post(Some("Bearer secret")), 0)), 200);
        let cross = Request {
            origin: Some("http://evil.example"),
            ..post(Some("Bearer secret"))
        };
        assert_eq!(status(&c.route(&cross, 0)), 403);
        let same = Request {
            origin: Some("http://localhost:1"),
            ..post(Some("Bearer secret"))
        };
        assert_eq!(status(&c.route(&same, 0)), 200);
        let big = Request {
            content_type: Some("application/json"),
            content_length: Some(MAX_BODY + 1),
            ..post(Some("Bearer secret"))
        };
        assert_eq!(status(&c.route(&big, 0)), 413);
        let form = Request {
            content_type: Some("text/plain"),
            content_length: Some(2),
            ..post(Some("Bearer secret"))
        };
        assert_eq!(status(&c.route(&form, 0)), 415);
    }

    #[test]
    fn hosts_and_rate() {
        let mut c = control(Some("t"));
        let mut r = get("/api/circuit-breaker/health");
        r.host = Some("attacker.example");
        assert_eq!(status(&c.route(&r, 0)), 403);
        for host in [
            "localhost",
            "127.0.0.1",
            "[::1]:9",
            "LOCALHOST:80",
            "app.localhost",
        ] {
            r.host = Some(host);
            assert_eq!(status(&c.route(&r, 0)), 200, "{host}");
        }
        let post = Request {
            method: "POST",
            path: "/api/circuit-breaker/force-open/db",
            host: Some("localhost"),
            authorization: Some("Bearer t"),
            ..Request::default()
        };
        for _ in 0..MUTATION_BURST {
            assert_eq!(status(&c.route(&post, 0)), 200);
        }
        match c.route(&post, 0) {
            Decision::Respond(r) => {
                assert_eq!(r.status, 429);
                assert!(r.headers.contains(&("Retry-After", "1".to_string())));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(status(&c.route(&post, NANOS_PER_SEC)), 200, "refilled");
    }

    #[test]
    fn problems_are_json() {
        let p = problem(400, "Bad request", "a \"quoted\"\nline");
        assert_eq!(
            p.body,
            r#"{"type":"about:blank","title":"Bad request","status":400,"detail":"a \"quoted\"\nline"}"#
        );
    }
}
