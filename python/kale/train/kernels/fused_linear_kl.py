"""Fused LM-head projection + KL over the vocabulary, in Triton.

Neither branch's [rows x vocab] logits are ever materialised:

* forward: ``_stats_kernel`` (grid: row blocks x vocab splits) computes logit tiles
  ``h @ W^T`` for both branches with ``tl.dot`` (fp32 accumulation) and folds them into an
  online softmax: running max, running sum and, for the KLs, the running cross term
  ``sum exp(z - max) * (z_p - z_q)``. Per-split partials are merged in torch (O(rows)).
  jsd needs both log-normalisers before it can form log m, so it runs the kernel a second time
  (PASS=2) to sum KL(q||m) and KL(p||m).
* backward: for one vocab chunk at a time ``_grad_logits_kernel`` recomputes the logit tiles
  and writes dL/dz for [rows x chunk] into a bounded buffer; two torch matmuls then give
  dh_p += G @ W[chunk] and dW[chunk] = G^T @ h_p. The buffer is capped at ``grad_chunk_bytes``
  so memory stays at the weight + gradient floor. The price is recomputing the projection once
  in backward (6 vocab-sized GEMMs instead of 4); the matmuls on G stay on cuBLAS.

Rules that keep this source valid under ``TRITON_INTERPRET=1`` (docs/training.md): everything
is upcast to fp32 right after ``tl.load`` when interpreting or for fp32 inputs (UPCAST);
scalars go through ``tl.cast``; no autotune; row/column offsets are int64 because rows x vocab
overflows int32 past ~14k rows at vocab 152k.
"""

from __future__ import annotations

import math
import os

import torch
import triton
import triton.language as tl

from kale.train.loss_contract import kl_inputs, resolve_normalizer, zero_loss

_DIVERGENCE_ID = {"reverse_kl": 0, "forward_kl": 1, "jsd": 2}


