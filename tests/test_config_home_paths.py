"""``~`` in the config file's paths means the user's home, for the state file and the
report alike (both go through ``sync.config.HomePath``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.config import load_config


def test_state_path_and_report_output_expand_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    config_file = tmp_path / "etc" / "crmseg.toml"
    config_file.parent.mkdir()
    config_file.write_text(
        '[state]\npath = "~/crmseg/state.duckdb"\n\n[report]\noutput = "~/report.html"\n',
        encoding="utf-8",
    )

    config = load_config(config_file)

    # without the expansion both would land under etc/~ (relative to the config file)
    assert config.state.path == home / "crmseg" / "state.duckdb"
    assert config.report.output == home / "report.html"
