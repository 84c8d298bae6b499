//! The three search methods against a brute-force enumeration of simple paths on random
//! small graphs: the contract tests/test_paths.py checks through Python, here without it.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::build_tsv;
use kale_core::paths::{search, Filter, Method, Path, SearchOptions};
use kale_core::Graph;
use proptest::prelude::*;

/// A query and its bounds, as drawn.
#[derive(Debug, Clone)]
struct Query {
    sources: Vec<usize>,
    targets: Vec<usize>,
    max_hops: u32,
    max_paths: usize,
    directed: bool,
    hub_cap: Option<u64>,
    allow: Option<BTreeSet<u8>>,
    deny: BTreeSet<u8>,
    seed: u64,
    target_depth: Option<u32>,
}

fn queries() -> impl Strategy<Value = Query> {
    (
        prop::collection::vec(0usize..64, 1..=2),
        prop::collection::vec(0usize..64, 1..=2),
        1u32..=4,
        1usize..=6,
        any::<bool>(),
        prop::option::of(1u64..=6),
        prop::option::of(prop::collection::btree_set(0u8..3, 1..=3)),
        prop::collection::btree_set(0u8..3, 0..=1),
        0u64..=3,
        prop::option::of(0u32..=3),
    )
        .prop_map(
            |(
                sources,
                targets,
                max_hops,
                max_paths,
                directed,
                hub_cap,
                allow,
                deny,
                seed,
                target_depth,
            )| Query {
                sources,
                targets,
                max_hops,
                max_paths,
                directed,
                hub_cap,
                allow,
                deny,
                seed,
                target_depth,
            },
        )
}

/// The graph's edges as (head, relation, tail) indices, and the search's filter: relations
/// the graph lacks are left out of the allow and deny lists, as Python's callers do.
fn edges_and_filter(
    g: &Graph,
    rows: &[(u8, u8, u8)],
    q: &Query,
) -> (BTreeSet<(u32, u16, u32)>, Filter) {
    let node = |n: u8| g.node_index(&format!("n{n}")).expect("node");
    let relation = |r: u8| g.relation_index(&format!("r{r}"));
    let edges = rows
        .iter()
        .map(|&(h, r, t)| (node(h), relation(r).expect("relation"), node(t)))
        .collect();
    let known =
        |set: &BTreeSet<u8>| -> Vec<u16> { set.iter().filter_map(|&r| relation(r)).collect() };
    let mut allow = q.allow.as_ref().map(known);
    let mut deny = known(&q.deny);
    if let Some(a) = allow.as_mut() {
        a.sort_unstable();
    }
    deny.sort_unstable();
    let filter = Filter {
        directed: q.directed,
        allow,
        deny,
        hub_cap: q.hub_cap,
    };
    (edges, filter)
}

/// Every simple path from a source to a target within `max_hops`, shortest first, ties in
/// node order. Endpoints may be hubs; a path ends at the first target it reaches.
fn every_path(
    edges: &BTreeSet<(u32, u16, u32)>,
    f: &Filter,
    sources: &[u32],
    targets: &[u32],
    max_hops: u32,
) -> Vec<Vec<u32>> {
    let mut degree: BTreeMap<u32, u64> = BTreeMap::new();
    let mut adj: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for &(h, r, t) in edges {
        *degree.entry(h).or_default() += 1;
        *degree.entry(t).or_default() += 1;
        if f.relation_ok(r) && h != t {
            adj.entry(h).or_default().insert(t);
            if !f.directed {
                adj.entry(t).or_default().insert(h);
            }
        }
    }
    let sources: BTreeSet<u32> = sources.iter().copied().collect();
    let targets: BTreeSet<u32> = targets
        .iter()
        .copied()
        .filter(|t| !sources.contains(t))
        .collect();
    let is_hub = |u: u32| {
        f.hub_cap
            .is_some_and(|cap| degree.get(&u).copied().unwrap_or(0) > cap)
    };
    let mut found = Vec::new();
    let mut stack: Vec<Vec<u32>> = sources.iter().map(|&s| vec![s]).collect();
    while let Some(path) = stack.pop() {
        let u = *path.last().expect("a path has a node");
        if path.len() > 1 && (targets.contains(&u) || is_hub(u)) {
            if targets.contains(&u) {
                found.push(path);
            }
            continue;
        }
        if path.len() as u32 - 1 == max_hops {
            continue;
        }
        for &v in adj.get(&u).into_iter().flatten() {
            if !path.contains(&v) {
                let mut next = path.clone();
                next.push(v);
                stack.push(next);
            }
        }
    }
    found.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
    found
}