@triton.jit
def _logit_tiles(
    HP,
    HQ,
    W,
    WQ,
    rows,
    cols,
    row_ok,
    col_ok,
    H,
    s_hp,
    s_hq,
    s_w,
    s_wq,
    inv_t,
    BLOCK_M: tl.constexpr,
    BLOCK_V: tl.constexpr,
    BLOCK_H: tl.constexpr,
    UPCAST: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # z_p, z_q: [BLOCK_M, BLOCK_V] fp32 tiles of h_p W^T / T and h_q W_q^T / T.
    z_p = tl.zeros((BLOCK_M, BLOCK_V), dtype=tl.float32)
    z_q = tl.zeros((BLOCK_M, BLOCK_V), dtype=tl.float32)
    for h0 in range(0, H, BLOCK_H):
        hk = h0 + tl.arange(0, BLOCK_H)
        h_ok = hk < H
        m_rh = row_ok[:, None] & h_ok[None, :]
        m_hv = h_ok[:, None] & col_ok[None, :]
        hp = tl.load(HP + rows[:, None] * s_hp + hk[None, :], mask=m_rh, other=0.0)
        hq = tl.load(HQ + rows[:, None] * s_hq + hk[None, :], mask=m_rh, other=0.0)
        w = tl.load(W + cols[None, :] * s_w + hk[:, None], mask=m_hv, other=0.0)  # [BH, BV]
        wq = tl.load(WQ + cols[None, :] * s_wq + hk[:, None], mask=m_hv, other=0.0)
        if UPCAST:
            z_p += tl.dot(hp.to(tl.float32), w.to(tl.float32), input_precision=PRECISION)
            z_q += tl.dot(hq.to(tl.float32), wq.to(tl.float32), input_precision=PRECISION)
        else:
            # bf16/fp16 products are exact in fp32, so tensor-core dots lose nothing here.
            z_p += tl.dot(hp, w)
            z_q += tl.dot(hq, wq)
    return z_p * inv_t, z_q * inv_t


@triton.jit
def _stats_kernel(
    HP,
    HQ,
    W,
    WQ,
    PART,
    LSE_P,
    LSE_Q,
    N,
    V,
    H,
    v_per_split,
    s_hp,
    s_hq,
    s_w,
    s_wq,
    inv_t,
    log_beta,
    log_1mbeta,
    DIV: tl.constexpr,
    PASS: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_V: tl.constexpr,
    BLOCK_H: tl.constexpr,
    UPCAST: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # PART: [5, SPLITS, N] fp32 partials. PASS 1: m_p, s_p, m_q, s_q, cross term.
    # PASS 2 (jsd): slot 0 = sum q (log q - log m), slot 1 = sum p (log p - log m).
    pid_m = tl.program_id(0)
    split = tl.program_id(1)
    n_splits = tl.num_programs(1)
    inv_t = tl.cast(inv_t, tl.float32)
    rows = pid_m.to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < N
    v_lo = split.to(tl.int64) * v_per_split
    v_hi = tl.minimum(v_lo + v_per_split, V)
    neg_inf = float("-inf")
    m_p = tl.full((BLOCK_M,), neg_inf, tl.float32)
    m_q = tl.full((BLOCK_M,), neg_inf, tl.float32)
    s_p = tl.zeros((BLOCK_M,), tl.float32)
    s_q = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M,), tl.float32)
    if PASS == 2:
        lse_p = tl.load(LSE_P + rows, mask=row_ok, other=0.0).to(tl.float32)
        lse_q = tl.load(LSE_Q + rows, mask=row_ok, other=0.0).to(tl.float32)
    for v0 in range(v_lo, v_hi, BLOCK_V):
        cols = v0 + tl.arange(0, BLOCK_V).to(tl.int64)
        col_ok = cols < v_hi
        z_p, z_q = _logit_tiles(
            HP,
            HQ,
            W,
            WQ,
            rows,
            cols,
            row_ok,
            col_ok,
            H,
            s_hp,
            s_hq,
            s_w,
            s_wq,
            inv_t,
            BLOCK_M,
            BLOCK_V,
            BLOCK_H,
            UPCAST,
            PRECISION,
        )
        valid = row_ok[:, None] & col_ok[None, :]
        if PASS == 1:
            new_p = tl.maximum(m_p, tl.max(tl.where(valid, z_p, neg_inf), axis=1))
            new_q = tl.maximum(m_q, tl.max(tl.where(valid, z_q, neg_inf), axis=1))
            # Rows past N have no valid column: keep their max finite so exp() stays 0, not NaN.
            new_p = tl.where(row_ok, new_p, 0.0)
            new_q = tl.where(row_ok, new_q, 0.0)
            a_p = tl.exp(m_p - new_p)
            a_q = tl.exp(m_q - new_q)
            e_p = tl.where(valid, tl.exp(z_p - new_p[:, None]), 0.0)
            e_q = tl.where(valid, tl.exp(z_q - new_q[:, None]), 0.0)
            s_p = s_p * a_p + tl.sum(e_p, axis=1)
            s_q = s_q * a_q + tl.sum(e_q, axis=1)
            if DIV == 0:
                acc = acc * a_p + tl.sum(e_p * (z_p - z_q), axis=1)
            elif DIV == 1:
                acc = acc * a_q + tl.sum(e_q * (z_q - z_p), axis=1)
            m_p = new_p
            m_q = new_q
        else:
            logp = z_p - lse_p[:, None]
            logq = z_q - lse_q[:, None]
            a = logp + log_1mbeta
            b = logq + log_beta
            hi = tl.maximum(a, b)
            logm = hi + tl.log(tl.exp(a - hi) + tl.exp(b - hi))
            s_q += tl.sum(tl.where(valid, tl.exp(logq) * (logq - logm), 0.0), axis=1)
            s_p += tl.sum(tl.where(valid, tl.exp(logp) * (logp - logm), 0.0), axis=1)
    base = split.to(tl.int64) * N + rows
    stride = n_splits.to(tl.int64) * N
    if PASS == 1:
        tl.store(PART + base, m_p, mask=row_ok)
        tl.store(PART + stride + base, s_p, mask=row_ok)
        tl.store(PART + 2 * stride + base, m_q, mask=row_ok)
        tl.store(PART + 3 * stride + base, s_q, mask=row_ok)
        tl.store(PART + 4 * stride + base, acc, mask=row_ok)
    else:
        tl.store(PART + base, s_q, mask=row_ok)
        tl.store(PART + stride + base, s_p, mask=row_ok)


