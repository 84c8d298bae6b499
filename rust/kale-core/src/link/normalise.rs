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
    /// `hash_bytes` of the key, worked out as the key is written.
    pub hash: u64,
    /// Whether a match may start here / end here (false inside an NFKC-split word).
    pub starts_word: bool,
    pub ends_word: bool,
}

impl Token {
    /// The length of its key in bytes.
    #[inline]
    pub fn key_len(&self) -> usize {
        (self.key_end - self.key_start) as usize
    }
}

/// Reusable buffers: one per thread, so scanning allocates nothing per text.
///
/// Each key starts at a multiple of 8 in `keys` and is followed by zeros up to the
/// next multiple of 8, so a key can be read as
/// whole little-endian `u64` chunks (`chunk`): the scan hashes and compares words
/// a word at a time instead of a byte at a time.
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
            Some(t) => self
                .keys
                .get(t.key_start as usize..t.key_end as usize)
                .unwrap_or(&[]),
            None => &[],
        }
    }
    pub fn key_str(&self, i: usize) -> &str {
        std::str::from_utf8(self.key(i)).unwrap_or("")
    }
    /// Bytes `8k..8k + 8` of token `t`'s key as a little-endian u64, zero past the
    /// key's end.
    #[inline]
    pub fn chunk(&self, t: &Token, k: usize) -> u64 {
        let at = t.key_start as usize + 8 * k;
        if at >= t.key_end as usize {
            return 0;
        }
        match self.keys.get(at..at + 8) {
            Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => 0,
        }
    }
    /// Appends a key and its token, the key padded with zeros to a multiple of 8.
    fn push(&mut self, key: &[u8], start: usize, end: usize, starts_word: bool, ends_word: bool) {
        let key_start = self.keys.len() as u32;
        self.keys.extend_from_slice(key);
        let key_end = self.keys.len() as u32;
        self.keys.resize((key_end as usize + 7) & !7, 0);
        self.tokens.push(Token {
            start,
            end,
            key_start,
            key_end,
            hash: hash_bytes(key),
            starts_word,
            ends_word,
        });
    }
    /// `push` for an ASCII word of `len` < 8 bytes, the first `len` bytes of `x`.
    #[inline]
    fn push_short(&mut self, x: u64, len: usize, start: usize, end: usize) {
        let c = (x | rep(0x20)) & ((1u64 << (8 * len)) - 1);
        let key_start = self.keys.len() as u32;
        self.keys.extend_from_slice(&c.to_le_bytes());
        let hash = hash_end(hash_chunk(hash_start(len), c));
        self.tokens.push(Token {
            start,
            end,
            key_start,
            key_end: key_start + len as u32,
            hash,
            starts_word: true,
            ends_word: true,
        });
    }
    /// `push` for the ASCII word `bytes[from..to]` (letters and digits only): eight
    /// bytes at a time, lower-cased and hashed on the way, no byte loop.
    #[inline]
    fn push_ascii(&mut self, bytes: &[u8], from: usize, to: usize, start: usize, end: usize) {
        let key_start = self.keys.len() as u32;
        let mut h = hash_start(to - from);
        let mut at = from;
        while at < to {
            let c = lower_chunk(bytes, at, to);
            self.keys.extend_from_slice(&c.to_le_bytes());
            h = hash_chunk(h, c);
            at += 8;
        }
        let key_end = key_start + (to - from) as u32;
        self.tokens.push(Token {
            start,
            end,
            key_start,
            key_end,
            hash: hash_end(h),
            starts_word: true,
            ends_word: true,
        });
    }
}

/// Bytes `from..min(from + 8, to)` of an ASCII word as a little-endian u64,
/// lower-cased and zero-padded. Only letters and digits: setting bit 5 lower-cases
/// a letter and leaves a digit as it is.
#[inline]
fn lower_chunk(bytes: &[u8], from: usize, to: usize) -> u64 {
    let n = (to - from).min(8);
    let raw = match bytes.get(from..from + 8) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => {
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&bytes[from..from + n]);
            u64::from_le_bytes(b)
        }
    };
    let mask = if n == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    (raw | 0x2020_2020_2020_2020) & mask
}

