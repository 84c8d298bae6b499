"""Advisory locks on output folders, and the leftovers of writers that are gone.

Two runs writing one output (two `kale synth` into one --out, two `kale train` into one
--output-dir, two `kale kg build` of one OUT) overwrite each other's files. Each run
holds an advisory lock on a lock file for as long as it writes, so a second
one stops at once, naming the first one's PID. The lock is flock(2) (from the fcntl
module): it belongs to the open file, so a second open in the same process conflicts
too, and the kernel drops it when its process ends, however it ends: kill -9 leaves
no stale lock.

Temporary files carry their writer's PID (`.OUT.partial-<pid>`, `.part-*.tmp-<pid>`);
whoever holds the lock removes the ones whose process no longer exists.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from pathlib import Path
from typing import final

from kale.exceptions import FolderInUseError


@final
class FolderLock:
    """A held lock on `path` (the lock file). `release` (or leaving a `with`) removes the
    file; a run that dies leaves it behind unlocked, and the next run takes it over."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    def release(self) -> None:
        if self.fd < 0:
            return
        try:  # unlink first, while still locked: a waiter that opened this file sees it gone and retries
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def lock(path: Path, what: str, command: str) -> FolderLock:
    """Take the lock file `path` for `what` (words for the error: "--out rationales/"),
    or raise FolderInUseError naming the PID that holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):  # only a holder releasing between our open and our lock makes us go round
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            pid, _, by = holder.partition(" ")
            who = f"PID {pid} ({by})" if pid.isdigit() else "another process"
            raise FolderInUseError(f"{what} is in use by {who}; wait for it to finish, or write elsewhere") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {command}\n".encode(), 0)
            return FolderLock(path, fd)
        os.close(fd)
    raise FolderInUseError(f"{what}: could not take its lock file {path}")


def alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_leftovers(folder: Path, pattern: str) -> list[Path]:
    """Remove the entries of `folder` matching `pattern` (a regex whose group `pid` is the
    writer's PID) whose writer is gone; call only while holding the folder's lock."""
    removed = []
    if not folder.is_dir():
        return removed
    matcher = re.compile(pattern)
    for entry in folder.iterdir():
        m = matcher.fullmatch(entry.name)
        if not m or alive(int(m.group("pid"))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
