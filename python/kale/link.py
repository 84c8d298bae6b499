"""Entity linking: which entities of a graph a text mentions (KALE's E_q and E_a).

Matching is by strings on the graph's labels and aliases, as in the paper: Unicode
NFKC, case folding, punctuation and spacing ignored, English inflection undone
("apples" finds "apple", "geese" finds "goose"), the longest match on word
boundaries winning. Spans are Python string offsets into the original text.

    from kale import Graph
    from kale.link import Linker

    linker = Linker.build(Graph.open("wordnet.kg"))
    question, answer = linker.link_qa("What is the true color of the Sun?", "white")

The index lives in memory (about a second to build for WordNet's 147k lemmas, see
docs/linking.md); nothing is written into the graph directory.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from kale import _core
from kale.exceptions import KaleValueError


class Candidate(NamedTuple):
    """An entity an alias may name; `score` in [0, 1] ranks it among the alias's candidates."""

    node: int
    score: float
    label: str | None = None


class Mention(NamedTuple):
    """A span of the text (`text[start:end] == mention`) that matched `alias`."""

    start: int
    end: int
    mention: str
    alias: str
    candidates: tuple[Candidate, ...]

    @property
    def top(self) -> Candidate | None:
        """The best candidate, or None when the alias has none left after filtering."""
        return self.candidates[0] if self.candidates else None


def _texts(texts: Any) -> list[str]:
    """A list of str from a list, tuple, polars Series or numpy array; nulls become ''."""
    if isinstance(texts, str):
        raise KaleValueError("give a list of texts (or a polars Series), not one str: use link() for one text")
    if hasattr(texts, "to_list"):  # polars / pandas Series
        texts = texts.to_list()
    elif hasattr(texts, "tolist"):  # numpy
        texts = texts.tolist()
    return ["" if t is None else t for t in texts]


