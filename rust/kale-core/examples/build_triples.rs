//! Builds a graph from TSV triples without Python, for profiling the build:
//! `cargo run --release -p kale-core --example build_triples -- IN.tsv OUT.kg [MEMORY_MB]`

use std::path::PathBuf;
use std::time::Instant;

use kale_core::ingest::{OnError, Source, TriplesSource};
use kale_core::{build, BuildOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: build_triples IN.tsv OUT.kg [MEMORY_MB]".into());
    }
    let memory_mb: u64 = args.get(3).map(|m| m.parse()).transpose()?.unwrap_or(4096);
    let source = Source::Triples(TriplesSource {
        triples: vec![PathBuf::from(&args[1])],
        ..Default::default()
    });
    let options = BuildOptions {
        memory: memory_mb << 20,
        on_error: OnError::Fail,
        progress: true,
        overwrite: true,
    };
    let started = Instant::now();
    let manifest = build(&source, &PathBuf::from(&args[2]), &options, &|| false)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} nodes, {} edges in {seconds:.1} s: {:.2} M edges/s",
        manifest.nodes,
        manifest.edges,
        manifest.edges as f64 / seconds / 1e6
    );
    Ok(())
}
