//! The neighbourhood a search sees: edges filtered by relation and direction, and
//! the hub cap that keeps searches from expanding through nodes like "human".

use super::marks::Marks;
use super::Budget;
use crate::store::{Dir, Graph};

#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Follow only out-edges (and, searching backwards, only in-edges).
    pub directed: bool,
    /// When set, only these relations (sorted).
    pub allow: Option<Vec<u16>>,
    /// Never these relations (sorted).
    pub deny: Vec<u16>,
    /// Nodes with a total degree above this are not expanded, except endpoints.
    pub hub_cap: Option<u64>,
}

impl Filter {
    pub fn relation_ok(&self, r: u16) -> bool {
        self.allow
            .as_ref()
            .is_none_or(|a| a.binary_search(&r).is_ok())
            && self.deny.binary_search(&r).is_err()
    }

    pub fn is_hub(&self, g: &Graph, n: u32) -> bool {
        self.hub_cap.is_some_and(|cap| g.degree(n) > cap)
    }
}

/// Distinct neighbours of `n` in ascending order. `backward` walks edges against
/// their direction (for a directed search from the targets).
pub fn neighbours(g: &Graph, n: u32, f: &Filter, backward: bool, out: &mut Vec<u32>) {
    neighbours_unordered(g, n, f, backward, out);
    out.sort_unstable();
    out.dedup();
}

/// The neighbours of `n` in storage order, with repeats where parallel edges join
/// them: for searches that order and dedupe on their own, sorting here is wasted.
pub fn neighbours_unordered(g: &Graph, n: u32, f: &Filter, backward: bool, out: &mut Vec<u32>) {
    out.clear();
    out.reserve(g.degree(n) as usize);
    each_neighbour(g, n, f, backward, |x| out.push(x));
}

/// Calls `visit` for each neighbour of `n` under the filter, in storage order.
#[inline]
pub fn each_neighbour(g: &Graph, n: u32, f: &Filter, backward: bool, mut visit: impl FnMut(u32)) {
    let dirs: &[Dir] = match (f.directed, backward) {
        (false, _) => &[Dir::Out, Dir::In],
        (true, false) => &[Dir::Out],
        (true, true) => &[Dir::In],
    };
    let node_count = g.node_count();
    let every_relation = f.allow.is_none() && f.deny.is_empty();
    for &d in dirs {
        let (ns, rs) = g.neighbours(n, d);
        // A corrupted file may hold an out-of-range id; skip it rather than panic.
        if every_relation {
            ns.iter()
                .copied()
                .filter(|&x| x < node_count && x != n)
                .for_each(&mut visit);
        } else {
            ns.iter()
                .zip(rs)
                .filter(|&(&x, &r)| x < node_count && x != n && f.relation_ok(r))
                .for_each(|(&x, _)| visit(x));
        }
    }
}

/// The edge that labels the hop u -> v: the out-edge with the lowest relation, else
/// (undirected searches only) the in-edge with the lowest relation.
pub fn edge_between(g: &Graph, u: u32, v: u32, f: &Filter) -> Option<(u16, bool)> {
    if let Some(r) = lowest_relation(g, u, v, f) {
        return Some((r, true));
    }
    if f.directed {
        return None;
    }
    lowest_relation(g, v, u, f).map(|r| (r, false))
}

/// Whether `each_neighbour(g, from, f, backward, ..)` would visit `to`.
pub fn adjacent(g: &Graph, f: &Filter, from: u32, to: u32, backward: bool) -> bool {
    if from == to {
        return false;
    }
    match (f.directed, backward) {
        (false, _) => {
            lowest_relation(g, from, to, f).is_some() || lowest_relation(g, to, from, f).is_some()
        }
        (true, false) => lowest_relation(g, from, to, f).is_some(),
        (true, true) => lowest_relation(g, to, from, f).is_some(),
    }
}

/// The lowest relation of the edges from -> to. Each such edge is stored twice, in
/// `from`'s out-list and in `to`'s in-list: the shorter list is searched, so a hop out
/// of a hub reads the leaf's few edges, not the hub's thousands.
fn lowest_relation(g: &Graph, from: u32, to: u32, f: &Filter) -> Option<u16> {
    let (out, ins) = (g.neighbours(from, Dir::Out), g.neighbours(to, Dir::In));
    let ((ns, rs), target) = if ins.0.len() < out.0.len() {
        (ins, from)
    } else {
        (out, to)
    };
    // Both lists are sorted by (relation, neighbour), so the first match has the lowest
    // relation: a scan for short lists, a binary search in each relation's run for long.
    if ns.len() <= 64 {
        return ns
            .iter()
            .zip(rs)
            .find(|&(&x, &r)| x == target && f.relation_ok(r))
            .map(|(_, &r)| r);
    }
    let mut start = 0;
    while start < rs.len() {
        let r = rs[start];
        let end = start + rs[start..].partition_point(|&x| x == r);
        if f.relation_ok(r) && ns[start..end].binary_search(&target).is_ok() {
            return Some(r);
        }
        start = end;
    }
    None
}

/// Breadth-first distances from `roots` up to `depth` hops (budgeted) into `dist`.
/// Hubs under the filter's cap get a distance but are not expanded, except the roots.
/// The marks keep nodes in the order they were marked, so each level is a run of them:
/// no frontier lists to fill.
pub(crate) fn distances(
    g: &Graph,
    roots: &[u32],
    depth: u32,
    f: &Filter,
    backward: bool,
    budget: &mut Budget,
    dist: &mut Marks,
) -> Result<(), String> {
    let mut start = dist.marked().len();
    for &r in roots {
        dist.mark(r, 0);
    }
    for d in 1..=depth {
        let end = dist.marked().len();
        for i in start..end {
            let u = dist.marked()[i];
            if d > 1 && f.is_hub(g, u) {
                continue;
            }
            budget.spend()?;
            each_neighbour(g, u, f, backward, |v| {
                dist.mark(v, d);
            });
        }
        start = end;
    }
    Ok(())
}
