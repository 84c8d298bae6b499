//! `kale._core.Linker`: the alias index of a graph (or of a plain list of names)
//! and the scans over it, run without the GIL; `kale.link.Linker` wraps it.

use std::cell::RefCell;
use std::time::Instant;

use kale_core::link::{
    index_graph, link_group, AliasIndex, ExceptionSource, Exceptions, IndexOptions, LinkOptions,
    Match, Name, Scratch, Text,
};
use numpy::PyArray1;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyList, PySlice, PyString};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::errors::IntoPyResult;
use crate::graph::PyGraph;
use crate::parallel;

#[pyclass(name = "Linker", module = "kale._core", subclass, frozen)]
pub struct PyLinker {
    index: AliasIndex,
    graph: Option<Py<PyGraph>>,
    seconds: f64,
}

fn exception_source(exceptions: &str) -> ExceptionSource {
    match exceptions {
        "auto" => ExceptionSource::Auto,
        "off" | "none" | "" => ExceptionSource::Off,
        dir => ExceptionSource::Dir(dir.into()),
    }
}

/// A text handed over from Python: its UTF-8 borrowed from the str object (no
/// copy: the str keeps its UTF-8 form and stays alive while this does), or an
/// owned string when the str holds lone surrogates.
enum PyText {
    Borrowed(PyBackedStr),
    /// The text with U+FFFD for each lone surrogate, and the str itself (mention
    /// strings are sliced from it, surrogates and all).
    Owned(String, Py<PyString>),
}

impl PyText {
    fn as_str(&self) -> &str {
        match self {
            PyText::Borrowed(s) => s,
            PyText::Owned(s, _) => s,
        }
    }
}

/// Texts for Rust: lone surrogates (which no UTF-8 string can hold) become U+FFFD,
/// one code point for one, so offsets still index the Python string.
fn texts_of(texts: &Bound<'_, PyAny>) -> PyResult<Vec<PyText>> {
    let mut out = Vec::new();
    for (i, item) in texts.try_iter()?.enumerate() {
        let item = item?;
        let s = item.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "text {i} is a {}, not a str",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        out.push(match PyBackedStr::try_from(s.clone()) {
            Ok(s) => PyText::Borrowed(s),
            Err(_) => {
                let bytes = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
                PyText::Owned(
                    one_replacement_per_surrogate(bytes.extract::<&[u8]>()?),
                    s.clone().unbind(),
                )
            }
        });
    }
    Ok(out)
}

/// Decodes UTF-8 in which lone surrogates were written as 3-byte sequences
/// (Python's "surrogatepass"), each becoming exactly one U+FFFD.
fn one_replacement_per_surrogate(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    while !bytes.is_empty() {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or(""));
                out.push('\u{FFFD}');
                let skip = match rest {
                    [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..] => 3,
                    _ => e.error_len().unwrap_or(rest.len()).max(1),
                };
                bytes = &rest[skip.min(rest.len())..];
            }
        }
    }
    out
}

thread_local! {
    /// Each thread's scratch space (tokens, word cache, matches), kept across the
    /// texts of a batch and across calls on the same thread: the word cache only
    /// pays once warm, and a scratch per rayon split would start cold each time.
    static SCRATCH: RefCell<(Scratch, Vec<Match>)> = RefCell::new((Scratch::default(), Vec::new()));
}

/// Runs `f` with this thread's scratch (a fresh one if it is somehow in use).
fn with_scratch<T>(f: impl FnOnce(&mut Scratch, &mut Vec<Match>) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut pair) => {
            let (s, out) = &mut *pair;
            f(s, out)
        }
        Err(_) => f(&mut Scratch::default(), &mut Vec::new()),
    })
}

/// One row per mention: text index, start, end, alias (an index into the distinct
/// aliases that follow), candidates as CSR (offsets, nodes, scores), and the
/// mention strings when asked for.
type Columns<'py> = (
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u32>>,
    Vec<String>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f32>>,
    Option<Bound<'py, PyList>>,
);

/// Code-point offsets → byte offsets in one text, for offsets that mostly go
/// forward (a text's mentions, left to right): one pass over the text, not one per
/// mention.
struct Cursor<'a> {
    text: &'a str,
    cp: usize,
    byte: usize,
}

impl Cursor<'_> {
    fn byte_at(&mut self, cp: usize) -> usize {
        if cp < self.cp {
            (self.cp, self.byte) = (0, 0);
        }
        while self.cp < cp {
            match self.text.get(self.byte..).and_then(|r| r.chars().next()) {
                Some(c) => {
                    self.byte += c.len_utf8();
                    self.cp += 1;
                }
                None => break,
            }
        }
        self.byte
    }
}

