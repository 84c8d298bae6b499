//! Scanning: the longest non-overlapping alias matches on word boundaries, left to
//! right, with their spans in code points of the original text.

use super::index::{prefetch, word_bit, AliasIndex, FILTER, MATCHABLE, NONE};
use super::normalise::{tokenize, Token, Tokens};

/// One alias occurrence: `start..end` in code points of the original text, the
/// alias, and the range of words it covers in the scratch token list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pub start: usize,
    pub end: usize,
    pub alias: u32,
    pub first_word: usize,
    pub words: usize,
}

/// Per-thread scratch space, reused across texts.
#[derive(Default, Debug)]
pub struct Scratch {
    pub tokens: Tokens,
    pub ids: Vec<u32>,
    buf: String,
    cache: WordCache,
    /// Per word: the last word and the alias of the longest match starting there
    /// (NONE for none).
    best: Vec<(u32, u32)>,
    /// The walks under way.
    walks: Vec<Walk>,
    /// The words the cache missed, by token index.
    misses: Vec<u32>,
}

/// A walk down the trie from word `start`, at `node` and about to take word `at`.
#[derive(Clone, Copy, Debug, Default)]
struct Walk {
    start: u32,
    at: u32,
    node: u32,
}

/// How many words ahead node entries are prefetched.
const AHEAD: usize = 32;

/// Longest word key the cache holds, in u64 chunks (longer words are looked up
/// every time).
const CACHE_CHUNKS: usize = 3;
/// The cache starts at 2^10 sets of two slots (64 KB, cheap to clear for a scratch
/// that links one short text) and grows to 2^15 (2 MB) once it has seen 2^16
/// words: the benchmark text's vocabulary outgrows 512 KB, and with its sets
/// requested ahead of use a cache larger than L2 still pays (WordNet aliases ~15%
/// faster, DBpedia ~60%, against 512 KB).
const CACHE_BITS: (u32, u32) = (10, 15);
const CACHE_GROW_AFTER: usize = 1 << 16;

/// A cached word: its key as zero-padded u64 chunks (compared a chunk at a time,
/// no byte loop), its length (0: empty) and its id. 32 bytes.
#[derive(Clone, Copy, Debug)]
struct Slot {
    key: [u64; CACHE_CHUNKS],
    len: u32,
    id: u32,
}

const EMPTY: Slot = Slot {
    key: [0; CACHE_CHUNKS],
    len: 0,
    id: NONE,
};

/// Two slots in one cache line, the most recently used first.
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
struct Set([Slot; 2]);

/// A two-way set-associative cache of recent text word → word id lookups
/// (inflection included): text words are Zipfian, so most are answered from the
/// cache instead of the vocabulary's hash table and the inflection rules; two ways
/// in one cache line (no extra memory access) miss a fifth less often than a
/// direct-mapped cache of the same size on the benchmark text. It belongs to one index at a time
/// (`owner`, the index's unique id) and is emptied on a change.
#[derive(Default, Debug)]
struct WordCache {
    sets: Vec<Set>,
    /// 64 - log2(sets): a hash's top bits pick its set.
    shift: u32,
    owner: u64,
    /// Words looked up so far.
    seen: usize,
}

impl WordCache {
    /// Readies the cache for a text of `words` words: emptied if it held another
    /// index's words, grown once it has seen enough words.
    fn ready(&mut self, index: &AliasIndex, words: usize) {
        self.seen = self.seen.saturating_add(words);
        let bits = if self.seen > CACHE_GROW_AFTER {
            CACHE_BITS.1
        } else {
            CACHE_BITS.0
        };
        if self.owner != index.uid || self.sets.len() != 1 << bits {
            self.sets.clear();
            self.sets.resize(1 << bits, Set([EMPTY; 2]));
            self.shift = 64 - bits;
            self.owner = index.uid;
        }
    }

    /// The set a hash maps to.
    #[inline]
    fn set_of(&mut self, hash: u64) -> Option<&mut [Slot; 2]> {
        self.sets
            .get_mut((hash >> self.shift) as usize)
            .map(|s| &mut s.0)
    }

    #[inline]
    fn prefetch(&self, hash: u64) {
        if let Some(s) = self.sets.get((hash >> self.shift) as usize) {
            prefetch(s);
        }
    }

