//! Build -> open round trips against a plain reference, and damaged graphs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use common::build_tsv;
use kale_core::{Dir, Graph, KaleError};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn neighbours_equal_reference(rows in prop::collection::vec((0u8..30, 0u8..4, 0u8..30), 1..200), memory in prop::sample::select(vec![1u64 << 10, 1 << 30])) {
        let rows: Vec<(String, String, String)> = rows.into_iter().map(|(h, r, t)| (format!("n{h}"), format!("r{r}"), format!("n{t}"))).collect();
        let tmp = tempfile::tempdir().expect("tmp");
        let g = build_tsv(tmp.path(), &rows, memory);
        let mut out: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
        let mut inn: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
        for (h, r, t) in &rows {
            out.entry(h).or_default().insert((r, t));
            inn.entry(t).or_default().insert((r, h));
        }
        let distinct: BTreeSet<_> = rows.iter().collect();
        prop_assert_eq!(g.edge_count(), distinct.len() as u64);
        for n in 0..g.node_count() {
            let id = g.node_id(n).expect("id");
            prop_assert_eq!(g.node_index(id), Some(n));
            for (dir, reference) in [(Dir::Out, &out), (Dir::In, &inn)] {
                let (ns, rs) = g.neighbours(n, dir);
                let got: Vec<(&str, &str)> = ns.iter().zip(rs).map(|(&x, &r)| (g.relation_id(r).expect("rel"), g.node_id(x).expect("id"))).collect();
                let expected: Vec<(&str, &str)> = reference.get(id).map(|s| s.iter().copied().collect()).unwrap_or_default();
                // Sorted by relation index then neighbour index; compare as sets, and check the order.
                prop_assert_eq!(got.iter().copied().collect::<BTreeSet<_>>(), expected.iter().copied().collect::<BTreeSet<_>>());
                prop_assert_eq!(got.len(), expected.len());
                prop_assert!(ns.iter().zip(rs).collect::<Vec<_>>().windows(2).all(|w| (w[0].1, w[0].0) < (w[1].1, w[1].0)));
            }
        }
    }
}

#[test]
fn truncated_and_flipped_files_are_errors_not_panics() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rows: Vec<_> = (0..100)
        .map(|i| {
            (
                format!("Q{i}"),
                format!("P{}", i % 3),
                format!("Q{}", (i * 7) % 40),
            )
        })
        .collect();
    let g = build_tsv(tmp.path(), &rows, 1 << 30);
    let dir = g.path().to_path_buf();
    drop(g);
    let target = dir.join("in_sources.u32");
    let original = std::fs::read(&target).expect("read");
    std::fs::write(&target, &original[..original.len() - 1]).expect("write");
    assert!(matches!(Graph::open(&dir), Err(KaleError::Corrupt { .. })));
    let mut flipped = original.clone();
    flipped[5] ^= 0xff;
    std::fs::write(&target, &flipped).expect("write");
    let g = Graph::open(&dir).expect("sizes still match");
    assert!(matches!(g.verify(), Err(KaleError::Corrupt { .. })));
    for n in 0..g.node_count() + 5 {
        let _ = g.neighbours(n, Dir::In);
        let _ = g.aliases(n);
    }
}

/// A manifest may name only plain files of the graph directory, even one whose
/// self-checksum is valid: `/dev/zero` would make verify read without end, `../x`
/// would hash (and map) a file outside the graph.
#[test]
fn manifest_names_outside_the_graph_are_corrupt() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rows = vec![("a".to_string(), "r".to_string(), "b".to_string())];
    let dir = build_tsv(tmp.path(), &rows, 1 << 30).path().to_path_buf();
    let original = kale_core::Manifest::read(&dir).expect("manifest");
    std::fs::write(tmp.path().join("outside"), b"").expect("write");
    for name in ["/dev/zero", "../outside", "..", ".", "", "sub/x"] {
        let mut m = original.clone();
        let info = m.arrays.values().next().expect("an array").clone();
        m.arrays.insert(name.to_string(), info);
        m.write(&dir).expect("write manifest");
        match Graph::open(&dir) {
            Err(KaleError::Corrupt { message, .. }) => assert!(
                message.contains("not a file of the graph directory"),
                "{name:?}: {message}"
            ),
            Err(other) => panic!("{name:?}: {other}"),
            Ok(_) => panic!("{name:?}: opened"),
        }
    }
    let mut m = original.clone();
    m.write(&dir).expect("write manifest");
    let g = Graph::open(&dir).expect("the original opens");
    g.verify().expect("and verifies");
    drop(g);
    // An array that grew after opening is reported, not read to its end.
    let g = Graph::open(&dir).expect("open");
    let grown = dir.join("out_targets.u32");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&grown)
        .expect("open array");
    f.write_all(&[0; 4096]).expect("grow");
    assert!(
        matches!(g.verify(), Err(KaleError::Corrupt { message, .. }) if message.contains("out_targets.u32 holds"))
    );
}
