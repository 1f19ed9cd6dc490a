//! Bounded registries: which entry goes when a registry of breakers by name (Node's
//! `circuitBreakerRegistry`, Python's `tripwire.registry`), by origin (the browser's
//! `guardFetch`) or by (service, operation) (the resilience service) is full.
//!
//! Names and origins often come from request data, so a registry needs a bound. The
//! rule, the same in every runtime:
//!
//! - Only an **idle** entry may go: its breaker is CLOSED (not open, not forced open,
//!   not half-open) and has no call in flight. The binding says which entries are
//!   idle (it knows its calls in flight); [`Probe`] is its answer. A registry whose
//!   entries are all busy grows past its capacity rather than drop one.
//! - Among idle entries, the one the hand of a CLOCK sweep reaches first that has not
//!   been used since the hand last passed it goes ("second chance", an approximation
//!   of least recently used). "Used" is read from the breaker's own activity count
//!   (its total calls): nothing is done per call to keep the index up to date.
//!
//! The index holds one slot (a small number) per entry; the binding keeps its map
//! from names to breakers and a slot per entry. Memory is O(entries); a sweep visits
//! at most every entry twice.

use alloc::vec::Vec;

/// Entries a registry of breakers by name keeps by default.
pub const DEFAULT_REGISTRY_CAPACITY: usize = 10_000;
/// Origins `guardFetch` keeps a breaker for by default.
pub const DEFAULT_ORIGIN_CAPACITY: usize = 1_000;

/// The binding's answer about one entry's breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Open, forced open, half-open, or with calls in flight: never evicted.
    Busy,
    /// Closed with nothing in flight; `activity` is a count that moves whenever the
    /// breaker is used (its total calls).
    Idle {
        /// The breaker's activity count now.
        activity: u64,
    },
}

/// A slot's mark: never probed yet (a new entry gets one round of grace).
const NEW: u64 = u64::MAX;

/// The eviction index of a bounded registry (see the module docs).
#[derive(Clone, Debug)]
pub struct Eviction {
    capacity: usize,
    /// Per slot: `None` when free, else the activity count seen when the hand last passed.
    marks: Vec<Option<u64>>,
    free: Vec<u32>,
    hand: usize,
    len: usize,
    evictions: u64,
}

impl Eviction {
    /// An empty index keeping at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Eviction {
        Eviction {
            capacity: capacity.max(1),
            marks: Vec::new(),
            free: Vec::new(),
            hand: 0,
            len: 0,
            evictions: 0,
        }
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity (at least 1). A smaller one takes effect as entries are
    /// admitted: each admission evicts down to it, idle entries permitting.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries evicted since the index was made.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Admits a new entry and returns its slot, with the slots of the entries evicted
    /// to make room (the binding drops them from its map; their breakers keep working
    /// for whoever holds them). `probe(slot)` is asked only while the index is full.
    pub fn admit(&mut self, probe: impl FnMut(u32) -> Probe) -> (u32, Vec<u32>) {
        let evicted = self.evict_beyond(self.capacity.saturating_sub(1), probe);
        (self.insert(), evicted)
    }

