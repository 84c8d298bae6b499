//! kale-core: the knowledge-graph engine behind kale, in pure Rust.
//!
//! - [`store`]: the immutable, memory-mapped graph directory and its builder;
//! - [`ingest`]: streaming readers (TSV/CSV triples, Wikidata N-Triples, WordNet);
//! - [`generate`]: Wikidata-shaped synthetic graphs for benchmarks.

pub mod error;
pub mod generate;
pub mod ingest;
pub mod link;
pub mod paths;
pub mod store;

pub use error::{KaleError, Result};
pub use store::{build, BuildOptions, Dir, Graph, Manifest};
