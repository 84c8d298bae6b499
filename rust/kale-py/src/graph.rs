//! `kale._core.Graph`: the memory-mapped graph, subclassed by `kale.Graph`.

use kale_core::{Dir, Graph};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::IntoPyResult;

#[pyclass(name = "Graph", module = "kale._core", subclass, frozen)]
pub struct PyGraph {
    pub inner: Graph,
}

type Neighbours<'py> = (
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u16>>,
    Bound<'py, PyArray1<bool>>,
);

fn directions(direction: &str) -> PyResult<&'static [Dir]> {
    match direction {
        "out" => Ok(&[Dir::Out]),
        "in" => Ok(&[Dir::In]),
        "both" => Ok(&[Dir::Out, Dir::In]),
        other => Err(PyValueError::new_err(format!(
            "direction must be 'out', 'in' or 'both', not {other:?}"
        ))),
    }
}

impl PyGraph {
    fn node(&self, node: i64) -> PyResult<u32> {
        let n = u32::try_from(node)
            .map_err(|_| PyValueError::new_err(format!("node index {node} is out of range")))?;
        self.inner.check_node(n).py()?;
        Ok(n)
    }

    fn relation(&self, relation: i64) -> PyResult<u16> {
        match u16::try_from(relation) {
            Ok(r) if r < self.inner.relation_count() => Ok(r),
            _ => Err(PyValueError::new_err(format!(
                "relation index {relation} is out of range (the graph has {} relations)",
                self.inner.relation_count()
            ))),
        }
    }
}

#[pymethods]
impl PyGraph {
    /// Opens (memory-maps) a graph directory built by `kale kg build`.
    #[new]
    fn new(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| Graph::open(&path)).py()?;
        Ok(PyGraph { inner })
    }

    /// Reads every array and checks it against the checksum recorded at build time.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.verify()).py()
    }

    #[getter]
    fn path(&self) -> std::path::PathBuf {
        self.inner.path().to_path_buf()
    }

    fn _manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.manifest())
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    #[getter]
    fn node_count(&self) -> u32 {
        self.inner.node_count()
    }

    #[getter]
    fn edge_count(&self) -> u64 {
        self.inner.edge_count()
    }

    #[getter]
    fn relation_count(&self) -> u16 {
        self.inner.relation_count()
    }

    fn __len__(&self) -> usize {
        self.inner.node_count() as usize
    }

    /// The index of the node with external id `id` (e.g. "Q42").
    fn index(&self, id: &str) -> PyResult<u32> {
        self.inner
            .node_index(id)
            .ok_or_else(|| kale_core::KaleError::NotFound(id.to_string()))
            .py()
    }

    /// The external id of a node index.
    fn id(&self, node: i64) -> PyResult<String> {
        let n = self.node(node)?;
        Ok(self.inner.node_id(n).unwrap_or("").to_string())
    }

    /// A node index from an id, or else from a label or alias (highest degree wins).
    fn resolve(&self, entity: &str) -> PyResult<u32> {
        self.inner.resolve(entity).py()
    }

    /// Every node whose label or alias equals `name` ignoring case, highest degree first.
    fn find(&self, name: &str) -> Vec<u32> {
        self.inner.find_by_name(name)
    }

    fn label(&self, node: i64) -> PyResult<Option<String>> {
        Ok(self.inner.label(self.node(node)?).map(str::to_string))
    }

    fn description(&self, node: i64) -> PyResult<Option<String>> {
        Ok(self.inner.description(self.node(node)?).map(str::to_string))
    }

    fn aliases(&self, node: i64) -> PyResult<Vec<String>> {
        Ok(self
            .inner
            .aliases(self.node(node)?)
            .into_iter()
            .map(str::to_string)
            .collect())
    }

    /// The label of a node, or its id when it has none.
    fn name(&self, node: i64) -> PyResult<String> {
        Ok(self.inner.node_name(self.node(node)?).to_string())
    }

    fn relation_id(&self, relation: i64) -> PyResult<String> {
        Ok(self
            .inner
            .relation_id(self.relation(relation)?)
            .unwrap_or("")
            .to_string())
    }

    fn relation_label(&self, relation: i64) -> PyResult<Option<String>> {
        Ok(self
            .inner
            .relation_label(self.relation(relation)?)
            .map(str::to_string))
    }

    /// The label of a relation, or its id when it has none.
    fn relation_name(&self, relation: i64) -> PyResult<String> {
        Ok(self
            .inner
            .relation_name(self.relation(relation)?)
            .to_string())
    }

    /// The index of a relation given its id or label.
    fn relation_index(&self, relation: &str) -> PyResult<u16> {
        self.inner
            .relation_index(relation)
            .ok_or_else(|| {
                kale_core::KaleError::InvalidArgument(format!("unknown relation {relation:?}"))
            })
            .py()
    }

    /// `(neighbours, relations, outgoing)` as numpy arrays: for "both", the out-edges
    /// come first, each group sorted by (relation, neighbour).
    #[pyo3(signature = (node, direction = "out", relation = None))]
    fn neighbours<'py>(
        &self,
        py: Python<'py>,
        node: i64,
        direction: &str,
        relation: Option<i64>,
    ) -> PyResult<Neighbours<'py>> {
        let n = self.node(node)?;
        let relation = relation.map(|r| self.relation(r)).transpose()?;
        let (mut nodes, mut rels, mut outgoing) = (Vec::new(), Vec::new(), Vec::new());
        for &dir in directions(direction)? {
            let (ns, rs) = match relation {
                Some(r) => self.inner.neighbours_by_relation(n, dir, r),
                None => self.inner.neighbours(n, dir),
            };
            nodes.extend_from_slice(ns);
            rels.extend_from_slice(rs);
            outgoing.extend(std::iter::repeat_n(dir == Dir::Out, ns.len()));
        }
        Ok((
            PyArray1::from_vec(py, nodes),
            PyArray1::from_vec(py, rels),
            PyArray1::from_vec(py, outgoing),
        ))
    }

    #[pyo3(signature = (node, direction = "both"))]
    fn degree(&self, node: i64, direction: &str) -> PyResult<u64> {
        let n = self.node(node)?;
        Ok(directions(direction)?
            .iter()
            .map(|&d| self.inner.neighbours(n, d).0.len() as u64)
            .sum())
    }

    /// How many edges each relation has, indexed by relation.
    fn relation_counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        let g = &self.inner;
        let counts = py.detach(|| {
            let mut counts = vec![0u64; g.relation_count() as usize];
            for n in 0..g.node_count() {
                for &r in g.neighbours(n, Dir::Out).1 {
                    if let Some(c) = counts.get_mut(r as usize) {
                        *c += 1;
                    }
                }
            }
            counts
        });
        PyArray1::from_vec(py, counts)
    }

    /// The degree of every node as a numpy array.
    #[pyo3(signature = (direction = "both"))]
    fn degrees<'py>(
        &self,
        py: Python<'py>,
        direction: &str,
    ) -> PyResult<Bound<'py, PyArray1<u64>>> {
        let dirs = directions(direction)?;
        let g = &self.inner;
        let out = py.detach(|| {
            (0..g.node_count())
                .map(|n| {
                    dirs.iter()
                        .map(|&d| g.neighbours(n, d).0.len() as u64)
                        .sum()
                })
                .collect::<Vec<u64>>()
        });
        let array = PyArray1::from_vec(py, out);
        array.readwrite().make_nonwriteable();
        Ok(array)
    }
}
