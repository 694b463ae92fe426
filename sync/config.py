"""The crmseg config file: TOML, validated by pydantic.

Secrets never live here (they come from environment variables). Every problem
in a file is reported at once, each as one line naming the file, the TOML key
and what is allowed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.errors import ConfigError
from segmentation.config import SegmentationConfig


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segmentation: SegmentationConfig = Field(default_factory=SegmentationConfig)


def _key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key"
    value = error.get("input")
    if error["type"] not in ("missing",) and not isinstance(value, dict | list):
        message += f" (got {value!r})"
    return message


def load_config(path: Path | None) -> Config:
    """Read and validate ``path``; ``None`` means every default."""
    if path is None:
        return Config()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}: {_key(tuple(e['loc']))}: {_describe(dict(e))}" for e in exc.errors()]
        raise ConfigError(problems[0], problems) from None
