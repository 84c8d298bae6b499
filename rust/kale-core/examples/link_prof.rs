//! Profiling harness for the alias index: `link_prof NAMES.txt TEXTS.txt [reps]`.
use std::time::Instant;

use kale_core::link::{AliasIndex, ExceptionSource, IndexOptions, Name, Scratch};

/// Nanoseconds this thread has run on a CPU (robust to a loaded machine).
fn cpu_ns() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let names_text = std::fs::read_to_string(&args[1]).expect("names");
    let texts_text = std::fs::read_to_string(&args[2]).expect("texts");
    let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    let names: Vec<Name> = names_text
        .lines()
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, t)| Name {
            text: t,
            node: i as u32,
            is_label: true,
        })
        .collect();
    let texts: Vec<&str> = texts_text.lines().collect();
    let mb = texts.iter().map(|t| t.len()).sum::<usize>() as f64 / 1e6;
    let exc = ExceptionSource::Auto.load(None).expect("exc");
    let t = Instant::now();
    let c = cpu_ns();
    let ix = AliasIndex::build(&names, &|_| 1.0, exc, &IndexOptions::default());
    eprintln!("build cpu(main thread) {:.2}s", (cpu_ns() - c) / 1e9);
    eprintln!(
        "build {:.2}s, {} aliases, {:.1} B/name",
        t.elapsed().as_secs_f64(),
        ix.alias_count(),
        ix.heap_bytes() as f64 / names.len() as f64
    );
    let mut s = Scratch::default();
    let mut out = Vec::new();
    // CHECK=1: every text's matches from `scan` and `scan_reference` (the plain
    // one-walk-at-a-time scanner) must be the same, as parts and as whole texts.
    if std::env::var_os("CHECK").is_some() {
        let (mut r, mut out2) = (Scratch::default(), Vec::new());
        let mut n = 0usize;
        for text in &texts {
            for whole in [false, true] {
                ix.scan(text, whole, &mut s, &mut out);
                ix.scan_reference(text, whole, &mut r, &mut out2);
                assert_eq!(
                    out, out2,
                    "scan and scan_reference differ on {text:?} (whole={whole})"
                );
                assert!(out
                    .iter()
                    .all(|m| ix.match_key(m, &s) == ix.match_key(m, &r)));
                n += out.len();
            }
        }
        eprintln!(
            "check: scan = scan_reference on all {} texts ({n} matches)",
            texts.len()
        );
    }
    // THREADS=1,2,4: the same scan as a batch on rayon pools of those sizes (wall
    // time, best of `reps`), to see batch scans scale with cores.
    if let Ok(list) = std::env::var("THREADS") {
        use rayon::prelude::*;
        for n in list.split(',').filter_map(|x| x.parse::<usize>().ok()) {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("pool");
            let best = (0..reps.max(1))
                .map(|_| {
                    let t = Instant::now();
                    let found: usize = pool.install(|| {
                        texts
                            .par_iter()
                            .map_init(
                                || (Scratch::default(), Vec::new()),
                                |(s, out), text| {
                                    ix.scan(text, false, s, out);
                                    out.len()
                                },
                            )
                            .sum()
                    });
                    assert!(found > 0 || texts.is_empty());
                    t.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min);
            eprintln!("threads {n}: {:.1} MB/s wall", mb / best);
        }
    }
    // TOKENS=1: time the tokenizer alone, to tell its share of a scan.
    if std::env::var_os("TOKENS").is_some() {
        let mut t = kale_core::link::normalise::Tokens::default();
        for _ in 0..reps {
            let (w, c) = (Instant::now(), cpu_ns());
            let n: usize = texts
                .iter()
                .map(|text| {
                    kale_core::link::normalise::tokenize(text, &mut t);
                    t.len()
                })
                .sum();
            eprintln!(
                "tokenize {:.1} MB/s wall, {:.1} MB/s cpu, {n} tokens",
                mb / w.elapsed().as_secs_f64(),
                mb / ((cpu_ns() - c) / 1e9)
            );
        }
    }
    for _ in 0..reps {
        let t = Instant::now();
        let c = cpu_ns();
        let mut n = 0usize;
        let digest_on = std::env::var_os("DIGEST").is_some();
        let mut digest = 0u64;
        for text in &texts {
            ix.scan(text, false, &mut s, &mut out);
            n += out.len();
            if digest_on {
                for m in &out {
                    let key = ix.match_key(m, &s);
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    std::hash::Hash::hash(&(m.start, m.end, key, ix.candidates(m.alias).0), &mut h);
                    digest = digest.wrapping_add(std::hash::Hasher::finish(&h));
                }
            }
        }
        let dt = t.elapsed().as_secs_f64();
        let cpu = (cpu_ns() - c) / 1e9;
        eprintln!(
            "scan {:.1} MB/s wall, {:.1} MB/s cpu, {} matches, digest {digest:x}",
            mb / dt,
            mb / cpu,
            n
        );
    }
}
