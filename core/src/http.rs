//! What an HTTP response means to a breaker, one rule for every runtime: the browser's
//! `breaker.fetch`, a `Response` that a guarded function resolves with in Node, and
//! Python's `tripwire.http_failure` predicate for httpx, requests and aiohttp.

/// Whether a response with `status` counts as a failure of the upstream: 5xx (the
/// server failed) and 429 (it is shedding load). Other statuses, 4xx included, are
/// the caller's business and count as successes.
pub fn http_status_is_failure(status: f64) -> bool {
    status >= 500.0 || status == 429.0
}

#[cfg(test)]
mod tests {
    use super::http_status_is_failure;

    #[test]
    fn server_errors_and_429_fail_other_statuses_do_not() {
        for status in [500.0, 502.0, 503.0, 504.0, 599.0, 429.0] {
            assert!(http_status_is_failure(status), "{status}");
        }
        for status in [
            100.0, 200.0, 204.0, 301.0, 400.0, 401.0, 404.0, 428.0, 430.0, 499.0,
        ] {
            assert!(!http_status_is_failure(status), "{status}");
        }
    }
}
