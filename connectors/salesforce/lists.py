"""Segment lists in Salesforce: one Campaign per segment, members kept in step by crmseg (notes §7).

Salesforce has no list that evaluates a filter by itself for marketing tools,
so crmseg keeps Campaign + CampaignMember rows itself
(``Connector.lists_need_members``): :func:`ensure_lists` finds each spec's
Campaign by its exact ``Name`` (one SOQL query for all specs), creates the
missing ones (``IsActive`` true), reactivates inactive ones, reads the current
members of all found campaigns in one query, then inserts the missing contacts
(collections ``POST``) and deletes the departed rows (collections ``DELETE`` by
CampaignMember id), at most 200 per call and ``concurrency`` calls in flight. ``DUPLICATE_VALUE`` ("Already a
campaign member", e.g. added meanwhile) counts as done. A second call with the
same members makes no write call.

Per-member failures (a contact deleted since the segmentation ran, a locked
row) are logged as warnings and left for the next run, which retries them.

:func:`snapshot_list` freezes an audience in a new Campaign holding exactly the
given contacts; it refuses a name that already exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from simple_salesforce import format_soql

from connectors.base import ListSpec, ListState, ObjectType, chunks
from connectors.errors import CrmError, SchemaMismatch
from connectors.salesforce.creates import create_record_once
from connectors.salesforce.fields import (
    COLLECTION_LIMIT,
    SalesforceSessionLike,
    collection,
    first_error,
)

log = logging.getLogger(__name__)

#: Campaign.Name holds at most 80 characters.
MAX_NAME = 80
#: Values per ``IN (...)`` so a query URI stays far below Salesforce's 16 KB cap.
IN_CHUNK = 100
ALREADY_MEMBER = "DUPLICATE_VALUE"
ALREADY_GONE = "ENTITY_IS_DELETED"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def ensure_lists(session: SalesforceSessionLike, specs: Sequence[ListSpec]) -> list[ListState]:
    """Create or correct one Campaign per spec; one :class:`ListState` per spec, in order."""
    for spec in specs:
        _check(spec.name, spec.object_type)
        if spec.members is None:
            raise ValueError(
                f"list {spec.name!r}: Salesforce campaigns are kept in step by crmseg, so "
                "ListSpec.members must hold the contact ids"
            )
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("list names must be unique")
    if not specs:
        return []
    found = _campaigns(session, names)
    members = _members(session, [c["Id"] for c in found.values()])
    states = []
    for spec in specs:
        campaign = found.get(spec.name)
        created = updated = False
        if campaign is None:
            campaign_id = _create_campaign(session, spec.name)
            created = True
        else:
            campaign_id = str(campaign["Id"])
            if not campaign.get("IsActive"):
                session.call(
                    "campaign.update",
                    lambda sf, cid: sf.restful(
                        f"sobjects/Campaign/{cid}", method="PATCH", json={"IsActive": True}
                    ),
                    campaign_id,
                )
                updated = True
        have = members.get(campaign_id, {})
        assert spec.members is not None
        want = {id18(i) for i in spec.members}
        added = _add(session, campaign_id, spec.name, [i for i in sorted(want) if i not in have])
        removed = _remove(session, spec.name, [have[i] for i in sorted(have) if i not in want])
        states.append(
            ListState(
                spec, campaign_id, created=created, updated=updated, added=added, removed=removed
            )
        )
    return states


def snapshot_list(
    session: SalesforceSessionLike, name: str, object_type: ObjectType, record_ids: Sequence[str]
) -> str:
    """Create Campaign ``name`` holding exactly ``record_ids`` (contacts); return its id.

    A snapshot is never overwritten: when a campaign of that name exists, raises
    :class:`CrmError`. Ids Salesforce refuses (deleted contacts) are logged.
    """
    _check(name, object_type)
    existing = _campaigns(session, [name]).get(name)
    if existing is not None:
        raise CrmError(
            f"a campaign named {name!r} already exists (id {existing['Id']}); a snapshot is "
            "never overwritten. Choose another name or delete the old campaign.",
            crm="salesforce",
            object_type=object_type,
        )
    campaign_id = _create_campaign(session, name)
    _add(session, campaign_id, name, sorted({id18(i) for i in record_ids}))
    return campaign_id


def id18(record_id: str) -> str:
    """The 18-character case-safe form of a 15- or 18-character Salesforce id."""
    if len(record_id) != 15:
        return record_id
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(record_id[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX[bits]
    return record_id + suffix


def _check(name: str, object_type: str) -> None:
    if object_type != "contact":
        raise ValueError(
            f"list {name!r}: Salesforce campaigns hold contacts; got object type {object_type!r}"
        )
    if not name or len(name) > MAX_NAME:
        raise ValueError(
            f"list name {name!r} must be 1..{MAX_NAME} characters (Salesforce Campaign.Name)"
        )


def _campaigns(session: SalesforceSessionLike, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Exact name -> Campaign row; SOQL ``=`` ignores case, so we compare again here."""
    found: dict[str, list[dict[str, Any]]] = {}
    wanted = set(names)
    for chunk in chunks(list(dict.fromkeys(names)), IN_CHUNK):
        soql = format_soql(
            "SELECT Id, Name, IsActive FROM Campaign WHERE Name IN {} ORDER BY CreatedDate, Id",
            list(chunk),
        )
        answer = session.call("campaign.find", lambda sf, q: sf.query_all(q), soql)
        for row in answer.get("records") or []:
            if row["Name"] in wanted:
                found.setdefault(row["Name"], []).append(row)
    out = {}
    for name, rows in found.items():
        if len(rows) > 1:
            raise SchemaMismatch(
                f"{len(rows)} campaigns are named {name!r} "
                f"({', '.join(str(r['Id']) for r in rows)}); crmseg keeps one campaign per "
                "segment and cannot tell which one is its own. Rename or delete the extra ones.",
                crm="salesforce",
                object_type="contact",
            )
        out[name] = rows[0]
    return out


