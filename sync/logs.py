"""Structured logs on stderr: ``--log-format text`` for people, ``json`` for log
shippers (one object per line). Secrets never reach a log: every record passes
a filter that masks the values of the CRM credential variables."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from enum import StrEnum

#: Environment variables whose values are masked wherever they appear in a log line.
SECRET_VARIABLES = (
    "HUBSPOT_ACCESS_TOKEN",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_PRIVATE_KEY",
    "SALESFORCE_ACCESS_TOKEN",
)


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class MaskSecrets(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets = [v for k in SECRET_VARIABLES if len(v := os.environ.get(k, "")) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "***")
        record.msg, record.args = message, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in getattr(record, "fields", {}).items():
            # An event field never overwrites the line's own time, level or message.
            payload[f"event_{key}" if key in payload else key] = value
        return json.dumps(payload, default=str)


def configure(log_format: LogFormat, *, verbose: bool = False) -> None:
    """Route crmseg's and the connectors' loggers to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskSecrets())
    handler.setFormatter(
        JsonFormatter()
        if log_format is LogFormat.json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    for name in ("crmseg", "connectors", "sync"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        # Text logs would only repeat the progress bars and summary: warnings only,
        # unless asked. JSON logs are for machines and carry every event.
        quiet_level = logging.INFO if log_format is LogFormat.json else logging.WARNING
        logger.setLevel(logging.DEBUG if verbose else quiet_level)
        logger.propagate = False


def event(logger: logging.Logger, message: str, **fields: object) -> None:
    """An info line whose ``fields`` become JSON keys in ``--log-format json``."""
    logger.info(message, extra={"fields": fields})
