"""The HubSpot sandbox in a process of its own, driven from the benchmark over a pipe.

Why: in one interpreter the sandbox's CPU time (serving pages, applying batch updates,
building export files) and crmseg's share one GIL, so the benchmark measures both at
once and a slow stand-in looks like a slow crmseg. With ``--standin-process`` the
sandbox (its data, its search index, its export files) lives in a child process; the
benchmark process holds crmseg alone, so its peak RSS is crmseg's, and its CPU time
and the child's are reported apart.

:class:`RemoteSandbox` offers the few parts of ``HubSpotStandIn`` the benchmark uses
(``base_url``, ``ca_path``, ``token``, ``log``, ``gateway.routes.bucket``,
``faults.set_latency``, ``reset_limits``, ``dataset``) and ``add_won_deals`` (done in the
child: the contact ids never cross the pipe).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import resource
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from connectors.sandbox._server import LogEntry


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _serve(conn: Any, kwargs: dict[str, Any]) -> None:
    """The child: start the sandbox, then answer commands until ``stop``."""
    from connectors.sandbox.hubspot import HubSpotStandIn

    t0 = time.perf_counter()
    hs = HubSpotStandIn(**kwargs).start()
    assert hs.dataset is not None
    conn.send(
        {
            "base_url": hs.base_url,
            "ca_path": hs.ca_path,
            "token": hs.token,
            "deals": len(hs.dataset.deals),
            "contacts": len(hs.dataset.contacts),
            "buckets": dict(hs.gateway.routes.bucket),
            "seed_seconds": time.perf_counter() - t0,
        }
    )
    try:
        while True:
            cmd, args = conn.recv()
            if cmd == "stop":
                conn.send(None)
                return
            if cmd == "log":
                conn.send(hs.log.entries)
            elif cmd == "clear":
                hs.log.clear()
                conn.send(None)
            elif cmd == "reset_limits":
                hs.reset_limits()
                conn.send(None)
            elif cmd == "latency":
                hs.faults.set_latency(*args)
                conn.send(None)
            elif cmd == "add_won_deals":
                share, amount, closed = args
                ids = [c.id for c in hs.dataset.contacts]
                k = math.ceil(share * len(ids))
                step = len(ids) / k
                for i in range(k):
                    hs.add_won_deal(ids[int(i * step)], Decimal(amount), closed)
                conn.send(k)
            elif cmd == "usage":
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                conn.send({"cpu_seconds": _cpu(), "peak_rss_mib": round(peak, 1)})
            else:
                conn.send(RuntimeError(f"unknown command {cmd!r}"))
    finally:
        hs.stop()


class _Log:
    def __init__(self, remote: RemoteSandbox) -> None:
        self._remote = remote
        self._cache: list[LogEntry] | None = None

    @property
    def entries(self) -> list[LogEntry]:
        if self._cache is None:
            self._cache = self._remote.ask("log")
        return self._cache

    def clear(self) -> None:
        self._cache = None
        self._remote.ask("clear")

    def by_status(self) -> Counter[int]:
        return Counter(e.status for e in self.entries)

    def count(self, status: int | None = None) -> int:
        return sum(1 for e in self.entries if status is None or e.status == status)

    def refresh(self) -> None:
        """Forget the fetched entries (the next read asks the child again)."""
        self._cache = None


@dataclass
class RemoteSandbox:
    """A context manager: the child starts (and seeds) on enter and stops on exit."""

    kwargs: dict[str, Any]

    def __enter__(self) -> RemoteSandbox:
        ctx = mp.get_context("spawn")  # a fresh interpreter: nothing of crmseg's memory
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.kwargs), daemon=True)
        self._proc.start()
        info = self._conn.recv()
        self.base_url: str = info["base_url"]
        self.ca_path: str = info["ca_path"]
        self.token: str = info["token"]
        self.seed_seconds: float = info["seed_seconds"]
        self.dataset = SimpleNamespace(deals=range(info["deals"]), n_contacts=info["contacts"])
        self.gateway = SimpleNamespace(routes=SimpleNamespace(bucket=info["buckets"]))
        self.log = _Log(self)
        self.faults = SimpleNamespace(set_latency=lambda s, j=0.0: self.ask("latency", s, j))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.ask("stop")
        finally:
            self._proc.join(30)
            if self._proc.is_alive():
                self._proc.terminate()

    def ask(self, cmd: str, *args: Any) -> Any:
        self._conn.send((cmd, args))
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def reset_limits(self) -> None:
        self.log.refresh()
        self.ask("reset_limits")

    def add_won_deals(self, share: float, amount: str, closed: date) -> int:
        """``add_won_deal`` for ceil(share * N) contacts evenly spread over the ids."""
        return int(self.ask("add_won_deals", share, amount, closed))

    def usage(self) -> dict[str, float]:
        """The child's CPU seconds so far and its peak RSS."""
        return dict(self.ask("usage"))
