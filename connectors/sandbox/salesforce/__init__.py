"""Local stand-in for the Salesforce REST, Bulk API 2.0 and Tooling APIs.

Built from the wire facts in ``FACTS.md`` (with their sources) and driven in tests by
the unmodified simple-salesforce. Modules, one job each:

* ``app``         ``SalesforceStandIn``: routes on the shared HTTPS server, faults, test API
* ``auth``        OAuth token endpoint (client credentials, JWT bearer), session ids
* ``limits``      daily API allocation (``Sforce-Limit-Info``), concurrent long requests
* ``rest``        query/queryAll paging, describe, single-record CRUD, updated/deleted
* ``collections`` ``composite/sobjects`` with per-record results and allOrNone
* ``bulk2``       Bulk 2.0 ingest and query jobs
* ``tooling``     Tooling ``CustomField`` create/read/update/delete/query
* ``soql_lexer`` / ``soql_ast`` / ``soql_parse`` / ``soql_eval``  the SOQL subset: tokens
  and literals, the syntax tree, the parser, the evaluator
* ``schema`` / ``store`` / ``writes``  sObject definitions, the org, validated writes + FLS
* ``seed``        the shared generator's dataset as Accounts, Contacts, Opportunities, roles
"""

from .app import SalesforceStandIn
from .auth import Credentials

__all__ = ["Credentials", "SalesforceStandIn"]
