//! Small-integer id allocation: the lowest free id at or above a base, as QNX hands out
//! chids, side-channel coids and scoids.

/// A table from small ids to values.
pub struct IdTable<T> {
    base: usize,
    slots: Vec<Option<T>>,
}

impl<T> IdTable<T> {
    pub const fn new(base: usize) -> IdTable<T> {
        IdTable { base, slots: Vec::new() }
    }

    /// Stores `value` under the lowest free id, if it is below `limit`.
    pub fn insert(&mut self, value: T, limit: usize) -> Option<usize> {
        self.insert_with(limit, |_| value)
    }

    /// Stores the value `make` builds from its id under the lowest free id below `limit`.
    pub fn insert_with(&mut self, limit: usize, make: impl FnOnce(usize) -> T) -> Option<usize> {
        let idx = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        if self.base + idx >= limit {
            return None;
        }
        self.slots[idx] = Some(make(self.base + idx));
        Some(self.base + idx)
    }

    pub fn get(&self, id: usize) -> Option<&T> {
        self.slots.get(id.checked_sub(self.base)?)?.as_ref()
    }

    pub fn remove(&mut self, id: usize) -> Option<T> {
        let v = self.slots.get_mut(id.checked_sub(self.base)?)?.take();
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.slots.iter().enumerate().filter_map(move |(i, v)| v.as_ref().map(|v| (self.base + i, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_id_from_base() {
        let mut t = IdTable::new(1);
        assert_eq!(t.insert('a', 100), Some(1));
        assert_eq!(t.insert('b', 100), Some(2));
        assert_eq!(t.insert('c', 100), Some(3));
        assert_eq!(t.remove(2), Some('b'));
        assert_eq!(t.get(2), None);
        assert_eq!(t.insert('d', 100), Some(2));
        assert_eq!(t.remove(3), Some('c'));
        assert_eq!(t.remove(3), None);
        assert_eq!(t.insert('e', 100), Some(3));
        assert_eq!(t.get(0), None);
    }

    #[test]
    fn limit_is_respected() {
        let mut t = IdTable::new(1);
        assert_eq!(t.insert(1, 2), Some(1));
        assert_eq!(t.insert(2, 2), None);
    }
}
