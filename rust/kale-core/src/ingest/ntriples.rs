//! Wikidata's truthy N-Triples dump (`latest-truthy.nt[.gz|.bz2]`).
//!
//! Item -> item statements (`wdt:P*` with an item object) become edges; labels,
//! aliases and descriptions in the chosen languages become names; a property's own
//! labels name the relation. Everything else is skipped and counted by reason.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::builder::{Builder, NameKind};
use super::input;
use crate::error::Result;

const ENTITY: &str = "http://www.wikidata.org/entity/";
const DIRECT: &str = "http://www.wikidata.org/prop/direct/";
const RDFS_LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";
const SKOS_ALT_LABEL: &str = "http://www.w3.org/2004/02/skos/core#altLabel";
const SCHEMA_NAME: &str = "http://schema.org/name";
const SCHEMA_DESCRIPTION: &str = "http://schema.org/description";

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NTriplesSource {
    pub files: Vec<PathBuf>,
    /// Languages whose names are kept, best first: the first present gives the label.
    pub languages: Vec<String>,
}

pub fn default_languages() -> Vec<String> {
    vec!["en".to_string(), "mul".to_string()]
}

#[derive(Debug, PartialEq)]
pub enum Term<'a> {
    Iri(&'a str),
    Blank(&'a str),
    Literal {
        value: Cow<'a, str>,
        lang: Option<&'a str>,
        datatype: Option<&'a str>,
    },
}

/// Parses one N-Triples line; `Ok(None)` for blank lines and comments.
pub fn parse_line(line: &str) -> std::result::Result<Option<[Term<'_>; 3]>, String> {
    let mut rest = line.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        return Ok(None);
    }
    let subject = term(&mut rest, "subject")?;
    if matches!(subject, Term::Literal { .. }) {
        return Err("the subject is a literal".into());
    }
    let predicate = term(&mut rest, "predicate")?;
    if !matches!(predicate, Term::Iri(_)) {
        return Err("the predicate is not an IRI".into());
    }
    let object = term(&mut rest, "object")?;
    let rest = rest.trim_start();
    let Some(after) = rest.strip_prefix('.') else {
        return Err("missing the final '.'".into());
    };
    let after = after.trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return Err(format!("unexpected text after '.': {:?}", truncate(after)));
    }
    Ok(Some([subject, predicate, object]))
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn term<'a>(rest: &mut &'a str, what: &str) -> std::result::Result<Term<'a>, String> {
    let s = rest.trim_start();
    if let Some(body) = s.strip_prefix('<') {
        let end = body
            .find('>')
            .ok_or_else(|| format!("the {what} IRI has no closing '>'"))?;
        let iri = &body[..end];
        if iri.contains([' ', '<', '"']) {
            return Err(format!("the {what} IRI contains a space, '<' or '\"'"));
        }
        *rest = &body[end + 1..];
        return Ok(Term::Iri(iri));
    }
    if let Some(body) = s.strip_prefix("_:") {
        let end = body.find(char::is_whitespace).unwrap_or(body.len());
        if end == 0 {
            return Err(format!("the {what} blank node has no label"));
        }
        *rest = &body[end..];
        return Ok(Term::Blank(&body[..end]));
    }
    if let Some(body) = s.strip_prefix('"') {
        let (value, after) = literal_body(body).map_err(|e| format!("the {what} literal {e}"))?;
        let mut tail = after;
        let mut lang = None;
        let mut datatype = None;
        if let Some(t) = tail.strip_prefix('@') {
            let end = t
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(t.len());
            if end == 0 {
                return Err(format!("the {what} literal has an empty language tag"));
            }
            lang = Some(&t[..end]);
            tail = &t[end..];
        } else if let Some(t) = tail.strip_prefix("^^<") {
            let end = t
                .find('>')
                .ok_or_else(|| format!("the {what} datatype IRI has no closing '>'"))?;
            datatype = Some(&t[..end]);
            tail = &t[end + 1..];
        }
        *rest = tail;
        return Ok(Term::Literal {
            value,
            lang,
            datatype,
        });
    }
    if s.is_empty() {
        return Err(format!("the line ends before the {what}"));
    }
    Err(format!("cannot read the {what} at {:?}", truncate(s)))
}

/// The text of a literal up to its closing quote, unescaped, and what follows it.
fn literal_body(body: &str) -> std::result::Result<(Cow<'_, str>, &str), String> {
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut owned: Option<String> = None;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let value = match owned {
                    Some(mut s) => {
                        s.push_str(&body[copied..i]);
                        Cow::Owned(s)
                    }
                    None => Cow::Borrowed(&body[..i]),
                };
                return Ok((value, &body[i + 1..]));
            }
            b'\\' => {
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&body[copied..i]);
                let esc = *bytes.get(i + 1).ok_or("ends inside an escape")?;
                let (c, width) = match esc {
                    b't' => ('\t', 2),
                    b'b' => ('\u{8}', 2),
                    b'n' => ('\n', 2),
                    b'r' => ('\r', 2),
                    b'f' => ('\u{c}', 2),
                    b'"' => ('"', 2),
                    b'\'' => ('\'', 2),
                    b'\\' => ('\\', 2),
                    b'u' | b'U' => {
                        let digits = if esc == b'u' { 4 } else { 8 };
                        let hex = body
                            .get(i + 2..i + 2 + digits)
                            .ok_or("has a short \\u escape")?;
                        // from_str_radix alone would take a sign: \u+041 is not an escape
                        let code = u32::from_str_radix(hex, 16)
                            .ok()
                            .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                            .ok_or_else(|| format!("has a bad escape \\{}{hex}", esc as char))?;
                        let c = char::from_u32(code).ok_or_else(|| {
                            format!("escapes U+{code:X}, which is not a character")
                        })?;
                        (c, 2 + digits)
                    }
                    other => return Err(format!("has an unknown escape \\{}", other as char)),
                };
                s.push(c);
                i += width;
                copied = i;
            }
            _ => i += 1,
        }
    }
    Err("has no closing quote".into())
}

