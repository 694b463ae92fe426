"""Contract: a pull yields canonical records -- exactly the CRM's records, each once,
ids as strings, money as ``Decimal``, dates as ``date``, timestamps in UTC -- and
follows the pages to the end."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import OBJECT_TYPES, Company, Contact, Deal, ObjectType, Page, Record
from tests.contract.adapters import Target

KIND: dict[ObjectType, type] = {"contact": Contact, "company": Company, "deal": Deal}
#: Every other field of a record is text (``str`` or ``None``): names, ids, email, address.
NOT_TEXT = {"properties", "updated_at", "amount", "close_date", "won", "contact_ids", "company_ids"}


def full_pull(target: Target, object_type: ObjectType) -> list[Page[Any]]:
    return list(target.connector.pull(object_type, None))  # type: ignore[arg-type]


def _is_utc(stamp: datetime | None) -> bool:
    return stamp is None or stamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize("object_type", OBJECT_TYPES)
def test_a_full_pull_yields_every_record_of_the_crm_once_and_canonical(
    target: Target, object_type: ObjectType
) -> None:
    target.require("canonical records")
    pages = full_pull(target, object_type)

    records: list[Record] = [r for p in pages for r in p.records]
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)), "a record came twice"
    assert set(ids) == target.ids(object_type)
    assert records, "the target seeds records of every type"
    for r in records:
        assert r.__class__ is KIND[object_type]
        assert isinstance(r.id, str) and r.id
        assert _is_utc(r.updated_at), (r.id, r.updated_at)
        assert all(isinstance(k, str) for k in r.properties)
        assert all(v is None or isinstance(v, str) for v in r.properties.values())
        text = {f.name: getattr(r, f.name) for f in fields(r) if f.name not in NOT_TEXT}
        assert all(v is None or isinstance(v, str) for v in text.values()), (r.id, text)
    assert not any(p.deleted_ids for p in pages), "a full pull reports no deletions"


def test_deals_carry_decimal_money_dates_and_links_to_pulled_contacts(target: Target) -> None:
    target.require("canonical records")
    contacts = {r.id for p in full_pull(target, "contact") for r in p.records}
    companies = {r.id for p in full_pull(target, "company") for r in p.records}
    deals = [d for p in full_pull(target, "deal") for d in p.records]

    assert any(isinstance(d, Deal) and d.amount is not None for d in deals)
    for d in deals:
        assert isinstance(d, Deal)
        assert d.amount is None or isinstance(d.amount, Decimal)
        assert d.close_date is None or type(d.close_date) is date
        assert isinstance(d.won, bool)
        assert isinstance(d.contact_ids, tuple) and set(d.contact_ids) <= contacts, d.id
        assert isinstance(d.company_ids, tuple) and set(d.company_ids) <= companies, d.id
        assert all(isinstance(i, str) for i in (*d.contact_ids, *d.company_ids))


def test_contacts_name_only_companies_that_were_pulled(target: Target) -> None:
    target.require("canonical records")
    companies = {r.id for p in full_pull(target, "company") for r in p.records}
    contacts = [c for p in full_pull(target, "contact") for c in p.records]
    assert {c.company_id for c in contacts if isinstance(c, Contact)} - {None} <= companies


def test_a_pull_longer_than_one_page_follows_every_page_to_the_end(target: Target) -> None:
    target.require("paging")
    pages = full_pull(target, target.paged_object)

    assert len(pages) >= 2, "the target seeds more records than one page holds"
    ids = [r.id for p in pages for r in p.records]
    assert len(ids) == len(set(ids)) and set(ids) == target.ids(target.paged_object)
    assert pages[-1].cursor is not None
