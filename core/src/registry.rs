//! Breakers by name, shared across a process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A thread-safe map from names to shared values (breakers, in the bindings).
#[derive(Debug)]
pub struct Registry<T> {
    entries: Mutex<HashMap<String, Arc<T>>>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Registry<T> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<T>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value registered under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<T>> {
        self.entries().get(name).cloned()
    }

    /// Registers `value` under `name`, replacing (and returning) any earlier one.
    pub fn insert(&self, name: &str, value: Arc<T>) -> Option<Arc<T>> {
        self.entries().insert(name.to_owned(), value)
    }

    /// The value under `name`, or the one `make` builds, registered atomically.
    pub fn get_or_try_insert<E>(
        &self,
        name: &str,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let mut entries = self.entries();
        if let Some(existing) = entries.get(name) {
            return Ok(existing.clone());
        }
        let value = Arc::new(make()?);
        entries.insert(name.to_owned(), value.clone());
        Ok(value)
    }

    /// Removes and returns the value under `name`.
    pub fn remove(&self, name: &str) -> Option<Arc<T>> {
        self.entries().remove(name)
    }

    /// Every (name, value) pair, sorted by name.
    pub fn entries_sorted(&self) -> Vec<(String, Arc<T>)> {
        let mut all: Vec<_> = self
            .entries()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.entries().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_insert_replaces_and_get_or_insert_returns_existing() {
        let registry = Registry::new();
        assert!(registry.insert("a", Arc::new(1)).is_none());
        assert_eq!(*registry.insert("a", Arc::new(2)).unwrap(), 1);
        let got = registry.get_or_try_insert("a", || Ok::<_, ()>(3)).unwrap();
        assert_eq!(*got, 2);
        let made = registry.get_or_try_insert("b", || Ok::<_, ()>(4)).unwrap();
        assert_eq!(*made, 4);
        assert_eq!(
            registry
                .entries_sorted()
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(registry
            .get_or_try_insert("c", || Err::<i32, _>("bad"))
            .is_err());
        assert!(registry.get("c").is_none());
        registry.clear();
        assert!(registry.is_empty());
    }
}
