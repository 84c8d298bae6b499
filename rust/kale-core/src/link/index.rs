//! The alias index: normalised alias keys in a word-level trie, each key with its
//! candidate entities ranked by a prior.
//!
//! Layout (chosen for memory: ~40–60 bytes per alias with millions of aliases):
//! - a vocabulary of every word that occurs in a key (one byte arena, a hash table
//!   of word ids, a flag byte per word: known one-word alias, stop-word);
//! - a trie over word ids: the first word of a key is node `word + 1`, so the root
//!   step is an array index; deeper steps are one probe in a hash table of
//!   (parent, word) → child; each node names the alias that ends there, if any;
//! - per alias, a flag (too short or only stop-words: matched only as a whole
//!   text) and its candidates, sorted by descending prior.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashSet};

use super::morph::{lemma, Exceptions, STOP_WORDS};
use super::normalise::{tokenize, Tokens};

pub const NONE: u32 = u32::MAX;
const KNOWN: u8 = 1;
const STOP: u8 = 2;
/// An alias matched only when it is the whole text (`whole=True`).
pub const WHOLE_ONLY: u8 = 1;

/// How names become aliases.
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// Aliases shorter than this many characters (spaces aside) match only whole texts.
    pub min_chars: usize,
    /// Names of more words than this are not indexed.
    pub max_words: usize,
    /// Whether aliases made only of stop-words match only whole texts.
    pub stop_words: bool,
    /// Whether inflected words are reduced to known words ("apples" → "apple").
    pub inflection: bool,
    /// A label's prior is multiplied by this against an alias's (labels are the
    /// usual name: WordNet's first lemma, Wikidata's label).
    pub label_boost: f32,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions { min_chars: 2, max_words: 16, stop_words: true, inflection: true, label_boost: 2.0 }
    }
}

/// One name to index: the text, the entity it names, and whether it is the label.
#[derive(Clone, Copy, Debug)]
pub struct Name<'a> {
    pub text: &'a str,
    pub node: u32,
    pub is_label: bool,
}

#[derive(Default)]
struct Vocab {
    table: HashTable<u32>,
    ends: Vec<u32>,
    bytes: Vec<u8>,
    flags: Vec<u8>,
}

fn hash_bytes(s: &[u8]) -> u64 {
    FxBuildHasher.hash_one(s)
}

fn word<'a>(ends: &[u32], bytes: &'a [u8], id: u32) -> &'a [u8] {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends.get(i - 1).copied().unwrap_or(0) as usize };
    let end = ends.get(i).copied().unwrap_or(0) as usize;
    bytes.get(start..end).unwrap_or(&[])
}

impl Vocab {
    fn text(&self, id: u32) -> &[u8] {
        word(&self.ends, &self.bytes, id)
    }
    fn get(&self, s: &[u8]) -> Option<u32> {
        let (ends, bytes) = (&self.ends, &self.bytes);
        self.table.find(hash_bytes(s), |&id| word(ends, bytes, id) == s).copied()
    }
    fn intern(&mut self, s: &[u8]) -> u32 {
        if let Some(id) = self.get(s) {
            return id;
        }
        let id = self.ends.len() as u32;
        self.bytes.extend_from_slice(s);
        self.ends.push(self.bytes.len() as u32);
        self.flags.push(0);
        let (ends, bytes) = (&self.ends, &self.bytes);
        self.table.insert_unique(hash_bytes(s), id, |&i| hash_bytes(word(ends, bytes, i)));
        id
    }
    fn len(&self) -> usize {
        self.ends.len()
    }
    fn heap_bytes(&self) -> usize {
        self.table.capacity() * 5 + self.ends.capacity() * 4 + self.bytes.capacity() + self.flags.capacity()
    }
}

