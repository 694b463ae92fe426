"""crmseg's one exception tree, sorted by what the caller must do.

::

    CrmsegError
    ├── ConfigError            bad config file or option: fix it, exit 2, nothing written
    ├── InputError             bad input data (CSV, ids, values): fix it, exit 2, nothing written
    ├── StateError             the state file is unusable (missing, unreadable, not crmseg's): exit 2
    │   └── AccountMismatch    it belongs to another CRM account than the credentials
    ├── AlreadyRunning         another run holds the state file: exit 3, nothing written
    ├── MassChange             the run would change too much at once: exit 4, nothing written
    └── CrmError               something the CRM answered (or failed to answer)
        ├── Retriable          try again later; the writer retries these
        │   ├── RateLimited    429 / request limit; carries retry_after when the CRM sent one
        │   ├── ServerError    5xx
        │   └── Timeout        no answer in time, or the connection dropped
        ├── Fatal              stop the run; retrying cannot help
        │   ├── Unreachable    connection refused or host unknown: a wrong URL, or the CRM is down
        │   ├── CertificateProblem  TLS verification failed: a wrong ``ca_bundle``, or an intercepting proxy
        │   ├── AuthError      bad or expired credentials
        │   ├── PermissionDenied  missing scope / field-level security
        │   ├── SchemaMismatch    a tag field exists with the wrong type or options
        │   │   └── ListNotOwned  a list of crmseg's name that crmseg did not create
        │   └── BudgetExhausted   the daily API allowance (or its reserve) is used up
        └── RecordRejected     one record refused (validation, lock, ...): record it, go on

The writer's behaviour follows from the class alone, so connectors translate
vendor exceptions into this tree at their boundary and nowhere else.
``CrmsegError`` and ``InputError`` are defined in :mod:`segmentation.errors`
(the pure segmentation depends on no connector) and re-exported here.
"""

from __future__ import annotations

from segmentation.errors import CrmsegError, InputError

__all__ = [
    "AccountMismatch",
    "AlreadyRunning",
    "AuthError",
    "BudgetExhausted",
    "CertificateProblem",
    "ConfigError",
    "CrmError",
    "CrmsegError",
    "Fatal",
    "InputError",
    "ListNotOwned",
    "MassChange",
    "PermissionDenied",
    "RateLimited",
    "RecordRejected",
    "Retriable",
    "SchemaMismatch",
    "ServerError",
    "StateError",
    "Timeout",
    "Unreachable",
]


class ConfigError(CrmsegError):
    """The configuration is invalid. ``problems`` lists each one with its location."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class StateError(CrmsegError):
    """The state file cannot be used as it is (missing, unreadable, not crmseg's)."""


class AccountMismatch(StateError):
    """The state file belongs to another CRM account than the credentials."""


class AlreadyRunning(CrmsegError):
    """Another crmseg run holds the state file."""


class MassChange(CrmsegError):
    """The run would change too much at once; nothing was written."""


class CrmError(CrmsegError):
    """An error reported by (or while talking to) a CRM, with the context to act on it."""

    def __init__(
        self,
        message: str,
        *,
        crm: str | None = None,
        object_type: str | None = None,
        record_id: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.crm = crm
        self.object_type = object_type
        self.record_id = record_id
        self.status = status
        self.request_id = request_id
        self.code = code

    def __str__(self) -> str:
        subject = " ".join(p for p in (self.object_type, self.record_id) if p)
        head = (
            f"{self.crm} rejected {subject}: "
            if self.crm and subject
            else (f"{self.crm}: " if self.crm else "")
        )
        details = [d for d in (self.code, f"HTTP {self.status}" if self.status else None) if d]
        tail = f" (request {self.request_id})" if self.request_id else ""
        code = f" [{', '.join(details)}]" if details else ""
        return f"{head}{self.message}{code}{tail}"


class Retriable(CrmError):
    """Transient: the same request may succeed later."""


class RateLimited(Retriable):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(Retriable):
    pass


class Timeout(Retriable):
    pass


class Fatal(CrmError):
    """Retrying cannot help; the run stops before writing anything more."""


class Unreachable(Fatal):
    """No connection could be opened (refused, unknown host).

    Unlike a timeout, the request never reached the CRM, so nothing is left
    running server-side; transports try it at most twice more, quickly, then
    raise this with the URL in the message.
    """


class CertificateProblem(Fatal):
    """The CRM's TLS certificate could not be verified; the message names ``ca_bundle``."""


class AuthError(Fatal):
    pass


class PermissionDenied(Fatal):
    pass


class SchemaMismatch(Fatal):
    pass


class BudgetExhausted(Fatal):
    pass


class ListNotOwned(SchemaMismatch):
    """A list with crmseg's name exists but crmseg did not create it."""


class RecordRejected(CrmError):
    """One record was refused; the others in its batch are unaffected."""
