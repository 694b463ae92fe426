"""The tables the sync benchmark prints (also from an earlier ``--json``)."""

from __future__ import annotations

from typing import Any

from benchmarks.sync_common import PHASES, WINDOW, med, pct, ratio
from benchmarks.sync_hubspot_figures import HS_BULK, floors
from benchmarks.sync_salesforce import SF_OBJECTS, sf_bulk_query, sf_pages


def sf_pull_cell(fig: dict[str, Any]) -> str:
    """Pull calls against the floor, per sObject (REST pages or Bulk 2.0 job requests)."""
    calls, fl = fig["calls"], fig["floor"]
    out = []
    short = {"Contact": "C", "Opportunity": "O", "OpportunityContactRole": "OCR"}
    for sobject in SF_OBJECTS:
        if sobject not in fl["pages"]:
            continue
        pages = sf_pages(calls, sobject)
        if sobject in fl["bulk_query"]:
            jobs = sf_bulk_query(calls, sobject)
            out.append(
                f"{short[sobject]} bulk status + results {ratio(jobs, fl['bulk_query'][sobject])}"
                f", {pages} REST page{'s' if pages != 1 else ''} (floor 0)"
            )
        else:
            out.append(f"{short[sobject]} {ratio(pages, fl['pages'][sobject])}")
    if fl["bulk_query"]:
        creates = calls.get("bulk2 query create", 0)
        out.append(f"bulk query creates {ratio(creates, len(fl['bulk_query']))}")
    return "; ".join(out)


def sf_write_cell(fig: dict[str, Any]) -> str:
    calls, fl = fig["calls_by_method"], fig["floor"]["writes"]
    patches = calls.get("PATCH collections update", 0)
    ingest = calls.get("POST bulk2 ingest create", 0)
    if fl["bulk2 ingest create"]:
        return f"ingest jobs {ratio(ingest, 1)}; PATCH {patches} (floor 0)"
    text = f"PATCH {ratio(patches, fl['collections update'])}"
    return text + (f"; ingest jobs {ingest} (floor 0)" if ingest else "")


def sf_pulled(fig: dict[str, Any]) -> str:
    pulled = fig.get("pulled") or {}
    c, d = pulled.get("contact") or {}, pulled.get("deal") or {}
    return f"{c.get('records', 0):,} / {d.get('records', 0):,}"


def sf_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| contacts | opps / roles | runs | phase | wall (s) | calls | pull calls vs floor "
        "| tag writes vs floor | pulled C / O | written | write calls | errors |",
        "|---:|---:|---:|---|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for phase in [p for p in PHASES if p in r["runs"][0]]:
            rs = [run[phase] for run in r["runs"]]
            first = rs[0]
            wall = med([x["wall"] for x in rs])
            label = phase if phase != "incremental" else f"incremental (k={r['k']:,})"
            lines.append(
                f"| {r['n']:,} | {r['deals']:,} / {r['roles']:,} | {len(rs)} | {label} "
                f"| {wall:.1f} | {first['calls_total']:,} | {sf_pull_cell(first)} "
                f"| {sf_write_cell(first)} | {sf_pulled(first)} | {first['written']:,} "
                f"| {first['write_calls_total']} | {max(x['errors'] for x in rs)} |"
            )
    return "\n".join(lines)


