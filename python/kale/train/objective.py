"""The per-micro-batch training objective for each mode (ka, sft, rationale-sft, ka+sft)."""

from __future__ import annotations

import copy

import torch

from kale.train.config import TrainConfig
from kale.train.cross_entropy import linear_cross_entropy
from kale.train.losses import linear_kl_loss


def final_hidden(model, ids, attn):
    # logits_to_keep=1 stops the model projecting every position onto the vocabulary; the
    # losses apply the head themselves, to answer positions only.
    out = model(input_ids=ids, attention_mask=attn, output_hidden_states=True,
                logits_to_keep=1, use_cache=False)
    return out.hidden_states[-1]


class Objective:
    def __init__(self, cfg: TrainConfig, model):
        self.cfg = cfg
        self.base = model  # unwrapped: the head weight and LoRA's adapter switch live here
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
                    return final_hidden(self.frozen, batch["q_ids"], batch["q_attn"]), \
                        self._head(self.frozen)
                if self.cfg.target == "frozen":  # LoRA: the base model is the frozen start
                    with self.base.disable_adapter():
                        return final_hidden(model, batch["q_ids"], batch["q_attn"]), None
                return final_hidden(model, batch["q_ids"], batch["q_attn"]), None
        finally:
            model.train(was_training)

    def __call__(self, model, batch, norm) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.cfg
        head = self._head(self.base)
        device_type = head.device.type
        if cfg.mode == "rationale-sft":
            h = final_hidden(model, batch["q_ids"], batch["q_attn"])
            with torch.autocast(device_type, enabled=False):
                ce = linear_cross_entropy(h[batch["q_target"]], head, batch["q_labels"],
                                          chunk_size=cfg.loss_chunk_size, normalizer=norm)
            return ce, {"loss": ce.detach(), "ce": ce.detach()}
        pieces: dict[str, torch.Tensor] = {}
        loss = None
        uses_target = cfg.mode in ("ka", "ka+sft")
        # The no-grad target pass goes first so that, under DDP, the forward that backward
        # follows is the last one through the wrapper.
        if uses_target:
            h_q, head_q = self._target_hidden(model, batch)
        h_p = final_hidden(model, batch["p_ids"], batch["p_attn"])[batch["p_answer"]]
        # The losses accumulate in fp32 themselves; autocast would recast their matmuls.
        if uses_target:
            with torch.autocast(device_type, enabled=False):
                loss = linear_kl_loss(
                    h_p, h_q[batch["q_answer"]], head, weight_q=head_q,
                    implementation=cfg.loss_implementation, divergence=cfg.divergence,
                    beta=cfg.beta, temperature=cfg.temperature,
                    chunk_size=cfg.loss_chunk_size, normalizer=norm)
            pieces["kl"] = loss.detach()
        if cfg.mode in ("sft", "ka+sft"):
            with torch.autocast(device_type, enabled=False):
                ce = linear_cross_entropy(h_p, head, batch["p_labels"],
                                          chunk_size=cfg.loss_chunk_size, normalizer=norm)
            pieces["ce"] = ce.detach()
            loss = ce if loss is None else loss + cfg.ce_weight * ce
        pieces["loss"] = loss.detach()
        return loss, pieces
