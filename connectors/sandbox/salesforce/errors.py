"""Salesforce's error shapes, raised inside the stand-in and rendered at one boundary.

Salesforce answers REST failures with an HTTP status and a JSON *array* of
``{message, errorCode, fields}``; simple-salesforce reads ``[0]['errorCode']`` on
a 401 before anything else, so the array shape is not optional. Per-record
failures inside a collections reply use ``statusCode`` instead (``RecordError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SfError(Exception):
    """A whole-request failure: becomes ``status`` + ``[{message, errorCode, fields}]``."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        """The wire body; ``fields`` only appears when relevant, as on the real API."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


def malformed_query(message: str) -> SfError:
    return SfError(400, "MALFORMED_QUERY", message)


def invalid_field(name: str, obj: str) -> SfError:
    """The exact wording users grep for: unknown and FLS-hidden fields look the same."""
    return SfError(
        400,
        "INVALID_FIELD",
        f"\n{name}\n^\nERROR at Row:1:Column:1\nNo such column '{name}' on entity '{obj}'. "
        "If you are attempting to use a custom field, be sure to append the '__c' after the "
        "custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
    )


def not_found(message: str = "The requested resource does not exist") -> SfError:
    return SfError(404, "NOT_FOUND", message)


@dataclass
class RecordError(Exception):
    """A per-record failure (collections, single-record writes, Bulk 2.0 rows)."""

    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def bulk_text(self) -> str:
        """Bulk 2.0's ``sf__Error`` column: ``CODE:message:fields --``."""
        return f"{self.status_code}:{self.message}:{','.join(self.fields)} --"
