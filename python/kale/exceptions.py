"""The exceptions kale raises. Every one is a `KaleError`; each also derives from the
built-in exception a Python user would reach for (ValueError, KeyError, OSError)."""

from __future__ import annotations


class KaleError(Exception):
    """Base class of every error kale raises on purpose."""


class KaleValueError(KaleError, ValueError):
    """An argument or option that cannot be used as given."""


class InputError(KaleError, ValueError):
    """A malformed input file; the message names the file and line."""


class GraphFormatError(KaleError):
    """A graph directory that is truncated, corrupted or not a kale graph."""


class GraphVersionError(GraphFormatError):
    """A graph written in a format version this kale does not read."""


class EntityNotFoundError(KaleError, KeyError):
    """An entity id or name that is not in the graph."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class FolderInUseError(KaleError):
    """An output folder another running kale process is writing (its lock is held)."""


class KaleIOError(KaleError, OSError):
    """A file that could not be read or written."""


class KaleFileNotFoundError(KaleIOError, FileNotFoundError):
    """A file or directory that does not exist."""
