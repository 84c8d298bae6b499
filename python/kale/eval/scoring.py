"""Log-likelihood of continuations and greedy generation with a transformers causal LM.

Tokenisation follows lm-evaluation-harness so numbers are comparable: the context's
trailing whitespace moves into the continuation, the continuation's tokens are those of
`context + continuation` after the context's tokens, and no BOS is added unless asked.
Sequences are left-padded with explicit position ids, so a batched score equals the score of
the same sequence alone, and only the logits at continuation positions are materialised.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from kale.exceptions import KaleValueError


@dataclass(frozen=True)
class ContinuationScore:
    logprob: float  # sum of log p(token) over the continuation's tokens
    n_tokens: int
    is_greedy: bool  # every continuation token is the argmax


def _encode(tokenizer, text: str, add_special_tokens: bool) -> list[int]:
    return tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"]


def encode_pair(tokenizer, context: str, continuation: str, add_bos: bool = False) -> tuple[list[int], list[int]]:
    stripped = context.rstrip()
    continuation = context[len(stripped) :] + continuation
    whole = _encode(tokenizer, stripped + continuation, False)
    ctx = _encode(tokenizer, stripped, False)
    cont = whole[len(ctx) :]
    if whole[: len(ctx)] != ctx:  # a token merged across the boundary; fall back to separate encodes
        cont = _encode(tokenizer, continuation, False)
    if add_bos or not ctx:  # an empty context still needs one token to predict from
        prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        if prefix is None:
            raise KaleValueError("the tokenizer has neither a BOS nor an EOS token to start an empty context")
        ctx = [prefix] + ctx
    if not cont:
        raise KaleValueError(f"continuation {continuation!r} encodes to no tokens")
    return ctx, cont


@dataclass
class _Row:
    ids: list[int]
    entries: list[tuple[int, int, list[int]]]  # (request index, first target position, target tokens)


def _plan_rows(pairs: list[tuple[list[int], list[int]]]) -> list[_Row]:
    """One forward row per request, except single-token continuations sharing a context share a
    row (lettered scoring then costs one forward per question instead of one per option)."""
    rows: list[_Row] = []
    shared: dict[tuple[int, ...], _Row] = {}
    for i, (ctx, cont) in enumerate(pairs):
        if len(cont) == 1:
            row = shared.get(tuple(ctx))
            if row is None:
                row = shared[tuple(ctx)] = _Row(list(ctx), [])
                rows.append(row)
            row.entries.append((i, len(ctx) - 1, cont))
        else:
            rows.append(_Row(ctx + cont[:-1], [(i, len(ctx) - 1, cont)]))
    return rows


def _max_length(model) -> int:
    return int(getattr(model.config, "max_position_embeddings", 0) or 4096)


@torch.inference_mode()
def score_continuations(
    model, tokenizer, requests: list[tuple[str, str]], batch_size: int = 8, add_bos: bool = False
) -> list[ContinuationScore]:
    """log p(continuation | context) for each (context, continuation)."""
    if batch_size < 1:
        raise KaleValueError(f"batch_size must be >= 1, got {batch_size}")
    pairs = [encode_pair(tokenizer, c, x, add_bos) for c, x in requests]
    rows = _plan_rows(pairs)
    limit = _max_length(model)
    for row in rows:  # keep the end: drop tokens from the left of over-long contexts
        cut = max(0, len(row.ids) - limit)
        if cut:
            if any(start - cut < 0 for _, start, _ in row.entries):
                raise KaleValueError(f"a continuation is longer than the model's {limit} positions")
            row.ids = row.ids[cut:]
            row.entries = [(i, start - cut, t) for i, start, t in row.entries]
    order = sorted(range(len(rows)), key=lambda r: -len(rows[r].ids))  # similar lengths batch together
    results: list[ContinuationScore | None] = [None] * len(requests)
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for b in range(0, len(order), batch_size):
        batch = [rows[r] for r in order[b : b + batch_size]]
        width = max(len(r.ids) for r in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for j, r in enumerate(batch):
            ids[j, width - len(r.ids) :] = torch.tensor(r.ids)
            mask[j, width - len(r.ids) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        # the earliest target position, counted from the end, bounds the logits we need
        keep = max(len(r.ids) - start for r in batch for _, start, _ in r.entries)
        out = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            logits_to_keep=keep,
            use_cache=False,
        )
        logprobs = torch.log_softmax(out.logits[:, -keep:].float(), dim=-1)
        for j, r in enumerate(batch):
            for i, start, targets in r.entries:
                first = keep - (len(r.ids) - start)  # index of `start` inside the kept window
                span = logprobs[j, first : first + len(targets)]
                tgt = torch.tensor(targets, device=span.device)
                lp = span.gather(-1, tgt[:, None]).squeeze(-1)
                results[i] = ContinuationScore(float(lp.sum()), len(targets), bool((span.argmax(-1) == tgt).all()))
    return results  # type: ignore[return-value]


def _cache_kwarg(model) -> str:
    # transformers 5.x renamed `past_key_values` to `cache`; older releases only know the former
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _left_pad(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for j, s in enumerate(seqs):
        ids[j, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[j, width - len(s) :] = 1
    return ids, mask


@torch.inference_mode()
def score_choice_groups(
    model, tokenizer, groups: list[tuple[str, list[str]]], batch_size: int = 8, add_bos: bool = False
) -> list[list[ContinuationScore]]:
    """Scores of several continuations of one context each, running each context only once.

    Same numbers as `score_continuations` on the flattened pairs; the context's keys and
    values are computed once and shared by its continuations, which makes multiple-choice
    scoring several times cheaper (a CSQA question has five answers after one long prompt).
    """
    if batch_size < 1:
        raise KaleValueError(f"batch_size must be >= 1, got {batch_size}")
    encoded = []
    for context, conts in groups:
        pairs = [encode_pair(tokenizer, context, c, add_bos) for c in conts]
        if len({tuple(ctx) for ctx, _ in pairs}) > 1:  # a boundary merge changed the context's tokens
            flat = score_continuations(model, tokenizer, [(context, c) for c in conts], batch_size, add_bos)
            encoded.append((None, flat))
        else:
            encoded.append((pairs[0][0], [c for _, c in pairs]))
    todo = [i for i, (ctx, _) in enumerate(encoded) if ctx is not None]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    scored, _ = score_token_groups(model, pad, [encoded[i] for i in todo], batch_size)
    results: list[list[ContinuationScore] | None] = [flat if ctx is None else None for ctx, flat in encoded]
    for i, s in zip(todo, scored):
        results[i] = s
    return results  # type: ignore[return-value]


@torch.inference_mode()
def score_token_groups(
    model,
    pad_id: int,
    groups: list[tuple[list[int], list[list[int]]]],
    batch_size: int = 8,
    keep: list[int] | None = None,
) -> tuple[list[list[ContinuationScore]], list[torch.Tensor | None]]:
    """`score_choice_groups` on token ids: (context ids, [continuation ids, ...]) per group.

    With ``keep`` (one continuation index per group), also returns that continuation's full
    log-probability rows, [its length x vocab] in float32 on the CPU: what the model predicts
    at each of its tokens, teacher-forced (the teachable-signal diagnostic reads them).
    """
    if batch_size < 1:
        raise KaleValueError(f"batch_size must be >= 1, got {batch_size}")
    limit = _max_length(model)
    encoded = []
    for ctx, conts in groups:
        room = max(1, limit - max(len(c) for c in conts))  # drop the context's start if too long
        encoded.append((list(ctx)[-room:], [list(c) for c in conts]))
    results: list[list[ContinuationScore] | None] = [None] * len(encoded)
    kept: list[torch.Tensor | None] = [None] * len(encoded)
    todo = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
    device = next(model.parameters()).device
    pad = pad_id
    for b in range(0, len(todo), batch_size):
        batch = todo[b : b + batch_size]
        ids, mask = _left_pad([encoded[i][0] for i in batch], pad)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            use_cache=True,
            logits_to_keep=1,
        )
        first = torch.log_softmax(out.logits[:, -1].float(), dim=-1)  # predicts each continuation's first token
        owner = [j for j, i in enumerate(batch) for _ in encoded[i][1]]
        conts = [c for i in batch for c in encoded[i][1]]
        width = max(len(c) for c in conts) - 1
        rest = None
        if width > 0:  # feed all but the last token of every continuation, right-padded, after its context
            cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
            index = torch.tensor(owner, device=device)
            cache.batch_select_indices(index)
            tail = torch.full((len(conts), width), pad, dtype=torch.long)
            tail_mask = torch.zeros_like(tail)
            for k, c in enumerate(conts):
                tail[k, : len(c) - 1] = torch.tensor(c[:-1], dtype=torch.long)
                tail_mask[k, : len(c) - 1] = 1
            full_mask = torch.cat([mask.to(device)[index], tail_mask.to(device)], dim=1)
            tail_pos = mask.sum(-1).to(device)[index, None] + torch.arange(width, device=device)[None]
            rest = torch.log_softmax(
                model(
                    input_ids=tail.to(device),
                    attention_mask=full_mask,
                    position_ids=tail_pos,
                    use_cache=True,
                    **{_cache_kwarg(model): cache},
                ).logits.float(),
                dim=-1,
            )
        k = 0
        for j, i in enumerate(batch):
            scores = []
            for n, c in enumerate(encoded[i][1]):
                lps = [first[j, c[0]]] + ([rest[k, t, c[t + 1]] for t in range(len(c) - 1)] if rest is not None else [])
                greedy = bool(first[j].argmax() == c[0]) and all(
                    bool(rest[k, t].argmax() == c[t + 1]) for t in range(len(c) - 1)
                )
                scores.append(ContinuationScore(float(torch.stack(lps).sum()), len(c), greedy))
                if keep is not None and keep[i] == n:
                    rows = [first[j]] + ([rest[k, t] for t in range(len(c) - 1)] if rest is not None else [])
                    kept[i] = torch.stack(rows).cpu()
                k += 1
            results[i] = scores
    return results, kept  # type: ignore[return-value]


@torch.inference_mode()
def generate_texts(
    model,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int = 128,
    batch_size: int = 8,
    stop: tuple[str, ...] = ("\n\n", "\nQ:"),
) -> list[str]:
    """Greedy continuations of each prompt, cut at the first stop string."""
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    outputs: dict[int, str] = {}
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        encoded = [_encode(tokenizer, prompts[i], False) for i in idx]
        width = max(map(len, encoded))
        ids = torch.full((len(idx), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for j, e in enumerate(encoded):
            ids[j, width - len(e) :] = torch.tensor(e)
            mask[j, width - len(e) :] = 1
        gen = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=pad,
        )
        for j, i in enumerate(idx):
            text = tokenizer.decode(gen[j, width:], skip_special_tokens=True)
            for s in stop:
                text = text.split(s)[0]
            outputs[i] = text
    return [outputs[i] for i in range(len(prompts))]


def pick(scores: list[float]) -> int:
    """argmax; ties go to the first choice, as in lm-eval."""
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


__all__ = [
    "ContinuationScore",
    "encode_pair",
    "generate_texts",
    "pick",
    "score_choice_groups",
    "score_continuations",
    "score_token_groups",
]
