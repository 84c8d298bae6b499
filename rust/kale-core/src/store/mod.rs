//! The graph store: the on-disk format, its builder and its memory-mapped reader.

pub mod build;
pub mod extsort;
pub mod format;
pub mod graph;

pub use build::{build, BuildOptions};
pub use format::Manifest;
pub use graph::{Dir, Graph};

/// The case folding used by name lookups; entity linking normalises further.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}
