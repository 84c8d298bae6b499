"""Shared by the kernel tests: one loss call with gradients, in comparable form."""

from __future__ import annotations


def run_loss(fn, hp, hq, w, mask=None, **kw):
    """(loss, grad of the hidden states, grad of the head), all float32, from fresh leaves."""
    a, b = hp.clone().requires_grad_(), w.clone().requires_grad_()
    loss = fn(a, hq, b, mask, **kw)
    loss.backward()
    return loss.detach().float(), a.grad.float(), b.grad.float()
