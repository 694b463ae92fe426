"""Tooling CustomField creation, value-set limits, and the field-level-security gate."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.sandbox.salesforce.app import SalesforceStandIn


def _picklist(full_name: str, values: list[str], *, multi: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "label": full_name.split(".")[1],
        "type": "MultiselectPicklist" if multi else "Picklist",
        "valueSet": {
            "restricted": True,
            "valueSetDefinition": {
                "sorted": False,
                "value": [{"valueName": v, "label": v, "default": False} for v in values],
            },
        },
    }
    if multi:
        meta["visibleLines"] = 4
    return {"FullName": full_name, "Metadata": meta}


def _grant(sf: Salesforce, server: SalesforceStandIn, *fields: str) -> None:
    """What a connector does after creating fields: permission set, FLS rows, assignment."""
    ps = sf.PermissionSet.create({"Name": "crmseg_fields", "Label": "crmseg fields"})["id"]
    for f in fields:
        sf.FieldPermissions.create(
            {
                "ParentId": ps,
                "SobjectType": f.split(".")[0],
                "Field": f,
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
        )
    sf.PermissionSetAssignment.create({"AssigneeId": server.org.api_user_id, "PermissionSetId": ps})


def test_created_field_is_invisible_until_fls_grants_it(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    created = sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data=_picklist("Contact.Segment_ABC__c", ["A", "B", "C"]),
    )
    assert created["success"] is True and created["id"].startswith("00N")
    contact = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]

    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id, Segment_ABC__c FROM Contact")
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
    out = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [{"attributes": {"type": "Contact"}, "id": contact, "Segment_ABC__c": "A"}]
        },
    )
    assert out[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert "Segment_ABC__c" not in {f["name"] for f in sf.Contact.describe()["fields"]}

    _grant(sf, sf_server, "Contact.Segment_ABC__c")

    out = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [{"attributes": {"type": "Contact"}, "id": contact, "Segment_ABC__c": "A"}]
        },
    )
    assert out[0]["success"] is True
    row = sf.query(f"SELECT Segment_ABC__c FROM Contact WHERE Id = '{contact}'")["records"][0]
    assert row["Segment_ABC__c"] == "A"
    described = {f["name"]: f for f in sf.Contact.describe()["fields"]}["Segment_ABC__c"]
    assert described["custom"] is True and described["restrictedPicklist"] is True


def test_read_only_grant_still_refuses_writes(sf_server: SalesforceStandIn, sf: Salesforce) -> None:
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Contact.Note__c",
            "Metadata": {"label": "Note", "type": "Text", "length": 40},
        },
    )
    ps = sf.PermissionSet.create({"Name": "ro", "Label": "ro"})["id"]
    sf.FieldPermissions.create(
        {
            "ParentId": ps,
            "SobjectType": "Contact",
            "Field": "Contact.Note__c",
            "PermissionsRead": True,
            "PermissionsEdit": False,
        }
    )
    sf.PermissionSetAssignment.create(
        {"AssigneeId": sf_server.org.api_user_id, "PermissionSetId": ps}
    )
    contact = sf.query("SELECT Id, Note__c FROM Contact LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.update(contact, {"Note__c": "hi"})
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_restricted_multi_select_rejects_unknown_values_and_filters_with_includes(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data=_picklist("Contact.Interests__c", ["cloud", "security", "training"], multi=True),
    )
    _grant(sf, sf_server, "Contact.Interests__c")
    a, b = [r["Id"] for r in sf.query("SELECT Id FROM Contact LIMIT 2")["records"]]
    out = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Contact"}, "id": a, "Interests__c": "cloud;security"},
                {"attributes": {"type": "Contact"}, "id": b, "Interests__c": "cloud;golf"},
            ]
        },
    )
    assert out[0]["success"] is True
    assert out[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    hits = sf.query(
        "SELECT Id, Interests__c FROM Contact WHERE Interests__c INCLUDES ('security;cloud')"
    )["records"]
    assert [(r["Id"], r["Interests__c"]) for r in hits] == [(a, "cloud;security")]


def test_picklist_over_1000_values_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.toolingexecute(
            "sobjects/CustomField",
            method="POST",
            data=_picklist("Contact.Big__c", [f"v{i}" for i in range(1001)]),
        )
    assert exc.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_picklist_value_longer_than_255_characters_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest):
        sf.toolingexecute(
            "sobjects/CustomField", method="POST", data=_picklist("Contact.Long__c", ["x" * 256])
        )


def test_creating_the_same_field_twice_is_duplicate_developer_name(sf: Salesforce) -> None:
    body = _picklist("Contact.Tier__c", ["A"])
    sf.toolingexecute("sobjects/CustomField", method="POST", data=body)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.toolingexecute("sobjects/CustomField", method="POST", data=body)
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


def test_tooling_query_finds_fields_and_patch_extends_the_value_set(sf: Salesforce) -> None:
    fid = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data=_picklist("Contact.Rfm__c", ["111"])
    )["id"]
    found = sf.toolingexecute(
        "query/?q=SELECT+Id,+DeveloperName+FROM+CustomField+WHERE+TableEnumOrId+=+'Contact'"
    )
    assert [(r["Id"], r["DeveloperName"]) for r in found["records"]] == [(fid, "Rfm")]
    sf.toolingexecute(
        f"sobjects/CustomField/{fid}",
        method="PATCH",
        data=_picklist("Contact.Rfm__c", ["111", "555"]),
    )
    meta = sf.toolingexecute(f"sobjects/CustomField/{fid}")["Metadata"]
    assert [v["valueName"] for v in meta["valueSet"]["valueSetDefinition"]["value"]] == [
        "111",
        "555",
    ]


def test_edit_without_read_is_refused_on_field_permissions(sf: Salesforce) -> None:
    sf.toolingexecute("sobjects/CustomField", method="POST", data=_picklist("Contact.E__c", ["A"]))
    ps = sf.PermissionSet.create({"Name": "e", "Label": "e"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.FieldPermissions.create(
            {
                "ParentId": ps,
                "SobjectType": "Contact",
                "Field": "Contact.E__c",
                "PermissionsRead": False,
                "PermissionsEdit": True,
            }
        )
    assert exc.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_tooling_picklist_values_are_named_by_value_name_not_full_name(sf: Salesforce) -> None:
    fid = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data=_picklist("Contact.Vn__c", ["x", "y"])
    )["id"]
    values = sf.toolingexecute(f"sobjects/CustomField/{fid}")["Metadata"]["valueSet"][
        "valueSetDefinition"
    ]["value"]
    assert [v["valueName"] for v in values] == ["x", "y"]
    assert all("fullName" not in v for v in values)
    metadata_spelling = _picklist("Contact.Fn__c", ["x"])
    metadata_spelling["Metadata"]["valueSet"]["valueSetDefinition"]["value"] = [
        {"fullName": "x", "label": "x", "default": False}
    ]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.toolingexecute("sobjects/CustomField", method="POST", data=metadata_spelling)
    assert exc.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_a_second_grant_row_for_the_same_field_is_duplicate_value(sf: Salesforce) -> None:
    sf.toolingexecute("sobjects/CustomField", method="POST", data=_picklist("Contact.D__c", ["A"]))
    ps = sf.PermissionSet.create({"Name": "d", "Label": "d"})["id"]
    row = {
        "ParentId": ps,
        "SobjectType": "Contact",
        "Field": "Contact.D__c",
        "PermissionsRead": True,
        "PermissionsEdit": True,
    }
    sf.FieldPermissions.create(row)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.FieldPermissions.create(row)
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.PermissionSet.create({"Name": "D", "Label": "again"})
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


def test_record_types_allow_only_their_values_and_new_values_are_not_added(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    fid = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data=_picklist("Contact.Rt__c", ["A", "B"])
    )["id"]
    _grant(sf, sf_server, "Contact.Rt__c")
    rt = sf_server.org.add_record_type("Contact", "Partner Contact", {"Rt__c": ["A"]})
    contacts = sorted(r["Id"] for r in sf_server.org.live("Contact"))
    sf_server.update(contacts[0], RecordTypeId=rt)
    sf.toolingexecute(
        f"sobjects/CustomField/{fid}",
        method="PATCH",
        data=_picklist("Contact.Rt__c", ["A", "B", "C"]),
    )

    result = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Contact"}, "id": contacts[0], "Rt__c": "C"},
                {"attributes": {"type": "Contact"}, "id": contacts[1], "Rt__c": "C"},
                {"attributes": {"type": "Contact"}, "id": contacts[0], "Rt__c": "A"},
            ],
        },
    )

    assert [r["success"] for r in result] == [False, True, True]
    assert result[0]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    values = sf.restful(f"ui-api/object-info/Contact/picklist-values/{rt}/Rt__c")["values"]
    assert [v["value"] for v in values] == ["A"]