/// The hash of a word's key that the vocabulary is keyed by: the key read as
/// little-endian u64 chunks, the last one zero-padded, each folded in with one
/// 64×64→128-bit multiply. The tokenizer hashes text words from the chunks it
/// writes, never a byte at a time; both give the same value.
#[inline]
pub fn hash_bytes(s: &[u8]) -> u64 {
    let mut h = hash_start(s.len());
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        h = hash_chunk(
            h,
            u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        );
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = hash_chunk(h, u64::from_le_bytes(b));
    }
    hash_end(h)
}

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = a as u128 * b as u128;
    r as u64 ^ (r >> 64) as u64
}

/// `hash_bytes` in steps: start with the key's length, fold in each chunk, end.
#[inline]
fn hash_start(len: usize) -> u64 {
    (len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
#[inline]
fn hash_chunk(h: u64, chunk: u64) -> u64 {
    fold_mul(h ^ chunk, 0xD6E8_FEB8_6659_FD93)
}
#[inline]
fn hash_end(h: u64) -> u64 {
    fold_mul(h ^ 0xA076_1D64_78BD_642F, 0xE703_7ED1_A0B4_28DB)
}

/// Eight text bytes from `i` as a little-endian u64, zeros (separators) past the end.
#[inline]
fn load8(bytes: &[u8], i: usize) -> u64 {
    match bytes.get(i..i + 8) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => {
            let mut b = [0u8; 8];
            let rest = bytes.get(i..).unwrap_or(&[]);
            b[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(b)
        }
    }
}

const fn rep(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}
const HIGH_BITS: u64 = rep(0x80);

/// Bit 7 of each byte of `x` set where that byte is an ASCII letter or digit (SWAR:
/// eight range checks in a few word operations; on 7-bit values none of the sums
/// below carries into the next byte).
#[inline]
fn alnum_bits(x: u64) -> u64 {
    let v = x & rep(0x7F);
    let at_least = |v: u64, lo: u8| (v + rep(0x80 - lo)) & HIGH_BITS;
    let at_most = |v: u64, hi: u8| !(v + rep(0x7F - hi)) & HIGH_BITS;
    let l = v | rep(0x20);
    ((at_least(v, b'0') & at_most(v, b'9')) | (at_least(l, b'a') & at_most(l, b'z'))) & !x
}

/// The offset of the first byte of `bits` (from `alnum_bits`) with bit 7 set.
#[inline]
fn first(bits: u64) -> usize {
    (bits.trailing_zeros() / 8) as usize
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
///
/// Code points are not counted one by one: a byte offset minus the UTF-8
/// continuation bytes before it (`extra`, counted only at non-ASCII characters) is
/// the code-point offset, so ASCII runs cost one table lookup per byte.
pub fn tokenize(text: &str, out: &mut Tokens) {
    out.keys.clear();
    out.tokens.clear();
    out.keys.reserve(text.len() + 8);
    let bytes = text.as_bytes();
    let n = bytes.len();
    let (mut i, mut extra) = (0usize, 0usize);
    while i < n {
        // Separators, eight bytes at a time, up to a letter, a digit or a non-ASCII byte.
        let x = load8(bytes, i);
        let stop = alnum_bits(x) | (x & HIGH_BITS);
        if stop == 0 {
            i += 8;
            continue;
        }
        let k = first(stop);
        i += k;
        if i >= n {
            break;
        }
        if (x >> (8 * k)) & 0x80 != 0 {
            let (c, len) = char_at(text, i);
            if !is_word(c) {
                i += len;
                extra += len - 1;
                continue;
            }
        } else {
            // Most words: ASCII and ending within the eight bytes from their start,
            // whose chunk is then already in hand.
            let x = load8(bytes, i);
            let end = !alnum_bits(x) & HIGH_BITS;
            if end != 0 {
                let len = first(end);
                if (x >> (8 * len)) & 0x80 == 0 {
                    let start_cp = i - extra;
                    i += len;
                    out.push_short(x, len, start_cp, i - extra);
                    continue;
                }
            }
        }
        // A word starts here: find its end, noting whether it is all ASCII. Past
        // the text's end `load8` reads zeros, which end a word, so `i <= n` holds.
        let (start_byte, start_cp) = (i, i - extra);
        let mut ascii = true;
        loop {
            let x = load8(bytes, i);
            let end = !alnum_bits(x) & HIGH_BITS;
            if end == 0 {
                i += 8;
                continue;
            }
            let k = first(end);
            i += k;
            if (x >> (8 * k)) & 0x80 != 0 {
                let (c, len) = char_at(text, i);
                if continues_word(c) {
                    ascii = false;
                    i += len;
                    extra += len - 1;
                    continue;
                }
            }
            break;
        }
        let end_cp = i - extra;
        if ascii {
            out.push_ascii(bytes, start_byte, i, start_cp, end_cp);
        } else {
            push_unicode_word(&text[start_byte..i], start_cp, end_cp, out);
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
    for c in word
        .chars()
        .filter(|&c| !is_transparent(c))
        .nfkc()
        .flat_map(char::to_lowercase)
    {
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
        out.push(&slow.as_bytes()[from..to], start, end, false, false)
    };
    for (at, c) in slow.char_indices() {
        let inside = if piece_start.is_some() {
            continues_word(c)
        } else {
            is_word(c)
        };
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
    (0..t.len())
        .map(|i| t.key_str(i))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(usize, usize, String)> {
        let mut t = Tokens::default();
        tokenize(s, &mut t);
        (0..t.len())
            .map(|i| (t.tokens[i].start, t.tokens[i].end, t.key_str(i).to_string()))
            .collect()
    }

    #[test]
    fn ascii_words_and_spans() {
        assert_eq!(
            toks("The Sun's  colour!"),
            vec![
                (0, 3, "the".into()),
                (4, 7, "sun".into()),
                (8, 9, "s".into()),
                (11, 17, "colour".into())
            ]
        );
        assert_eq!(toks(""), vec![]);
        assert_eq!(toks("  ,,\u{0}\n"), vec![]);
    }

    #[test]
    fn unicode_words_keep_code_point_spans() {
        // é as e + combining acute: one word of 5 code points, key NFKC-composed.
        assert_eq!(
            toks("🙂 Cafe\u{301} x"),
            vec![(2, 7, "café".into()), (8, 9, "x".into())]
        );
        assert_eq!(
            toks("STRASSE Straße"),
            vec![(0, 7, "strasse".into()), (8, 14, "strasse".into())]
        );
        assert_eq!(toks("ﬁre"), vec![(0, 3, "fire".into())]);
        assert_eq!(
            toks("שלום world"),
            vec![(0, 4, "שלום".into()), (5, 10, "world".into())]
        );
        assert_eq!(
            toks("in\u{AD}formation"),
            vec![(0, 12, "information".into())]
        );
    }

    /// The tokenizer before the byte-class fast path (one code point counted per
    /// character): the fast one must give exactly its tokens.
    fn reference(text: &str) -> Vec<(usize, usize, String, bool, bool)> {
        let mut out = Vec::new();
        let mut t = Tokens::default();
        let mut cp = 0usize;
        let mut chars = text.char_indices().peekable();
        while let Some(&(i, c)) = chars.peek() {
            if !is_word(c) {
                chars.next();
                cp += 1;
                continue;
            }
            let start_cp = cp;
            let mut end = i;
            while let Some(&(j, c)) = chars.peek() {
                if !continues_word(c) {
                    break;
                }
                end = j + c.len_utf8();
                cp += 1;
                chars.next();
            }
            let word = &text[i..end];
            if word.is_ascii() {
                out.push((start_cp, cp, word.to_ascii_lowercase(), true, true));
            } else {
                t.keys.clear();
                t.tokens.clear();
                push_unicode_word(word, start_cp, cp, &mut t);
                out.extend((0..t.len()).map(|k| {
                    (
                        t.tokens[k].start,
                        t.tokens[k].end,
                        t.key_str(k).to_string(),
                        t.tokens[k].starts_word,
                        t.tokens[k].ends_word,
                    )
                }));
            }
        }
        out
    }

    fn fast(text: &str) -> Vec<(usize, usize, String, bool, bool)> {
        let mut t = Tokens::default();
        tokenize(text, &mut t);
        (0..t.len())
            .map(|k| {
                (
                    t.tokens[k].start,
                    t.tokens[k].end,
                    t.key_str(k).to_string(),
                    t.tokens[k].starts_word,
                    t.tokens[k].ends_word,
                )
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn fast_path_matches_reference(text in "[a-zA-Z0-9 ,.'\\-½é\u{301}\u{AD}\u{200D}🙂ﬁßΣς\u{0}\n\u{7f}שלום中文Ⅻ]{0,60}") {
            proptest::prop_assert_eq!(fast(&text), reference(&text));
        }

        #[test]
        fn chunks_are_the_key_zero_padded(text in "[a-zA-Z0-9 ½é\u{301}ﬁßΣ中]{0,60}") {
            let mut t = Tokens::default();
            tokenize(&text, &mut t);
            for (k, tok) in t.tokens.iter().enumerate() {
                let key = t.key(k);
                for c in 0..4 {
                    let mut want = [0u8; 8];
                    let part = key.get(8 * c..).unwrap_or(&[]);
                    let m = part.len().min(8);
                    want[..m].copy_from_slice(&part[..m]);
                    proptest::prop_assert_eq!(t.chunk(tok, c), u64::from_le_bytes(want));
                }
                proptest::prop_assert_eq!(tok.hash, hash_bytes(key));
            }
        }
    }

    #[test]
    fn alnum_bits_is_is_ascii_alphanumeric() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let x = (b as u64) << (8 * at) | rep(b'-') & !(0xFF << (8 * at));
                let want = if b.is_ascii_alphanumeric() {
                    0x80u64 << (8 * at)
                } else {
                    0
                };
                assert_eq!(alnum_bits(x), want, "byte {b:#x} at {at}");
                let y = (b as u64) << (8 * at) | rep(b'a') & !(0xFF << (8 * at));
                assert_eq!(
                    alnum_bits(y) & (0xFF << (8 * at)),
                    want,
                    "byte {b:#x} at {at} among letters"
                );
            }
        }
    }

    #[test]
    fn fast_path_matches_reference_on_hard_cases() {
        for text in [
            "",
            "a",
            "é",
            "\u{301}a\u{301}",
            "½",
            "a½b",
            "x\u{AD}",
            "\u{AD}x",
            "AbC123 DEF",
            "ǅ ǈ Ⅻ ﬃ",
            "😀a😀",
            "a\u{FEFF}b",
            "\u{E0100}a",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijklmnopqrstuvwxyz0123456789 x",
            "        y",
            "ÿÿÿÿÿÿÿÿa",
            "aaaaaaaé",
            "aaaaaaaaé b",
        ] {
            assert_eq!(fast(text), reference(text), "{text:?}");
        }
    }

    #[test]
    fn nfkc_split_words_only_match_whole() {
        let mut t = Tokens::default();
        tokenize("a½b", &mut t);
        let flags: Vec<_> = t
            .tokens
            .iter()
            .map(|t| (t.start, t.end, t.starts_word, t.ends_word))
            .collect();
        assert_eq!(t.len(), 2);
        assert_eq!(flags, vec![(0, 3, true, false), (0, 3, false, true)]);
        assert_eq!(normalise("a½b"), "a1 2b");
    }
}
