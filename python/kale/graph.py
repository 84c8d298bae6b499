"""`kale.Graph`: build, open and inspect knowledge graphs.

The graph itself lives in Rust (`kale._core.Graph`, memory-mapped); this module adds
the Python-side conveniences: building from the supported sources, parsing sizes,
the manifest as a dict, and labelled neighbour listings.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kale import _core
from kale import paths as paths_module
from kale.exceptions import KaleValueError
from kale.locks import lock, remove_leftovers

PathLike = str | os.PathLike[str]

WORDNET_DIR = Path("/usr/share/wordnet")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_memory(value: str | int) -> int:
    """'4G', '512M', '1.5GiB' or a number of bytes -> bytes."""
    if isinstance(value, int):
        amount = value
    else:
        match = _SIZE.match(value)
        if not match:
            raise KaleValueError(f"cannot read memory size {value!r}: use bytes or a number with K, M, G or T, e.g. 4G")
        scale = 1024 ** " kmgt".index((match.group(2) or " ").lower())
        amount = int(float(match.group(1)) * scale)
    if amount < 1 << 20:
        raise KaleValueError(f"memory budget {value!r} is below the 1 MiB minimum")
    if amount >= 1 << 64:  # the Rust core counts bytes in a u64
        raise KaleValueError(f"memory budget {value!r} is beyond 16 EiB")
    return amount


def _paths(value: PathLike | Sequence[PathLike] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        value = [value]
    return [os.fspath(Path(v).expanduser().absolute()) for v in value]


@dataclass(frozen=True)
class Edge:
    """One edge seen from a node: the neighbour, the relation, and which way it points."""

    neighbour: int
    relation: int
    outgoing: bool


class Graph(_core.Graph):
    """A knowledge graph on disk, memory-mapped: opening costs the same at any size."""

    @classmethod
    def open(cls, path: PathLike, *, verify: bool = False) -> Graph:
        """Open a graph directory; with `verify`, also check every byte's checksum."""
        graph = cls(Path(path).expanduser())
        if verify:
            graph.verify()
        return graph

    @classmethod
    def build(
        cls,
        out: PathLike,
        *,
        triples: PathLike | Sequence[PathLike] | None = None,
        labels: PathLike | Sequence[PathLike] | None = None,
        aliases: PathLike | Sequence[PathLike] | None = None,
        descriptions: PathLike | Sequence[PathLike] | None = None,
        relation_labels: PathLike | Sequence[PathLike] | None = None,
        header: bool = False,
        ntriples: PathLike | Sequence[PathLike] | None = None,
        languages: Sequence[str] = ("en", "mul"),
        wordnet: PathLike | None = None,
        memory: str | int = "2G",
        on_error: str = "fail",
        progress: bool = True,
        overwrite: bool = False,
    ) -> Graph:
        """Build a graph directory at `out` from exactly one kind of source and open it.

        - `triples`: TSV (or `.csv`) files of head, relation, tail, optionally with
          `labels`, `aliases`, `descriptions` and `relation_labels` files beside them;
        - `ntriples`: Wikidata truthy N-Triples (`.nt`, `.nt.gz`, `.nt.bz2`), keeping
          names in `languages` (best first);
        - `wordnet`: a WordNet 3.0 database directory such as /usr/share/wordnet.

        Inputs may be gzip or bzip2 compressed. `memory` bounds the build (e.g. "4G");
        larger inputs are sorted on disk. `on_error="skip"` skips and counts malformed
        lines instead of stopping at the first.
        """
        chosen = [name for name, v in (("triples", triples), ("ntriples", ntriples), ("wordnet", wordnet)) if v]
        if len(chosen) != 1:
            raise KaleValueError(
                "give exactly one of triples=, ntriples= or wordnet= "
                + (f"(got {', '.join(chosen)})" if chosen else "(got none)")
            )
        source: dict[str, Any]
        if triples:
            source = {
                "reader": "triples",
                "triples": _paths(triples),
                "labels": _paths(labels),
                "aliases": _paths(aliases),
                "descriptions": _paths(descriptions),
                "relation_labels": _paths(relation_labels),
                "header": header,
            }
        elif ntriples:
            if not languages:
                raise KaleValueError("languages must name at least one language, e.g. ('en',)")
            source = {"reader": "ntriples", "files": _paths(ntriples), "languages": list(languages)}
        else:
            source = {"reader": "wordnet", "dir": _paths(wordnet)[0]}
        if source["reader"] != "triples" and any((labels, aliases, descriptions, relation_labels)):
            raise KaleValueError("labels=, aliases=, descriptions= and relation_labels= go with triples=")
        out = Path(out).expanduser()
        if out.name in ("", ".", ".."):
            raise KaleValueError(f"{out} is not a directory name")
        memory = parse_memory(memory)
        # The lock sits beside OUT, which the build replaces whole; holding it, the partial
        # directories of builds that were killed (sort runs of up to GBs) can go.
        with lock(out.parent / f".{out.name}.lock", f"{out}", "kale kg build"):
            remove_leftovers(out.parent, rf"\.{re.escape(out.name)}\.partial-(?P<pid>\d+)")
            _core.build(
                json.dumps(source),
                os.fspath(out),
                memory=memory,
                on_error=on_error,
                progress=progress,
                overwrite=overwrite,
            )
            return cls.open(out)

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest: format version, counts, build parameters and checksums."""
        return json.loads(self._manifest_json())

    def edges(self, node: int, direction: str = "both", relation: int | None = None) -> list[Edge]:
        """The neighbours of `node` as `Edge` records (see `neighbours` for arrays)."""
        nodes, relations, outgoing = self.neighbours(node, direction, relation)
        return [Edge(int(n), int(r), bool(o)) for n, r, o in zip(nodes, relations, outgoing)]

    def verbalise(self, path: paths_module.Path) -> str:
        """`the Sun –emits→ light ←part of– white light`."""
        return paths_module.verbalise(self, path)

    def __repr__(self) -> str:
        return f"Graph({os.fspath(self.path)!r}, nodes={self.node_count:,}, edges={self.edge_count:,}, relations={self.relation_count})"


def generate(
    out: PathLike,
    *,
    nodes: int,
    edges: int,
    relations: int = 2000,
    hubs: int = 5,
    hub_share: float = 0.08,
    seed: int = 0,
) -> Path:
    """Write a Wikidata-shaped random graph as TSV triples (`.gz` if the name ends so)."""
    _core.generate(
        os.fspath(out), nodes=nodes, edges=edges, relations=relations, hubs=hubs, hub_share=hub_share, seed=seed
    )
    return Path(out)
