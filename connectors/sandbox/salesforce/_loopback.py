"""A requests adapter that keeps simple-salesforce on the loopback stand-in.

simple-salesforce hard-codes ``https://{domain}.salesforce.com`` for logins;
this adapter rewrites those hosts to ``127.0.0.1:<port>`` (still HTTPS, still
verified against the stand-in's CA) and refuses every other non-loopback host,
so a test can never reach the internet by accident.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

LOOPBACK = ("127.0.0.1", "localhost")


class LoopbackAdapter(HTTPAdapter):
    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        if host.endswith(".salesforce.com") or host in LOOPBACK:
            request.url = urlunsplit(
                ("https", f"127.0.0.1:{self.port}", parts.path, parts.query, "")
            )
        else:
            raise requests.ConnectionError(f"sandbox session refuses non-loopback host {host!r}")
        return super().send(request, *args, **kwargs)
