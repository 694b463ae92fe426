"""docs/SEGMENTS.md "Data quality"."""

import pytest
from conftest import contact, run_segmentation


def _quality(seg, *contacts):
    tags = seg(list(contacts))
    return {c["id"]: tags[c["id"]]["data_quality"] for c in contacts}


MISSING = ["", "   "]
INVALID = ["foo", "a@b", "@b.com", "a@", "a@@b.com", "a@b@c.com", "a.b.com", "a.b@com"]
VALID = ["a@b.co", "  first.last@example.org  ", "A+b@x.y.z"]
#: exactly one "@", text on both sides, a dot after it: nothing else is required
ONLY_THREE = ["a@.com", "a@b.", "a b@c.d"]


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """The issues of a clean contact (``clean``), of one without a country
    (``no_country``) and of one per email above, keyed by the email, in one run: no two
    of them share an email that is not empty (empty ones are never duplicates, pinned
    below), and no other issue looks beyond the contact itself."""
    emails = [*MISSING, *INVALID, *VALID, *ONLY_THREE]
    contacts = [contact("clean"), contact("no_country", country="")]
    contacts += [contact(f"e{n}", email=email) for n, email in enumerate(emails)]
    tags = run_segmentation(tmp_path_factory.mktemp("quality"), contacts)
    quality = {c["id"]: tags[c["id"]]["data_quality"] for c in contacts}
    return {
        "clean": quality["clean"],
        "no_country": quality["no_country"],
        **{email: quality[f"e{n}"] for n, email in enumerate(emails)},
    }


def test_clean_contact_has_no_issue(alone):
    assert alone["clean"] is None


@pytest.mark.parametrize("email", MISSING)
def test_empty_email_after_trimming_is_missing_email(alone, email):
    assert alone[email] == "missing_email"


def test_two_missing_emails_are_not_duplicates(seg):
    assert _quality(seg, contact("1", email=""), contact("2", email=" ")) == {
        "1": "missing_email",
        "2": "missing_email",
    }


@pytest.mark.parametrize("email", INVALID)
def test_email_without_one_at_text_on_both_sides_and_dot_after_is_invalid(alone, email):
    assert alone[email] == "invalid_email"


@pytest.mark.parametrize("email", VALID)
def test_valid_email_after_trimming_is_not_invalid(alone, email):
    assert alone[email] is None


def test_duplicate_email_compares_trimmed_and_case_insensitive(seg):
    result = _quality(
        seg,
        contact("1", email="Ann@Example.com"),
        contact("2", email="  ann@example.COM "),
        contact("3", email="b@example.com"),
    )
    assert result == {"1": "duplicate_email", "2": "duplicate_email", "3": None}


def test_invalid_duplicate_email_gets_both_flags_sorted(seg):
    result = _quality(seg, contact("1", email="foo"), contact("2", email="FOO"))
    assert result == {"1": "duplicate_email;invalid_email", "2": "duplicate_email;invalid_email"}


def test_missing_name_needs_both_names_empty(seg):
    result = _quality(
        seg,
        contact("1", first_name="", last_name=""),
        contact("2", first_name="Ann", last_name=""),
        contact("3", first_name="", last_name="Lee"),
    )
    assert result == {"1": "missing_name", "2": None, "3": None}


def test_missing_country(alone):
    assert alone["no_country"] == "missing_country"


def test_all_issues_are_sorted_and_semicolon_joined(seg):
    result = _quality(
        seg,
        contact("1", email="", first_name="", last_name="", country=""),
        contact("2", email="x@y", first_name="", last_name="", country=""),
        contact("3", email="X@Y", first_name="A", last_name="", country="DE"),
    )
    assert result == {
        "1": "missing_country;missing_email;missing_name",
        "2": "duplicate_email;invalid_email;missing_country;missing_name",
        "3": "duplicate_email;invalid_email",
    }


def test_empty_or_blank_salutation_is_missing_salutation(seg):
    assert _quality(
        seg,
        contact("1", salutation=""),
        contact("2", salutation="  "),
        contact("3", salutation="Dr"),
    ) == {"1": "missing_salutation", "2": "missing_salutation", "3": None}


@pytest.mark.parametrize("email", ONLY_THREE)
def test_email_check_is_only_the_three_stated_conditions(alone, email):
    assert alone[email] is None


def test_duplicate_email_is_case_insensitive_for_non_ascii_letters(seg):
    result = _quality(
        seg, contact("1", email="JÖRG@example.de"), contact("2", email="jörg@example.de")
    )
    assert result == {"1": "duplicate_email", "2": "duplicate_email"}


def test_duplicate_email_needs_another_contact_not_the_same_one(seg):
    result = _quality(seg, contact("1", email="a@b.co"), contact("2", email="a@b.com"))
    assert result == {"1": None, "2": None}


def test_missing_address_only_when_listed(seg):
    full = {"street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin"}
    contacts = [
        contact("1", **full),
        contact("2", **dict(full, street=" ")),
        contact("3", **dict(full, postal_code="")),
        contact("4", **dict(full, city="\t")),
        contact("5"),
    ]
    assert _quality(seg, *contacts)["2"] is None  # default: not checked
    checks = ["missing_address", "missing_salutation"]
    tags = seg(contacts, quality_checks=checks)
    assert {c: t["data_quality"] for c, t in tags.items()} == {
        "1": None,
        "2": "missing_address",
        "3": "missing_address",
        "4": "missing_address",
        "5": "missing_address",
    }


def test_missing_address_when_the_columns_are_not_in_the_data(seg):
    tags = seg([contact("1")], quality_checks=["missing_address"])
    assert tags["1"]["data_quality"] == "missing_address"


def test_quality_checks_select_the_checks_and_keep_the_sorted_order(seg):
    c = contact("1", email="", first_name="", last_name="", country="", salutation="")
    everything = seg(
        [c],
        quality_checks=[
            "missing_salutation",
            "missing_name",
            "missing_email",
            "missing_country",
            "missing_address",
        ],
    )
    assert everything["1"]["data_quality"] == (
        "missing_address;missing_country;missing_email;missing_name;missing_salutation"
    )
    assert seg([c], quality_checks=["missing_name"])["1"]["data_quality"] == "missing_name"
    assert seg([c], quality_checks=[])["1"]["data_quality"] is None
