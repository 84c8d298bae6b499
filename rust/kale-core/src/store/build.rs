//! Building a graph directory: read the source through a [`Builder`], then write
//! every array into a temporary directory that is renamed into place only when
//! complete, so no half-written graph is ever where a finished one is expected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::slice::ParallelSliceMut;

use super::extsort::{Direction, EdgeSorter};
use super::fold;
use super::format::{
    files, ArrayInfo, ArrayWriter, Manifest, StringTableWriter, FORMAT_NAME, FORMAT_VERSION,
};
use crate::error::{IoContext, KaleError, Result};
use crate::ingest::{input, Builder, NameKind, OnError, Source};

#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Bytes the build may hold in memory; half goes to the edge sorter's chunk,
    /// the rest is left for the id tables and names.
    pub memory: u64,
    pub on_error: OnError,
    pub progress: bool,
    /// Replace an existing graph at the output path.
    pub overwrite: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            memory: 2 << 30,
            on_error: OnError::Fail,
            progress: true,
            overwrite: false,
        }
    }
}

/// Removes the partial directory unless the build got to the end.
struct PartialDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for PartialDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn bar(progress: bool, len: u64, template: &str) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

pub fn build(
    source: &Source,
    out: &Path,
    opts: &BuildOptions,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<Manifest> {
    let started = Instant::now();
    if let Source::WordNet(s) = source {
        crate::ingest::wordnet::check_dir(&s.dir)?;
    }
    let inputs = source.files();
    if inputs.is_empty() {
        return Err(KaleError::invalid("no input files to build from"));
    }
    let mut total = 0;
    for path in &inputs {
        total += input::file_size(path)?;
    }
    if out.exists() && !opts.overwrite {
        return Err(KaleError::invalid(format!(
            "{} already exists; remove it or pass overwrite",
            out.display()
        )));
    }
    let name = out
        .file_name()
        .ok_or_else(|| KaleError::invalid(format!("{} is not a directory name", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).at(&parent)?;
    let mut partial = PartialDir {
        path: parent.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        )),
        keep: false,
    };
    let _ = std::fs::remove_dir_all(&partial.path);
    std::fs::create_dir(&partial.path).at(&partial.path)?;
    let sort_dir = partial.path.join("sort");
    std::fs::create_dir(&sort_dir).at(&sort_dir)?;

    let pb = bar(
        opts.progress,
        total,
        "reading  [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    );
    let mut b = Builder::new(
        EdgeSorter::new(opts.memory / 2, &sort_dir),
        opts.on_error,
        &pb,
        cancel,
    );
    source.read(&mut b)?;
    pb.finish_and_clear();

    let mut arrays = BTreeMap::new();
    let n = b.nodes.len() as u32;
    let pb = bar(
        opts.progress,
        2 * b.edges.pushed(),
        "indexing [{bar:30}] {human_pos}/{human_len} edges {per_sec} eta {eta}",
    );
    let mut duplicates = 0;
    for (dir, names) in [
        (
            Direction::Out,
            [files::OUT_OFFSETS, files::OUT_TARGETS, files::OUT_RELATIONS],
        ),
        (
            Direction::In,
            [files::IN_OFFSETS, files::IN_SOURCES, files::IN_RELATIONS],
        ),
    ] {
        duplicates = write_adjacency(
            &mut b.edges,
            dir,
            n,
            &partial.path,
            names,
            &mut arrays,
            &pb,
            cancel,
        )?;
    }
    pb.finish_and_clear();
    let _ = std::fs::remove_dir_all(&sort_dir);
    let edges = arrays[files::OUT_TARGETS].bytes / 4;

    let counts = write_strings(&b, &partial.path, &mut arrays)?;
    if cancel() {
        return Err(KaleError::Interrupted);
    }
    let build = serde_json::json!({
        "source": source,
        "on_error": opts.on_error,
        "memory_bytes": opts.memory,
        "kale_version": env!("CARGO_PKG_VERSION"),
        "seconds": started.elapsed().as_secs_f64(),
        "input_bytes": total,
        "duplicate_edges": duplicates,
        "spilled_runs": b.edges.spilled_runs(),
        "skipped": b.skipped,
        "bad_lines": b.bad_lines,
        "bad_line_examples": b.bad_examples,
    });
    let mut manifest = Manifest {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        nodes: n as u64,
        edges,
        relations: b.relations.len() as u64,
        labels: counts.labels,
        aliases: counts.aliases,
        descriptions: counts.descriptions,
        build,
        arrays,
        manifest_xxh3: String::new(),
    };
    manifest.write(&partial.path)?;
    replace_dir(&partial.path, out)?;
    partial.keep = true;
    Ok(manifest)
}

/// Moves a finished directory to `out`, replacing what is there with two renames.
fn replace_dir(done: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        let old = done.with_extension("old");
        std::fs::rename(out, &old).at(out)?;
        std::fs::rename(done, out).at(out)?;
        // what was replaced may have been a plain file: it must not stay behind as .NAME.old
        let _ = if old.is_dir() {
            std::fs::remove_dir_all(&old)
        } else {
            std::fs::remove_file(&old)
        };
    } else {
        std::fs::rename(done, out).at(out)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_adjacency(
    sorter: &mut EdgeSorter,
    dir: Direction,
    n: u32,
    path: &Path,
    [offsets_name, neighbours_name, relations_name]: [&str; 3],
    arrays: &mut BTreeMap<String, ArrayInfo>,
    pb: &ProgressBar,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<u64> {
    let mut offsets = ArrayWriter::create(path, offsets_name)?;
    let mut neighbours = ArrayWriter::create(path, neighbours_name)?;
    let mut relations = ArrayWriter::create(path, relations_name)?;
    offsets.u32(0)?;
    let (mut next, mut count) = (0u32, 0u32);
    let duplicates = sorter.for_each_sorted(dir, |e| {
        let (node, other) = if dir == Direction::Out {
            (e.src, e.dst)
        } else {
            (e.dst, e.src)
        };
        while next < node {
            offsets.u32(count)?;
            next += 1;
        }
        neighbours.u32(other)?;
        relations.u16(e.rel)?;
        count += 1;
        if count % (1 << 20) == 0 {
            pb.inc(1 << 20);
            if cancel() {
                return Err(KaleError::Interrupted);
            }
        }
        Ok(())
    })?;
    pb.inc((count % (1 << 20)) as u64);
    while next < n {
        offsets.u32(count)?;
        next += 1;
    }
    offsets.finish(arrays)?;
    neighbours.finish(arrays)?;
    relations.finish(arrays)?;
    Ok(duplicates)
}

struct NameCounts {
    labels: u64,
    aliases: u64,
    descriptions: u64,
}

/// Writes the id, name and relation string tables and the sorted lookup orders.
fn write_strings(
    b: &Builder,
    path: &Path,
    arrays: &mut BTreeMap<String, ArrayInfo>,
) -> Result<NameCounts> {
    let n = b.nodes.len();
    let mut ids = StringTableWriter::create(path, files::NODE_IDS)?;
    for id in b.nodes.iter() {
        ids.push(id)?;
    }
    ids.finish(arrays)?;
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.par_sort_unstable_by(|&x, &y| b.nodes.get(x).cmp(b.nodes.get(y)));
    write_u32s(path, files::ID_ORDER, &order, arrays)?;

    let mut records: Vec<usize> = (0..b.names.len()).collect();
    records.par_sort_unstable_by_key(|&i| {
        let r = &b.names[i];
        (r.node, r.kind, r.rank, r.seq)
    });
    let mut labels = StringTableWriter::create(path, files::LABELS)?;
    let mut descriptions = StringTableWriter::create(path, files::DESCRIPTIONS)?;
    let mut aliases = StringTableWriter::create(path, files::ALIASES)?;
    let mut alias_ranges = ArrayWriter::create(path, files::ALIAS_RANGES)?;
    let mut labelled: Vec<(u32, &str)> = Vec::new();
    let mut alias_texts: Vec<&str> = Vec::new();
    let mut counts = NameCounts {
        labels: 0,
        aliases: 0,
        descriptions: 0,
    };
    let mut at = 0;
    alias_ranges.u32(0)?;
    for node in 0..n as u32 {
        let start = at;
        while at < records.len() && b.names[records[at]].node == node {
            at += 1;
        }
        let mine = records[start..at].iter().map(|&i| &b.names[i]);
        let mut label: Option<&str> = None;
        let mut description: Option<&str> = None;
        let first_alias = alias_texts.len();
        for r in mine {
            let text = b.name_text(r);
            match r.kind {
                NameKind::Label if label.is_none() => label = Some(text),
                NameKind::Description => {
                    description.get_or_insert(text);
                }
                _ if Some(text) == label || alias_texts[first_alias..].contains(&text) => {}
                _ => alias_texts.push(text),
            }
        }
        labels.push(label.unwrap_or(""))?;
        descriptions.push(description.unwrap_or(""))?;
        if let Some(label) = label {
            labelled.push((node, label));
            counts.labels += 1;
        }
        counts.descriptions += description.is_some() as u64;
        for text in &alias_texts[first_alias..] {
            aliases.push(text)?;
        }
        let total = u32::try_from(alias_texts.len())
            .map_err(|_| KaleError::invalid("more than 4,294,967,295 aliases"))?;
        alias_ranges.u32(total)?;
    }
    counts.aliases = alias_texts.len() as u64;
    labels.finish(arrays)?;
    descriptions.finish(arrays)?;
    aliases.finish(arrays)?;
    alias_ranges.finish(arrays)?;

    labelled.par_sort_by_cached_key(|(_, label)| fold(label));
    write_u32s(
        path,
        files::LABEL_ORDER,
        &labelled.iter().map(|(node, _)| *node).collect::<Vec<_>>(),
        arrays,
    )?;
    let mut alias_order: Vec<u32> = (0..alias_texts.len() as u32).collect();
    alias_order.par_sort_by_cached_key(|&i| fold(alias_texts[i as usize]));
    write_u32s(path, files::ALIAS_ORDER, &alias_order, arrays)?;

    let mut relation_ids = StringTableWriter::create(path, files::RELATION_IDS)?;
    let mut relation_labels = StringTableWriter::create(path, files::RELATION_LABELS)?;
    for id in b.relations.iter() {
        relation_ids.push(id)?;
        relation_labels.push(
            b.relation_labels
                .get(id)
                .map(|(_, l)| l.as_str())
                .unwrap_or(""),
        )?;
    }
    relation_ids.finish(arrays)?;
    relation_labels.finish(arrays)?;
    Ok(counts)
}

fn write_u32s(
    path: &Path,
    name: &str,
    values: &[u32],
    arrays: &mut BTreeMap<String, ArrayInfo>,
) -> Result<()> {
    let mut w = ArrayWriter::create(path, name)?;
    w.u32s(values)?;
    w.finish(arrays)
}
