//! An opened graph: every array memory-mapped, so opening costs the same whatever
//! the graph's size. Opening checks the manifest, each file's size and the ends of
//! every offset array; `verify` also checks every byte against its checksum.
//! Accessors never panic on a corrupted file: a bad range reads as empty.

use std::io::{BufRead, Read};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use xxhash_rust::xxh3::Xxh3;

use super::fold;
use super::format::{files, open_plain, xxh3_hex, Manifest};
use crate::error::{IoContext, KaleError, Result};

/// Plain little-endian numbers that can be viewed straight from mapped bytes.
pub trait Pod: Copy + 'static {}
impl Pod for u8 {}
impl Pod for u16 {}
impl Pod for u32 {}
impl Pod for u64 {}

struct Array<T: Pod> {
    map: Option<Mmap>,
    _t: PhantomData<T>,
}

impl<T: Pod> Array<T> {
    fn open(dir: &Path, name: &str, manifest: &Manifest) -> Result<Array<T>> {
        let path = dir.join(name);
        let info = manifest
            .arrays
            .get(name)
            .ok_or_else(|| KaleError::corrupt(dir, format!("the manifest lists no {name}")))?;
        let file = open_plain(dir, name)?;
        let len = file.metadata().at(&path)?.len();
        if len != info.bytes {
            return Err(KaleError::corrupt(
                dir,
                format!(
                    "{name} holds {len} bytes, the manifest says {}: truncated or overwritten",
                    info.bytes
                ),
            ));
        }
        if len % std::mem::size_of::<T>() as u64 != 0 {
            return Err(KaleError::corrupt(
                dir,
                format!("{name} is not a whole number of elements"),
            ));
        }
        // An empty file cannot be mapped on every platform, and needs no map.
        let map = if len == 0 {
            None
        } else {
            // SAFETY: the graph directory is immutable once built (it is renamed into
            // place complete and never written again by kale); a user who edits the
            // files of an opened graph is outside what any mapped format can guard.
            let map = unsafe { Mmap::map(&file) }.at(&path)?;
            if map.as_ptr().align_offset(std::mem::align_of::<T>()) != 0 {
                return Err(KaleError::corrupt(
                    dir,
                    format!("{name} is not aligned in memory"),
                ));
            }
            Some(map)
        };
        Ok(Array {
            map,
            _t: PhantomData,
        })
    }

    #[inline]
    fn as_slice(&self) -> &[T] {
        match &self.map {
            None => &[],
            // SAFETY: the map is aligned for T (checked at open), its length is a
            // multiple of size_of::<T>(), and T is a plain number type.
            Some(m) => unsafe {
                std::slice::from_raw_parts(
                    m.as_ptr().cast::<T>(),
                    m.len() / std::mem::size_of::<T>(),
                )
            },
        }
    }
}

struct StringTable {
    offsets: Array<u64>,
    bytes: Array<u8>,
}

impl StringTable {
    fn open(dir: &Path, name: &str, manifest: &Manifest, entries: u64) -> Result<StringTable> {
        let offsets = Array::<u64>::open(dir, &format!("{name}.offsets"), manifest)?;
        let bytes = Array::<u8>::open(dir, &format!("{name}.bytes"), manifest)?;
        let o = offsets.as_slice();
        if o.len() as u64 != entries + 1
            || o[0] != 0
            || o[o.len() - 1] != bytes.as_slice().len() as u64
        {
            return Err(KaleError::corrupt(
                dir,
                format!("the {name} string table does not match its counts"),
            ));
        }
        Ok(StringTable { offsets, bytes })
    }

    fn get(&self, i: usize) -> Option<&str> {
        let o = self.offsets.as_slice();
        let (start, end) = (*o.get(i)? as usize, *o.get(i + 1)? as usize);
        std::str::from_utf8(self.bytes.as_slice().get(start..end)?).ok()
    }

    fn len(&self) -> usize {
        self.offsets.as_slice().len().saturating_sub(1)
    }
}

struct Adjacency {
    offsets: Array<u32>,
    neighbours: Array<u32>,
    relations: Array<u16>,
}

impl Adjacency {
    fn open(dir: &Path, m: &Manifest, [o, n, r]: [&str; 3]) -> Result<Adjacency> {
        let adj = Adjacency {
            offsets: Array::open(dir, o, m)?,
            neighbours: Array::open(dir, n, m)?,
            relations: Array::open(dir, r, m)?,
        };
        let offsets = adj.offsets.as_slice();
        let ok = offsets.len() as u64 == m.nodes + 1
            && offsets[0] == 0
            && offsets[offsets.len() - 1] as u64 == m.edges
            && adj.neighbours.as_slice().len() as u64 == m.edges
            && adj.relations.as_slice().len() as u64 == m.edges;
        if !ok {
            return Err(KaleError::corrupt(
                dir,
                format!("{o} does not match the node and edge counts"),
            ));
        }
        Ok(adj)
    }