fn wikidata_id<'a>(iri: &'a str, prefix: &str, kind: u8) -> Option<&'a str> {
    let id = iri.strip_prefix(prefix)?;
    let digits = id.strip_prefix(kind as char)?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

pub fn read(b: &mut Builder, src: &NTriplesSource) -> Result<()> {
    for path in &src.files {
        read_file(b, path, &src.languages)?;
    }
    Ok(())
}

fn read_file(b: &mut Builder, path: &Path, languages: &[String]) -> Result<()> {
    let mut reader = input::open(path, &b.bytes_read)?;
    input::for_each_line(path, &mut *reader, |number, line| {
        b.tick()?;
        let line = match line {
            Ok(line) => line,
            Err(reason) => return b.bad_line(path, number, reason),
        };
        // a byte-order mark before the first line, as the triples reader accepts it
        let line = if number == 1 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        match parse_line(line) {
            Ok(Some(triple)) => statement(b, triple, languages),
            Ok(None) => Ok(()),
            Err(reason) => b.bad_line(path, number, reason),
        }
    })
}

fn statement(b: &mut Builder, [s, p, o]: [Term; 3], languages: &[String]) -> Result<()> {
    let Term::Iri(p) = p else {
        b.skip("predicate that is not an IRI");
        return Ok(());
    };
    let Term::Iri(s) = s else {
        b.skip("blank-node subject");
        return Ok(());
    };
    let item = wikidata_id(s, ENTITY, b'Q');
    if let Some(property) = wikidata_id(p, DIRECT, b'P') {
        let Some(item) = item else {
            b.skip("statement about a non-item subject");
            return Ok(());
        };
        return match o {
            Term::Iri(o) => match wikidata_id(o, ENTITY, b'Q') {
                Some(target) => b.edge(item, property, target),
                None => {
                    b.skip("statement with a non-item value");
                    Ok(())
                }
            },
            Term::Literal { .. } => {
                b.skip("statement with a literal value");
                Ok(())
            }
            Term::Blank(_) => {
                b.skip("statement with a blank-node value");
                Ok(())
            }
        };
    }
    let kind = match p {
        RDFS_LABEL | SCHEMA_NAME => NameKind::Label,
        SKOS_ALT_LABEL => NameKind::Alias,
        SCHEMA_DESCRIPTION => NameKind::Description,
        _ => {
            b.skip("other predicate");
            return Ok(());
        }
    };
    let Term::Literal { value, lang, .. } = o else {
        b.skip("name that is not a literal");
        return Ok(());
    };
    let Some(rank) = lang.and_then(|l| languages.iter().position(|x| x.eq_ignore_ascii_case(l)))
    else {
        b.skip("name in another language");
        return Ok(());
    };
    let rank = rank.min(u8::MAX as usize) as u8;
    if let Some(item) = item {
        return b.name(item, kind, rank, &value);
    }
    match wikidata_id(s, ENTITY, b'P') {
        Some(property) if kind == NameKind::Label => b.relation_label(property, rank, &value),
        _ => {
            b.skip("name of a non-item subject");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wikidata_lines() {
        let t = parse_line("<http://www.wikidata.org/entity/Q42> <http://www.wikidata.org/prop/direct/P31> <http://www.wikidata.org/entity/Q5> .").unwrap().unwrap();
        assert_eq!(t[2], Term::Iri("http://www.wikidata.org/entity/Q5"));
        let t = parse_line(r#"<http://www.wikidata.org/entity/Q42> <http://www.w3.org/2000/01/rdf-schema#label> "Douglas \"D\" Adams\u00E9"@en-gb ."#).unwrap().unwrap();
        assert_eq!(
            t[2],
            Term::Literal {
                value: Cow::Owned("Douglas \"D\" Adamsé".into()),
                lang: Some("en-gb"),
                datatype: None
            }
        );
        let t = parse_line(
            r#"_:b1 <http://x/p> "5"^^<http://www.w3.org/2001/XMLSchema#integer> . # c"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t[0], Term::Blank("b1"));
        assert!(parse_line("   # only a comment").unwrap().is_none());
        assert!(parse_line("").unwrap().is_none());
        for bad in [
            "<a> <b> <c>",
            "<a> <b> \"x",
            "<a> \"b\" <c> .",
            "<a> <b> <c> . junk",
            "<a <b> <c> .",
            r#"<a> <b> "\q" ."#,
            r#"<a> <b> "\uD800" ."#,
            r#"<a> <b> "\u+041" ."#,
            r#"<a> <b> "\U+0000041" ."#,
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wikidata_ids() {
        assert_eq!(
            wikidata_id("http://www.wikidata.org/entity/Q42", ENTITY, b'Q'),
            Some("Q42")
        );
        assert_eq!(
            wikidata_id("http://www.wikidata.org/entity/L42", ENTITY, b'Q'),
            None
        );
        assert_eq!(
            wikidata_id("http://www.wikidata.org/entity/Q", ENTITY, b'Q'),
            None
        );
        assert_eq!(
            wikidata_id("http://www.wikidata.org/entity/Q4x", ENTITY, b'Q'),
            None
        );
    }
}
