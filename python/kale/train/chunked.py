"""One chunked pass for the losses of a linear head: the CE and KL references share it.

Logits for a few rows at a time in float32, each loss's own function turns them into the
chunk's summed loss and its gradient w.r.t. the logits, and the hidden-state and head
gradients are accumulated in the same pass: nothing of size [rows x vocab] is kept for
backward, and backward only rescales what forward saved. Peak memory is the head weight,
its float32 gradient and a few [chunk x vocab] buffers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

# Rows per chunk: a trade between scratch memory (about five [rows x vocab] float32 buffers)
# and speed. Every chunk streams the whole head weight ~5 times (two logit matmuls, the
# hidden-state gradient, the read-modify-write of the weight gradient), so small chunks are
# memory-bound: on the 2-core CPU at vocab 152k, N=1024, 32-row chunks took 44 s, 128 rows
# 26 s, 256 rows 23 s. The default allows 384 MiB of scratch (~130 rows at vocab 152k: peak
# ~1.35x the weight+gradient floor) and never more than 256 rows, past which nothing is gained.
# Walking the vocabulary in slices to keep 256-row chunks lean was measured too: recomputing
# the logits made it no faster than small chunks, so it is not used.
DEFAULT_CHUNK_BYTES = 384 * 2**20
MAX_CHUNK_ROWS = 256

# (logits of the chunk's rows, float32 and free to overwrite; the rows; the float32 head)
#   -> (the chunk's summed loss, its gradient w.r.t. those logits)
ChunkLoss = Callable[[Tensor, slice, Tensor], tuple[Tensor, Tensor]]


def default_chunk_rows(vocab: int, n_rows: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    return max(1, min(n_rows, MAX_CHUNK_ROWS, chunk_bytes // (5 * 4 * max(vocab, 1))))


class ChunkedLinearLoss(torch.autograd.Function):
    """``apply(hidden, weight, chunk_loss, chunk, norm, name)``: the summed ``chunk_loss`` of
    ``hidden @ weight^T``, ``chunk`` rows at a time, divided by ``norm``. ``name`` is the loss's,
    for the error of a second backward."""

    @staticmethod
    def forward(ctx, hidden, weight, chunk_loss: ChunkLoss, chunk: int, norm: Tensor, name: str):
        w32 = weight.float()
        need_w = ctx.needs_input_grad[1]
        grad_h = torch.empty(hidden.shape, dtype=torch.float32, device=hidden.device)
        grad_w = torch.zeros_like(w32) if need_w else None
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk):
            rows = slice(start, start + chunk)
            h = hidden[rows].float()
            loss, g = chunk_loss(torch.mm(h, w32.t()), rows, w32)
            total += loss
            torch.mm(g, w32, out=grad_h[rows])
            if need_w:
                grad_w.addmm_(g.t(), h)
        inv_norm = 1.0 / norm
        ctx.save_for_backward(
            grad_h.mul_(inv_norm).to(hidden.dtype), grad_w.mul_(inv_norm).to(weight.dtype) if need_w else None
        )
        ctx.used = False
        ctx.name = name
        return total * inv_norm

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        if ctx.used:
            raise RuntimeError(
                f"{ctx.name} backward can run once (its gradients are scaled in place); "
                "recompute the loss instead of retain_graph"
            )
        ctx.used = True
        grad_h, grad_w = ctx.saved_tensors
        # In place so the [V, H] gradient is not copied; grad_out is 1 in ordinary training.
        grad_h = grad_h.mul_(grad_out.to(grad_h.dtype))
        if grad_w is not None:
            grad_w = grad_w.mul_(grad_out.to(grad_w.dtype))
        return grad_h, grad_w, None, None, None, None