    #[inline]
    fn of(&self, node: u32) -> (&[u32], &[u16]) {
        let o = self.offsets.as_slice();
        let i = node as usize;
        let range = match (o.get(i), o.get(i + 1)) {
            (Some(&a), Some(&b)) if a <= b => a as usize..b as usize,
            _ => 0..0,
        };
        match (
            self.neighbours.as_slice().get(range.clone()),
            self.relations.as_slice().get(range),
        ) {
            (Some(n), Some(r)) => (n, r),
            _ => (&[], &[]),
        }
    }

    /// `of(node).0.len()` from the offsets alone (searches ask for degrees often).
    #[inline]
    fn len_of(&self, node: u32) -> usize {
        let o = self.offsets.as_slice();
        let i = node as usize;
        match (o.get(i), o.get(i + 1)) {
            (Some(&a), Some(&b))
                if a <= b
                    && b as usize <= self.neighbours.as_slice().len()
                    && b as usize <= self.relations.as_slice().len() =>
            {
                (b - a) as usize
            }
            _ => 0,
        }
    }

    fn of_relation(&self, node: u32, relation: u16) -> (&[u32], &[u16]) {
        let (n, r) = self.of(node);
        let start = r.partition_point(|&x| x < relation);
        let end = r.partition_point(|&x| x <= relation);
        (&n[start..end], &r[start..end])
    }
}

/// Which edges of a node: those leaving it, those entering it, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Out,
    In,
}

pub struct Graph {
    dir: PathBuf,
    manifest: Manifest,
    out: Adjacency,
    inn: Adjacency,
    id_order: Array<u32>,
    label_order: Array<u32>,
    alias_order: Array<u32>,
    alias_ranges: Array<u32>,
    node_ids: StringTable,
    labels: StringTable,
    descriptions: StringTable,
    aliases: StringTable,
    relation_ids: StringTable,
    relation_labels: StringTable,
}

impl Graph {
    pub fn open(dir: impl AsRef<Path>) -> Result<Graph> {
        let dir = dir.as_ref();
        let m = Manifest::read(dir)?;
        let g = Graph {
            out: Adjacency::open(
                dir,
                &m,
                [files::OUT_OFFSETS, files::OUT_TARGETS, files::OUT_RELATIONS],
            )?,
            inn: Adjacency::open(
                dir,
                &m,
                [files::IN_OFFSETS, files::IN_SOURCES, files::IN_RELATIONS],
            )?,
            id_order: Array::open(dir, files::ID_ORDER, &m)?,
            label_order: Array::open(dir, files::LABEL_ORDER, &m)?,
            alias_order: Array::open(dir, files::ALIAS_ORDER, &m)?,
            alias_ranges: Array::open(dir, files::ALIAS_RANGES, &m)?,
            node_ids: StringTable::open(dir, files::NODE_IDS, &m, m.nodes)?,
            labels: StringTable::open(dir, files::LABELS, &m, m.nodes)?,
            descriptions: StringTable::open(dir, files::DESCRIPTIONS, &m, m.nodes)?,
            aliases: StringTable::open(dir, files::ALIASES, &m, m.aliases)?,
            relation_ids: StringTable::open(dir, files::RELATION_IDS, &m, m.relations)?,
            relation_labels: StringTable::open(dir, files::RELATION_LABELS, &m, m.relations)?,
            dir: dir.to_path_buf(),
            manifest: m,
        };
        let counts_ok = g.id_order.as_slice().len() as u64 == g.manifest.nodes
            && g.label_order.as_slice().len() as u64 == g.manifest.labels
            && g.alias_order.as_slice().len() as u64 == g.manifest.aliases
            && g.alias_ranges.as_slice().len() as u64 == g.manifest.nodes + 1
            && g.alias_ranges.as_slice().last().map(|&x| x as u64) == Some(g.manifest.aliases);
        if !counts_ok {
            return Err(KaleError::corrupt(
                dir,
                "the lookup tables do not match the manifest's counts",
            ));
        }
        Ok(g)
    }

