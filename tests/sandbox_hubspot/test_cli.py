"""``sandbox serve`` is registered per CRM and rejects unknown ones."""

from __future__ import annotations

from typer.testing import CliRunner

from connectors.sandbox.cli import SANDBOXES, sandbox_app


def test_hubspot_is_registered() -> None:
    assert "hubspot" in SANDBOXES


def test_unknown_crm_exits_2() -> None:
    result = CliRunner().invoke(sandbox_app, ["serve", "nosuchcrm"])
    assert result.exit_code == 2


def test_serve_has_help() -> None:
    result = CliRunner().invoke(sandbox_app, ["serve", "--help"])
    assert result.exit_code == 0 and "--contacts" in result.output
