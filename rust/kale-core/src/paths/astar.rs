//! The paper's multi-path A* (KALE §3): k anchors sampled from the m-hop
//! neighbourhood of the targets, a depth-d breadth-first search from each, and
//! h(e) = max_i [dist(α_i, e_a) − dist(α_i, e)]⁺, a one-sided landmark bound.
//!
//! Anchor distances are taken over all edges, undirected and without the hub cap:
//! a supergraph of what the search walks, which keeps h a lower bound for every
//! filter. A term whose distance is beyond depth d counts 0, so h never overestimates.
//! With several targets, h is the minimum of the per-target bounds. The queue holds
//! (f, g, node, path); each node may be settled up to max_paths times, so several
//! paths through the same node survive and complete paths come out shortest first.
//!
//! One addition to the paper, on by default (`target_depth`, 0 turns it off): the
//! targets' own breadth-first distances to half the hops, under the search's filter.
//! A node within that depth is at least its distance from a target, any other node at
//! least one more than the depth. The paper's bound counts 0 wherever an anchor's
//! search did not reach, which on a dense graph is nearly everywhere, so A* expanded
//! the whole ball of max_hops - 1 around the source (several times over: each node is
//! settled up to max_paths times). Both bounds are lower bounds, so their maximum is
//! one, and A* still returns shortest paths first.

use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rustc_hash::FxHashMap;
use std::collections::hash_map;

use super::marks::{with_scratch, Marks, Scratch};
use super::neighbours::{distances, each_neighbour, neighbours, Filter};
use super::{Budget, Path, SearchOptions, SearchResult, MAX_HOPS_LIMIT};
use crate::store::Graph;

pub(crate) struct Heuristic {
    /// dist(α_i, ·) for each anchor, within the anchor depth.
    anchor_dist: Vec<FxHashMap<u32, u32>>,
    /// dist(α_i, t) for each anchor i and target t (None beyond the depth).
    to_targets: Vec<Vec<Option<u32>>>,
}

impl Heuristic {
    /// `marks` (clean, and left clean) hold the targets' neighbourhood while anchors are drawn.
    fn new(
        g: &Graph,
        targets: &[u32],
        o: &SearchOptions,
        budget: &mut Budget,
        marks: &mut Marks,
    ) -> Result<Heuristic, String> {
        let around = distances(
            g,
            targets,
            o.anchor_hops,
            &Filter::default(),
            false,
            budget,
            marks,
        );
        // (node, distance to the nearest target), drawn from in node order.
        let mut pool: Vec<(u32, u32)> = marks
            .marked()
            .iter()
            .map(|&a| (a, marks.get(a).unwrap_or(0)))
            .collect();
        marks.reset();
        around?;
        pool.sort_unstable();
        let mut rng = rand::rngs::StdRng::seed_from_u64(o.seed);
        let (mut anchor_dist, mut to_targets) = (Vec::new(), Vec::new());
        for &(a, d) in pool.choose_multiple(&mut rng, o.anchors) {
            // With one target, the search that found the anchor measured its distance.
            let known = (targets.len() == 1).then_some(d);
            let (dist, tt) = anchor_distances(g, a, targets, known, o.anchor_depth, budget)?;
            anchor_dist.push(dist);
            to_targets.push(tt);
        }
        Ok(Heuristic {
            anchor_dist,
            to_targets,
        })
    }

