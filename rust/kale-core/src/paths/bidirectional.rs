//! All shortest paths by bidirectional breadth-first search: expand whole levels
//! from the cheaper side until the two searches meet, then walk back from the
//! meeting nodes to both ends.
//!
//! After a level of the forward side grows to depth df + 1 with the backward side at
//! depth db, the first meeting proves the distance is df + 1 + db, and every shortest
//! path crosses exactly one meeting node at position df + 1 (the same with the sides
//! swapped). Hub-capped nodes are never entered except as endpoints.
//!
//! Each side keeps only the depth of the nodes it reached (dense per-thread marks): a
//! node's parents are its neighbours one level closer that the side expanded, found
//! again when the paths are built. That is far less work than recording every
//! (node, parent) pair while expanding, since only the few nodes on shortest paths
//! are ever walked back.

use rustc_hash::FxHashMap;

use super::marks::{with_two, Marks};
use super::neighbours::{each_neighbour, Filter};
use super::{Budget, Path, SearchOptions, SearchResult};
use crate::store::Graph;

struct Side<'m> {
    depth_of: &'m mut Marks,
    frontier: Vec<u32>,
    /// Sum of the frontier's degrees: the work of expanding it, kept with it so the
    /// side that is not expanded is not summed again every level, and summed only
    /// when the next turn is chosen (not for the level where the searches meet).
    cost: Option<u64>,
    /// The expanded levels (level 0: the roots) with their costs, to find parents from
    /// whichever end is cheaper.
    levels: Vec<(Vec<u32>, u64)>,
    depth: u32,
    backward: bool,
}

