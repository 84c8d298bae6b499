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

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use super::morph::{lemma, Exceptions, STOP_WORDS};
pub use super::normalise::hash_bytes;
use super::normalise::{tokenize, Tokens};

pub const NONE: u32 = u32::MAX;
const KNOWN: u8 = 1;
const STOP: u8 = 2;
/// A word seen inflected at build time: it stands for another word (`redirects`).
const REDIRECT: u8 = 4;
/// An alias matched only when it is the whole text (`whole=True`).
pub const WHOLE_ONLY: u8 = 1;
/// Node entry bits: the alias ending at the node matches inside text.
pub(crate) const MATCHABLE: u64 = 1 << 63;
/// Node entry bits: the filter of child words (see `AliasIndex::nodes`).
pub(crate) const FILTER: u64 = ((1 << 31) - 1) << 32;

/// The filter bit of a word (one of 31, above bit 32).
#[inline]
pub(crate) fn word_bit(w: u32) -> u64 {
    let slot = ((w.wrapping_mul(0x9E37_79B9) as u64) * 31) >> 32;
    1 << (32 + slot)
}

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
        IndexOptions {
            min_chars: 2,
            max_words: 16,
            stop_words: true,
            inflection: true,
            label_boost: 2.0,
        }
    }
}

/// One name to index: the text, the entity it names, and whether it is the label.
#[derive(Clone, Copy, Debug)]
pub struct Name<'a> {
    pub text: &'a str,
    pub node: u32,
    pub is_label: bool,
}

/// The vocabulary: every word of the aliases, ids in order of first sight, in one
/// byte arena, found through an open-addressing table whose 16-byte slots hold the
/// word's first 8 bytes, its length and 24 bits of its hash: a lookup reads one slot
/// (one cache line, usually), and the arena only for words longer than 8 bytes.
#[derive(Default)]
struct Vocab {
    slots: Vec<VSlot>,
    ends: Vec<u32>,
    bytes: Vec<u8>,
    flags: Vec<u8>,
}

#[derive(Clone, Copy, Debug)]
#[repr(C, align(16))]
struct VSlot {
    /// Hash bits 8..32 above, length (capped at 255) below.
    meta: u32,
    /// The word's id; NONE for an empty slot.
    id: u32,
    /// The word's first 8 bytes, zero-padded.
    head: u64,
}

const VEMPTY: VSlot = VSlot {
    meta: 0,
    id: NONE,
    head: 0,
};

#[inline]
fn head_of(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = s.len().min(8);
    b[..n].copy_from_slice(&s[..n]);
    u64::from_le_bytes(b)
}

#[inline]
fn meta_of(s: &[u8], hash: u64) -> u32 {
    (hash as u32 & !0xFF) | s.len().min(255) as u32
}

/// Where a hash starts probing in a table of `len` slots (multiply-shift, any size).
#[inline]
fn home(hash: u64, len: usize) -> usize {
    (((hash >> 32) * len as u64) >> 32) as usize
}

#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; any address is allowed and nothing is read.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            x as *const T as *const i8,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// A vector of `len` copies of `value` for a table read at random. A large one is
/// backed by 2 MB pages where Linux allows (transparent huge pages on `madvise`):
/// with 4 KB pages nearly every read of a table of hundreds of MB (DBpedia's
/// 5.9M aliases) misses the TLB too, and the page walk doubles the wait. The
/// advice is given before the pages are first written, so the kernel can back them
/// with huge pages as they fault in.
fn table<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    advise_huge_pages(&v);
    v.resize(len, value);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(v: &Vec<T>) {
    const PAGE: usize = 4096;
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes < 8 << 20 {
        return;
    }
    let start = (v.as_ptr() as usize).next_multiple_of(PAGE);
    let end = (v.as_ptr() as usize + bytes) & !(PAGE - 1);
    if end > start {
        // SAFETY: the range lies inside the vector's own allocation; MADV_HUGEPAGE
        // changes how its pages are backed, never their contents. Failure (THP off,
        // an old kernel) leaves plain pages, which is fine.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages<T>(_: &Vec<T>) {}

fn word<'a>(ends: &[u32], bytes: &'a [u8], id: u32) -> &'a [u8] {
    let i = id as usize;
    let start = if i == 0 {
        0
    } else {
        ends.get(i - 1).copied().unwrap_or(0) as usize
    };
    let end = ends.get(i).copied().unwrap_or(0) as usize;
    bytes.get(start..end).unwrap_or(&[])
}

