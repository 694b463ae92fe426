"""Salesforce connector: session (OAuth, budget, retries, errors), records, pulls, writes.

Public entry points: :class:`SalesforceConnector`, :class:`SalesforceSession`,
:class:`SalesforceSettings`, and the tag-field name mapping :func:`to_api_name` /
:func:`from_api_name` (``crmseg_abc`` <-> ``crmseg_abc__c``).
"""

from connectors.salesforce.connector import SalesforceConnector, sobject
from connectors.salesforce.records import from_api_name, to_api_name
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.settings import SalesforceSettings

__all__ = [
    "SalesforceConnector",
    "SalesforceSession",
    "SalesforceSettings",
    "from_api_name",
    "sobject",
    "to_api_name",
]
