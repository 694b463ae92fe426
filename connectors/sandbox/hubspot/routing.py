"""Route table with the metadata HubSpot's gateway needs per endpoint.

Why: auth scopes and rate-limit buckets are properties of an endpoint (the
spec's ``security`` blocks and ``x-hubspot-rate-limit-exemptions``), so they
are declared next to the route instead of being re-derived from paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.sandbox._server import Handler, Request, Router
from connectors.sandbox.hubspot.errors import validation_error
from connectors.sandbox.hubspot.object_types import canonical

ScopeFn = Callable[[Request], list[list[str]]]
"""Every inner list must be satisfied by at least one of its scopes."""
OBJ = r"(?P<type>[^/]+)"  # object type segment: name or id (contacts, 0-1)
ID = r"(?P<id>[^/]+)"


@dataclass
class Routes:
    """Routes plus, per route name, accepted scopes and rate-limit bucket."""

    router: Router = field(default_factory=Router)
    scopes: dict[str, ScopeFn] = field(default_factory=dict)
    bucket: dict[str, str] = field(default_factory=dict)  # standard | search | exempt

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        name: str,
        scopes: ScopeFn,
        bucket: str = "standard",
    ) -> None:
        self.router.add(method, pattern, handler, name)
        self.scopes[name] = scopes
        self.bucket[name] = bucket


def object_type(request: Request, key: str = "type") -> str:
    """Canonical object type from a path parameter, or HubSpot's 400."""
    t = canonical(request.params.get(key, ""))
    if t is None:
        raise validation_error(f"Unable to infer object type from: {request.params.get(key)}")
    return t


def _types(request: Request) -> list[str]:
    return [
        t for k in ("type", "to_type", "from_type") if (t := canonical(request.params.get(k, "")))
    ]


def object_scope(kind: str) -> ScopeFn:
    """``crm.objects.<type>.<kind>`` for every object type in the path."""

    def fn(request: Request) -> list[list[str]]:
        return [[f"crm.objects.{t}.{kind}"] for t in _types(request)]

    return fn


def schema_scope(kind: str) -> ScopeFn:
    """Properties: read with schema- or object-read; writes need schema-write."""

    def fn(request: Request) -> list[list[str]]:
        ts = _types(request)
        if kind == "read":
            return [[f"crm.schemas.{t}.read", f"crm.objects.{t}.read"] for t in ts]
        return [[f"crm.schemas.{t}.write"] for t in ts]

    return fn


def fixed_scope(*scopes: str) -> ScopeFn:
    return lambda _request: [[s] for s in scopes]