    /// Takes a slot for a new entry without evicting anything (the index may go past
    /// its capacity until [`Eviction::evict_over_capacity`]).
    pub fn insert(&mut self) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.marks[slot as usize] = Some(NEW);
                slot
            }
            None => {
                self.marks.push(Some(NEW));
                (self.marks.len() - 1) as u32
            }
        };
        self.len += 1;
        slot
    }

    /// Evicts idle entries until the index is back at its capacity (or none is idle):
    /// for an owner that inserts first and probes once the new entry is set up (the
    /// probe answers [`Probe::Busy`] for that one).
    pub fn evict_over_capacity(&mut self, probe: impl FnMut(u32) -> Probe) -> Vec<u32> {
        self.evict_beyond(self.capacity, probe)
    }

    fn evict_beyond(&mut self, keep: usize, mut probe: impl FnMut(u32) -> Probe) -> Vec<u32> {
        let mut evicted = Vec::new();
        while self.len > keep {
            match self.sweep(&mut probe) {
                Some(slot) => {
                    self.remove(slot);
                    self.evictions += 1;
                    evicted.push(slot);
                }
                None => break,
            }
        }
        evicted
    }

    /// Frees `slot` (its entry was removed or replaced by the binding). Idempotent.
    pub fn remove(&mut self, slot: u32) {
        if let Some(mark) = self.marks.get_mut(slot as usize) {
            if mark.take().is_some() {
                self.free.push(slot);
                self.len -= 1;
            }
        }
    }

    /// Frees every slot (the evictions count is kept).
    pub fn clear(&mut self) {
        self.marks.clear();
        self.free.clear();
        self.hand = 0;
        self.len = 0;
    }

    /// The idle entry to evict: the first the hand reaches whose activity has not
    /// moved since the hand last passed it. Two full turns at most; `None` if every
    /// entry is busy (or kept being used).
    fn sweep(&mut self, probe: &mut impl FnMut(u32) -> Probe) -> Option<u32> {
        let n = self.marks.len();
        if n == 0 {
            return None;
        }
        for _ in 0..2 * n {
            let slot = self.hand % n;
            self.hand = (slot + 1) % n;
            let Some(mark) = self.marks[slot] else {
                continue;
            };
            if let Probe::Idle { activity } = probe(slot as u32) {
                if mark == activity {
                    return Some(slot as u32);
                }
                self.marks[slot] = Some(activity);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A model registry: per slot, (busy, activity).
    fn probe_of(table: &[(bool, u64)]) -> impl FnMut(u32) -> Probe + '_ {
        |slot| {
            let (busy, activity) = table[slot as usize];
            if busy {
                Probe::Busy
            } else {
                Probe::Idle { activity }
            }
        }
    }

    #[test]
    fn below_capacity_nothing_is_probed_or_evicted() {
        let mut index = Eviction::new(3);
        for expected in 0..3 {
            let (slot, evicted) = index.admit(|_| panic!("not full: no probe"));
            assert_eq!((slot, evicted.len()), (expected, 0));
        }
        assert_eq!((index.len(), index.evictions()), (3, 0));
    }

    #[test]
    fn full_evicts_an_idle_entry_and_reuses_its_slot() {
        let mut index = Eviction::new(2);
        index.admit(|_| Probe::Busy);
        index.admit(|_| Probe::Busy);
        let table = [(false, 0), (false, 0)];
        let (slot, evicted) = index.admit(probe_of(&table));
        assert_eq!(
            evicted,
            vec![0],
            "new entries get a round of grace, then the first idle goes"
        );
        assert_eq!(slot, 0, "the freed slot is reused");
        assert_eq!((index.len(), index.evictions()), (2, 1));
    }

    #[test]
    fn busy_entries_are_never_evicted_and_the_index_grows_instead() {
        let mut index = Eviction::new(2);
        index.admit(|_| Probe::Busy);
        index.admit(|_| Probe::Busy);
        let (slot, evicted) = index.admit(|_| Probe::Busy);
        assert!(evicted.is_empty());
        assert_eq!((slot, index.len()), (2, 3));
        // Once one is idle, the next admission brings it back to the capacity.
        let table = [(true, 0), (false, 7), (true, 0), (false, 0)];
        let (_, evicted) = index.admit(probe_of(&table));
        assert_eq!(evicted, vec![1]);
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn an_entry_used_since_the_last_sweep_gets_a_second_chance() {
        let mut index = Eviction::new(3);
        for _ in 0..3 {
            index.admit(|_| Probe::Busy);
        }
        // New entries are graced once (their marks taken), then the first idle goes.
        let (slot, evicted) = index.admit(probe_of(&[(false, 0), (false, 0), (false, 0)]));
        assert_eq!((slot, evicted), (0, vec![0]));
        // Slot 1 was used since (2 calls), slot 2 was not: 1 is spared, 2 goes.
        let (_, evicted) = index.admit(probe_of(&[(false, 0), (false, 2), (false, 0)]));
        assert_eq!(evicted, vec![2]);
        assert_eq!(index.evictions(), 2);
    }

    #[test]
    fn remove_and_clear_free_slots() {
        let mut index = Eviction::new(2);
        let (a, _) = index.admit(|_| Probe::Busy);
        index.admit(|_| Probe::Busy);
        index.remove(a);
        index.remove(a);
        assert_eq!(index.len(), 1);
        let (again, evicted) = index.admit(|_| panic!("room was made by remove"));
        assert_eq!((again, evicted.len()), (a, 0));
        index.clear();
        assert!(index.is_empty());
    }

    #[test]
    fn a_smaller_capacity_evicts_down_to_it_on_the_next_admission() {
        let mut index = Eviction::new(4);
        for _ in 0..4 {
            index.admit(|_| Probe::Busy);
        }
        index.set_capacity(2);
        let (_, evicted) = index.admit(|_| Probe::Idle { activity: 0 });
        assert_eq!(evicted.len(), 3);
        assert_eq!(index.len(), 2);
    }
}
