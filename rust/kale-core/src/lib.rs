//! kale-core: the knowledge-graph engine behind kale, in pure Rust.
//!
//! - [`store`]: the immutable, memory-mapped graph directory and its builder;
//! - [`ingest`]: streaming readers (TSV/CSV triples, Wikidata N-Triples, WordNet);
//! - [`paths`]: bounded path search between sets of entities (all shortest, k shortest,
//!   the multi-path A*);
//! - [`link`]: entity linking, an alias index of the graph's names and a scanner over texts;
//! - [`generate`]: Wikidata-shaped synthetic graphs for benchmarks;
//! - [`error`]: the one error type of them all.

pub mod error;
pub mod generate;
pub mod ingest;
pub mod link;
pub mod paths;
pub mod store;

pub use error::{KaleError, Result};
pub use store::{build, BuildOptions, Dir, Graph, Manifest};
