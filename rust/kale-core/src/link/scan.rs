//! Scanning: the longest non-overlapping alias matches on word boundaries, left to
//! right, with their spans in code points of the original text.

use super::index::{AliasIndex, NONE, WHOLE_ONLY};
use super::normalise::{tokenize, Tokens};

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
}

impl AliasIndex {
    /// Finds the alias matches of `text` into `out` (cleared first). With `whole`,
    /// a text that is itself an alias — even one too short or made of stop-words to
    /// match inside other text — is returned as that one match.
    pub fn scan(&self, text: &str, whole: bool, s: &mut Scratch, out: &mut Vec<Match>) {
        out.clear();
        tokenize(text, &mut s.tokens);
        s.ids.clear();
        for i in 0..s.tokens.len() {
            let id = self.word_id(s.tokens.key(i), &mut s.buf);
            s.ids.push(id);
        }
        let (toks, ids) = (&s.tokens.tokens, &s.ids);
        let n = ids.len();
        if whole && n > 0 {
            if let Some((alias, _)) = self.walk(ids).and_then(|node| self.terminal(node)) {
                out.push(Match { start: toks[0].start, end: toks[n - 1].end, alias, first_word: 0, words: n });
                return;
            }
        }
        let mut i = 0;
        while i < n {
            if ids[i] == NONE || !toks[i].starts_word {
                i += 1;
                continue;
            }
            let mut node = ids[i] + 1;
            let mut best: Option<(usize, u32)> = None;
            let mut j = i;
            loop {
                if let Some((alias, flags)) = self.terminal(node) {
                    if flags & WHOLE_ONLY == 0 && toks[j].ends_word {
                        best = Some((j, alias));
                    }
                }
                j += 1;
                match ids.get(j).and_then(|&w| self.step(node, w)) {
                    Some(next) => node = next,
                    None => break,
                }
            }
            match best {
                Some((last, alias)) => {
                    out.push(Match { start: toks[i].start, end: toks[last].end, alias, first_word: i, words: last + 1 - i });
                    i = last + 1;
                }
                None => i += 1,
            }
        }
    }

    /// The trie node a whole word sequence leads to.
    fn walk(&self, ids: &[u32]) -> Option<u32> {
        ids.iter().try_fold(0u32, |node, &w| self.step(node, w))
    }

    /// The normalised key of a match (its words after inflection).
    pub fn match_key(&self, m: &Match, s: &Scratch) -> String {
        self.key_of(s.ids.get(m.first_word..m.first_word + m.words).unwrap_or(&[]))
    }
}
