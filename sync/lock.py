"""One run per state file at a time.

The lock is an OS file lock (``flock``) on ``<state>.lock``: the kernel drops
it when the holding process dies, so a crashed run never blocks the next one;
the next run simply takes the lock over. The file's content (pid, host, start
time, command) only serves the "already running since ..." message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from connectors.errors import AlreadyRunning

__all__ = ["AlreadyRunning", "run_lock"]


@contextmanager
def run_lock(state_path: Path, command: str) -> Iterator[None]:
    path = state_path.with_name(state_path.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fh: IO[str] = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise AlreadyRunning(_holder_message(fh.read(), state_path)) from None
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": command,
                }
            )
        )
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
    finally:
        fh.close()


def _holder_message(content: str, state_path: Path) -> str:
    try:
        holder = json.loads(content)
        who = (
            f"`crmseg {holder['command']}` (pid {holder['pid']} on {holder['host']}) "
            f"has been running since {holder['since']}"
        )
    except (ValueError, KeyError, TypeError):
        who = "another crmseg run holds it"
    return f"{state_path} is in use: {who}; this run stops without touching the CRM"
