//! A bounded dead-letter queue: when full, the oldest item is dropped and counted,
//! never silently.

use alloc::collections::VecDeque;

/// Failed operations kept for a later retry, each under a unique id.
#[derive(Clone, Debug)]
pub struct DeadLetterQueue<T> {
    items: VecDeque<(u64, T)>,
    capacity: usize,
    next_id: u64,
    dropped: u64,
}

impl<T> DeadLetterQueue<T> {
    /// An empty queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        DeadLetterQueue {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            next_id: 1,
            dropped: 0,
        }
    }

    /// Adds an item; returns its id and the oldest item if it had to make room.
    pub fn push(&mut self, item: T) -> (u64, Option<(u64, T)>) {
        let evicted = if self.items.len() >= self.capacity {
            self.dropped += 1;
            self.items.pop_front()
        } else {
            None
        };
        let id = self.next_id;
        self.next_id += 1;
        self.items.push_back((id, item));
        (id, evicted)
    }

    /// The item with this id.
    pub fn get(&self, id: u64) -> Option<&T> {
        self.items
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, item)| item)
    }

    /// The item with this id, to change it.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.items
            .iter_mut()
            .find(|(i, _)| *i == id)
            .map(|(_, item)| item)
    }

    /// Removes and returns the item with this id.
    pub fn remove(&mut self, id: u64) -> Option<T> {
        let index = self.items.iter().position(|(i, _)| *i == id)?;
        self.items.remove(index).map(|(_, item)| item)
    }

    /// The items, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.items.iter().map(|(id, item)| (*id, item))
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Items dropped to make room, since construction.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Removes every item (the dropped count stays).
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Changes the capacity; drops (and counts) the oldest items beyond it.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.items.len() > self.capacity {
            self.items.pop_front();
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_drops_oldest_and_counts() {
        let mut q = DeadLetterQueue::new(2);
        assert_eq!(q.push("a"), (1, None));
        assert_eq!(q.push("b"), (2, None));
        assert_eq!(q.push("c"), (3, Some((1, "a"))));
        assert_eq!(q.dropped(), 1);
        assert_eq!(
            q.iter().map(|(id, _)| id).collect::<alloc::vec::Vec<_>>(),
            [2, 3]
        );
        assert_eq!(q.get(3), Some(&"c"));
        assert_eq!(q.remove(2), Some("b"));
        assert_eq!(q.remove(2), None);
        q.set_capacity(0);
        assert_eq!((q.len(), q.dropped()), (1, 1));
        q.clear();
        assert!(q.is_empty());
    }
}
