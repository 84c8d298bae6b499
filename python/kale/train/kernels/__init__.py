"""Triton kernels. The package itself imports nothing; its modules import triton, and
kale.train.losses, the device-agnostic entry point, loads them only for CUDA tensors."""
