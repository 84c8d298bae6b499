//! Per-thread dense depth marks for the breadth-first searches: one byte per node,
//! read and written without hashing. The array is allocated once per thread, sized
//! to the largest graph searched, and after each search only the touched entries are
//! reset, so a search costs what it visits, not what the graph holds.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

const UNSEEN: u8 = u8::MAX;

#[derive(Default)]
pub(crate) struct Marks {
    depth: Vec<u8>,
    touched: Vec<u32>,
}

impl Marks {
    #[inline]
    pub fn get(&self, node: u32) -> Option<u32> {
        match self.depth.get(node as usize) {
            Some(&d) if d != UNSEEN => Some(d as u32),
            _ => None,
        }
    }

    #[inline]
    pub fn contains(&self, node: u32) -> bool {
        self.get(node).is_some()
    }

    /// Marks `node` at `depth` unless it is marked already; true when newly marked.
    #[inline]
    pub fn mark(&mut self, node: u32, depth: u32) -> bool {
        match self.depth.get_mut(node as usize) {
            Some(d) if *d == UNSEEN => {
                // Depths are bounded by MAX_HOPS_LIMIT, far below UNSEEN.
                *d = depth.min(UNSEEN as u32 - 1) as u8;
                self.touched.push(node);
                true
            }
            _ => false,
        }
    }

    fn reset(&mut self) {
        for &n in &self.touched {
            self.depth[n as usize] = UNSEEN;
        }
        self.touched.clear();
    }
}

/// Where a breadth-first search records node depths: dense marks, or a map where several must
/// live at once (the A* anchors).
pub(crate) trait Depths {
    /// Records `node` at `depth` unless it has one; true when newly recorded.
    fn mark(&mut self, node: u32, depth: u32) -> bool;
}

impl Depths for Marks {
    #[inline]
    fn mark(&mut self, node: u32, depth: u32) -> bool {
        Marks::mark(self, node, depth)
    }
}

impl Depths for FxHashMap<u32, u32> {
    #[inline]
    fn mark(&mut self, node: u32, depth: u32) -> bool {
        match self.entry(node) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(depth);
                true
            }
            std::collections::hash_map::Entry::Occupied(_) => false,
        }
    }
}

thread_local! {
    static MARKS: RefCell<Vec<Marks>> = const { RefCell::new(Vec::new()) };
}

/// Lends `f` two clean mark arrays for a graph of `nodes` nodes; they are reset after,
/// also when `f` panics.
pub(crate) fn with_two<R>(nodes: u32, f: impl FnOnce(&mut Marks, &mut Marks) -> R) -> R {
    // Taken out of the pool by value (no allocation per search) and put back on drop.
    struct Lent([Marks; 2]);
    impl Drop for Lent {
        fn drop(&mut self) {
            for m in &mut self.0 {
                m.reset();
            }
            MARKS.with_borrow_mut(|pool| pool.extend(self.0.iter_mut().map(std::mem::take)));
        }
    }
    let take = || MARKS.with_borrow_mut(|pool| pool.pop()).unwrap_or_default();
    let mut lent = Lent([take(), take()]);
    for m in &mut lent.0 {
        if m.depth.len() < nodes as usize {
            m.depth.resize(nodes as usize, UNSEEN);
        }
    }
    let [a, b] = &mut lent.0;
    f(a, b)
}
