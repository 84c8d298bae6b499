"""Errors raised by the training stage."""

from __future__ import annotations

from kale.exceptions import KaleError


class KaleTrainError(KaleError, ValueError):
    """Bad training input or configuration; the message names the file, row or field."""
