//! String -> dense u32 index, storing each string once in an arena.
//!
//! Wikidata has ~100M item ids; a `HashMap<String, u32>` would spend ~50 bytes per id
//! on allocation headers and duplicated keys. Here an id costs its bytes, an 8-byte
//! offset and ~5 bytes of hash table (xxh3: FxHash collided badly on ids like Q123), and the arena is written out as is as the
//! graph's id string table.

use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64;

#[derive(Clone, Copy)]
struct Slot {
    /// start (low 40 bits) and length (high 24 bits) in the arena
    place: u64,
    index: u32,
    hash: u32,
}

pub(crate) const MAX_LEN: usize = (1 << 24) - 1;

#[derive(Default)]
pub struct Interner {
    arena: String,
    /// `ends[i]` is where string i ends in the arena; it starts at `ends[i - 1]`.
    ends: Vec<u64>,
    /// Each slot holds what a probe needs without touching `ends`: the string's
    /// place in the arena, its index and 32 bits of its hash. At Wikidata scale every
    /// memory access here is a cache miss, and this saves one per lookup.
    table: HashTable<Slot>,
}

impl Interner {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, index: u32) -> &str {
        let i = index as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.arena[start..self.ends[i] as usize]
    }

    pub fn lookup(&self, s: &str) -> Option<u32> {
        let hash = xxh3_64(s.as_bytes());
        let arena = self.arena.as_bytes();
        let slot = self.table.find(hash, |slot| {
            let (start, len) = (
                (slot.place & ((1 << 40) - 1)) as usize,
                (slot.place >> 40) as usize,
            );
            slot.hash == hash as u32 && len == s.len() && &arena[start..start + len] == s.as_bytes()
        });
        slot.map(|slot| slot.index)
    }

    /// The index of `s`, adding it if new. `None` when the u32 index space or the
    /// arena is full, or `s` is longer than 16 MiB.
    pub fn intern(&mut self, s: &str) -> Option<u32> {
        if let Some(i) = self.lookup(s) {
            return Some(i);
        }
        let hash = xxh3_64(s.as_bytes());
        let index = u32::try_from(self.ends.len())
            .ok()
            .filter(|&i| i < u32::MAX)?;
        let start = self.arena.len();
        if s.len() > MAX_LEN || start >= 1 << 40 {
            return None;
        }
        self.arena.push_str(s);
        self.ends.push(self.arena.len() as u64);
        let arena = self.arena.as_bytes();
        let rehash = |slot: &Slot| {
            let (start, len) = (
                (slot.place & ((1 << 40) - 1)) as usize,
                (slot.place >> 40) as usize,
            );
            xxh3_64(&arena[start..start + len])
        };
        let place = start as u64 | ((s.len() as u64) << 40);
        self.table.insert_unique(
            hash,
            Slot {
                place,
                index,
                hash: hash as u32,
            },
            rehash,
        );
        Some(index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len() as u32).map(move |i| self.get(i))
    }

    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.ends.capacity() * 8 + self.table.capacity() * 17
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_round_trips() {
        let mut interner = Interner::default();
        let words = ["Q42", "Q5", "Q42", "", "ünïcödé", "Q5"];
        let ids: Vec<u32> = words
            .iter()
            .map(|w| interner.intern(w).expect("room"))
            .collect();
        assert_eq!(ids, vec![0, 1, 0, 2, 3, 1]);
        for (w, id) in words.iter().zip(&ids) {
            assert_eq!(interner.get(*id), *w);
            assert_eq!(interner.lookup(w), Some(*id));
        }
        assert_eq!(interner.lookup("Q6"), None);
    }
}
