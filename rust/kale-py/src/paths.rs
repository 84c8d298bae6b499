//! Path search bindings. `Graph.paths` and `Graph.paths_batch` resolve entities and
//! read their keyword options here, so a query is one Python call; results are Rust
//! classes whose Python objects are made only when they are read.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use kale_core::paths::{search, Filter, Method, Path, SearchOptions, SearchResult};
use kale_core::KaleError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};
use rayon::prelude::*;

use crate::errors::{to_py, IntoPyResult};
use crate::graph::PyGraph;
use crate::parallel;

const OPTIONS: &str = "method, max_hops, max_paths, max_expansions, timeout, directed, relations, exclude_relations, hub_cap, anchors, anchor_hops, anchor_depth, target_depth, seed";

type PathParts = (Vec<u32>, Vec<u16>, Vec<bool>);

fn invalid(message: String) -> PyErr {
    to_py(KaleError::InvalidArgument(message))
}

/// Reusable search options, from `Graph.path_options(**options)`; pass them to
/// `paths`/`paths_batch` as `options=` to skip reading keywords on every call.
#[pyclass(name = "PathOptions", module = "kale._core", frozen)]
pub struct PyPathOptions {
    inner: SearchOptions,
}

/// One path: node indices, and per hop its relation and whether the edge points forward.
#[pyclass(name = "Path", module = "kale._core", frozen, eq)]
#[derive(PartialEq, Eq)]
pub struct PyPath {
    inner: Path,
}

/// Paths shortest first, whether a bound cut them short and why, and search statistics.
/// Results compare (and hash) by their answer: the query, paths, bounds and expansions;
/// `seconds` is a measurement of one run, so it is left out.
#[pyclass(name = "PathResult", module = "kale._core", frozen, sequence)]
pub struct PyPathResult {
    result: SearchResult,
    paths: PyOnceLock<Py<PyTuple>>,
    sources: Vec<u32>,
    targets: Vec<u32>,
}

impl PyGraph {
    fn relation_ref(&self, item: &Bound<'_, PyAny>, what: &str) -> PyResult<u16> {
        if let Ok(name) = item.cast::<PyString>() {
            let name = name.to_cow()?;
            return self
                .inner
                .relation_index(&name)
                .ok_or_else(|| invalid(format!("{what}: unknown relation '{name}'")));
        }
        let index: i64 = item.extract().map_err(|_| {
            invalid(format!(
                "{what}: expected relation indices, ids or labels, got {}",
                type_name(item)
            ))
        })?;
        match u16::try_from(index) {
            Ok(r) if r < self.inner.relation_count() => Ok(r),
            _ => Err(invalid(format!(
                "{what}: relation index {index} is out of range (the graph has {} relations)",
                self.inner.relation_count()
            ))),
        }
    }

