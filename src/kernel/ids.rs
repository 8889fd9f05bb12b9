//! Small-integer ids. QNX's kernel keeps a process's channels, its side-channel connections
//! and the server connections of its channels in one vector: each new one takes the lowest
//! free index from 1 (index 0 is the process manager's connection, `SYSMGR_COID`), whichever
//! kind it is. Programs hard-code the numbers that follow (chid 1, or 2 after an attach), so
//! the three tables here share one [`IdSpace`].

/// Ids are below this: a scoid's index is its low 16 bits (rcvids carry it), and a
/// side-channel coid beyond it would read as a scoid (`_NTO_CONNECTION_SCOID`).
pub const LIMIT: usize = 0x1_0000;

/// Which ids of the process's one vector are in use.
pub struct IdSpace {
    /// Index 0 stands for `SYSMGR_COID`, which is never handed out.
    used: Vec<bool>,
}

impl IdSpace {
    pub fn new() -> IdSpace {
        IdSpace { used: vec![true] }
    }

    /// The lowest free id, now in use; `None` when all below [`LIMIT`] are.
    pub fn take(&mut self) -> Option<usize> {
        let id = self.used.iter().position(|u| !u).unwrap_or(self.used.len());
        if id >= LIMIT {
            return None;
        }
        if id == self.used.len() {
            self.used.push(true);
        } else {
            self.used[id] = true;
        }
        Some(id)
    }

    /// Frees `id` for whichever kind comes next.
    pub fn give_back(&mut self, id: usize) {
        if id > 0 && id < self.used.len() {
            self.used[id] = false;
            while self.used.len() > 1 && self.used.last() == Some(&false) {
                self.used.pop();
            }
        }
    }
}

impl Default for IdSpace {
    fn default() -> Self {
        IdSpace::new()
    }
}

/// One kind's values by id; the ids come from the process's [`IdSpace`].
pub struct IdTable<T> {
    slots: Vec<Option<T>>,
}

impl<T> IdTable<T> {
    pub const fn new() -> IdTable<T> {
        IdTable { slots: Vec::new() }
    }

    /// Stores `value` under `id`, which the caller took from the id space.
    pub fn insert_at(&mut self, id: usize, value: T) {
        if self.slots.len() <= id {
            self.slots.resize_with(id + 1, || None);
        }
        self.slots[id] = Some(value);
    }

    pub fn get(&self, id: usize) -> Option<&T> {
        self.slots.get(id)?.as_ref()
    }

    pub fn remove(&mut self, id: usize) -> Option<T> {
        let v = self.slots.get_mut(id)?.take();
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
    }
}

impl<T> Default for IdTable<T> {
    fn default() -> Self {
        IdTable::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_id_from_one_whatever_the_kind() {
        let mut ids = IdSpace::new();
        assert_eq!(ids.take(), Some(1));
        assert_eq!(ids.take(), Some(2));
        assert_eq!(ids.take(), Some(3));
        ids.give_back(2);
        assert_eq!(ids.take(), Some(2));
        ids.give_back(3);
        ids.give_back(3);
        assert_eq!(ids.take(), Some(3));
        // SYSMGR_COID's index is never freed nor handed out.
        ids.give_back(0);
        assert_eq!(ids.take(), Some(4));
    }

    #[test]
    fn limit_is_respected() {
        let mut ids = IdSpace::new();
        for want in 1..LIMIT {
            assert_eq!(ids.take(), Some(want));
        }
        assert_eq!(ids.take(), None);
        ids.give_back(7);
        assert_eq!(ids.take(), Some(7));
    }

    #[test]
    fn table_by_id() {
        let mut t = IdTable::new();
        t.insert_at(3, 'c');
        t.insert_at(1, 'a');
        assert_eq!(t.get(1), Some(&'a'));
        assert_eq!(t.get(2), None);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![(1, &'a'), (3, &'c')]);
        assert_eq!(t.remove(3), Some('c'));
        assert_eq!(t.remove(3), None);
        assert_eq!(t.get(0), None);
    }
}
