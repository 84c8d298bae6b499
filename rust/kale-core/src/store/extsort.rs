//! External sort of edges under a memory budget.
//!
//! Edges are collected in a chunk; a full chunk is sorted twice (by source for the
//! out-adjacency, by target for the in-adjacency) and written as two sorted runs.
//! At the end the runs of each direction are merged with a heap. When everything
//! fits in one chunk nothing touches the disk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

use crate::error::{IoContext, KaleError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub src: u32,
    pub rel: u16,
    pub dst: u32,
}

pub const EDGE_BYTES: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Sorted by (source, relation, target).
    Out,
    /// Sorted by (target, relation, source).
    In,
}

impl Direction {
    fn key(self, e: &Edge) -> (u32, u16, u32) {
        match self {
            Direction::Out => (e.src, e.rel, e.dst),
            Direction::In => (e.dst, e.rel, e.src),
        }
    }
}

pub struct EdgeSorter {
    chunk: Vec<Edge>,
    capacity: usize,
    tmp: PathBuf,
    runs: Vec<(PathBuf, PathBuf)>,
    pushed: u64,
}

impl EdgeSorter {
    /// `memory` bytes for the chunk; run files go under `tmp`.
    pub fn new(memory: u64, tmp: &Path) -> EdgeSorter {
        let capacity = (memory as usize / std::mem::size_of::<Edge>()).max(1024);
        EdgeSorter {
            chunk: Vec::new(),
            capacity,
            tmp: tmp.to_path_buf(),
            runs: Vec::new(),
            pushed: 0,
        }
    }

    pub fn push(&mut self, edge: Edge) -> Result<()> {
        if self.chunk.len() >= self.capacity {
            self.spill()?;
        }
        self.chunk.push(edge);
        self.pushed += 1;
        Ok(())
    }

    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> Result<()> {
        let n = self.runs.len();
        let out = self.tmp.join(format!("run-{n}.out"));
        let inn = self.tmp.join(format!("run-{n}.in"));
        for (dir, path) in [(Direction::Out, &out), (Direction::In, &inn)] {
            self.chunk.par_sort_unstable_by_key(|e| dir.key(e));
            let file = File::create(path).at(path)?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            for e in &self.chunk {
                w.write_all(&encode(e)).at(path)?;
            }
            w.flush().at(path)?;
        }
        self.runs.push((out, inn));
        self.chunk.clear();
        Ok(())
    }

    /// Calls `f` on every distinct edge in `dir` order; returns the number of
    /// duplicates dropped. Call it for `Out` and then for `In`.
    pub fn for_each_sorted(
        &mut self,
        dir: Direction,
        mut f: impl FnMut(Edge) -> Result<()>,
    ) -> Result<u64> {
        let mut last: Option<Edge> = None;
        let mut duplicates = 0u64;
        let mut emit = |e: Edge| -> Result<()> {
            if last == Some(e) {
                duplicates += 1;
                return Ok(());
            }
            last = Some(e);
            f(e)
        };
        if self.runs.is_empty() {
            self.chunk.par_sort_unstable_by_key(|e| dir.key(e));
            for e in &self.chunk {
                emit(*e)?;
            }
            return Ok(duplicates);
        }
        if !self.chunk.is_empty() {
            self.spill()?;
        }
        self.chunk = Vec::new();
        let mut readers = Vec::with_capacity(self.runs.len());
        for (out, inn) in &self.runs {
            let path = if dir == Direction::Out { out } else { inn };
            readers.push(RunReader::open(path)?);
        }
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(e) = r.next()? {
                heap.push(Reverse((dir.key(&e), i)));
            }
        }
        while let Some(Reverse((key, i))) = heap.pop() {
            let e = match dir {
                Direction::Out => Edge {
                    src: key.0,
                    rel: key.1,
                    dst: key.2,
                },
                Direction::In => Edge {
                    src: key.2,
                    rel: key.1,
                    dst: key.0,
                },
            };
            emit(e)?;
            if let Some(next) = readers[i].next()? {
                heap.push(Reverse((dir.key(&next), i)));
            }
        }
        Ok(duplicates)
    }
}

fn encode(e: &Edge) -> [u8; EDGE_BYTES] {
    let mut b = [0u8; EDGE_BYTES];
    b[0..4].copy_from_slice(&e.src.to_le_bytes());
    b[4..6].copy_from_slice(&e.rel.to_le_bytes());
    b[6..10].copy_from_slice(&e.dst.to_le_bytes());
    b
}

struct RunReader {
    path: PathBuf,
    inner: BufReader<File>,
}

impl RunReader {
    fn open(path: &Path) -> Result<RunReader> {
        let file = File::open(path).at(path)?;
        Ok(RunReader {
            path: path.to_path_buf(),
            inner: BufReader::with_capacity(1 << 18, file),
        })
    }

    fn next(&mut self) -> Result<Option<Edge>> {
        let mut b = [0u8; EDGE_BYTES];
        match self.inner.read_exact(&mut b) {
            Ok(()) => Ok(Some(Edge {
                src: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                rel: u16::from_le_bytes([b[4], b[5]]),
                dst: u32::from_le_bytes([b[6], b[7], b[8], b[9]]),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(KaleError::io(&self.path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn external_equals_in_memory(edges in prop::collection::vec((0u32..50, 0u16..4, 0u32..50), 0..400), memory in 12u64..2000) {
            let edges: Vec<Edge> = edges.into_iter().map(|(src, rel, dst)| Edge { src, rel, dst }).collect();
            let tmp = tempfile::tempdir().expect("tmp");
            for dir in [Direction::Out, Direction::In] {
                let mut expected = edges.clone();
                expected.sort_by_key(|e| dir.key(e));
                expected.dedup();
                // Tiny budgets force many runs (the chunk floor is 1024 edges, so shrink it here).
                let mut sorter = EdgeSorter::new(memory, tmp.path());
                sorter.capacity = (memory as usize / 12).max(1);
                for e in &edges { sorter.push(*e).expect("push"); }
                let mut got = Vec::new();
                let dups = sorter.for_each_sorted(dir, |e| { got.push(e); Ok(()) }).expect("sort");
                prop_assert_eq!(dups as usize, edges.len() - expected.len());
                prop_assert_eq!(got, expected);
            }
        }
    }
}