    pub fn h(&self, e: u32) -> u32 {
        let targets = self.to_targets.first().map_or(0, Vec::len);
        (0..targets)
            .map(|t| {
                self.anchor_dist
                    .iter()
                    .zip(&self.to_targets)
                    .map(|(d, tt)| match (tt[t], d.get(&e)) {
                        (Some(at), Some(&ae)) => at.saturating_sub(ae),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0)
            })
            .min()
            .unwrap_or(0)
    }

    /// The whole bound, the paper's and the targets' distances, written into dense
    /// marks wherever it is above the value it has at every unmarked node, which is
    /// returned: one byte read per lookup in the search instead of a map lookup per
    /// anchor and target. (A bound above the marks' largest value, 254, is stored as
    /// 254: still a lower bound.)
    fn fill(
        &self,
        g: &Graph,
        targets: &[u32],
        o: &SearchOptions,
        budget: &mut Budget,
        marks: &mut Marks,
    ) -> Result<u32, String> {
        let depth = o.target_depth.unwrap_or(o.max_hops / 2).min(o.max_hops);
        // Backward: the hops still to walk from a node run towards the targets.
        distances(g, targets, depth, &o.filter, true, budget, marks)?;
        let beyond = if depth > 0 { depth + 1 } else { 0 };
        for d in &self.anchor_dist {
            for &e in d.keys() {
                let h = self.h(e);
                if h > marks.get(e).unwrap_or(beyond) {
                    marks.set(e, h);
                }
            }
        }
        Ok(beyond)
    }
}

/// dist(α, ·) within the needed depth, and dist(α, t) for each target (None: unreached).
type AnchorDistances = (FxHashMap<u32, u32>, Vec<Option<u32>>);

/// dist(α, ·) over all edges, and dist(α, t) for each target, both within `depth`, but
/// only as deep as a term can be positive: [dist(α, t) − dist(α, e)]⁺ needs
/// dist(α, e) < dist(α, t), so nodes as far from the anchor as every target add nothing.
/// On a dense graph that saves searching the anchor's whole three-hop ball.
fn anchor_distances(
    g: &Graph,
    a: u32,
    targets: &[u32],
    known: Option<u32>,
    depth: u32,
    budget: &mut Budget,
) -> Result<AnchorDistances, String> {
    let mut dist = FxHashMap::default();
    dist.insert(a, 0);
    let mut to_targets: Vec<Option<u32>> = targets.iter().map(|&t| (t == a).then_some(0)).collect();
    // Known distances are final, also when beyond the depth (counted as unreached).
    let mut resolved = known.is_some();
    if let Some(d) = known {
        to_targets[0] = (d <= depth).then_some(d);
    }
    let (mut frontier, mut next) = (vec![a], Vec::new());
    for d in 1..=depth {
        resolved |= to_targets.iter().all(Option::is_some);
        if resolved && to_targets.iter().flatten().all(|&t| t <= d) {
            break;
        }
        next.clear();
        for &u in &frontier {
            budget.spend()?;
            each_neighbour(g, u, &Filter::default(), false, |v| {
                if let hash_map::Entry::Vacant(e) = dist.entry(v) {
                    e.insert(d);
                    next.push(v);
                }
            });
        }
        for (t, slot) in targets.iter().zip(&mut to_targets) {
            if slot.is_none() {
                *slot = dist.get(t).copied();
            }
        }
        std::mem::swap(&mut frontier, &mut next);
    }
    Ok((dist, to_targets))
}

/// Writes the whole bound into `scratch.a` (see `Heuristic::fill`), using `scratch.b`
/// while anchors are drawn; returns the bound at every unmarked node.
fn bound(
    g: &Graph,
    targets: &[u32],
    o: &SearchOptions,
    budget: &mut Budget,
    scratch: &mut Scratch,
) -> Result<u32, String> {
    Heuristic::new(g, targets, o, budget, &mut scratch.b)?.fill(
        g,
        targets,
        o,
        budget,
        &mut scratch.a,
    )
}

/// The open list: entries by lowest f, then highest g (deeper first among equals), then
/// the order they were made. f and g are at most max_hops, so one first-in-first-out
/// bucket per (f, g) pair replaces a heap: pushes and pops are O(1), and since entries
/// are made in index order, each bucket is already in index order.
struct Queue {
    buckets: Vec<(Vec<u32>, usize)>,
    max_hops: u32,
    lowest: usize,
}

impl Queue {
    fn new(max_hops: u32) -> Queue {
        let n = (max_hops as usize + 1) * (max_hops as usize + 1);
        Queue {
            buckets: (0..n).map(|_| (Vec::new(), 0)).collect(),
            max_hops,
            lowest: n,
        }
    }

    /// Entries with f beyond max_hops are dropped: they could never be popped in time.
    fn push(&mut self, f: u32, g: u32, entry: u32) {
        if f > self.max_hops {
            return;
        }
        let k = (f * (self.max_hops + 1) + (self.max_hops - g)) as usize;
        self.buckets[k].0.push(entry);
        // An inconsistent bound (a term beyond an anchor's depth counts 0) can make a
        // child's f lower than its parent's.
        self.lowest = self.lowest.min(k);
    }

    fn pop(&mut self) -> Option<u32> {
        while let Some((bucket, head)) = self.buckets.get_mut(self.lowest) {
            if let Some(&e) = bucket.get(*head) {
                *head += 1;
                return Some(e);
            }
            self.lowest += 1;
        }
        None
    }
}

struct Entry {
    node: u32,
    parent: u32,
    g: u32,
}

const ROOT: u32 = u32::MAX;

pub fn multi_path_astar(
    g: &Graph,
    sources: &[u32],
    targets: &[u32],
    o: &SearchOptions,
    budget: &mut Budget,
) -> SearchResult {
    with_scratch(g.node_count(), |scratch| {
        let beyond = match bound(g, targets, o, budget, scratch) {
            Ok(beyond) => beyond,
            Err(reason) => {
                return SearchResult {
                    truncated: true,
                    reason: Some(reason),
                    ..Default::default()
                }
            }
        };
        let h = &scratch.a;
        let settled = if o.max_paths < SETTLE_LIMIT {
            Settled::Dense(&mut scratch.b)
        } else {
            Settled::Map(FxHashMap::default())
        };
        search(
            g,
            sources,
            targets,
            o,
            budget,
            |v| h.get(v).unwrap_or(beyond),
            settled,
        )
    })
}

/// Counts in dense marks go up to this (their unseen value is 255).
const SETTLE_LIMIT: usize = 254;

/// How often each node was settled: dense byte counts when max_paths is small (one read
/// per neighbour, no hashing), a map otherwise.
enum Settled<'m> {
    Dense(&'m mut Marks),
    Map(FxHashMap<u32, usize>),
}

impl Settled<'_> {
    fn count(&self, node: u32) -> usize {
        match self {
            Settled::Dense(m) => m.get(node).unwrap_or(0) as usize,
            Settled::Map(m) => m.get(&node).copied().unwrap_or(0),
        }
    }