def _members(
    session: SalesforceSessionLike, campaign_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Campaign id -> {contact id -> CampaignMember id}."""
    out: dict[str, dict[str, str]] = {}
    for chunk in chunks(list(campaign_ids), IN_CHUNK):
        soql = format_soql(
            "SELECT Id, CampaignId, ContactId FROM CampaignMember WHERE CampaignId IN {}",
            list(chunk),
        )
        answer = session.call("campaignmember.find", lambda sf, q: sf.query_all(q), soql)
        for row in answer.get("records") or []:
            if row.get("ContactId"):
                out.setdefault(str(row["CampaignId"]), {})[str(row["ContactId"])] = str(row["Id"])
    return out


def _create_campaign(session: SalesforceSessionLike, name: str) -> str:
    """Campaign names are not unique in Salesforce, so a blindly retried create makes a
    twin; the retry looks for the name first (:func:`create_once`)."""

    def find() -> str | None:
        row = _campaigns(session, [name]).get(name)
        return str(row["Id"]) if row else None

    campaign_id, _ = create_record_once(
        session, "campaign.create", "Campaign", find, {"Name": name, "IsActive": True}
    )
    return campaign_id


@dataclass
class _Failures:
    """Per-member failures of one list, logged once as a warning."""

    action: str
    name: str
    items: list[tuple[str, str]] = field(default_factory=list)

    def log(self) -> None:
        if not self.items:
            return
        shown = ", ".join(f"{rid} ({code})" for rid, code in self.items[:20])
        log.warning(
            "campaign %r: could not %s %d member(s), next run retries: %s%s",
            self.name,
            self.action,
            len(self.items),
            shown,
            " ..." if len(self.items) > 20 else "",
        )


def _concurrency(session: SalesforceSessionLike) -> int:
    return max(1, int(getattr(getattr(session, "settings", None), "concurrency", 1) or 1))


def _in_parallel(
    session: SalesforceSessionLike, send: Callable[[list[str]], list[Any]], ids: Sequence[str]
) -> list[tuple[list[str], list[Any]]]:
    """``send`` each chunk of 200 ids, ``concurrency`` chunks in flight at once (the
    session is thread-safe); (chunk, results) pairs in input order."""
    parts = list(chunks(list(ids), COLLECTION_LIMIT))
    workers = min(_concurrency(session), len(parts))
    if workers <= 1:
        return [(part, send(part)) for part in parts]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crmseg-members") as pool:
        return list(zip(parts, pool.map(send, parts), strict=True))


def _send_members(
    session: SalesforceSessionLike,
    send: Callable[[list[str]], list[Any]],
    ids: Sequence[str],
    failures: _Failures,
    *,
    done: str,
) -> int:
    """``send`` the ids in chunks (:func:`_in_parallel`); how many succeeded. A refusal
    with code ``done`` means the change was there already (added or removed meanwhile):
    neither counted nor a failure. Every other refusal is logged once and left for the
    next run."""
    applied = 0
    for chunk, results in _in_parallel(session, send, ids):
        for record_id, res in zip(chunk, results, strict=False):
            if res.get("success"):
                applied += 1
                continue
            code, _ = first_error(res)
            if code != done:
                failures.items.append((record_id, code))
    failures.log()
    return applied


def _add(
    session: SalesforceSessionLike, campaign_id: str, name: str, contact_ids: Sequence[str]
) -> int:
    def send(chunk: list[str]) -> list[Any]:
        records = [
            {"attributes": {"type": "CampaignMember"}, "CampaignId": campaign_id, "ContactId": c}
            for c in chunk
        ]
        return collection(session, "campaignmember.create", "POST", records)

    return _send_members(session, send, contact_ids, _Failures("add", name), done=ALREADY_MEMBER)


def _remove(session: SalesforceSessionLike, name: str, member_ids: Sequence[str]) -> int:
    def send(chunk: list[str]) -> list[Any]:
        answer = session.call(
            "campaignmember.delete",
            lambda sf, ids: sf.restful(
                "composite/sobjects",
                method="DELETE",
                params={"ids": ",".join(ids), "allOrNone": "false"},
            ),
            chunk,
        )
        return list(answer or [])

    return _send_members(session, send, member_ids, _Failures("remove", name), done=ALREADY_GONE)


def plan_lists(session: SalesforceSessionLike, specs: Sequence[ListSpec]) -> list[str]:
    """Which campaigns :func:`ensure_lists` would create, read-only (membership changes
    follow from the plan's tags and are not listed)."""
    found = _campaigns(session, [s.name for s in specs])
    return [f"create campaign {s.name!r}" for s in specs if s.name not in found]
