"""ensure_fields: restricted picklists created through Tooling, options only ever added,
field-level security granted through the crmseg permission set, second call writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import FieldSpec, TagUpdate
from connectors.errors import CrmError, PermissionDenied, SchemaMismatch
from connectors.salesforce.fields import ensure_fields
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.writes import write_batch
from connectors.sandbox.salesforce import SalesforceStandIn
from connectors.sandbox.salesforce.schema import FieldDef

from . import INTERESTS, LIFECYCLE, crmseg_assignments, writes
from .conftest import HookedSession


def field(server: SalesforceStandIn, obj: str, name: str) -> FieldDef:
    fd = server.org.objects[obj].field(name)
    assert fd is not None, f"{obj}.{name} does not exist"
    return fd


def test_fields_are_created_as_restricted_picklists_and_granted(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    changes = ensure_fields(session, "contact", [LIFECYCLE, INTERESTS])

    user = sf_server.org.api_user_id
    assert changes == [
        "created contact field crmseg_lifecycle__c (Picklist, 3 values)",
        "created contact field crmseg_interests__c (MultiselectPicklist, 3 values)",
        "created permission set crmseg",
        "granted read/edit on Contact.crmseg_lifecycle__c to permission set crmseg",
        "granted read/edit on Contact.crmseg_interests__c to permission set crmseg",
        f"assigned permission set crmseg to user {user}",
    ]
    single = field(sf_server, "Contact", "crmseg_lifecycle__c")
    assert (single.type, single.restricted, single.picklist, single.label) == (
        "picklist",
        True,
        ["new", "active", "at_risk"],
        "Lifecycle",
    )
    multi = field(sf_server, "Contact", "crmseg_interests__c")
    assert (multi.type, multi.restricted, multi.picklist, multi.visible_lines) == (
        "multipicklist",
        True,
        ["a", "b", "c"],
        4,
    )
    (ps,) = [p for p in sf_server.org.live("PermissionSet") if p["Name"] == "crmseg"]
    assert ps["Label"] == "crmseg segments"
    grants = sorted(
        (fp["Field"], fp["PermissionsRead"], fp["PermissionsEdit"])
        for fp in sf_server.org.live("FieldPermissions")
        if fp["ParentId"] == ps["Id"]
    )
    assert grants == [
        ("Contact.crmseg_interests__c", True, True),
        ("Contact.crmseg_lifecycle__c", True, True),
    ]
    assigned = [(a["AssigneeId"], a["PermissionSetId"]) for a in crmseg_assignments(sf_server.org)]
    assert assigned == [(user, ps["Id"])]
    # the API user now sees the fields
    describe = session.sf.restful("sobjects/Contact/describe")
    assert describe is not None
    described = {f["name"] for f in describe["fields"]}
    assert {"crmseg_lifecycle__c", "crmseg_interests__c"} <= described


def test_second_call_makes_no_write_call(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    ensure_fields(session, "contact", [LIFECYCLE, INTERESTS])
    sf_server.log.clear()

    assert ensure_fields(session, "contact", [LIFECYCLE, INTERESTS]) == []
    assert writes(sf_server) == 0
    # tooling query + 2 field reads + permission set, grants, assignment, record types
    assert len(sf_server.log) == 7


def test_company_fields_live_on_account(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    changes = ensure_fields(session, "company", [LIFECYCLE])

    assert changes[0] == "created company field crmseg_lifecycle__c (Picklist, 3 values)"
    assert field(sf_server, "Account", "crmseg_lifecycle__c").picklist == [
        "new",
        "active",
        "at_risk",
    ]
    assert sf_server.org.objects["Contact"].field("crmseg_lifecycle__c") is None
    assert "granted read/edit on Account.crmseg_lifecycle__c to permission set crmseg" in changes


def test_a_new_option_is_appended_and_old_values_are_kept(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    ensure_fields(session, "contact", [LIFECYCLE])
    sf_server.log.clear()
    wider = FieldSpec("crmseg_lifecycle", "Lifecycle", ("new", "churned"))

    changes = ensure_fields(session, "contact", [wider])

    assert changes == ["added values churned to contact field crmseg_lifecycle__c"]
    assert field(sf_server, "Contact", "crmseg_lifecycle__c").picklist == [
        "new",
        "active",
        "at_risk",
        "churned",
    ]
    assert field(sf_server, "Contact", "crmseg_lifecycle__c").restricted is True
    assert sf_server.log.count("PATCH", r"/tooling/sobjects/CustomField/") == 1
    assert writes(sf_server) == 1


def test_second_object_type_reuses_the_permission_set(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    ensure_fields(session, "contact", [LIFECYCLE])

    changes = ensure_fields(session, "company", [LIFECYCLE])

    assert changes == [
        "created company field crmseg_lifecycle__c (Picklist, 3 values)",
        "granted read/edit on Account.crmseg_lifecycle__c to permission set crmseg",
    ]
    assert len([p for p in sf_server.org.live("PermissionSet") if p["Name"] == "crmseg"]) == 1
    assert len(crmseg_assignments(sf_server.org)) == 1


def test_fls_gate_writes_fail_before_the_grant_and_succeed_after(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    # the field exists (made by an earlier, interrupted run) but nothing grants it yet
    sf_server.add_custom_field(
        "Contact",
        "crmseg_lifecycle__c",
        {
            "label": "Lifecycle",
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {"value": [{"valueName": v} for v in LIFECYCLE.options]},
            },
        },
        open_to_api_user=False,
    )
    update = TagUpdate("contact", contact_ids[0], {"crmseg_lifecycle": "active"})

    with pytest.raises(PermissionDenied, match=r"INVALID_FIELD_FOR_INSERT_UPDATE|security"):
        write_batch(session, [update])

    changes = ensure_fields(session, "contact", [LIFECYCLE])
    assert "created permission set crmseg" in changes
    assert not any(c.startswith("created contact field") for c in changes)

    assert [r.ok for r in write_batch(session, [update])] == [True]
    row = session.sf.query(
        f"SELECT crmseg_lifecycle__c FROM Contact WHERE Id = '{contact_ids[0]}'"
    )["records"][0]
    assert row["crmseg_lifecycle__c"] == "active"


def test_existing_field_of_another_type_is_a_schema_mismatch_before_any_write(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    sf_server.add_custom_field(
        "Contact", "crmseg_interests__c", {"label": "Interests", "type": "Text", "length": 80}
    )
    sf_server.log.clear()

    with pytest.raises(SchemaMismatch) as exc:
        ensure_fields(session, "contact", [LIFECYCLE, INTERESTS])

    message = str(exc.value)
    assert "crmseg_interests__c exists as type 'Text'" in message
    assert "needs a MultiselectPicklist" in message and "Rename or delete" in message
    assert exc.value.crm == "salesforce" and exc.value.object_type == "contact"
    assert writes(sf_server) == 0  # crmseg_lifecycle was not created either


def test_single_field_existing_as_multi_select_is_a_schema_mismatch(
    session: HookedSession,
) -> None:
    ensure_fields(session, "contact", [INTERESTS])
    as_single = FieldSpec("crmseg_interests", "Interests", ("a", "b", "c"))

    with pytest.raises(SchemaMismatch, match="exists as type 'MultiselectPicklist'"):
        ensure_fields(session, "contact", [as_single])


@pytest.mark.parametrize(
    "specs",
    [
        [FieldSpec("segment_abc", "ABC", ("A",))],
        [FieldSpec("crmseg_x", "X", ("A",)), FieldSpec("crmseg_x", "X", ("B",))],
        [FieldSpec("crmseg_x", "X", ("A", "A"))],
        [FieldSpec("crmseg_x", "X", ("A;B",), multi=True)],
        [FieldSpec("crmseg_x", "X", ())],
    ],
    ids=["foreign-name", "twice", "option-twice", "semicolon", "no-options"],
)
def test_bad_specs_are_refused_before_any_call(
    sf_server: SalesforceStandIn, session: HookedSession, specs: list[FieldSpec]
) -> None:
    sf_server.log.clear()
    with pytest.raises(ValueError):
        ensure_fields(session, "contact", specs)
    assert len(sf_server.log) == 0
    assert session.endpoints == []


def test_deal_fields_are_refused(session: HookedSession) -> None:
    with pytest.raises(ValueError, match="unknown object type 'deal'"):
        ensure_fields(session, "deal", [LIFECYCLE])


def test_a_permission_set_an_admin_made_goes_to_the_run_as_user_not_its_creator(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    admin = sf_server.org.admin_user_id
    ps = sf_server.insert("PermissionSet", Name="crmseg", Label="crmseg", created_by=admin)

    ensure_fields(session, "contact", [LIFECYCLE])

    (assignment,) = crmseg_assignments(sf_server.org)
    assert (assignment["AssigneeId"], assignment["PermissionSetId"]) == (
        sf_server.org.api_user_id,
        ps,
    )
    assert session.user_id == sf_server.org.api_user_id  # from the token answer's id URL


def test_the_jwt_flow_also_takes_the_user_from_the_token_answer(
    sf_server: SalesforceStandIn,
) -> None:
    settings = SalesforceSettings(
        instance_url=sf_server.instance_url,
        client_id=sf_server.credentials.consumer_key,
        ca_bundle=sf_server.ca_path,
        auth="jwt",
        username=sf_server.credentials.username,
    )
    jwt = SalesforceSession(
        settings, private_key=sf_server.credentials.private_key_pem, sleep=lambda _s: None
    )
    try:
        assert (jwt.org_id, jwt.user_id) == (sf_server.org.org_id, sf_server.org.api_user_id)
    finally:
        jwt.close()


def test_a_locked_field_permission_row_is_granted_on_a_later_round(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    session.before["fieldpermissions.post"] = lambda: sf_server.lock_next_writes(1)

    changes = ensure_fields(session, "contact", [LIFECYCLE, INTERESTS])

    grants = sorted(str(fp["Field"]) for fp in sf_server.org.live("FieldPermissions"))
    assert grants == ["Contact.crmseg_interests__c", "Contact.crmseg_lifecycle__c"]
    assert session.endpoints.count("fieldpermissions.post") == 2
    assert sum("granted read/edit" in c for c in changes) == 2


def test_a_lock_that_never_clears_is_not_blamed_on_a_missing_permission(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    # every grant row stays locked
    session.before["fieldpermissions.post"] = lambda: sf_server.lock_next_writes(10_000)

    with pytest.raises(CrmError) as exc:
        ensure_fields(session, "contact", [LIFECYCLE])

    assert exc.value.code == "UNABLE_TO_LOCK_ROW"
    assert not isinstance(exc.value, PermissionDenied)
    assert "locked" in str(exc.value) and "Manage Profiles" not in str(exc.value)


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (r"/tooling/sobjects/CustomField/?$", "POST"),
        (r"/sobjects/PermissionSet/?$", "POST"),
        (r"/composite/sobjects$", "POST"),
        (r"/sobjects/PermissionSetAssignment/?$", "POST"),
    ],
    ids=["custom field", "permission set", "field permissions", "assignment"],
)
def test_a_lost_create_answer_leaves_exactly_one_of_each(
    sf_server: SalesforceStandIn, session: HookedSession, path: str, method: str
) -> None:
    session.settings.attempts = 3
    sf_server.lose_responses(1, path, method)

    ensure_fields(session, "contact", [LIFECYCLE, INTERESTS])

    assert len(sf_server.lost) == 1
    assert len(sf_server.org.custom_fields) == 2
    assert [
        p["Name"] for p in sf_server.org.live("PermissionSet") if not p["IsOwnedByProfile"]
    ] == ["crmseg"]
    assert sorted(str(fp["Field"]) for fp in sf_server.org.live("FieldPermissions")) == [
        "Contact.crmseg_interests__c",
        "Contact.crmseg_lifecycle__c",
    ]
    assert len(crmseg_assignments(sf_server.org)) == 1
    sf_server.log.clear()
    assert ensure_fields(session, "contact", [LIFECYCLE, INTERESTS]) == []
    assert writes(sf_server) == 0


def test_values_added_in_setup_keep_their_labels_and_travel_as_value_name(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    # an admin made the field in Setup: labels differ from the API names
    sf_server.add_custom_field(
        "Contact",
        "crmseg_lifecycle__c",
        {
            "label": "Lifecycle",
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {"value": [{"valueName": "new", "label": "New!"}]},
            },
        },
    )
    sf_server.log.clear()
    sent: list[Any] = []
    original = session.call

    def spy(endpoint: str, fn: Any, *args: Any, **kw: Any) -> Any:
        if endpoint == "tooling.customfield.update":
            sent.append(args[1])
        return original(endpoint, fn, *args, **kw)

    session.call = spy  # type: ignore[method-assign]

    changes = ensure_fields(session, "contact", [LIFECYCLE])

    assert changes[0] == "added values active, at_risk to contact field crmseg_lifecycle__c"
    values = sent[0]["Metadata"]["valueSet"]["valueSetDefinition"]["value"]
    assert [(v["valueName"], v["label"]) for v in values] == [
        ("new", "New!"),
        ("active", "active"),
        ("at_risk", "at_risk"),
    ]
    assert not any("fullName" in v for v in values)
    session.call = original  # type: ignore[method-assign]
    sf_server.log.clear()
    assert ensure_fields(session, "contact", [LIFECYCLE]) == []
    assert writes(sf_server) == 0


def test_record_types_missing_crmseg_values_are_reported_once_before_writing(
    sf_server: SalesforceStandIn, session: HookedSession, caplog: pytest.LogCaptureFixture
) -> None:
    from connectors.salesforce.fields import record_type_gaps

    partner = sf_server.org.add_record_type("Contact", "Partner", {})
    sf_server.org.add_record_type("Contact", "Old", {}, active=False)
    sf_server.org.add_record_type("Account", "Reseller", {})  # another object: not asked

    with caplog.at_level("WARNING"):
        ensure_fields(session, "contact", [LIFECYCLE])

    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "record type 'Partner': crmseg_lifecycle__c lacks new, active, at_risk" in warning
    assert "Old" not in warning and "Reseller" not in warning
    sf_server.org.record_type_values[partner]["crmseg_lifecycle__c"] = ["new", "active"]
    assert record_type_gaps(session, "Contact", [LIFECYCLE]) == {
        "Partner": {"crmseg_lifecycle__c": ["at_risk"]}
    }
