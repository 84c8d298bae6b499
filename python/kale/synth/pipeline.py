"""`kale synth`: questions -> linked entities -> paths -> rationales -> checked rows.

    questions ─▶ link E_q, E_a ─▶ multi-path A* ─▶ verbalise ─▶ writer ─▶ checks ─▶ Parquet part

`SynthBatch` does one batch, up to the rows; `synthesise` splits the questions, skips
finished ids and writes each batch's rows as a part. The local engine calls SynthBatch
in this process; the Ray engine (ray_engine.py) calls the same SynthBatch in workers.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from kale.data.schema import Question
from kale.exceptions import KaleValueError
from kale.locks import lock, remove_leftovers
from kale.synth.checks import check_rationale
from kale.synth.judge import WRONG as JUDGE_WRONG
from kale.synth.knowledge import Knowledge, PathSettings, gather
from kale.synth.prompts import Prompt, load_prompt
from kale.synth.store import check_same_setup, done_ids, drop_writer_failures, read_all, write_part
from kale.synth.writers import WriterSpec


@dataclass
class SynthSummary:
    questions: int = 0
    skipped_done: int = 0
    requeued: int = 0  # rows whose writer had failed, taken out to be written again (--retry-failed)
    writer_failed: int = 0
    written: int = 0
    with_entities: int = 0
    with_paths: int = 0
    ok: int = 0
    path_lengths: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, rows: list[dict]) -> None:
        for row in rows:
            self.written += 1
            self.with_entities += bool(row["q_entities"] and row["a_entities"])
            self.with_paths += bool(row["path_nodes"])
            self.ok += row["ok"]
            self.writer_failed += any(f.startswith("writer: ") for f in row["failures"])
            self.path_lengths.update(len(r) for r in row["path_relations"])
            # one count per kind of failure: "names a wrong choice ('atlas'), ..." and the like
            self.failures.update(re.sub(r" \('.*?'\)", "", f) for f in row["failures"])

    def lines(self) -> list[str]:
        n = max(self.written, 1)
        out = [
            f"{self.written:,} rows written ({self.skipped_done:,} already done) in {self.seconds:.1f} s",
            f"questions with entities on both sides: {self.with_entities:,} ({self.with_entities / n:.0%})",
            f"questions with at least one path:     {self.with_paths:,} ({self.with_paths / n:.0%})",
            f"rationales passing the checks:        {self.ok:,} ({self.ok / n:.0%})",
        ]
        if self.path_lengths:
            out.append(
                "path lengths (hops: count): " + ", ".join(f"{k}: {v}" for k, v in sorted(self.path_lengths.items()))
            )
        for reason, count in self.failures.most_common(5):
            out.append(f"failed check: {count:,} × {reason}")
        if self.requeued:
            out.append(f"{self.requeued:,} rows whose writer had failed were written again (--retry-failed)")
        if self.writer_failed:
            out.append(
                f"{self.writer_failed:,} rows failed in the writer (server, network, timeout); rerun with --retry-failed to try them again"
            )
        return out


def parse_shard(shard: str | None) -> tuple[int, int]:
    if not shard:
        return 0, 1
    try:
        i, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise KaleValueError(f"--shard must look like i/n (e.g. 0/4), not {shard!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise KaleValueError(f"--shard {shard}: need 0 <= i < n")
    return i, n


@dataclass(frozen=True)
class SynthJob:
    """A batch's inputs as settings, not loaded objects: picklable and hashable, so a Ray
    worker rebuilds the graph, linker, writer and judge itself (once per process)."""

    graph: str  # the graph directory; memory-mapped, cheap to open in every worker
    writer: WriterSpec = WriterSpec()
    prompt: Prompt | None = None  # None: the default prompt for `with_paths`
    settings: PathSettings = PathSettings()
    with_paths: bool = True
    judge: str | None = None  # a model for the judge check
    threads: int | None = None


class SynthBatch:
    """The one batch function both engines run: link → paths → verbalise → write → check
    (→ judge) → rows. Called locally it is also the local engine (`map`)."""

    def __init__(
        self,
        graph,
        linker,
        writer,
        prompt: Prompt,
        *,
        settings: PathSettings = PathSettings(),
        with_paths: bool = True,
        judge=None,
        threads: int | None = None,
    ):
        self.graph, self.linker, self.writer, self.prompt = graph, linker, writer, prompt
        self.settings, self.with_paths, self.judge, self.threads = settings, with_paths, judge, threads

    @property
    def setup(self) -> tuple[str, str]:
        """(writer, prompt hash): what every row of one output folder must share."""
        return self.writer.name, self.prompt.hash

    @classmethod
    def from_job(cls, job: SynthJob) -> SynthBatch:
        from kale.graph import Graph
        from kale.link import Linker
        from kale.synth.judge import Judge

        graph = Graph.open(job.graph)
        prompt = job.prompt or load_prompt(with_paths=job.with_paths)
        return cls(
            graph,
            Linker.build(graph),
            job.writer.build(),
            prompt,
            settings=job.settings,
            with_paths=job.with_paths,
            judge=Judge(job.judge) if job.judge else None,
            threads=job.threads,
        )

    def __call__(self, questions: list[Question]) -> list[dict]:
        knowledge = gather(self.graph, self.linker, questions, self.settings, threads=self.threads)
        facts = [k.verbalised if self.with_paths else [] for k in knowledge]
        prompts = [self.prompt.render(q.question, q.choices, q.gold, f) for q, f in zip(questions, facts)]
        written = self.writer.write(prompts, facts, [q.gold for q in questions])
        judged = self.judge.choose(questions, [w.text for w in written]) if self.judge else [None] * len(questions)
        return [self._row(q, k, w, j) for q, k, w, j in zip(questions, knowledge, written, judged)]

    def map(self, batches: Iterable[list[Question]]) -> Iterator[list[dict]]:
        return map(self, batches)

    def _row(self, q: Question, k: Knowledge, w, judge_choice: int | None) -> dict:
        g = self.graph
        # Writers that state the answer by design (template, oracle) are not asked to explain.
        explain = not getattr(self.writer, "states_answer", False)
        failures = (
            [f"writer: {w.error}"]
            if w.error
            else check_rationale(
                w.text, q.answer, len(q.choices), question=q.question, choices=q.choices, explain=explain
            )
        )
        if judge_choice is not None and judge_choice != q.answer:
            failures.append(JUDGE_WRONG)
        return {
            "id": q.id,
            "question": q.question,
            "choices": q.choices,
            "answer": q.answer,
            "answer_text": q.gold,
            "passage": q.passage,
            "subject": q.subject,
            "source": q.source,
            "q_entities": [g.id(n) for n in k.q_entities],
            "a_entities": [g.id(n) for n in k.a_entities],
            "q_entity_labels": [g.name(n) for n in k.q_entities],
            "a_entity_labels": [g.name(n) for n in k.a_entities],
            "path_nodes": [[g.id(n) for n in p.nodes] for p in k.paths],
            "path_relations": [[g.relation_id(r) for r in p.relations] for p in k.paths],
            "path_forward": [list(p.forward) for p in k.paths],
            "paths_text": k.verbalised,
            "paths_truncated": k.truncated,
            "rationale": w.text,
            "writer": self.writer.name,
            "prompt_hash": self.prompt.hash,
            "judge_choice": judge_choice,
            "judge_correct": None if judge_choice is None else judge_choice == q.answer,
            "ok": not failures,
            "failures": failures,
        }


def synthesise(
    questions: list[Question],
    out: Path,
    engine,
    *,
    batch_size: int = 32,
    shard: str | None = None,
    progress: bool = True,
    retry_failed: bool = False,
) -> SynthSummary:
    """Run `engine` (a SynthBatch, or a RayEngine) over this shard's unfinished questions,
    writing each finished batch as one Parquet part from this process. `retry_failed`:
    rows whose writer failed count as unfinished. The shard's share of `out` is locked
    while it runs (other shards may write beside it)."""
    i, n = parse_shard(shard)
    tag = f"{i:03d}of{n:03d}"
    with lock(out / f".synth-{tag}.lock", f"--out {out} (shard {i}/{n})", "kale synth"):
        # parts of this shard that a killed run left half-written
        remove_leftovers(out, rf"\.part-{tag}-\d+\.parquet\.tmp-(?P<pid>\d+)")
        return _synthesise(
            questions, out, engine, i, n, tag, batch_size=batch_size, progress=progress, retry_failed=retry_failed
        )


def _synthesise(
    questions: list[Question],
    out: Path,
    engine,
    i: int,
    n: int,
    tag: str,
    *,
    batch_size: int,
    progress: bool,
    retry_failed: bool,
) -> SynthSummary:
    started = time.perf_counter()
    mine = [q for j, q in enumerate(questions) if j % n == i]
    seen = set()
    duplicates = [q.id for q in mine if q.id in seen or seen.add(q.id)]
    if duplicates:
        raise KaleValueError(f"question ids must be unique; repeated: {duplicates[:5]}")
    if batch_size < 1:
        raise KaleValueError(f"--batch-size must be at least 1, not {batch_size}")
    check_same_setup(out, *engine.setup)
    requeued = drop_writer_failures(out, tag) if retry_failed else 0
    done = done_ids(out)
    todo = [q for q in mine if q.id not in done]
    summary = SynthSummary(questions=len(mine), skipped_done=len(mine) - len(todo), requeued=requeued)
    batches = [todo[s : s + batch_size] for s in range(0, len(todo), batch_size)]
    with tqdm(
        total=len(mine), initial=summary.skipped_done, desc="synth", unit="q", disable=not progress, dynamic_ncols=True
    ) as bar:
        for rows in engine.map(batches):  # in the order batches finish, which need not be the order given
            write_part(out, tag, rows)
            summary.add(rows)
            bar.update(len(rows))
            bar.set_postfix(
                paths=f"{summary.with_paths / max(summary.written, 1):.0%}",
                ok=f"{summary.ok / max(summary.written, 1):.0%}",
            )
    summary.seconds = time.perf_counter() - started
    return summary


__all__ = ["synthesise", "SynthBatch", "SynthJob", "SynthSummary", "read_all", "parse_shard"]
