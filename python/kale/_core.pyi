# Type stubs for kale._core, the Rust extension (rust/kale-py), checked against the built
# module by `python -m mypy.stubtest kale._core` (scripts/test.sh).

from collections.abc import Iterable, Iterator, Sequence
from os import PathLike
from pathlib import Path as FsPath
from typing import Literal, TypeAlias, TypedDict, final, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import Self, Unpack, disjoint_base

__all__ = ["FORMAT_VERSION", "Graph", "Linker", "Path", "PathOptions", "PathResult", "build", "generate"]

FORMAT_VERSION: int

# A node index, an id or label, or an iterable of them.
_Entities: TypeAlias = int | str | Iterable[int | str]
# A relation index, id or label.
_Relation: TypeAlias = int | str

# The keyword options of Graph.paths, paths_batch and path_options (rust/kale-py/src/paths.rs).
class _SearchOptions(TypedDict, total=False):
    method: Literal["shortest", "k_shortest", "astar"]
    max_hops: int
    max_paths: int
    max_expansions: int
    timeout: float | None
    directed: bool
    relations: Iterable[_Relation] | None
    exclude_relations: Iterable[_Relation] | None
    hub_cap: int | None
    anchors: int
    anchor_hops: int
    anchor_depth: int
    target_depth: int | None
    seed: int

# Subclassed by kale.Graph, so not final.
@disjoint_base
class Graph:
    def __new__(cls, path: str | PathLike[str]) -> Self: ...
    def verify(self) -> None: ...
    @property
    def path(self) -> FsPath: ...
    def _manifest_json(self) -> str: ...
    @property
    def node_count(self) -> int: ...
    @property
    def edge_count(self) -> int: ...
    @property
    def relation_count(self) -> int: ...
    def __len__(self) -> int: ...
    def index(self, id: str) -> int: ...
    def id(self, node: int) -> str: ...
    def resolve(self, entity: str) -> int: ...
    def find(self, name: str) -> list[int]: ...
    def label(self, node: int) -> str | None: ...
    def description(self, node: int) -> str | None: ...
    def aliases(self, node: int) -> list[str]: ...
    def name(self, node: int) -> str: ...
    def relation_id(self, relation: int) -> str: ...
    def relation_label(self, relation: int) -> str | None: ...
    def relation_name(self, relation: int) -> str: ...
    def relation_index(self, relation: str) -> int: ...
    def neighbours(
        self, node: int, direction: str = "out", relation: int | None = None
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint16], npt.NDArray[np.bool_]]: ...
    def degree(self, node: int, direction: str = "both") -> int: ...
    def degrees(self, direction: str = "both") -> npt.NDArray[np.uint64]: ...
    def relation_counts(self) -> npt.NDArray[np.uint64]: ...
    # Keyword options, or one PathOptions from path_options (never both).
    @overload
    def paths(self, sources: _Entities, targets: _Entities, *, options: PathOptions) -> PathResult: ...
    @overload
    def paths(self, sources: _Entities, targets: _Entities, **options: Unpack[_SearchOptions]) -> PathResult: ...
    @overload
    def paths_batch(
        self, queries: Iterable[tuple[_Entities, _Entities]], *, threads: int | None = None, options: PathOptions
    ) -> list[PathResult]: ...
    @overload
    def paths_batch(
        self,
        queries: Iterable[tuple[_Entities, _Entities]],
        *,
        threads: int | None = None,
        **options: Unpack[_SearchOptions],
    ) -> list[PathResult]: ...
    def path_options(self, **options: Unpack[_SearchOptions]) -> PathOptions: ...

@final
class PathOptions: ...

@final
class Path:
    def __new__(cls, nodes: Sequence[int], relations: Sequence[int], forward: Sequence[bool]) -> Self: ...
    @property
    def nodes(self) -> tuple[int, ...]: ...
    @property
    def relations(self) -> tuple[int, ...]: ...
    @property
    def forward(self) -> tuple[bool, ...]: ...
    @property
    def hops(self) -> int: ...
    def triples(self) -> list[tuple[int, int, int]]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class PathResult:
    def __new__(
        cls,
        paths: Sequence[Path],
        truncated: bool,
        reason: str | None,
        expanded: int,
        seconds: float,
        sources: Sequence[int],
        targets: Sequence[int],
    ) -> Self: ...
    @property
    def paths(self) -> tuple[Path, ...]: ...
    @property
    def truncated(self) -> bool: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def expanded(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def sources(self) -> tuple[int, ...]: ...
    @property
    def targets(self) -> tuple[int, ...]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Path]: ...
    def __getitem__(self, index: int, /) -> Path: ...
    # Equal when the answers are: seconds, a measurement, is left out.
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

def build(
    source_json: str,
    out: str | PathLike[str],
    *,
    memory: int,
    on_error: str = "fail",
    progress: bool = True,
    overwrite: bool = False,
) -> str: ...
def generate(
    out: str | PathLike[str],
    *,
    nodes: int,
    edges: int,
    relations: int = 2000,
    hubs: int = 5,
    hub_share: float = 0.08,
    seed: int = 0,
) -> None: ...

# Subclassable at runtime; kale.link.Linker wraps it rather than subclassing.
@disjoint_base
class Linker:
    @staticmethod
    def _from_graph(
        graph: Graph,
        *,
        priors: list[float] | None = None,
        exceptions: str = "auto",
        min_chars: int = 2,
        max_words: int = 16,
        stop_words: bool = True,
        inflection: bool = True,
        label_boost: float = 2.0,
    ) -> Linker: ...
    @staticmethod
    def _from_names(
        names: list[str],
        *,
        nodes: list[int] | None = None,
        priors: list[float] | None = None,
        exceptions: str = "auto",
        min_chars: int = 2,
        max_words: int = 16,
        stop_words: bool = True,
        inflection: bool = True,
    ) -> Linker: ...
    def _link(
        self,
        texts: list[str],
        whole: list[bool],
        *,
        group: int = 1,
        top_k: int = 5,
        context: bool = False,
        context_weight: float = 0.5,
        threads: int | None = None,
        mentions: bool = False,
    ) -> tuple[
        npt.NDArray[np.uint32],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint32],
        list[str],
        npt.NDArray[np.uint32],
        npt.NDArray[np.uint32],
        npt.NDArray[np.float32],
        list[str] | None,
    ]: ...
    def _count(self, texts: list[str], *, threads: int | None = None) -> int: ...
    @staticmethod
    def normalise(text: str) -> str: ...
    def lookup(self, key: str) -> list[tuple[int, float]]: ...
    @property
    def alias_count(self) -> int: ...
    @property
    def word_count(self) -> int: ...
    @property
    def names_indexed(self) -> int: ...
    @property
    def exception_count(self) -> int: ...
    @property
    def heap_bytes(self) -> int: ...
    @property
    def build_seconds(self) -> float: ...
    @property
    def graph(self) -> Graph | None: ...
