//! WordNet 3.0's database files (`data.{noun,verb,adj,adv}` and `index.*`, as Debian's
//! wordnet-base installs them in /usr/share/wordnet).
//!
//! Synsets become nodes with ids like `02084071-n` (offset-pos, as the Open
//! Multilingual Wordnet names them); the first lemma is the label, the other lemmas
//! and the NLTK-style sense name (`dog.n.01`) are aliases, the gloss is the
//! description, and every pointer is an edge named by its meaning (`hypernym`).

use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::builder::{Builder, NameKind};
use super::input;
use crate::error::{KaleError, Result};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WordNetSource {
    pub dir: PathBuf,
}

pub const DEFAULT_DIR: &str = "/usr/share/wordnet";
const PARTS: [(&str, char); 4] = [("noun", 'n'), ("verb", 'v'), ("adj", 'a'), ("adv", 'r')];

/// WordNet's pointer symbols (wninput(5WN)); `\` means pertainym for adjectives and
/// "derived from adjective" for adverbs.
fn relation_name(symbol: &str, pos: char) -> Option<&'static str> {
    Some(match symbol {
        "!" => "antonym",
        "@" => "hypernym",
        "@i" => "instance hypernym",
        "~" => "hyponym",
        "~i" => "instance hyponym",
        "#m" => "member holonym",
        "#s" => "substance holonym",
        "#p" => "part holonym",
        "%m" => "member meronym",
        "%s" => "substance meronym",
        "%p" => "part meronym",
        "=" => "attribute",
        "+" => "derivationally related form",
        ";c" => "domain of synset (topic)",
        "-c" => "member of domain (topic)",
        ";r" => "domain of synset (region)",
        "-r" => "member of domain (region)",
        ";u" => "domain of synset (usage)",
        "-u" => "member of domain (usage)",
        "*" => "entailment",
        ">" => "cause",
        "^" => "also see",
        "$" => "verb group",
        "&" => "similar to",
        "<" => "participle of verb",
        "\\" if pos == 'r' => "derived from adjective",
        "\\" => "pertainym",
        _ => return None,
    })
}

fn node_id(offset: &str, pos: char) -> String {
    let pos = if pos == 's' { 'a' } else { pos };
    format!("{offset}-{pos}")
}

/// `long(a)` -> `long`, `a_cappella` -> `a cappella`.
fn lemma_text(word: &str) -> String {
    let word = match word.find('(') {
        Some(i) if word.ends_with(')') => &word[..i],
        _ => word,
    };
    word.replace('_', " ")
}

pub fn check_dir(dir: &Path) -> Result<()> {
    for (part, _) in PARTS {
        let path = dir.join(format!("data.{part}"));
        if !path.is_file() {
            return Err(KaleError::invalid(format!(
                "{} is missing: not a WordNet database directory (on Debian: apt-get install wordnet-base)",
                path.display()
            )));
        }
    }
    Ok(())
}

pub fn read(b: &mut Builder, src: &WordNetSource) -> Result<()> {
    check_dir(&src.dir)?;
    let defined = defined_synsets(&src.dir)?;
    for (part, pos) in PARTS {
        let senses = read_index(b, &src.dir.join(format!("index.{part}")))?;
        read_data(
            b,
            &src.dir.join(format!("data.{part}")),
            pos,
            &senses,
            &defined,
        )?;
    }
    Ok(())
}

/// The ids of every synset the data files define, read first so that a pointer to an
/// offset no file defines is a bad line, not an edge to a nameless node.
fn defined_synsets(dir: &Path) -> Result<FxHashSet<String>> {
    let mut ids = FxHashSet::default();
    let uncounted = Arc::new(AtomicU64::new(0)); // the progress bar counts the main pass
    for (part, pos) in PARTS {
        let path = dir.join(format!("data.{part}"));
        let mut reader = input::open(&path, &uncounted)?;
        input::for_each_line(&path, &mut *reader, |_, line| {
            if let Some(offset) = line.ok().and_then(|l| l.split(' ').next()) {
                if offset.len() == 8 && offset.bytes().all(|c| c.is_ascii_digit()) {
                    ids.insert(node_id(offset, pos));
                }
            }
            Ok(())
        })?;
    }
    Ok(ids)
}

/// lemma -> synset offsets in sense order, from one `index.*` file.
fn read_index(b: &mut Builder, path: &Path) -> Result<FxHashMap<String, Vec<String>>> {
    let mut senses = FxHashMap::default();
    if !path.is_file() {
        return Ok(senses); // sense names are a convenience; the graph stands without them
    }
    let mut reader = input::open(path, &b.bytes_read)?;
    input::for_each_line(path, &mut *reader, |number, line| {
        let Ok(line) = line else {
            return b.bad_line(path, number, "not UTF-8");
        };
        if line.starts_with(' ') || line.trim().is_empty() {
            return Ok(()); // the licence header
        }
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let parsed = (|| {
            let p_cnt: usize = fields.get(3)?.parse().ok()?;
            // checked: a corrupt count must not wrap around to a small index
            let first_offset = p_cnt.checked_add(4 + 2)?;
            Some(
                fields
                    .get(first_offset..)?
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>(),
            )
        })();
        match parsed {
            Some(offsets) => {
                senses.insert(fields[0].to_string(), offsets);
                Ok(())
            }
            None => b.bad_line(path, number, "cannot read this index line"),
        }
    })?;
    Ok(senses)
}

