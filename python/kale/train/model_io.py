"""Loading the model to train (HF folder or GGUF) and saving a plain HF folder at the end."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from kale.exceptions import KaleError
from kale.model_source import resolve_model
from kale.train.config import TrainConfig
from kale.train.errors import KaleTrainError


def _locate(cfg: TrainConfig) -> tuple[Path, str | None]:
    # The resolver every stage uses; its errors become the training stage's own.
    try:
        return resolve_model(cfg.model, cfg.gguf_file)
    except KaleError as exc:
        raise KaleTrainError(str(exc)) from None


def load_model_and_tokenizer(cfg: TrainConfig):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path, gguf = _locate(cfg)
    kw = {"gguf_file": gguf} if gguf else {}
    tokenizer = AutoTokenizer.from_pretrained(str(path), **kw)
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=getattr(torch, cfg.torch_dtype), **kw)
    if gguf:
        # GGUF weights are dequantised on load; drop the quantizer so the result trains and
        # saves as an ordinary model (save_pretrained refuses a quantised one).
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.get_output_embeddings() is None:
        raise KaleTrainError(f"model {path}: has no output embedding (LM head) to train with")
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if cfg.lora:
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as exc:
            raise KaleTrainError("lora=true needs the peft package") from exc
        model = get_peft_model(
            model,
            LoraConfig(
                r=cfg.lora_r,
                lora_alpha=cfg.lora_alpha,
                lora_dropout=cfg.lora_dropout,
                target_modules=list(cfg.lora_target_modules),
                task_type="CAUSAL_LM",
            ),
        )
    return model, tokenizer


def save_plain_model(model, tokenizer, final: Path, cfg: TrainConfig, state_dict: dict | None = None) -> Path:
    """Write a folder that ``from_pretrained`` loads (safetensors), replacing ``final``
    atomically. LoRA is merged when ``merge_lora``; otherwise only the adapter is saved.
    ``state_dict`` (FSDP: the gathered full weights) replaces the model's own tensors."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if cfg.lora and cfg.merge_lora:
        model = model.merge_and_unload()
    if state_dict is not None:
        model.save_pretrained(str(tmp), state_dict=state_dict)
    else:
        model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final
