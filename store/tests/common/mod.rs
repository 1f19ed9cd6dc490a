//! What the store's tests share: the event recorder and a bounded wait.
#![allow(dead_code)] // each test file uses part of it

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tripwire_core::fleet::{FleetError, LinkEvent};
use tripwire_core::Transition;
use tripwire_store::{BreakerEvents, StoreEvents, StoreFault};

/// Counts what the store delivers.
#[derive(Default)]
pub struct Recorder {
    pub downs: AtomicUsize,
    pub ups: AtomicUsize,
    pub faults: Mutex<Vec<String>>,
    pub transitions: Mutex<Vec<Transition>>,
    pub links: Mutex<Vec<LinkEvent>>,
    pub errors: Mutex<Vec<FleetError>>,
}

impl StoreEvents for Recorder {
    fn store_down(&self, fault: &StoreFault) {
        self.downs.fetch_add(1, Ordering::SeqCst);
        self.faults.lock().unwrap().push(fault.message.clone());
    }
    fn store_up(&self) {
        self.ups.fetch_add(1, Ordering::SeqCst);
    }
}

impl BreakerEvents for Recorder {
    fn transition(&self, transition: Transition) {
        self.transitions.lock().unwrap().push(transition);
    }
    fn link(&self, event: LinkEvent) {
        self.links.lock().unwrap().push(event);
    }
    fn fleet_error(&self, error: &FleetError) {
        self.errors.lock().unwrap().push(error.clone());
    }
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }
    pub fn downs(&self) -> usize {
        self.downs.load(Ordering::SeqCst)
    }
    pub fn ups(&self) -> usize {
        self.ups.load(Ordering::SeqCst)
    }
}

/// Waits until `cond` holds; panics after a generous bound (a hang guard, not a
/// timing assertion).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < end, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