impl Vocab {
    fn text(&self, id: u32) -> &[u8] {
        word(&self.ends, &self.bytes, id)
    }
    fn get(&self, s: &[u8]) -> Option<u32> {
        self.get_hashed(s, hash_bytes(s))
    }
    /// Whether `s` is a known word (a one-word alias).
    fn known(&self, s: &[u8]) -> bool {
        self.get(s)
            .is_some_and(|id| self.flags[id as usize] & KNOWN != 0)
    }
    /// The slot where `s` is, or the empty one where it would go.
    #[inline]
    fn find(&self, s: &[u8], hash: u64) -> usize {
        let n = self.slots.len();
        let (meta, head) = (meta_of(s, hash), head_of(s));
        let mut i = home(hash, n);
        loop {
            let slot = &self.slots[i];
            if slot.id == NONE
                || (slot.meta == meta
                    && slot.head == head
                    && (s.len() <= 8 || self.text(slot.id) == s))
            {
                return i;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }
    #[inline]
    fn get_hashed(&self, s: &[u8], hash: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let id = self.slots[self.find(s, hash)].id;
        (id != NONE).then_some(id)
    }
    fn intern(&mut self, s: &[u8]) -> u32 {
        self.intern_new(s).0
    }
    /// Resizes the table to `len` slots (more than the words held).
    fn rehash(&mut self, len: usize) {
        self.slots = table(len, VEMPTY);
        for id in 0..self.ends.len() as u32 {
            let w = word(&self.ends, &self.bytes, id);
            let h = hash_bytes(w);
            let at = self.find(w, h);
            self.slots[at] = VSlot {
                meta: meta_of(w, h),
                id,
                head: head_of(w),
            };
        }
    }
    /// Makes room for `more` words (load at most 1/2 while building).
    fn reserve(&mut self, more: usize) {
        let want = (self.ends.len() + more) * 2;
        if self.slots.len() < want {
            self.rehash(want.next_power_of_two().max(64));
        }
    }
    /// Shrinks the table to a load of about 1/2 once building is done: lookups of
    /// words that are not there (the inflection rules' guesses) probe about 2.5
    /// slots on average with linear probing, against 5 at a load of 2/3.
    fn compact(&mut self) {
        let len = (self.ends.len() * 2).max(64);
        if len < self.slots.len() {
            self.rehash(len);
        }
    }
    /// The id of `s`, added if new (then the flag is true).
    fn intern_new(&mut self, s: &[u8]) -> (u32, bool) {
        self.reserve(1);
        let h = hash_bytes(s);
        let at = self.find(s, h);
        if self.slots[at].id != NONE {
            return (self.slots[at].id, false);
        }
        let id = self.ends.len() as u32;
        self.bytes.extend_from_slice(s);
        self.ends.push(self.bytes.len() as u32);
        self.flags.push(0);
        self.slots[at] = VSlot {
            meta: meta_of(s, h),
            id,
            head: head_of(s),
        };
        (id, true)
    }
    fn len(&self) -> usize {
        self.ends.len()
    }
    fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 16
            + self.ends.capacity() * 4
            + self.bytes.capacity()
            + self.flags.capacity()
    }
}

fn mix(parent: u32, word: u32) -> u64 {
    // splitmix64's finaliser: every input bit reaches the low bits hashbrown indexes by.
    let mut z = ((parent as u64) << 32 | word as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The trie's edges below the first word: (parent, word) → child, open addressing
/// with linear probing; a slot is (parent, word, child), parent NONE when empty, so
/// a probe reads one 12-byte slot, whose key is checked in place.
#[derive(Default)]
struct Edges {
    slots: Vec<[u32; 3]>,
    len: usize,
}

impl Edges {
    #[inline]
    fn find(&self, parent: u32, word: u32) -> usize {
        let n = self.slots.len();
        let mut i = home(mix(parent, word), n);
        loop {
            let e = &self.slots[i];
            if e[0] == NONE || (e[0] == parent && e[1] == word) {
                return i;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }
    #[inline]
    fn get(&self, parent: u32, word: u32) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let e = self.slots[self.find(parent, word)];
        (e[0] != NONE).then_some(e[2])
    }
    fn rehash(&mut self, len: usize) {
        let old = std::mem::replace(&mut self.slots, table(len, [NONE; 3]));
        for e in old.into_iter().filter(|e| e[0] != NONE) {
            let at = self.find(e[0], e[1]);
            self.slots[at] = e;
        }
    }
    /// The child of (parent, word), made by `new` if there is none yet.
    fn get_or_insert(&mut self, parent: u32, word: u32, new: impl FnOnce() -> u32) -> u32 {
        if (self.len + 1) * 2 > self.slots.len() {
            self.rehash(((self.len + 1) * 4).next_power_of_two());
        }
        let at = self.find(parent, word);
        if self.slots[at][0] == NONE {
            self.slots[at] = [parent, word, new()];
            self.len += 1;
        }
        self.slots[at][2]
    }
    /// Shrinks the table to a load of about 1/2 once building is done: most steps
    /// a scan tries find no edge (the node filters let many through), and a miss
    /// probes about 2.5 slots on average with linear probing, against 5 at a load
    /// of 2/3 (scans ~10–20% faster for ~8 more bytes per alias).
    fn compact(&mut self) {
        let len = (self.len * 2).max(16);
        if len < self.slots.len() {
            self.rehash(len);
        }
    }
    fn iter(&self) -> impl Iterator<Item = &[u32; 3]> {
        self.slots.iter().filter(|e| e[0] != NONE)
    }
}

/// An immutable alias index; share it between threads freely.
pub struct AliasIndex {
    vocab: Vocab,
    /// Word → the word it stands for, for the inflected forms seen at build time.
    redirects: FxHashMap<u32, u32>,
    exceptions: Exceptions,
    inflection: bool,
    /// (parent, word, child) for every trie edge below the first word.
    edges: Edges,
    /// Per trie node: the alias ending there or NONE (low 32 bits); whether that
    /// alias matches inside text, i.e. is not whole-only (bit 63); and a filter of
    /// the words that lead on to such an alias (bits 32..63: bit `word_bit(w)` is set
    /// for each child word `w` below which one ends). Scans walk on only where the
    /// filter lets the next word through, so most steps cost no hash probe.
    nodes: Vec<u64>,
    alias_flags: Vec<u8>,
    cand_offsets: Vec<u32>,
    cand_nodes: Vec<u32>,
    cand_priors: Vec<f32>,
    names_indexed: usize,
    /// Unique per index, so per-thread word caches never outlive the index they cache.
    pub(crate) uid: u64,
}

static NEXT_UID: AtomicU64 = AtomicU64::new(1);

/// Per-chunk normalisation output: the words of each name, flat.
struct Chunk {
    bytes: Vec<u8>,
    word_ends: Vec<u32>,
    /// Per name of the chunk: how many words (0 when skipped).
    counts: Vec<u32>,
}

impl Chunk {
    fn word(&self, k: usize) -> &[u8] {
        let start = if k == 0 {
            0
        } else {
            self.word_ends[k - 1] as usize
        };
        &self.bytes[start..self.word_ends[k] as usize]
    }
    /// Per name: its index in the chunk and the range of its words.
    fn names(&self) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
        let mut w = 0usize;
        self.counts.iter().enumerate().map(move |(i, &c)| {
            let r = w..w + c as usize;
            w += c as usize;
            (i, r)
        })
    }
}

fn normalise_chunk(names: &[Name<'_>], max_words: usize) -> Chunk {
    let mut t = Tokens::default();
    let mut c = Chunk {
        bytes: Vec::new(),
        word_ends: Vec::new(),
        counts: Vec::with_capacity(names.len()),
    };
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

/// Whether a text word may be reduced by inflection rules (the scan-time rule: the
/// same one applies to alias words, so both sides agree).
fn inflectable(w: &[u8]) -> bool {
    w.len() > 2
}

impl AliasIndex {
    /// Builds the index from names; `prior(node)` ranks the candidates of an alias.
    pub fn build(
        names: &[Name<'_>],
        prior: &(dyn Fn(u32) -> f32 + Sync),
        exceptions: Exceptions,
        opts: &IndexOptions,
    ) -> AliasIndex {
        const CHUNK: usize = 1 << 14;
        let chunks: Vec<Chunk> = names
            .par_chunks(CHUNK)
            .map(|c| normalise_chunk(c, opts.max_words.max(1)))
            .collect();

        // Stop-words and known words (the one-word aliases: inflected words reduce
        // only to these) come first, flagged.
        let mut vocab = Vocab::default();
        for s in STOP_WORDS {
            let id = vocab.intern(s.as_bytes());
            vocab.flags[id as usize] |= STOP;
        }
        for chunk in &chunks {
            for (_, r) in chunk.names().filter(|(_, r)| r.len() == 1) {
                let id = vocab.intern(chunk.word(r.start));
                vocab.flags[id as usize] |= KNOWN;
            }
        }

        // Every word of every name, resolved as a text word would be (inflection
        // undone), each distinct word once: `stands[id]` is the word a text word `id`
        // stands for (itself, or its lemma), NONE while not yet worked out.
        let mut stands: Vec<u32> = (0..vocab.len() as u32).collect();
        let mut buf = String::new();
        let mut seq_ids: Vec<u32> = Vec::new();
        let mut seqs: Vec<(u32, u32, u32, u8)> = Vec::new(); // (first id, len, name index, flags)
        let mut base = 0usize;
        for chunk in &chunks {
            for (i, r) in chunk.names() {
                if r.is_empty() {
                    continue;
                }
                let first = seq_ids.len() as u32;
                let (mut chars, mut all_stop) = (0usize, true);
                for k in r.clone() {
                    let w = chunk.word(k);
                    chars += if w.is_ascii() {
                        w.len()
                    } else {
                        std::str::from_utf8(w).unwrap_or("").chars().count()
                    };
                    let (id, _) = vocab.intern_new(w);
                    all_stop &= vocab.flags[id as usize] & STOP != 0;
                    if id as usize >= stands.len() {
                        stands.resize(id as usize + 1, NONE);
                    }
                    let mut to = stands[id as usize];
                    if to == NONE {
                        to = id;
                        if opts.inflection && inflectable(w) {
                            let text = std::str::from_utf8(w).unwrap_or("");
                            let known = |x: &str| vocab.known(x.as_bytes());
                            if let Some(l) = lemma(text, &exceptions, known, &mut buf) {
                                to = vocab.intern(l.as_bytes());
                            }
                        }
                        stands[id as usize] = to;
                    }
                    seq_ids.push(to);
                }
                // "the true" (truth) must not match in "the true colour": aliases led
                // by an article, like stop-word-only ones, match only whole texts.
                let article = r.len() > 1 && matches!(chunk.word(r.start), b"the" | b"a" | b"an");
                let whole_only =
                    chars < opts.min_chars || (opts.stop_words && (all_stop || article));
                seqs.push((
                    first,
                    r.len() as u32,
                    (base + i) as u32,
                    if whole_only { WHOLE_ONLY } else { 0 },
                ));
            }
            base += chunk.counts.len();
        }
        drop(chunks);
        // Lemmas that never occurred as words themselves: worked out against the final
        // vocabulary, exactly as a scan would.
        stands.resize(vocab.len(), NONE);
        let mut redirects = FxHashMap::default();
        for (id, &stand) in stands.iter().enumerate() {
            let mut to = stand;
            if to == NONE {
                to = id as u32;
                let w = vocab.text(id as u32);
                if opts.inflection && inflectable(w) {
                    let text = std::str::from_utf8(w).unwrap_or("");
                    let known = |x: &str| vocab.known(x.as_bytes());
                    if let Some(l) = lemma(text, &exceptions, known, &mut buf) {
                        to = vocab.get(l.as_bytes()).unwrap_or(to);
                    }
                }
            }
            if to != id as u32 {
                vocab.flags[id] |= REDIRECT;
                redirects.insert(id as u32, to);
            }
        }
        drop(stands);
        vocab.compact();

        // The trie: first words are nodes 1..=vocab, deeper nodes follow.
        let mut terminal = vec![NONE; vocab.len() + 1];
        let mut edges = Edges::default();
        let mut alias_flags: Vec<u8> = Vec::new();
        let mut cands: Vec<(u32, u32, f32, bool)> = Vec::with_capacity(seqs.len());
        for &(first, len, name_index, flags) in &seqs {
            let ids = &seq_ids[first as usize..(first + len) as usize];
            let mut node = ids[0] + 1;
            for &w in &ids[1..] {
                node = edges.get_or_insert(node, w, || {
                    terminal.push(NONE);
                    terminal.len() as u32 - 1
                });
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

        // Node entries. A child always has a larger id than its parent, so one pass
        // from the last node up sees a node's filter complete before its parent's.
        let mut parent = vec![[NONE; 2]; terminal.len()];
        for e in edges.iter() {
            parent[e[2] as usize] = [e[0], e[1]];
        }
        for (w, p) in parent.iter_mut().enumerate().take(vocab.len() + 1).skip(1) {
            *p = [0, w as u32 - 1];
        }
        let mut nodes: Vec<u64> = table(terminal.len(), 0);
        for (entry, &a) in nodes.iter_mut().zip(&terminal) {
            *entry = a as u64
                | if a != NONE && alias_flags[a as usize] & WHOLE_ONLY == 0 {
                    MATCHABLE
                } else {
                    0
                };
        }
        drop(terminal);
        for node in (1..nodes.len()).rev() {
            let [p, w] = parent[node];
            if p != NONE && nodes[node] & (MATCHABLE | FILTER) != 0 {
                nodes[p as usize] |= word_bit(w);
            }
        }
        drop(parent);

        // Candidates: by alias, highest prior first, labels before aliases, one per node.
        cands.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then(b.2.total_cmp(&a.2))
                .then(b.3.cmp(&a.3))
                .then(a.1.cmp(&b.1))
        });
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
        edges.compact();
        AliasIndex {
            vocab,
            redirects,
            uid: NEXT_UID.fetch_add(1, Ordering::Relaxed),
            exceptions,
            inflection: opts.inflection,
            edges,
            nodes,
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
    /// Distinct words of the aliases (after inflection).
    pub fn word_count(&self) -> usize {
        self.vocab.len() - self.redirects.len()
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
            + self.edges.slots.capacity() * 12
            + self.redirects.capacity() * 9
            + self.nodes.capacity() * 8
            + self.alias_flags.capacity()
            + self.cand_offsets.capacity() * 4
            + self.cand_nodes.capacity() * 4
            + self.cand_priors.capacity() * 4
    }

    /// The word id of a text word, after inflection; NONE when no alias uses it.
    pub fn word_id(&self, w: &[u8], buf: &mut String) -> u32 {
        self.word_id_hashed(w, hash_bytes(w), buf)
    }

    /// `word_id` given `hash_word(w)`.
    #[inline]
    pub(crate) fn word_id_hashed(&self, w: &[u8], hash: u64, buf: &mut String) -> u32 {
        if let Some(id) = self.vocab.get_hashed(w, hash) {
            // Every word of the vocabulary was resolved at build time.
            if self.vocab.flags[id as usize] & REDIRECT == 0 {
                return id;
            }
            return self.redirects.get(&id).copied().unwrap_or(id);
        }
        if self.inflection && inflectable(w) {
            let text = std::str::from_utf8(w).unwrap_or("");
            let known = |x: &str| self.vocab.known(x.as_bytes());
            if let Some(l) = lemma(text, &self.exceptions, known, buf) {
                return self.vocab.get(l.as_bytes()).unwrap_or(NONE);
            }
        }
        NONE
    }

    /// Asks the CPU to bring the vocabulary slot where a word's lookup starts into cache.
    #[inline]
    pub(crate) fn prefetch_word(&self, hash: u64) {
        let slots = &self.vocab.slots;
        if !slots.is_empty() {
            prefetch(&slots[home(hash, slots.len())]);
        }
    }

    /// Asks the CPU to bring a node's entry into cache.
    #[inline]
    pub(crate) fn prefetch_node(&self, node: u32) {
        if let Some(e) = self.nodes.get(node as usize) {
            prefetch(e);
        }
    }

    /// Asks the CPU to bring the slot where the edge (parent, word) is looked up first into cache.
    #[inline]
    pub(crate) fn prefetch_edge(&self, parent: u32, word: u32) {
        let n = self.edges.slots.len();
        if n > 0 {
            prefetch(&self.edges.slots[home(mix(parent, word), n)]);
        }
    }

    /// The packed entry of a trie node (see `nodes`); 0 for none.
    #[inline]
    pub(crate) fn node_entry(&self, node: u32) -> u64 {
        self.nodes
            .get(node as usize)
            .copied()
            .unwrap_or(NONE as u64)
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
        self.edges.get(node, w)
    }

    /// The alias ending at a trie node, with its flags.
    #[inline]
    pub fn terminal(&self, node: u32) -> Option<(u32, u8)> {
        match self.nodes.get(node as usize).map(|&e| e as u32) {
            Some(a) if a != NONE => {
                Some((a, self.alias_flags.get(a as usize).copied().unwrap_or(0)))
            }
            _ => None,
        }
    }

    /// The candidates of an alias (nodes and priors), best first.
    pub fn candidates(&self, alias: u32) -> (&[u32], &[f32]) {
        let o = &self.cand_offsets;
        match (o.get(alias as usize), o.get(alias as usize + 1)) {
            (Some(&a), Some(&b)) if a <= b => (
                &self.cand_nodes[a as usize..b as usize],
                &self.cand_priors[a as usize..b as usize],
            ),
            _ => (&[], &[]),
        }
    }

    /// The normalised key of an alias given the word ids of a match.
    pub fn key_of(&self, ids: &[u32]) -> String {
        // Bytes first, checked as UTF-8 once (each word is whole UTF-8).
        let mut key = Vec::with_capacity(ids.len() * 8);
        for (k, &w) in ids.iter().enumerate() {
            if k > 0 {
                key.push(b' ');
            }
            key.extend_from_slice(self.vocab.text(w));
        }
        String::from_utf8(key).unwrap_or_default()
    }
}