fn mix(parent: u32, word: u32) -> u64 {
    // splitmix64's finaliser: every input bit reaches the low bits hashbrown indexes by.
    let mut z = ((parent as u64) << 32 | word as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An immutable alias index; share it between threads freely.
pub struct AliasIndex {
    vocab: Vocab,
    exceptions: Exceptions,
    inflection: bool,
    /// (parent, word, child) for every trie edge below the first word.
    edges: HashTable<[u32; 3]>,
    /// Per trie node: the alias ending there, or NONE.
    terminal: Vec<u32>,
    alias_flags: Vec<u8>,
    cand_offsets: Vec<u32>,
    cand_nodes: Vec<u32>,
    cand_priors: Vec<f32>,
    names_indexed: usize,
}

/// Per-chunk normalisation output: the words of each name, flat.
struct Chunk {
    bytes: Vec<u8>,
    word_ends: Vec<u32>,
    /// Per name of the chunk: how many words (0 when skipped).
    counts: Vec<u32>,
}

impl Chunk {
    fn words(&self) -> impl Iterator<Item = (usize, Vec<&[u8]>)> + '_ {
        let mut w = 0usize;
        self.counts.iter().enumerate().map(move |(i, &c)| {
            let words = (w..w + c as usize)
                .map(|k| {
                    let start = if k == 0 { 0 } else { self.word_ends[k - 1] as usize };
                    &self.bytes[start..self.word_ends[k] as usize]
                })
                .collect();
            w += c as usize;
            (i, words)
        })
    }
}

fn normalise_chunk(names: &[Name<'_>], max_words: usize) -> Chunk {
    let mut t = Tokens::default();
    let mut c = Chunk { bytes: Vec::new(), word_ends: Vec::new(), counts: Vec::with_capacity(names.len()) };
    for name in names {
        tokenize(name.text, &mut t);
        if t.is_empty() || t.len() > max_words {
            c.counts.push(0);
            continue;
        }
        for i in 0..t.len() {
            c.bytes.extend_from_slice(t.key(i));
            c.word_ends.push(c.bytes.len() as u32);
        }
        c.counts.push(t.len() as u32);
    }
    c
}

impl AliasIndex {
    /// Builds the index from names; `prior(node)` ranks the candidates of an alias.
    pub fn build(names: &[Name<'_>], prior: &(dyn Fn(u32) -> f32 + Sync), exceptions: Exceptions, opts: &IndexOptions) -> AliasIndex {
        const CHUNK: usize = 1 << 14;
        let chunks: Vec<Chunk> = names.par_chunks(CHUNK).map(|c| normalise_chunk(c, opts.max_words.max(1))).collect();
        let stop: FxHashSet<&[u8]> = STOP_WORDS.iter().map(|s| s.as_bytes()).collect();

        // Known words: the one-word aliases. Inflected words reduce only to these.
        let mut known: FxHashSet<&[u8]> = FxHashSet::default();
        for chunk in &chunks {
            for (_, words) in chunk.words().filter(|(_, w)| w.len() == 1) {
                known.insert(words[0]);
            }
        }

        // Every word interned (after inflection), every name as a word-id sequence.
        let mut vocab = Vocab::default();
        for s in STOP_WORDS {
            let id = vocab.intern(s.as_bytes());
            vocab.flags[id as usize] |= STOP;
        }
        for w in &known {
            let id = vocab.intern(w);
            vocab.flags[id as usize] |= KNOWN;
        }
        let is_known = |w: &str| known.contains(w.as_bytes());
        let mut seq_ids: Vec<u32> = Vec::new();
        let mut seqs: Vec<(u32, u32, u32, u8)> = Vec::new(); // (first id, len, name index, flags)
        let mut buf = String::new();
        let mut base = 0usize;
        for chunk in &chunks {
            for (i, words) in chunk.words() {
                if words.is_empty() {
                    continue;
                }
                let first = seq_ids.len() as u32;
                let (mut chars, mut all_stop) = (0usize, true);
                for w in &words {
                    let text = std::str::from_utf8(w).unwrap_or("");
                    chars += text.chars().count();
                    let is_stop = stop.contains(w);
                    all_stop &= is_stop;
                    let id = if is_stop || known.contains(w) || !opts.inflection {
                        vocab.intern(w)
                    } else {
                        match lemma(text, &exceptions, is_known, &mut buf) {
                            Some(l) => vocab.intern(l.as_bytes()),
                            None => vocab.intern(w),
                        }
                    };
                    seq_ids.push(id);
                }
                // "the true" (truth) must not match in "the true colour": aliases led
                // by an article, like stop-word-only ones, match only whole texts.
                let article = words.len() > 1 && matches!(words[0], b"the" | b"a" | b"an");
                let whole_only = chars < opts.min_chars || (opts.stop_words && (all_stop || article));
                seqs.push((first, words.len() as u32, (base + i) as u32, if whole_only { WHOLE_ONLY } else { 0 }));
            }
            base += chunk.counts.len();
        }
        drop(known);
        drop(chunks);

        // The trie: first words are nodes 1..=vocab, deeper nodes follow.
        let mut terminal = vec![NONE; vocab.len() + 1];
        let mut edges: HashTable<[u32; 3]> = HashTable::with_capacity(seq_ids.len().saturating_sub(seqs.len()));
        let mut alias_flags: Vec<u8> = Vec::new();
        let mut cands: Vec<(u32, u32, f32, bool)> = Vec::with_capacity(seqs.len());
        for &(first, len, name_index, flags) in &seqs {
            let ids = &seq_ids[first as usize..(first + len) as usize];
            let mut node = ids[0] + 1;
            for &w in &ids[1..] {
                let h = mix(node, w);
                node = match edges.find(h, |e| e[0] == node && e[1] == w) {
                    Some(e) => e[2],
                    None => {
                        let child = terminal.len() as u32;
                        terminal.push(NONE);
                        edges.insert_unique(h, [node, w, child], |e| mix(e[0], e[1]));
                        child
                    }
                };
            }
            let alias = match terminal[node as usize] {
                NONE => {
                    terminal[node as usize] = alias_flags.len() as u32;
                    alias_flags.push(flags);
                    alias_flags.len() as u32 - 1
                }
                a => a,
            };
            let name = names[name_index as usize];
            let p = prior(name.node) * if name.is_label { opts.label_boost } else { 1.0 };
            cands.push((alias, name.node, p, name.is_label));
        }
        drop(seqs);
        drop(seq_ids);

        // Candidates: by alias, highest prior first, labels before aliases, one per node.
        cands.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.2.total_cmp(&a.2)).then(b.3.cmp(&a.3)).then(a.1.cmp(&b.1)));
        let mut cand_offsets = Vec::with_capacity(alias_flags.len() + 1);
        let mut cand_nodes = Vec::with_capacity(cands.len());
        let mut cand_priors = Vec::with_capacity(cands.len());
        cand_offsets.push(0u32);
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        let mut current = 0u32;
        for (alias, node, p, _) in cands {
            while current < alias {
                cand_offsets.push(cand_nodes.len() as u32);
                current += 1;
                seen.clear();
            }
            if seen.insert(node) {
                cand_nodes.push(node);
                cand_priors.push(p);
            }
        }
        while cand_offsets.len() < alias_flags.len() + 1 {
            cand_offsets.push(cand_nodes.len() as u32);
        }
        terminal.shrink_to_fit();
        edges.shrink_to(0, |e| mix(e[0], e[1]));
        AliasIndex {
            vocab,
            exceptions,
            inflection: opts.inflection,
            edges,
            terminal,
            alias_flags,
            cand_offsets,
            cand_nodes,
            cand_priors,
            names_indexed: names.len(),
        }
    }

    pub fn alias_count(&self) -> usize {
        self.alias_flags.len()
    }
    pub fn word_count(&self) -> usize {
        self.vocab.len()
    }
    pub fn names_indexed(&self) -> usize {
        self.names_indexed
    }
    pub fn exceptions(&self) -> usize {
        self.exceptions.len()
    }

    /// Bytes held on the heap by the index (capacities, so what the allocator gave).
    pub fn heap_bytes(&self) -> usize {
        self.vocab.heap_bytes()
            + self.edges.capacity() * 13
            + self.terminal.capacity() * 4
            + self.alias_flags.capacity()
            + self.cand_offsets.capacity() * 4
            + self.cand_nodes.capacity() * 4
            + self.cand_priors.capacity() * 4
    }

    /// The word id of a text word, after inflection; NONE when no alias uses it.
    pub fn word_id(&self, w: &[u8], buf: &mut String) -> u32 {
        let found = self.vocab.get(w);
        if let Some(id) = found {
            if self.vocab.flags[id as usize] & (KNOWN | STOP) != 0 {
                return id;
            }
        }
        if self.inflection && w.len() > 2 {
            let text = std::str::from_utf8(w).unwrap_or("");
            let known = |x: &str| self.vocab.get(x.as_bytes()).is_some_and(|id| self.vocab.flags[id as usize] & KNOWN != 0);
            if let Some(l) = lemma(text, &self.exceptions, known, buf) {
                if let Some(id) = self.vocab.get(l.as_bytes()) {
                    return id;
                }
            }
        }
        found.unwrap_or(NONE)
    }

    pub fn word_text(&self, id: u32) -> &str {
        std::str::from_utf8(self.vocab.text(id)).unwrap_or("")
    }

    /// The trie node reached from `node` by word `w` (node 0 is the root).
    #[inline]
    pub fn step(&self, node: u32, w: u32) -> Option<u32> {
        if w == NONE {
            return None;
        }
        if node == 0 {
            return Some(w + 1);
        }
        self.edges.find(mix(node, w), |e| e[0] == node && e[1] == w).map(|e| e[2])
    }

    /// The alias ending at a trie node, with its flags.
    #[inline]
    pub fn terminal(&self, node: u32) -> Option<(u32, u8)> {
        match self.terminal.get(node as usize) {
            Some(&a) if a != NONE => Some((a, self.alias_flags.get(a as usize).copied().unwrap_or(0))),
            _ => None,
        }
    }

    /// The candidates of an alias (nodes and priors), best first.
    pub fn candidates(&self, alias: u32) -> (&[u32], &[f32]) {
        let o = &self.cand_offsets;
        match (o.get(alias as usize), o.get(alias as usize + 1)) {
            (Some(&a), Some(&b)) if a <= b => (&self.cand_nodes[a as usize..b as usize], &self.cand_priors[a as usize..b as usize]),
            _ => (&[], &[]),
        }
    }

    /// The normalised key of an alias given the word ids of a match.
    pub fn key_of(&self, ids: &[u32]) -> String {
        ids.iter().map(|&w| self.word_text(w)).collect::<Vec<_>>().join(" ")
    }
}
