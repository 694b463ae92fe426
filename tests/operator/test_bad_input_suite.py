"""The bad-input suite: each case is one mistake an admin makes (config, environment,
arguments, state file, CSV, the CRM's side). Every case asserts the exit code, that the
message names the place (file, key, line, URL), and that nothing was written: no write
request reached the CRM, the state file is byte-identical and still usable, a previous
``tags.csv`` is untouched."""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import certifi
import duckdb
import pytest
from typer.testing import CliRunner

from connectors.sandbox.hubspot import HubSpotStandIn
from sync.cli import app
from sync.lock import run_lock
from tests.cli.conftest import CONTACTS, DEALS
from tests.operator.conftest import AS_OF, hubspot, writes

SECRET = "pat-na1-5f0e4d1c-aaaa-bbbb-cccc-0123456789ab"
BASE = """[crm]
base_url = "{url}"
ca_bundle = "{ca}"
{crm}
[state]
path = "{state}"
{rest}
"""
SYNC = ("sync", "--config", "{cfg}", "--as-of", str(AS_OF))
PLAN = ("plan", "--config", "{cfg}", "--as-of", str(AS_OF))
SEGMENT = ("segment", "-i", "{export}", "-o", "{out}", "--as-of", "2025-01-01")


@dataclass(frozen=True)
class Case:
    id: str
    exit: int
    expect: tuple[str, ...]
    args: tuple[str, ...] = SYNC
    crm: str = ""
    rest: str = ""
    #: A whole config text instead of BASE (placeholders as in BASE, plus {closed}).
    raw: str | None = None
    env: dict[str, str | None] = field(default_factory=dict)
    #: Changes the world before the run (files, state); may return a context to hold.
    setup: Callable[[Ctx], Any] | None = None
    #: Text that must appear nowhere in the output.
    absent: tuple[str, ...] = ()


@dataclass
class Ctx:
    tmp: Path
    hub: HubSpotStandIn
    state: Path
    cfg: Path
    export: Path
    out: Path
    closed: int

    def fill(self, text: str) -> str:
        return text.format(
            url=self.hub.base_url,
            ca=self.hub.ca_path,
            state=self.state,
            cfg=self.cfg,
            export=self.export,
            out=self.out,
            closed=self.closed,
            tmp=self.tmp,
            crm="",
            rest="",
        )


def _csv(name: str, content: str | bytes) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        path = ctx.export / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")

    return setup


def _state_bytes(data: bytes) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        ctx.state.write_bytes(data)

    return setup


def _truncate(ctx: Ctx) -> None:
    ctx.state.write_bytes(ctx.state.read_bytes()[:5000])


def _meta(key: str, value: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        con = duckdb.connect(str(ctx.state))
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])
        con.close()

    return setup


def _lock(ctx: Ctx) -> Any:
    return run_lock(ctx.state, "sync")


