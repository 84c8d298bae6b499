//! Runs a file of "source target" queries many times, for profiling the search:
//! `cargo run --release --example paths_profile -- GRAPH QUERIES METHOD REPEATS [MAX_PATHS]`
//! (MAX_PATHS: 10,000 by default, as the benchmark asks of the shortest-path search).

use std::time::Instant;

use kale_core::paths::{search, SearchOptions};

fn main() -> kale_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let g = kale_core::Graph::open(std::path::Path::new(&args[1]))?;
    let queries: Vec<(u32, u32)> = std::fs::read_to_string(&args[2])
        .map_err(|e| kale_core::KaleError::io(&args[2], e))?
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        })
        .collect();
    let max_paths = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let o = SearchOptions {
        method: args[3].parse()?,
        max_hops: 4,
        max_paths,
        timeout: None,
        ..Default::default()
    };
    let repeats: usize = args[4].parse().unwrap_or(10);
    let mut times = Vec::new();
    for _ in 0..repeats {
        for &(s, t) in &queries {
            let started = Instant::now();
            std::hint::black_box(search(&g, &[s], &[t], &o)?);
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{} searches: p50 {:.2} µs, p95 {:.2} µs, p99 {:.2} µs, mean {mean:.2} µs",
        times.len(),
        times[times.len() / 2],
        times[times.len() * 95 / 100],
        times[times.len() * 99 / 100]
    );
    Ok(())
}
