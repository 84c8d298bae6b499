"""The per-micro-batch training objective for each mode (ka, sft, rationale-sft, ka+sft).

The losses apply the LM head themselves (to answer positions only, never materialising full
logits), so they read the head weight directly. :class:`ObjectiveModule` makes the whole
objective the ``forward`` of one module that owns the model: under FSDP every parameter that
the loss touches is then gathered for that forward and its gradient is reduce-scattered by
FSDP's own backward hooks, exactly as for a weight used inside the model.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from kale.train.config import TrainConfig
from kale.train.cross_entropy import linear_cross_entropy
from kale.train.losses import linear_kl_loss


def final_hidden(model, ids, attn):
    # logits_to_keep=1 stops the model projecting every position onto the vocabulary; the
    # losses apply the head themselves, to answer positions only.
    out = model(input_ids=ids, attention_mask=attn, output_hidden_states=True, logits_to_keep=1, use_cache=False)
    return out.hidden_states[-1]


class Objective:
    def __init__(self, cfg: TrainConfig, model):
        self.cfg = cfg
        self.frozen = None
        uses_target = cfg.mode in ("ka", "ka+sft")
        if uses_target and cfg.target == "frozen" and not cfg.lora:
            # LoRA needs no copy: disabling the adapter gives the starting model.
            self.frozen = copy.deepcopy(model).eval().requires_grad_(False)

    def to(self, device) -> None:
        if self.frozen is not None:
            self.frozen.to(device)

    def _head(self, model) -> torch.Tensor:
        return model.get_output_embeddings().weight

    def _target_hidden(self, model, batch):
        was_training = model.training
        model.eval()  # a deterministic target: no dropout in the q branch
        try:
            with torch.no_grad():
                if self.frozen is not None:
                    return final_hidden(self.frozen, batch["q_ids"], batch["q_attn"]), self._head(self.frozen)
                if self.cfg.target == "frozen":  # LoRA: the base model is the frozen start
                    with model.disable_adapter():
                        return final_hidden(model, batch["q_ids"], batch["q_attn"]), None
                return final_hidden(model, batch["q_ids"], batch["q_attn"]), None
        finally:
            model.train(was_training)

    def __call__(self, model, batch, norm) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``model`` is the (Peft or HF) model itself, not a DDP/FSDP wrapper: call this from
        inside :class:`ObjectiveModule`'s forward so that wrappers see one forward."""
        cfg = self.cfg
        head = self._head(model)
        device_type = head.device.type
        if cfg.mode == "rationale-sft":
            h = final_hidden(model, batch["q_ids"], batch["q_attn"])
            with torch.autocast(device_type, enabled=False):
                ce = linear_cross_entropy(
                    h[batch["q_target"]], head, batch["q_labels"], chunk_size=cfg.loss_chunk_size, normalizer=norm
                )
            return ce, {"loss": ce.detach(), "ce": ce.detach()}
        pieces: dict[str, torch.Tensor] = {}
        loss = None
        uses_target = cfg.mode in ("ka", "ka+sft")
        # The no-grad target pass goes first (it once had to, for DDP; it costs nothing).
        if uses_target:
            h_q, head_q = self._target_hidden(model, batch)
        h_p = final_hidden(model, batch["p_ids"], batch["p_attn"])[batch["p_answer"]]
        # The losses accumulate in fp32 themselves; autocast would recast their matmuls.
        if uses_target:
            with torch.autocast(device_type, enabled=False):
                loss = linear_kl_loss(
                    h_p,
                    h_q[batch["q_answer"]],
                    head,
                    weight_q=head_q,
                    implementation=cfg.loss_implementation,
                    divergence=cfg.divergence,
                    beta=cfg.beta,
                    temperature=cfg.temperature,
                    chunk_size=cfg.loss_chunk_size,
                    normalizer=norm,
                )
            pieces["kl"] = loss.detach()
        if cfg.mode in ("sft", "ka+sft"):
            with torch.autocast(device_type, enabled=False):
                ce = linear_cross_entropy(h_p, head, batch["p_labels"], chunk_size=cfg.loss_chunk_size, normalizer=norm)
            pieces["ce"] = ce.detach()
            loss = ce if loss is None else loss + cfg.ce_weight * ce
        pieces["loss"] = loss.detach()
        return loss, pieces


class ObjectiveModule(nn.Module):
    """The model plus the objective as one module: ``forward(batch, norm)`` -> loss.

    This is what accelerate prepares (DDP or FSDP wraps it), so the LM-head weight the fused
    losses read is used inside a wrapped forward. It deliberately has no
    ``get_input_embeddings``/``get_output_embeddings``: accelerate's FSDP2 preparation would
    otherwise shard the head in a unit of its own that is gathered only around the head's own
    forward. Here the embeddings, final norm and head stay in the root unit, gathered for the
    whole objective; the decoder layers are sharded one unit each (``_no_split_modules``).
    The frozen target copy (``target=frozen`` without LoRA) lives in ``objective``, not as a
    submodule: it is neither trained nor sharded.
    """

    def __init__(self, objective: Objective, model: nn.Module):
        super().__init__()
        self.model = model
        self.objective = objective  # a plain object, not registered as a submodule
        self._no_split_modules = list(getattr(model, "_no_split_modules", None) or [])
        self.pieces: dict[str, torch.Tensor] = {}

    def forward(self, batch: dict[str, torch.Tensor], norm: float) -> torch.Tensor:
        """The loss; its detached parts (for logging) are left in ``self.pieces``.

        ``norm`` is a Python float and the parts do not pass through the return value because
        FSDP2's mixed-precision policy casts the root's floating-point inputs and outputs to
        bf16: a tensor normaliser would be rounded (1234 -> 1232) and the logs with it. The
        returned loss is cast too, which is harmless: its gradient is 1."""
        loss, self.pieces = self.objective(self.model, batch, norm)
        return loss
