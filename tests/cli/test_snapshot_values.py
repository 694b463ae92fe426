"""Which values ``crmseg snapshot FAMILY VALUE`` accepts for each kind of family."""

from __future__ import annotations

from pathlib import Path

from sync.cli_view import snapshot_values
from sync.config import load_config

CONFIG = """
[[segmentation.interests]]
tag = "eco"
contact_property = "topics"
any_of = ["green"]

[[segmentation.properties]]
family = "industry"
company_property = "industry"
map = { "STEEL" = "steel", "METAL_PROCESSING" = "steel", "FOOD" = "food" }

[[segmentation.properties]]
family = "origin"
contact_property = "hs_analytics_source"

[[segmentation.rules]]
family = "tier"
values = [
  { value = "gold", abc = ["A"] },
  { value = "silver", abc = ["B"] },
]
"""


def test_each_family_names_the_values_a_snapshot_may_take(tmp_path: Path) -> None:
    path = tmp_path / "crmseg.toml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(path)
    assert snapshot_values(config, "abc") == ("A", "B", "C")
    assert snapshot_values(config, "interests") == ("eco",)
    assert snapshot_values(config, "tier") == ("gold", "silver")
    # a mapped property family: the map's values, and "other" for what it lacks
    assert snapshot_values(config, "industry") == ("steel", "food", "other")
    # unmapped: whatever the CRM property holds, so no list to check against
    assert snapshot_values(config, "origin") is None
