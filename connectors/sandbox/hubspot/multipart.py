"""The ``multipart/form-data`` body of an import start, split into fields and files.

Why not ``email.parser`` for the whole body: it copies and re-scans a 100 MB
upload several times and took longer than a client's read timeout for a 1M-row
file. The body is split at its boundary (RFC 7578: parts are sent as they are,
no transfer encoding); only each part's few header lines go through the email
parser. A part that names a transfer encoding is decoded by the email parser.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

from connectors.sandbox.hubspot.errors import validation_error

__all__ = ["form_data"]

PLAIN = frozenset({"", "7bit", "8bit", "binary"})


def form_data(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """Form fields and uploaded files (by file name) of a multipart/form-data body."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise validation_error("Imports are sent as multipart/form-data")
    head = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    )
    boundary = head.get_boundary()
    if not boundary:
        raise validation_error("Malformed multipart body")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise validation_error("Malformed multipart body")
    fields: dict[str, str] = {}
    uploads: dict[str, bytes] = {}
    for chunk in chunks[1:-1]:
        headers_end = chunk.find(b"\r\n\r\n")
        if not chunk.startswith(b"\r\n") or headers_end < 0:
            raise validation_error("Malformed multipart body")
        raw_headers = chunk[2 : headers_end + 2]
        payload = chunk[headers_end + 4 :]
        if payload.endswith(b"\r\n"):
            payload = payload[:-2]
        part = BytesParser(policy=HTTP).parsebytes(raw_headers + b"\r\n")
        encoding = str(part.get("content-transfer-encoding") or "").strip().lower()
        if encoding not in PLAIN:
            decoded = BytesParser(policy=HTTP).parsebytes(raw_headers + b"\r\n" + payload)
            got = decoded.get_payload(decode=True)
            payload = got if isinstance(got, bytes) else b""
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        if filename is not None and name == "files":
            uploads[filename] = payload
        elif name:
            fields[str(name)] = payload.decode("utf-8")
    return fields, uploads
