//! Entity linking: which entities of the graph a text mentions, found by string
//! matching on labels and aliases (step 1 of KALE's synthesis, docs/linking.md).
//!
//! - [`normalise`]: text → words with code-point spans (NFKC, case folding);
//! - [`morph`]: English inflection with WordNet's exception lists and rules;
//! - [`index`]: the alias index (word trie + ranked candidates);
//! - [`scan`]: longest non-overlapping matches on word boundaries;
//! - [`context`]: optional re-ranking by closeness in the graph to the other mentions.
//!
//! The index lives in memory and is built from an opened graph in about a second
//! for WordNet (it never touches the graph directory, so its checksums stay valid).

pub mod context;
pub mod index;
pub mod morph;
pub mod normalise;
pub mod scan;

use std::path::{Path, PathBuf};

pub use index::{AliasIndex, IndexOptions, Name};
pub use morph::Exceptions;
pub use scan::{Match, Scratch};

use crate::error::{KaleError, Result};
use crate::store::Graph;

/// Where WordNet's exception lists (`*.exc`) come from.
#[derive(Clone, Debug, Default)]
pub enum ExceptionSource {
    /// The graph's own WordNet directory if it was built from WordNet, else
    /// /usr/share/wordnet if installed, else none (regular suffix rules only).
    #[default]
    Auto,
    Dir(PathBuf),
    Off,
}

impl ExceptionSource {
    pub fn load(&self, graph: Option<&Graph>) -> Result<Exceptions> {
        let dir = match self {
            ExceptionSource::Off => return Ok(Exceptions::default()),
            ExceptionSource::Dir(d) => {
                if !d.join("noun.exc").is_file() {
                    return Err(KaleError::invalid(format!(
                        "{} holds no WordNet exception lists (noun.exc, verb.exc, ...)",
                        d.display()
                    )));
                }
                d.clone()
            }
            ExceptionSource::Auto => {
                let from_graph = graph.and_then(|g| {
                    let source = &g.manifest().build["source"];
                    (source["reader"] == "wordnet")
                        .then(|| source["dir"].as_str().map(PathBuf::from))
                        .flatten()
                });
                match from_graph
                    .into_iter()
                    .chain([PathBuf::from(crate::ingest::wordnet::DEFAULT_DIR)])
                    .find(|d| d.join("noun.exc").is_file())
                {
                    Some(d) => d,
                    None => return Ok(Exceptions::default()),
                }
            }
        };
        Exceptions::load(&dir)
    }
}

/// NLTK-style WordNet sense names (`dog.n.01`), which the WordNet reader stores as
/// aliases for lookups by name, are identifiers, not words a text would contain.
fn is_sense_name(s: &str) -> bool {
    let b = s.as_bytes();
    let n = b.len();
    n >= 6
        && b[n - 1].is_ascii_digit()
        && b[n - 2].is_ascii_digit()
        && b[n - 3] == b'.'
        && b"nvasr".contains(&b[n - 4])
        && b[n - 5] == b'.'
}

/// Builds the alias index of a graph from its labels and aliases. `priors` (one per
/// node) ranks candidates; by default a node's degree + 1 (doubled for WordNet nouns).
pub fn index_graph(
    g: &Graph,
    opts: &IndexOptions,
    exceptions: &ExceptionSource,
    priors: Option<&[f32]>,
) -> Result<AliasIndex> {
    if let Some(p) = priors {
        if p.len() != g.node_count() as usize {
            return Err(KaleError::invalid(format!(
                "priors has {} values; the graph has {} nodes",
                p.len(),
                g.node_count()
            )));
        }
        if let Some(bad) = p.iter().find(|x| !x.is_finite() || **x < 0.0) {
            return Err(KaleError::invalid(format!(
                "priors must be finite and non-negative, found {bad}"
            )));
        }
    }
    let exc = exceptions.load(Some(g))?;
    let mut names = Vec::with_capacity(g.node_count() as usize + g.alias_count());
    for node in 0..g.node_count() {
        if let Some(label) = g.label(node) {
            names.push(Name {
                text: label,
                node,
                is_label: true,
            });
        }
        for alias in g.aliases(node) {
            if !is_sense_name(alias) {
                names.push(Name {
                    text: alias,
                    node,
                    is_label: false,
                });
            }
        }
    }
    // WordNet graphs: nouns count double, since the entities a question and its
    // answer name are mostly things ("sun" the star before "sun" the verb).
    let wordnet = g.manifest().build["source"]["reader"] == "wordnet";
    let prior = |n: u32| match priors {
        Some(p) => p.get(n as usize).copied().unwrap_or(0.0),
        None => {
            (g.degree(n) + 1) as f32
                * if wordnet && g.node_id(n).is_some_and(|id| id.ends_with("-n")) {
                    2.0
                } else {
                    1.0
                }
        }
    };
    Ok(AliasIndex::build(&names, &prior, exc, opts))
}