    /// Reads every array and compares it with the checksum the build recorded.
    pub fn verify(&self) -> Result<()> {
        for (name, info) in &self.manifest.arrays {
            let path = self.dir.join(name);
            // Read as a stream and only as far as the manifest says: a file that grew
            // (or a device) cannot make verify read without end.
            let file = open_plain(&self.dir, name)?;
            let len = file.metadata().at(&path)?.len();
            if len != info.bytes {
                return Err(KaleError::corrupt(
                    &self.dir,
                    format!(
                        "{name} holds {len} bytes, the manifest says {}: truncated or overwritten",
                        info.bytes
                    ),
                ));
            }
            let mut hasher = Xxh3::new();
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file.take(info.bytes));
            loop {
                let chunk = reader.fill_buf().at(&path)?;
                if chunk.is_empty() {
                    break;
                }
                hasher.update(chunk);
                let n = chunk.len();
                reader.consume(n);
            }
            if xxh3_hex(hasher.digest()) != info.xxh3 {
                return Err(KaleError::corrupt(
                    &self.dir,
                    format!("{name} does not match its checksum: the file was changed or damaged"),
                ));
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn node_count(&self) -> u32 {
        self.manifest.nodes as u32
    }
    pub fn edge_count(&self) -> u64 {
        self.manifest.edges
    }
    pub fn relation_count(&self) -> u16 {
        self.manifest.relations as u16
    }

    pub fn check_node(&self, node: u32) -> Result<()> {
        if node < self.node_count() {
            Ok(())
        } else {
            Err(KaleError::invalid(format!(
                "node index {node} is out of range (the graph has {} nodes)",
                self.node_count()
            )))
        }
    }

    pub fn node_id(&self, node: u32) -> Option<&str> {
        self.node_ids.get(node as usize)
    }
    pub fn label(&self, node: u32) -> Option<&str> {
        self.labels.get(node as usize).filter(|s| !s.is_empty())
    }
    pub fn description(&self, node: u32) -> Option<&str> {
        self.descriptions
            .get(node as usize)
            .filter(|s| !s.is_empty())
    }
    pub fn aliases(&self, node: u32) -> Vec<&str> {
        let r = self.alias_ranges.as_slice();
        match (r.get(node as usize), r.get(node as usize + 1)) {
            (Some(&a), Some(&b)) if a <= b => (a..b)
                .filter_map(|i| self.aliases.get(i as usize))
                .collect(),
            _ => Vec::new(),
        }
    }
    pub fn relation_id(&self, relation: u16) -> Option<&str> {
        self.relation_ids.get(relation as usize)
    }
    pub fn relation_label(&self, relation: u16) -> Option<&str> {
        self.relation_labels
            .get(relation as usize)
            .filter(|s| !s.is_empty())
    }
    /// The label of a relation, or its id when it has none.
    pub fn relation_name(&self, relation: u16) -> &str {
        self.relation_label(relation)
            .or_else(|| self.relation_id(relation))
            .unwrap_or("?")
    }
    /// The label of a node, or its id when it has none.
    pub fn node_name(&self, node: u32) -> &str {
        self.label(node)
            .or_else(|| self.node_id(node))
            .unwrap_or("?")
    }

    pub fn relation_index(&self, id: &str) -> Option<u16> {
        (0..self.relation_count())
            .find(|&r| self.relation_id(r) == Some(id) || self.relation_label(r) == Some(id))
    }

    pub fn node_index(&self, id: &str) -> Option<u32> {
        let order = self.id_order.as_slice();
        let at = order.partition_point(|&x| self.node_id(x).unwrap_or("") < id);
        order
            .get(at)
            .copied()
            .filter(|&x| self.node_id(x) == Some(id))
    }

    /// Nodes whose label or alias equals `name` ignoring case: label matches before
    /// alias matches, exact case before folded, then highest degree first.
    pub fn find_by_name(&self, name: &str) -> Vec<u32> {
        let key = fold(name);
        let mut found: Vec<(u8, u32)> = Vec::new();
        let labels = self.label_order.as_slice();
        let start = labels.partition_point(|&x| fold(self.label(x).unwrap_or("")) < key);
        for &x in labels[start..]
            .iter()
            .take_while(|&&x| fold(self.label(x).unwrap_or("")) == key)
        {
            found.push((if self.label(x) == Some(name) { 0 } else { 1 }, x));
        }
        let aliases = self.alias_order.as_slice();
        let ranges = self.alias_ranges.as_slice();
        let start =
            aliases.partition_point(|&a| fold(self.aliases.get(a as usize).unwrap_or("")) < key);
        for &a in aliases[start..]
            .iter()
            .take_while(|&&a| fold(self.aliases.get(a as usize).unwrap_or("")) == key)
        {
            let owner = ranges.partition_point(|&end| end <= a).saturating_sub(1) as u32;
            found.push((
                if self.aliases.get(a as usize) == Some(name) {
                    2
                } else {
                    3
                },
                owner,
            ));
        }
        found.sort_unstable_by_key(|&(tier, x)| (tier, std::cmp::Reverse(self.degree(x)), x));
        let mut seen = rustc_hash::FxHashSet::default();
        found
            .into_iter()
            .filter(|&(_, x)| seen.insert(x))
            .map(|(_, x)| x)
            .collect()
    }

    /// An id, or else a label or alias (the highest-degree match).
    pub fn resolve(&self, entity: &str) -> Result<u32> {
        if let Some(x) = self.node_index(entity) {
            return Ok(x);
        }
        self.find_by_name(entity)
            .first()
            .copied()
            .ok_or_else(|| KaleError::NotFound(entity.to_string()))
    }

    #[inline]
    pub fn neighbours(&self, node: u32, dir: Dir) -> (&[u32], &[u16]) {
        match dir {
            Dir::Out => self.out.of(node),
            Dir::In => self.inn.of(node),
        }
    }

    pub fn neighbours_by_relation(&self, node: u32, dir: Dir, relation: u16) -> (&[u32], &[u16]) {
        match dir {
            Dir::Out => self.out.of_relation(node, relation),
            Dir::In => self.inn.of_relation(node, relation),
        }
    }

    #[inline]
    pub fn degree(&self, node: u32) -> u64 {
        (self.out.len_of(node) + self.inn.len_of(node)) as u64
    }

    pub fn alias_count(&self) -> usize {
        self.aliases.len()
    }
}
