//! The kinds of service in seed 004, with its numbers.

use crate::NANOS_PER_MILLI;

/// A kind of service and the defaults that suit it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// The preset's name.
    pub name: &'static str,
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// Per-call timeout, in nanoseconds.
    pub timeout: u64,
    /// Calls running at once.
    pub max_concurrent: u32,
    /// Retries after the first attempt (seed 004's `retryAttempts`); attempts = retries + 1.
    pub retry_attempts: u32,
    /// The seed's fallback strategy, for documentation and dashboards.
    pub fallback: &'static str,
}

/// Seed 004's service configurations.
pub const PRESETS: [Preset; 5] = [
    Preset {
        name: "llm",
        failure_threshold: 3,
        timeout: 300_000 * NANOS_PER_MILLI,
        max_concurrent: 3,
        retry_attempts: 2,
        fallback: "cache",
    },
    Preset {
        name: "cache",
        failure_threshold: 5,
        timeout: 10_000 * NANOS_PER_MILLI,
        max_concurrent: 50,
        retry_attempts: 3,
        fallback: "in-memory",
    },
    Preset {
        name: "database",
        failure_threshold: 5,
        timeout: 30_000 * NANOS_PER_MILLI,
        max_concurrent: 20,
        retry_attempts: 3,
        fallback: "cache",
    },
    Preset {
        name: "external-api",
        failure_threshold: 3,
        timeout: 60_000 * NANOS_PER_MILLI,
        max_concurrent: 10,
        retry_attempts: 3,
        fallback: "cache",
    },
    Preset {
        name: "websocket",
        failure_threshold: 5,
        timeout: 10_000 * NANOS_PER_MILLI,
        max_concurrent: 100,
        retry_attempts: 2,
        fallback: "queue",
    },
];

/// The preset with this name.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_by_name() {
        assert_eq!(preset("llm").unwrap().timeout, 300_000 * NANOS_PER_MILLI);
        assert_eq!(preset("websocket").unwrap().max_concurrent, 100);
        assert!(preset("nope").is_none());
    }
}