def _write(rel: str, content: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        path = ctx.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")

    return setup


DEALS_HEAD = "id,amount,close_date,won,contact_ids,company_ids\n"
CONTACTS_HEAD = "id,email,first_name,last_name,salutation,country,company_id\n"

CASES = [
    # -- config: types are not coerced ------------------------------------------------
    Case(
        "window-days-quoted",
        2,
        ("segmentation.window_days", "without quotes"),
        rest='[segmentation]\nwindow_days = "365"\n',
    ),
    Case("concurrency-bool", 2, ("crm.concurrency", "must be a number"), crm="concurrency = true"),
    Case(
        "share-quoted",
        2,
        ("sync.mass_change_share", "without quotes"),
        rest='[sync]\nmass_change_share = "0.3"\n',
    ),
    Case("timeout-quoted", 2, ("crm.timeout_seconds",), crm='timeout_seconds = "30"'),
    Case(
        "full-every-float",
        2,
        ("sync.full_pull_every_days", "whole number"),
        rest="[sync]\nfull_pull_every_days = 1.5\n",
    ),
    Case("won-stages-number", 2, ("crm.won_stages[0]", "string"), crm="won_stages = [5]"),
    Case(
        "interest-tag-number",
        2,
        ("segmentation.interests[0].tag", "string"),
        rest='[[segmentation.interests]]\ntag = 5\ncontact_property = "x"\nany_of = ["a"]\n',
    ),
    Case(
        "any-of-number",
        2,
        ("segmentation.interests[0].any_of[1]",),
        rest='[[segmentation.interests]]\ntag = "t"\ncontact_property = "x"\nany_of = ["a", 3]\n',
    ),
    Case("level-number", 2, ("segmentation.level",), rest="[segmentation]\nlevel = 1\n"),
    # -- config: values out of range or unknown --------------------------------------
    Case("unknown-crm-key", 2, ("crm.tokn: unknown key",), crm='tokn = "x"'),
    Case("unknown-section", 2, ("crmm: unknown key",), rest='[crmm]\ntype = "hubspot"\n'),
    Case("crm-type", 2, ("crm.type",), crm='type = "pipedrive"'),
    Case("tier", 2, ("crm.tier",), crm='tier = "gold"'),
    Case("concurrency-high", 2, ("crm.concurrency", "16"), crm="concurrency = 99"),
    Case("requests-zero", 2, ("crm.requests_per_10s",), crm="requests_per_10s = 0"),
    Case("reserve-high", 2, ("crm.daily_reserve",), crm="daily_reserve = 1.5"),
    Case("timeout-negative", 2, ("crm.timeout_seconds",), crm="timeout_seconds = -1"),
    Case("won-stages-empty", 2, ("crm.won_stages",), crm="won_stages = []"),
    Case("overlap-huge", 2, ("crm.overlap_minutes",), crm="overlap_minutes = 99999"),
    Case("window-zero", 2, ("segmentation.window_days",), rest="[segmentation]\nwindow_days = 0\n"),
    Case("abc-share", 2, ("segmentation.abc_a",), rest="[segmentation]\nabc_a = 1.5\n"),
    Case("level-unknown", 2, ("segmentation.level",), rest='[segmentation]\nlevel = "team"\n'),
    Case(
        "thresholds-without-edges",
        2,
        ("rfm_r_edges",),
        rest='[segmentation]\nrfm_method = "thresholds"\n',
    ),
    Case(
        "edges-three",
        2,
        ("segmentation.rfm_r_edges",),
        rest='[segmentation]\nrfm_method = "thresholds"\nrfm_r_edges = [1, 2, 3]\n'
        "rfm_f_edges = [1, 2, 3, 4]\nrfm_m_edges = [1, 2, 3, 4]\n",
    ),
    Case(
        "interest-two-sources",
        2,
        ("segmentation.interests[0]",),
        rest='[[segmentation.interests]]\ntag = "t"\ncontact_property = "a"\n'
        'deal_property = "b"\nany_of = ["x"]\n',
    ),
    Case(
        "interest-tag-semicolon",
        2,
        ("segmentation.interests[0].tag",),
        rest='[[segmentation.interests]]\ntag = "a;b"\ncontact_property = "x"\nany_of = ["y"]\n',
    ),
    Case("list-value", 2, ("lists.lifecycle", "nope"), rest='[lists]\nlifecycle = ["nope"]\n'),
    Case("list-repeat", 2, ("lists.abc", "repeat"), rest='[lists]\nabc = ["A", "A"]\n'),
    Case(
        "list-interest-unknown",
        2,
        ("lists.interests", "ghost"),
        rest='[lists]\ninterests = ["ghost"]\n',
    ),
    Case(
        "base-url-not-url",
        2,
        ("crm.base_url", "must be a URL"),
        raw=BASE.replace('base_url = "{url}"', 'base_url = "api.hubapi.com"'),
    ),
    Case(
        "ca-bundle-missing",
        2,
        ("crm.ca_bundle", "no-such.pem", "not a file"),
        raw=BASE.replace('ca_bundle = "{ca}"', 'ca_bundle = "{tmp}/no-such.pem"'),
    ),
    # -- config: settings that do not apply --------------------------------------------
    Case(
        "salesforce-key-on-hubspot",
        2,
        ("crm.instance_url", 'type = "salesforce"'),
        crm='instance_url = "https://acme.my.salesforce.com"',
    ),
    Case("bulk-key-on-hubspot", 2, ("crm.bulk_query_threshold",), crm="bulk_query_threshold = 5"),
    Case(
        "edges-with-quantile",
        2,
        ("segmentation.rfm_m_edges", "thresholds"),
        rest="[segmentation]\nrfm_m_edges = [1, 2, 3, 4]\n",
    ),
    Case(
        "salesforce-without-instance",
        2,
        ("crm", "instance_url"),
        raw='[crm]\ntype = "salesforce"\n[state]\npath = "{state}"\n',
    ),
    Case(
        "jwt-without-username",
        2,
        ("username",),
        raw='[crm]\ntype = "salesforce"\ninstance_url = "https://acme.my.salesforce.com"\n'
        'auth = "jwt"\n[state]\npath = "{state}"\n',
    ),
    # -- config: secrets are never echoed ------------------------------------------------
    Case(
        "token-in-config",
        2,
        ("crm.token: unknown key",),
        crm=f'token = "{SECRET}"',
        absent=(SECRET,),
    ),
    Case(
        "token-as-base-url",
        2,
        ("crm.base_url", "value not shown"),
        raw=BASE.replace('base_url = "{url}"', f'base_url = "{SECRET}"'),
        absent=(SECRET,),
    ),
    Case(
        "secret-typed-number",
        2,
        ("crm.client_id", "value not shown"),
        crm="client_id = 123456789012345678901234",
        absent=("123456789012345678901234",),
    ),
    # -- config file itself --------------------------------------------------------------
    Case("not-toml", 2, ("crmseg.toml", "not valid TOML", "line"), raw="[crm\nbase_url = 1\n"),
    Case(
        "config-missing",
        2,
        ("nope.toml", "not found"),
        args=("sync", "--config", "{tmp}/nope.toml", "--as-of", str(AS_OF)),
    ),
    Case(
        "config-directory",
        2,
        ("is a directory",),
        args=("sync", "--config", "{tmp}", "--as-of", str(AS_OF)),
    ),
    Case("config-not-utf8", 2, ("crmseg.toml", "not UTF-8"), raw="\udcff"),
    # -- environment --------------------------------------------------------------------
    Case(
        "token-unset", 2, ("HUBSPOT_ACCESS_TOKEN is not set",), env={"HUBSPOT_ACCESS_TOKEN": None}
    ),
    Case(
        "token-refused",
        5,
        ("access token was refused", "HUBSPOT_ACCESS_TOKEN"),
        env={"HUBSPOT_ACCESS_TOKEN": SECRET},
        absent=(SECRET,),
    ),
    # -- the CRM's side: network and TLS -------------------------------------------------
    Case(
        "port-refused",
        5,
        ("https://127.0.0.1:{closed}", "base_url"),
        raw=BASE.replace('base_url = "{url}"', 'base_url = "https://127.0.0.1:{closed}"'),
    ),
    Case(
        "unknown-host",
        5,
        ("crm-host.invalid", "unknown host"),
        raw=BASE.replace('base_url = "{url}"', 'base_url = "https://crm-host.invalid"'),
    ),
    Case(
        "wrong-ca",
        5,
        ("certificate problem", "ca_bundle"),
        raw=BASE.replace('ca_bundle = "{ca}"', f'ca_bundle = "{certifi.where()}"'),
    ),
    Case(
        "interest-unknown-property",
        2,
        ("segmentation.interests[0].contact_property", "'topcs'"),
        args=PLAN,
        rest='[[segmentation.interests]]\ntag = "t"\ncontact_property = "topcs"\nany_of = ["x"]\n',
    ),
    # -- arguments that would write nonsense ---------------------------------------------
    Case("as-of-month", 2, ("--as-of", "2026-13-01"), args=(*SYNC[:3], "--as-of", "2026-13-01")),
    Case("as-of-word", 2, ("--as-of", "yesterday"), args=(*SYNC[:3], "--as-of", "yesterday")),
    Case(
        "as-of-future",
        2,
        ("--as-of", "later than today", "--allow-future"),
        args=(*SYNC[:3], "--as-of", "2999-01-01"),
    ),
    Case(
        "as-of-future-resync",
        2,
        ("later than today",),
        args=("resync", "--config", "{cfg}", "--as-of", "2999-01-01"),
    ),
    Case(
        "as-of-overflow",
        2,
        ("--as-of", "9999-12-31"),
        args=(*SYNC[:3], "--as-of", "9999-12-31", "--allow-future"),
    ),
    Case("as-of-overflow-plan", 2, ("--as-of",), args=(*PLAN[:3], "--as-of", "9999-12-31")),
    Case("as-of-ancient", 2, ("--as-of", "0001-01-01"), args=(*SYNC[:3], "--as-of", "0001-01-01")),
    Case(
        "resync-empty-contact",
        2,
        ("--contact", "empty"),
        args=("resync", "--config", "{cfg}", "--contact", ""),
    ),
    Case(
        "resync-blank-email",
        2,
        ("--email", "empty"),
        args=("resync", "--config", "{cfg}", "--email", "  "),
    ),
    Case(
        "resync-both",
        2,
        ("--contact or --email",),
        args=("resync", "--config", "{cfg}", "--contact", "1", "--email", "a@b.c"),
    ),
    Case(
        "resync-unknown-contact",
        2,
        ("no-such-contact",),
        args=("resync", "--config", "{cfg}", "--contact", "no-such-contact"),
    ),
    Case(
        "snapshot-bad-value",
        2,
        ("lifecycle", "'nope'", "at_risk"),
        args=("snapshot", "lifecycle", "nope", "--config", "{cfg}"),
    ),
    Case(
        "snapshot-bad-family",
        2,
        ("'colour'",),
        args=("snapshot", "colour", "red", "--config", "{cfg}"),
    ),
    Case(
        "snapshot-empty-name",
        2,
        ("--name",),
        args=("snapshot", "lifecycle", "at_risk", "--config", "{cfg}", "--name", " "),
    ),
    Case(
        "snapshot-no-interests",
        2,
        ("interests", "no value"),
        args=("snapshot", "interests", "eco", "--config", "{cfg}"),
    ),
    Case(
        "history-family",
        2,
        ("--family", "'nope'"),
        args=("history", "--config", "{cfg}", "--family", "nope"),
    ),
    Case("status-runs-zero", 2, ("--runs",), args=("status", "--config", "{cfg}", "--runs", "0")),
    Case("log-format", 2, ("--log-format",), args=(*SYNC, "--log-format", "xml")),
    Case(
        "explain-unknown",
        2,
        ("ghost@example.com",),
        args=("explain", "ghost@example.com", "--config", "{cfg}"),
    ),
    # -- state file ----------------------------------------------------------------------
    Case(
        "state-garbage",
        2,
        ("state.duckdb", "not a crmseg state file", "only a cache"),
        setup=_state_bytes(b"this is not a database\n" * 100),
    ),
    Case("state-truncated", 2, ("state.duckdb", "only a cache"), setup=_truncate),
    Case(
        "state-schema",
        2,
        ("state.duckdb", "schema 0", "only a cache"),
        setup=_meta("schema_version", "0"),
    ),
    Case(
        "state-other-account",
        2,
        ("hubspot portal 999", "hubspot portal 111", "[state] path"),
        setup=_meta("account", "hubspot portal 999"),
    ),
    Case(
        "state-is-directory",
        2,
        ("is a directory", "only a cache"),
        raw=BASE.replace('path = "{state}"', 'path = "{tmp}"'),
    ),
    Case(
        "state-under-a-file",
        2,
        ("cannot create the state file's folder", "[state] path"),
        raw=BASE.replace('path = "{state}"', 'path = "{cfg}/state.duckdb"'),
    ),
    Case("state-locked", 3, ("state.duckdb is in use", "has been running since"), setup=_lock),
    Case(
        "status-no-state",
        2,
        ("no state file yet",),
        raw=BASE.replace('path = "{state}"', 'path = "{tmp}/none.duckdb"'),
        args=("status", "--config", "{cfg}"),
    ),
    # -- CSV export ----------------------------------------------------------------------
    Case(
        "csv-mixed-endings",
        2,
        ("contacts.csv, line 2", "mixed line endings"),
        args=SEGMENT,
        setup=_csv(
            "contacts.csv",
            CONTACTS_HEAD.replace("\n", "\r\n") + "1,a@x,A,B,Ms,DE,\n2,b@x,B,C,Mr,AT,\r"
            "3,c@x,C,D,Mr,AT,\r\n",
        ),
        absent=("state machine", "Possible fixes"),
    ),
    Case(
        "csv-unclosed-quote",
        2,
        ("deals.csv", "line 2"),
        args=SEGMENT,
        setup=_csv("deals.csv", DEALS_HEAD + 'd1,"100,2024-01-01,true,1,\n'),
    ),
    Case(
        "csv-short-row",
        2,
        ("contacts.csv, line 3", "expected 7 fields"),
        args=SEGMENT,
        setup=_csv("contacts.csv", CONTACTS_HEAD + "1,a,b,c,d,e,f\n2,a\n"),
    ),
    Case(
        "csv-not-utf8",
        2,
        ("contacts.csv", "UTF-8"),
        args=SEGMENT,
        setup=_csv("contacts.csv", CONTACTS_HEAD.encode() + b"1,\xff\xfe,A,B,Ms,DE,\n"),
    ),
    Case(
        "csv-bad-amount",
        2,
        ("deals.csv, line 2, column 'amount'",),
        args=SEGMENT,
        setup=_csv("deals.csv", DEALS_HEAD + "d1,12;5,2024-01-01,true,1,\n"),
    ),
    Case(
        "csv-bad-date",
        2,
        ("deals.csv, line 2, column 'close_date'",),
        args=SEGMENT,
        setup=_csv("deals.csv", DEALS_HEAD + "d1,1,2024-02-30,true,1,\n"),
    ),
    Case(
        "csv-missing-file",
        2,
        ("deals.csv", "not found"),
        args=SEGMENT,
        setup=lambda ctx: (ctx.export / "deals.csv").unlink(),
    ),
    Case(
        "csv-input-not-folder",
        2,
        ("nothing-here", "not a directory"),
        args=("segment", "-i", "{tmp}/nothing-here", "-o", "{out}"),
    ),
    Case(
        "out-is-input",
        2,
        ("--out names one of the input files",),
        args=("segment", "-i", "{export}", "-o", "{export}/contacts.csv"),
    ),
    Case(
        "out-is-directory",
        2,
        ("--out is a directory",),
        args=("segment", "-i", "{export}", "-o", "{export}"),
    ),
    Case(
        "out-under-a-file",
        2,
        ("--out cannot be written",),
        args=("segment", "-i", "{export}", "-o", "{out}/tags.csv"),
    ),
    Case("segment-config-directory", 2, ("is a directory",), args=(*SEGMENT, "--config", "{tmp}")),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubSpotStandIn, Path]]:
    """One portal with a state file of one finished sync, copied into every case."""
    base = tmp_path_factory.mktemp("base")
    with hubspot() as hub:
        state = base / "state.duckdb"
        cfg = base / "crmseg.toml"
        cfg.write_text(
            BASE.format(url=hub.base_url, ca=hub.ca_path, crm="", state=state, rest=""),
            encoding="utf-8",
        )
        result = CliRunner().invoke(
            app,
            ["sync", "--config", str(cfg), "--as-of", str(AS_OF)],
            env={"HUBSPOT_ACCESS_TOKEN": hub.token},
        )
        assert result.exit_code == 0, result.output
        yield hub, state


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_suite_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, world: tuple[HubSpotStandIn, Path], tmp_path: Path) -> None:
    hub, base_state = world
    ctx = Ctx(
        tmp=tmp_path,
        hub=hub,
        state=tmp_path / "state.duckdb",
        cfg=tmp_path / "crmseg.toml",
        export=tmp_path / "export",
        out=tmp_path / "tags.csv",
        closed=_closed_port(),
    )
    shutil.copyfile(base_state, ctx.state)
    ctx.export.mkdir()
    (ctx.export / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (ctx.export / "deals.csv").write_text(DEALS, encoding="utf-8")
    ctx.out.write_bytes(b"previous tags\n")
    if case.raw == "\udcff":
        ctx.cfg.write_bytes(b"\xff\xfe[crm]\n")
    else:
        text = ctx.fill(case.raw) if case.raw is not None else _base(ctx, case)
        ctx.cfg.write_text(text, encoding="utf-8")
    env: dict[str, str | None] = {"HUBSPOT_ACCESS_TOKEN": hub.token, **case.env}
    with contextlib.ExitStack() as stack:
        if case.setup is not None:
            held = case.setup(ctx)
            if held is not None:
                stack.enter_context(held)
        before_state = ctx.state.read_bytes() if ctx.state.is_file() else None
        before_log = len(hub.log.entries)
        result = CliRunner().invoke(
            app, [ctx.fill(a) for a in case.args], env=env, catch_exceptions=False
        )
    output = result.stdout + result.stderr
    assert result.exit_code == case.exit, output
    for expected in case.expect:
        assert ctx.fill(expected) in output, output
    for secret in case.absent:
        assert secret not in output
    assert "unexpected failure" not in output and "Traceback" not in output
    # nothing written: no write request, state byte-identical, tags.csv untouched
    new = hub.log.entries[before_log:]
    assert [(e.method, e.path) for e in new if (e.method, e.path) in writes(hub)] == []
    if before_state is not None:
        assert ctx.state.read_bytes() == before_state
    assert ctx.out.read_bytes() == b"previous tags\n"
    # ... and the state is still usable (unless the case broke it on purpose)
    if case.setup in (None, _lock) and case.raw is None:
        usable = CliRunner().invoke(app, ["status", "--config", str(_good(ctx))])
        assert usable.exit_code == 0, usable.output


def _base(ctx: Ctx, case: Case) -> str:
    return BASE.format(
        url=ctx.hub.base_url, ca=ctx.hub.ca_path, crm=case.crm, state=ctx.state, rest=case.rest
    )


def _good(ctx: Ctx) -> Path:
    path = ctx.tmp / "good.toml"
    path.write_text(_base(ctx, Case("good", 0, ())), encoding="utf-8")
    return path