#[pymethods]
impl PyLinker {
    /// Builds the alias index of a graph from its labels and aliases.
    #[staticmethod]
    #[pyo3(signature = (graph, *, priors = None, exceptions = "auto", min_chars = 2, max_words = 16, stop_words = true, inflection = true, label_boost = 2.0))]
    #[allow(clippy::too_many_arguments)]
    fn _from_graph(
        py: Python<'_>,
        graph: Py<PyGraph>,
        priors: Option<Vec<f32>>,
        exceptions: &str,
        min_chars: usize,
        max_words: usize,
        stop_words: bool,
        inflection: bool,
        label_boost: f32,
    ) -> PyResult<Self> {
        if !(label_boost.is_finite() && label_boost > 0.0) {
            return Err(PyValueError::new_err(format!(
                "label_boost must be a positive number, not {label_boost}"
            )));
        }
        let opts = IndexOptions {
            min_chars,
            max_words,
            stop_words,
            inflection,
            label_boost,
        };
        let source = exception_source(exceptions);
        let g = &graph.get().inner;
        let started = Instant::now();
        let index = py
            .detach(|| parallel::run(None, || index_graph(g, &opts, &source, priors.as_deref())))
            .and_then(|r| r)
            .py()?;
        Ok(PyLinker {
            index,
            graph: Some(graph),
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Builds an index from plain names: `nodes[i]` is the entity `names[i]` names
    /// (default: i), `priors[node]` ranks candidates (default: all equal).
    #[staticmethod]
    #[pyo3(signature = (names, *, nodes = None, priors = None, exceptions = "auto", min_chars = 2, max_words = 16, stop_words = true, inflection = true))]
    #[allow(clippy::too_many_arguments)]
    fn _from_names(
        py: Python<'_>,
        names: &Bound<'_, PyAny>,
        nodes: Option<Vec<u32>>,
        priors: Option<Vec<f32>>,
        exceptions: &str,
        min_chars: usize,
        max_words: usize,
        stop_words: bool,
        inflection: bool,
    ) -> PyResult<Self> {
        let names = texts_of(names)?;
        if let Some(n) = &nodes {
            if n.len() != names.len() {
                return Err(PyValueError::new_err(format!(
                    "nodes has {} values for {} names",
                    n.len(),
                    names.len()
                )));
            }
        }
        let opts = IndexOptions {
            min_chars,
            max_words,
            stop_words,
            inflection,
            label_boost: 1.0,
        };
        let source = exception_source(exceptions);
        let started = Instant::now();
        let index = py
            .detach(|| -> kale_core::Result<AliasIndex> {
                let exc: Exceptions = source.load(None)?;
                parallel::run(None, || {
                    let list: Vec<Name> = names
                        .iter()
                        .enumerate()
                        .map(|(i, t)| Name {
                            text: t.as_str(),
                            node: nodes.as_ref().map_or(i as u32, |n| n[i]),
                            is_label: true,
                        })
                        .collect();
                    let prior = |n: u32| {
                        priors
                            .as_ref()
                            .map_or(1.0, |p| p.get(n as usize).copied().unwrap_or(0.0))
                    };
                    AliasIndex::build(&list, &prior, exc, &opts)
                })
            })
            .py()?;
        Ok(PyLinker {
            index,
            graph: None,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Links texts in groups of `group` consecutive texts (context re-ranking sees a
    /// whole group: a question and its answer); `whole[i % len(whole)]` says whether
    /// text i wins as a whole when it is an alias. Returns columns, one row per
    /// mention: text index, start, end (code points), alias, and the candidates as
    /// CSR (offsets into nodes and scores).
    #[pyo3(signature = (texts, whole, *, group = 1, top_k = 5, context = false, context_weight = 0.5, threads = None, mentions = false))]
    #[allow(clippy::too_many_arguments)]
    fn _link<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        whole: Vec<bool>,
        group: usize,
        top_k: usize,
        context: bool,
        context_weight: f32,
        threads: Option<usize>,
        mentions: bool,
    ) -> PyResult<Columns<'py>> {
        let texts = texts_of(texts)?;
        if whole.is_empty() || group == 0 {
            return Err(PyValueError::new_err(
                "whole must hold at least one flag and group must be positive",
            ));
        }
        if !(0.0..=1.0).contains(&context_weight) {
            return Err(PyValueError::new_err(format!(
                "context_weight must lie in [0, 1], not {context_weight}"
            )));
        }
        let opts = LinkOptions {
            top_k,
            context,
            context_weight,
        };
        let index = &self.index;
        let graph = self.graph.as_ref().map(|g| &g.get().inner);
        let run = || {
            let groups: Vec<Vec<Text>> = texts
                .chunks(group)
                .enumerate()
                .map(|(gi, c)| {
                    c.iter()
                        .enumerate()
                        .map(|(k, t)| Text {
                            text: t.as_str(),
                            whole: whole[(gi * group + k) % whole.len()],
                        })
                        .collect()
                })
                .collect();
            groups
                .par_iter()
                .map(|g| with_scratch(|s, _| link_group(index, graph, g, &opts, s)))
                .collect::<Vec<_>>()
        };
        let linked = py.detach(|| parallel::run(threads, run)).py()?;
        let (mut row, mut start, mut end, mut alias) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut offsets, mut nodes, mut scores) = (vec![0u32], Vec::new(), Vec::new());
        // Each distinct alias once: a frame's alias column is gathered from them.
        let mut alias_ids: FxHashMap<u32, u32> = FxHashMap::default();
        let mut aliases: Vec<String> = Vec::new();
        let mut strings: Vec<Bound<'py, PyString>> = Vec::new();
        for (i, found) in linked.into_iter().flatten().enumerate() {
            let mut cursor = Cursor {
                text: texts.get(i).map_or("", |t| t.as_str()),
                cp: 0,
                byte: 0,
            };
            for m in found {
                row.push(i as u32);
                start.push(m.start as u64);
                end.push(m.end as u64);
                if mentions {
                    strings.push(match texts.get(i) {
                        Some(PyText::Owned(_, original)) => original
                            .bind(py)
                            .get_item(PySlice::new(py, m.start as isize, m.end as isize, 1))?
                            .cast_into::<PyString>()?,
                        _ => {
                            let (a, b) = (cursor.byte_at(m.start), cursor.byte_at(m.end));
                            PyString::new(py, cursor.text.get(a..b).unwrap_or(""))
                        }
                    });
                }
                let next = aliases.len() as u32;
                let id = *alias_ids.entry(m.alias_id).or_insert(next);
                if id == next {
                    aliases.push(m.alias);
                }
                alias.push(id);
                for c in m.candidates {
                    nodes.push(c.node);
                    scores.push(c.score);
                }
                offsets.push(nodes.len() as u32);
            }
        }
        Ok((
            PyArray1::from_vec(py, row),
            PyArray1::from_vec(py, start),
            PyArray1::from_vec(py, end),
            PyArray1::from_vec(py, alias),
            aliases,
            PyArray1::from_vec(py, offsets),
            PyArray1::from_vec(py, nodes),
            PyArray1::from_vec(py, scores),
            if mentions {
                Some(PyList::new(py, strings)?)
            } else {
                None
            },
        ))
    }

    /// Counts matches only (no candidates, no Python objects): for benchmarks.
    #[pyo3(signature = (texts, *, threads = None))]
    fn _count(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<u64> {
        let texts = texts_of(texts)?;
        let index = &self.index;
        let run = || {
            texts
                .par_iter()
                .map(|t| {
                    with_scratch(|s, out| {
                        index.scan(t.as_str(), false, s, out);
                        out.len() as u64
                    })
                })
                .sum::<u64>()
        };
        py.detach(|| parallel::run(threads, run)).py()
    }

    /// The normalised form of a text, as aliases are keyed (words joined by spaces).
    #[staticmethod]
    fn normalise(text: &Bound<'_, PyAny>) -> PyResult<String> {
        let texts = texts_of(pyo3::types::PyList::new(text.py(), [text])?.as_any())?;
        Ok(texts
            .first()
            .map(|t| kale_core::link::normalise::normalise(t.as_str()))
            .unwrap_or_default())
    }

    /// The candidates of a normalised alias key, best first: (node, prior) pairs.
    fn lookup(&self, key: &str) -> Vec<(u32, f32)> {
        let mut s = Scratch::default();
        let mut out = Vec::new();
        self.index.scan(key, true, &mut s, &mut out);
        match out.first() {
            Some(m) if m.first_word == 0 && m.words == s.ids.len() => {
                let (n, p) = self.index.candidates(m.alias);
                n.iter().copied().zip(p.iter().copied()).collect()
            }
            _ => Vec::new(),
        }
    }

    #[getter]
    fn alias_count(&self) -> usize {
        self.index.alias_count()
    }
    #[getter]
    fn word_count(&self) -> usize {
        self.index.word_count()
    }
    #[getter]
    fn names_indexed(&self) -> usize {
        self.index.names_indexed()
    }
    #[getter]
    fn exception_count(&self) -> usize {
        self.index.exceptions()
    }
    /// Heap bytes the index holds.
    #[getter]
    fn heap_bytes(&self) -> usize {
        self.index.heap_bytes()
    }
    /// Seconds the index took to build.
    #[getter]
    fn build_seconds(&self) -> f64 {
        self.seconds
    }
    #[getter]
    fn graph(&self, py: Python<'_>) -> Option<Py<PyGraph>> {
        self.graph.as_ref().map(|g| g.clone_ref(py))
    }
}
