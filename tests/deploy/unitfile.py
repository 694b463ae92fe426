"""Just enough of the systemd unit file syntax to read the values the tests pin.

systemd itself checks the syntax (``systemd-analyze verify``); this reader refuses
anything it does not understand (a continuation line, a key outside a section), so it
can never quietly read a value differently from systemd.
"""

from __future__ import annotations

from pathlib import Path


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value assigned, in order (systemd keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.endswith("\\"):
            raise ValueError(f"{path}:{number}: continuation lines are not supported here")
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        if current is None or "=" not in line:
            raise ValueError(f"{path}:{number}: not a key=value line inside a section")
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    """The single value of ``key``; a test asking for one value fails if there are several."""
    values = unit[section][key]
    assert len(values) == 1, f"[{section}] {key} is set {len(values)} times"
    return values[0]