fn read_data(
    b: &mut Builder,
    path: &Path,
    file_pos: char,
    senses: &FxHashMap<String, Vec<String>>,
    defined: &FxHashSet<String>,
) -> Result<()> {
    let mut reader = input::open(path, &b.bytes_read)?;
    input::for_each_line(path, &mut *reader, |number, line| {
        b.tick()?;
        let Ok(line) = line else {
            return b.bad_line(path, number, "not UTF-8");
        };
        if line.starts_with(' ') || line.trim().is_empty() {
            return Ok(());
        }
        match synset(b, line, file_pos, senses, defined) {
            Ok(()) => Ok(()),
            Err(Bad(reason)) => b.bad_line(path, number, reason),
        }
    })
}

struct Bad(String);

impl From<KaleError> for Bad {
    fn from(e: KaleError) -> Bad {
        Bad(e.to_string())
    }
}

fn synset(
    b: &mut Builder,
    line: &str,
    file_pos: char,
    senses: &FxHashMap<String, Vec<String>>,
    defined: &FxHashSet<String>,
) -> std::result::Result<(), Bad> {
    let (data, gloss) = line.split_once(" | ").unwrap_or((line, ""));
    let f: Vec<&str> = data.split_ascii_whitespace().collect();
    let field = |i: usize, what: &str| {
        f.get(i)
            .copied()
            .ok_or_else(|| Bad(format!("the line ends before the {what}")))
    };
    let offset = field(0, "synset offset")?;
    if offset.len() != 8 || !offset.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Bad(format!("synset offset {offset:?} is not 8 digits")));
    }
    let ss_type = field(2, "synset type")?.chars().next().unwrap_or('?');
    let w_cnt = usize::from_str_radix(field(3, "word count")?, 16)
        .map_err(|_| Bad("the word count is not hexadecimal".into()))?;
    // Each word takes two fields: a count beyond the line's fields is corrupt, and
    // checking it first keeps a count like ffffffffffffffff from sizing an allocation.
    if w_cnt > f.len().saturating_sub(4) / 2 {
        return Err(Bad(format!(
            "the word count {w_cnt} is more than the line's {} fields hold",
            f.len()
        )));
    }
    let id = node_id(offset, file_pos);
    let mut lemmas = Vec::with_capacity(w_cnt);
    for i in 0..w_cnt {
        lemmas.push(lemma_text(field(4 + 2 * i, "words")?));
    }
    let p_at = 4 + 2 * w_cnt;
    let p_cnt: usize = field(p_at, "pointer count")?
        .parse()
        .map_err(|_| Bad("the pointer count is not a number".into()))?;
    // The pointers are checked before anything is added: a bad line adds nothing.
    let mut pointers = Vec::new();
    for k in 0..p_cnt {
        let at = p_at + 1 + 4 * k;
        let symbol = field(at, "pointers")?;
        let target = field(at + 1, "pointers")?;
        let pos = field(at + 2, "pointers")?.chars().next().unwrap_or('?');
        let name = relation_name(symbol, file_pos)
            .ok_or_else(|| Bad(format!("unknown pointer symbol {symbol:?}")))?;
        if !matches!(pos, 'n' | 'v' | 'a' | 's' | 'r') {
            return Err(Bad(format!("pointer {k} has part of speech {pos:?}")));
        }
        let target = node_id(target, pos);
        if !defined.contains(&target) {
            return Err(Bad(format!(
                "pointer {k} names synset {target}, which no data file defines"
            )));
        }
        pointers.push((name, target));
    }
    b.node(&id)?;
    for (i, lemma) in lemmas.iter().enumerate() {
        b.name(
            &id,
            if i == 0 {
                NameKind::Label
            } else {
                NameKind::Alias
            },
            0,
            lemma,
        )?;
    }
    if let Some(first) = f.get(4) {
        let key = first.split('(').next().unwrap_or(first).to_lowercase();
        if let Some(n) = senses
            .get(&key)
            .and_then(|offsets| offsets.iter().position(|o| o == offset))
        {
            b.name(
                &id,
                NameKind::Alias,
                1,
                &format!("{key}.{ss_type}.{:02}", n + 1),
            )?;
        }
    }
    let gloss = gloss.trim();
    if !gloss.is_empty() {
        b.name(&id, NameKind::Description, 0, gloss)?;
    }
    for (name, target) in &pointers {
        b.edge(&id, name, target)?;
    }
    Ok(())
}
