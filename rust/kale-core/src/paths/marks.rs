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

    /// The marked nodes in the order they were marked (a breadth-first search's, level
    /// by level).
    pub fn marked(&self) -> &[u32] {
        &self.touched
    }

    /// Sets `node`'s value (below the unseen value), whether or not it had one.
    #[inline]
    pub fn set(&mut self, node: u32, value: u32) {
        if let Some(d) = self.depth.get_mut(node as usize) {
            if *d == UNSEEN {
                self.touched.push(node);
            }
            *d = value.min(UNSEEN as u32 - 1) as u8;
        }
    }

    pub fn reset(&mut self) {
        for &n in &self.touched {
            self.depth[n as usize] = UNSEEN;
        }
        self.touched.clear();
    }
}

/// Buffers a search takes and gives back, so a search on a warm thread allocates only
/// its result. Outsized ones are dropped rather than kept (and cleared on every reuse).
#[derive(Default)]
pub(crate) struct VecPool(Vec<Vec<u32>>);

const KEEP_ELEMENTS: usize = 1 << 16;

impl VecPool {
    pub fn take(&mut self) -> Vec<u32> {
        let mut v = self.0.pop().unwrap_or_default();
        v.clear();
        v
    }

    pub fn give(&mut self, v: Vec<u32>) {
        if v.capacity() <= KEEP_ELEMENTS && self.0.len() < 32 {
            self.0.push(v);
        }
    }
}

/// What one search thread keeps between searches: two mark arrays and spare buffers.
#[derive(Default)]
pub(crate) struct Scratch {
    pub a: Marks,
    pub b: Marks,
    pub vecs: VecPool,
    pub maps: [FxHashMap<u32, (u32, u32)>; 2],
}

/// The map, cleared, leaving an empty one in its place; one that grew past what a
/// typical search needs is dropped instead, since clearing costs its whole capacity.
pub(crate) fn take_cleared<V>(map: &mut FxHashMap<u32, V>) -> FxHashMap<u32, V> {
    let mut m = std::mem::take(map);
    if m.capacity() > KEEP_ELEMENTS / 16 {
        m = FxHashMap::default();
    }
    m.clear();
    m
}

thread_local! {
    static SCRATCH: RefCell<Vec<Scratch>> = const { RefCell::new(Vec::new()) };
}

/// Lends `f` a thread's scratch with two clean mark arrays for a graph of `nodes`
/// nodes; the marks are reset after, also when `f` panics.
pub(crate) fn with_scratch<R>(nodes: u32, f: impl FnOnce(&mut Scratch) -> R) -> R {
    // Taken out of the pool by value (no allocation per search) and put back on drop;
    // a pool, not one value, because a search may run inside another's callback.
    struct Lent(Scratch);
    impl Drop for Lent {
        fn drop(&mut self) {
            self.0.a.reset();
            self.0.b.reset();
            SCRATCH.with_borrow_mut(|pool| pool.push(std::mem::take(&mut self.0)));
        }
    }
    let mut lent = Lent(
        SCRATCH
            .with_borrow_mut(|pool| pool.pop())
            .unwrap_or_default(),
    );
    for m in [&mut lent.0.a, &mut lent.0.b] {
        if m.depth.len() < nodes as usize {
            m.depth.resize(nodes as usize, UNSEEN);
        }
    }
    f(&mut lent.0)
}
