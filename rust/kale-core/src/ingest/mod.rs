//! Readers that stream an input into a [`Builder`].

pub mod builder;
pub mod input;
pub mod interner;
pub mod ntriples;
pub mod triples;
pub mod wordnet;

use std::path::PathBuf;

pub use builder::{Builder, NameKind, OnError};
pub use ntriples::NTriplesSource;
pub use triples::TriplesSource;
pub use wordnet::WordNetSource;

use crate::error::Result;

/// What a graph is built from.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reader", rename_all = "lowercase")]
pub enum Source {
    Triples(TriplesSource),
    NTriples(NTriplesSource),
    WordNet(WordNetSource),
}

impl Source {
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            Source::Triples(s) => s.all_files().into_iter().cloned().collect(),
            Source::NTriples(s) => s.files.clone(),
            Source::WordNet(s) => [
                "index.noun",
                "index.verb",
                "index.adj",
                "index.adv",
                "data.noun",
                "data.verb",
                "data.adj",
                "data.adv",
            ]
            .iter()
            .map(|f| s.dir.join(f))
            .filter(|p| p.is_file())
            .collect(),
        }
    }

    pub(crate) fn read(&self, b: &mut Builder) -> Result<()> {
        match self {
            Source::Triples(s) => triples::read(b, s),
            Source::NTriples(s) => ntriples::read(b, s),
            Source::WordNet(s) => wordnet::read(b, s),
        }
    }
}
