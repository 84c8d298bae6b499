//! The k shortest simple paths up to max_hops: a depth-first enumeration by
//! increasing length, pruned by each node's distance to the targets, so only
//! branches that can still arrive in time are walked. Paths come shortest first,
//! ties in ascending node order.
//!
//! The distances come from a backward breadth-first search of only half the hops
//! (`reach`): the walk prunes a step when the hops it has left are within that
//! reach and the node is farther, and walks freely before. So each end does about
//! half the work, as in a bidirectional search, instead of one search of
//! max_hops - 1 levels from the targets that, past a hub, touches most of the graph.

use super::marks::{with_scratch, Marks, Scratch, VecPool};
use super::neighbours::{adjacent, distances, each_neighbour};
use super::{Budget, Path, SearchOptions, SearchResult, MAX_HOPS_LIMIT};
use crate::store::Graph;

struct Walk<'a> {
    g: &'a Graph,
    o: &'a SearchOptions,
    targets: &'a [u32],
    dist: &'a Marks,
    /// The depth of the backward search: `dist` holds every node within it.
    reach: u32,
    /// `dist.marked()[..within[d]]` are the nodes at distance d or less.
    within: [usize; MAX_HOPS_LIMIT as usize + 1],
    stack: Vec<u32>,
    found: Vec<Path>,
    want: usize,
    vecs: &'a mut VecPool,
}

impl Walk<'_> {
    /// Extends the path on the stack to exactly `length` hops.
    fn extend(&mut self, length: u32, budget: &mut Budget) -> Result<(), String> {
        let depth = self.stack.len() as u32 - 1;
        let Some(&u) = self.stack.last() else {
            return Ok(());
        };
        if depth == length {
            if self.targets.binary_search(&u).is_ok() {
                budget.keep(self.stack.len())?;
                self.found.push(Path {
                    nodes: self.stack.clone(),
                    relations: Vec::new(),
                    forward: Vec::new(),
                });
            }
            return Ok(());
        }
        // Intermediate nodes: no targets (the path would have ended there), no hubs.
        if depth > 0 && (self.targets.binary_search(&u).is_ok() || self.o.filter.is_hub(self.g, u))
        {
            return Ok(());
        }
        budget.spend()?;
        let mut next = self.vecs.take();
        // Only the neighbours that can still arrive in time are sorted (ascending, for
        // the order of the paths): sorting a hub's whole list is most of the work.
        let remaining = length - depth - 1;
        let (g, f, dist, reach, stack) =
            (self.g, &self.o.filter, self.dist, self.reach, &self.stack);
        // Within the backward search's reach the next node must be one of the few it
        // found that close to the targets: testing those for an edge beats reading all of
        // a hub's edges.
        let close = if remaining <= reach {
            &dist.marked()[..self.within[remaining as usize]]
        } else {
            &[]
        };
        if remaining <= reach && close.len() * 16 < g.degree(u) as usize {
            next.extend(
                close
                    .iter()
                    .copied()
                    .filter(|&v| !stack.contains(&v) && adjacent(g, f, u, v, false)),
            );
            next.sort_unstable();
        } else {
            each_neighbour(g, u, f, false, |v| {
                if (remaining > reach || dist.get(v).is_some_and(|d| d <= remaining))
                    && !stack.contains(&v)
                {
                    next.push(v);
                }
            });
            next.sort_unstable();
            next.dedup();
        }
        for &v in &next {
            self.stack.push(v);
            let r = self.extend(length, budget);
            self.stack.pop();
            r?;
            if self.found.len() >= self.want {
                break;
            }
        }
        self.vecs.give(next);
        Ok(())
    }
}

pub fn k_shortest(
    g: &Graph,
    sources: &[u32],
    targets: &[u32],
    o: &SearchOptions,
    budget: &mut Budget,
) -> SearchResult {
    with_scratch(g.node_count(), |scratch| {
        walk(g, sources, targets, o, budget, scratch)
    })
}

fn walk(
    g: &Graph,
    sources: &[u32],
    targets: &[u32],
    o: &SearchOptions,
    budget: &mut Budget,
    scratch: &mut Scratch,
) -> SearchResult {
    let Scratch { a: dist, vecs, .. } = scratch;
    let reach = o.max_hops / 2;
    if let Err(reason) = distances(g, targets, reach, &o.filter, true, budget, dist) {
        return SearchResult {
            truncated: true,
            reason: Some(reason),
            ..Default::default()
        };
    }
    let dist: &Marks = dist;
    let mut within = [0; MAX_HOPS_LIMIT as usize + 1];
    for (d, w) in within.iter_mut().enumerate().take(reach as usize + 1) {
        *w = dist
            .marked()
            .partition_point(|&n| dist.get(n).is_some_and(|x| x as usize <= d));
    }
    let want = o.max_paths.saturating_add(1); // one more than asked proves whether any were cut
    let stack = vecs.take();
    let mut walk = Walk {
        g,
        o,
        targets,
        dist,
        reach,
        within,
        stack,
        found: Vec::new(),
        want,
        vecs,
    };
    let mut stopped = None;
    'lengths: for length in 1..=o.max_hops {
        for &s in sources {
            walk.stack.clear();
            walk.stack.push(s);
            if let Err(reason) = walk.extend(length, budget) {
                stopped = Some(reason);
                break 'lengths;
            }
            if walk.found.len() >= want {
                break 'lengths;
            }
        }
    }
    let Walk {
        stack,
        found: mut paths,
        vecs,
        ..
    } = walk;
    vecs.give(stack);
    let truncated = stopped.is_some() || paths.len() > o.max_paths;
    paths.truncate(o.max_paths);
    let reason = stopped.or_else(|| {
        truncated.then(|| {
            format!(
                "more paths than max_paths={} within max_hops={}",
                o.max_paths, o.max_hops
            )
        })
    });
    SearchResult {
        paths,
        truncated,
        reason,
        ..Default::default()
    }
}
