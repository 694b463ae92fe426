"""The stand-ins' HTTPS server answers as a CRM's front end does on the wire."""

from __future__ import annotations

from connectors.sandbox._server import Router, SandboxServer, _make_handler


def test_answers_go_out_without_waiting_for_the_clients_ack() -> None:
    """TCP_NODELAY on every connection: headers and body are two writes, and with Nagle
    the body of each keep-alive answer would wait for the client's delayed ACK."""
    handler = _make_handler(SandboxServer(Router()))
    assert handler.disable_nagle_algorithm is True