    fn bump(&mut self, node: u32) {
        match self {
            Settled::Dense(m) => m.set(node, m.get(node).unwrap_or(0) + 1),
            Settled::Map(m) => *m.entry(node).or_insert(0) += 1,
        }
    }
}

fn search(
    g: &Graph,
    sources: &[u32],
    targets: &[u32],
    o: &SearchOptions,
    budget: &mut Budget,
    h_of: impl Fn(u32) -> u32,
    mut settled: Settled,
) -> SearchResult {
    let mut entries: Vec<Entry> = Vec::new();
    let mut queue = Queue::new(o.max_hops);
    for &s in sources {
        entries.push(Entry {
            node: s,
            parent: ROOT,
            g: 0,
        });
        queue.push(h_of(s), 0, entries.len() as u32 - 1);
    }
    let mut paths = Vec::new();
    let mut scratch = Vec::new();
    let (mut sorted, mut pool) = (FxHashMap::<u32, (usize, usize)>::default(), Vec::new());
    let want = o.max_paths.saturating_add(1);
    while let Some(idx) = queue.pop() {
        let (node, g_cost) = (entries[idx as usize].node, entries[idx as usize].g);
        if settled.count(node) >= want {
            continue;
        }
        settled.bump(node);
        if g_cost > 0 && targets.binary_search(&node).is_ok() {
            if let Err(reason) = budget.keep(g_cost as usize + 1) {
                return cut(paths, o, reason);
            }
            paths.push(Path {
                nodes: chain(&entries, idx),
                relations: Vec::new(),
                forward: Vec::new(),
            });
            if paths.len() >= want {
                break;
            }
            continue;
        }
        if g_cost > 0 && o.filter.is_hub(g, node) {
            continue;
        }
        if let Err(reason) = budget.spend() {
            return cut(paths, o, reason);
        }
        // Every expansion queues its node's neighbours: through hubs, states outgrow
        // what max_expansions bounds by far, so they have a cap of their own.
        if entries.len() > MAX_STATES {
            return cut(
                paths,
                o,
                format!("stopped at the memory cap of {MAX_STATES} search states"),
            );
        }
        // A node is expanded up to max_paths + 1 times: its sorted neighbours are kept.
        let (start, end) = *sorted.entry(node).or_insert_with(|| {
            neighbours(g, node, &o.filter, false, &mut scratch);
            pool.extend_from_slice(&scratch);
            (pool.len() - scratch.len(), pool.len())
        });
        // The path so far, read once per expansion rather than walked per neighbour.
        let mut on_path = [ROOT; MAX_HOPS_LIMIT as usize + 1];
        let mut at = idx;
        for slot in on_path.iter_mut().take(g_cost as usize + 1) {
            *slot = entries[at as usize].node;
            at = entries[at as usize].parent;
        }
        for &v in &pool[start..end] {
            let h = h_of(v);
            // A node settled as often as it may be would only be popped and dropped;
            // a node already on the path would make it not simple.
            if g_cost + 1 + h > o.max_hops || settled.count(v) >= want || on_path.contains(&v) {
                continue;
            }
            entries.push(Entry {
                node: v,
                parent: idx,
                g: g_cost + 1,
            });
            queue.push(g_cost + 1 + h, g_cost + 1, entries.len() as u32 - 1);
        }
    }
    let truncated = paths.len() > o.max_paths;
    paths.truncate(o.max_paths);
    SearchResult {
        paths,
        truncated,
        reason: truncated.then(|| format!("more paths than max_paths={}", o.max_paths)),
        ..Default::default()
    }
}

/// At most this many search states (`Entry`, 12 bytes, and a queue slot): ~130 MB.
const MAX_STATES: usize = 1 << 23;

/// The answer of a search a bound stopped: the paths so far, truncated, and why.
fn cut(mut paths: Vec<Path>, o: &SearchOptions, reason: String) -> SearchResult {
    paths.truncate(o.max_paths);
    SearchResult {
        paths,
        truncated: true,
        reason: Some(reason),
        ..Default::default()
    }
}

fn chain(entries: &[Entry], mut idx: u32) -> Vec<u32> {
    let mut nodes = Vec::new();
    while idx != ROOT {
        nodes.push(entries[idx as usize].node);
        idx = entries[idx as usize].parent;
    }
    nodes.reverse();
    nodes
}

#[cfg(test)]
mod tests;
