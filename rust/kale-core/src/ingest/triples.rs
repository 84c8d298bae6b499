//! Delimited triples: `head, relation, tail` per line (TSV by default, CSV with
//! quoting for `.csv` files), and the optional name files beside them.

use std::path::{Path, PathBuf};

use super::builder::{Builder, NameKind};
use super::input;
use crate::error::{KaleError, Result};

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct TriplesSource {
    pub triples: Vec<PathBuf>,
    /// `id, label` per line.
    #[serde(default)]
    pub labels: Vec<PathBuf>,
    /// `id, alias[, alias ...]` per line.
    #[serde(default)]
    pub aliases: Vec<PathBuf>,
    /// `id, description` per line.
    #[serde(default)]
    pub descriptions: Vec<PathBuf>,
    /// Relation labels: `id, label` per line, or a JSON object `{id: label}` or
    /// `{id: {"label": ...}}` (CoDEx's `relations.json`).
    #[serde(default)]
    pub relation_labels: Vec<PathBuf>,
    /// Skip the first line of every file.
    #[serde(default)]
    pub header: bool,
}

impl TriplesSource {
    pub fn all_files(&self) -> Vec<&PathBuf> {
        self.triples
            .iter()
            .chain(&self.labels)
            .chain(&self.aliases)
            .chain(&self.descriptions)
            .chain(&self.relation_labels)
            .collect()
    }
}

fn is_csv(path: &Path) -> bool {
    let name = path.to_string_lossy().to_lowercase();
    name.ends_with(".csv") || name.ends_with(".csv.gz") || name.ends_with(".csv.bz2")
}

/// Calls `f(line, fields)` for every record of a delimited file.
fn for_each_record(
    b: &mut Builder,
    path: &Path,
    header: bool,
    mut f: impl FnMut(&mut Builder, u64, &[&str]) -> Result<()>,
) -> Result<()> {
    let reader = input::open(path, &b.bytes_read)?;
    let csv_file = is_csv(path);
    // TSV comment lines are skipped here, so they are counted; in CSV the reader's own
    // handling stays, since a quote inside a comment would otherwise open a field.
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(if csv_file { b',' } else { b'\t' })
        .quoting(csv_file)
        .has_headers(header)
        .flexible(true)
        .comment(csv_file.then_some(b'#'))
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                match e.kind() {
                    csv::ErrorKind::Io(_) => {
                        return Err(KaleError::Parse {
                            file: path.to_path_buf(),
                            line,
                            message: format!("cannot read: {e}"),
                        })
                    }
                    _ => {
                        b.bad_line(path, line, e.to_string())?;
                        continue;
                    }
                }
            }
        }
        b.tick()?;
        let line = record.position().map(|p| p.line()).unwrap_or(line);
        if !csv_file && record.get(0).is_some_and(|f| f.starts_with(b"#")) {
            b.skip("comment line (#)");
            continue;
        }
        // A quoted field holding a line break: in these files, an unterminated quote
        // that ran on through the lines after it, each of them lost.
        if record
            .iter()
            .any(|f| f.contains(&b'\n') || f.contains(&b'\r'))
        {
            let next = rdr.position().line();
            let lines = next.saturating_sub(line).max(1);
            b.bad_lines_from(
                path,
                line,
                lines,
                format!(
                    "a quoted field runs over {lines} lines, to line {}: an unterminated quote?",
                    line + lines - 1
                ),
            )?;
            continue;
        }
        let mut fields: Vec<&str> = Vec::with_capacity(4);
        let mut utf8_error = None;
        for (i, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(s) => fields.push(s.trim()),
                Err(_) => {
                    utf8_error = Some(i + 1);
                    break;
                }
            }
        }
        if let Some(column) = utf8_error {
            b.bad_line(path, line, format!("column {column} is not UTF-8"))?;
            continue;
        }
        f(b, line, &fields)?;
    }
}

/// Checks the column count, that no column is empty, and that the first `ids`
/// columns can be ids; a line that fails is a bad line.
#[allow(clippy::too_many_arguments)]
fn nonempty_fields(
    b: &mut Builder,
    path: &Path,
    line: u64,
    fields: &[&str],
    what: &str,
    min: usize,
    max: usize,
    ids: usize,
) -> Result<bool> {
    if fields.len() < min || fields.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        b.bad_line(
            path,
            line,
            format!(
                "expected {expected} columns ({what}), found {}",
                fields.len()
            ),
        )?;
        return Ok(false);
    }
    if let Some(i) = fields.iter().position(|f| f.is_empty()) {
        b.bad_line(path, line, format!("column {} is empty ({what})", i + 1))?;
        return Ok(false);
    }
    if let Some(problem) = fields.iter().take(ids).find_map(|f| Builder::id_problem(f)) {
        b.bad_line(path, line, problem)?;
        return Ok(false);
    }
    Ok(true)
}

pub fn read(b: &mut Builder, src: &TriplesSource) -> Result<()> {
    for path in &src.triples {
        for_each_record(b, path, src.header, |b, line, f| {
            if nonempty_fields(b, path, line, f, "head, relation, tail", 3, 3, 3)? {
                b.edge(f[0], f[1], f[2])?;
            }
            Ok(())
        })?;
    }
    let name_files = [
        (&src.labels, NameKind::Label, "id, label"),
        (&src.descriptions, NameKind::Description, "id, description"),
    ];
    for (paths, kind, what) in name_files {
        for path in paths {
            for_each_record(b, path, src.header, |b, line, f| {
                if nonempty_fields(b, path, line, f, what, 2, 2, 1)? {
                    b.name(f[0], kind, 0, f[1])?;
                }
                Ok(())
            })?;
        }
    }
    for path in &src.aliases {
        for_each_record(b, path, src.header, |b, line, f| {
            if nonempty_fields(b, path, line, f, "id, alias, ...", 2, usize::MAX, 1)? {
                for alias in &f[1..] {
                    b.name(f[0], NameKind::Alias, 0, alias)?;
                }
            }
            Ok(())
        })?;
    }
    for path in &src.relation_labels {
        if path.extension().is_some_and(|e| e == "json") {
            read_relation_labels_json(b, path)?;
        } else {
            for_each_record(b, path, src.header, |b, line, f| {
                if nonempty_fields(b, path, line, f, "relation id, label", 2, 2, 1)? {
                    b.relation_label(f[0], 0, f[1])?;
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn read_relation_labels_json(b: &mut Builder, path: &Path) -> Result<()> {
    let text = std::fs::read(path).map_err(|e| KaleError::io(path, e))?;
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| KaleError::Parse {
        file: path.to_path_buf(),
        line: e.line() as u64,
        message: format!("invalid JSON: {e}"),
    })?;
    let Some(object) = value.as_object() else {
        return Err(KaleError::Parse {
            file: path.to_path_buf(),
            line: 1,
            message: "expected a JSON object {relation id: label}".into(),
        });
    };
    for (id, v) in object {
        let label = v
            .as_str()
            .or_else(|| v.get("label").and_then(|l| l.as_str()));
        match label {
            Some(label) => b.relation_label(id, 0, label)?,
            None => b.bad_line(
                path,
                1,
                format!("relation {id:?}: expected a string or an object with a \"label\""),
            )?,
        }
    }
    Ok(())
}