impl<'m> Side<'m> {
    fn new(roots: &[u32], backward: bool, depth_of: &'m mut Marks) -> Side<'m> {
        for &r in roots {
            depth_of.mark(r, 0);
        }
        Side { depth_of, frontier: roots.to_vec(), cost: None, levels: Vec::new(), depth: 0, backward }
    }

    fn cost(&mut self, g: &Graph) -> u64 {
        *self.cost.get_or_insert_with(|| self.frontier.iter().map(|&n| g.degree(n)).sum())
    }

    /// The nodes one level closer to this side's roots that reached `node`, ascending.
    fn parents(&self, g: &Graph, f: &Filter, node: u32, out: &mut Vec<u32>) {
        out.clear();
        let Some(d) = self.depth_of.get(node).filter(|&d| d > 0) else { return };
        // A parent was expanded, so it is a root or a node under the hub cap. Either
        // scan the level before for nodes whose edges reach `node` (cheap when `node` is
        // a hub met near the roots), or walk `node`'s edges the other way.
        let expanded = |p: u32| d == 1 || !f.is_hub(g, p);
        let (before, before_cost) = &self.levels[d as usize - 1];
        if *before_cost < g.degree(node) {
            for &p in before {
                let mut reaches = false;
                each_neighbour(g, p, f, self.backward, |x| reaches |= x == node);
                if reaches && expanded(p) {
                    out.push(p);
                }
            }
        } else {
            each_neighbour(g, node, f, !self.backward, |p| {
                if self.depth_of.get(p) == Some(d - 1) && expanded(p) {
                    out.push(p);
                }
            });
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Every chain from `node` back to a root (node first), up to `limit` chains, in
    /// ascending order of the nodes after `node`, depth first on one `chain` buffer.
    /// Chains from one node to the roots all have the same length, so `out` holds them
    /// end to end, without an allocation per chain.
    #[allow(clippy::too_many_arguments)] // a recursion's state, passed down as is
    fn chains(&self, g: &Graph, f: &Filter, node: u32, limit: usize, memo: &mut Parents, chain: &mut Vec<u32>, out: &mut Vec<u32>) {
        chain.push(node);
        let depth = self.depth_of.get(node).unwrap_or(0) as usize;
        if depth == 0 {
            out.extend_from_slice(chain);
        } else {
            let whole = chain.len() + depth; // the length of every finished chain
            let (start, end) = memo.of(node, |buf| self.parents(g, f, node, buf));
            for i in start..end {
                if out.len() >= limit * whole {
                    break;
                }
                let p = memo.pool[i];
                self.chains(g, f, p, limit, memo, chain, out);
            }
        }
        chain.pop();
    }
}

/// Each node's parents, found once: chains through a hub would otherwise scan its
/// edges once per chain. One pool holds every list.
#[derive(Default)]
struct Parents {
    range: FxHashMap<u32, (usize, usize)>,
    pool: Vec<u32>,
    buf: Vec<u32>,
}

impl Parents {
    fn of(&mut self, node: u32, find: impl FnOnce(&mut Vec<u32>)) -> (usize, usize) {
        if let Some(&r) = self.range.get(&node) {
            return r;
        }
        find(&mut self.buf);
        let r = (self.pool.len(), self.pool.len() + self.buf.len());
        self.pool.extend_from_slice(&self.buf);
        self.range.insert(node, r);
        r
    }
}

pub fn all_shortest(g: &Graph, sources: &[u32], targets: &[u32], o: &SearchOptions, budget: &mut Budget) -> SearchResult {
    with_two(g.node_count(), |a, b| search(g, sources, targets, o, budget, a, b))
}

fn search(g: &Graph, sources: &[u32], targets: &[u32], o: &SearchOptions, budget: &mut Budget, a: &mut Marks, b: &mut Marks) -> SearchResult {
    let mut fwd = Side::new(sources, false, a);
    let mut bwd = Side::new(targets, true, b);
    let endpoint = |n: u32| sources.binary_search(&n).is_ok() || targets.binary_search(&n).is_ok();
    while fwd.depth + bwd.depth < o.max_hops {
        if fwd.frontier.is_empty() || bwd.frontier.is_empty() {
            return SearchResult { reason: Some("no path: the two searches cannot meet".into()), ..Default::default() };
        }
        let (fc, bc) = (fwd.cost(g), bwd.cost(g));
        let (this, other, work) = if fc <= bc { (&mut fwd, &bwd, fc) } else { (&mut bwd, &fwd, bc) };
        let depth = this.depth + 1;
        // The work bounds the new frontier's size: one allocation per level.
        let mut frontier = Vec::with_capacity(work.min(1 << 16) as usize);
        let mut meeting = Vec::new();
        for &u in &this.frontier {
            // Endpoints are expanded only as roots; a hub never as an intermediate.
            if this.depth > 0 && o.filter.is_hub(g, u) {
                continue;
            }
            if let Err(reason) = budget.spend() {
                return SearchResult { truncated: true, reason: Some(reason), ..Default::default() };
            }
            each_neighbour(g, u, &o.filter, this.backward, |v| {
                if this.depth_of.contains(v) || (o.filter.is_hub(g, v) && !endpoint(v)) {
                    return;
                }
                this.depth_of.mark(v, depth);
                frontier.push(v);
                if other.depth_of.contains(v) {
                    meeting.push(v);
                }
            });
        }
        this.depth = depth;
        this.cost = None;
        let expanded = std::mem::replace(&mut this.frontier, frontier);
        this.levels.push((expanded, work));
        if !meeting.is_empty() {
            meeting.sort_unstable();
            return join(g, &o.filter, &fwd, &bwd, &meeting, o.max_paths);
        }
    }
    SearchResult::default()
}


fn join(g: &Graph, f: &Filter, fwd: &Side, bwd: &Side, meeting: &[u32], max_paths: usize) -> SearchResult {
    let limit = max_paths + 1; // one more than asked proves whether any were cut
    let mut paths = Vec::new();
    let (mut fwd_memo, mut bwd_memo, mut chain) = (Parents::default(), Parents::default(), Vec::new());
    let (mut heads, mut tails) = (Vec::new(), Vec::new());
    for &m in meeting {
        heads.clear();
        tails.clear();
        fwd.chains(g, f, m, limit, &mut fwd_memo, &mut chain, &mut heads);
        bwd.chains(g, f, m, limit, &mut bwd_memo, &mut chain, &mut tails);
        let (head_len, tail_len) = (fwd.depth_of.get(m).unwrap_or(0) as usize + 1, bwd.depth_of.get(m).unwrap_or(0) as usize + 1);
        for head in heads.chunks_exact(head_len) {
            for tail in tails.chunks_exact(tail_len) {
                let mut nodes = Vec::with_capacity(head_len + tail_len - 1);
                nodes.extend(head.iter().rev());
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