    /// The cached id of token `t`, if cached (words too long to cache never are).
    #[inline]
    fn get(&mut self, toks: &Tokens, t: &Token) -> Option<u32> {
        let len = t.key_len();
        if len > 8 * CACHE_CHUNKS {
            return None;
        }
        let set = self.set_of(t.hash)?;
        // Most words fit one chunk: compare the others only for longer ones.
        let first = toks.chunk(t, 0);
        let hit = |s: &Slot| {
            s.len as usize == len
                && s.key[0] == first
                && (len <= 8 || (s.key[1] == toks.chunk(t, 1) && s.key[2] == toks.chunk(t, 2)))
        };
        if hit(&set[0]) {
            return Some(set[0].id);
        }
        if hit(&set[1]) {
            set.swap(0, 1);
            return Some(set[0].id);
        }
        None
    }

    /// Caches the id of token `t` as the most recent of its set.
    #[inline]
    fn put(&mut self, toks: &Tokens, t: &Token, id: u32) {
        let len = t.key_len();
        if len > 8 * CACHE_CHUNKS || len == 0 {
            return;
        }
        let key = [toks.chunk(t, 0), toks.chunk(t, 1), toks.chunk(t, 2)];
        if let Some(set) = self.set_of(t.hash) {
            // The same word twice in one text misses twice: keep one copy.
            if set[0].len as usize != len || set[0].key != key {
                set[1] = set[0];
                set[0] = Slot {
                    key,
                    len: len as u32,
                    id,
                };
            }
        }
    }
}

impl AliasIndex {
    /// Finds the alias matches of `text` into `out` (cleared first). With `whole`,
    /// a text that is itself an alias — even one too short or made of stop-words to
    /// match inside other text — is returned as that one match.
    pub fn scan(&self, text: &str, whole: bool, s: &mut Scratch, out: &mut Vec<Match>) {
        out.clear();
        tokenize(text, &mut s.tokens);
        self.word_ids(s);
        let (toks, ids) = (&s.tokens.tokens, &s.ids);
        let n = ids.len();
        if whole {
            if let Some(m) = self.whole_match(toks, ids) {
                out.push(m);
                return;
            }
        }
        // Every position's longest match, as independent walks advanced one word
        // per pass over all of them: in a large index each step waits on main
        // memory (an edge, then the child's entry), and one walk at a time would wait
        // for each in turn; a pass requests all of its walks' memory before reading
        // any of it back. Then the greedy left-to-right choice.
        if n >= NONE as usize {
            // Word indexes below are u32: a text of 4G words takes the plain path.
            return self.scan_reference(text, whole, s, out);
        }
        let Scratch { best, walks, .. } = s;
        best.clear();
        best.resize(n, (NONE, 0));
        walks.clear();
        // Root entries, each requested a few words ahead; the first edge of every
        // walk its filter lets through is requested at once.
        for i in 0..n {
            if let Some(&w) = ids.get(i + AHEAD) {
                if w != NONE {
                    self.prefetch_node(w + 1);
                }
            }
            if ids[i] == NONE || !toks[i].starts_word {
                continue;
            }
            let node = ids[i] + 1;
            let entry = self.node_entry(node);
            self.advance(entry, node, i as u32, i as u32, ids, toks, best, walks);
        }
        while !walks.is_empty() {
            walks.retain_mut(|w| match self.step(w.node, ids[w.at as usize]) {
                Some(child) => {
                    self.prefetch_node(child);
                    w.node = child;
                    true
                }
                None => false,
            });
            let mut kept = 0;
            for k in 0..walks.len() {
                let Walk { start, at, node } = walks[k];
                if self.advance(
                    self.node_entry(node),
                    node,
                    start,
                    at,
                    ids,
                    toks,
                    best,
                    walks,
                ) {
                    walks[kept] = Walk {
                        start,
                        at: at + 1,
                        node,
                    };
                    kept += 1;
                }
            }
            walks.truncate(kept);
        }
        let mut i = 0;
        while i < n {
            match best[i] {
                (NONE, _) => i += 1,
                (last, alias) => {
                    let last = last as usize;
                    out.push(Match {
                        start: toks[i].start,
                        end: toks[last].end,
                        alias,
                        first_word: i,
                        words: last + 1 - i,
                    });
                    i = last + 1;
                }
            }
        }
    }