    fn relation_set(&self, value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u16>> {
        let mut out = Vec::new();
        for item in value.try_iter().map_err(|_| {
            invalid(format!(
                "{what}: expected a list of relations, got {}",
                type_name(value)
            ))
        })? {
            out.push(self.relation_ref(&item?, what)?);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn entity(&self, item: &Bound<'_, PyAny>, what: &dyn Fn() -> String) -> PyResult<u32> {
        if let Ok(name) = item.cast::<PyString>() {
            return self.inner.resolve(&name.to_cow()?).py();
        }
        let index: i64 = item.extract().map_err(|_| {
            invalid(format!(
                "{}: expected node indices, ids or labels, got {}",
                what(),
                type_name(item)
            ))
        })?;
        match u32::try_from(index) {
            Ok(n) if n < self.inner.node_count() => Ok(n),
            _ => Err(invalid(format!(
                "{}: node index {index} is out of range (the graph has {} nodes)",
                what(),
                self.inner.node_count()
            ))),
        }
    }

    /// Node indices from an index, an id/label/alias, or an iterable of those.
    /// `what` names the argument in errors; made only when there is one (batches are hot).
    fn entity_set(
        &self,
        value: &Bound<'_, PyAny>,
        what: &dyn Fn() -> String,
    ) -> PyResult<Vec<u32>> {
        if let Ok(index) = value.extract::<u32>() {
            if index < self.inner.node_count() {
                return Ok(vec![index]); // the common case, kept cheap for per-query loops
            }
        }
        if value.is_instance_of::<PyString>() || value.extract::<i64>().is_ok() {
            return Ok(vec![self.entity(value, what)?]);
        }
        let mut out = Vec::new();
        for item in value.try_iter().map_err(|_| {
            invalid(format!(
                "{}: expected node indices, ids or labels, got {}",
                what(),
                type_name(value)
            ))
        })? {
            out.push(self.entity(&item?, what)?);
        }
        if out.is_empty() {
            return Err(invalid(format!(
                "{} is empty: a search needs at least one source and one target",
                what()
            )));
        }
        Ok(out)
    }

    /// Search options from keywords, or the `options=` object when given.
    fn search_options(&self, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<SearchOptions> {
        let mut o = SearchOptions::default();
        let Some(kwargs) = kwargs else { return Ok(o) };
        if let Some(given) = kwargs.get_item(pyo3::intern!(kwargs.py(), "options"))? {
            if kwargs.len() > 1 {
                return Err(invalid("give options= or keyword options, not both".into()));
            }
            return Ok(given
                .cast::<PyPathOptions>()
                .map_err(|_| {
                    invalid(format!(
                        "options= expects a PathOptions from Graph.path_options, got {}",
                        type_name(&given)
                    ))
                })?
                .get()
                .inner
                .clone());
        }
        let (mut allow, mut deny) = (None, Vec::new());
        for (key, value) in kwargs.iter() {
            let key = key.cast_into::<PyString>()?;
            let int = |what: &str| -> PyResult<u64> {
                value.extract::<u64>().map_err(|_| {
                    invalid(format!(
                        "{what} must be a non-negative integer, not {}",
                        value.repr().map(|r| r.to_string()).unwrap_or_default()
                    ))
                })
            };
            match key.to_str()? {
                "method" => {
                    let m = value
                        .cast::<PyString>()
                        .map_err(|_| invalid("method must be a string".into()))?;
                    let m = m.to_str()?;
                    o.method = m.parse::<Method>().map_err(|_| {
                        invalid(format!(
                            "method must be one of shortest, k_shortest, astar, not '{m}'"
                        ))
                    })?;
                }
                "max_hops" => o.max_hops = int("max_hops")?.min(u32::MAX as u64) as u32,
                "max_paths" => o.max_paths = int("max_paths")? as usize,
                "max_expansions" => o.max_expansions = int("max_expansions")?,
                "timeout" => {
                    o.timeout = match value.extract::<Option<f64>>() {
                        Ok(None) => None,
                        // try_from: a finite but huge timeout (1e308) is beyond Duration's range
                        Ok(Some(t)) if t.is_finite() && t > 0.0 => {
                            Some(Duration::try_from_secs_f64(t).map_err(|_| {
                                invalid(format!(
                                    "timeout {t} is too large (at most {} seconds); use None for no timeout",
                                    Duration::MAX.as_secs()
                                ))
                            })?)
                        }
                        _ => {
                            return Err(invalid(format!(
                                "timeout must be a positive number of seconds or None, not {}",
                                value.repr()?
                            )))
                        }
                    }
                }
                "directed" => o.filter.directed = value.is_truthy()?,
                "relations" => {
                    allow = if value.is_none() {
                        None
                    } else {
                        Some(self.relation_set(&value, "relations")?)
                    }
                }
                "exclude_relations" => {
                    deny = if value.is_none() {
                        Vec::new()
                    } else {
                        self.relation_set(&value, "exclude_relations")?
                    }
                }
                "hub_cap" => {
                    o.filter.hub_cap = if value.is_none() {
                        None
                    } else {
                        Some(int("hub_cap")?)
                    }
                }
                "anchors" => o.anchors = int("anchors")? as usize,
                "anchor_hops" => o.anchor_hops = int("anchor_hops")?.min(u32::MAX as u64) as u32,
                "anchor_depth" => o.anchor_depth = int("anchor_depth")?.min(u32::MAX as u64) as u32,
                "target_depth" => {
                    o.target_depth = if value.is_none() {
                        None
                    } else {
                        Some(int("target_depth")?.min(u32::MAX as u64) as u32)
                    }
                }
                "seed" => o.seed = int("seed")?,
                other => {
                    return Err(invalid(format!(
                        "unknown search option '{other}'; known: {OPTIONS}"
                    )))
                }
            }
        }
        if o.anchors == 0 && o.method == Method::AStar {
            return Err(invalid("astar needs at least one anchor".into()));
        }
        o.filter = Filter {
            allow,
            deny,
            ..o.filter
        };
        Ok(o)
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

type Answer<'a> = (&'a [u32], &'a [u32], &'a [Path], bool, Option<&'a str>, u64);

impl PyPathResult {
    /// What equality and the hash compare: everything but the time taken.
    fn answer(&self) -> Answer<'_> {
        let r = &self.result;
        (
            &self.sources,
            &self.targets,
            &r.paths,
            r.truncated,
            r.reason.as_deref(),
            r.expanded,
        )
    }
}

fn result(r: SearchResult, sources: Vec<u32>, targets: Vec<u32>) -> PyPathResult {
    PyPathResult {
        result: r,
        paths: PyOnceLock::new(),
        sources,
        targets,
    }
}

#[pymethods]
impl PyGraph {
    /// Paths from any source to any target, shortest first, as a `PathResult`.
    ///
    /// Sources and targets: a node index, an id or label, or an iterable of them.
    /// Options: method ("shortest": all shortest paths, exact, the default;
    /// "k_shortest": the max_paths shortest simple paths; "astar": the paper's
    /// multi-path A*), max_hops (3), max_paths (10), max_expansions (1,000,000),
    /// timeout (5.0 s or None), directed (False: edges are walked both ways, each
    /// hop's direction recorded), relations / exclude_relations (ids or labels),
    /// hub_cap (do not pass through nodes of higher degree), and for astar: anchors
    /// (4), anchor_hops (2), anchor_depth (3), target_depth (None: half of max_hops;
    /// 0: the paper's bound alone), seed (0). Or options=PathOptions.
    #[pyo3(signature = (sources, targets, **options))]
    fn paths(
        &self,
        py: Python<'_>,
        sources: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyPathResult> {
        let o = self.search_options(options)?;
        let (s, t) = (
            self.entity_set(sources, &|| "sources".into())?,
            self.entity_set(targets, &|| "targets".into())?,
        );
        let g = &self.inner;
        let r = py.detach(|| search(g, &s, &t, &o)).py()?;
        Ok(result(r, s, t))
    }

    /// `paths` for many (sources, targets) pairs on parallel threads, without the GIL.
    #[pyo3(signature = (queries, *, threads = None, **options))]
    fn paths_batch(
        &self,
        py: Python<'_>,
        queries: &Bound<'_, PyAny>,
        threads: Option<usize>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<PyPathResult>> {
        let o = self.search_options(options)?;
        let mut resolved = Vec::new();
        for (i, q) in queries.try_iter()?.enumerate() {
            let q = q?;
            let (s, t): (Bound<'_, PyAny>, Bound<'_, PyAny>) = q.extract().map_err(|_| {
                invalid(format!(
                    "queries[{i}]: expected a (sources, targets) pair, got {}",
                    type_name(&q)
                ))
            })?;
            resolved.push((
                self.entity_set(&s, &|| format!("queries[{i}] sources"))?,
                self.entity_set(&t, &|| format!("queries[{i}] targets"))?,
            ));
        }
        let g = &self.inner;
        let run = || {
            resolved
                .par_iter()
                .map(|(s, t)| search(g, s, t, &o))
                .collect::<kale_core::Result<Vec<_>>>()
        };
        let results = py
            .detach(|| parallel::run(threads, run).and_then(|r| r))
            .py()?;
        Ok(results
            .into_iter()
            .zip(resolved)
            .map(|(r, (s, t))| result(r, s, t))
            .collect())
    }

    /// Reusable options for `paths(..., options=...)`; relations may be ids or labels.
    #[pyo3(signature = (**options))]
    fn path_options(&self, options: Option<&Bound<'_, PyDict>>) -> PyResult<PyPathOptions> {
        Ok(PyPathOptions {
            inner: self.search_options(options)?,
        })
    }
}

#[pymethods]
impl PyPath {
    #[new]
    fn new(nodes: Vec<u32>, relations: Vec<u16>, forward: Vec<bool>) -> PyResult<Self> {
        if nodes.len() != relations.len() + 1 || relations.len() != forward.len() {
            return Err(invalid(format!(
                "a path of {} nodes needs {} relations and directions",
                nodes.len(),
                nodes.len().saturating_sub(1)
            )));
        }
        Ok(PyPath {
            inner: Path {
                nodes,
                relations,
                forward,
            },
        })
    }

    #[getter]
    fn nodes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.nodes)
    }

    #[getter]
    fn relations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.relations)
    }

    /// Per hop: True when the edge points from nodes[i] to nodes[i + 1].
    #[getter]
    fn forward<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.forward)
    }

    #[getter]
    fn hops(&self) -> usize {
        self.inner.hops()
    }

    /// The path's edges as (head, relation, tail) in the graph's own direction.
    fn triples(&self) -> Vec<(u32, u16, u32)> {
        let p = &self.inner;
        (0..p.hops())
            .map(|i| {
                if p.forward[i] {
                    (p.nodes[i], p.relations[i], p.nodes[i + 1])
                } else {
                    (p.nodes[i + 1], p.relations[i], p.nodes[i])
                }
            })
            .collect()
    }

    fn __hash__(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "Path(nodes={:?}, relations={:?}, forward={:?})",
            self.inner.nodes, self.inner.relations, self.inner.forward
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, PathParts)> {
        let p = &slf.get().inner;
        Ok((
            slf.get_type().into_any(),
            (p.nodes.clone(), p.relations.clone(), p.forward.clone()),
        ))
    }
}

#[pymethods]
impl PyPathResult {
    #[new]
    #[pyo3(signature = (paths, truncated, reason, expanded, seconds, sources, targets))]
    fn new(
        paths: Vec<PyRef<'_, PyPath>>,
        truncated: bool,
        reason: Option<String>,
        expanded: u64,
        seconds: f64,
        sources: Vec<u32>,
        targets: Vec<u32>,
    ) -> Self {
        let paths = paths.iter().map(|p| p.inner.clone()).collect();
        let r = SearchResult {
            paths,
            truncated,
            reason,
            expanded,
            // an unpickled value is any float: out of range reads as zero, not a panic
            elapsed: Duration::try_from_secs_f64(seconds).unwrap_or_default(),
        };
        result(r, sources, targets)
    }

