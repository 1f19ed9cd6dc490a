//! Alerts fire once per episode: when a condition becomes true, not while it stays true.

use alloc::collections::BTreeSet;
use alloc::string::String;

/// The conditions currently active, by key (e.g. `"breaker-opened:ollama:generate"`).
#[derive(Clone, Debug, Default)]
pub struct Episodes {
    active: BTreeSet<String>,
}

impl Episodes {
    /// No active condition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports whether `key`'s condition holds now; returns `true` when an episode starts
    /// (the alert should fire), `false` while it continues or after it ended.
    pub fn observe(&mut self, key: &str, active: bool) -> bool {
        if active {
            !self.active.contains(key) && self.active.insert(String::from(key))
        } else {
            self.active.remove(key);
            false
        }
    }

    /// Whether `key`'s episode is going on.
    pub fn is_active(&self, key: &str) -> bool {
        self.active.contains(key)
    }

    /// Ends every episode.
    pub fn clear(&mut self) {
        self.active.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_per_episode() {
        let mut e = Episodes::new();
        assert!(e.observe("open:a", true));
        assert!(!e.observe("open:a", true));
        assert!(e.observe("open:b", true));
        assert!(!e.observe("open:a", false));
        assert!(!e.is_active("open:a"));
        assert!(e.observe("open:a", true));
    }
}
