"""Knowledge-aware training steps per second and peak memory: kale's objective against the
two-forward full-logits baseline (what TRL's GKD trainer and a plain transformers loop do).

    python benches/bench_train_step.py --device cuda               # SmolLM2-135M shape, bf16
    python benches/bench_train_step.py --device cuda --vocab 151936
    python benches/bench_train_step.py --device cpu --tiny         # seconds, checks it runs

One KA step = the target branch (prompt + rationale + answer) under no_grad, the trained branch
(prompt + answer), KL over the answer tokens, backward, AdamW step. Implementations:
  fused       kale's objective with the fused Triton loss (CUDA only)
  reference   kale's objective with the chunked PyTorch loss
  two-forward both branches through the model's own LM head (full [batch, length, vocab]
              logits), answer rows upcast to fp32, log-softmax, KL: the baseline to beat
The model is randomly initialised with SmolLM2-135M's shape (or --model PATH), so the bench
needs no download. Each implementation runs in a fresh subprocess so its peak is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(args, torch):
    from transformers import AutoModelForCausalLM, LlamaConfig

    dtype = getattr(torch, args.dtype)
    if args.model:
        return AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype).to(args.device)
    if args.tiny:
        shape = dict(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2
        )
    else:  # SmolLM2-135M
        shape = dict(
            hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3
        )
    cfg = LlamaConfig(vocab_size=args.vocab, tie_word_embeddings=True, max_position_embeddings=4096, **shape)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(cfg, dtype=dtype).to(args.device)


def _batch(args, torch, vocab):
    """Random token rows of fixed lengths; the answer is the last ``answer`` tokens of both."""
    g = torch.Generator().manual_seed(1)
    b, a = args.batch, args.answer
    prompt = torch.randint(0, vocab, (b, args.prompt), generator=g)
    rationale = torch.randint(0, vocab, (b, args.rationale), generator=g)
    answer = torch.randint(0, vocab, (b, a), generator=g)
    p_ids = torch.cat([prompt, answer], 1)
    q_ids = torch.cat([prompt, rationale, answer], 1)

    def predicts_answer(ids):
        # Position t predicts token t+1: the rows before each answer token.
        m = torch.zeros(ids.shape, dtype=torch.bool)
        m[:, ids.shape[1] - a - 1 : ids.shape[1] - 1] = True
        return m

    batch = {
        "p_ids": p_ids,
        "p_attn": torch.ones_like(p_ids),
        "q_ids": q_ids,
        "q_attn": torch.ones_like(q_ids),
        "p_answer": predicts_answer(p_ids),
        "q_answer": predicts_answer(q_ids),
        "p_labels": answer.reshape(-1),
    }
    return {k: v.to(args.device) for k, v in batch.items()}


def _two_forward_loss(model, batch, norm, torch):
    model.eval()
    with torch.no_grad():
        z_q = (
            model(input_ids=batch["q_ids"], attention_mask=batch["q_attn"], use_cache=False)
            .logits[batch["q_answer"]]
            .float()
        )
    model.train()
    z_p = (
        model(input_ids=batch["p_ids"], attention_mask=batch["p_attn"], use_cache=False)
        .logits[batch["p_answer"]]
        .float()
    )
    logp = torch.log_softmax(z_p, -1)
    logq = torch.log_softmax(z_q, -1)
    return (logp.exp() * (logp - logq)).sum() / norm


def measure(args) -> dict:
    import torch

    from kale.train.config import TrainConfig
    from kale.train.objective import Objective, ObjectiveModule

    cuda = args.device == "cuda"
    model = _model(args, torch)
    vocab = model.get_output_embeddings().weight.shape[0]
    batch = _batch(args, torch, vocab)
    norm = float(batch["p_answer"].sum())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    if args.impl == "two-forward":

        def loss_fn():
            return _two_forward_loss(model, batch, norm, torch)
    else:
        cfg = TrainConfig(mode="ka", loss_implementation=args.impl)
        module = ObjectiveModule(Objective(cfg, model), model)

        def loss_fn():
            return module(batch, norm)

    def step() -> float:
        loss = loss_fn()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss)

    first_loss = step()
    for _ in range(2):  # warm-up: Triton compilation, cuBLAS heuristics, allocator, AdamW state
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()  # float(loss) waits for the GPU, so each step is timed to its end
        times.append(time.perf_counter() - t0)
    seconds = sorted(times)[len(times) // 2]  # the median step: robust to a stray slow one
    tokens = batch["p_ids"].numel() + batch["q_ids"].numel()
    return {
        "impl": args.impl,
        "seconds_per_step": seconds,
        "tokens_per_s": tokens / seconds,
        "answer_tokens_per_s": norm / seconds,
        "first_loss": first_loss,
        "peak_bytes": torch.cuda.max_memory_allocated() if cuda else None,
        "vocab": vocab,
    }


def _child(args, impl: str) -> dict:
    cmd = [sys.executable, __file__, "--child", impl]
    for key in ("device", "dtype", "vocab", "batch", "prompt", "rationale", "answer", "steps"):
        cmd += [f"--{key}", str(getattr(args, key))]
    if args.model:
        cmd += ["--model", args.model]
    if args.tiny:
        cmd.append("--tiny")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"impl": impl, "error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--model", help="a Hugging Face model folder instead of the random one")
    ap.add_argument("--tiny", action="store_true", help="a 2-layer model (checks the bench runs)")
    ap.add_argument("--vocab", type=int, default=49152)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--prompt", type=int, default=192)
    ap.add_argument("--rationale", type=int, default=128)
    ap.add_argument("--answer", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--impls", nargs="*")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        args.impl = args.child
        print(json.dumps(measure(args)))
        return
    impls = args.impls or (
        ["two-forward", "reference", "fused"] if args.device == "cuda" else ["two-forward", "reference"]
    )
    print(
        f"device={args.device} dtype={args.dtype} batch={args.batch} prompt={args.prompt} "
        f"rationale={args.rationale} answer={args.answer} vocab={args.vocab} "
        f"steps={args.steps} (KA step: target forward, trained forward, KL, backward, AdamW)"
    )
    rows = {impl: _child(args, impl) for impl in impls}
    base = rows.get("two-forward", {})
    print(
        f"{'impl':>12} {'median s/step':>13} {'tokens/s':>10} {'peak GB':>8} {'speed vs 2-fwd':>14} "
        f"{'peak vs 2-fwd':>13} {'first loss':>10}"
    )
    for impl, r in rows.items():
        if "error" in r:
            print(f"{impl:>12} failed: {r['error']}")
            continue
        peak = r["peak_bytes"]
        speed = base["seconds_per_step"] / r["seconds_per_step"] if "seconds_per_step" in base else float("nan")
        mem = peak / base["peak_bytes"] if peak and base.get("peak_bytes") else float("nan")
        print(
            f"{impl:>12} {r['seconds_per_step']:>13.4f} {r['tokens_per_s']:>10.0f} "
            f"{(peak or 0) / 1e9:>8.2f} {speed:>13.2f}x {mem:>12.2f}x {r['first_loss']:>10.4f}"
        )
    if os.environ.get("KALE_BENCH_JSON"):
        with open(os.environ["KALE_BENCH_JSON"], "w") as fh:
            json.dump(list(rows.values()), fh, indent=1)


if __name__ == "__main__":
    main()
