//! Health aggregation: checks into a report status, breakers into a service status.

use crate::breaker::State;

/// How healthy a service or a report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// Everything works.
    Healthy,
    /// Working, with something failing that the service can live without.
    Degraded,
    /// Not working.
    Unhealthy,
}

impl Health {
    /// `"healthy"`, `"degraded"` or `"unhealthy"`, as every binding reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// A health report from its checks, each `(critical, passed)`: any critical check
/// failing makes it unhealthy; only non-critical ones failing, degraded.
pub fn check_health(checks: impl IntoIterator<Item = (bool, bool)>) -> Health {
    checks
        .into_iter()
        .fold(Health::Healthy, |worst, (critical, passed)| {
            let this = match (passed, critical) {
                (true, _) => Health::Healthy,
                (false, true) => Health::Unhealthy,
                (false, false) => Health::Degraded,
            };
            worst.max(this)
        })
}

/// A service's health from its breakers' states and whether its bulkhead is saturated:
/// unhealthy when it has breakers and every one is open; degraded when any is open or
/// half-open, or the bulkhead is saturated; healthy otherwise.
pub fn service_health(states: impl IntoIterator<Item = State>, bulkhead_saturated: bool) -> Health {
    let (mut total, mut open, mut troubled) = (0, 0, 0);
    for state in states {
        total += 1;
        open += usize::from(state == State::Open);
        troubled += usize::from(state != State::Closed);
    }
    if total > 0 && open == total {
        Health::Unhealthy
    } else if troubled > 0 || bulkhead_saturated {
        Health::Degraded
    } else {
        Health::Healthy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert_eq!(check_health([]), Health::Healthy);
        assert_eq!(check_health([(true, true), (false, true)]), Health::Healthy);
        assert_eq!(
            check_health([(true, true), (false, false)]),
            Health::Degraded
        );
        assert_eq!(
            check_health([(true, false), (false, false)]),
            Health::Unhealthy
        );
    }

    #[test]
    fn services() {
        use State::*;
        assert_eq!(service_health([], false), Health::Healthy);
        assert_eq!(service_health([], true), Health::Degraded);
        assert_eq!(service_health([Closed, Closed], false), Health::Healthy);
        assert_eq!(service_health([Closed, HalfOpen], false), Health::Degraded);
        assert_eq!(service_health([Open, Closed], false), Health::Degraded);
        assert_eq!(service_health([Open, Open], false), Health::Unhealthy);
        assert_eq!(service_health([Open, HalfOpen], false), Health::Degraded);
    }
}