    /// The paths, shortest first, as a tuple of `Path`.
    #[getter]
    fn paths<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let tuple = self.paths.get_or_try_init(py, || {
            let items = self
                .result
                .paths
                .iter()
                .map(|p| Py::new(py, PyPath { inner: p.clone() }))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items).map(Bound::unbind)
        })?;
        Ok(tuple.bind(py).clone())
    }

    /// True when a bound (paths, expansions, time) left paths out.
    #[getter]
    fn truncated(&self) -> bool {
        self.result.truncated
    }

    /// Why the result is empty or truncated, in words.
    #[getter]
    fn reason(&self) -> Option<&str> {
        self.result.reason.as_deref()
    }

    /// Nodes expanded by the search.
    #[getter]
    fn expanded(&self) -> u64 {
        self.result.expanded
    }

    #[getter]
    fn seconds(&self) -> f64 {
        self.result.elapsed.as_secs_f64()
    }

    #[getter]
    fn sources<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.sources)
    }

    #[getter]
    fn targets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.targets)
    }

    fn __len__(&self) -> usize {
        self.result.paths.len()
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.answer() == other.answer()
    }

    fn __hash__(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.answer().hash(&mut h);
        h.finish()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.paths(py)?.as_any().try_iter()?.into_any())
    }

    fn __getitem__<'py>(&self, py: Python<'py>, index: isize) -> PyResult<Bound<'py, PyAny>> {
        self.paths(py)?.as_any().get_item(index)
    }

    fn __repr__(&self) -> String {
        let reason = self
            .result
            .reason
            .as_deref()
            .map_or("None".to_string(), |r| format!("'{r}'"));
        let truncated = if self.result.truncated {
            "True"
        } else {
            "False"
        };
        format!(
            "PathResult({} paths, truncated={truncated}, reason={reason}, expanded={})",
            self.result.paths.len(),
            self.result.expanded
        )
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let me = slf.get();
        let args = (
            me.paths(py)?.to_list(),
            me.result.truncated,
            me.result.reason.clone(),
            me.result.expanded,
            me.seconds(),
            me.sources.clone(),
            me.targets.clone(),
        );
        Ok((slf.get_type().into_any(), args.into_pyobject(py)?))
    }
}
