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
//! are ever walked back. The exception is the level where the searches meet: the
//! edges into meeting nodes are seen there anyway, so those parents are recorded.
//!
//! The paths are then read off the graph of shortest paths in node order: forward
//! from the sources through each node's successors, ascending, to the meeting nodes,
//! then through their parents on the backward side to the targets. So they come out
//! sorted, a cut at max_paths keeps the first ones in that order, and each hop's
//! label is looked up once per edge of that graph, not once per path.

use rustc_hash::FxHashMap;

use super::marks::{take_cleared, with_scratch, Marks, Scratch, VecPool};
use super::neighbours::{adjacent, each_neighbour, edge_between, Filter};
use super::{Budget, Path, SearchOptions, SearchResult, MAX_HOPS_LIMIT};
use crate::store::Graph;

const LEVELS: usize = MAX_HOPS_LIMIT as usize + 1;

/// Two node ids as one u64, ordered by `a` then `b`.
fn pair(a: u32, b: u32) -> u64 {
    (a as u64) << 32 | b as u64
}

struct Side<'m> {
    depth_of: &'m mut Marks,
    /// Every node the side reached, level after level (level 0: the roots); level k is
    /// `nodes[bounds[k]..bounds[k + 1]]` and the last level is the frontier.
    nodes: Vec<u32>,
    bounds: [usize; LEVELS + 1],
    /// Sum of each expanded level's degrees (the work of expanding it), to find parents
    /// from whichever end is cheaper; the frontier's is summed only when the next turn
    /// is chosen (not for the level where the searches meet), and only once.
    costs: [u64; LEVELS],
    frontier_cost: Option<u64>,
    /// (meeting node, parent) for each edge by which this side reached a meeting node:
    /// the parents of the meeting nodes on the side that met, recorded as they are seen.
    /// Pairs are kept as one u64 (node in the high half) for a cheap sort.
    met: Vec<u64>,
    depth: u32,
    backward: bool,
}

