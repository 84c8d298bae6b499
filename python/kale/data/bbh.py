"""BIG-Bench Hard chain-of-thought exemplars as lm-evaluation-harness ships them.

The `lm-eval` wheel carries the real 3-shot BBH exemplars in
`lm_eval/tasks/bbh/cot_fewshot/<subtask>.yaml` (`fewshot_config.samples`: input and a
chain-of-thought target ending "So the answer is X."). They load as Questions whose one choice
is the final answer X, so they serve as real BBH rows for tests and as few-shot examples.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from kale.data.schema import Question, make_question
from kale.exceptions import InputError, KaleFileNotFoundError

_FINAL = re.compile(r"So the answer is (.+?)\.?\s*$", re.DOTALL)


def lm_eval_bbh_dir() -> Path:
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        raise KaleFileNotFoundError(
            "lm-evaluation-harness is not installed (pip install lm-eval); "
            "its wheel holds the BBH chain-of-thought exemplars"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "tasks" / "bbh" / "cot_fewshot"


def read_lm_eval_bbh_yaml(path: str | Path) -> list[Question]:
    import yaml

    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        samples = config["fewshot_config"]["samples"]
        subtask = config.get("dataset_name") or path.stem
    except (yaml.YAMLError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not an lm-eval BBH task file with fewshot_config.samples ({err})") from None
    out = []
    for i, sample in enumerate(samples, 1):
        final = _FINAL.search(str(sample.get("target", "")))
        if not final:
            raise InputError(f"{path}: sample {i}: target does not end with 'So the answer is ...'")
        out.append(
            make_question(
                str(path),
                i,
                id=f"{subtask}-cot-{i}",
                question=sample.get("input"),
                choices=[final.group(1).strip()],
                answer=0,
                subject=subtask,
                source="bbh",
            )
        )
    return out


def read_lm_eval_bbh_dir(folder: str | Path | None = None) -> list[Question]:
    folder = Path(folder) if folder else lm_eval_bbh_dir()
    files = sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("_"))
    if not files:
        raise KaleFileNotFoundError(f"{folder}: no BBH task .yaml files")
    return [q for f in files for q in read_lm_eval_bbh_yaml(f)]
