"""Triton kernels. Importing this package imports triton; use kale.train.losses for the
device-agnostic entry point."""