impl<'m> Side<'m> {
    fn new(
        roots: &[u32],
        backward: bool,
        depth_of: &'m mut Marks,
        mut nodes: Vec<u32>,
    ) -> Side<'m> {
        for &r in roots {
            depth_of.mark(r, 0);
        }
        nodes.extend_from_slice(roots);
        let mut bounds = [0; LEVELS + 1];
        bounds[1] = roots.len();
        Side {
            depth_of,
            nodes,
            bounds,
            costs: [0; LEVELS],
            frontier_cost: None,
            met: Vec::new(),
            depth: 0,
            backward,
        }
    }

    fn level(&self, k: u32) -> &[u32] {
        &self.nodes[self.bounds[k as usize]..self.bounds[k as usize + 1]]
    }

    fn cost(&mut self, g: &Graph) -> u64 {
        if let Some(c) = self.frontier_cost {
            return c;
        }
        let c = self.level(self.depth).iter().map(|&n| g.degree(n)).sum();
        self.frontier_cost = Some(c);
        c
    }

    /// The nodes one level closer to this side's roots that reached `node`, ascending.
    fn parents(&self, g: &Graph, f: &Filter, node: u32, out: &mut Vec<u32>) {
        out.clear();
        let Some(d) = self.depth_of.get(node).filter(|&d| d > 0) else {
            return;
        };
        // A parent was expanded, so it is a root or a node under the hub cap. Either
        // test each node of the level before for an edge to `node` (at most its edges,
        // often a few binary searches: cheap when `node` is a hub met near the roots),
        // or walk `node`'s edges the other way (its degree).
        let expanded = |p: u32| d == 1 || !f.is_hub(g, p);
        let before = self.level(d - 1);
        if self.costs[d as usize - 1].min(32 * before.len() as u64) < g.degree(node) {
            for &p in before {
                if adjacent(g, f, p, node, self.backward) && expanded(p) {
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
}

/// Each node's parents on one side, found once, each with the label of the hop between
/// them in path order. One pool holds every list.
struct Parents {
    range: FxHashMap<u32, (u32, u32)>,
    pool: Vec<u32>,
    labels: Vec<(u16, bool)>,
    buf: Vec<u32>,
}

impl Parents {
    /// Records `parents` (ascending) as `node`'s.
    fn put(
        &mut self,
        side: &Side,
        g: &Graph,
        f: &Filter,
        node: u32,
        parents: impl Iterator<Item = u32>,
    ) {
        let start = self.pool.len() as u32;
        for p in parents {
            // Forward, a parent comes before the node on the path; backward, after it.
            let (a, b) = if side.backward { (node, p) } else { (p, node) };
            self.labels
                .push(edge_between(g, a, b, f).unwrap_or((u16::MAX, true)));
            self.pool.push(p);
        }
        self.range.insert(node, (start, self.pool.len() as u32));
    }

    /// Adds ((parent, node), label index) for each of `node`'s parents to `successors`,
    /// and the parents to `stack`.
    fn link(
        &mut self,
        side: &Side,
        g: &Graph,
        f: &Filter,
        node: u32,
        successors: &mut Vec<(u64, u32)>,
        stack: &mut Vec<u32>,
    ) {
        let (start, end) = self.of(side, g, f, node);
        for i in start..end {
            successors.push((pair(self.pool[i as usize], node), i));
            stack.push(self.pool[i as usize]);
        }
    }

    fn of(&mut self, side: &Side, g: &Graph, f: &Filter, node: u32) -> (u32, u32) {
        if let Some(&r) = self.range.get(&node) {
            return r;
        }
        let mut buf = std::mem::take(&mut self.buf);
        side.parents(g, f, node, &mut buf);
        self.put(side, g, f, node, buf.iter().copied());
        self.buf = buf;
        self.range[&node]
    }
}

pub fn all_shortest(
    g: &Graph,
    sources: &[u32],
    targets: &[u32],
    o: &SearchOptions,
    budget: &mut Budget,
) -> SearchResult {
    with_scratch(g.node_count(), |scratch| {
        search(g, sources, targets, o, budget, scratch)
    })
}

fn search(
    g: &Graph,
    sources: &[u32],
    targets: &[u32],
    o: &SearchOptions,
    budget: &mut Budget,
    scratch: &mut Scratch,
) -> SearchResult {
    let Scratch { a, b, vecs, maps } = scratch;
    let mut fwd = Side::new(sources, false, a, vecs.take());
    let mut bwd = Side::new(targets, true, b, vecs.take());
    let mut meeting = vecs.take();
    let result = expand(
        g,
        sources,
        targets,
        o,
        budget,
        &mut fwd,
        &mut bwd,
        &mut meeting,
    );
    let result = result.unwrap_or_else(|| {
        join(
            g,
            &o.filter,
            &mut fwd,
            &mut bwd,
            &meeting,
            o.max_paths,
            budget,
            vecs,
            maps,
        )
    });
    for v in [fwd.nodes, bwd.nodes, meeting] {
        vecs.give(v);
    }
    result
}

/// Expands levels until the searches meet (`None`, the meeting nodes in `meeting`) or
/// cannot (`Some`: the result without paths).
#[allow(clippy::too_many_arguments)]
fn expand<'m>(
    g: &Graph,
    sources: &[u32],
    targets: &[u32],
    o: &SearchOptions,
    budget: &mut Budget,
    fwd: &mut Side<'m>,
    bwd: &mut Side<'m>,
    meeting: &mut Vec<u32>,
) -> Option<SearchResult> {
    let endpoint = |n: u32| sources.binary_search(&n).is_ok() || targets.binary_search(&n).is_ok();
    while fwd.depth + bwd.depth < o.max_hops {
        if fwd.level(fwd.depth).is_empty() || bwd.level(bwd.depth).is_empty() {
            return Some(SearchResult {
                reason: Some("no path: the two searches cannot meet".into()),
                ..Default::default()
            });
        }
        let (fc, bc) = (fwd.cost(g), bwd.cost(g));
        let (this, other, work) = if fc <= bc {
            (&mut *fwd, &*bwd, fc)
        } else {
            (&mut *bwd, &*fwd, bc)
        };
        let depth = this.depth + 1;
        // On the last level a new node matters only where it meets the other side, so
        // the others are neither marked nor kept: that level is usually the largest.
        let last = depth + other.depth == o.max_hops;
        let (start, end) = (
            this.bounds[this.depth as usize],
            this.bounds[this.depth as usize + 1],
        );
        for i in start..end {
            let u = this.nodes[i];
            // Endpoints are expanded only as roots; a hub never as an intermediate.
            if this.depth > 0 && o.filter.is_hub(g, u) {
                continue;
            }
            if let Err(reason) = budget.spend() {
                return Some(SearchResult {
                    truncated: true,
                    reason: Some(reason),
                    ..Default::default()
                });
            }
            let (depth_of, nodes, met) = (&mut *this.depth_of, &mut this.nodes, &mut this.met);
            each_neighbour(g, u, &o.filter, this.backward, |v| {
                let meets = other.depth_of.contains(v);
                if meets && depth_of.get(v) == Some(depth) {
                    met.push(pair(v, u)); // a meeting node of this level, reached again
                    return;
                }
                if (last && !meets)
                    || depth_of.contains(v)
                    || (o.filter.is_hub(g, v) && !endpoint(v))
                {
                    return;
                }
                depth_of.mark(v, depth);
                nodes.push(v);
                if meets {
                    meeting.push(v);
                    met.push(pair(v, u));
                }
            });
        }
        this.costs[this.depth as usize] = work;
        this.depth = depth;
        this.bounds[depth as usize + 1] = this.nodes.len();
        this.frontier_cost = None;
        if !meeting.is_empty() {
            meeting.sort_unstable();
            return None;
        }
    }
    Some(SearchResult::default())
}

#[allow(clippy::too_many_arguments)]
fn join<'m>(
    g: &Graph,
    f: &Filter,
    fwd: &mut Side<'m>,
    bwd: &mut Side<'m>,
    meeting: &[u32],
    max_paths: usize,
    budget: &mut Budget,
    vecs: &mut VecPool,
    maps: &mut [FxHashMap<u32, (u32, u32)>; 2],
) -> SearchResult {
    let mut ahead = Parents {
        range: take_cleared(&mut maps[0]),
        pool: vecs.take(),
        labels: Vec::new(),
        buf: vecs.take(),
    };
    let mut behind = Parents {
        range: take_cleared(&mut maps[1]),
        pool: vecs.take(),
        labels: Vec::new(),
        buf: vecs.take(),
    };
    for (side, memo) in [(&mut *fwd, &mut ahead), (&mut *bwd, &mut behind)] {
        side.met.sort_unstable();
        side.met.dedup();
        for run in side.met.chunk_by(|a, b| a >> 32 == b >> 32) {
            memo.put(
                side,
                g,
                f,
                (run[0] >> 32) as u32,
                run.iter().map(|&e| e as u32),
            );
        }
    }
    let (fwd, bwd) = (&*fwd, &*bwd);
    // The forward half of the graph of shortest paths: ((node, successor) as one key,
    // label index), sorted by key; found from the meeting nodes back to the sources.
    let mut successors: Vec<(u64, u32)> = Vec::new();
    let mut stack = vecs.take();
    // The meeting nodes' parents may be known already (from the expansion), so the map
    // of known parents tells which other nodes were explored.
    for &m in meeting {
        ahead.link(fwd, g, f, m, &mut successors, &mut stack);
    }
    while let Some(n) = stack.pop() {
        if !ahead.range.contains_key(&n) {
            ahead.link(fwd, g, f, n, &mut successors, &mut stack);
        }
    }
    successors.sort_unstable_by_key(|e| e.0);
    let mut walk = Walk {
        g,
        f,
        bwd,
        meeting,
        successors: &successors,
        ahead: &ahead.labels,
        behind: &mut behind,
        nodes: vecs.take(),
        hops: Vec::new(),
        paths: Vec::new(),
        limit: max_paths.saturating_add(1),
        budget,
        stopped: None,
    };
    for &s in fwd.level(0) {
        walk.nodes.push(s);
        walk.step(s);
        walk.nodes.pop();
    }
    let (mut paths, nodes, stopped) = (walk.paths, walk.nodes, walk.stopped);
    for v in [nodes, stack, ahead.pool, ahead.buf, behind.pool, behind.buf] {
        vecs.give(v);
    }
    *maps = [ahead.range, behind.range];
    let truncated = stopped.is_some() || paths.len() > max_paths;
    paths.truncate(max_paths);
    SearchResult {
        paths,
        truncated,
        reason: stopped.or_else(|| {
            truncated.then(|| format!("more shortest paths than max_paths={max_paths}"))
        }),
        ..Default::default()
    }
}

/// Reads the paths off the graph of shortest paths, depth first in ascending node order.
struct Walk<'a> {
    g: &'a Graph,
    f: &'a Filter,
    bwd: &'a Side<'a>,
    meeting: &'a [u32],
    successors: &'a [(u64, u32)],
    ahead: &'a [(u16, bool)],
    behind: &'a mut Parents,
    nodes: Vec<u32>,
    hops: Vec<(u16, bool)>,
    paths: Vec<Path>,
    limit: usize,
    /// The timeout and the memory cap hold here too: shortest paths can be billions.
    budget: &'a mut Budget,
    stopped: Option<String>,
}