def sf_endpoint_table(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        run = r["runs"][0]
        present = [p for p in PHASES if p in run]
        names = sorted(set().union(*(run[p]["calls_by_method"] for p in present)))
        lines += [
            f"\nrequests per method and endpoint, {r['n']:,} contacts (run 1; stand-in log)\n",
            "| request | " + " | ".join(present) + " |",
            "|---|" + "---:|" * len(present),
        ]
        for name in names:
            cells = " | ".join(str(run[p]["calls_by_method"].get(name, 0)) for p in present)
            lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def sf_report(out: dict[str, Any]) -> None:
    st = out["settings"]
    print(
        f"\nSalesforce stand-in, latency {st['latency']} s; crmseg defaults (concurrency 4, "
        f"REST pages of 2,000) but bulk query above {st['bulk_query_threshold']:,} rows, "
        f"bulk ingest above {st['bulk_ingest_threshold']:,} updates; overlap "
        f"{st['overlap_minutes'] if st['overlap_minutes'] is not None else 'default'}; "
        f"as_of {st['as_of']}; medians of runs for wall, calls from run 1, "
        "errors = max over runs\n"
    )
    print(sf_table(out["results"]))
    print(sf_endpoint_table(out["results"]))


def write_rate(rs: list[dict[str, Any]]) -> str:
    """Median utilisation of the write stretch; a stretch under one window is a burst."""
    secs = med([x["rate_write"].get("seconds") for x in rs]) or 0.0
    if secs < WINDOW:
        return f"burst ({secs:.1f} s)"
    return f"{pct(med([x['rate_write'].get('utilisation') for x in rs]))} ({secs:.1f} s)"


def archived(calls: dict[str, int], fl: dict[str, int]) -> str:
    key = "objects.list (archived)"
    if not calls.get(key) and not fl.get(key):
        return ""
    return f"; archived {ratio(calls.get(key, 0), fl.get(key, 0))}"


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| contacts | deals | runs | phase | wall (s) | calls | list pages vs floor "
        "| batch updates vs floor | written | write calls | 429s | std-bucket rate, whole "
        "| rate, write stretch (s) | peak 10 s |",
        "|---:|---:|---:|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for phase in [p for p in PHASES if p in r["runs"][0]]:
            rs = [run[phase] for run in r["runs"]]
            first = rs[0]
            wall = med([x["wall"] for x in rs])
            calls = first["calls"]
            fl = first["floor"]
            label = phase if phase != "incremental" else f"incremental (k={r['k']:,})"
            lines.append(
                f"| {r['n']:,} | {r['deals']:,} | {len(rs)} | {label} | {wall:.1f} "
                f"| {first['calls_total']:,} "
                f"| {ratio(calls.get('objects.list', 0), fl['objects.list'])}"
                f"{archived(calls, fl)} "
                f"| {ratio(calls.get('objects.batch.update', 0), fl['objects.batch.update'])} "
                f"| {first['written']:,} | {first['write_calls_total']} "
                f"| {max(x['status_429'] for x in rs)} "
                f"| {pct(med([x['rate_whole'].get('utilisation') for x in rs]))} "
                f"| {write_rate(rs)} "
                f"| {first['rate_whole'].get('peak_10s')} |"
            )
    return "\n".join(lines)


def cell(calls: int, floor: int | None) -> str:
    return str(calls) if floor is None else f"{calls} (floor {floor})"


def endpoint_table(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        run = r["runs"][0]
        present = [p for p in PHASES if p in run]
        names = sorted(set().union(*(run[p]["calls"] for p in present)))
        lines += [
            f"\ncalls per endpoint, {r['n']:,} contacts (run 1; sandbox log, retries included)\n",
            "| endpoint | " + " | ".join(present) + " |",
            "|---|" + "---:|" * len(present),
        ]
        for name in names:
            cells = " | ".join(
                cell(run[p]["calls"].get(name, 0), run[p]["floor"].get(name)) for p in present
            )
            lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def report(out: dict[str, Any]) -> None:
    """Print the tables; floors are recomputed from each phase's stored summary."""
    if out["settings"].get("crm") == "salesforce":
        sf_report(out)  # floors as stored by the run
        return
    results = out["results"]
    HS_BULK.update(
        out["settings"].get("hubspot_bulk") or {"export_threshold": 0, "import_threshold": 0}
    )
    for r in results:
        for run in r["runs"]:
            for phase in [p for p in PHASES if p in run]:
                fig = run[phase]
                deals = run["deals"] + (
                    run.get("changed_contacts", 0) if phase == "incremental" else 0
                )
                fig["floor"] = floors(r["n"], deals, fig["written"], fig["pulled"])
    st = out["settings"]
    print(
        f"\nsandbox limits on: {st['budget_per_10s']}/10 s, search {st['search_per_second']}/s; "
        f"latency {st['latency']} s; crmseg {st['budget_per_10s']}/10 s, concurrency "
        f"{st['concurrency']}; as_of {st['as_of']}; medians of runs for wall and rates, calls "
        "from run 1, 429s = max over runs\n"
    )
    hb = st.get("hubspot_bulk")
    who = (
        "crmseg alone, the sandbox in its own process"
        if st.get("standin_process")
        else "crmseg + sandbox, one process"
    )
    if hb:
        print(
            f"exports above {hb['export_threshold']:,} records of a type, imports above "
            f"{hb['import_threshold']:,} changes (0 = never); sandbox processing: exports "
            f"{hb['export_delay_seconds']:g} s + {hb['export_rows_per_second']:,.0f} rows/s, "
            f"imports {hb['import_delay_seconds']:g} s + {hb['import_rows_per_second']:,.0f} "
            f"rows/s; peak RSS ({who}): "
            + ", ".join(
                f"{r['n']:,}: {max(run[p].get('peak_rss_mib') or 0 for run in r['runs'] for p in PHASES if p in run):,.0f} MiB"
                for r in results
            )
            + "\n"
        )
    print(table(results))
    print(endpoint_table(results))
