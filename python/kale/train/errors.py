"""Errors raised by the training stage."""

from __future__ import annotations


class KaleTrainError(ValueError):
    """Bad training input or configuration; the message names the file, row or field."""
