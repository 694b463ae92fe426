"""Benchmark: how much memory and CPU the HubSpot stand-in's seeding takes.

Usage::

    .venv/bin/python benchmarks/standin_seed.py --contacts 100000
    .venv/bin/python benchmarks/standin_seed.py --contacts 1000000 --deals-per-contact 5
    .venv/bin/python benchmarks/standin_seed.py --contacts 100000 --tracemalloc

Each run is one fresh process (so peak RSS is this seed's alone): it generates the
dataset (``generator.generate``), loads it into a ``Store`` (``seed.load``), and
prints JSON with CPU and wall seconds of both steps, peak RSS, the RSS the store adds
over the generated dataset, and that per record (contacts + companies + deals).
``--tracemalloc`` also counts the bytes Python allocated for the store alone (slow:
use it at 10k-100k). ``--drop-dataset`` frees the generated dataset after loading, to
show the store's own share of the RSS.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from connectors.sandbox.generator import generate  # noqa: E402
from connectors.sandbox.hubspot.seed import load  # noqa: E402
from connectors.sandbox.hubspot.store import Store  # noqa: E402


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rss_mib() -> float:
    """Current resident set size (Linux ``/proc``), MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument(
        "--deals-per-contact",
        type=float,
        default=None,
        help="deals = contacts * this (default the generator's 0.75 per contact)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--drop-dataset", action="store_true")
    a = ap.parse_args(argv)
    deals = None if a.deals_per_contact is None else int(a.contacts * a.deals_per_contact)
    rss0 = _rss_mib()
    c0, w0 = _cpu(), time.perf_counter()
    ds = generate(seed=a.seed, contacts=a.contacts, deals=deals)
    c1, w1 = _cpu(), time.perf_counter()
    gc.collect()
    rss1 = _rss_mib()
    if a.tracemalloc:
        tracemalloc.start()
    c2, w2 = _cpu(), time.perf_counter()
    store = Store()
    load(store, ds)
    c3, w3 = _cpu(), time.perf_counter()
    traced = tracemalloc.get_traced_memory()[0] if a.tracemalloc else None
    if a.tracemalloc:
        tracemalloc.stop()
    rss2 = _rss_mib()
    n = {t: len(store.records(t)) for t in ("contacts", "companies", "deals")}
    records = sum(n.values())
    out: dict[str, object] = {
        "contacts": n["contacts"],
        "companies": n["companies"],
        "deals": n["deals"],
        "edges": {
            "contact_company": len(ds.contact_company),
            "deal_contact": len(ds.deal_contact),
            "deal_company": len(ds.deal_company),
        },
        "generate_cpu_s": round(c1 - c0, 2),
        "generate_wall_s": round(w1 - w0, 2),
        "load_cpu_s": round(c3 - c2, 2),
        "load_wall_s": round(w3 - w2, 2),
        "rss_start_mib": round(rss0),
        "rss_dataset_mib": round(rss1),
        "rss_loaded_mib": round(rss2),
        "store_rss_bytes_per_record": round((rss2 - rss1) * 2**20 / records),
    }
    if traced is not None:
        out["store_traced_bytes_per_record"] = round(traced / records)
    if a.drop_dataset:
        del ds
        gc.collect()
        out["rss_store_only_mib"] = round(_rss_mib())
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