/// Each hop is labelled with the lowest-relation out-edge joining its nodes under the
/// filter, else (undirected) the lowest in-edge.
fn check_hops(
    edges: &BTreeSet<(u32, u16, u32)>,
    f: &Filter,
    p: &Path,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.relations.len() + 1, p.nodes.len());
    prop_assert_eq!(p.forward.len(), p.relations.len());
    for (i, (&r, &forward)) in p.relations.iter().zip(&p.forward).enumerate() {
        let (a, b) = (p.nodes[i], p.nodes[i + 1]);
        let lowest = |from: u32, to: u32| {
            edges
                .iter()
                .filter(|&&(h, rr, t)| h == from && t == to && f.relation_ok(rr))
                .map(|&(_, rr, _)| rr)
                .min()
        };
        match (lowest(a, b), lowest(b, a)) {
            (Some(out), _) => prop_assert!(forward && r == out, "hop {i} of {:?}", p),
            (None, Some(inn)) => {
                prop_assert!(!f.directed && !forward && r == inn, "hop {i} of {:?}", p)
            }
            (None, None) => prop_assert!(false, "hop {i} of {:?} joins no edge", p),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn all_methods_against_brute_force(
        rows in prop::collection::vec((0u8..12, 0u8..3, 0u8..12), 1..40),
        q in queries(),
    ) {
        let named: Vec<(String, String, String)> =
            rows.iter().map(|(h, r, t)| (format!("n{h}"), format!("r{r}"), format!("n{t}"))).collect();
        let tmp = tempfile::tempdir().expect("tmp");
        let g = build_tsv(tmp.path(), &named, 1 << 30);
        let n = g.node_count() as usize;
        let sources: Vec<u32> = q.sources.iter().map(|&i| (i % n) as u32).collect();
        let targets: Vec<u32> = q.targets.iter().map(|&i| (i % n) as u32).collect();
        let (edges, filter) = edges_and_filter(&g, &rows, &q);
        let every = every_path(&edges, &filter, &sources, &targets, q.max_hops);
        let shortest: Vec<Vec<u32>> = every.iter().filter(|p| p.len() == every[0].len()).cloned().collect();
        let cut = |paths: &[Vec<u32>]| paths[..paths.len().min(q.max_paths)].to_vec();
        let options = |method| SearchOptions {
            method,
            max_hops: q.max_hops,
            max_paths: q.max_paths,
            timeout: None,
            filter: filter.clone(),
            anchors: 2,
            seed: q.seed,
            target_depth: q.target_depth,
            ..SearchOptions::default()
        };
        let nodes = |paths: &[Path]| paths.iter().map(|p| p.nodes.clone()).collect::<Vec<_>>();

        let r = search(&g, &sources, &targets, &options(Method::Shortest)).expect("shortest");
        prop_assert_eq!(nodes(&r.paths), cut(&shortest), "in node order; a cut keeps the first ones");
        prop_assert_eq!(r.truncated, shortest.len() > q.max_paths);
        if every.is_empty() {
            prop_assert!(r.reason.is_some());
        }
        for p in &r.paths {
            check_hops(&edges, &filter, p)?;
        }

        let k = search(&g, &sources, &targets, &options(Method::KShortest)).expect("k_shortest");
        prop_assert_eq!(nodes(&k.paths), cut(&every));
        prop_assert_eq!(k.truncated, every.len() > q.max_paths);
        for p in &k.paths {
            check_hops(&edges, &filter, p)?;
        }

        let a = search(&g, &sources, &targets, &options(Method::AStar)).expect("astar");
        let got = nodes(&a.paths);
        let distinct: BTreeSet<&Vec<u32>> = got.iter().collect();
        prop_assert_eq!(distinct.len(), got.len());
        prop_assert!(got.len() <= q.max_paths);
        prop_assert!(got.iter().all(|p| every.contains(p)), "only real simple paths within the bounds");
        prop_assert!(got.windows(2).all(|w| w[0].len() <= w[1].len()), "shortest first");
        if !every.is_empty() {
            prop_assert_eq!(got.first().map(Vec::len), Some(every[0].len()), "the first path is a shortest one");
            prop_assert!(got.len() == every.len().min(q.max_paths) || a.truncated, "only a bound leaves paths out");
        }
        for p in &a.paths {
            check_hops(&edges, &filter, p)?;
        }
    }
}
