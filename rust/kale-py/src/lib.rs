//! Thin PyO3 bindings of kale-core: argument checks, GIL release, error mapping.

mod errors;
mod graph;
mod link;
mod parallel;
mod paths;

use std::path::PathBuf;

use kale_core::generate::{generate as generate_graph, GenerateOptions};
use kale_core::ingest::{OnError, Source};
use kale_core::BuildOptions;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use errors::IntoPyResult;

// Path answers are thousands of small vectors made and freed per call; mimalloc's
// thread-local free lists make that far cheaper than glibc's malloc, and it returns
// memory to the system without glibc's trim-and-regrow stalls between calls.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Builds a graph directory from `source_json` (a `kale_core::ingest::Source` as JSON)
/// and returns its manifest as JSON. Ctrl-C stops the build and removes its partial output.
#[pyfunction]
#[pyo3(signature = (source_json, out, *, memory, on_error = "fail", progress = true, overwrite = false))]
fn build(
    py: Python<'_>,
    source_json: &str,
    out: PathBuf,
    memory: u64,
    on_error: &str,
    progress: bool,
    overwrite: bool,
) -> PyResult<String> {
    let source: Source = serde_json::from_str(source_json)
        .map_err(|e| PyValueError::new_err(format!("bad source description: {e}")))?;
    let on_error = match on_error {
        "fail" => OnError::Fail,
        "skip" => OnError::Skip,
        other => {
            return Err(PyValueError::new_err(format!(
                "on_error must be 'fail' or 'skip', not {other:?}"
            )))
        }
    };
    let options = BuildOptions {
        memory,
        on_error,
        progress,
        overwrite,
    };
    // The build runs without the GIL; every few thousand lines it takes the GIL back
    // briefly to see whether Ctrl-C was pressed.
    let cancel = || Python::attach(|py| py.check_signals().is_err());
    let manifest = py
        .detach(|| {
            parallel::run(None, || kale_core::build(&source, &out, &options, &cancel))
                .and_then(|r| r)
        })
        .py()?;
    serde_json::to_string(&manifest).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Writes a Wikidata-shaped random graph as TSV triples (see kale_core::generate).
// One argument per Python keyword: the signature is the Python one.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (out, *, nodes, edges, relations = 2000, hubs = 5, hub_share = 0.08, seed = 0))]
fn generate(
    py: Python<'_>,
    out: PathBuf,
    nodes: u64,
    edges: u64,
    relations: u64,
    hubs: u64,
    hub_share: f64,
    seed: u64,
) -> PyResult<()> {
    let options = GenerateOptions {
        nodes,
        edges,
        relations,
        hubs,
        hub_share,
        seed,
    };
    py.detach(|| generate_graph(&out, &options)).py()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    parallel::install_fork_hook();
    m.add_class::<graph::PyGraph>()?;
    m.add_class::<paths::PyPathOptions>()?;
    m.add_class::<paths::PyPath>()?;
    m.add_class::<paths::PyPathResult>()?;
    m.add_class::<link::PyLinker>()?;
    m.add_function(wrap_pyfunction!(build, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add("FORMAT_VERSION", kale_core::store::format::FORMAT_VERSION)?;
    Ok(())
}
