"""crmseg's one exception tree, sorted by what the caller must do.

::

    CrmsegError
    ├── ConfigError            bad config file or option: fix it, exit 2, nothing written
    ├── InputError             bad input data (CSV, ids, values): fix it, exit 2, nothing written
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
        │   └── BudgetExhausted   the daily API allowance (or its reserve) is used up
        └── RecordRejected     one record refused (validation, lock, ...): record it, go on

The writer's behaviour follows from the class alone, so connectors translate
vendor exceptions into this tree at their boundary and nowhere else.
"""

from __future__ import annotations


class CrmsegError(Exception):
    """Base of every error crmseg raises on purpose."""


class ConfigError(CrmsegError):
    """The configuration is invalid. ``problems`` lists each one with its location."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class InputError(CrmsegError):
    """Input data is invalid; the message names the file, line and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        where = ", ".join(
            part
            for part in (
                file,
                f"line {line}" if line is not None else None,
                f"column {column!r}" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message


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


class RecordRejected(CrmError):
    """One record was refused; the others in its batch are unaffected."""
