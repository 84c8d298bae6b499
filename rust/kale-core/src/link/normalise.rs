//! Text → normalised word tokens, each with its span in the original text.
//!
//! Spans count code points (what Python's `str` indexes), not bytes. Aliases and
//! texts go through this one function, so whatever it does to one it does to the
//! other and a match never depends on how a word was spelled in Unicode.
//!
//! - A word is a run of alphanumeric characters; combining marks continue a word
//!   (so `e` + U+0301 stays one word), and a few invisible format characters (soft
//!   hyphen, zero-width joiners, variation selectors, direction marks) continue it
//!   without becoming part of its key. Everything else — spaces, punctuation,
//!   emoji, controls — separates words, so `well-being` and `well being` match.
//! - ASCII words are lower-cased in place (the fast path most text takes). Other
//!   words go through NFKC, lower-casing and a little extra folding (ß → ss,
//!   final sigma → σ); when NFKC turns one word into several (`½` → `1⁄2`), the
//!   pieces share the original word's span and only the first may start a match
//!   and only the last may end one, so nothing ever matches inside a word.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// One normalised word: its key is `Tokens::key(i)`, its span `start..end` in code
/// points of the original text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    key_start: u32,
    key_end: u32,
    /// Whether a match may start here / end here (false inside an NFKC-split word).
    pub starts_word: bool,
    pub ends_word: bool,
}

/// Reusable buffers: one per thread, so scanning allocates nothing per text.
#[derive(Default, Debug)]
pub struct Tokens {
    keys: Vec<u8>,
    pub tokens: Vec<Token>,
    slow: String,
}

impl Tokens {
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
    /// The normalised key of token `i` (valid UTF-8: only whole characters are written).
    pub fn key(&self, i: usize) -> &[u8] {
        match self.tokens.get(i) {
            Some(t) => self.keys.get(t.key_start as usize..t.key_end as usize).unwrap_or(&[]),
            None => &[],
        }
    }
    pub fn key_str(&self, i: usize) -> &str {
        std::str::from_utf8(self.key(i)).unwrap_or("")
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// Invisible characters that may sit inside a word and are dropped from its key.
fn is_transparent(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

fn continues_word(c: char) -> bool {
    is_word(c) || is_combining_mark(c) || is_transparent(c)
}

/// Splits `text` into normalised tokens (clearing `out` first).
pub fn tokenize(text: &str, out: &mut Tokens) {
    out.keys.clear();
    out.tokens.clear();
    let bytes = text.as_bytes();
    let (mut i, mut cp) = (0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            // ASCII: a separator unless alphanumeric (no char decoding).
            if !b.is_ascii_alphanumeric() {
                i += 1;
                cp += 1;
                continue;
            }
        } else {
            let (c, len) = char_at(text, i);
            if !is_word(c) {
                i += len;
                cp += 1;
                continue;
            }
        }
        // A word starts here: find its end, noting whether it is all ASCII.
        let (start_byte, start_cp) = (i, cp);
        let mut ascii = true;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                if !b.is_ascii_alphanumeric() {
                    break;
                }
                i += 1;
            } else {
                let (c, len) = char_at(text, i);
                if !continues_word(c) {
                    break;
                }
                ascii = false;
                i += len;
            }
            cp += 1;
        }
        let word = &text[start_byte..i];
        if ascii {
            let key_start = out.keys.len() as u32;
            out.keys.extend(word.bytes().map(|b| b.to_ascii_lowercase()));
            out.tokens.push(Token { start: start_cp, end: cp, key_start, key_end: out.keys.len() as u32, starts_word: true, ends_word: true });
        } else {
            push_unicode_word(word, start_cp, cp, out);
        }
    }
}

fn char_at(text: &str, i: usize) -> (char, usize) {
    match text.get(i..).and_then(|s| s.chars().next()) {
        Some(c) => (c, c.len_utf8()),
        None => ('\u{FFFD}', 1), // unreachable for a valid &str: i is always a char boundary
    }
}

fn push_unicode_word(word: &str, start: usize, end: usize, out: &mut Tokens) {
    let mut slow = std::mem::take(&mut out.slow);
    slow.clear();
    for c in word.chars().filter(|&c| !is_transparent(c)).nfkc().flat_map(char::to_lowercase) {
        match c {
            'ß' | 'ẞ' => slow.push_str("ss"),
            'ς' => slow.push('σ'),
            c => slow.push(c),
        }
    }
    // NFKC may have split the word (`½` → `1⁄2`) or produced a leading mark.
    let first = out.tokens.len();
    let mut piece_start: Option<usize> = None;
    let push = |from: usize, to: usize, out: &mut Tokens| {
        let key_start = out.keys.len() as u32;
        out.keys.extend_from_slice(&slow.as_bytes()[from..to]);
        out.tokens.push(Token { start, end, key_start, key_end: out.keys.len() as u32, starts_word: false, ends_word: false });
    };
    for (at, c) in slow.char_indices() {
        let inside = if piece_start.is_some() { continues_word(c) } else { is_word(c) };
        match (inside, piece_start) {
            (true, None) => piece_start = Some(at),
            (false, Some(s)) => {
                push(s, at, out);
                piece_start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = piece_start {
        push(s, slow.len(), out);
    }
    let last = out.tokens.len();
    if last > first {
        out.tokens[first].starts_word = true;
        out.tokens[last - 1].ends_word = true;
    }
    out.slow = slow;
}

/// The normalised key of a whole name: its tokens joined by single spaces.
pub fn normalise(name: &str) -> String {
    let mut t = Tokens::default();
    tokenize(name, &mut t);
    (0..t.len()).map(|i| t.key_str(i)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(usize, usize, String)> {
        let mut t = Tokens::default();
        tokenize(s, &mut t);
        (0..t.len()).map(|i| (t.tokens[i].start, t.tokens[i].end, t.key_str(i).to_string())).collect()
    }

    #[test]
    fn ascii_words_and_spans() {
        assert_eq!(toks("The Sun's  colour!"), vec![(0, 3, "the".into()), (4, 7, "sun".into()), (8, 9, "s".into()), (11, 17, "colour".into())]);
        assert_eq!(toks(""), vec![]);
        assert_eq!(toks("  ,,\u{0}\n"), vec![]);
    }

    #[test]
    fn unicode_words_keep_code_point_spans() {
        // é as e + combining acute: one word of 5 code points, key NFKC-composed.
        assert_eq!(toks("🙂 Cafe\u{301} x"), vec![(2, 7, "café".into()), (8, 9, "x".into())]);
        assert_eq!(toks("STRASSE Straße"), vec![(0, 7, "strasse".into()), (8, 14, "strasse".into())]);
        assert_eq!(toks("ﬁre"), vec![(0, 3, "fire".into())]);
        assert_eq!(toks("שלום world"), vec![(0, 4, "שלום".into()), (5, 10, "world".into())]);
        assert_eq!(toks("in\u{AD}formation"), vec![(0, 12, "information".into())]);
    }

    #[test]
    fn nfkc_split_words_only_match_whole() {
        let mut t = Tokens::default();
        tokenize("a½b", &mut t);
        let flags: Vec<_> = t.tokens.iter().map(|t| (t.start, t.end, t.starts_word, t.ends_word)).collect();
        assert_eq!(t.len(), 2);
        assert_eq!(flags, vec![(0, 3, true, false), (0, 3, false, true)]);
        assert_eq!(normalise("a½b"), "a1 2b");
    }
}
