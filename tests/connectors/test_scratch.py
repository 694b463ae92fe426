"""Temp folders carry their maker's lock: a run killed outright leaves folders that the
next run can prove stale and remove, and a live process's folders are never touched."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from pathlib import Path

from connectors.scratch import OWNER, ScratchDir, remove_stale

ROOT = Path(__file__).resolve().parents[2]
MAKER = """
import sys, time
from connectors.scratch import ScratchDir
folder = ScratchDir(sys.argv[1], root=sys.argv[2])
print(folder.path, flush=True)
time.sleep(120)
"""


def _maker(kind: str, root: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process that makes one folder and keeps running (until killed)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", MAKER, kind, str(root)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.stdout is not None
    proc.stdout.close()


def test_only_folders_whose_maker_is_gone_are_removed(tmp_path: Path) -> None:
    killed, stale = _maker("export", tmp_path)
    running, live = _maker("import", tmp_path)
    try:
        (stale / "download.bin").write_bytes(b"x" * 1000)
        _kill(killed)
        mine = ScratchDir("state", root=str(tmp_path))  # this process is alive too
        unowned = tmp_path / "crmseg-demo-abc"  # no owner file: not provably ours
        unowned.mkdir()
        being_made = tmp_path / "crmseg-import-new"  # owner file not yet written
        being_made.mkdir()
        (being_made / OWNER).touch()
        other = tmp_path / "other-xyz"  # not a crmseg folder, unlocked owner
        other.mkdir()
        (other / OWNER).write_text("1\n")
        assert remove_stale(str(tmp_path)) == [str(stale)]
        assert not stale.exists()
        assert live.is_dir() and Path(mine.path).is_dir()
        assert unowned.is_dir() and being_made.is_dir() and other.is_dir()
        # once its maker is killed, the live folder is stale as well
        _kill(running)
        assert remove_stale(str(tmp_path)) == [str(live)]
        assert Path(mine.path).is_dir()
        mine.remove()
    finally:
        for proc in (killed, running):
            if proc.poll() is None:
                _kill(proc)


def test_the_owner_file_names_the_maker_and_remove_is_final(tmp_path: Path) -> None:
    folder = ScratchDir("import", root=str(tmp_path))
    path = Path(folder.path)
    assert path.name.startswith("crmseg-import-")
    assert (path / OWNER).read_text() == f"{os.getpid()}\n"
    with folder as same:
        assert same == folder.path
    assert not path.exists()
    folder.remove()  # a second removal does nothing
    assert list(tmp_path.iterdir()) == []


def test_a_dropped_folder_is_removed_when_collected(tmp_path: Path) -> None:
    path = Path(ScratchDir("export", root=str(tmp_path)).path)
    gc.collect()
    assert not path.exists()
