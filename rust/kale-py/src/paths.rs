//! Path search bindings: options as a small class, results as plain tuples that
//! `kale.paths` wraps in dataclasses.

use std::time::Duration;

use kale_core::paths::{search, Filter, Method, SearchOptions, SearchResult};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

use crate::errors::IntoPyResult;
use crate::graph::PyGraph;

#[pyclass(name = "PathOptions", module = "kale._core", frozen)]
pub struct PyPathOptions {
    inner: SearchOptions,
}

#[pymethods]
impl PyPathOptions {
    #[new]
    #[pyo3(signature = (*, method = "shortest", max_hops = 3, max_paths = 10, max_expansions = 1_000_000, timeout = Some(5.0), directed = false, relations = None, exclude_relations = None, hub_cap = None, anchors = 4, anchor_hops = 2, anchor_depth = 3, seed = 0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        method: &str,
        max_hops: u32,
        max_paths: usize,
        max_expansions: u64,
        timeout: Option<f64>,
        directed: bool,
        relations: Option<Vec<u16>>,
        exclude_relations: Option<Vec<u16>>,
        hub_cap: Option<u64>,
        anchors: usize,
        anchor_hops: u32,
        anchor_depth: u32,
        seed: u64,
    ) -> PyResult<Self> {
        let method: Method = method.parse().py()?;
        let timeout = match timeout {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => return Err(PyValueError::new_err(format!("timeout must be a positive number of seconds or None, not {t}"))),
        };
        if anchors == 0 && method == Method::AStar {
            return Err(PyValueError::new_err("astar needs at least one anchor"));
        }
        let sorted = |mut v: Vec<u16>| {
            v.sort_unstable();
            v.dedup();
            v
        };
        let filter = Filter { directed, allow: relations.map(sorted), deny: sorted(exclude_relations.unwrap_or_default()), hub_cap };
        Ok(PyPathOptions {
            inner: SearchOptions { method, max_hops, max_paths, max_expansions, timeout, filter, anchors, anchor_hops, anchor_depth, seed },
        })
    }
}

type RawPath = (Vec<u32>, Vec<u16>, Vec<bool>);
type RawResult = (Vec<RawPath>, bool, Option<String>, u64, f64);

fn raw(r: SearchResult) -> RawResult {
    let paths = r.paths.into_iter().map(|p| (p.nodes, p.relations, p.forward)).collect();
    (paths, r.truncated, r.reason, r.expanded, r.elapsed.as_secs_f64())
}

#[pymethods]
impl PyGraph {
    fn _paths(&self, py: Python<'_>, sources: Vec<u32>, targets: Vec<u32>, options: &PyPathOptions) -> PyResult<RawResult> {
        let g = &self.inner;
        py.detach(|| search(g, &sources, &targets, &options.inner)).py().map(raw)
    }

    /// The A* heuristic h(node) for each node (for tests of its admissibility).
    fn _astar_heuristic(&self, targets: Vec<u32>, nodes: Vec<u32>, options: &PyPathOptions) -> Vec<u32> {
        kale_core::paths::heuristic_for_test(&self.inner, &targets, &nodes, &options.inner)
    }

    #[pyo3(signature = (queries, options, threads = None))]
    fn _paths_batch(&self, py: Python<'_>, queries: Vec<(Vec<u32>, Vec<u32>)>, options: &PyPathOptions, threads: Option<usize>) -> PyResult<Vec<RawResult>> {
        let g = &self.inner;
        let o = &options.inner;
        let run = || queries.par_iter().map(|(s, t)| search(g, s, t, o).map(raw)).collect::<kale_core::Result<Vec<_>>>();
        let results = py.detach(|| match threads {
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| kale_core::KaleError::invalid(e.to_string()))
                .and_then(|pool| pool.install(run)),
            None => run(),
        });
        results.py()
    }
}
