//! English inflection, morphy-style: "apples" → "apple", "geese" → "goose".
//!
//! A word is reduced only when it is not itself a known word (a one-word alias of
//! the index) nor a stop-word; then WordNet's exception lists are consulted, then
//! WordNet's regular suffix rules, the first result that is a known word winning.
//! The same function runs on the words of every alias at build time and on every
//! word of a text at scan time, so the two always agree.

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::{IoContext, Result};

/// WordNet's detachment rules (morphy): nouns, then verbs, then adjectives.
pub const RULES: [(&str, &str); 19] = [
    ("s", ""),
    ("ses", "s"),
    ("ves", "f"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
    ("es", "e"),
    ("es", ""),
    ("ed", "e"),
    ("ed", ""),
    ("ing", "e"),
    ("ing", ""),
    ("er", ""),
    ("est", ""),
    ("er", "e"),
    ("est", "e"),
];

/// English function words: never an alias on their own, never inflected.
pub const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "ain",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "couldn",
    "d",
    "did",
    "didn",
    "do",
    "does",
    "doesn",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "either",
    "else",
    "etc",
    "ever",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadn",
    "has",
    "hasn",
    "have",
    "haven",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "into",
    "is",
    "isn",
    "it",
    "its",
    "itself",
    "just",
    "least",
    "less",
    "let",
    "ll",
    "m",
    "may",
    "me",
    "might",
    "mightn",
    "more",
    "most",
    "much",
    "must",
    "mustn",
    "my",
    "myself",
    "need",
    "needn",
    "neither",
    "no",
    "nor",
    "not",
    "now",
    "o",
    "of",
    "off",
    "often",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "others",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "quite",
    "rather",
    "re",
    "s",
    "same",
    "shall",
    "shan",
    "she",
    "should",
    "shouldn",
    "since",
    "so",
    "some",
    "such",
    "t",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "to",
    "too",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "ve",
    "very",
    "was",
    "wasn",
    "we",
    "were",
    "weren",
    "what",
    "whatever",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "won",
    "would",
    "wouldn",
    "y",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// WordNet's exception lists: inflected form → base form (the first one listed).
#[derive(Default, Debug, Clone)]
pub struct Exceptions {
    map: FxHashMap<Box<str>, Box<str>>,
}

impl Exceptions {
    /// Reads `noun.exc`, `verb.exc`, `adj.exc` and `adv.exc` from a WordNet database
    /// directory (missing files are skipped). Earlier files win on conflicts.
    pub fn load(dir: &Path) -> Result<Exceptions> {
        let mut map = FxHashMap::default();
        for part in ["noun", "verb", "adj", "adv"] {
            let path = dir.join(format!("{part}.exc"));
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read(&path).at(&path)?;
            for line in String::from_utf8_lossy(&text).lines() {
                let mut words = line.split_whitespace();
                if let (Some(form), Some(base)) = (words.next(), words.next()) {
                    let (form, base) = (form.replace('_', " "), base.replace('_', " "));
                    // Only one-word forms can be applied word by word.
                    if !form.contains(' ') && !base.contains(' ') && form != base {
                        map.entry(form.to_lowercase().into_boxed_str())
                            .or_insert_with(|| base.to_lowercase().into_boxed_str());
                    }
                }
            }
        }
        Ok(Exceptions { map })
    }

    pub fn get(&self, form: &str) -> Option<&str> {
        self.map.get(form).map(|b| &**b)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The lemma of `word` given which words are known (`known`) and which are stop-words;
/// returns None when the word stays as it is. `buf` is scratch space.
pub fn lemma<'a>(
    word: &str,
    exceptions: &'a Exceptions,
    known: impl Fn(&str) -> bool,
    buf: &'a mut String,
) -> Option<&'a str> {
    if let Some(base) = exceptions.get(word) {
        return Some(base);
    }
    let b = word.as_bytes();
    // Only ASCII suffixes are stripped, so cutting bytes keeps valid UTF-8.
    for (suffix, ending) in RULES {
        if b.len() > suffix.len() && word.ends_with(suffix) {
            let stem = &word[..word.len() - suffix.len()];
            if stem.len() + ending.len() < 2 {
                continue;
            }
            buf.clear();
            buf.push_str(stem);
            buf.push_str(ending);
            if known(buf) {
                return Some(buf.as_str());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_and_exceptional_forms() {
        let known =
            |w: &str| ["apple", "box", "wolf", "fly", "run", "bake", "goose", "big"].contains(&w);
        let mut exc = Exceptions::default();
        exc.map.insert("geese".into(), "goose".into());
        let mut buf = String::new();
        let mut l = |w: &str| lemma(w, &exc, known, &mut buf).map(str::to_string);
        assert_eq!(l("apples").as_deref(), Some("apple"));
        assert_eq!(l("boxes").as_deref(), Some("box"));
        assert_eq!(l("wolves").as_deref(), Some("wolf"));
        assert_eq!(l("flies").as_deref(), Some("fly"));
        assert_eq!(l("baked").as_deref(), Some("bake"));
        assert_eq!(l("geese").as_deref(), Some("goose"));
        assert_eq!(l("bigger").as_deref(), None); // doubling is in adj.exc, not the rules
        assert_eq!(l("zzz").as_deref(), None);
    }

    #[test]
    fn reads_wordnet_exception_lists() {
        let dir = Path::new("/usr/share/wordnet");
        if !dir.join("noun.exc").is_file() {
            return;
        }
        let exc = Exceptions::load(dir).expect("readable");
        assert_eq!(exc.get("geese"), Some("goose"));
        assert_eq!(exc.get("mice"), Some("mouse"));
        assert!(exc.len() > 5000);
    }
}
