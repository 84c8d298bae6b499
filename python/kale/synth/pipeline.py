"""`kale synth`: questions -> linked entities -> paths -> rationales -> checked rows.

    questions ─▶ link E_q, E_a ─▶ multi-path A* ─▶ verbalise ─▶ writer ─▶ checks ─▶ Parquet part
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from kale.data.schema import Question
from kale.exceptions import KaleValueError
from kale.synth.checks import check_rationale
from kale.synth.knowledge import Knowledge, PathSettings, gather
from kale.synth.prompts import Prompt
from kale.synth.store import done_ids, read_all, write_part


@dataclass
class SynthSummary:
    questions: int = 0
    skipped_done: int = 0
    written: int = 0
    with_entities: int = 0
    with_paths: int = 0
    ok: int = 0
    path_lengths: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        n = max(self.written, 1)
        out = [
            f"{self.written:,} rows written ({self.skipped_done:,} already done) in {self.seconds:.1f} s",
            f"questions with entities on both sides: {self.with_entities:,} ({self.with_entities / n:.0%})",
            f"questions with at least one path:     {self.with_paths:,} ({self.with_paths / n:.0%})",
            f"rationales passing the checks:        {self.ok:,} ({self.ok / n:.0%})",
        ]
        if self.path_lengths:
            out.append("path lengths (hops: count): " + ", ".join(f"{k}: {v}" for k, v in sorted(self.path_lengths.items())))
        for reason, count in self.failures.most_common(5):
            out.append(f"failed check: {count:,} × {reason}")
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


def rows_for(graph, questions: list[Question], knowledge: list[Knowledge], writer, prompt: Prompt, with_paths: bool) -> list[dict]:
    facts = [k.verbalised if with_paths else [] for k in knowledge]
    prompts = [prompt.render(q.question, q.choices, q.gold, f) for q, f in zip(questions, facts)]
    written = writer.write(prompts, facts, [q.gold for q in questions])
    rows = []
    for q, k, w in zip(questions, knowledge, written):
        failures = [f"writer: {w.error}"] if w.error else check_rationale(w.text, q.answer, len(q.choices))
        rows.append({
            "id": q.id, "question": q.question, "choices": q.choices, "answer": q.answer, "answer_text": q.gold,
            "passage": q.passage, "subject": q.subject, "source": q.source,
            "q_entities": [graph.id(n) for n in k.q_entities], "a_entities": [graph.id(n) for n in k.a_entities],
            "q_entity_labels": [graph.name(n) for n in k.q_entities], "a_entity_labels": [graph.name(n) for n in k.a_entities],
            "path_nodes": [[graph.id(n) for n in p.nodes] for p in k.paths],
            "path_relations": [[graph.relation_id(r) for r in p.relations] for p in k.paths],
            "path_forward": [list(p.forward) for p in k.paths],
            "paths_text": k.verbalised, "paths_truncated": k.truncated,
            "rationale": w.text, "writer": writer.name, "prompt_hash": prompt.hash,
            "ok": not failures, "failures": failures,
        })
    return rows


def synthesise(graph, linker, questions: list[Question], writer, prompt: Prompt, out: Path, *, settings: PathSettings = PathSettings(),
               with_paths: bool = True, batch_size: int = 32, shard: str | None = None, threads: int | None = None, progress: bool = True) -> SynthSummary:
    started = time.perf_counter()
    i, n = parse_shard(shard)
    mine = [q for j, q in enumerate(questions) if j % n == i]
    seen = set()
    duplicates = [q.id for q in mine if q.id in seen or seen.add(q.id)]
    if duplicates:
        raise KaleValueError(f"question ids must be unique; repeated: {duplicates[:5]}")
    done = done_ids(out)
    todo = [q for q in mine if q.id not in done]
    summary = SynthSummary(questions=len(mine), skipped_done=len(mine) - len(todo))
    tag = f"{i:03d}of{n:03d}"
    with tqdm(total=len(mine), initial=summary.skipped_done, desc="synth", unit="q", disable=not progress, dynamic_ncols=True) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            knowledge = gather(graph, linker, batch, settings, threads=threads)
            rows = rows_for(graph, batch, knowledge, writer, prompt, with_paths)
            write_part(out, tag, rows)
            for k, row in zip(knowledge, rows):
                summary.written += 1
                summary.with_entities += bool(k.q_entities and k.a_entities)
                summary.with_paths += bool(k.paths)
                summary.ok += row["ok"]
                summary.path_lengths.update(p.hops for p in k.paths)
                summary.failures.update(row["failures"])
            bar.update(len(batch))
            bar.set_postfix(paths=f"{summary.with_paths / max(summary.written, 1):.0%}", ok=f"{summary.ok / max(summary.written, 1):.0%}")
    summary.seconds = time.perf_counter() - started
    return summary


__all__ = ["synthesise", "SynthSummary", "read_all", "parse_shard"]
