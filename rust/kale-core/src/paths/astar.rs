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

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rustc_hash::FxHashMap;

use super::neighbours::{distances, neighbours, Filter};
use super::{Budget, Path, SearchOptions, SearchResult};
use crate::store::Graph;

pub(crate) struct Heuristic {
    /// dist(α_i, ·) for each anchor, within the anchor depth.
    anchor_dist: Vec<FxHashMap<u32, u32>>,
    /// dist(α_i, t) for each anchor i and target t (None beyond the depth).
    to_targets: Vec<Vec<Option<u32>>>,
}

impl Heuristic {
    fn new(g: &Graph, targets: &[u32], o: &SearchOptions, budget: &mut Budget) -> Result<Heuristic, String> {
        let everything = Filter::default();
        let mut around = FxHashMap::default();
        distances(g, targets, o.anchor_hops, &everything, false, budget, &mut around)?;
        let mut pool: Vec<u32> = around.keys().copied().collect();
        pool.sort_unstable();
        let mut rng = rand::rngs::StdRng::seed_from_u64(o.seed);
        let anchors: Vec<u32> = pool.choose_multiple(&mut rng, o.anchors).copied().collect();
        let mut anchor_dist = Vec::with_capacity(anchors.len());
        for &a in &anchors {
            let mut dist = FxHashMap::default();
            distances(g, &[a], o.anchor_depth, &everything, false, budget, &mut dist)?;
            anchor_dist.push(dist);
        }
        let to_targets = anchor_dist.iter().map(|d| targets.iter().map(|t| d.get(t).copied()).collect()).collect();
        Ok(Heuristic { anchor_dist, to_targets })
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
}

/// For tests: the heuristic's value at every node of `nodes`.
pub fn heuristic_for_test(g: &Graph, targets: &[u32], nodes: &[u32], o: &SearchOptions) -> Vec<u32> {
    let mut budget = Budget::new(&SearchOptions { max_expansions: u64::MAX, timeout: None, ..o.clone() });
    match Heuristic::new(g, targets, o, &mut budget) {
        Ok(h) => nodes.iter().map(|&n| h.h(n)).collect(),
        Err(_) => vec![0; nodes.len()],
    }
}

struct Entry {
    node: u32,
    parent: u32,
    g: u32,
}

const ROOT: u32 = u32::MAX;

pub fn multi_path_astar(g: &Graph, sources: &[u32], targets: &[u32], o: &SearchOptions, budget: &mut Budget) -> SearchResult {
    let heuristic = match Heuristic::new(g, targets, o, budget) {
        Ok(h) => h,
        Err(reason) => return SearchResult { truncated: true, reason: Some(reason), ..Default::default() },
    };
    let mut entries: Vec<Entry> = Vec::new();
    // (f, -g so deeper entries first among equals, entry index for a fixed order)
    let mut queue: BinaryHeap<Reverse<(u32, Reverse<u32>, u32)>> = BinaryHeap::new();
    for &s in sources {
        entries.push(Entry { node: s, parent: ROOT, g: 0 });
        queue.push(Reverse((heuristic.h(s), Reverse(0), entries.len() as u32 - 1)));
    }
    let mut settled: FxHashMap<u32, usize> = FxHashMap::default();
    let mut paths = Vec::new();
    let mut scratch = Vec::new();
    let want = o.max_paths + 1;
    while let Some(Reverse((f, _, idx))) = queue.pop() {
        if f > o.max_hops {
            break;
        }
        let (node, g_cost) = (entries[idx as usize].node, entries[idx as usize].g);
        let count = settled.entry(node).or_insert(0);
        if *count >= want {
            continue;
        }
        *count += 1;
        if g_cost > 0 && targets.binary_search(&node).is_ok() {
            paths.push(Path { nodes: chain(&entries, idx), relations: Vec::new(), forward: Vec::new() });
            if paths.len() >= want {
                break;
            }
            continue;
        }
        if g_cost > 0 && o.filter.is_hub(g, node) {
            continue;
        }
        if let Err(reason) = budget.spend() {
            paths.truncate(o.max_paths);
            return SearchResult { paths, truncated: true, reason: Some(reason), ..Default::default() };
        }
        neighbours(g, node, &o.filter, false, &mut scratch);
        for &v in &scratch {
            if on_chain(&entries, idx, v) {
                continue; // simple paths only
            }
            let h = heuristic.h(v);
            if g_cost + 1 + h > o.max_hops {
                continue;
            }
            entries.push(Entry { node: v, parent: idx, g: g_cost + 1 });
            queue.push(Reverse((g_cost + 1 + h, Reverse(g_cost + 1), entries.len() as u32 - 1)));
        }
    }
    let truncated = paths.len() > o.max_paths;
    paths.truncate(o.max_paths);
    SearchResult { paths, truncated, reason: truncated.then(|| format!("more paths than max_paths={}", o.max_paths)), ..Default::default() }
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

fn on_chain(entries: &[Entry], mut idx: u32, node: u32) -> bool {
    while idx != ROOT {
        if entries[idx as usize].node == node {
            return true;
        }
        idx = entries[idx as usize].parent;
    }
    false
}