@triton.jit
def _grad_logits_kernel(
    HP,
    HQ,
    W,
    WQ,
    G,
    LSE_P,
    LSE_Q,
    AUX,
    SCALE,
    N,
    V,
    H,
    v_start,
    v_len,
    s_hp,
    s_hq,
    s_w,
    s_wq,
    s_g,
    inv_t,
    log_beta,
    log_1mbeta,
    one_m_beta,
    DIV: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_V: tl.constexpr,
    BLOCK_H: tl.constexpr,
    UPCAST: tl.constexpr,
    PRECISION: tl.constexpr,
):
    # G[row, c] = SCALE * dLoss_row / dz_p[row, v_start + c] for c < v_len; AUX holds KL(p||q)
    # (reverse) or KL(p||m) (jsd) per row. SCALE = grad_out / (T * normalizer), read on device.
    pid_m = tl.program_id(0)
    pid_v = tl.program_id(1)
    inv_t = tl.cast(inv_t, tl.float32)
    rows = pid_m.to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < N
    local = pid_v.to(tl.int64) * BLOCK_V + tl.arange(0, BLOCK_V)
    cols = v_start + local
    col_ok = (local < v_len) & (cols < V)
    z_p, z_q = _logit_tiles(
        HP,
        HQ,
        W,
        WQ,
        rows,
        cols,
        row_ok,
        col_ok,
        H,
        s_hp,
        s_hq,
        s_w,
        s_wq,
        inv_t,
        BLOCK_M,
        BLOCK_V,
        BLOCK_H,
        UPCAST,
        PRECISION,
    )
    logp = z_p - tl.load(LSE_P + rows, mask=row_ok, other=0.0)[:, None]
    logq = z_q - tl.load(LSE_Q + rows, mask=row_ok, other=0.0)[:, None]
    p = tl.exp(logp)
    if DIV == 0:
        aux = tl.load(AUX + rows, mask=row_ok, other=0.0)
        g = p * (logp - logq - aux[:, None])
    elif DIV == 1:
        g = p - tl.exp(logq)
    else:
        aux = tl.load(AUX + rows, mask=row_ok, other=0.0)
        a = logp + log_1mbeta
        b = logq + log_beta
        hi = tl.maximum(a, b)
        logm = hi + tl.log(tl.exp(a - hi) + tl.exp(b - hi))
        g = one_m_beta * p * (logp - logm - aux[:, None])
    g = g * tl.load(SCALE).to(tl.float32)
    mask = row_ok[:, None] & col_ok[None, :]
    tl.store(G + rows[:, None] * s_g + local[None, :], g.to(G.dtype.element_ty), mask=mask)


def _interpreting() -> bool:
    # Triton reads this once at import; tests set it before importing triton.
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _blocks(H: int, interpreting: bool) -> tuple[int, int, int]:
    # tl.dot needs every dimension >= 16; the interpreter is fastest with few, large tiles.
    if interpreting:
        return 16, 32, max(16, min(64, triton.next_power_of_2(H)))
    return 32, 128, 64


