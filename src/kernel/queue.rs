//! A channel's queue order: highest priority first, FIFO within a priority, one order shared
//! by messages and pulses. FIFO rests on what the server saw: the drain pass in which it
//! found an item (`seq`, counted in its own memory); the sender's ticket, which a client
//! writes and may forge, only orders the items found in one pass.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Where an item stands in the queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rank {
    pub priority: u8,
    /// The server's drain pass that found the item.
    pub seq: u64,
    /// The sender's ticket: ties within one pass.
    pub ticket: u64,
}

impl Ord for Rank {
    /// Greater means "received first": higher priority, then the older pass, then the older
    /// ticket.
    fn cmp(&self, o: &Self) -> Ordering {
        self.priority.cmp(&o.priority).then(o.seq.cmp(&self.seq)).then(o.ticket.cmp(&self.ticket))
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

struct Queued<T> {
    rank: Rank,
    item: T,
}

impl<T> PartialEq for Queued<T> {
    fn eq(&self, o: &Self) -> bool {
        self.rank == o.rank
    }
}
impl<T> Eq for Queued<T> {}
impl<T> PartialOrd for Queued<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Queued<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.rank.cmp(&o.rank)
    }
}

/// Items in queue order.
pub struct PrioQueue<T> {
    heap: BinaryHeap<Queued<T>>,
}

impl<T> Default for PrioQueue<T> {
    fn default() -> Self {
        PrioQueue { heap: BinaryHeap::new() }
    }
}

impl<T> PrioQueue<T> {
    pub fn push(&mut self, rank: Rank, item: T) {
        self.heap.push(Queued { rank, item });
    }

    pub fn peek(&self) -> Option<(Rank, &T)> {
        self.heap.peek().map(|q| (q.rank, &q.item))
    }

    pub fn pop(&mut self) -> Option<(Rank, T)> {
        self.heap.pop().map(|q| (q.rank, q.item))
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }

    /// Drops the items `gone` selects.
    pub fn remove_if(&mut self, mut gone: impl FnMut(&T) -> bool) {
        self.heap.retain(|q| !gone(&q.item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(priority: u8, seq: u64) -> Rank {
        Rank { priority, seq, ticket: 0 }
    }

    #[test]
    fn priority_first_then_fifo() {
        let mut q = PrioQueue::default();
        q.push(rank(10, 3), "c10");
        q.push(rank(10, 1), "a10");
        q.push(rank(20, 5), "e20");
        q.push(rank(5, 0), "z5");
        q.push(rank(10, 2), "b10");
        q.push(rank(20, 4), "d20");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, v)| v)).collect();
        assert_eq!(order, ["d20", "e20", "a10", "b10", "c10", "z5"]);
    }

    #[test]
    fn ranks_compare_across_queues() {
        // A message and a pulse of equal priority: the older ticket goes first.
        assert!(rank(10, 1) > rank(10, 2));
        assert!(rank(11, 9) > rank(10, 1));
    }

    #[test]
    fn a_forged_ticket_only_orders_its_own_pass() {
        // Ticket 0 written by a client found in a later pass stays behind the earlier pass.
        let honest = Rank { priority: 10, seq: 1, ticket: 500 };
        let forged = Rank { priority: 10, seq: 2, ticket: 0 };
        assert!(honest > forged);
        assert!(Rank { seq: 2, ticket: 0, ..honest } > Rank { seq: 2, ..honest });
    }

    #[test]
    fn remove_if_keeps_order() {
        let mut q = PrioQueue::default();
        for t in 0..10u64 {
            q.push(rank((t % 3) as u8, t), t);
        }
        q.remove_if(|v| v % 2 == 0);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, v)| v)).collect();
        assert_eq!(order, [5, 1, 7, 3, 9]);
    }
}
