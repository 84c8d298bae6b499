"""Peak memory and time of the knowledge-aware loss: naive vs chunked reference vs fused
(vs Liger-Kernel's fused linear JSD on CUDA when liger_kernel is installed).

    python benches/bench_kl_loss.py            # N=4096, H=896, vocab 49152/128256/151936
    python benches/bench_kl_loss.py --quick    # small sizes, seconds
    python benches/bench_kl_loss.py --device cuda --dtype bfloat16

Each measurement (forward + backward of one loss) runs in a fresh subprocess so the peak is
that of one implementation alone: ru_maxrss on CPU (minus the process's baseline after the
inputs are made), torch.cuda.max_memory_allocated on CUDA. The "floor" column is what any
implementation must hold: the head weight and its gradient plus the hidden states. The fused
Triton kernel runs only on CUDA; on CPU the reference is the product path.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(
    impl: str, n: int, h: int, v: int, device: str, dtype: str, div: str, repeats: int, grad_chunk_mb: int | None = None
) -> dict:
    import torch

    from kale.train.losses import linear_kl_loss

    torch.manual_seed(0)
    dt = getattr(torch, dtype)
    # Peak is measured from here, so it includes the inputs (as the floor does).
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_bytes()
    hp = torch.randn(n, h, device=device, dtype=dt)
    hq = hp.clone().add_(torch.randn(n, h, device=device, dtype=dt), alpha=0.1)
    w = torch.randn(v, h, device=device, dtype=dt).mul_(h**-0.5).requires_grad_()
    hp.requires_grad_()

    # The fused kernel's backward buffer (default 64 MiB) trades memory for fewer launches.
    opts = {"grad_chunk_bytes": grad_chunk_mb * 2**20} if grad_chunk_mb and impl == "fused" else {}
    if impl == "liger":
        loss_fn = _liger(div)
    else:

        def loss_fn(hp, hq, w):
            return linear_kl_loss(hp, hq, w, implementation=impl, divergence=div, **opts)

    def once():
        loss = loss_fn(hp, hq, w)
        loss.backward()
        value = float(loss)
        hp.grad = w.grad = None
        return value

    times, value = [], 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = once()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() if device == "cuda" else _rss_bytes()) - base
    # The first run on CUDA includes Triton compilation; report the best of the rest.
    best = min(times[1:]) if len(times) > 1 else times[0]
    return {"impl": impl, "n": n, "h": h, "v": v, "seconds": best, "loss": value, "peak_bytes": peak}


def _liger(div: str):
    """Liger-Kernel's fused linear JSD with student = p and teacher = q on the same head: its
    beta 1 is the reverse KL, 0 the forward KL (the convention kale's jsd follows)."""
    from liger_kernel.transformers.fused_linear_jsd import LigerFusedLinearJSD

    beta = {"reverse_kl": 1.0, "forward_kl": 0.0, "jsd": 0.5}[div]
    fn = LigerFusedLinearJSD(jsd_beta=beta)
    return lambda hp, hq, w: fn(hp, w, hq, w.detach(), None)


def _child(args) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        args.impl_one,
        "--n",
        str(args.n),
        "--h",
        str(args.h),
        "--v",
        str(args.v),
        "--device",
        args.device,
        "--dtype",
        args.dtype,
        "--divergence",
        args.divergence,
        "--repeats",
        str(args.repeats),
    ]
    if args.grad_chunk_mb:
        cmd += ["--grad-chunk-mb", str(args.grad_chunk_mb)]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"impl": args.impl_one, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (N=512, H=256)")
    ap.add_argument("--device", default="cuda" if _cuda() else "cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--divergence", default="reverse_kl")
    ap.add_argument("--vocab", type=int, nargs="*")
    ap.add_argument("--n", type=int)
    ap.add_argument("--h", type=int)
    ap.add_argument("--v", type=int)
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--impls", nargs="*")
    ap.add_argument("--grad-chunk-mb", type=int, help="the fused backward's buffer size in MiB (default 64)")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print(
            json.dumps(
                measure(
                    args.child,
                    args.n,
                    args.h,
                    args.v,
                    args.device,
                    args.dtype,
                    args.divergence,
                    args.repeats,
                    args.grad_chunk_mb,
                )
            )
        )
        return
    n = args.n or (512 if args.quick else 4096)
    h = args.h or (256 if args.quick else 896)
    vocabs = args.vocab or ([8192, 32000] if args.quick else [49152, 128256, 151936])
    args.repeats = args.repeats or (3 if args.device == "cuda" else 1)
    impls = args.impls or (["naive", "reference", "fused"] if args.device == "cuda" else ["naive", "reference"])
    if not args.impls and args.device == "cuda" and _importable("liger_kernel"):
        impls.append("liger")
    elem = 2 if args.dtype in ("bfloat16", "float16") else 4
    print(
        f"device={args.device} dtype={args.dtype} divergence={args.divergence} "
        f"N={n} H={h} (forward+backward; peak includes inputs)"
    )
    header = (
        f"{'vocab':>7} {'impl':>9} {'seconds':>8} {'peak GB':>8} {'floor GB':>8} "
        f"{'peak/floor':>10} {'time/ref':>8} {'time/fused':>10} {'loss':>10}"
    )
    print(header)
    results = []
    for v in vocabs:
        # Floor: what any implementation holds: the head weight and its gradient, the two
        # hidden-state inputs and the gradient of one.
        floor = 2 * v * h * elem + 3 * n * h * elem
        rows = {}
        for impl in impls:
            args.impl_one, args.n, args.h, args.v = impl, n, h, v
            rows[impl] = _child(args)
        ref = rows.get("reference", {}).get("seconds")
        fused = rows.get("fused", {}).get("seconds")
        for impl, r in rows.items():
            if "error" in r:
                print(f"{v:>7} {impl:>9} failed: {r['error']}")
                continue
            gb = r["peak_bytes"] / 1e9
            print(
                f"{v:>7} {impl:>9} {r['seconds']:>8.3f} {gb:>8.3f} {floor / 1e9:>8.3f} "
                f"{r['peak_bytes'] / floor:>10.2f} "
                f"{(r['seconds'] / ref if ref else float('nan')):>8.2f} "
                f"{(r['seconds'] / fused if fused else float('nan')):>10.2f} "
                f"{r['loss']:>10.5f}"
            )
            results.append(dict(r, floor_bytes=floor))
        sys.stdout.flush()
    if os.environ.get("KALE_BENCH_JSON"):
        with open(os.environ["KALE_BENCH_JSON"], "w") as fh:
            json.dump(results, fh, indent=1)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


if __name__ == "__main__":
    main()
