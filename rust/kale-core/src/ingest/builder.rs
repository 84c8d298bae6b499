//! What every reader feeds: nodes, edges, names and skips. The builder interns ids,
//! hands edges to the external sorter, applies the `on_error` policy and drives the
//! progress bar and the cancellation check.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indicatif::ProgressBar;
use rustc_hash::FxHashMap;

use super::interner::Interner;
use crate::error::{KaleError, Result};
use crate::store::extsort::{Edge, EdgeSorter};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop at the first malformed line.
    Fail,
    /// Skip malformed lines, counting them (and keeping the first few as examples).
    Skip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameKind {
    Label = 0,
    Alias = 1,
    Description = 2,
}

/// One name of a node; `rank` orders candidates (lower wins the label), `seq`
/// keeps the input order among equals.
pub(crate) struct NameRecord {
    pub node: u32,
    pub kind: NameKind,
    pub rank: u8,
    pub seq: u64,
    pub start: u64,
    pub len: u32,
}

const TICK_EVERY: u64 = 1 << 16;
const MAX_EXAMPLES: usize = 5;

pub struct Builder<'a> {
    pub(crate) nodes: Interner,
    pub(crate) relations: Interner,
    /// By relation id; applied at the end to the relations the edges use.
    pub(crate) relation_labels: FxHashMap<String, (u8, String)>,
    pub(crate) names: Vec<NameRecord>,
    pub(crate) name_arena: String,
    pub(crate) edges: EdgeSorter,
    pub(crate) skipped: BTreeMap<String, u64>,
    pub(crate) bad_lines: u64,
    pub(crate) bad_examples: Vec<String>,
    on_error: OnError,
    ticks: u64,
    pub(crate) bytes_read: Arc<AtomicU64>,
    progress: &'a ProgressBar,
    cancel: &'a (dyn Fn() -> bool + Sync),
}

impl<'a> Builder<'a> {
    pub(crate) fn new(
        edges: EdgeSorter,
        on_error: OnError,
        progress: &'a ProgressBar,
        cancel: &'a (dyn Fn() -> bool + Sync),
    ) -> Builder<'a> {
        Builder {
            nodes: Interner::default(),
            relations: Interner::default(),
            relation_labels: FxHashMap::default(),
            names: Vec::new(),
            name_arena: String::new(),
            edges,
            skipped: BTreeMap::new(),
            bad_lines: 0,
            bad_examples: Vec::new(),
            on_error,
            ticks: 0,
            bytes_read: Arc::new(AtomicU64::new(0)),
            progress,
            cancel,
        }
    }

    /// Why `id` (a node or relation id read from a line) cannot be one, if it cannot:
    /// the line is then malformed, with its file and line, and skippable.
    pub fn id_problem(id: &str) -> Option<String> {
        if id.len() > super::interner::MAX_LEN {
            Some(format!(
                "an id of {} bytes is longer than the 16 MiB limit",
                id.len()
            ))
        } else if id.contains('\0') {
            Some(format!(
                "the id {:?} holds a NUL character",
                id.chars().take(40).collect::<String>()
            ))
        } else {
            None
        }
    }

    pub fn node(&mut self, id: &str) -> Result<u32> {
        self.nodes
            .intern(id)
            .ok_or_else(|| {
                KaleError::invalid(format!(
                    "cannot add node id {:?}: ids are limited to 16 MiB and graphs to 4,294,967,294 nodes",
                    id.chars().take(40).collect::<String>()
                ))
            })
    }

    pub fn relation(&mut self, id: &str) -> Result<u16> {
        let r = self.relations.intern(id).unwrap_or(u32::MAX);
        u16::try_from(r).map_err(|_| {
            KaleError::invalid(format!("relation {id:?} would be the 65,537th distinct relation; the graph format holds 65,536"))
        })
    }

    pub fn edge(&mut self, head: &str, relation: &str, tail: &str) -> Result<()> {
        let src = self.node(head)?;
        let rel = self.relation(relation)?;
        let dst = self.node(tail)?;
        if self.edges.pushed() >= u32::MAX as u64 - 1 {
            return Err(KaleError::invalid(
                "more than 4,294,967,294 edges: the graph format's u32 edge index is full",
            ));
        }
        self.edges.push(Edge { src, rel, dst })
    }

    pub fn name(&mut self, node: &str, kind: NameKind, rank: u8, text: &str) -> Result<()> {
        let text = text.trim();
        if text.is_empty() {
            self.skip("empty name");
            return Ok(());
        }
        let node = self.node(node)?;
        let len = u32::try_from(text.len())
            .map_err(|_| KaleError::invalid("a name longer than 4 GiB"))?;
        let seq = self.names.len() as u64;
        self.names.push(NameRecord {
            node,
            kind,
            rank,
            seq,
            start: self.name_arena.len() as u64,
            len,
        });
        self.name_arena.push_str(text);
        Ok(())
    }

    /// A relation's label; among several, the lowest `rank` (then the first) wins.
    pub fn relation_label(&mut self, relation: &str, rank: u8, label: &str) -> Result<()> {
        let label = label.trim();
        match self.relation_labels.get_mut(relation) {
            Some(old) if old.0 <= rank => {}
            Some(old) => *old = (rank, label.to_string()),
            None => {
                self.relation_labels
                    .insert(relation.to_string(), (rank, label.to_string()));
            }
        }
        Ok(())
    }

    /// Count a value the reader deliberately leaves out (a literal, another language).
    pub fn skip(&mut self, reason: &str) {
        match self.skipped.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                self.skipped.insert(reason.to_string(), 1);
            }
        }
    }

    /// A malformed line: an error under `OnError::Fail`, a counted skip otherwise.
    pub fn bad_line(&mut self, file: &Path, line: u64, message: impl Into<String>) -> Result<()> {
        self.bad_lines_from(file, line, 1, message)
    }

    /// `lines` malformed lines from `line` on, read as one record (a quoted field that
    /// never closed swallows the rest of its file): each counts as skipped.
    pub fn bad_lines_from(
        &mut self,
        file: &Path,
        line: u64,
        lines: u64,
        message: impl Into<String>,
    ) -> Result<()> {
        let message = message.into();
        if self.on_error == OnError::Fail {
            return Err(KaleError::Parse {
                file: file.to_path_buf(),
                line,
                message: format!("{message} (use on_error=skip to skip such lines)"),
            });
        }
        self.bad_lines += lines.max(1);
        if self.bad_examples.len() < MAX_EXAMPLES {
            self.bad_examples
                .push(format!("{}:{line}: {message}", file.display()));
        }
        Ok(())
    }

    /// Called once per input line: updates the progress bar and honours Ctrl-C.
    pub fn tick(&mut self) -> Result<()> {
        self.ticks += 1;
        if self.ticks % TICK_EVERY == 0 {
            self.progress
                .set_position(self.bytes_read.load(Ordering::Relaxed));
            if (self.cancel)() {
                return Err(KaleError::Interrupted);
            }
        }
        Ok(())
    }

    pub(crate) fn name_text(&self, r: &NameRecord) -> &str {
        &self.name_arena[r.start as usize..r.start as usize + r.len as usize]
    }
}
