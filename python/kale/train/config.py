"""Training configuration: one dataclass, loadable from YAML, overridable with key=value.

Kept apart from the trainer (as TRL does) so a run is fully described by one YAML file, which
the trainer stores in every checkpoint to detect a resume with a changed configuration.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kale.train.divergences import DIVERGENCES
from kale.train.errors import KaleTrainError

MODES = ("ka", "sft", "rationale-sft", "ka+sft")
TARGETS = ("self", "frozen")

# Each mode's default learning rate, from a sweep on 200 held-out CommonsenseQA training
# questions with SmolLM2-135M-Instruct (docs/training.md): KA was best at 1e-5 in both
# directions (3e-5 and 1e-4 fell below the base model; gradients are clipped at norm 1, and
# the KL's gradient is dominated by non-answer mass, so a larger rate moves format, not
# answers). A per-mode table, so a mode can get its own rate when a sweep says so.
LEARNING_RATES = {"ka": 1e-5, "ka+sft": 1e-5, "sft": 1e-5, "rationale-sft": 1e-5}

# Fields that may change between an interrupted run and its resume without changing what is
# being trained (where things go, how often to log/save, how long to run).
RESUMABLE_CHANGES = frozenset(
    {
        "output_dir",
        "max_steps",
        "epochs",
        "save_every",
        "keep_checkpoints",
        "log_every",
        "tensorboard",
        "progress",
        "resume",
        "merge_lora",
        "preflight",
    }
)


@dataclass
class TrainConfig:
    # What to train on and where to write.
    data: str = ""
    model: str = ""
    gguf_file: str | None = None  # a .gguf inside `model` (e.g. the SmolLM2 package)
    output_dir: str = "runs/kale-train"

    # The objective (docs/training.md). The paper prints reverse KL; forward KL is the default
    # because it is the direction that teaches when measured: with rationales that state the
    # answer, 12 steps of reverse KL lowered the student's gold probability on the very
    # questions taught (0.21 -> 0.15) where forward KL raised it (0.21 -> 0.44), and on 200
    # held-out questions forward KL gained +6.5 points over base against reverse KL's +3.5.
    mode: str = "ka"
    divergence: str = "forward_kl"
    beta: float = 0.5  # jsd only
    temperature: float = 1.0
    ce_weight: float = 1.0  # ka+sft only: loss = KL + ce_weight * CE
    target: str = "self"  # self: current model under no_grad; frozen: copy of the start model
    loss_implementation: str = "auto"  # auto | reference | fused | naive
    loss_chunk_size: int | None = None

    # Prompt construction (kale.train.data). eval: the prompt kale eval scores, rationale
    # on an "Explanation:" line before the answer; chat: instruction + lettered choices in a
    # chat user turn, rationale and answer in the assistant turn.
    prompt_format: str = "eval"  # eval | chat
    eval_mode: str = "auto"  # eval format: auto (the row's benchmark's own) | choice | lettered | generate
    use_chat_template: bool | None = None  # None: as the format does (eval: no, as kale eval; chat: yes)
    instruction: str = "Answer the question."  # chat format only
    rationale_position: str = "assistant"  # chat format: assistant (before the answer) | user
    answer_cue: str = "Answer:"  # chat format only
    # eval format: solved examples before each question, the ones `kale eval --shots` shows
    # (the benchmark's few-shot split, shuffled with kale eval's default seed).
    shots: int = 0
    shots_seed: int = 1234
    max_length: int = 1024
    on_bad_row: str = "skip"  # skip | error

    # The teachable signal (kale.train.diagnose): measured before training (not for sft); with
    # min_teacher_gain set, only rows where the with-rationale branch gives the gold answer
    # more than this much more probability among the choices than the student are trained on
    # (in every mode, sft included, so arms compared at equal data train on the same rows).
    preflight: bool = True
    min_teacher_gain: float | None = None

    # Optimisation.
    seed: int = 0
    epochs: int = 1
    max_steps: int | None = None
    micro_batch_size: int = 4
    grad_accum_steps: int = 1
    learning_rate: float | None = None  # None: the mode's own (LEARNING_RATES)
    weight_decay: float = 0.0
    adam_betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    lr_schedule: str = "constant"  # constant | linear | cosine
    max_grad_norm: float | None = 1.0
    mixed_precision: str = "no"  # no | bf16 | fp16 (accelerate autocast)
    torch_dtype: str = "float32"  # dtype the weights are loaded and kept in
    gradient_checkpointing: bool = False

    # LoRA through peft (optional); merged into a plain model on save when merge_lora.
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    merge_lora: bool = True

    # Bookkeeping.
    save_every: int = 0  # optimizer steps between checkpoints; 0 = only at the end
    keep_checkpoints: int = 2
    log_every: int = 1
    tensorboard: bool = False
    progress: bool = True
    resume: bool = True  # continue from output_dir's latest checkpoint when there is one

    def validate(self) -> TrainConfig:
        def bad(name: str, why: str) -> KaleTrainError:
            return KaleTrainError(f"config field {name!r}: {why} (got {getattr(self, name)!r})")

        for name, allowed in (
            ("mode", MODES),
            ("target", TARGETS),
            ("divergence", DIVERGENCES),
            ("rationale_position", ("assistant", "user")),
            ("prompt_format", ("eval", "chat")),
            ("eval_mode", ("auto", "choice", "lettered", "generate")),
            ("on_bad_row", ("skip", "error")),
            ("lr_schedule", ("constant", "linear", "cosine")),
            ("mixed_precision", ("no", "bf16", "fp16")),
            ("torch_dtype", ("float32", "bfloat16", "float16")),
            ("loss_implementation", ("auto", "reference", "fused", "naive")),
        ):
            if getattr(self, name) not in allowed:
                raise bad(name, f"must be one of {allowed}")
        if not self.data:
            raise bad("data", "a rationales Parquet file is required")
        if not self.model:
            raise bad("model", "a model folder (or GGUF package folder) is required")
        if self.shots < 0:
            raise bad("shots", "must be >= 0")
        if self.shots and self.prompt_format != "eval":
            raise bad("shots", "few-shot examples exist only in prompt_format: eval")
        for name in ("micro_batch_size", "grad_accum_steps", "epochs", "max_length", "keep_checkpoints", "log_every"):
            if getattr(self, name) < 1:
                raise bad(name, "must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise bad("max_steps", "must be >= 1 or null")
        if not self.temperature > 0:
            raise bad("temperature", "must be > 0")
        if not 0.0 <= self.beta <= 1.0:
            raise bad("beta", "must be in [0, 1]")
        if self.learning_rate is None and self.mode in LEARNING_RATES:
            self.learning_rate = LEARNING_RATES[self.mode]
        if self.learning_rate <= 0:
            raise bad("learning_rate", "must be > 0")
        if self.mode == "ka+sft" and self.ce_weight <= 0:
            raise bad("ce_weight", "ka+sft needs ce_weight > 0 (use mode=ka for pure KL)")
        if self.min_teacher_gain is not None and not -1.0 <= self.min_teacher_gain < 1.0:
            raise bad("min_teacher_gain", "must be in [-1, 1) (a difference of probabilities) or null")
        if self.mode == "rationale-sft" and self.prompt_format == "chat" and self.rationale_position != "assistant":
            raise bad(
                "rationale_position", "rationale-sft trains on the rationale, so it must be in the assistant turn"
            )
        if self.save_every < 0:
            raise bad("save_every", "must be >= 0")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["adam_betas"] = list(self.adam_betas)
        return d

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise KaleTrainError(f"unknown config field(s) {unknown}; known: {sorted(names)}")
        hints = typing.get_type_hints(cls)
        return cls(**{k: _coerce(k, v, hints[k]) for k, v in values.items()})

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        import yaml

        text = Path(path).read_text(encoding="utf-8")
        values = yaml.safe_load(text) or {}
        if not isinstance(values, dict):
            raise KaleTrainError(f"{path}: expected a mapping of config fields at top level")
        return cls.from_dict(values)

    def with_overrides(self, overrides: list[str] | tuple[str, ...]) -> TrainConfig:
        """Apply ``key=value`` strings; values are parsed as YAML scalars/lists."""
        import yaml

        values = self.to_dict()
        for item in overrides:
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise KaleTrainError(f"override {item!r} is not of the form key=value")
            if key not in values:
                raise KaleTrainError(f"override {item!r}: unknown config field {key!r}")
            values[key] = yaml.safe_load(raw) if raw.strip() else None
        return TrainConfig.from_dict(values)

    def changes_from(self, saved: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """Fields that differ from a checkpoint's config and would change the training."""
        now = self.to_dict()
        return {k: (saved.get(k), v) for k, v in now.items() if k not in RESUMABLE_CHANGES and saved.get(k) != v}


def _coerce(name: str, value: Any, hint) -> Any:
    """Check a field's type, converting what YAML leaves ambiguous (PyYAML reads ``1e-5``
    as a string, and an int where a float is meant)."""
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    args = typing.get_args(hint) if is_union else ()
    if value is None:
        if type(None) in args:
            return None
        raise KaleTrainError(f"config field {name!r} cannot be null")
    base = next(a for a in args if a is not type(None)) if is_union else hint
    origin = typing.get_origin(base) or base
    try:
        if origin is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if origin is float:
            return float(value)
        if origin is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if origin is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
        if origin in (list, tuple):
            if not isinstance(value, (list, tuple)):
                raise ValueError
            item = typing.get_args(base)[0]
            items = [_coerce(name, v, item) for v in value]
            return tuple(items) if origin is tuple else items
    except (TypeError, ValueError):
        raise KaleTrainError(
            f"config field {name!r}: {value!r} is not a valid {getattr(base, '__name__', base)}"
        ) from None
    return value


def needs_rationale(cfg: TrainConfig) -> bool:
    """Whether training reads the rationale column: every mode but sft, and sft when the
    teacher filter (which compares the branches with and without it) is on."""
    return cfg.mode != "sft" or cfg.min_teacher_gain is not None
