//! A*'s bound is a lower bound on the distance to the targets, on random small graphs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;

use proptest::prelude::*;

use super::bound;
use crate::ingest::{OnError, Source, TriplesSource};
use crate::paths::marks::with_scratch;
use crate::paths::{Budget, Method, SearchOptions};
use crate::store::Graph;
use crate::{build, BuildOptions};

fn graph(dir: &std::path::Path, rows: &[(u8, u8, u8)]) -> Graph {
    let tsv = dir.join("t.tsv");
    let mut f = std::fs::File::create(&tsv).expect("create");
    for (h, r, t) in rows {
        writeln!(f, "n{h}\tr{r}\tn{t}").expect("write");
    }
    let source = Source::Triples(TriplesSource {
        triples: vec![tsv],
        ..Default::default()
    });
    let options = BuildOptions {
        memory: 1 << 30,
        on_error: OnError::Fail,
        progress: false,
        overwrite: false,
    };
    let out = dir.join("g.kg");
    build(&source, &out, &options, &|| false).expect("build");
    Graph::open(&out).expect("open")
}

/// The whole bound A* uses, at every node (0 everywhere when drawing anchors failed).
fn bound_at_every_node(g: &Graph, targets: &[u32], o: &SearchOptions) -> Vec<u32> {
    let mut budget = Budget::new(&SearchOptions {
        max_expansions: u64::MAX,
        timeout: None,
        ..o.clone()
    });
    with_scratch(g.node_count(), |scratch| {
        match bound(g, targets, o, &mut budget, scratch) {
            Ok(beyond) => (0..g.node_count())
                .map(|n| scratch.a.get(n).unwrap_or(beyond))
                .collect(),
            Err(_) => vec![0; g.node_count() as usize],
        }
    })
}

/// Undirected hops from each node to the nearest target, over every edge.
fn true_distances(g: &Graph, rows: &[(u8, u8, u8)], targets: &[u32]) -> BTreeMap<u32, u32> {
    let node = |n: u8| g.node_index(&format!("n{n}")).expect("node");
    let mut adj: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for &(h, _, t) in rows {
        if h != t {
            adj.entry(node(h)).or_default().insert(node(t));
            adj.entry(node(t)).or_default().insert(node(h));
        }
    }
    let mut dist: BTreeMap<u32, u32> = targets.iter().map(|&t| (t, 0)).collect();
    let mut queue: VecDeque<u32> = targets.iter().copied().collect();
    while let Some(u) = queue.pop_front() {
        let d = dist[&u];
        for &v in adj.get(&u).into_iter().flatten() {
            if let std::collections::btree_map::Entry::Vacant(e) = dist.entry(v) {
                e.insert(d + 1);
                queue.push_back(v);
            }
        }
    }
    dist
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]
    #[test]
    fn bound_never_exceeds_the_true_distance(
        rows in prop::collection::vec((0u8..12, 0u8..3, 0u8..12), 1..40),
        picks in prop::collection::vec(0usize..64, 1..=2),
        max_hops in 1u32..=6,
        target_depth in prop::option::of(0u32..=4),
        anchors in 1usize..=4,
        anchor_hops in 0u32..=3,
        seed in 0u64..=9,
    ) {
        let tmp = tempfile::tempdir().expect("tmp");
        let g = graph(tmp.path(), &rows);
        let targets: BTreeSet<u32> = picks.iter().map(|&i| (i % g.node_count() as usize) as u32).collect();
        let targets: Vec<u32> = targets.into_iter().collect();
        let o = SearchOptions { method: Method::AStar, max_hops, anchors, anchor_hops, seed, target_depth, ..SearchOptions::default() };
        let h = bound_at_every_node(&g, &targets, &o);
        let paper = bound_at_every_node(&g, &targets, &SearchOptions { target_depth: Some(0), ..o.clone() });
        let dist = true_distances(&g, &rows, &targets);
        let depth = target_depth.unwrap_or(max_hops / 2).min(max_hops);
        for n in 0..g.node_count() {
            let truth = dist.get(&n).copied().unwrap_or(u32::MAX);
            let (h, paper) = (h[n as usize], paper[n as usize]);
            prop_assert!(paper <= h && h <= truth, "node {n}: paper {paper}, bound {h}, distance {truth}: both are lower bounds, and the targets' term only adds");
            if depth > 0 {
                prop_assert!(h >= truth.min(depth + 1), "node {n}: the targets' own distances are in the bound");
            }
        }
    }
}