def fused_linear_kl_forward(h_p, h_q, weight, weight_q, divergence, beta, temperature, norm, opts):
    """Launches the statistics kernel (twice for jsd): returns the loss, the tensors backward
    needs and its constants."""
    n, H = h_p.shape
    V = weight.shape[0]
    # One operand dtype for tl.dot: the head's (hidden states may come out of autocast in
    # another); gradients go back in each input's own dtype.
    dt = weight.dtype
    h_dtype = h_p.dtype
    h_p, h_q = h_p.to(dt).contiguous(), h_q.to(dt).contiguous()
    weight = weight.contiguous()
    weight_q = None if weight_q is None else weight_q.to(dt).contiguous()
    wq = weight if weight_q is None else weight_q
    interp = _interpreting()
    bm, bv, bh = _blocks(H, interp)
    bm, bv = opts.get("block_m", bm), opts.get("block_v", bv)
    div = _DIVERGENCE_ID[divergence]
    upcast = interp or dt == torch.float32
    # fp32 on a GPU: tf32x3 keeps ~fp32 accuracy on tensor cores. The interpreter is exact.
    prec = "ieee" if interp else "tf32x3"
    inv_t = 1.0 / temperature
    log_beta = math.log(beta) if div == 2 else 0.0
    log_1mbeta = math.log1p(-beta) if div == 2 else 0.0
    # Split the vocabulary across programs so small row counts still fill the GPU.
    sms = torch.cuda.get_device_properties(h_p.device).multi_processor_count if h_p.is_cuda else 4
    want = opts.get("splits") or max(1, min(64, (sms * 4) // triton.cdiv(n, bm)))
    v_per = triton.cdiv(triton.cdiv(V, want), bv) * bv
    splits = triton.cdiv(V, v_per)
    part = torch.empty((5, splits, n), dtype=torch.float32, device=h_p.device)
    lse_p = torch.empty(n, dtype=torch.float32, device=h_p.device)
    lse_q = torch.empty_like(lse_p)
    grid = (triton.cdiv(n, bm), splits)
    args = (h_p, h_q, weight, wq)
    strides = (h_p.stride(0), h_q.stride(0), weight.stride(0), wq.stride(0))

    def stats(pass_: int) -> None:  # PASS=1: running max, sum and cross term; 2: jsd's KLs to m
        _stats_kernel[grid](
            *args,
            part,
            lse_p,
            lse_q,
            n,
            V,
            H,
            v_per,
            *strides,
            inv_t,
            log_beta,
            log_1mbeta,
            DIV=div,
            PASS=pass_,
            BLOCK_M=bm,
            BLOCK_V=bv,
            BLOCK_H=bh,
            UPCAST=upcast,
            PRECISION=prec,
        )

    stats(1)
    m_p, s_p, m_q, s_q, cross = part.unbind(0)
    top_p, top_q = m_p.max(0).values, m_q.max(0).values
    w_p, w_q = torch.exp(m_p - top_p), torch.exp(m_q - top_q)
    sum_p, sum_q = (s_p * w_p).sum(0), (s_q * w_q).sum(0)
    lse_p.copy_(top_p + sum_p.log())
    lse_q.copy_(top_q + sum_q.log())
    if div == 0:
        rows = (cross * w_p).sum(0) / sum_p - lse_p + lse_q
        aux = rows
    elif div == 1:
        rows = (cross * w_q).sum(0) / sum_q - lse_q + lse_p
        aux = rows
    else:
        stats(2)
        kl_q, aux = part[0].sum(0), part[1].sum(0)
        rows = beta * kl_q + (1.0 - beta) * aux
    saved = (h_p, h_q, weight, weight_q, lse_p, lse_q, aux, norm)
    meta = (
        div,
        beta,
        inv_t,
        log_beta,
        log_1mbeta,
        bm,
        bv,
        bh,
        upcast,
        prec,
        h_dtype,
        opts.get("grad_chunk_bytes", 64 * 2**20),
    )
    return rows.sum() / norm, saved, meta


def fused_linear_kl_backward(grad_out, saved, meta, need_h, need_w):
    """Launches the logit-gradient kernel one vocabulary chunk at a time: returns the
    gradients of the p hidden states and of the head (None where not needed)."""
    h_p, h_q, weight, weight_q, lse_p, lse_q, aux, norm = saved
    div, beta, inv_t, log_beta, log_1mbeta, bm, bv, bh, upcast, prec, h_dtype, chunk_bytes = meta
    n, H = h_p.shape
    V = weight.shape[0]
    wq = weight if weight_q is None else weight_q
    # G is kept in the head's dtype so the two matmuls below run on cuBLAS at full speed;
    # it is computed in fp32 and rounded once, which does not lose the p ~ q gradient.
    g_dtype = weight.dtype
    elem = torch.finfo(g_dtype).bits // 8
    v_chunk = max(bv, (chunk_bytes // max(1, n * elem)) // bv * bv)
    v_chunk = min(v_chunk, triton.cdiv(V, bv) * bv)
    scale = (grad_out.float() * inv_t / norm).reshape(1)
    grad_h = torch.zeros((n, H), dtype=torch.float32, device=h_p.device) if need_h else None
    grad_w = torch.empty_like(weight) if need_w else None
    buf = torch.empty((n, v_chunk), dtype=g_dtype, device=h_p.device)
    for v0 in range(0, V, v_chunk):
        vlen = min(v_chunk, V - v0)
        g = buf[:, :vlen]
        grid = (triton.cdiv(n, bm), triton.cdiv(vlen, bv))
        _grad_logits_kernel[grid](
            h_p,
            h_q,
            weight,
            wq,
            buf,
            lse_p,
            lse_q,
            aux,
            scale,
            n,
            V,
            H,
            v0,
            vlen,
            h_p.stride(0),
            h_q.stride(0),
            weight.stride(0),
            wq.stride(0),
            buf.stride(0),
            inv_t,
            log_beta,
            log_1mbeta,
            1.0 - beta,
            DIV=div,
            BLOCK_M=bm,
            BLOCK_V=bv,
            BLOCK_H=bh,
            UPCAST=upcast,
            PRECISION=prec,
        )
        if need_h:
            grad_h += torch.mm(g, weight[v0 : v0 + vlen]).float()
        if need_w:
            torch.mm(g.t(), h_p, out=grad_w[v0 : v0 + vlen])
    return (grad_h.to(h_dtype) if need_h else None), grad_w


class _FusedLinearKL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h_p, h_q, weight, weight_q, divergence, beta, temperature, norm, opts):
        loss, saved, ctx.meta = fused_linear_kl_forward(
            h_p, h_q, weight, weight_q, divergence, beta, temperature, norm, opts
        )
        ctx.save_for_backward(*saved)
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[2]
        grad_h, grad_w = fused_linear_kl_backward(grad_out, ctx.saved_tensors, ctx.meta, need_h, need_w)
        return grad_h, None, grad_w, None, None, None, None, None, None


def fused_linear_kl_loss(
    hidden_p,
    hidden_q,
    weight,
    mask=None,
    *,
    weight_q=None,
    divergence="reverse_kl",
    beta=0.5,
    temperature=1.0,
    chunk_size=None,
    normalizer=None,
    **opts,
):
    """Same contract as ``reference_linear_kl_loss``; ``chunk_size`` is accepted for the shared
    signature and ignored (tiling is internal). ``opts``: block_m, block_v, splits,
    grad_chunk_bytes — for tests and tuning."""
    h_p, h_q, weight_q, divergence = kl_inputs(
        hidden_p, hidden_q, weight, mask, weight_q, divergence, beta, temperature
    )
    if not (h_p.is_cuda or _interpreting()):
        raise ValueError(
            "the fused Triton loss needs CUDA tensors (or TRITON_INTERPRET=1 set "
            "before triton is imported); use implementation='reference' on CPU"
        )
    n = h_p.shape[0]
    norm = resolve_normalizer(normalizer, n, h_p.device)
    if n == 0:
        return zero_loss(h_p, weight)
    return _FusedLinearKL.apply(h_p, h_q, weight, weight_q, divergence, beta, temperature, norm, opts)