impl Walk<'_> {
    /// Extends the path on the stack, which ends at `u` on the forward side.
    fn step(&mut self, u: u32) {
        if self.meeting.binary_search(&u).is_ok() {
            return self.behind_from(u);
        }
        let mut i = self.successors.partition_point(|e| e.0 >> 32 < u as u64);
        while let Some(&(key, label)) = self.successors.get(i) {
            let (from, v) = ((key >> 32) as u32, key as u32);
            if from != u || self.paths.len() >= self.limit || self.stopped.is_some() {
                return;
            }
            self.nodes.push(v);
            self.hops.push(self.ahead[label as usize]);
            self.step(v);
            self.nodes.pop();
            self.hops.pop();
            i += 1;
        }
    }

    /// Extends the path, past its meeting node and at `u`, to the targets.
    fn behind_from(&mut self, u: u32) {
        if self.paths.len() >= self.limit || self.stopped.is_some() {
            return;
        }
        if let Err(reason) = self.budget.clock() {
            self.stopped = Some(reason);
            return;
        }
        if self.bwd.depth_of.get(u) == Some(0) {
            if let Err(reason) = self.budget.keep(self.nodes.len()) {
                self.stopped = Some(reason);
                return;
            }
            let (mut relations, mut forward) = (
                Vec::with_capacity(self.hops.len()),
                Vec::with_capacity(self.hops.len()),
            );
            for &(r, f) in &self.hops {
                relations.push(r);
                forward.push(f);
            }
            self.paths.push(Path {
                nodes: self.nodes.clone(),
                relations,
                forward,
            });
            return;
        }
        let (start, end) = self.behind.of(self.bwd, self.g, self.f, u);
        for i in start as usize..end as usize {
            self.nodes.push(self.behind.pool[i]);
            self.hops.push(self.behind.labels[i]);
            self.behind_from(self.behind.pool[i]);
            self.nodes.pop();
            self.hops.pop();
        }
    }
}
