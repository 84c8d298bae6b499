"""Output of a synthesis run: a folder of Parquet parts, each written to a temporary
name and renamed when complete, so a crash or Ctrl-C loses at most the batch in flight
and a rerun skips every id already written."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

SCHEMA = {
    "id": pl.String,
    "question": pl.String,
    "choices": pl.List(pl.String),
    "answer": pl.Int64,
    "answer_text": pl.String,
    "passage": pl.String,
    "subject": pl.String,
    "source": pl.String,
    "q_entities": pl.List(pl.String),
    "a_entities": pl.List(pl.String),
    "q_entity_labels": pl.List(pl.String),
    "a_entity_labels": pl.List(pl.String),
    "path_nodes": pl.List(pl.List(pl.String)),
    "path_relations": pl.List(pl.List(pl.String)),
    "path_forward": pl.List(pl.List(pl.Boolean)),
    "paths_text": pl.List(pl.String),
    "paths_truncated": pl.Boolean,
    "rationale": pl.String,
    "writer": pl.String,
    "prompt_hash": pl.String,
    "judge_choice": pl.Int64,  # null: no judge, or no rationale to judge
    "judge_correct": pl.Boolean,
    "ok": pl.Boolean,
    "failures": pl.List(pl.String),
}


def part_files(out: Path) -> list[Path]:
    return sorted(out.glob("part-*.parquet"))


def done_ids(out: Path) -> set[str]:
    if not out.is_dir():
        return set()
    ids: set[str] = set()
    for f in part_files(out):
        ids.update(pl.read_parquet(f, columns=["id"])["id"].to_list())
    return ids


def write_part(out: Path, tag: str, rows: list[dict]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    n = len(part_files(out))
    while True:
        final = out / f"part-{tag}-{n:05d}.parquet"
        if not final.exists():
            break
        n += 1
    tmp = out / f".{final.name}.tmp-{os.getpid()}"
    pl.DataFrame(rows, schema=SCHEMA).write_parquet(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    return final


def read_all(out: Path) -> pl.DataFrame:
    files = part_files(out)
    if not files:
        return pl.DataFrame(schema=SCHEMA)
    # diagonal: parts written before a column existed (the judge's) read as null there
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