/// How to link a text.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// Candidates kept per mention.
    pub top_k: usize,
    /// Re-rank candidates by closeness in the graph to the other mentions.
    pub context: bool,
    /// Weight of graph support against the prior share, in 0..=1.
    pub context_weight: f32,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            top_k: 5,
            context: false,
            context_weight: 0.5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    pub node: u32,
    /// The final score in 0..=1: the prior's share among the alias's candidates,
    /// blended with graph support when context re-ranking is on.
    pub score: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    /// The normalised alias that matched (after inflection: "apple" for "Apples").
    pub alias: String,
    /// The alias's number in the index (one per distinct `alias`).
    pub alias_id: u32,
    pub candidates: Vec<Candidate>,
}

/// One text to link and whether a text that is itself an alias wins as a whole
/// (use it for answers).
#[derive(Clone, Copy, Debug)]
pub struct Text<'a> {
    pub text: &'a str,
    pub whole: bool,
}

/// Links a group of texts (e.g. a question and its answer). Context re-ranking, when
/// on and a graph is given, treats every mention of the group as context.
pub fn link_group(
    index: &AliasIndex,
    graph: Option<&Graph>,
    texts: &[Text<'_>],
    opts: &LinkOptions,
    s: &mut Scratch,
) -> Vec<Vec<Mention>> {
    let mut matches = Vec::new();
    let mut out: Vec<Vec<Mention>> = Vec::with_capacity(texts.len());
    for t in texts {
        index.scan(t.text, t.whole, s, &mut matches);
        let keep = if opts.context && graph.is_some() {
            opts.top_k.max(context::POOL)
        } else {
            opts.top_k
        };
        out.push(matches.iter().map(|m| mention(index, m, s, keep)).collect());
    }
    if let (true, Some(g)) = (opts.context, graph) {
        context::rerank(g, &mut out, opts.context_weight);
    }
    for mentions in &mut out {
        for m in mentions.iter_mut() {
            m.candidates.truncate(opts.top_k);
        }
    }
    out
}

fn mention(index: &AliasIndex, m: &Match, s: &Scratch, keep: usize) -> Mention {
    let (nodes, priors) = index.candidates(m.alias);
    let total: f32 = priors.iter().sum();
    let n = nodes.len().max(1) as f32;
    let candidates = nodes
        .iter()
        .zip(priors)
        .take(keep)
        .map(|(&node, &p)| Candidate {
            node,
            score: if total > 0.0 { p / total } else { 1.0 / n },
        })
        .collect();
    Mention {
        start: m.start,
        end: m.end,
        alias: index.match_key(m, s),
        alias_id: m.alias,
        candidates,
    }
}

/// Reads a graph and builds its index in one call (for tools and tests).
pub fn open_and_index(path: &Path) -> Result<(Graph, AliasIndex)> {
    let g = Graph::open(path)?;
    let index = index_graph(&g, &IndexOptions::default(), &ExceptionSource::Auto, None)?;
    Ok((g, index))
}

#[cfg(test)]
mod tests;