class Linker:
    """An alias index over a graph's labels and aliases (or over plain names)."""

    def __init__(self, core: _core.Linker, graph: Any = None, names: Sequence[str] | None = None) -> None:
        self._core = core
        self.graph = graph
        self._names = names

    @classmethod
    def build(
        cls,
        graph: Any,
        *,
        priors: Iterable[float] | None = None,
        exceptions: str | os.PathLike[str] = "auto",
        min_chars: int = 2,
        max_words: int = 16,
        stop_words: bool = True,
        inflection: bool = True,
        label_boost: float = 2.0,
    ) -> Linker:
        """Index a graph's labels and aliases.

        - `priors`: one popularity score per node ranking the candidates of an alias
          (default: the node's degree + 1, doubled for WordNet nouns);
        - `exceptions`: WordNet's exception lists (`*.exc`): "auto" (the graph's own
          WordNet directory, else /usr/share/wordnet if installed), "off", or a directory;
        - `min_chars`, `stop_words`: aliases shorter than `min_chars` characters or made
          only of stop-words ("the", "it", "be") match only a whole text (see `whole`);
        - `max_words`: longer names are not indexed; `inflection`: undo English inflection;
        - `label_boost`: a label's prior counts this many times an alias's.
        """
        prior_list = None if priors is None else [float(p) for p in priors]
        core = _core.Linker._from_graph(
            graph,
            priors=prior_list,
            exceptions=os.fspath(exceptions),
            min_chars=min_chars,
            max_words=max_words,
            stop_words=stop_words,
            inflection=inflection,
            label_boost=label_boost,
        )
        return cls(core, graph)

    @classmethod
    def from_names(
        cls,
        names: Any,
        *,
        nodes: Iterable[int] | None = None,
        priors: Iterable[float] | None = None,
        exceptions: str | os.PathLike[str] = "auto",
        min_chars: int = 2,
        max_words: int = 16,
        stop_words: bool = True,
        inflection: bool = True,
    ) -> Linker:
        """Index plain names (no graph): `names[i]` names entity `nodes[i]` (default i);
        `priors[entity]` ranks candidates. Context re-ranking needs a graph."""
        names = _texts(names)
        node_list = None if nodes is None else [int(n) for n in nodes]
        prior_list = None if priors is None else [float(p) for p in priors]
        core = _core.Linker._from_names(
            names,
            nodes=node_list,
            priors=prior_list,
            exceptions=os.fspath(exceptions),
            min_chars=min_chars,
            max_words=max_words,
            stop_words=stop_words,
            inflection=inflection,
        )
        return cls(core, None, names if node_list is None else None)

    # -- what the index holds ---------------------------------------------------

    @property
    def alias_count(self) -> int:
        return self._core.alias_count

    @property
    def heap_bytes(self) -> int:
        """Memory the index holds (bytes)."""
        return self._core.heap_bytes

    @property
    def build_seconds(self) -> float:
        return self._core.build_seconds

    @staticmethod
    def normalise(text: str) -> str:
        """How the index sees a text: NFKC, case-folded words joined by single spaces."""
        return _core.Linker.normalise(text)

    def lookup(self, alias: str) -> list[Candidate]:
        """The candidates of one alias (normalised like any text), best first."""
        found = self._core.lookup(alias)
        total = sum(p for _, p in found) or 1.0
        return [Candidate(n, p / total, self.label(n)) for n, p in found]

    def label(self, node: int) -> str | None:
        if self.graph is not None:
            return self.graph.name(node)
        if self._names is not None and 0 <= node < len(self._names):
            return self._names[node]
        return None

    def __repr__(self) -> str:
        return f"Linker(aliases={self.alias_count:,}, bytes={self.heap_bytes:,}, built in {self.build_seconds:.2f}s)"

    # -- linking ----------------------------------------------------------------

    def _check(self, context: bool) -> None:
        if context and self.graph is None:
            raise KaleValueError("context re-ranking needs a graph: build the linker with Linker.build(graph)")

    def _mentions(self, texts: list[str], columns: tuple, labels: bool) -> list[list[Mention]]:
        rows, starts, ends, alias_ids, alias_names, offsets, nodes, scores, _ = columns
        aliases = [alias_names[a] for a in alias_ids.tolist()]
        out: list[list[Mention]] = [[] for _ in texts]
        # Millions of small tuples would set off the cyclic GC again and again
        # (each pass walking every object made so far); none of them form cycles.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._fill(out, texts, rows, starts, ends, aliases, offsets, nodes, scores, labels)
        finally:
            if enabled:
                gc.enable()
        return out

    def _fill(self, out, texts, rows, starts, ends, aliases, offsets, nodes, scores, labels) -> None:
        nodes, scores, offsets = nodes.tolist(), scores.tolist(), offsets.tolist()
        # Each node's label once (a graph lookup per distinct node, not per candidate),
        # and tuples made by tuple.__new__, which skips NamedTuple's Python-level __new__.
        label = {n: self.label(n) for n in set(nodes)} if labels else {}
        new, cand, ment = tuple.__new__, Candidate, Mention
        for k, (row, start, end, alias) in enumerate(zip(rows.tolist(), starts.tolist(), ends.tolist(), aliases)):
            a, b = offsets[k], offsets[k + 1]
            cands = tuple([new(cand, (n, s, label.get(n))) for n, s in zip(nodes[a:b], scores[a:b])])
            out[row].append(new(ment, (start, end, texts[row][start:end], alias, cands)))

    def link(
        self, text: str, *, whole: bool = False, top_k: int = 5, context: bool = False, context_weight: float = 0.5
    ) -> list[Mention]:
        """The mentions of `text`, left to right, longest match first.

        `whole=True` (for answers): when the whole text is an alias — even a short or
        stop-word one like "May" or "be" — it is the one mention. `context=True`
        re-ranks candidates by graph closeness to the text's other mentions.
        """
        return self.link_batch(
            [text], whole=whole, top_k=top_k, context=context, context_weight=context_weight, threads=1
        )[0]

    def link_qa(
        self, question: str, answer: str, *, top_k: int = 5, context: bool = True, context_weight: float = 0.5
    ) -> tuple[list[Mention], list[Mention]]:
        """(E_q, E_a): the question's mentions and the answer's (the whole answer wins
        when it is an alias); with a graph, each side's candidates are re-ranked by
        closeness to all the other mentions of the pair."""
        return self.link_qa_batch(
            [question], [answer], top_k=top_k, context=context, context_weight=context_weight, threads=1
        )[0]

    def link_batch(
        self,
        texts: Any,
        *,
        whole: bool = False,
        top_k: int = 5,
        context: bool = False,
        context_weight: float = 0.5,
        threads: int | None = None,
        labels: bool = True,
    ) -> list[list[Mention]]:
        """`link` over many texts (a list or a polars Series) on parallel threads, GIL released."""
        self._check(context)
        texts = _texts(texts)
        columns = self._core._link(
            texts, [whole], top_k=top_k, context=context, context_weight=context_weight, threads=threads
        )
        return self._mentions(texts, columns, labels)

    def link_qa_batch(
        self,
        questions: Any,
        answers: Any,
        *,
        top_k: int = 5,
        context: bool = True,
        context_weight: float = 0.5,
        threads: int | None = None,
    ) -> list[tuple[list[Mention], list[Mention]]]:
        """`link_qa` over many (question, answer) pairs on parallel threads."""
        questions, answers = _texts(questions), _texts(answers)
        if len(questions) != len(answers):
            raise KaleValueError(f"{len(questions)} questions but {len(answers)} answers")
        context = context and self.graph is not None
        texts = [t for pair in zip(questions, answers) for t in pair]
        columns = self._core._link(
            texts, [False, True], group=2, top_k=top_k, context=context, context_weight=context_weight, threads=threads
        )
        flat = self._mentions(texts, columns, True)
        return [(flat[2 * i], flat[2 * i + 1]) for i in range(len(questions))]

    def link_frame(
        self,
        texts: Any,
        *,
        whole: bool = False,
        top_k: int = 5,
        context: bool = False,
        context_weight: float = 0.5,
        threads: int | None = None,
    ) -> Any:
        """One polars row per mention: row (index of the text), start, end, mention,
        alias, nodes and scores (lists of u32 and f32, best first). Fast: no Python
        object per candidate."""
        import polars as pl

        self._check(context)
        texts = _texts(texts)
        # Flat columns from Rust (mention strings included), so no Python object
        # per candidate and none per mention beyond its string.
        rows, starts, ends, alias_ids, alias_names, offsets, nodes, scores, mentions = self._core._link(
            texts, [whole], top_k=top_k, context=context, context_weight=context_weight, threads=threads, mentions=True
        )
        lengths = np.diff(offsets)
        return pl.DataFrame(
            [
                pl.Series("row", rows),
                pl.Series("start", starts),
                pl.Series("end", ends),
                pl.Series("mention", mentions, dtype=pl.String),
                pl.Series("alias", alias_names, dtype=pl.String).gather(pl.Series(alias_ids)),
                _lists("nodes", pl.Series(nodes), lengths, pl.UInt32),
                _lists("scores", pl.Series(scores), lengths, pl.Float32),
            ]
        )

    def count(self, texts: Any, *, threads: int | None = None) -> int:
        """How many mentions the texts hold (no candidates, no objects): for benchmarks."""
        return self._core._count(_texts(texts), threads=threads)


def _lists(name: str, values: Any, lengths: Any, dtype: Any) -> Any:
    """A polars list column from flat values and per-row lengths (CSR), built by
    polars itself: each row's values are one group of a sorted group id."""
    import polars as pl

    if len(lengths) and lengths.min() > 0:
        group = pl.Series("group", np.repeat(np.arange(len(lengths), dtype=np.uint32), lengths)).set_sorted()
        return (
            pl.DataFrame([group, values.alias(name)])
            .group_by("group", maintain_order=True)
            .agg(pl.col(name))
            .get_column(name)
            .cast(pl.List(dtype))
        )
    # Some rows without values (top_k=0) or no rows: the slow way, row by row.
    out, at, flat = [], 0, values.to_list()
    for n in lengths.tolist():
        out.append(flat[at : at + n])
        at += n
    return pl.Series(name, out, dtype=pl.List(dtype))


def linker_for(graph: Any, **options: Any) -> Linker:
    """The linker of an opened graph, built once per graph object and options."""
    key = ("_kale_linker", tuple(sorted(options.items())))
    cache = getattr(graph, "__dict__", None)
    if cache is not None and key in cache:
        return cache[key]
    linker = Linker.build(graph, **options)
    if cache is not None:
        cache[key] = linker
    return linker
