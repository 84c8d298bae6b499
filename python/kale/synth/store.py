"""Output of a synthesis run: a folder of Parquet parts, each written to a temporary
name and renamed when complete, so a crash or Ctrl-C loses at most the batch in flight
and a rerun skips every id already written. A rerun adds to a folder only rows of the
same writer and prompt, and with --retry-failed first takes out the rows whose writer
failed (a server error, a timeout), so they are written again: every id stays once."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from kale.exceptions import KaleValueError

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


def check_same_setup(out: Path, writer: str, prompt_hash: str) -> None:
    """Refuse to add this run's rows to a folder written by another writer or prompt:
    mixed rows would train and compare as if they were one setup."""
    for f in part_files(out) if out.is_dir() else []:
        for w, h in pl.read_parquet(f, columns=["writer", "prompt_hash"]).unique().iter_rows():
            if (w, h) != (writer, prompt_hash):
                raise KaleValueError(
                    f"{out} holds rows by writer {w!r} with prompt {h}, and this run's are by {writer!r} with prompt {prompt_hash}; "
                    f"write them to another --out (or remove {out}) so the two setups do not mix"
                )


def is_writer_failure(failures: pl.Expr) -> pl.Expr:
    return failures.list.eval(pl.element().str.starts_with("writer: ")).list.any().fill_null(False)


def drop_writer_failures(out: Path, tag: str) -> int:
    """Take the rows whose writer failed out of this shard's parts (`tag`; rewritten
    whole, atomically) and return how many; their ids then count as not done. A crash
    in between loses only rows that would be written again anyway. Other shards' parts
    are left to their own runs, which may be writing beside this one."""
    dropped = 0
    for f in sorted(out.glob(f"part-{tag}-*.parquet")) if out.is_dir() else []:
        df = pl.read_parquet(f)
        failed = df.select(is_writer_failure(pl.col("failures"))).to_series()
        if not failed.any():
            continue
        dropped += int(failed.sum())
        keep = df.filter(~failed)
        if keep.is_empty():
            f.unlink()
        else:
            _write_atomic(keep, f)
    return dropped


def _write_atomic(df: pl.DataFrame, final: Path) -> None:
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    df.write_parquet(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)


def write_part(out: Path, tag: str, rows: list[dict]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    n = len(part_files(out))
    while True:
        final = out / f"part-{tag}-{n:05d}.parquet"
        if not final.exists():
            break
        n += 1
    _write_atomic(pl.DataFrame(rows, schema=SCHEMA), final)
    return final


def read_all(out: Path) -> pl.DataFrame:
    files = part_files(out)
    if not files:
        return pl.DataFrame(schema=SCHEMA)
    # diagonal: parts written before a column existed (the judge's) read as null there
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
