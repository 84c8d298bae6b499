//! Graphs built from rows of triples, for the integration tests.

use std::io::Write;

use kale_core::ingest::{OnError, Source, TriplesSource};
use kale_core::{build, BuildOptions, Graph};

/// Builds `rows` (head, relation, tail ids) under `dir` with a `memory` budget and opens it.
pub fn build_tsv(dir: &std::path::Path, rows: &[(String, String, String)], memory: u64) -> Graph {
    let tsv = dir.join("t.tsv");
    let mut f = std::fs::File::create(&tsv).expect("create");
    for (h, r, t) in rows {
        writeln!(f, "{h}\t{r}\t{t}").expect("write");
    }
    let source = Source::Triples(TriplesSource {
        triples: vec![tsv],
        ..Default::default()
    });
    let options = BuildOptions {
        memory,
        on_error: OnError::Fail,
        progress: false,
        overwrite: false,
    };
    let out = dir.join("g.kg");
    build(&source, &out, &options, &|| false).expect("build");
    Graph::open(&out).expect("open")
}
