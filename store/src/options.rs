//! The store's options, validated whole.

use std::borrow::Cow;
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion};
use tripwire_core::{ConfigError, ErrorKind};

/// The environment variable that makes every breaker built without an explicit store
/// share through Redis (zero-code adoption): `TRIPWIRE_STORE_URL=redis://host:6379/0`.
pub const ENV_URL: &str = "TRIPWIRE_STORE_URL";

/// How a process talks to the fleet store. Field names are the options' canonical
/// (snake_case) names: errors name them, and bindings map them to their spelling
/// (`flushInterval` in JS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// `redis://[user[:password]@]host[:port][/db]`, `valkey://...`, or
    /// `unix:///path/to.sock` (RESP2; TLS is not supported).
    pub url: String,
    /// The keys' prefix (default `tw`): keys are `{prefix:name}...`.
    pub prefix: String,
    /// How often pending outcomes are flushed (default 100 ms). Zero: after every
    /// outcome.
    pub flush_interval: Duration,
    /// The limit on every store operation (default 100 ms): connect, flush, lease.
    /// There is no client-side retry.
    pub timeout: Duration,
    /// A half-open trial lease's lifetime (default: the core's, the breaker's call
    /// timeout + 1 s, or 31 s without one). A breaker's own `FleetOptions::lease_ttl`
    /// wins over this.
    pub lease_ttl: Option<Duration>,
    /// How often every breaker re-reads the fleet's state in case a pub/sub message was
    /// lost (default 1 s, jittered by ±25 % so that a fleet's polls spread out).
    pub poll_interval: Duration,
    /// Whether a breaker compares its trip rules with the fleet's when it joins
    /// (default true): one whose rules differ decides locally and reports an error
    /// naming the option. False: every breaker joins and applies its own rules to the
    /// fleet's counts (pybreaker's `CircuitRedisStorage` does so).
    pub check_rules: bool,
}

const MAX_INTERVAL: Duration = Duration::from_secs(3600);
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

fn range(field: &'static str, reason: impl Into<Cow<'static, str>>) -> ConfigError {
    ConfigError {
        field: Cow::Borrowed(field),
        reason: reason.into(),
        kind: ErrorKind::Range,
    }
}

impl StoreOptions {
    /// The defaults, for the store at `url`.
    pub fn new(url: impl Into<String>) -> StoreOptions {
        StoreOptions {
            url: url.into(),
            prefix: "tw".into(),
            flush_interval: Duration::from_millis(100),
            timeout: Duration::from_millis(100),
            lease_ttl: None,
            poll_interval: Duration::from_secs(1),
            check_rules: true,
        }
    }

    /// The defaults for the URL in `TRIPWIRE_STORE_URL`: `None` when it is unset or
    /// empty, an error naming `TRIPWIRE_STORE_URL` when it is not a usable URL.
    pub fn from_env() -> Option<Result<StoreOptions, ConfigError>> {
        let url = std::env::var(ENV_URL)
            .ok()
            .filter(|u| !u.trim().is_empty())?;
        let options = StoreOptions::new(url);
        Some(match options.validate() {
            Ok(()) => Ok(options),
            Err(mut e) => {
                e.field = Cow::Borrowed(ENV_URL);
                Err(e)
            }
        })
    }

    /// Checks every option; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.connection_info()?;
        if self.prefix.is_empty() || self.prefix.contains(['{', '}']) {
            return Err(range(
                "prefix",
                "must be non-empty, without `{` or `}` (the keys' hash tag)",
            ));
        }
        if self.flush_interval > MAX_INTERVAL {
            return Err(range("flush_interval", "must be at most 1 hour"));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(range("timeout", "must be positive and at most 60 s"));
        }
        if let Some(ttl) = self.lease_ttl {
            if ttl < Duration::from_millis(1) || ttl > Duration::from_secs(24 * 3600) {
                return Err(range("lease_ttl", "must be between 1 ms and 24 hours"));
            }
        }
        if self.poll_interval < Duration::from_millis(1) || self.poll_interval > MAX_INTERVAL {
            return Err(range("poll_interval", "must be between 1 ms and 1 hour"));
        }
        Ok(())
    }

    /// The parsed URL. Its error never repeats the URL (it may hold a password).
    pub(crate) fn connection_info(&self) -> Result<ConnectionInfo, ConfigError> {
        let scheme = self.url.split("://").next().unwrap_or("");
        if matches!(scheme, "rediss" | "valkeys") {
            return Err(range("url", "TLS (rediss://) is not supported"));
        }
        let info = self.url.as_str().into_connection_info().map_err(|e| {
            range(
                "url",
                format!(
                    "not a Redis URL ({}): expected redis://[user[:password]@]host[:port][/db] or unix:///path",
                    e.detail().unwrap_or("unparsable")
                ),
            )
        })?;
        if !matches!(info.redis.protocol, ProtocolVersion::RESP2) {
            return Err(range(
                "url",
                "only RESP2 is supported (no `protocol=resp3`)",
            ));
        }
        match &info.addr {
            ConnectionAddr::Tcp(host, _) if host.is_empty() => Err(range("url", "has no host")),
            ConnectionAddr::Tcp(..) | ConnectionAddr::Unix(_) => Ok(info),
            ConnectionAddr::TcpTls { .. } => Err(range("url", "TLS (rediss://) is not supported")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        StoreOptions::new("redis://127.0.0.1:6379/0")
            .validate()
            .unwrap();
        StoreOptions::new("unix:///tmp/redis.sock")
            .validate()
            .unwrap();
    }

    #[test]
    fn errors_name_the_option() {
        let bad = |f: fn(&mut StoreOptions), field: &str| {
            let mut o = StoreOptions::new("redis://127.0.0.1:6379");
            f(&mut o);
            let e = o.validate().unwrap_err();
            assert_eq!(e.field, field, "{e}");
        };
        bad(|o| o.url = "http://example.com".into(), "url");
        bad(|o| o.url = "not a url".into(), "url");
        bad(|o| o.url = "rediss://h:1".into(), "url");
        bad(|o| o.url = "redis://h:1/?protocol=resp3".into(), "url");
        bad(|o| o.prefix = String::new(), "prefix");
        bad(|o| o.prefix = "a{b".into(), "prefix");
        bad(
            |o| o.flush_interval = Duration::from_secs(7200),
            "flush_interval",
        );
        bad(|o| o.timeout = Duration::ZERO, "timeout");
        bad(|o| o.lease_ttl = Some(Duration::ZERO), "lease_ttl");
        bad(|o| o.poll_interval = Duration::ZERO, "poll_interval");
    }

    #[test]
    fn a_bad_url_says_so_without_repeating_it() {
        let e = StoreOptions::new("redis://user:s3cret@[bad")
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "url");
        assert!(e.reason.contains("not a Redis URL"), "{e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
