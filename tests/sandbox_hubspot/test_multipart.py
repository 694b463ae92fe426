"""The stand-in's split of an import start's multipart body (``multipart.form_data``)."""

from __future__ import annotations

import base64

import pytest
from urllib3 import encode_multipart_formdata

from connectors.sandbox._server import HttpError
from connectors.sandbox.hubspot.multipart import form_data


def test_fields_and_files_as_the_hubspot_client_encodes_them() -> None:
    csv_a = b"id,crmseg_abc\r\n1,A\r\n--not a boundary\r\n"
    csv_b = "id,crmseg_interests\n2,caf\u00e9;wind\n".encode()
    body, ctype = encode_multipart_formdata(
        [
            ("importRequest", '{"name": "x"}'),
            ("files", ("a.csv", csv_a, "text/csv")),
            ("files", ("b.csv", csv_b, "application/octet-stream")),
        ]
    )
    fields, uploads = form_data(ctype, body)
    assert fields == {"importRequest": '{"name": "x"}'}
    assert uploads == {"a.csv": csv_a, "b.csv": csv_b}


def test_a_part_with_a_transfer_encoding_is_decoded() -> None:
    payload = base64.b64encode(b"id,crmseg_abc\n1,B\n")
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="files"; filename="c.csv"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"\r\n--XyZ--\r\n"
    )
    _, uploads = form_data("multipart/form-data; boundary=XyZ", body)
    assert uploads == {"c.csv": b"id,crmseg_abc\n1,B\n"}


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("application/json", b"{}"),
        ("multipart/form-data", b"--a\r\n\r\nx\r\n--a--"),
        ("multipart/form-data; boundary=a", b"--a\r\nno blank line\r\n--a--"),
        ("multipart/form-data; boundary=a", b"--a\r\n\r\nunterminated"),
    ],
)
def test_malformed_bodies_are_refused_with_a_400(ctype: str, body: bytes) -> None:
    with pytest.raises(HttpError) as err:
        form_data(ctype, body)
    assert err.value.response.status == 400
