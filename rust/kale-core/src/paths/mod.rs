//! Bounded path search between sets of entities.
//!
//! A path is a simple sequence of nodes; each hop is labelled with one edge that
//! joins the two nodes under the search's filters (the out-edge with the lowest
//! relation id, else the in-edge with the lowest), so parallel edges such as
//! WordNet's hypernym/hyponym pairs do not multiply paths. Pairs where source and
//! target are the same node are not searched: nodes in both sets are dropped from the
//! targets. Every search is bounded by hops, paths, expansions and time, and says
//! when a bound cut its result short.

mod astar;
mod bidirectional;
mod kshortest;
mod marks;
mod neighbours;

use rustc_hash::FxHashMap;
use std::time::{Duration, Instant};

use crate::error::{KaleError, Result};
use crate::store::Graph;

pub use neighbours::Filter;

pub const MAX_HOPS_LIMIT: u32 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// All shortest paths, by bidirectional breadth-first search (exact).
    Shortest,
    /// The k shortest simple paths up to max_hops, shortest first (exact).
    KShortest,
    /// The paper's multi-path A* with anchor (landmark) heuristics.
    AStar,
}

impl std::str::FromStr for Method {
    type Err = KaleError;
    fn from_str(s: &str) -> Result<Method> {
        match s {
            "shortest" => Ok(Method::Shortest),
            "k_shortest" | "k-shortest" => Ok(Method::KShortest),
            "astar" | "a*" => Ok(Method::AStar),
            other => Err(KaleError::invalid(format!(
                "method must be 'shortest', 'k_shortest' or 'astar', not {other:?}"
            ))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SearchOptions {
    pub method: Method,
    pub max_hops: u32,
    pub max_paths: usize,
    pub max_expansions: u64,
    pub timeout: Option<Duration>,
    pub filter: Filter,
    /// A* only: anchors sampled from the `anchor_hops`-hop neighbourhood of the
    /// targets, each with a breadth-first search to `anchor_depth`.
    pub anchors: usize,
    pub anchor_hops: u32,
    pub anchor_depth: u32,
    /// A* only: the depth of the targets' own distances added to the paper's bound
    /// (None: half of max_hops; 0: the paper's bound alone).
    pub target_depth: Option<u32>,
    pub seed: u64,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            method: Method::Shortest,
            max_hops: 3,
            max_paths: 10,
            max_expansions: 1_000_000,
            timeout: Some(Duration::from_secs(5)),
            filter: Filter::default(),
            anchors: 4,
            anchor_hops: 2,
            anchor_depth: 3,
            target_depth: None,
            seed: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path {
    pub nodes: Vec<u32>,
    pub relations: Vec<u16>,
    /// Per hop: true when the edge points from `nodes[i]` to `nodes[i + 1]`.
    pub forward: Vec<bool>,
}

impl Path {
    pub fn hops(&self) -> usize {
        self.relations.len()
    }
}

#[derive(Clone, Debug, Default)]
pub struct SearchResult {
    pub paths: Vec<Path>,
    /// True when a bound (paths, expansions, time) left paths out.
    pub truncated: bool,
    /// Why the result is empty or truncated, in words.
    pub reason: Option<String>,
    pub expanded: u64,
    pub elapsed: Duration,
}

/// The most path nodes one answer keeps (every path's nodes, summed): ~60 MB with the
/// paths' relations and directions. A bound of memory, not of time: with max_paths in
/// the billions, a search stopped at its timeout could still hold gigabytes of paths.
pub const MAX_RESULT_NODES: usize = 1 << 22;

/// Counts expansions and kept path nodes, and watches the clock.
pub(crate) struct Budget {
    pub expanded: u64,
    max_expansions: u64,
    deadline: Option<Instant>,
    kept: usize,
    ticks: u64,
}

impl Budget {
    fn new(o: &SearchOptions) -> Budget {
        Budget {
            expanded: 0,
            max_expansions: o.max_expansions,
            // checked: a deadline past what Instant can hold is no deadline at all
            deadline: o.timeout.and_then(|t| Instant::now().checked_add(t)),
            kept: 0,
            ticks: 0,
        }
    }

    /// Counts a path of `nodes` nodes into the answer; `Err(reason)` past the memory cap.
    pub fn keep(&mut self, nodes: usize) -> std::result::Result<(), String> {
        self.kept += nodes;
        if self.kept > MAX_RESULT_NODES {
            return Err(format!(
                "stopped at the memory cap for one answer ({MAX_RESULT_NODES} path nodes)"
            ));
        }
        self.clock()
    }

    /// Checks the timeout every 256 calls, for work that is not an expansion.
    pub fn clock(&mut self) -> std::result::Result<(), String> {
        self.ticks += 1;
        if self.ticks % 256 == 0 {
            if let Some(d) = self.deadline {
                if Instant::now() > d {
                    return Err("stopped at the timeout".into());
                }
            }
        }
        Ok(())
    }

    /// Counts one expansion; `Err(reason)` when a bound is reached.
    pub fn spend(&mut self) -> std::result::Result<(), String> {
        self.expanded += 1;
        if self.expanded > self.max_expansions {
            return Err(format!(
                "stopped after max_expansions={} expansions",
                self.max_expansions
            ));
        }
        if self.expanded % 256 == 0 {
            if let Some(d) = self.deadline {
                if Instant::now() > d {
                    return Err("stopped at the timeout".into());
                }
            }
        }
        Ok(())
    }
}

fn check(g: &Graph, sources: &[u32], targets: &[u32], o: &SearchOptions) -> Result<()> {
    if sources.is_empty() || targets.is_empty() {
        return Err(KaleError::invalid(format!(
            "{} is empty: a search needs at least one source and one target",
            if sources.is_empty() {
                "sources"
            } else {
                "targets"
            }
        )));
    }
    if o.max_hops == 0 || o.max_hops > MAX_HOPS_LIMIT {
        return Err(KaleError::invalid(format!(
            "max_hops must be between 1 and {MAX_HOPS_LIMIT}, not {}",
            o.max_hops
        )));
    }
    if o.max_paths == 0 {
        return Err(KaleError::invalid("max_paths must be at least 1"));
    }
    for &n in sources.iter().chain(targets) {
        g.check_node(n)?;
    }
    Ok(())
}

/// Searches paths from any source to any target.
pub fn search(
    g: &Graph,
    sources: &[u32],
    targets: &[u32],
    o: &SearchOptions,
) -> Result<SearchResult> {
    check(g, sources, targets, o)?;
    let started = Instant::now();
    let mut sources: Vec<u32> = sources.to_vec();
    sources.sort_unstable();
    sources.dedup();
    let mut targets: Vec<u32> = targets
        .iter()
        .copied()
        .filter(|t| sources.binary_search(t).is_err())
        .collect();
    targets.sort_unstable();
    targets.dedup();
    let mut result = if targets.is_empty() {
        SearchResult {
            reason: Some("every target is also a source".into()),
            ..Default::default()
        }
    } else {
        let mut budget = Budget::new(o);
        let mut r = match o.method {
            Method::Shortest => bidirectional::all_shortest(g, &sources, &targets, o, &mut budget),
            Method::KShortest => kshortest::k_shortest(g, &sources, &targets, o, &mut budget),
            Method::AStar => astar::multi_path_astar(g, &sources, &targets, o, &mut budget),
        };
        r.expanded = budget.expanded;
        r
    };
    // Paths of one answer share most of their hops: with many paths, each hop's label is
    // looked up once (a hub's edges take a binary search per relation run). The
    // shortest-path search labels its own, once per edge of its graph of shortest paths.
    let unlabelled = |p: &&mut Path| p.relations.len() + 1 != p.nodes.len();
    let count = result.paths.iter_mut().filter(unlabelled).count();
    let mut seen = (count > 8).then(|| Labels::with_capacity_and_hasher(count, Default::default()));
    for p in result.paths.iter_mut().filter(unlabelled) {
        label_hops(g, p, &o.filter, seen.as_mut());
    }
    if result.paths.is_empty() && result.reason.is_none() {
        result.reason = Some(format!("no path within max_hops={}", o.max_hops));
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

type Labels = FxHashMap<(u32, u32), (u16, bool)>;

/// Fills in each hop's relation and direction from its node pair.
fn label_hops(g: &Graph, p: &mut Path, f: &Filter, mut seen: Option<&mut Labels>) {
    p.relations.clear();
    p.forward.clear();
    p.relations.reserve_exact(p.nodes.len().saturating_sub(1));
    p.forward.reserve_exact(p.nodes.len().saturating_sub(1));
    for w in p.nodes.windows(2) {
        let label = || neighbours::edge_between(g, w[0], w[1], f).unwrap_or((u16::MAX, true));
        let (rel, fwd) = match seen.as_deref_mut() {
            Some(m) => *m.entry((w[0], w[1])).or_insert_with(label),
            None => label(),
        };
        p.relations.push(rel);
        p.forward.push(fwd);
    }
}
