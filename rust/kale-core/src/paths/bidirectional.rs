//! All shortest paths by bidirectional breadth-first search: expand whole levels
//! from the smaller side until the two searches meet, then join the two parent
//! graphs through the meeting layer.
//!
//! After a level of the forward side grows to depth df + 1 with the backward side at
//! depth db, the first meeting proves the distance is df + 1 + db, and every shortest
//! path crosses exactly one meeting node at position df + 1 (the same with the sides
//! swapped). Hub-capped nodes are never entered except as endpoints.

use rustc_hash::FxHashMap;

use super::neighbours::neighbours;
use super::{Budget, Path, SearchOptions, SearchResult};
use crate::store::Graph;

struct Side {
    /// node -> the range in `pool` of its parents one level closer to this side's
    /// roots (empty for roots); one shared pool instead of a Vec per node.
    parents: FxHashMap<u32, (u32, u32)>,
    pool: Vec<u32>,
    frontier: Vec<u32>,
    /// Sum of the frontier's degrees: the work of expanding it, kept with it so the
    /// side that is not expanded is not summed again every level.
    cost: u64,
    depth: u32,
    backward: bool,
}

impl Side {
    fn new(g: &Graph, roots: &[u32], backward: bool) -> Side {
        let mut parents = FxHashMap::with_capacity_and_hasher(64, Default::default());
        parents.extend(roots.iter().map(|&r| (r, (0, 0))));
        Side { parents, pool: Vec::with_capacity(64), frontier: roots.to_vec(), cost: frontier_cost(g, roots), depth: 0, backward }
    }

    fn parents_of(&self, node: u32) -> &[u32] {
        match self.parents.get(&node) {
            Some(&(start, len)) => &self.pool[start as usize..(start + len) as usize],
            None => &[],
        }
    }

    /// Every chain from `node` back to a root (node first), up to `limit` chains.
    fn chains(&self, node: u32, limit: usize, out: &mut Vec<Vec<u32>>) {
        let mut stack = vec![vec![node]];
        while let Some(chain) = stack.pop() {
            let last = *chain.last().unwrap_or(&node);
            let parents = self.parents_of(last);
            if parents.is_empty() {
                out.push(chain);
                if out.len() >= limit {
                    return;
                }
                continue;
            }
            // Reversed so the smallest parent is explored first: a deterministic order.
            for &p in parents.iter().rev() {
                let mut next = chain.clone();
                next.push(p);
                stack.push(next);
            }
        }
    }
}

pub fn all_shortest(g: &Graph, sources: &[u32], targets: &[u32], o: &SearchOptions, budget: &mut Budget) -> SearchResult {
    let mut fwd = Side::new(g, sources, false);
    let mut bwd = Side::new(g, targets, true);
    let endpoint = |n: u32| sources.binary_search(&n).is_ok() || targets.binary_search(&n).is_ok();
    let mut scratch = Vec::new();
    while fwd.depth + bwd.depth < o.max_hops {
        if fwd.frontier.is_empty() || bwd.frontier.is_empty() {
            return SearchResult { reason: Some("no path: the two searches cannot meet".into()), ..Default::default() };
        }
        let forward_turn = fwd.cost <= bwd.cost;
        let (this, other) = if forward_turn { (&mut fwd, &bwd) } else { (&mut bwd, &fwd) };
        // (new node, parent) pairs, grouped by node below: cheaper than a map of Vecs.
        let mut next: Vec<(u32, u32)> = Vec::new();
        for &u in &this.frontier {
            // Endpoints are expanded only as roots; a hub never as an intermediate.
            if this.depth > 0 && o.filter.is_hub(g, u) {
                continue;
            }
            if let Err(reason) = budget.spend() {
                return SearchResult { truncated: true, reason: Some(reason), ..Default::default() };
            }
            neighbours(g, u, &o.filter, this.backward, &mut scratch);
            for &v in &scratch {
                if this.parents.contains_key(&v) || (o.filter.is_hub(g, v) && !endpoint(v)) {
                    continue;
                }
                next.push((v, u));
            }
        }
        this.depth += 1;
        next.sort_unstable();
        let mut frontier = Vec::with_capacity(next.len());
        for group in next.chunk_by(|a, b| a.0 == b.0) {
            let v = group[0].0;
            let start = this.pool.len() as u32;
            this.pool.extend(group.iter().map(|&(_, p)| p));
            this.parents.insert(v, (start, group.len() as u32));
            frontier.push(v);
        }
        let meeting: Vec<u32> = frontier.iter().copied().filter(|v| other.parents.contains_key(v)).collect();
        this.cost = frontier_cost(g, &frontier);
        this.frontier = frontier;
        if !meeting.is_empty() {
            return join(&fwd, &bwd, &meeting, o.max_paths);
        }
    }
    SearchResult::default()
}

/// Sum of degrees: the work of expanding a frontier.
fn frontier_cost(g: &Graph, frontier: &[u32]) -> u64 {
    frontier.iter().map(|&n| g.degree(n)).sum()
}

fn join(fwd: &Side, bwd: &Side, meeting: &[u32], max_paths: usize) -> SearchResult {
    let limit = max_paths + 1; // one more than asked proves whether any were cut
    let mut paths = Vec::new();
    for &m in meeting {
        let (mut heads, mut tails) = (Vec::new(), Vec::new());
        fwd.chains(m, limit, &mut heads);
        bwd.chains(m, limit, &mut tails);
        for head in &heads {
            for tail in &tails {
                let mut nodes: Vec<u32> = head.iter().rev().copied().collect();
                nodes.extend_from_slice(&tail[1..]);
                paths.push(Path { nodes, relations: Vec::new(), forward: Vec::new() });
            }
        }
        if paths.len() >= limit {
            break;
        }
    }
    paths.sort();
    let truncated = paths.len() > max_paths;
    paths.truncate(max_paths);
    SearchResult {
        paths,
        truncated,
        reason: truncated.then(|| format!("more shortest paths than max_paths={max_paths}")),
        ..Default::default()
    }
}
