"""One urllib3 pool for every api object of a HubSpot client.

Why one pool per transport: the SDK gives every api object (contacts' basic, batch
and search apis, properties, associations, lists...) an ``ApiClient`` with a urllib3
pool of its own, so a sync opened a new connection, with its own TLS handshake, per
api object. :class:`~connectors.hubspot.transport.Transport` builds the api objects
through the SDK's ``api_factory`` hook exactly as its default factory does (same
``Configuration``, same ``ApiClient``), then points each one's REST client at the
transport's single pool, built with the same arguments the SDK's own
``RESTClientObject`` passes (verification, CA bundle, retries off, pool size): the
requests, their headers and their TLS are unchanged, only the connections are
shared and kept alive across api objects.
"""

from __future__ import annotations

import functools
import importlib.metadata
import ssl
from collections.abc import Callable
from types import ModuleType
from typing import Any

import urllib3
from urllib3.util.retry import Retry

__all__ = ["ApiFactory", "pooled_api_factory", "shared_pool"]

#: The SDK's ``api_factory`` hook: ``(package, api_name, config) -> api object``.
ApiFactory = Callable[[ModuleType, str, dict[str, Any]], Any]


@functools.cache
def _user_agent() -> str:
    """The SDK's own User-Agent (its default factory reads the installed version from
    the package metadata on every api object it builds: about 1 ms each)."""
    return f"hubspot-api-client-python; {importlib.metadata.version('hubspot-api-client')}"


def shared_pool(ssl_ca_cert: str | None, retry: Retry, maxsize: int) -> urllib3.PoolManager:
    """The one pool every api object sends through: the arguments of the SDK's
    ``RESTClientObject`` for this configuration."""
    return urllib3.PoolManager(
        num_pools=4,
        maxsize=maxsize,
        cert_reqs=ssl.CERT_REQUIRED,
        ca_certs=ssl_ca_cert or None,
        cert_file=None,
        key_file=None,
        retries=retry,
    )


def pooled_api_factory(pool: urllib3.PoolManager) -> ApiFactory:
    """The SDK's default api factory (``DiscoveryBase._default_api_factory``), with
    ``pool`` in place of a new one per api object."""

    def factory(package: ModuleType, api_name: str, config: dict[str, Any]) -> Any:
        configuration = package.Configuration()
        for key, value in config.items():
            if key == "api_key":
                configuration.api_key["developer_hapikey"] = value
            elif key == "retry":
                configuration.retries = value
            else:
                setattr(configuration, key, value)
        api_client = package.ApiClient(configuration=configuration)
        api_client.user_agent = _user_agent()
        api_client.rest_client.pool_manager.clear()
        api_client.rest_client.pool_manager = pool
        return getattr(package, api_name)(api_client=api_client)

    return factory
