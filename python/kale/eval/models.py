"""Load the model under evaluation, from where kale.model_source resolves it."""

from __future__ import annotations

from pathlib import Path

from kale.exceptions import KaleValueError
from kale.model_source import resolve_model


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
