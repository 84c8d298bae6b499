//! A generator of Wikidata-shaped graphs, so scale can be reproduced anywhere.
//!
//! Wikidata's item graph has flat out-degrees (items carry a handful of statements),
//! power-law in-degrees, a few hubs with millions of in-edges (`Q5` "human" through
//! `P31` "instance of"), and relation frequencies that fall off like Zipf's law.
//! This writes such a graph as TSV triples (`.gz` if the name says so).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};

use crate::error::{IoContext, KaleError, Result};

#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub nodes: u64,
    pub edges: u64,
    pub relations: u64,
    /// Nodes that receive `hub_share` of all edges between them.
    pub hubs: u64,
    pub hub_share: f64,
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            nodes: 1_000_000,
            edges: 10_000_000,
            relations: 2_000,
            hubs: 5,
            hub_share: 0.08,
            seed: 0,
        }
    }
}

/// The graph format's limit on distinct relations.
const MAX_RELATIONS: u64 = 1 << 16;

fn relation_id(r: u64) -> String {
    // The most frequent relation is named like Wikidata's: P31, instance of.
    if r == 0 {
        "P31".to_string()
    } else {
        format!("P{}", 1000 + r)
    }
}

pub fn generate(path: &Path, o: &GenerateOptions) -> Result<()> {
    // relations is bounded by what a graph holds (u16 ids): the names are made up front,
    // and an unbounded count would exhaust memory before writing a line.
    if o.nodes < 2
        || o.hubs >= o.nodes
        || o.relations == 0
        || o.relations > MAX_RELATIONS
        || !(0.0..=1.0).contains(&o.hub_share)
    {
        return Err(KaleError::invalid(format!(
            "generate needs nodes >= 2, hubs < nodes, 1 <= relations <= {MAX_RELATIONS} and 0 <= hub_share <= 1"
        )));
    }
    let file = File::create(path).at(path)?;
    let mut out: Box<dyn Write> = if path.to_string_lossy().ends_with(".gz") {
        Box::new(flate2::write::GzEncoder::new(
            BufWriter::with_capacity(1 << 20, file),
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(BufWriter::with_capacity(1 << 20, file))
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(o.seed);
    let relation_zipf =
        Zipf::new(o.relations as f64, 1.1).map_err(|e| KaleError::invalid(e.to_string()))?;
    let hub_zipf =
        Zipf::new(o.hubs.max(1) as f64, 1.0).map_err(|e| KaleError::invalid(e.to_string()))?;
    let relation_names: Vec<String> = (0..o.relations).map(relation_id).collect();
    let mut line = String::with_capacity(64);
    for _ in 0..o.edges {
        let src = rng.random_range(o.hubs..o.nodes);
        let (rel, dst) = if o.hubs > 0 && rng.random_bool(o.hub_share) {
            (0, hub_zipf.sample(&mut rng) as u64 - 1)
        } else {
            // Rank u^3 * n: a power law in rank, most in-edges on few targets.
            let u: f64 = rng.random();
            let dst = o.hubs + ((u * u * u) * (o.nodes - o.hubs) as f64) as u64;
            (
                relation_zipf.sample(&mut rng) as u64 - 1,
                dst.min(o.nodes - 1),
            )
        };
        line.clear();
        use std::fmt::Write as _;
        let _ = writeln!(
            line,
            "Q{}\t{}\tQ{}",
            src + 1,
            relation_names[rel as usize],
            dst + 1
        );
        out.write_all(line.as_bytes()).at(path)?;
    }
    out.flush().at(path)
}