    /// A walk from word `start` has reached `node` (whose entry is `entry`) at word
    /// `at`: notes the alias ending there, if it may end a match, and says whether
    /// the walk goes on — only where the node's filter lets the next word through,
    /// since nothing that could match lies behind the others. A walk from the root
    /// that goes on is added to `walks` (the others are kept by the caller); either
    /// way the edge it takes next is requested.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn advance(
        &self,
        entry: u64,
        node: u32,
        start: u32,
        at: u32,
        ids: &[u32],
        toks: &[Token],
        best: &mut [(u32, u32)],
        walks: &mut Vec<Walk>,
    ) -> bool {
        if entry & MATCHABLE != 0 && toks[at as usize].ends_word {
            best[start as usize] = (at, entry as u32);
        }
        match ids.get(at as usize + 1) {
            Some(&w) if w != NONE && entry & word_bit(w) != 0 => {
                self.prefetch_edge(node, w);
                if start == at {
                    walks.push(Walk {
                        start,
                        at: at + 1,
                        node,
                    });
                }
                true
            }
            _ => false,
        }
    }

    /// The whole text as one match, when its words are exactly an alias.
    fn whole_match(&self, toks: &[Token], ids: &[u32]) -> Option<Match> {
        let n = ids.len();
        if n == 0 {
            return None;
        }
        let (alias, _) = self.walk(ids).and_then(|node| self.terminal(node))?;
        Some(Match {
            start: toks[0].start,
            end: toks[n - 1].end,
            alias,
            first_word: 0,
            words: n,
        })
    }

    /// `scan` one walk at a time, with uncached word lookups: the plain version of
    /// the same matching, which `scan` must agree with (tests, `link_prof CHECK=1`).
    #[doc(hidden)]
    pub fn scan_reference(&self, text: &str, whole: bool, s: &mut Scratch, out: &mut Vec<Match>) {
        out.clear();
        tokenize(text, &mut s.tokens);
        s.ids.clear();
        for i in 0..s.tokens.len() {
            let id = self.word_id(s.tokens.key(i), &mut s.buf);
            s.ids.push(id);
        }
        let (toks, ids) = (&s.tokens.tokens, &s.ids);
        let n = ids.len();
        if whole {
            if let Some(m) = self.whole_match(toks, ids) {
                out.push(m);
                return;
            }
        }
        let mut i = 0;
        while i < n {
            let root = if ids[i] != NONE && toks[i].starts_word {
                self.node_entry(ids[i] + 1)
            } else {
                0
            };
            if root & (MATCHABLE | FILTER) == 0 {
                i += 1;
                continue;
            }
            let mut node = ids[i] + 1;
            let mut best: Option<(usize, u32)> = None;
            let mut j = i;
            loop {
                let entry = self.node_entry(node);
                if entry & MATCHABLE != 0 && toks[j].ends_word {
                    best = Some((j, entry as u32));
                }
                j += 1;
                let Some(&w) = ids.get(j) else { break };
                if w == NONE || entry & word_bit(w) == 0 {
                    break;
                }
                match self.step(node, w) {
                    Some(next) => node = next,
                    None => break,
                }
            }
            match best {
                Some((last, alias)) => {
                    out.push(Match {
                        start: toks[i].start,
                        end: toks[last].end,
                        alias,
                        first_word: i,
                        words: last + 1 - i,
                    });
                    i = last + 1;
                }
                None => i += 1,
            }
        }
    }

    /// The word ids of the tokens into `s.ids`, in two passes so that the memory
    /// waits overlap: first the cache (its set requested a few words ahead), noting
    /// the misses and requesting their vocabulary slots; then the misses, whose
    /// slots have mostly arrived.
    fn word_ids(&self, s: &mut Scratch) {
        let Scratch {
            tokens,
            ids,
            buf,
            cache,
            misses,
            ..
        } = s;
        let toks = &tokens.tokens;
        ids.clear();
        misses.clear();
        cache.ready(self, toks.len());
        for (i, t) in toks.iter().enumerate() {
            if let Some(next) = toks.get(i + AHEAD) {
                cache.prefetch(next.hash);
            }
            match cache.get(tokens, t) {
                Some(id) => ids.push(id),
                None => {
                    self.prefetch_word(t.hash);
                    ids.push(NONE);
                    misses.push(i as u32);
                }
            }
        }
        for &i in misses.iter() {
            let i = i as usize;
            let id = self.word_id_hashed(tokens.key(i), toks[i].hash, buf);
            cache.put(tokens, &toks[i], id);
            ids[i] = id;
        }
    }

    /// The trie node a whole word sequence leads to.
    fn walk(&self, ids: &[u32]) -> Option<u32> {
        ids.iter().try_fold(0u32, |node, &w| self.step(node, w))
    }

    /// The normalised key of a match (its words after inflection).
    pub fn match_key(&self, m: &Match, s: &Scratch) -> String {
        self.key_of(
            s.ids
                .get(m.first_word..m.first_word + m.words)
                .unwrap_or(&[]),
        )
    }
}
