"""The repository stands on its own: no file cites notes that live outside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Built from parts so that this file does not match itself.
OUTSIDE = [name + ".md" for name in ("KALE", "DESIGN", "ASSETS")] + [".." + "/shared"]


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / name for name in listed.decode().split("\0") if name]
    return [f for f in files if f.is_file() and b"\0" not in f.read_bytes()[:4096]]


def test_no_file_refers_to_notes_outside_the_repository():
    files = tracked_text_files()
    assert any(f.name == "README.md" for f in files)
    found = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
        for f in files
        for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if any(name in line for name in OUTSIDE)
    ]
    assert not found, "\n".join(found)


def test_the_method_has_its_own_notes():
    text = (ROOT / "docs" / "method.md").read_text(encoding="utf-8")
    for part in ("Knowledge-induced rationales", "Knowledge-aware fine-tuning", "Evaluation"):
        assert part in text
