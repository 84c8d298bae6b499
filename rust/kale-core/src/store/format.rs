//! The on-disk layout of a graph directory: file names, the manifest, and the
//! little-endian array files every other part reads and writes.
//!
//! A graph directory holds `manifest.json` and one flat file per array. Node and
//! edge indices are u32 (4.29 billion of each: Wikidata's item graph has ~0.1 and
//! ~0.7 billion), relation ids u16, string-table offsets u64.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::error::{IoContext, KaleError, Result};

#[cfg(target_endian = "big")]
compile_error!("kale's graph files are little-endian and are mapped as is");

pub const FORMAT_NAME: &str = "kale-graph";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";

/// Array files. Adjacency: `out_*` sorted by (source, relation, target), `in_*` by
/// (target, relation, source). Each string table `T` is `T.offsets` (u64, n + 1) and
/// `T.bytes` (UTF-8).
pub mod files {
    pub const OUT_OFFSETS: &str = "out_offsets.u32";
    pub const OUT_TARGETS: &str = "out_targets.u32";
    pub const OUT_RELATIONS: &str = "out_relations.u16";
    pub const IN_OFFSETS: &str = "in_offsets.u32";
    pub const IN_SOURCES: &str = "in_sources.u32";
    pub const IN_RELATIONS: &str = "in_relations.u16";
    /// Node indices sorted by external id, for id -> index lookups.
    pub const ID_ORDER: &str = "id_order.u32";
    /// Node indices that have a label, sorted by case-folded label.
    pub const LABEL_ORDER: &str = "label_order.u32";
    /// Alias entries sorted by case-folded alias.
    pub const ALIAS_ORDER: &str = "alias_order.u32";
    /// Per node, the range of its entries in the alias table (u32, n + 1).
    pub const ALIAS_RANGES: &str = "alias_ranges.u32";
    pub const NODE_IDS: &str = "node_ids";
    pub const LABELS: &str = "labels";
    pub const DESCRIPTIONS: &str = "descriptions";
    pub const ALIASES: &str = "aliases";
    pub const RELATION_IDS: &str = "relation_ids";
    pub const RELATION_LABELS: &str = "relation_labels";
    pub const STRING_TABLES: [&str; 6] = [
        NODE_IDS,
        LABELS,
        DESCRIPTIONS,
        ALIASES,
        RELATION_IDS,
        RELATION_LABELS,
    ];
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArrayInfo {
    pub bytes: u64,
    /// xxh3-64 of the file's bytes, as 16 hex digits.
    pub xxh3: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub nodes: u64,
    pub edges: u64,
    pub relations: u64,
    pub labels: u64,
    pub aliases: u64,
    pub descriptions: u64,
    /// What the graph was built from and how: the reader, inputs, options and the
    /// counts of what was skipped, so a graph can be rebuilt and audited.
    pub build: serde_json::Value,
    pub arrays: BTreeMap<String, ArrayInfo>,
    /// xxh3-64 of this manifest serialised without this field, so a damaged
    /// manifest is caught at open even when it is still valid JSON.
    #[serde(default)]
    pub manifest_xxh3: String,
}

/// The largest manifest read: its build section lists input files, a few KB each.
const MAX_MANIFEST: u64 = 64 << 20;

/// Whether a name the manifest gives is a file of the graph directory itself: a path
/// (`../x`, `/dev/zero`) or `.`/`..` is not.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Opens `name` in the graph directory, which must be a plain file there: not a
/// symbolic link, FIFO or device (a damaged or hostile manifest must not make kale
/// read /dev/zero, wait on a pipe or hash a file outside the graph).
pub fn open_plain(dir: &Path, name: &str) -> Result<File> {
    if !is_plain_name(name) {
        return Err(KaleError::corrupt(
            dir,
            format!("the manifest names {name:?}, which is not a file of the graph directory"),
        ));
    }
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        // no symlink is followed, and opening a FIFO does not wait for a writer
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(target_os = "linux"))]
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(KaleError::corrupt(
            dir,
            format!("{name} is a symbolic link, not a plain file"),
        ));
    }
    let file = options.open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => KaleError::corrupt(dir, format!("{name} is missing")),
        _ if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) => {
            KaleError::corrupt(dir, format!("{name} is a symbolic link, not a plain file"))
        }
        _ => KaleError::io(&path, e),
    })?;
    if !file.metadata().at(&path)?.is_file() {
        return Err(KaleError::corrupt(
            dir,
            format!("{name} is not a plain file"),
        ));
    }
    Ok(file)
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        if !dir.is_dir() {
            return Err(KaleError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no graph directory here"),
            ));
        }
        if !path.exists() && std::fs::symlink_metadata(&path).is_err() {
            return Err(KaleError::corrupt(
                dir,
                "manifest.json is missing: not a kale graph, or its build did not finish",
            ));
        }
        let mut text = Vec::new();
        open_plain(dir, MANIFEST)?
            .take(MAX_MANIFEST + 1)
            .read_to_end(&mut text)
            .at(&path)?;
        if text.len() as u64 > MAX_MANIFEST {
            return Err(KaleError::corrupt(
                &path,
                format!("manifest is larger than {MAX_MANIFEST} bytes"),
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| KaleError::corrupt(&path, format!("manifest is not valid JSON ({e})")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(KaleError::corrupt(
                &path,
                "manifest does not describe a kale graph",
            ));
        }
        let found = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as u32;
        if found != FORMAT_VERSION {
            return Err(KaleError::Version {
                path: dir.to_path_buf(),
                found,
                expected: FORMAT_VERSION,
            });
        }
        let manifest: Manifest = serde_json::from_value(value)
            .map_err(|e| KaleError::corrupt(&path, format!("manifest: {e}")))?;
        if manifest.self_checksum()? != manifest.manifest_xxh3 {
            return Err(KaleError::corrupt(
                &path,
                "the manifest does not match its own checksum: it was edited or damaged",
            ));
        }
        // Checked even under a valid checksum: the checksum finds damage, not intent.
        if let Some(name) = manifest.arrays.keys().find(|n| !is_plain_name(n)) {
            return Err(KaleError::corrupt(
                &path,
                format!("the manifest names {name:?}, which is not a file of the graph directory"),
            ));
        }
        Ok(manifest)
    }

    fn self_checksum(&self) -> Result<String> {
        let mut copy = self.clone();
        copy.manifest_xxh3 = String::new();
        let bytes = serde_json::to_vec(&copy).map_err(|e| KaleError::invalid(e.to_string()))?;
        Ok(xxh3_hex(xxhash_rust::xxh3::xxh3_64(&bytes)))
    }

    pub fn write(&mut self, dir: &Path) -> Result<()> {
        self.manifest_xxh3 = self.self_checksum()?;
        let path = dir.join(MANIFEST);
        let text =
            serde_json::to_vec_pretty(self).map_err(|e| KaleError::invalid(e.to_string()))?;
        let mut f = File::create(&path).at(&path)?;
        f.write_all(&text).at(&path)?;
        f.sync_all().at(&path)
    }
}

pub fn xxh3_hex(hash: u64) -> String {
    format!("{hash:016x}")
}

/// A buffered writer of one array file that hashes and counts what it writes.
pub struct ArrayWriter {
    path: PathBuf,
    name: String,
    out: BufWriter<File>,
    hasher: Xxh3,
    bytes: u64,
}

impl ArrayWriter {
    pub fn create(dir: &Path, name: &str) -> Result<ArrayWriter> {
        let path = dir.join(name);
        let file = File::create(&path).at(&path)?;
        Ok(ArrayWriter {
            path,
            name: name.to_string(),
            out: BufWriter::with_capacity(1 << 20, file),
            hasher: Xxh3::new(),
            bytes: 0,
        })
    }

    pub fn write_bytes(&mut self, data: &[u8]) -> Result<()> {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.out.write_all(data).at(&self.path)
    }

    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.write_bytes(&v.to_le_bytes())
    }

    pub fn u16(&mut self, v: u16) -> Result<()> {
        self.write_bytes(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> Result<()> {
        self.write_bytes(&v.to_le_bytes())
    }

    pub fn u32s(&mut self, vs: &[u32]) -> Result<()> {
        for v in vs {
            self.u32(*v)?;
        }
        Ok(())
    }

    /// Flush, fsync and record the file in the manifest's array table.
    pub fn finish(self, arrays: &mut BTreeMap<String, ArrayInfo>) -> Result<()> {
        let ArrayWriter {
            path,
            name,
            out,
            hasher,
            bytes,
        } = self;
        let file = out
            .into_inner()
            .map_err(|e| KaleError::io(&path, e.into_error()))?;
        file.sync_all().at(&path)?;
        arrays.insert(
            name,
            ArrayInfo {
                bytes,
                xxh3: xxh3_hex(hasher.digest()),
            },
        );
        Ok(())
    }
}

/// Writes a string table (`name.offsets` + `name.bytes`) one string at a time.
pub struct StringTableWriter {
    offsets: ArrayWriter,
    bytes: ArrayWriter,
    end: u64,
}

impl StringTableWriter {
    pub fn create(dir: &Path, name: &str) -> Result<StringTableWriter> {
        let mut offsets = ArrayWriter::create(dir, &format!("{name}.offsets"))?;
        offsets.u64(0)?;
        Ok(StringTableWriter {
            offsets,
            bytes: ArrayWriter::create(dir, &format!("{name}.bytes"))?,
            end: 0,
        })
    }

    pub fn push(&mut self, s: &str) -> Result<()> {
        self.bytes.write_bytes(s.as_bytes())?;
        self.end += s.len() as u64;
        self.offsets.u64(self.end)
    }

    pub fn finish(self, arrays: &mut BTreeMap<String, ArrayInfo>) -> Result<()> {
        self.offsets.finish(arrays)?;
        self.bytes.finish(arrays)
    }
}
