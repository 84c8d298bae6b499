use proptest::prelude::*;

use super::*;

fn index(names: &[&str]) -> AliasIndex {
    let names: Vec<Name> = names
        .iter()
        .enumerate()
        .map(|(i, t)| Name {
            text: t,
            node: i as u32,
            is_label: true,
        })
        .collect();
    let exc = ExceptionSource::Auto.load(None).unwrap_or_default();
    AliasIndex::build(&names, &|n| 100.0 - n as f32, exc, &IndexOptions::default())
}

fn spans(ix: &AliasIndex, text: &str, whole: bool) -> Vec<(usize, usize, String)> {
    let mut s = Scratch::default();
    let mut out = Vec::new();
    ix.scan(text, whole, &mut s, &mut out);
    out.iter()
        .map(|m| (m.start, m.end, ix.match_key(m, &s)))
        .collect()
}

#[test]
fn longest_leftmost_on_word_boundaries() {
    let ix = index(&["new york", "york", "new york city", "city", "sun", "apple"]);
    assert_eq!(
        spans(&ix, "New York City and york.", false),
        vec![(0, 13, "new york city".into()), (18, 22, "york".into())]
    );
    // inside words: nothing
    assert_eq!(spans(&ix, "sunflower pineapple yorkshire", false), vec![]);
    assert_eq!(
        spans(&ix, "the Sun's apples", false),
        vec![(4, 7, "sun".into()), (10, 16, "apple".into())]
    );
}

#[test]
fn stop_words_and_short_aliases_only_as_whole_texts() {
    let ix = index(&["the who", "be", "x", "white"]);
    assert_eq!(spans(&ix, "to be or the who x", false), vec![]);
    assert_eq!(spans(&ix, "Be", true), vec![(0, 2, "be".into())]);
    assert_eq!(spans(&ix, " White! ", true), vec![(1, 6, "white".into())]);
}

#[test]
fn whole_answer_wins_over_its_parts() {
    let ix = index(&["white", "light", "white light"]);
    assert_eq!(
        spans(&ix, "white light", true),
        vec![(0, 11, "white light".into())]
    );
    assert_eq!(
        spans(&ix, "bright white", true),
        vec![(7, 12, "white".into())]
    );
}

#[test]
fn candidates_ranked_by_prior() {
    let names = [
        Name {
            text: "bank",
            node: 7,
            is_label: true,
        },
        Name {
            text: "Bank",
            node: 3,
            is_label: true,
        },
        Name {
            text: "bank",
            node: 7,
            is_label: false,
        },
    ];
    let ix = AliasIndex::build(
        &names,
        &|n| n as f32,
        Exceptions::default(),
        &IndexOptions::default(),
    );
    let mut s = Scratch::default();
    let m = link_group(
        &ix,
        None,
        &[Text {
            text: "a bank",
            whole: false,
        }],
        &LinkOptions::default(),
        &mut s,
    );
    let c: Vec<u32> = m[0][0].candidates.iter().map(|c| c.node).collect();
    assert_eq!(c, vec![7, 3]);
    assert!((m[0][0].candidates[0].score - 0.7).abs() < 1e-6);
}

#[test]
fn bad_input_does_not_panic() {
    let ix = index(&["sun"]);
    let huge = "sun ".repeat(100_000);
    assert_eq!(spans(&ix, &huge, false).len(), 100_000);
    assert_eq!(spans(&ix, "", true), vec![]);
    assert_eq!(
        spans(&ix, "\u{0}\u{1}sun\u{7f}\u{FFFD}", false),
        vec![(2, 5, "sun".into())]
    );
    assert_eq!(spans(&ix, "\u{301}sun\u{301}", false), vec![]); // a leading mark is a separator; a trailing one joins the word
}

#[test]
fn sense_names_are_not_aliases() {
    assert!(is_sense_name("dog.n.01"));
    assert!(is_sense_name("a.cappella.r.01"));
    assert!(!is_sense_name("dog"));
    assert!(!is_sense_name("v1.n.0"));
}

const WORDS: [&str; 8] = [
    "red fox",
    "fox",
    "blue whale",
    "whale shark",
    "shark",
    "ice",
    "ice cream",
    "cream",
];

proptest! {
    /// Every planted alias is found at its span, whatever separators and Unicode
    /// (emoji, combining marks, RTL) sit around it.
    #[test]
    fn planted_aliases_found_at_their_spans(parts in prop::collection::vec((0usize..WORDS.len(), prop::sample::select(vec![" ", ", ", " 🙂 ", " שלום ", "\u{0}", " e\u{301} ", "\n", " — "])), 0..12)) {
        let ix = index(&["red fox", "blue whale", "ice cream"]);
        let planted = ["red fox", "blue whale", "ice cream"];
        let mut text = String::new();
        let mut want = Vec::new();
        for (w, sep) in parts {
            let alias = planted[w % 3];
            let start = text.chars().count();
            text.push_str(alias);
            want.push((start, start + alias.chars().count(), alias.to_string()));
            text.push_str(sep);
        }
        prop_assert_eq!(spans(&ix, &text, false), want);
    }

    /// Spans always lie inside the text and on word boundaries.
    #[test]
    fn matches_never_inside_words(text in "[a-z ½é\u{301}🙂ﬁ]{0,40}") {
        let ix = index(&WORDS);
        let chars: Vec<char> = text.chars().collect();
        for (start, end, _) in spans(&ix, &text, false) {
            prop_assert!(start < end && end <= chars.len());
            prop_assert!(start == 0 || !chars[start - 1].is_alphanumeric());
            prop_assert!(end == chars.len() || !chars[end].is_alphanumeric());
        }
    }
}

/// Aliases that share prefixes and overlap, so walks run several words deep, fail
/// part way and compete for the same words.
const NESTED: [&str; 12] = [
    "new york",
    "new york city",
    "york city hall",
    "city hall",
    "hall",
    "new",
    "a b c d",
    "b c",
    "c d e",
    "d",
    "the sun",
    "sun's",
];

proptest! {
    /// The scanner (cached word ids, walks advanced together) finds exactly what the
    /// plain one-walk-at-a-time scanner finds.
    #[test]
    fn scan_equals_reference(words in prop::collection::vec(prop::sample::select(vec!["new", "york", "City", "hall", "a", "b", "c", "d", "e", "the", "sun's", "Sun", "x", "½", "é", "🙂", ",", "-"]), 0..40), whole in any::<bool>()) {
        let ix = index(&NESTED);
        let text = words.join(" ");
        let (mut s, mut r) = (Scratch::default(), Scratch::default());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        ix.scan(&text, whole, &mut s, &mut a);
        ix.scan_reference(&text, whole, &mut r, &mut b);
        prop_assert_eq!(a, b);
    }
}
