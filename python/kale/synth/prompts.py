"""Prompt templates: plain text files with {question}, {choices}, {answer} and {paths}.

The defaults follow the paper (question, gold answer and knowledge paths in, a
rationale out); `rationale_no_paths.txt` is its "w/o KI" ablation. Users pass their own
file with --prompt; its hash is stored with every row so runs stay comparable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kale.exceptions import KaleValueError

FIELDS = ("question", "choices", "answer", "paths")


@dataclass(frozen=True)
class Prompt:
    text: str
    source: str

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def render(self, question: str, choices: list[str], answer: str, paths: list[str]) -> str:
        return self.text.format(
            question=question,
            choices="; ".join(choices),
            answer=answer,
            paths="\n".join(f"- {p}" for p in paths) if paths else "- (none found)",
        )


def load_prompt(path: str | Path | None = None, *, with_paths: bool = True) -> Prompt:
    if path is None:
        name = "rationale.txt" if with_paths else "rationale_no_paths.txt"
        text = resources.files("kale.synth").joinpath("prompts", name).read_text(encoding="utf-8")
        return Prompt(text, f"kale:{name}")
    p = Path(path)
    if not p.is_file():
        raise KaleValueError(f"prompt file {p} does not exist")
    text = p.read_text(encoding="utf-8")
    try:
        text.format(**{f: "" for f in FIELDS})
    except (KeyError, IndexError, ValueError) as e:
        raise KaleValueError(
            f"{p}: the template may only use {{question}}, {{choices}}, {{answer}} and {{paths}} ({e!r}); write {{{{ and }}}} for braces"
        ) from None
    return Prompt(text, str(p))
