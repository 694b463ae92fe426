"""Temporary folders that say whether the crmseg process that made them still runs.

crmseg writes import files, downloaded exports and copies of a busy state file
into ``crmseg-<kind>-*`` folders of the temp directory and removes them when
done. A run killed outright (SIGKILL, the OOM killer, a lost machine) cannot,
and an export of a million records leaves hundreds of megabytes behind.

Why a lock and not a pid: a folder's maker holds an exclusive ``flock`` on its
``.owner`` file for as long as the folder exists. The kernel drops the lock
when the process dies, however it dies, so a lock that can be taken proves that
no live process owns the folder. A pid cannot prove it: pids are reused, and a
process in another pid namespace sharing the temp directory (a container) looks
dead. The pid written into ``.owner`` only names the maker in the log.

:func:`remove_stale` removes the folders it can prove stale and leaves all
others: live ones, another user's, and ones without a written ``.owner`` (being
made at this moment, or from a crmseg that wrote no owner file).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from types import TracebackType

__all__ = ["OWNER", "PREFIX", "ScratchDir", "remove_stale"]

log = logging.getLogger("crmseg.scratch")

PREFIX = "crmseg-"
#: The file inside each folder whose lock its maker holds.
OWNER = ".owner"


class ScratchDir:
    """A new ``crmseg-<kind>-*`` folder, owned by this process until :meth:`remove`.

    The owner file is created and locked before the pid is written: a folder whose
    ``.owner`` is still empty is never taken for stale. A folder dropped without
    :meth:`remove` is removed when it is garbage-collected or the interpreter exits,
    like a :class:`tempfile.TemporaryDirectory`."""

    def __init__(self, kind: str, *, root: str | None = None) -> None:
        self.path = tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-", dir=root)
        fd = os.open(os.path.join(self.path, OWNER), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            _remove(self.path, fd)
            raise
        self._remove = weakref.finalize(self, _remove, self.path, fd)

    def __repr__(self) -> str:
        return f"ScratchDir({self.path!r})"

    def remove(self) -> None:
        """Remove the folder, then let go of its lock (a second call does nothing)."""
        self._remove()

    def __enter__(self) -> str:
        return self.path

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()


def _remove(path: str, fd: int) -> None:
    shutil.rmtree(path, ignore_errors=True)
    os.close(fd)


def remove_stale(root: str | None = None) -> list[str]:
    """Remove the ``crmseg-*`` folders under ``root`` (the temp directory) whose owner
    process is provably gone; the paths removed."""
    removed: list[str] = []
    base = Path(root or tempfile.gettempdir())
    try:
        entries = sorted(p for p in base.iterdir() if p.name.startswith(PREFIX))
    except OSError:
        return removed
    for folder in entries:
        owner = _dead_owner(folder)
        if owner is not None:
            log.info("removed %s, left by crmseg process %s", folder, owner)
            removed.append(str(folder))
    return removed


def _dead_owner(folder: Path) -> str | None:
    """Remove ``folder`` if its owner lock can be taken; the owner's pid if it was."""
    if folder.is_symlink() or not folder.is_dir():
        return None
    try:
        fd = os.open(folder / OWNER, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:  # no owner file, or another user's
        return None
    try:
        pid = os.read(fd, 32).decode("ascii", "replace").strip()
        if not pid:
            return None  # being made: locked, but maybe not yet
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None  # a live process holds it
        shutil.rmtree(folder, ignore_errors=True)
        return pid
    finally:
        os.close(fd)
