"""kale: Knowledge-Aware LEarning.

Knowledge-graph rationales (Rust graph store, entity linking, path search) and
knowledge-aware fine-tuning for language models.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kale")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"


def __getattr__(name: str):
    # The Rust extension is only loaded when graph features are used, so the
    # pure-Python parts (training, evaluation) import without it.
    if name == "Graph":
        from kale.graph import Graph

        return Graph
    raise AttributeError(f"module 'kale' has no attribute {name!r}")


__all__ = ["Graph", "__version__"]
